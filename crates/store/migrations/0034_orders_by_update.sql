-- A user's orders changed since a time (the Alpaca trade events stream replays from there
-- through orders the API no longer keeps in memory).
CREATE INDEX orders_by_user_update ON orders (user_id, updated_at);
