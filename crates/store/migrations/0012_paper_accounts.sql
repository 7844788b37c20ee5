-- A user's paper accounts beyond the default one (whose id is the user's): practice
-- accounts, and later one per contest joined. User state, not derived from the log; the
-- balances are the engine's. An account's id carries its owner's (see the API).
CREATE TABLE paper_accounts (
    account_id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    starting_cash BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    resets BIGINT NOT NULL,
    last_reset_at BIGINT,
    contest_id BIGINT
);
CREATE INDEX paper_accounts_by_user ON paper_accounts (user_id, account_id);
