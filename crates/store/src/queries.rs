//! The read store's queries. Each is one SQL text for both databases (full-text search
//! is the only place the dialects differ) and returns exact decimals: prices and
//! quantities as 4-decimal, money as 8-decimal fixed point.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use tradecraft_types::{Money, Price, Quantity};

use crate::db::{Dialect, Param, Row};
use crate::performance::{Performance, Point, performance};
use crate::projector::notional;
use crate::{Store, StoreError};

const DAY_MS: i64 = 86_400_000;

/// Most rows one page returns.
pub const PAGE_LIMIT_MAX: usize = 1000;

/// The `LIKE ... ESCAPE '\'` pattern of a lower-cased column holding `text`, letter case
/// aside: `%`, `_` and `\` in it are the characters themselves.
pub(crate) fn holding(text: &str) -> String {
    format!("%{}%", like_literal(text))
}

/// `text` lower-cased, with `%`, `_` and `\` escaped for `LIKE ... ESCAPE '\'`.
pub(crate) fn like_literal(text: &str) -> String {
    text.to_lowercase().chars().flat_map(|character| if matches!(character, '%' | '_' | '\\') { vec!['\\', character] } else { vec![character] }).collect()
}

/// Rows of each kind a user's data export reads at most.
pub const EXPORT_LIMIT_MAX: usize = 10_000;

/// Filters of a trade history search (seed 000 section 6.3). Times are Unix ms,
/// inclusive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TradeQuery {
    pub user_id: u64,
    pub symbol: Option<String>,
    pub side: Option<String>,
    pub status: Option<String>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Words that must all appear in the failure reason.
    pub text: Option<String>,
    pub limit: usize,
    pub page_token: Option<String>,
    /// Oldest first (without a page token); newest first otherwise.
    pub oldest_first: bool,
}

/// One `trade_executed` event as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TradeRecord {
    pub event_id: String,
    pub trade_id: Option<u64>,
    pub order_id: u64,
    pub user_id: u64,
    pub symbol: String,
    pub side: String,
    pub quantity: Quantity,
    pub status: String,
    pub execution_price: Option<Price>,
    pub fee: Money,
    pub liquidity: Option<String>,
    pub executed_at_ms: i64,
    pub failure_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TradePage {
    pub trades: Vec<TradeRecord>,
    pub next_page_token: Option<String>,
    pub total_count: u64,
}

/// A position with FIFO cost basis, valued at the latest price: the market's feed, or a trade since its last tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionRecord {
    pub symbol: String,
    pub quantity: Quantity,
    /// Cost of the open lots divided by the quantity, to the tick (half up).
    pub average_cost: Option<Price>,
    pub cost: Money,
    pub last_price: Option<Price>,
    pub market_value: Option<Money>,
    pub unrealized_pnl: Option<Money>,
    pub realized_pnl: Money,
    pub fees: Money,
    pub updated_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRecord {
    pub user_id: u64,
    pub house: bool,
    pub cash: Money,
    pub deposits: Money,
    pub withdrawals: Money,
    pub fees: Money,
}

/// One line of the cash statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletRecord {
    pub id: i64,
    pub kind: String,
    pub amount: Money,
    pub balance_after: Money,
    pub reference: String,
    pub symbol: Option<String>,
    pub created_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletPage {
    pub transactions: Vec<WalletRecord>,
    pub next_page_token: Option<String>,
    pub total_count: u64,
}

/// Traded volume of one symbol in a window; each trade counted once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolActivity {
    pub symbol: String,
    pub trade_count: u64,
    /// Shares, 4 decimals (raw).
    pub volume: i128,
    /// Money, 8 decimals (raw).
    pub notional: i128,
}

impl SymbolActivity {
    /// Volume-weighted average price, to the tick.
    pub fn vwap(&self) -> Option<Price> {
        (self.volume > 0).then(|| Price::from_raw(i64::try_from(round_div(self.notional, self.volume)).unwrap_or(i64::MAX)))
    }
}

/// An order as the read store holds it (the house's are not stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderSummary {
    pub order_id: u64,
    pub user_id: u64,
    pub symbol: String,
    pub side: String,
    pub quantity: Quantity,
    pub filled: Quantity,
    pub filled_notional: Money,
    pub status: String,
    pub reason: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// A buy sized by cash amount: the amount asked.
    pub budget: Option<Money>,
    /// `MARKET`, `LIMIT`, `STOP`, `STOP_LIMIT` or `TRAILING_STOP`.
    pub order_type: String,
    pub time_in_force: String,
    pub limit_price: Option<Price>,
    pub stop_price: Option<Price>,
    pub client_order_id: Option<String>,
    /// `BRACKET`, `OTO` or `OCO`: a contingent order and its exit legs.
    pub order_class: Option<String>,
    /// An exit leg's order.
    pub parent_order_id: Option<u64>,
    /// A trailing stop's trail by amount.
    pub trail_amount: Option<Price>,
    /// A trailing stop's trail by percent of the price (1.5 is 1.5 %).
    pub trail_percent: Option<Price>,
    pub post_only: bool,
    /// `CANCEL_RESTING`, `CANCEL_TAKING` or `CANCEL_BOTH`, when the order named one.
    pub self_trade_prevention: Option<String>,
}

/// Which stored orders [`Store::order_page`] reads: in list order (by the order's id, an
/// exit leg's by its parent's, the "position"), newest or oldest first. Times are Unix ms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// One account's; everyone's when absent.
    pub user_id: Option<u64>,
    /// Any of these symbols (all when empty).
    pub symbols: Vec<String>,
    pub side: Option<String>,
    /// Any of these statuses (all when empty).
    pub statuses: Vec<String>,
    pub client_order_id: Option<String>,
    pub created_from_ms: Option<i64>,
    pub created_after_ms: Option<i64>,
    pub created_until_ms: Option<i64>,
    /// Changed (placed, filled, finished) at this time or later.
    pub updated_from_ms: Option<i64>,
    /// Positions at or below this one only.
    pub position_at_most: Option<u64>,
    /// Leave exit legs out.
    pub no_legs: bool,
    pub oldest_first: bool,
    pub limit: usize,
}

/// One fill of an order, as the `trades` table keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderFill {
    pub order_id: u64,
    pub trade_id: u64,
    pub price: Price,
    pub quantity: Quantity,
    pub fee: Money,
    /// `TAKER` or `MAKER`.
    pub liquidity: String,
    pub executed_at_ms: i64,
}

/// One trade as the market saw it (its taker's row in `trades`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketTradeRecord {
    pub trade_id: u64,
    pub symbol: String,
    pub price: Price,
    pub quantity: Quantity,
    /// The taker's side, `BUY` or `SELL`.
    pub taker_side: String,
    pub executed_at_ms: i64,
}

/// One leaderboard row.
#[derive(Clone, Debug, PartialEq)]
pub struct LeaderboardEntry {
    pub rank: u64,
    pub user_id: u64,
    pub performance: Performance,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LeaderboardPage {
    pub entries: Vec<LeaderboardEntry>,
    pub next_page_token: Option<String>,
    pub total_count: u64,
}

/// `raw` (scaled by 10^`scale`) as an exact decimal string.
pub fn decimal(raw: i128, scale: u32) -> String {
    let unit = 10_i128.pow(scale);
    let sign = if raw < 0 { "-" } else { "" };
    let (whole, fraction) = (raw.unsigned_abs() / unit.unsigned_abs(), raw.unsigned_abs() % unit.unsigned_abs());
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{fraction:0width$}", width = scale as usize);
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

fn round_div(numerator: i128, denominator: i128) -> i128 {
    let half = denominator / 2;
    if numerator >= 0 { (numerator + half) / denominator } else { (numerator - half) / denominator }
}

fn check_limit(limit: usize) -> Result<i64, StoreError> {
    if (1..=PAGE_LIMIT_MAX).contains(&limit) {
        Ok(limit as i64)
    } else {
        Err(StoreError::InvalidParameter("limit", format!("limit must be 1 to {PAGE_LIMIT_MAX}, not {limit}")))
    }
}

fn encode_token(parts: &[i64]) -> String {
    parts.iter().map(|part| format!("{:016x}", *part as u64)).collect()
}

fn decode_token(token: &str, parts: usize) -> Result<Vec<i64>, StoreError> {
    let invalid = || StoreError::InvalidParameter("pageToken", format!("pageToken {token:?} is not one this server issued"));
    if token.len() != parts * 16 || !token.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    (0..parts).map(|index| u64::from_str_radix(&token[index * 16..(index + 1) * 16], 16).map(|part| part as i64).map_err(|_| invalid())).collect()
}

/// The account as a token of the SQLite full-text table (ids are stored as i64 bits).
pub(crate) fn fts_user_key(user: i64) -> String {
    format!("u{user}").replace('-', "n")
}

/// An FTS5 query for one account's failure reasons holding every word of `text`; the
/// words are quoted, so no input is syntax.
fn fts5_query(user: i64, text: &str) -> Option<String> {
    let words: Vec<String> =
        text.split(|character: char| !character.is_alphanumeric()).filter(|word| !word.is_empty()).map(|word| format!("failure_reason : \"{word}\"")).collect();
    (!words.is_empty()).then(|| format!("user_key : \"{}\" AND {}", fts_user_key(user), words.join(" AND ")))
}

fn id(value: i64) -> u64 {
    value as u64
}

/// Builds a WHERE clause and its parameters, numbering placeholders as it goes.
#[derive(Default)]
struct Filter {
    sql: String,
    params: Vec<Param>,
}

impl Filter {
    fn add(&mut self, clause: &str, param: Param) {
        self.params.push(param);
        let placeholder = format!("${}", self.params.len());
        self.sql.push_str(if self.sql.is_empty() { " WHERE " } else { " AND " });
        self.sql.push_str(&clause.replace('?', &placeholder));
    }
}

impl Store {
    /// Trade history, newest first, a page at a time.
    pub fn search_trades(&self, query: &TradeQuery) -> Result<TradePage, StoreError> {
        let limit = check_limit(query.limit)?;
        let mut filter = Filter::default();
        filter.add("user_id = ?", (query.user_id as i64).into());
        for (clause, value) in [("symbol = ?", &query.symbol), ("side = ?", &query.side), ("status = ?", &query.status)] {
            if let Some(value) = value {
                filter.add(clause, value.as_str().into());
            }
        }
        if let Some(start) = query.start_ms {
            filter.add("executed_at >= ?", start.into());
        }
        if let Some(end) = query.end_ms {
            filter.add("executed_at <= ?", end.into());
        }
        if let Some(text) = &query.text {
            match self.dialect() {
                Dialect::Sqlite => {
                    let words =
                        fts5_query(query.user_id as i64, text).ok_or_else(|| StoreError::InvalidParameter("q", "the text query has no words".into()))?;
                    filter.add("id IN (SELECT rowid FROM trades_fts WHERE trades_fts MATCH ?)", words.into());
                }
                Dialect::Postgres => {
                    filter.add(
                        "failure_reason IS NOT NULL AND to_tsvector('simple', COALESCE(failure_reason, '')) @@ plainto_tsquery('simple', ?)",
                        text.as_str().into(),
                    );
                }
            }
        }
        let count = self.backend().query(&format!("SELECT COUNT(*) FROM trades{}", filter.sql), &filter.params)?;
        let total_count = count.first().map(|row| row.int(0)).transpose()?.unwrap_or(0) as u64;
        if let Some(token) = &query.page_token {
            if query.oldest_first {
                return Err(StoreError::InvalidParameter("pageToken", "trade pages run newest first".into()));
            }
            let cursor = decode_token(token, 2)?;
            filter.params.push(cursor[0].into());
            let at = filter.params.len();
            filter.params.push(cursor[1].into());
            filter.sql.push_str(&format!(" AND (executed_at < ${at} OR (executed_at = ${at} AND id < ${}))", at + 1));
        }
        filter.params.push((limit + 1).into());
        let sql = format!(
            "SELECT event_id, trade_id, order_id, user_id, symbol, side, quantity, status, execution_price, fee, liquidity, executed_at, failure_reason, id \
             FROM trades{} ORDER BY executed_at {order}, id {order} LIMIT ${}",
            filter.sql,
            filter.params.len(),
            order = if query.oldest_first { "ASC" } else { "DESC" },
        );
        let rows = self.backend().query(&sql, &filter.params)?;
        let mut trades = Vec::with_capacity(rows.len());
        let mut next_page_token = None;
        for (index, row) in rows.iter().enumerate() {
            if index as i64 == limit {
                let last = &rows[index - 1];
                next_page_token = Some(encode_token(&[last.int(11)?, last.int(13)?]));
                break;
            }
            trades.push(trade_record(row)?);
        }
        Ok(TradePage { trades, next_page_token, total_count })
    }

    /// The command mark below which the projector has applied every event (what a read
    /// waits for when the projector runs in another process).
    pub fn applied_through(&self) -> Result<u64, StoreError> {
        let rows = self.backend().query("SELECT value FROM projection_meta WHERE name = 'applied_through'", &[])?;
        Ok(rows.first().map(|row| row.int(0)).transpose()?.map_or(0, |value| u64::try_from(value).unwrap_or(0)))
    }

    /// One account's balances, if the projection has seen it.
    pub fn account(&self, user_id: u64) -> Result<Option<AccountRecord>, StoreError> {
        let rows =
            self.backend().query("SELECT user_id, house, cash, deposits, withdrawals, fees FROM accounts WHERE user_id = $1", &[(user_id as i64).into()])?;
        rows.first()
            .map(|row| {
                Ok(AccountRecord {
                    user_id: id(row.int(0)?),
                    house: row.int(1)? != 0,
                    cash: Money::from_raw(row.int(2)?),
                    deposits: Money::from_raw(row.int(3)?),
                    withdrawals: Money::from_raw(row.int(4)?),
                    fees: Money::from_raw(row.int(5)?),
                })
            })
            .transpose()
    }

    /// Every symbol's latest price, the one positions are valued at: the market's price
    /// feed, or a trade since its last tick.
    pub fn latest_prices(&self) -> Result<BTreeMap<String, Price>, StoreError> {
        let rows = self.backend().query("SELECT symbol, price FROM last_prices", &[])?;
        rows.iter().map(|row| Ok((row.text(0)?.to_owned(), Price::from_raw(row.int(1)?)))).collect()
    }

    /// Every symbol's close of the last (UTC) day before the one starting at `day_start_ms`
    /// that it had a price.
    pub fn previous_closes(&self, day_start_ms: i64) -> Result<BTreeMap<String, Price>, StoreError> {
        let rows = self.backend().query(
            "SELECT c.symbol, c.price FROM daily_closes c \
             JOIN (SELECT symbol, MAX(day) AS day FROM daily_closes WHERE day < $1 GROUP BY symbol) latest ON latest.symbol = c.symbol AND latest.day = c.day",
            &[day_start_ms.into()],
        )?;
        rows.iter().map(|row| Ok((row.text(0)?.to_owned(), Price::from_raw(row.int(1)?)))).collect()
    }

    /// The lots of `user`'s open positions: (symbol, quantity, price, opened at Unix ms).
    pub fn open_lots(&self, user_id: u64) -> Result<Vec<(String, Quantity, Price, i64)>, StoreError> {
        let rows = self.backend().query(
            "SELECT symbol, quantity, price, opened_at FROM position_lots WHERE user_id = $1 AND quantity > 0 ORDER BY symbol, lot",
            &[(user_id as i64).into()],
        )?;
        rows.iter().map(|row| Ok((row.text(0)?.to_owned(), Quantity::from_raw(row.int(1)?), Price::from_raw(row.int(2)?), row.int(3)?))).collect()
    }

    /// Open positions and closed ones with realised P&L, by symbol.
    pub fn positions(&self, user_id: u64) -> Result<Vec<PositionRecord>, StoreError> {
        let rows = self.backend().query(
            "SELECT p.symbol, p.quantity, p.cost, p.realized_pnl, p.fees, p.updated_at, lp.price FROM positions p \
             LEFT JOIN last_prices lp ON lp.symbol = p.symbol WHERE p.user_id = $1 ORDER BY p.symbol",
            &[(user_id as i64).into()],
        )?;
        let mut positions = Vec::new();
        for row in rows {
            let (quantity, cost, last) = (row.int(1)?, row.int(2)?, row.opt_int(6)?);
            if quantity == 0 && row.int(3)? == 0 {
                continue;
            }
            let market_value = last.map(|last| notional(last, quantity)).transpose()?;
            positions.push(PositionRecord {
                symbol: row.text(0)?.to_owned(),
                quantity: Quantity::from_raw(quantity),
                average_cost: (quantity > 0).then(|| Price::from_raw(i64::try_from(round_div(i128::from(cost), i128::from(quantity))).unwrap_or(i64::MAX))),
                cost: Money::from_raw(cost),
                last_price: last.map(Price::from_raw),
                market_value: market_value.map(Money::from_raw),
                unrealized_pnl: market_value.map(|value| Money::from_raw(value - cost)),
                realized_pnl: Money::from_raw(row.int(3)?),
                fees: Money::from_raw(row.int(4)?),
                updated_at_ms: row.int(5)?,
            });
        }
        Ok(positions)
    }

    /// When an account was first funded and its cash then: its statement's first line, if
    /// that is a deposit.
    pub fn opening_deposit(&self, user_id: u64) -> Result<Option<(i64, Money)>, StoreError> {
        let rows = self
            .backend()
            .query("SELECT kind, balance_after, created_at FROM wallet_transactions WHERE user_id = $1 ORDER BY id LIMIT 1", &[(user_id as i64).into()])?;
        match rows.first() {
            Some(row) if row.text(0)? == "DEPOSIT" => Ok(Some((row.int(2)?, Money::from_raw(row.int(1)?)))),
            _ => Ok(None),
        }
    }

    /// The cash statement, newest first.
    pub fn wallet_transactions(&self, user_id: u64, limit: usize, page_token: Option<&str>) -> Result<WalletPage, StoreError> {
        let limit = check_limit(limit)?;
        let user = user_id as i64;
        let count = self.backend().query("SELECT COUNT(*) FROM wallet_transactions WHERE user_id = $1", &[user.into()])?;
        let total_count = count.first().map(|row| row.int(0)).transpose()?.unwrap_or(0) as u64;
        let before = page_token.map(|token| decode_token(token, 1)).transpose()?.map_or(i64::MAX, |cursor| cursor[0]);
        let rows = self.backend().query(
            &format!("SELECT {WALLET_COLUMNS} FROM wallet_transactions WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"),
            &[user.into(), before.into(), (limit + 1).into()],
        )?;
        let mut transactions = Vec::new();
        let mut next_page_token = None;
        for (index, row) in rows.iter().enumerate() {
            if index as i64 == limit {
                next_page_token = Some(encode_token(&[rows[index - 1].int(0)?]));
                break;
            }
            transactions.push(wallet_record(row)?);
        }
        Ok(WalletPage { transactions, next_page_token, total_count })
    }

    /// At most `limit` lines of `user_id`'s cash statement made from `from_ms` to `to_ms`
    /// (both included), oldest or newest first.
    pub fn wallet_lines_between(
        &self,
        user_id: u64,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
        oldest_first: bool,
        limit: usize,
    ) -> Result<Vec<WalletRecord>, StoreError> {
        let limit = check_limit(limit)?;
        let order = if oldest_first { "ASC" } else { "DESC" };
        let rows = self.backend().query(
            &format!(
                "SELECT {WALLET_COLUMNS} FROM wallet_transactions \
                 WHERE user_id = $1 AND created_at >= $2 AND created_at <= $3 ORDER BY created_at {order}, id {order} LIMIT $4"
            ),
            &[(user_id as i64).into(), from_ms.unwrap_or(i64::MIN).into(), to_ms.unwrap_or(i64::MAX).into(), limit.into()],
        )?;
        rows.iter().map(wallet_record).collect()
    }

    /// Trades per symbol since `since_ms` (each trade once: its taker side).
    pub fn activity(&self, symbol: Option<&str>, since_ms: i64) -> Result<Vec<SymbolActivity>, StoreError> {
        let mut filter = Filter::default();
        filter.add("executed_at >= ?", since_ms.into());
        filter.sql.push_str(" AND status = 'EXECUTED' AND liquidity = 'TAKER'");
        if let Some(symbol) = symbol {
            filter.add("symbol = ?", symbol.into());
        }
        let sql = format!(
            "SELECT symbol, COUNT(*), CAST(SUM(quantity) AS TEXT), CAST(SUM(notional) AS TEXT) FROM trades{} GROUP BY symbol ORDER BY symbol",
            filter.sql
        );
        self.backend()
            .query(&sql, &filter.params)?
            .iter()
            .map(|row| Ok(SymbolActivity { symbol: row.text(0)?.to_owned(), trade_count: row.int(1)? as u64, volume: row.wide(2)?, notional: row.wide(3)? }))
            .collect()
    }

    /// Each account's value now (cash plus shares at the last price), the flows since its
    /// last snapshot, and when it was opened: `user`'s, or every ranked account's.
    ///
    /// Ranked are the accounts that stand for a user: not the house, not a user's practice
    /// or contest account (`paper_accounts`; a contest ranks its own), and not one that holds
    /// nothing and was never funded (an engine account whose registration lost a race for
    /// its email, or stopped before its user was stored: nobody's, with no return to rank).
    fn current_values(&self, user: Option<i64>) -> Result<FxHashMap<i64, (i64, i64, i64)>, StoreError> {
        let (account_filter, position_filter, params): (&str, &str, Vec<Param>) = match user {
            Some(user) => (" AND user_id = $1", " AND p.user_id = $1", vec![user.into()]),
            None => (
                " AND user_id NOT IN (SELECT account_id FROM paper_accounts) AND user_id NOT IN (SELECT account_id FROM closed_accounts) \
                 AND (deposits <> 0 OR cash <> 0 OR user_id IN (SELECT user_id FROM positions WHERE quantity <> 0))",
                "",
                Vec::new(),
            ),
        };
        let mut values: FxHashMap<i64, (i128, i64, i64)> = FxHashMap::default();
        let accounts =
            self.backend().query(&format!("SELECT user_id, cash, bucket_flows, created_at FROM accounts WHERE house = 0{account_filter}"), &params)?;
        for row in accounts {
            values.insert(row.int(0)?, (i128::from(row.int(1)?), row.int(2)?, row.int(3)?));
        }
        let holdings = self.backend().query(
            &format!(
                "SELECT p.user_id, p.quantity, lp.price FROM positions p JOIN last_prices lp ON lp.symbol = p.symbol WHERE p.quantity <> 0{position_filter}"
            ),
            &params,
        )?;
        for row in holdings {
            if let Some((value, _, _)) = values.get_mut(&row.int(0)?) {
                *value += i128::from(row.int(1)?) * i128::from(row.int(2)?);
            }
        }
        values
            .into_iter()
            .map(|(user, (value, flows, created))| {
                Ok((user, (i64::try_from(value).map_err(|_| StoreError::Decode("value out of range".into()))?, flows, created)))
            })
            .collect()
    }

    /// Snapshots from the last one at or before `since_ms` on, per user. `daily` keeps
    /// each day's last snapshot (with the day's flows summed), for ranking many accounts.
    fn snapshot_series(&self, user: Option<i64>, since_ms: i64, daily: bool) -> Result<FxHashMap<i64, Vec<Point>>, StoreError> {
        let (filter, params): (&str, Vec<Param>) = match user {
            Some(user) => (" AND s.user_id = $2", vec![since_ms.into(), user.into()]),
            None => ("", vec![since_ms.into()]),
        };
        let selected = format!(
            "SELECT s.user_id, s.bucket, s.total_value, s.net_flows FROM portfolio_snapshots s WHERE s.bucket >= \
             COALESCE((SELECT MAX(p.bucket) FROM portfolio_snapshots p WHERE p.user_id = s.user_id AND p.bucket <= $1), $1){filter}"
        );
        let sql = if daily {
            format!(
                "SELECT user_id, bucket, total_value, day_flows FROM (SELECT user_id, bucket, total_value, \
                 CAST(SUM(net_flows) OVER (PARTITION BY user_id, bucket / {DAY_MS}) AS BIGINT) AS day_flows, \
                 ROW_NUMBER() OVER (PARTITION BY user_id, bucket / {DAY_MS} ORDER BY bucket DESC) AS newest \
                 FROM ({selected}) selected) days WHERE newest = 1 ORDER BY user_id, bucket"
            )
        } else {
            format!("{selected} ORDER BY s.user_id, s.bucket")
        };
        let mut series: FxHashMap<i64, Vec<Point>> = FxHashMap::default();
        for row in self.backend().query(&sql, &params)? {
            series.entry(row.int(0)?).or_default().push(Point { at_ms: row.int(1)?, value: row.int(2)?, flows: row.int(3)? });
        }
        Ok(series)
    }

    /// Returns and risk of one account from `since_ms` to `until_ms`, from its snapshots
    /// and (when the window reaches past the newest one) its value now, stamped `until_ms`.
    /// `None` if the account is unknown.
    pub fn performance(&self, user_id: u64, since_ms: i64, until_ms: i64) -> Result<Option<Performance>, StoreError> {
        let user = user_id as i64;
        let Some((value, flows, created)) = self.current_values(Some(user))?.remove(&user) else { return Ok(None) };
        let mut points = self.snapshot_series(Some(user), since_ms, false)?.remove(&user).unwrap_or_default();
        // A window that ended before the newest snapshot ends with the value then; one that
        // reaches past it, with the value now (nothing has changed since that snapshot).
        let ended = until_ms < created || points.last().is_some_and(|last| last.at_ms > until_ms);
        points.retain(|point| point.at_ms <= until_ms);
        let end = (!ended).then_some(Point { at_ms: until_ms, value, flows });
        Ok(Some(performance(&with_ends(points, since_ms, created, until_ms, end))))
    }

    /// One account's newest `limit` orders, newest first.
    pub fn orders_of(&self, user_id: u64, limit: usize) -> Result<Vec<OrderSummary>, StoreError> {
        let rows = self.backend().query(
            &format!("SELECT {ORDER_SUMMARY_COLUMNS} FROM orders WHERE user_id = $1 ORDER BY created_at DESC, order_id DESC LIMIT $2"),
            &[(user_id as i64).into(), i64::try_from(limit).unwrap_or(i64::MAX).into()],
        )?;
        rows.iter().map(order_summary).collect()
    }

    /// Orders as `query` asks, in list order (an exit leg after its order, the take profit
    /// first), at most `query.limit`.
    pub fn order_page(&self, query: &OrderQuery) -> Result<Vec<OrderSummary>, StoreError> {
        const POSITION: &str = "COALESCE(parent_order_id, order_id)";
        let mut filter = Filter::default();
        if let Some(user) = query.user_id {
            filter.add("user_id = ?", (user as i64).into());
        }
        if let Some(at_most) = query.position_at_most {
            filter.add(&format!("{POSITION} <= ?"), i64::try_from(at_most).unwrap_or(i64::MAX).into());
        }
        for (clause, values) in [("symbol", &query.symbols), ("status", &query.statuses)] {
            if !values.is_empty() {
                let first = filter.params.len() + 1;
                let placeholders: Vec<String> = (first..first + values.len()).map(|index| format!("${index}")).collect();
                filter.params.extend(values.iter().map(|value| Param::from(value.as_str())));
                filter.sql.push_str(if filter.sql.is_empty() { " WHERE " } else { " AND " });
                filter.sql.push_str(&format!("{clause} IN ({})", placeholders.join(", ")));
            }
        }
        for (clause, value) in [("side = ?", &query.side), ("client_order_id = ?", &query.client_order_id)] {
            if let Some(value) = value {
                filter.add(clause, value.as_str().into());
            }
        }
        for (clause, value) in [
            ("created_at >= ?", query.created_from_ms),
            ("created_at > ?", query.created_after_ms),
            ("created_at <= ?", query.created_until_ms),
            ("updated_at >= ?", query.updated_from_ms),
        ] {
            if let Some(value) = value {
                filter.add(clause, value.into());
            }
        }
        if query.no_legs {
            filter.sql.push_str(if filter.sql.is_empty() { " WHERE parent_order_id IS NULL" } else { " AND parent_order_id IS NULL" });
        }
        filter.params.push(i64::try_from(query.limit).unwrap_or(i64::MAX).into());
        let order = if query.oldest_first { "ASC" } else { "DESC" };
        let sql = format!("SELECT {ORDER_SUMMARY_COLUMNS} FROM orders{} ORDER BY {POSITION} {order}, order_id ASC LIMIT ${}", filter.sql, filter.params.len());
        self.backend().query(&sql, &filter.params)?.iter().map(order_summary).collect()
    }

    /// These orders and their exit legs (those of them the store holds).
    pub fn orders_with_legs(&self, order_ids: &[u64]) -> Result<Vec<OrderSummary>, StoreError> {
        if order_ids.is_empty() {
            return Ok(Vec::new());
        }
        let (list, params) = id_list(order_ids);
        let sql = format!(
            "SELECT {ORDER_SUMMARY_COLUMNS} FROM orders WHERE order_id IN ({list}) UNION SELECT {ORDER_SUMMARY_COLUMNS} FROM orders WHERE parent_order_id IN ({list})"
        );
        self.backend().query(&sql, &params)?.iter().map(order_summary).collect()
    }

    /// Every order still open (accepted, partly filled or a held exit leg), oldest first.
    pub fn open_orders(&self) -> Result<Vec<OrderSummary>, StoreError> {
        let sql = format!("SELECT {ORDER_SUMMARY_COLUMNS} FROM orders WHERE status IN ('ACCEPTED', 'PARTIALLY_FILLED', 'HELD') ORDER BY order_id");
        self.backend().query(&sql, &[])?.iter().map(order_summary).collect()
    }

    /// The fills of these orders, in the order they were made.
    pub fn order_fills(&self, order_ids: &[u64]) -> Result<Vec<OrderFill>, StoreError> {
        if order_ids.is_empty() {
            return Ok(Vec::new());
        }
        let (list, params) = id_list(order_ids);
        let sql = format!(
            "SELECT order_id, trade_id, execution_price, quantity, fee, liquidity, executed_at FROM trades \
             WHERE status = 'EXECUTED' AND order_id IN ({list}) ORDER BY id"
        );
        self.backend().query(&sql, &params)?.iter().map(order_fill).collect()
    }

    /// Both sides of an executed trade (one row per account in it).
    pub fn trade_sides(&self, trade_id: u64) -> Result<Vec<TradeRecord>, StoreError> {
        let rows = self.backend().query(
            "SELECT event_id, trade_id, order_id, user_id, symbol, side, quantity, status, execution_price, fee, liquidity, executed_at, failure_reason, id \
             FROM trades WHERE trade_id = $1",
            &[(trade_id as i64).into()],
        )?;
        rows.iter().map(trade_record).collect()
    }

    /// One order, whoever placed it.
    pub fn order(&self, order_id: u64) -> Result<Option<OrderSummary>, StoreError> {
        let rows = self.backend().query(&format!("SELECT {ORDER_SUMMARY_COLUMNS} FROM orders WHERE order_id = $1"), &[(order_id as i64).into()])?;
        rows.first().map(order_summary).transpose()
    }

    /// Every fill executed at or after `since_ms`, in the order they were made.
    pub fn fills_since(&self, since_ms: i64) -> Result<Vec<OrderFill>, StoreError> {
        let rows = self.backend().query(
            "SELECT order_id, trade_id, execution_price, quantity, fee, liquidity, executed_at FROM trades \
             WHERE status = 'EXECUTED' AND executed_at >= $1 ORDER BY id",
            &[since_ms.into()],
        )?;
        rows.iter().map(order_fill).collect()
    }

    /// The newest `limit` trades made at or after `since_ms` and before trade `below`, in
    /// the order they were made.
    pub fn market_trades(&self, since_ms: i64, below: u64, limit: usize) -> Result<Vec<MarketTradeRecord>, StoreError> {
        let rows = self.backend().query(
            "SELECT trade_id, symbol, execution_price, quantity, side, executed_at FROM trades \
             WHERE status = 'EXECUTED' AND liquidity = 'TAKER' AND executed_at >= $1 AND trade_id < $2 ORDER BY trade_id DESC LIMIT $3",
            &[since_ms.into(), i64::try_from(below).unwrap_or(i64::MAX).into(), i64::try_from(limit).unwrap_or(i64::MAX).into()],
        )?;
        let mut trades = rows
            .iter()
            .map(|row| {
                Ok(MarketTradeRecord {
                    trade_id: id(row.opt_int(0)?.unwrap_or_default()),
                    symbol: row.text(1)?.to_owned(),
                    price: Price::from_raw(row.opt_int(2)?.unwrap_or_default()),
                    quantity: Quantity::from_raw(row.int(3)?),
                    taker_side: row.text(4)?.to_owned(),
                    executed_at_ms: row.int(5)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        trades.reverse();
        Ok(trades)
    }

    /// The newest `limit` orders, newest first.
    pub fn recent_orders(&self, limit: usize) -> Result<Vec<OrderSummary>, StoreError> {
        let rows = self.backend().query(
            &format!("SELECT {ORDER_SUMMARY_COLUMNS} FROM orders ORDER BY created_at DESC, order_id DESC LIMIT $1"),
            &[i64::try_from(limit).unwrap_or(i64::MAX).into()],
        )?;
        rows.iter().map(order_summary).collect()
    }

    /// Accounts ranked by return since `since_ms`, best first; ties by user id. Returns
    /// are chained from each day's closing value (intraday snapshots are for one account's
    /// performance), so a large contest ranks in one pass over days x accounts.
    pub fn leaderboard(&self, since_ms: i64, now_ms: i64, limit: usize, page_token: Option<&str>) -> Result<LeaderboardPage, StoreError> {
        let limit = check_limit(limit)? as usize;
        let skip = page_token.map(|token| decode_token(token, 1)).transpose()?.map_or(0, |cursor| cursor[0].max(0) as usize);
        let mut series = self.snapshot_series(None, since_ms, true)?;
        let mut ranked: Vec<(u64, Performance)> = self
            .current_values(None)?
            .into_iter()
            .map(|(user, (value, flows, created))| {
                let points = series.remove(&user).unwrap_or_default();
                (id(user), performance(&with_ends(points, since_ms, created, now_ms, Some(Point { at_ms: now_ms, value, flows }))))
            })
            .collect();
        ranked.sort_by(|(left_user, left), (right_user, right)| right.total_return.total_cmp(&left.total_return).then(left_user.cmp(right_user)));
        let total_count = ranked.len() as u64;
        let entries: Vec<LeaderboardEntry> = ranked
            .into_iter()
            .enumerate()
            .skip(skip)
            .take(limit)
            .map(|(index, (user_id, performance))| LeaderboardEntry { rank: index as u64 + 1, user_id, performance })
            .collect();
        let next = skip + entries.len();
        let next_page_token = ((next as u64) < total_count).then(|| encode_token(&[next as i64]));
        Ok(LeaderboardPage { entries, next_page_token, total_count })
    }
}

/// A value series over a period: its snapshots, the value now at the end, and at the
/// start the value the period began with: the last snapshot at or before `since_ms`, or,
/// for an account with none (opened, or first funded, within the period), nothing at its
/// opening, so its first deposit and its first hour count.
fn with_ends(mut points: Vec<Point>, since_ms: i64, created_ms: i64, until_ms: i64, end: Option<Point>) -> Vec<Point> {
    if points.first().is_none_or(|first| first.at_ms > since_ms) {
        let opened = created_ms.min(points.first().map_or(until_ms, |first| first.at_ms - 1));
        points.insert(0, Point { at_ms: opened, value: 0, flows: 0 });
    }
    points.extend(end);
    points
}

const WALLET_COLUMNS: &str = "id, kind, amount, balance_after, reference, symbol, created_at";

fn wallet_record(row: &Row) -> Result<WalletRecord, StoreError> {
    Ok(WalletRecord {
        id: row.int(0)?,
        kind: row.text(1)?.to_owned(),
        amount: Money::from_raw(row.int(2)?),
        balance_after: Money::from_raw(row.int(3)?),
        reference: row.text(4)?.to_owned(),
        symbol: row.opt_text(5)?.map(str::to_owned),
        created_at_ms: row.int(6)?,
    })
}

const ORDER_SUMMARY_COLUMNS: &str = "order_id, user_id, symbol, side, quantity, filled_quantity, filled_notional, status, reason, created_at, updated_at, \
     budget, order_type, time_in_force, limit_price, stop_price, client_order_id, order_class, parent_order_id, trail_amount, trail_percent, post_only, self_trade_prevention";

/// `$1, $2, ...` for `ids`, and their parameters.
fn id_list(ids: &[u64]) -> (String, Vec<Param>) {
    let list = (1..=ids.len()).map(|index| format!("${index}")).collect::<Vec<_>>().join(", ");
    (list, ids.iter().map(|&order| Param::from(order as i64)).collect())
}

fn order_fill(row: &Row) -> Result<OrderFill, StoreError> {
    Ok(OrderFill {
        order_id: id(row.int(0)?),
        trade_id: id(row.opt_int(1)?.unwrap_or_default()),
        price: Price::from_raw(row.opt_int(2)?.unwrap_or_default()),
        quantity: Quantity::from_raw(row.int(3)?),
        fee: Money::from_raw(row.int(4)?),
        liquidity: row.opt_text(5)?.unwrap_or_default().to_owned(),
        executed_at_ms: row.int(6)?,
    })
}

fn order_summary(row: &Row) -> Result<OrderSummary, StoreError> {
    Ok(OrderSummary {
        order_id: id(row.int(0)?),
        user_id: id(row.int(1)?),
        symbol: row.text(2)?.to_owned(),
        side: row.text(3)?.to_owned(),
        quantity: Quantity::from_raw(row.int(4)?),
        filled: Quantity::from_raw(row.int(5)?),
        filled_notional: Money::from_raw(row.int(6)?),
        status: row.text(7)?.to_owned(),
        reason: row.opt_text(8)?.map(str::to_owned),
        created_at_ms: row.int(9)?,
        updated_at_ms: row.int(10)?,
        budget: row.opt_int(11)?.map(Money::from_raw),
        order_type: row.text(12)?.to_owned(),
        time_in_force: row.text(13)?.to_owned(),
        limit_price: row.opt_int(14)?.map(Price::from_raw),
        stop_price: row.opt_int(15)?.map(Price::from_raw),
        client_order_id: row.opt_text(16)?.map(str::to_owned),
        order_class: row.opt_text(17)?.map(str::to_owned),
        parent_order_id: row.opt_int(18)?.map(id),
        trail_amount: row.opt_int(19)?.map(Price::from_raw),
        trail_percent: row.opt_int(20)?.map(Price::from_raw),
        post_only: row.opt_int(21)? == Some(1),
        self_trade_prevention: row.opt_text(22)?.map(str::to_owned),
    })
}

fn trade_record(row: &Row) -> Result<TradeRecord, StoreError> {
    Ok(TradeRecord {
        event_id: row.text(0)?.to_owned(),
        trade_id: row.opt_int(1)?.map(id),
        order_id: id(row.int(2)?),
        user_id: id(row.int(3)?),
        symbol: row.text(4)?.to_owned(),
        side: row.text(5)?.to_owned(),
        quantity: Quantity::from_raw(row.int(6)?),
        status: row.text(7)?.to_owned(),
        execution_price: row.opt_int(8)?.map(Price::from_raw),
        fee: Money::from_raw(row.int(9)?),
        liquidity: row.opt_text(10)?.map(str::to_owned),
        executed_at_ms: row.int(11)?,
        failure_reason: row.opt_text(12)?.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_print_exactly() {
        assert_eq!(decimal(1_234_500, 4), "123.45");
        assert_eq!(decimal(-5, 8), "-0.00000005");
        assert_eq!(decimal(10_000, 4), "1");
        assert_eq!(decimal(0, 4), "0");
        assert_eq!(decimal(i128::from(i64::MAX) * 10, 4), "9223372036854775.807");
    }

    #[test]
    fn page_tokens_round_trip_and_reject_strangers() {
        let token = encode_token(&[1_700_000_000_000, 42]);
        assert_eq!(decode_token(&token, 2).unwrap(), vec![1_700_000_000_000, 42]);
        assert!(decode_token("abc", 2).is_err());
        assert!(decode_token(&"z".repeat(32), 2).is_err());
    }

    #[test]
    fn free_text_is_quoted_for_fts5() {
        assert_eq!(
            fts5_query(7, "insufficient funds!").as_deref(),
            Some("user_key : \"u7\" AND failure_reason : \"insufficient\" AND failure_reason : \"funds\"")
        );
        assert_eq!(fts5_query(-2, "\" OR *").as_deref(), Some("user_key : \"un2\" AND failure_reason : \"OR\""), "operators become plain words");
        assert_eq!(fts5_query(7, "!* ()"), None);
    }
}
