-- Watchlists (the Alpaca-compatible API's `/v2/watchlists`): user state, not derived from
-- the log. Symbols are a comma-separated list in the user's order.
CREATE TABLE watchlists (
    watchlist_id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    symbols TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX watchlists_by_name ON watchlists (user_id, name);
