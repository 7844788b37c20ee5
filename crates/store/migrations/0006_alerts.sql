-- Alerts (from limit breaches) and webhook delivery. Alerts are projected from the log,
-- but acknowledgements and deliveries are user state: a rebuild keeps them, and the
-- projector's inserts are idempotent by alert id (the breach event's id).
CREATE TABLE alerts (
    alert_id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    acknowledged_at BIGINT
);
CREATE INDEX alerts_by_user ON alerts (user_id, created_at);

CREATE TABLE webhooks (
    webhook_id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    url TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX webhooks_by_user ON webhooks (user_id);

-- The retry queue: one row per alert and webhook; next_attempt_at NULL once delivered or
-- given up.
CREATE TABLE webhook_deliveries (
    alert_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT,
    delivered_at BIGINT,
    last_error TEXT,
    PRIMARY KEY (alert_id, webhook_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at);
