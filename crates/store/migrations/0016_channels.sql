-- Notification channels beyond the app: per-user preferences (which kinds go by email,
-- which to a Slack-style incoming webhook), the delivery queue the retrying worker works
-- through, and how far each alert has been escalated.
CREATE TABLE notification_preferences (
    user_id BIGINT PRIMARY KEY,
    email_kinds TEXT NOT NULL,
    slack_kinds TEXT NOT NULL,
    slack_url TEXT,
    updated_at BIGINT NOT NULL
);

-- One row per notification, channel and target; next_attempt_at NULL once delivered or
-- given up.
CREATE TABLE notification_deliveries (
    notification_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT,
    delivered_at BIGINT,
    last_error TEXT,
    PRIMARY KEY (notification_id, channel, target)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at);

-- Each escalation step of an alert, once.
CREATE TABLE alert_escalations (
    alert_id TEXT NOT NULL,
    step BIGINT NOT NULL,
    escalated_at BIGINT NOT NULL,
    recipients TEXT NOT NULL,
    PRIMARY KEY (alert_id, step)
);

-- Contest edges told to entrants, once each (`STARTED`, `ENDED`).
CREATE TABLE contest_events (
    contest_id BIGINT NOT NULL,
    edge TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (contest_id, edge)
);
