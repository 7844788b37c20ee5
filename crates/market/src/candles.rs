//! Candles (OHLCV) per symbol and interval built from trade prints, and the 24-hour ticker.

use std::collections::{BTreeMap, VecDeque};

use tradecraft_types::{Money, Price, Quantity, Symbol, notional};

/// Candle widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Interval {
    OneMinute,
    FiveMinutes,
    FifteenMinutes,
    OneHour,
    OneDay,
}

impl Interval {
    pub const ALL: [Interval; 5] = [Self::OneMinute, Self::FiveMinutes, Self::FifteenMinutes, Self::OneHour, Self::OneDay];

    pub const fn millis(self) -> i64 {
        match self {
            Self::OneMinute => 60_000,
            Self::FiveMinutes => 300_000,
            Self::FifteenMinutes => 900_000,
            Self::OneHour => 3_600_000,
            Self::OneDay => 86_400_000,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OneMinute => "1m",
            Self::FiveMinutes => "5m",
            Self::FifteenMinutes => "15m",
            Self::OneHour => "1h",
            Self::OneDay => "1d",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|interval| interval.as_str() == text)
    }

    /// Candles kept per symbol: two days of minutes, a week of 5m, a month of 15m,
    /// a quarter of hours, two years of days.
    const fn kept(self) -> usize {
        match self {
            Self::OneMinute => 2_880,
            Self::FiveMinutes => 2_016,
            Self::FifteenMinutes => 2_880,
            Self::OneHour => 2_160,
            Self::OneDay => 730,
        }
    }
}

/// One trade as the market side sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradePrint {
    pub symbol: Symbol,
    pub price: Price,
    pub quantity: Quantity,
    pub timestamp_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candle {
    /// Start of the interval, aligned to the interval from the epoch (UTC).
    pub start_ms: i64,
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
    pub volume: Quantity,
    pub trades: u64,
    /// Sum of price times quantity over the trades, for the volume-weighted average price.
    pub notional: Money,
}

impl Candle {
    /// The volume-weighted average price, on the 4-decimal price grid (half up).
    pub fn vwap(&self) -> Option<Price> {
        (self.volume.is_positive()).then(|| {
            let (numerator, denominator) = (i128::from(self.notional.raw()), i128::from(self.volume.raw()));
            Price::from_raw(((numerator * 2 + denominator) / (denominator * 2)) as i64)
        })
    }
}

/// 24-hour statistics of a symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticker {
    pub symbol: Symbol,
    pub last: Option<Price>,
    pub bid: Option<Price>,
    pub ask: Option<Price>,
    pub open_24h: Option<Price>,
    pub high_24h: Option<Price>,
    pub low_24h: Option<Price>,
    pub volume_24h: Quantity,
    /// `last - open_24h`.
    pub change_24h: Option<Price>,
    /// Change in percent with two decimals, truncated toward zero, e.g. "-1.25".
    pub change_percent_24h: Option<String>,
}

/// Candles of every symbol and interval, bounded per series.
#[derive(Clone, Debug, Default)]
pub struct CandleBook {
    series: BTreeMap<(Symbol, Interval), VecDeque<Candle>>,
    last: BTreeMap<Symbol, Price>,
}

impl CandleBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a trade to every interval's current candle. Trades arrive in time order from
    /// the engine; a late one updates the candle it belongs to if still kept.
    pub fn record(&mut self, trade: TradePrint) {
        self.last.insert(trade.symbol, trade.price);
        for interval in Interval::ALL {
            let start_ms = trade.timestamp_ms.div_euclid(interval.millis()) * interval.millis();
            let series = self.series.entry((trade.symbol, interval)).or_default();
            let position = series.partition_point(|candle| candle.start_ms < start_ms);
            let is_latest = position + 1 == series.len();
            match series.get_mut(position) {
                Some(candle) if candle.start_ms == start_ms => {
                    candle.high = candle.high.max(trade.price);
                    candle.low = candle.low.min(trade.price);
                    if is_latest {
                        candle.close = trade.price;
                    }
                    candle.volume = candle.volume.checked_add(trade.quantity).unwrap_or(candle.volume);
                    candle.notional = candle.notional.checked_add(notional(trade.price, trade.quantity).unwrap_or(Money::ZERO)).unwrap_or(candle.notional);
                    candle.trades += 1;
                }
                _ => {
                    series.insert(
                        position,
                        Candle {
                            start_ms,
                            open: trade.price,
                            high: trade.price,
                            low: trade.price,
                            close: trade.price,
                            volume: trade.quantity,
                            trades: 1,
                            notional: notional(trade.price, trade.quantity).unwrap_or(Money::ZERO),
                        },
                    );
                    if series.len() > interval.kept() {
                        series.pop_front();
                    }
                }
            }
        }
    }

    /// Candles whose start lies in `start_ms..end_ms`, oldest first, at most `limit`
    /// (the latest ones when there are more).
    pub fn candles(&self, symbol: Symbol, interval: Interval, start_ms: i64, end_ms: i64, limit: usize) -> Vec<Candle> {
        let Some(series) = self.series.get(&(symbol, interval)) else { return Vec::new() };
        let selected: Vec<Candle> = series.iter().filter(|candle| (start_ms..end_ms).contains(&candle.start_ms)).copied().collect();
        let skip = selected.len().saturating_sub(limit);
        selected[skip..].to_vec()
    }

    pub fn last_price(&self, symbol: Symbol) -> Option<Price> {
        self.last.get(&symbol).copied()
    }

    /// The 24 hours up to `now_ms`, from minute candles.
    pub fn ticker(&self, symbol: Symbol, now_ms: i64, bid: Option<Price>, ask: Option<Price>) -> Ticker {
        let window = self.candles(symbol, Interval::OneMinute, now_ms - 86_400_000 + 1, now_ms + 1, usize::MAX);
        let last = self.last_price(symbol);
        let open = window.first().map(|candle| candle.open);
        let change = match (last, open) {
            (Some(last), Some(open)) => last.checked_sub(open),
            _ => None,
        };
        let change_percent = match (change, open) {
            (Some(change), Some(open)) if open.is_positive() => {
                let hundredths = i128::from(change.raw()) * 10_000 / i128::from(open.raw());
                let sign = if hundredths < 0 { "-" } else { "" };
                let magnitude = hundredths.unsigned_abs();
                Some(format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100))
            }
            _ => None,
        };
        Ticker {
            symbol,
            last,
            bid,
            ask,
            open_24h: open,
            high_24h: window.iter().map(|candle| candle.high).max(),
            low_24h: window.iter().map(|candle| candle.low).min(),
            volume_24h: window.iter().fold(Quantity::ZERO, |total, candle| total.checked_add(candle.volume).unwrap_or(total)),
            change_24h: change,
            change_percent_24h: change_percent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    fn print(price: &str, quantity: i64, timestamp_ms: i64) -> TradePrint {
        TradePrint { symbol: Symbol::new("MOCK").unwrap(), price: Price::parse(price).unwrap(), quantity: Quantity::from_units(quantity), timestamp_ms }
    }

    fn render(candles: &[Candle]) -> String {
        candles
            .iter()
            .map(|candle| {
                format!(
                    "{} O{} H{} L{} C{} V{} n{} vw{}\n",
                    tradecraft_types::Timestamp(candle.start_ms),
                    candle.open,
                    candle.high,
                    candle.low,
                    candle.close,
                    candle.volume,
                    candle.trades,
                    candle.vwap().map(|vwap| vwap.to_string()).unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn trades_fold_into_aligned_candles() {
        let mut book = CandleBook::new();
        let base = 1_767_346_200_000; // 2026-01-02T09:30:00Z
        for (price, quantity, offset) in [("100", 5, 0), ("101.5", 1, 20_000), ("99", 2, 59_999), ("100.25", 3, 60_000), ("98", 1, 301_000)] {
            book.record(print(price, quantity, base + offset));
        }
        let symbol = Symbol::new("MOCK").unwrap();
        expect![[r#"
            2026-01-02T09:30:00.000Z O100 H101.5 L99 C99 V8 n3 vw99.9375
            2026-01-02T09:31:00.000Z O100.25 H100.25 L100.25 C100.25 V3 n1 vw100.25
            2026-01-02T09:35:00.000Z O98 H98 L98 C98 V1 n1 vw98
        "#]]
        .assert_eq(&render(&book.candles(symbol, Interval::OneMinute, 0, i64::MAX, 100)));
        expect![[r#"
            2026-01-02T09:30:00.000Z O100 H101.5 L99 C100.25 V11 n4 vw100.0227
            2026-01-02T09:35:00.000Z O98 H98 L98 C98 V1 n1 vw98
        "#]]
        .assert_eq(&render(&book.candles(symbol, Interval::FiveMinutes, 0, i64::MAX, 100)));
        assert_eq!(book.candles(symbol, Interval::OneMinute, 0, i64::MAX, 1).len(), 1);
        assert_eq!(book.candles(symbol, Interval::OneMinute, base + 60_000, base + 120_000, 10).len(), 1);
        assert_eq!(Interval::parse("15m"), Some(Interval::FifteenMinutes));
        assert_eq!(Interval::parse("2m"), None);
    }

    #[test]
    fn the_ticker_covers_the_last_24_hours() {
        let mut book = CandleBook::new();
        let day = 86_400_000;
        book.record(print("80", 10, 0));
        book.record(print("100", 1, day));
        book.record(print("110", 2, day + 3_600_000));
        book.record(print("95", 4, day + 7_200_000));
        let symbol = Symbol::new("MOCK").unwrap();
        let ticker = book.ticker(symbol, day + 7_200_000, Some(Price::parse("94.99").unwrap()), None);
        assert_eq!(ticker.last, Some(Price::parse("95").unwrap()));
        assert_eq!(ticker.open_24h, Some(Price::parse("100").unwrap()), "the trade at 80 is older than 24 h");
        assert_eq!(ticker.high_24h, Some(Price::parse("110").unwrap()));
        assert_eq!(ticker.low_24h, Some(Price::parse("95").unwrap()));
        assert_eq!(ticker.volume_24h, Quantity::from_units(7));
        assert_eq!(ticker.change_24h, Some(Price::parse("-5").unwrap()));
        assert_eq!(ticker.change_percent_24h.as_deref(), Some("-5.00"));
        assert_eq!(ticker.bid, Some(Price::parse("94.99").unwrap()));
        let empty = book.ticker(Symbol::new("NONE").unwrap(), day, None, None);
        assert_eq!((empty.last, empty.change_percent_24h, empty.volume_24h), (None, None, Quantity::ZERO));
    }

    #[test]
    fn series_are_bounded() {
        let mut book = CandleBook::new();
        for minute in 0..3_000 {
            book.record(print("10", 1, minute * 60_000));
        }
        let symbol = Symbol::new("MOCK").unwrap();
        assert_eq!(book.candles(symbol, Interval::OneMinute, 0, i64::MAX, usize::MAX).len(), 2_880);
    }
}
