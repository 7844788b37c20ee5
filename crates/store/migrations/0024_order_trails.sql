-- A trailing stop's trail, as placed: an amount (price raw) or a percent of the price
-- (price raw, 4 decimals: 1.5 % is 15000). NULL for every other order. What the order
-- reads back as after a restart, when the API's view of orders is loaded from here.
ALTER TABLE orders ADD COLUMN trail_amount BIGINT;
ALTER TABLE orders ADD COLUMN trail_percent BIGINT;
