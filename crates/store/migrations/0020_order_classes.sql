-- A contingent order's class (BRACKET, OTO, OCO), on the order and on its exit legs, and
-- each leg's order: what an order reads as after a restart, when the API's view of
-- orders is loaded from here. Exit legs are rows from the start, HELD until placed.
ALTER TABLE orders ADD COLUMN order_class TEXT;
ALTER TABLE orders ADD COLUMN parent_order_id BIGINT;
