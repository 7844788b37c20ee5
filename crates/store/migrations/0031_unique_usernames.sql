-- A username names one user, letter case aside. Names taken twice before this (the
-- second and later holders') get their user id appended, so the index can be made.
UPDATE users SET username = username || '-' || CAST(user_id AS TEXT)
WHERE EXISTS (SELECT 1 FROM users AS earlier WHERE LOWER(earlier.username) = LOWER(users.username) AND earlier.user_id < users.user_id);
CREATE UNIQUE INDEX users_by_username ON users (LOWER(username));
