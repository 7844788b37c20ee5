-- Idempotency keys of the API's creating requests (orders keep theirs in the engine): the
-- first request with a key claims it, marks it applied in the same transaction as its
-- first write, and stores its answer; a retry gets that answer. User state, not derived
-- from the log.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    claim TEXT NOT NULL,
    claimed_at BIGINT NOT NULL,
    applied BIGINT NOT NULL DEFAULT 0,
    status BIGINT,
    body TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
-- A write that carries a claim no longer current inserts a NULL here and so fails whole.
CREATE TABLE idempotency_fence (stale TEXT NOT NULL);
