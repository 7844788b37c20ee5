-- In-app notifications (projected from the log, idempotent by id; reading them is user
-- state a rebuild keeps) and one-shot price alerts users set.
CREATE TABLE notifications (
    notification_id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_by_user ON notifications (user_id, created_at);
CREATE INDEX notifications_by_time ON notifications (created_at);

CREATE TABLE price_alerts (
    alert_id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    symbol TEXT NOT NULL,
    direction TEXT NOT NULL,
    price BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    triggered_at BIGINT,
    deleted_at BIGINT
);
CREATE INDEX price_alerts_by_symbol ON price_alerts (symbol, triggered_at);
