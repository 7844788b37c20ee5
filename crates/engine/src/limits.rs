//! Per-account trading limits, checked atomically when an order is accepted.
//!
//! This is the hook the identity-and-risk work extends: add a field to [`AccountLimits`],
//! a variant to [`LimitKind`], and a clause to [`check`]. House accounts skip it.

use tradecraft_types::{Money, Quantity};

/// Limits of one account; `None` means unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountLimits {
    pub trading_enabled: bool,
    pub max_order_quantity: Option<Quantity>,
    pub max_order_notional: Option<Money>,
    pub max_open_orders: Option<u32>,
}

impl Default for AccountLimits {
    fn default() -> Self {
        Self { trading_enabled: true, max_order_quantity: None, max_order_notional: None, max_open_orders: None }
    }
}

/// Which limit an order breached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitKind {
    TradingDisabled,
    MaxOrderQuantity,
    MaxOrderNotional,
    MaxOpenOrders,
}

impl LimitKind {
    pub const fn code(self) -> &'static str {
        match self {
            Self::TradingDisabled => "limit_trading_disabled",
            Self::MaxOrderQuantity => "limit_max_order_quantity",
            Self::MaxOrderNotional => "limit_max_order_notional",
            Self::MaxOpenOrders => "limit_max_open_orders",
        }
    }
}

/// What the limits see of an order being accepted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OrderExposure {
    pub(crate) quantity: Quantity,
    /// Worst-case notional: limit or protective price times quantity, or the notional asked.
    pub(crate) notional: Money,
    pub(crate) open_orders: u32,
}

/// Returns the first limit the order would breach.
pub(crate) fn check(limits: &AccountLimits, order: &OrderExposure) -> Result<(), LimitKind> {
    if !limits.trading_enabled {
        return Err(LimitKind::TradingDisabled);
    }
    if limits.max_order_quantity.is_some_and(|max| order.quantity > max) {
        return Err(LimitKind::MaxOrderQuantity);
    }
    if limits.max_order_notional.is_some_and(|max| order.notional > max) {
        return Err(LimitKind::MaxOrderNotional);
    }
    if limits.max_open_orders.is_some_and(|max| order.open_orders >= max) {
        return Err(LimitKind::MaxOpenOrders);
    }
    Ok(())
}
