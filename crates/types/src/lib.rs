//! Shared vocabulary of TradeCraft: ids, symbols and exact fixed-point numbers.
//!
//! Prices and quantities are signed 64-bit integers on a fixed decimal grid
//! ([`PRICE_DECIMALS`], [`QUANTITY_DECIMALS`]); money is on the grid of their product
//! ([`MONEY_DECIMALS`]) so that `price * quantity` is exact and never rounds. Products are
//! formed in `i128` and checked back into `i64`. No floating point anywhere.

mod decimal;
mod ids;
mod time;

pub use decimal::{MONEY_DECIMALS, Money, PRICE_DECIMALS, ParseDecimalError, Price, QUANTITY_DECIMALS, Quantity, notional};
pub use ids::{AccountId, ClientOrderId, IdError, OrderId, Side, Symbol, TradeId, TransactionId};
pub use time::{ParseTimestampError, Timestamp, civil_from_days, days_from_civil};
