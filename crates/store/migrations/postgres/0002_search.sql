-- Full-text search over failure reasons; the query uses the same expression.
CREATE INDEX trades_failure_fts ON trades USING GIN (to_tsvector('simple', COALESCE(failure_reason, '')));
