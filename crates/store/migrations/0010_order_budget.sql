-- A buy sized by cash amount: the amount asked (money, 8 decimals); NULL for orders sized
-- by quantity, whose quantity column then says what was asked.
ALTER TABLE orders ADD COLUMN budget BIGINT;
