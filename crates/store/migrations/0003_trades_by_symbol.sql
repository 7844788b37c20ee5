-- Trade search by account and symbol (the commonest filter) without visiting the
-- account's other rows.
CREATE INDEX trades_by_user_symbol ON trades (user_id, symbol, executed_at, id);
