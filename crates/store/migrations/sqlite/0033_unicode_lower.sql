-- The store now gives each SQLite connection a lower() that folds all of Unicode (SQLite's
-- own folds ASCII letters only), as PostgreSQL's does. Names told apart before only by the
-- letter case of a non-ASCII letter ('Émile', 'émile') were let in twice: the indexes on
-- lower() are made again with the new lower(), after the later holders of such a name get
-- their id appended, as in 31 and 32.
DROP INDEX IF EXISTS users_by_username;
DROP INDEX IF EXISTS organisations_by_name;
UPDATE users SET username = username || '-' || CAST(user_id AS TEXT)
WHERE EXISTS (SELECT 1 FROM users AS earlier WHERE LOWER(earlier.username) = LOWER(users.username) AND earlier.user_id < users.user_id);
UPDATE organisations SET name = name || ' (' || CAST(org_id AS TEXT) || ')'
WHERE EXISTS (SELECT 1 FROM organisations AS earlier WHERE LOWER(earlier.name) = LOWER(organisations.name) AND earlier.org_id < organisations.org_id);
CREATE UNIQUE INDEX users_by_username ON users (LOWER(username));
CREATE UNIQUE INDEX organisations_by_name ON organisations (LOWER(name));
