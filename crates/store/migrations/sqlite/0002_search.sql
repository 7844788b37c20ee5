-- Full-text search over failure reasons (FTS5, external content: rows are added by the
-- projector for failed executions only).
CREATE VIRTUAL TABLE trades_fts USING fts5(failure_reason, content='trades', content_rowid='id');
