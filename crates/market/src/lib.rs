//! The market side of TradeCraft: where reference prices come from (a seeded simulator),
//! how the house account quotes around them, and the candles and tickers built from
//! trades. No floating point: prices move on integer grids, so a seed replays exactly on
//! any machine.

mod candles;
mod house;
mod session;
mod simulator;

pub use candles::{Candle, CandleBook, Interval, Ticker, TradePrint};
pub use house::{HouseConfig, Quote, quotes};
pub use session::{Session, SessionCalendar};
pub use simulator::{MarketError, PriceTick, Simulator, SimulatorConfig, SymbolConfig};
