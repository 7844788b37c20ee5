-- Orders the API no longer keeps in memory are read from here: a user's page of them in
-- list order (an exit leg beside its order), an order's legs, and an order's fills.
CREATE INDEX orders_by_user_position ON orders (user_id, (COALESCE(parent_order_id, order_id)));
CREATE INDEX orders_by_parent ON orders (parent_order_id) WHERE parent_order_id IS NOT NULL;
CREATE INDEX trades_by_order ON trades (order_id);
