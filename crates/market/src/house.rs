//! House liquidity: a ladder of quotes on each side of the reference price, sizes growing
//! with distance, so market orders fill near the reference and large ones walk the book.

use tradecraft_types::{Price, Quantity, Side};

/// Shape of the house ladder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HouseConfig {
    /// Levels per side.
    pub levels: u32,
    /// Distance of the best quotes from the reference, in basis points.
    pub half_spread_bps: u32,
    /// Extra distance per further level, in basis points.
    pub level_step_bps: u32,
    /// Size of the best level, in lots; level `i` (from 0) quotes `(i + 1)` times this.
    pub base_lots: i64,
}

impl Default for HouseConfig {
    fn default() -> Self {
        Self { levels: 5, half_spread_bps: 5, level_step_bps: 10, base_lots: 100 }
    }
}

/// One house order to place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    pub side: Side,
    pub price: Price,
    pub quantity: Quantity,
}

fn moved(reference: i64, bps: u32, up: bool) -> i128 {
    let factor = if up { 10_000 + i128::from(bps) } else { 10_000 - i128::from(bps).min(9_999) };
    i128::from(reference) * factor
}

/// The ladder around `reference`: bids best first, then asks best first. Prices are on
/// the tick grid, strictly worse level by level, and every bid is below every ask.
pub fn quotes(reference: Price, tick: Price, lot: Quantity, config: &HouseConfig) -> Vec<Quote> {
    let tick = i128::from(tick.raw().max(1));
    let mut out = Vec::with_capacity(2 * config.levels as usize);
    let mut previous_bid = i128::MAX;
    let mut previous_ask = 0_i128;
    for level in 0..config.levels {
        let distance = config.half_spread_bps + level * config.level_step_bps;
        let quantity = Quantity::from_raw(lot.raw() * config.base_lots * i64::from(level + 1));
        // Bids round down and asks round up, each at least one tick beyond the last level.
        let bid = (moved(reference.raw(), distance, false) / 10_000 / tick * tick).min(previous_bid - tick);
        let ask_raw = moved(reference.raw(), distance, true);
        let ask = ((ask_raw + 10_000 * tick - 1) / 10_000 / tick * tick).max(previous_ask + tick);
        let ask = ask.max(if level == 0 { i128::from(reference.raw()) + tick } else { ask });
        previous_ask = ask;
        if bid >= tick {
            previous_bid = bid;
            out.push(Quote { side: Side::Buy, price: Price::from_raw(bid as i64), quantity });
        }
        out.push(Quote { side: Side::Sell, price: Price::from_raw(ask as i64), quantity });
    }
    out.sort_by_key(|quote| (quote.side, if quote.side == Side::Buy { -quote.price.raw() } else { quote.price.raw() }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    fn render(quotes: &[Quote]) -> String {
        quotes.iter().map(|quote| format!("{} {} x {}\n", quote.side.as_str(), quote.price, quote.quantity)).collect()
    }

    #[test]
    fn ladders_around_the_reference() {
        let ladder = quotes(Price::parse("100").unwrap(), Price::parse("0.01").unwrap(), Quantity::from_units(1), &HouseConfig::default());
        expect![[r#"
            BUY 99.95 x 100
            BUY 99.85 x 200
            BUY 99.75 x 300
            BUY 99.65 x 400
            BUY 99.55 x 500
            SELL 100.05 x 100
            SELL 100.15 x 200
            SELL 100.25 x 300
            SELL 100.35 x 400
            SELL 100.45 x 500
        "#]]
        .assert_eq(&render(&ladder));
    }

    #[test]
    fn coarse_ticks_and_tiny_prices_still_give_distinct_uncrossed_levels() {
        for (reference, tick) in [("0.02", "0.01"), ("1", "0.5"), ("7", "1"), ("250000", "0.01")] {
            let ladder = quotes(Price::parse(reference).unwrap(), Price::parse(tick).unwrap(), Quantity::from_units(1), &HouseConfig::default());
            let bids: Vec<i64> = ladder.iter().filter(|quote| quote.side == Side::Buy).map(|quote| quote.price.raw()).collect();
            let asks: Vec<i64> = ladder.iter().filter(|quote| quote.side == Side::Sell).map(|quote| quote.price.raw()).collect();
            let tick = Price::parse(tick).unwrap().raw();
            assert!(bids.windows(2).all(|pair| pair[0] > pair[1]), "{reference}: bids {bids:?}");
            assert!(asks.windows(2).all(|pair| pair[0] < pair[1]), "{reference}: asks {asks:?}");
            assert!(bids.iter().chain(&asks).all(|price| price % tick == 0 && *price > 0));
            assert!(bids.first().is_none_or(|bid| bid < &asks[0]), "{reference}: crossed");
            assert_eq!(asks.len(), 5);
        }
    }
}
