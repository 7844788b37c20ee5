-- Codes mailed to reset a forgotten password: only their hash is kept; each is used
-- once, before it expires, and a reset or a password change spends every other.
CREATE TABLE password_resets (
    code_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_by_user ON password_resets (user_id, created_at);
