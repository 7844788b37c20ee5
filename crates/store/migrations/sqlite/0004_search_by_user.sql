-- Full-text search is always within one account: index the account as a token beside
-- the failure reason (contentless FTS5), so a search intersects two short doclists
-- instead of visiting every matching row of every account.
DROP TABLE trades_fts;
CREATE VIRTUAL TABLE trades_fts USING fts5(user_key, failure_reason, content='');
INSERT INTO trades_fts (rowid, user_key, failure_reason)
    SELECT id, 'u' || REPLACE(CAST(user_id AS TEXT), '-', 'n'), failure_reason
    FROM trades WHERE failure_reason IS NOT NULL;
