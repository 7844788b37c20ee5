-- `/v2/account/activities` reads a user's cash statement from a time on, in time order.
CREATE INDEX wallet_by_user_time ON wallet_transactions (user_id, created_at, id);
