-- Each symbol's last price of each UTC day it had one (`day`: the day's first Unix ms):
-- what Alpaca's `lastday_price` and `change_today` compare the latest price with.
CREATE TABLE daily_closes (
    symbol TEXT NOT NULL,
    day BIGINT NOT NULL,
    price BIGINT NOT NULL,
    PRIMARY KEY (symbol, day)
);
