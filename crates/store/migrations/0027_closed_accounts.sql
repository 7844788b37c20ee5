-- Accounts of deleted users (the default one and every paper account): their history
-- stays, but no ranking (the leaderboard, a contest's) shows them any more.
CREATE TABLE closed_accounts (
    account_id BIGINT PRIMARY KEY,
    closed_at BIGINT NOT NULL
);
