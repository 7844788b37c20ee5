-- A user's logins, for bounding them and forgetting the expired ones at each new login.
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id, expires_at);
