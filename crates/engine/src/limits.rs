//! Trading limits, checked atomically when an order is accepted.
//!
//! A set of limits can belong to an account, a group or an organisation; an order must
//! pass every set that applies to its account, so the tightest value of each limit wins.
//! The engine computes what the limits look at ([`OrderExposure`]) only for accounts that
//! have limits; house accounts skip them. Limits that count activity (orders per minute,
//! trades, notional and loss per day, open buy quantities) count from when limits first
//! applied to the account.

use tradecraft_types::{Money, Price, Quantity, Side, Symbol};

/// Order types, as a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct OrderTypes(pub u8);

impl OrderTypes {
    pub const MARKET: u8 = 1;
    pub const LIMIT: u8 = 2;
    pub const STOP: u8 = 4;
    pub const STOP_LIMIT: u8 = 8;
    pub const TRAILING_STOP: u8 = 16;
    pub const ALL: u8 = 31;

    pub const fn contains(self, kind: u8) -> bool {
        self.0 & kind != 0
    }

    /// The bit of a wire name (`MARKET`, `LIMIT`, `STOP`, `STOP_LIMIT`, `TRAILING_STOP`).
    pub fn bit(name: &str) -> Option<u8> {
        Some(match name {
            "MARKET" => Self::MARKET,
            "LIMIT" => Self::LIMIT,
            "STOP" => Self::STOP,
            "STOP_LIMIT" => Self::STOP_LIMIT,
            "TRAILING_STOP" => Self::TRAILING_STOP,
            _ => return None,
        })
    }
}

/// A daily window in UTC minutes: `start <= minute < end`, wrapping past midnight when
/// `start > end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TradingHours {
    pub start_minute: u16,
    pub end_minute: u16,
}

impl TradingHours {
    pub const fn contains(self, minute: u16) -> bool {
        if self.start_minute <= self.end_minute {
            self.start_minute <= minute && minute < self.end_minute
        } else {
            minute >= self.start_minute || minute < self.end_minute
        }
    }
}

/// One set of limits; `None` (or empty) means unlimited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountLimits {
    pub trading_enabled: bool,
    pub max_order_quantity: Option<Quantity>,
    pub max_order_notional: Option<Money>,
    pub max_open_orders: Option<u32>,
    /// Shares of one symbol held plus open buys plus the order.
    pub max_position: Option<Quantity>,
    /// Value of every symbol held or bid for (at last trade prices) plus the order.
    pub max_gross_exposure: Option<Money>,
    /// Notional traded today (UTC) plus the order's.
    pub max_daily_notional: Option<Money>,
    /// Once today's loss (start-of-day value plus cash moved in, minus value now) is past
    /// this, buys are refused until tomorrow; sells that reduce risk still go.
    pub max_daily_loss: Option<Money>,
    pub max_orders_per_minute: Option<u32>,
    pub max_trades_per_day: Option<u32>,
    /// `Some`: only these symbols.
    pub allowed_symbols: Option<Vec<Symbol>>,
    pub blocked_symbols: Vec<Symbol>,
    pub allowed_order_types: Option<OrderTypes>,
    pub trading_hours: Option<TradingHours>,
    /// Per-share price of the order (limit, stop or the market's best price).
    pub min_share_price: Option<Price>,
    /// Value in one symbol (held, bid for and the order) as basis points of the cash
    /// deposited into the account.
    pub max_symbol_share_bps: Option<u32>,
}

impl Default for AccountLimits {
    fn default() -> Self {
        Self {
            trading_enabled: true,
            max_order_quantity: None,
            max_order_notional: None,
            max_open_orders: None,
            max_position: None,
            max_gross_exposure: None,
            max_daily_notional: None,
            max_daily_loss: None,
            max_orders_per_minute: None,
            max_trades_per_day: None,
            allowed_symbols: None,
            blocked_symbols: Vec::new(),
            allowed_order_types: None,
            trading_hours: None,
            min_share_price: None,
            max_symbol_share_bps: None,
        }
    }
}

impl AccountLimits {
    pub fn is_unlimited(&self) -> bool {
        *self == Self::default()
    }
}

/// Who a set of limits is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitScope {
    Account(tradecraft_types::AccountId),
    Group(u64),
    Organisation(u64),
}

/// Which limit an order breached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitKind {
    TradingDisabled,
    MaxOrderQuantity,
    MaxOrderNotional,
    MaxOpenOrders,
    MaxPosition,
    MaxGrossExposure,
    MaxDailyNotional,
    MaxDailyLoss,
    MaxOrdersPerMinute,
    MaxTradesPerDay,
    SymbolNotAllowed,
    SymbolBlocked,
    OrderTypeNotAllowed,
    OutsideTradingHours,
    MinSharePrice,
    MaxSymbolShare,
}

impl LimitKind {
    /// Every kind of limit.
    pub const ALL: [Self; 16] = [
        Self::TradingDisabled,
        Self::MaxOrderQuantity,
        Self::MaxOrderNotional,
        Self::MaxOpenOrders,
        Self::MaxPosition,
        Self::MaxGrossExposure,
        Self::MaxDailyNotional,
        Self::MaxDailyLoss,
        Self::MaxOrdersPerMinute,
        Self::MaxTradesPerDay,
        Self::SymbolNotAllowed,
        Self::SymbolBlocked,
        Self::OrderTypeNotAllowed,
        Self::OutsideTradingHours,
        Self::MinSharePrice,
        Self::MaxSymbolShare,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Self::TradingDisabled => "limit_trading_disabled",
            Self::MaxOrderQuantity => "limit_max_order_quantity",
            Self::MaxOrderNotional => "limit_max_order_notional",
            Self::MaxOpenOrders => "limit_max_open_orders",
            Self::MaxPosition => "limit_max_position",
            Self::MaxGrossExposure => "limit_max_gross_exposure",
            Self::MaxDailyNotional => "limit_max_daily_notional",
            Self::MaxDailyLoss => "limit_max_daily_loss",
            Self::MaxOrdersPerMinute => "limit_max_orders_per_minute",
            Self::MaxTradesPerDay => "limit_max_trades_per_day",
            Self::SymbolNotAllowed => "limit_symbol_not_allowed",
            Self::SymbolBlocked => "limit_symbol_blocked",
            Self::OrderTypeNotAllowed => "limit_order_type_not_allowed",
            Self::OutsideTradingHours => "limit_outside_trading_hours",
            Self::MinSharePrice => "limit_min_share_price",
            Self::MaxSymbolShare => "limit_max_symbol_share",
        }
    }
}

/// What the limits see of an order being accepted. Money in raw 8-decimal units,
/// quantities and prices in raw 4-decimal units.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OrderExposure {
    pub(crate) symbol: Symbol,
    pub(crate) side: Side,
    /// One of the [`OrderTypes`] bits.
    pub(crate) order_type: u8,
    pub(crate) quantity: i64,
    /// Worst-case notional: limit or protective price times quantity, or the notional asked.
    pub(crate) notional: i64,
    /// Per-share price for the minimum-price limit.
    pub(crate) share_price: i64,
    pub(crate) open_orders: u32,
    pub(crate) minute_of_day: u16,
    pub(crate) orders_last_minute: u32,
    pub(crate) trades_today: u32,
    pub(crate) notional_today: i128,
    pub(crate) loss_today: i128,
    /// Shares of the symbol after the order: held, open buys and (buys) the order.
    pub(crate) position_after: i128,
    pub(crate) gross_after: i128,
    pub(crate) symbol_value_after: i128,
    pub(crate) deposited: i128,
}

/// Returns the first limit of `limits` the order would breach.
pub(crate) fn check(limits: &AccountLimits, order: &OrderExposure) -> Result<(), LimitKind> {
    let buy = order.side == Side::Buy;
    let over = |max: Option<i64>, value: i128| max.is_some_and(|max| value > i128::from(max));
    if !limits.trading_enabled {
        return Err(LimitKind::TradingDisabled);
    }
    if limits.allowed_symbols.as_ref().is_some_and(|allowed| !allowed.contains(&order.symbol)) {
        return Err(LimitKind::SymbolNotAllowed);
    }
    if limits.blocked_symbols.contains(&order.symbol) {
        return Err(LimitKind::SymbolBlocked);
    }
    if limits.allowed_order_types.is_some_and(|allowed| !allowed.contains(order.order_type)) {
        return Err(LimitKind::OrderTypeNotAllowed);
    }
    if limits.trading_hours.is_some_and(|hours| !hours.contains(order.minute_of_day)) {
        return Err(LimitKind::OutsideTradingHours);
    }
    if limits.min_share_price.is_some_and(|min| order.share_price < min.raw()) {
        return Err(LimitKind::MinSharePrice);
    }
    if over(limits.max_order_quantity.map(Quantity::raw), i128::from(order.quantity)) {
        return Err(LimitKind::MaxOrderQuantity);
    }
    if over(limits.max_order_notional.map(Money::raw), i128::from(order.notional)) {
        return Err(LimitKind::MaxOrderNotional);
    }
    if limits.max_open_orders.is_some_and(|max| order.open_orders >= max) {
        return Err(LimitKind::MaxOpenOrders);
    }
    if limits.max_orders_per_minute.is_some_and(|max| order.orders_last_minute >= max) {
        return Err(LimitKind::MaxOrdersPerMinute);
    }
    if limits.max_trades_per_day.is_some_and(|max| order.trades_today >= max) {
        return Err(LimitKind::MaxTradesPerDay);
    }
    if over(limits.max_daily_notional.map(Money::raw), order.notional_today + i128::from(order.notional)) {
        return Err(LimitKind::MaxDailyNotional);
    }
    if buy {
        if over(limits.max_daily_loss.map(Money::raw), order.loss_today) {
            return Err(LimitKind::MaxDailyLoss);
        }
        if over(limits.max_position.map(Quantity::raw), order.position_after) {
            return Err(LimitKind::MaxPosition);
        }
        if over(limits.max_gross_exposure.map(Money::raw), order.gross_after) {
            return Err(LimitKind::MaxGrossExposure);
        }
        if limits.max_symbol_share_bps.is_some_and(|bps| order.symbol_value_after * 10_000 > order.deposited * i128::from(bps)) {
            return Err(LimitKind::MaxSymbolShare);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trading_hours_include_the_start_exclude_the_end_and_wrap_past_midnight() {
        let day = TradingHours { start_minute: 540, end_minute: 960 };
        assert!(day.contains(540) && day.contains(959));
        assert!(!day.contains(960) && !day.contains(539));
        let night = TradingHours { start_minute: 1_320, end_minute: 120 };
        assert!(night.contains(1_320) && night.contains(0) && night.contains(119));
        assert!(!night.contains(120) && !night.contains(1_319));
    }

    #[test]
    fn order_type_names_map_to_bits() {
        let types = OrderTypes(OrderTypes::bit("LIMIT").unwrap() | OrderTypes::bit("STOP_LIMIT").unwrap());
        assert!(types.contains(OrderTypes::LIMIT) && types.contains(OrderTypes::STOP_LIMIT));
        assert!(!types.contains(OrderTypes::MARKET));
        assert_eq!(OrderTypes::bit("ICEBERG"), None);
        assert!(AccountLimits::default().is_unlimited());
        assert!(!AccountLimits { max_trades_per_day: Some(1), ..AccountLimits::default() }.is_unlimited());
    }
}
