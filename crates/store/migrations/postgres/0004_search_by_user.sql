-- Full-text search is always within one account: its failed executions, by time, are a
-- short index range, and the search expression is checked on just those rows.
CREATE INDEX trades_failed_by_user ON trades (user_id, executed_at) WHERE failure_reason IS NOT NULL;
