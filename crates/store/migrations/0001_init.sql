-- Read models shared by SQLite and PostgreSQL. Integers are BIGINT: prices and
-- quantities have 4 decimals (raw = value x 10^4), money 8 (raw = value x 10^8),
-- times are Unix milliseconds, account and order ids are the u64 ids as i64 bits.

CREATE TABLE projection_offsets (
    projection TEXT NOT NULL,
    topic TEXT NOT NULL,
    part BIGINT NOT NULL,
    next_offset BIGINT NOT NULL,
    PRIMARY KEY (projection, topic, part)
);

CREATE TABLE projection_meta (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE accounts (
    user_id BIGINT PRIMARY KEY,
    house BIGINT NOT NULL,
    cash BIGINT NOT NULL,
    deposits BIGINT NOT NULL,
    withdrawals BIGINT NOT NULL,
    fees BIGINT NOT NULL,
    bucket_flows BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE orders (
    order_id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    order_type TEXT NOT NULL,
    time_in_force TEXT NOT NULL,
    limit_price BIGINT,
    stop_price BIGINT,
    quantity BIGINT NOT NULL,
    filled_quantity BIGINT NOT NULL,
    filled_notional BIGINT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    client_order_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX orders_by_user ON orders (user_id, created_at);

-- One row per trade_executed event: each side of a fill, and each rejected order.
CREATE TABLE trades (
    id BIGINT PRIMARY KEY,
    event_id TEXT NOT NULL,
    trade_id BIGINT,
    order_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    status TEXT NOT NULL,
    execution_price BIGINT,
    notional BIGINT,
    fee BIGINT NOT NULL,
    liquidity TEXT,
    executed_at BIGINT NOT NULL,
    failure_reason TEXT
);
CREATE INDEX trades_by_user ON trades (user_id, executed_at, id);
CREATE INDEX trades_by_time ON trades (executed_at, symbol);

CREATE TABLE positions (
    user_id BIGINT NOT NULL,
    symbol TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    cost BIGINT NOT NULL,
    realized_pnl BIGINT NOT NULL,
    fees BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, symbol)
);

-- Open FIFO lots: what is left of each buy, oldest first by lot number.
CREATE TABLE position_lots (
    user_id BIGINT NOT NULL,
    symbol TEXT NOT NULL,
    lot BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    price BIGINT NOT NULL,
    opened_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, symbol, lot)
);

CREATE TABLE last_prices (
    symbol TEXT PRIMARY KEY,
    price BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The cash statement: deposits, withdrawals, buys, sells and fees with the balance after.
CREATE TABLE wallet_transactions (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    amount BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    reference TEXT NOT NULL,
    symbol TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX wallet_by_user ON wallet_transactions (user_id, id);

-- Portfolio value at the end of each snapshot bucket, with the cash that came in or
-- went out during it (so returns leave deposits out).
CREATE TABLE portfolio_snapshots (
    user_id BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    total_value BIGINT NOT NULL,
    cash BIGINT NOT NULL,
    net_flows BIGINT NOT NULL,
    PRIMARY KEY (user_id, bucket)
);
CREATE INDEX snapshots_by_bucket ON portfolio_snapshots (bucket);
