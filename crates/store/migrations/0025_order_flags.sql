-- What else an order was placed with: 1 for a post-only order (NULL otherwise), and the
-- self-trade prevention it named (CANCEL_RESTING, CANCEL_TAKING or CANCEL_BOTH; NULL when
-- it took the default). What the order reads back as after a restart.
ALTER TABLE orders ADD COLUMN post_only BIGINT;
ALTER TABLE orders ADD COLUMN self_trade_prevention TEXT;
