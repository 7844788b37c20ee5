-- SQLite's lower() now folds all of Unicode as PostgreSQL's already does (see the SQLite
-- migration of this number): nothing to do here.
SELECT 1;
