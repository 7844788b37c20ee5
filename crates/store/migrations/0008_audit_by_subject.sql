-- The trail is read by subject, newest first; order events made it the busiest table
-- the projector writes, so it keeps one index, the one reads use.
DROP INDEX audit_log_by_time;
CREATE INDEX audit_log_by_subject ON audit_log (subject, at);
