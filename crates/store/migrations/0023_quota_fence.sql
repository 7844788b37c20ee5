-- A write that would leave a user holding more of something than they may (webhooks, API
-- keys, price alerts, watchlists) inserts a NULL here, in its own transaction, and so fails
-- whole; the transaction first locks the user's row, so writes through two processes at
-- once are counted one after the other.
CREATE TABLE quota_fence (user_id BIGINT NOT NULL);
