//! Seeded reference prices: a discrete geometric Brownian motion per symbol, in integers.
//!
//! Each step multiplies the price by `1 + drift + volatility * z`, where `drift` and
//! `volatility` are the annual figures scaled to one step (volatility by the square root of
//! the step's share of a year) and `z` is a standard normal draw approximated by the sum
//! of twelve uniforms minus six (Irwin-Hall), all in parts per billion. Prices are rounded
//! to the symbol's tick and never fall below one tick.

use serde::{Deserialize, Serialize};

use crate::session::{Session, SessionCalendar};
use tradecraft_types::{Price, Quantity, Symbol};

/// Parts per billion: the fixed-point scale of factors.
const PPB: i128 = 1_000_000_000;
const MILLIS_PER_YEAR: u128 = 365 * 24 * 3_600 * 1_000;

/// Why a simulator configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarketError {
    #[error("symbol {symbol}: {message}")]
    Symbol { symbol: String, message: String },
    #[error("invalid market configuration: {0}")]
    Config(String),
}

/// One symbol of the simulated universe, as written in the configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymbolConfig {
    pub symbol: String,
    pub start_price: String,
    /// Annual volatility as a fraction, e.g. "0.30" for 30 %.
    pub annual_volatility: String,
    /// Annual drift as a fraction, e.g. "0.05".
    #[serde(default = "zero")]
    pub annual_drift: String,
    #[serde(default = "cent")]
    pub tick_size: String,
    #[serde(default = "one")]
    pub lot_size: String,
    /// When this symbol trades (see [`Session::parse`]); the universe's `session` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

fn zero() -> String {
    "0".to_owned()
}
fn cent() -> String {
    "0.01".to_owned()
}
fn one() -> String {
    "1".to_owned()
}

/// The simulated universe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimulatorConfig {
    pub seed: u64,
    /// Milliseconds between ticks.
    pub tick_interval_ms: u64,
    pub symbols: Vec<SymbolConfig>,
    /// When the universe trades: `24/7` (the default), e.g. `mon-fri 14:30-21:00` (UTC), or
    /// `nyse` (see [`Session::parse`]).
    #[serde(default = "around_the_clock")]
    pub session: String,
}

fn around_the_clock() -> String {
    "24/7".to_owned()
}

impl SimulatorConfig {
    /// Twenty mock large caps with plausible prices and volatilities.
    pub fn default_universe() -> Self {
        let entries = [
            ("MOCKAAPL", "190.00", "0.28"),
            ("MOCKMSFT", "415.00", "0.25"),
            ("MOCKGOOG", "172.00", "0.30"),
            ("MOCKAMZN", "185.00", "0.33"),
            ("MOCKNVDA", "120.00", "0.55"),
            ("MOCKMETA", "500.00", "0.38"),
            ("MOCKTSLA", "240.00", "0.60"),
            ("MOCKBRKB", "410.00", "0.17"),
            ("MOCKJPM", "200.00", "0.24"),
            ("MOCKV", "275.00", "0.20"),
            ("MOCKJNJ", "155.00", "0.16"),
            ("MOCKWMT", "68.00", "0.19"),
            ("MOCKXOM", "115.00", "0.27"),
            ("MOCKPG", "165.00", "0.15"),
            ("MOCKMA", "460.00", "0.21"),
            ("MOCKHD", "350.00", "0.24"),
            ("MOCKKO", "62.00", "0.15"),
            ("MOCKPEP", "170.00", "0.16"),
            ("MOCKDIS", "100.00", "0.30"),
            ("MOCKNFLX", "650.00", "0.42"),
        ];
        Self {
            seed: 42,
            tick_interval_ms: 1_000,
            symbols: entries
                .into_iter()
                .map(|(symbol, price, volatility)| SymbolConfig {
                    symbol: symbol.to_owned(),
                    start_price: price.to_owned(),
                    annual_volatility: volatility.to_owned(),
                    annual_drift: "0.05".to_owned(),
                    tick_size: cent(),
                    lot_size: one(),
                    session: None,
                })
                .collect(),
            session: around_the_clock(),
        }
    }

    /// Every symbol's trading session.
    pub fn calendar(&self) -> Result<SessionCalendar, MarketError> {
        let default = Session::parse(&self.session).map_err(MarketError::Config)?;
        let mut symbols = std::collections::BTreeMap::new();
        for entry in &self.symbols {
            if let Some(text) = &entry.session {
                let bad = |message: String| MarketError::Symbol { symbol: entry.symbol.clone(), message };
                let symbol = Symbol::new(&entry.symbol).map_err(|error| bad(error.to_string()))?;
                symbols.insert(symbol, Session::parse(text).map_err(bad)?);
            }
        }
        Ok(SessionCalendar { default, symbols })
    }

    pub fn from_json(text: &str) -> Result<Self, MarketError> {
        serde_json::from_str(text).map_err(|error| MarketError::Config(error.to_string()))
    }
}

/// A new reference price (seed 000 section 4.1 `market_data` payload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceTick {
    pub symbol: Symbol,
    pub price: Price,
}

#[derive(Clone, Debug)]
struct Walker {
    symbol: Symbol,
    tick: i64,
    lot: Quantity,
    price: i64,
    drift_ppb: i128,
    volatility_ppb: i128,
}

/// The seeded simulator.
#[derive(Clone, Debug)]
pub struct Simulator {
    walkers: Vec<Walker>,
    state: u64,
    tick_interval_ms: u64,
}

fn fraction_ppb(symbol: &str, field: &str, text: &str) -> Result<i128, MarketError> {
    let value = Price::parse(text).map_err(|error| MarketError::Symbol { symbol: symbol.to_owned(), message: format!("{field}: {error}") })?;
    // Price has 4 decimals: 1.0000 = 10_000 raw = 1e9 ppb.
    Ok(i128::from(value.raw()) * (PPB / 10_000))
}

impl Simulator {
    pub fn new(config: &SimulatorConfig) -> Result<Self, MarketError> {
        if config.tick_interval_ms == 0 {
            return Err(MarketError::Config("tickIntervalMs must be positive".to_owned()));
        }
        if config.symbols.is_empty() {
            return Err(MarketError::Config("the universe has no symbols".to_owned()));
        }
        // Share of a year per step, as parts per 1e18, and its square root as ppb.
        let step_share_e18 = u128::from(config.tick_interval_ms) * 1_000_000_000_000_000_000 / MILLIS_PER_YEAR;
        let sqrt_step_ppb = step_share_e18.isqrt() as i128;
        let mut walkers = Vec::with_capacity(config.symbols.len());
        for entry in &config.symbols {
            let bad = |message: String| MarketError::Symbol { symbol: entry.symbol.clone(), message };
            let symbol = Symbol::new(&entry.symbol).map_err(|error| bad(error.to_string()))?;
            let tick = Price::parse(&entry.tick_size).map_err(|error| bad(format!("tickSize: {error}")))?;
            let lot = Quantity::parse(&entry.lot_size).map_err(|error| bad(format!("lotSize: {error}")))?;
            let start = Price::parse(&entry.start_price).map_err(|error| bad(format!("startPrice: {error}")))?;
            if !tick.is_positive() || !lot.is_positive() || !start.is_positive() || start.raw() % tick.raw() != 0 {
                return Err(bad("tick, lot and start price must be positive, the price on the tick grid".to_owned()));
            }
            let volatility = fraction_ppb(&entry.symbol, "annualVolatility", &entry.annual_volatility)?;
            let drift = fraction_ppb(&entry.symbol, "annualDrift", &entry.annual_drift)?;
            if !(0..=5 * PPB).contains(&volatility) {
                return Err(bad("annualVolatility must be between 0 and 5".to_owned()));
            }
            walkers.push(Walker {
                symbol,
                tick: tick.raw(),
                lot,
                price: start.raw(),
                drift_ppb: drift * i128::from(config.tick_interval_ms) / MILLIS_PER_YEAR as i128,
                volatility_ppb: volatility * sqrt_step_ppb / PPB,
            });
        }
        Ok(Self { walkers, state: config.seed ^ 0x9e37_79b9_7f4a_7c15, tick_interval_ms: config.tick_interval_ms })
    }

    pub fn tick_interval_ms(&self) -> u64 {
        self.tick_interval_ms
    }

    /// Symbols with their tick and lot sizes, in configuration order.
    pub fn instruments(&self) -> Vec<(Symbol, Price, Quantity)> {
        self.walkers.iter().map(|walker| (walker.symbol, Price::from_raw(walker.tick), walker.lot)).collect()
    }

    /// Current reference prices.
    pub fn prices(&self) -> Vec<PriceTick> {
        self.walkers.iter().map(|walker| PriceTick { symbol: walker.symbol, price: Price::from_raw(walker.price) }).collect()
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A standard normal draw in parts per billion (Irwin-Hall: 12 uniforms minus 6).
    fn normal_ppb(&mut self) -> i128 {
        let sum: i128 = (0..12).map(|_| i128::from(self.next_u64() >> 34)).sum();
        // Each uniform is in [0, 2^30); scale the sum to [0, 12) in ppb and centre it.
        sum * PPB / (1_i128 << 30) - 6 * PPB
    }

    /// Advances every symbol one step and returns the new prices.
    pub fn step(&mut self) -> Vec<PriceTick> {
        let draws: Vec<i128> = (0..self.walkers.len()).map(|_| self.normal_ppb()).collect();
        for (walker, z) in self.walkers.iter_mut().zip(draws) {
            let factor = PPB + walker.drift_ppb + walker.volatility_ppb * z / PPB;
            let moved = i128::from(walker.price) * factor.max(PPB / 10) / PPB;
            let tick = i128::from(walker.tick);
            let rounded = (moved + tick / 2) / tick * tick;
            walker.price = i64::try_from(rounded.max(tick)).unwrap_or(i64::MAX / 2 / walker.tick * walker.tick);
        }
        self.prices()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_walks_the_same_path() {
        let config = SimulatorConfig::default_universe();
        let mut first = Simulator::new(&config).unwrap();
        let mut second = Simulator::new(&config).unwrap();
        for _ in 0..500 {
            assert_eq!(first.step(), second.step());
        }
        let mut other = Simulator::new(&SimulatorConfig { seed: 7, ..config }).unwrap();
        assert_ne!(other.step(), Simulator::new(&SimulatorConfig::default_universe()).unwrap().step());
    }

    #[test]
    fn prices_stay_positive_and_on_the_grid() {
        let mut config = SimulatorConfig::default_universe();
        config.symbols[0].annual_volatility = "5".to_owned();
        config.symbols[0].start_price = "0.05".to_owned();
        let mut simulator = Simulator::new(&config).unwrap();
        for _ in 0..5_000 {
            for tick in simulator.step() {
                assert!(tick.price.is_positive());
                assert_eq!(tick.price.raw() % 100, 0, "{tick:?} off the cent grid");
            }
        }
    }

    #[test]
    fn realised_volatility_matches_the_configuration() {
        // One symbol at 30 % a year, ticking every minute for a simulated month.
        let config = SimulatorConfig {
            seed: 3,
            tick_interval_ms: 60_000,
            symbols: vec![SymbolConfig {
                symbol: "VOL".to_owned(),
                start_price: "1000.00".to_owned(),
                annual_volatility: "0.30".to_owned(),
                annual_drift: "0".to_owned(),
                tick_size: "0.0001".to_owned(),
                lot_size: "1".to_owned(),
                session: None,
            }],
            session: "24/7".to_owned(),
        };
        let mut simulator = Simulator::new(&config).unwrap();
        let mut previous = 1_000.0_f64;
        let returns: Vec<f64> = (0..43_200)
            .map(|_| {
                let price = simulator.step()[0].price.raw() as f64 / 10_000.0;
                let change = price / previous - 1.0;
                previous = price;
                change
            })
            .collect();
        let mean = returns.iter().sum::<f64>() / returns.len() as f64;
        let variance = returns.iter().map(|value| (value - mean).powi(2)).sum::<f64>() / returns.len() as f64;
        let annualised = (variance * 525_600.0).sqrt();
        assert!((0.27..0.33).contains(&annualised), "annualised volatility {annualised}");
    }

    #[test]
    fn bad_configurations_are_named() {
        let mut config = SimulatorConfig::default_universe();
        config.symbols[1].start_price = "12.345".to_owned();
        let message = Simulator::new(&config).unwrap_err().to_string();
        assert!(message.contains("MOCKMSFT"), "{message}");
        assert!(Simulator::new(&SimulatorConfig { tick_interval_ms: 0, ..SimulatorConfig::default_universe() }).is_err());
        assert!(SimulatorConfig::from_json("{\"seed\": 1}").is_err());
        let text = serde_json::to_string(&SimulatorConfig::default_universe()).unwrap();
        assert_eq!(SimulatorConfig::from_json(&text).unwrap(), SimulatorConfig::default_universe());
    }
}
