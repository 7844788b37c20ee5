//! The `trade_orders` command payloads on the wire (JSON, camelCase), and their checked
//! conversion into engine commands. Seed 000 section 4.2's order fields (`orderId`,
//! `userId`, `symbol`, `quantity` as a decimal string, `side`, `orderTimestamp`) extended
//! with the order types, time in force and account and instrument commands.
//!
//! Ids travel as decimal strings (JavaScript clients lose precision above 2^53); prices,
//! quantities and money as decimal strings, parsed exactly.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tradecraft_engine::{
    AccountKind, AccountLimits, Amount, Command, ContingentOrder, ExitLeg, IdempotencyKey, InstrumentSpec, LimitScope, NewOrder, OrderClass, OrderKind,
    OrderSize, OrderTypes, QuoteOrder, SelfTradePrevention, TimeInForce, TradingHours, Trail,
};
use tradecraft_types::{AccountId, ClientOrderId, Money, OrderId, Price, Quantity, Side, Symbol, TransactionId};

/// Why a payload is not a valid command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct WireError {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl std::fmt::Display) -> WireError {
    WireError { field, message: message.to_string() }
}

fn id(field: &'static str, text: &str) -> Result<u64, WireError> {
    text.parse().map_err(|_| invalid(field, format!("{text:?} is not a numeric id")))
}

/// The engine's form of an idempotency key: the first 128 bits of its SHA-256.
pub fn key_digest(key: &str) -> u128 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    digest[..16].iter().fold(0_u128, |value, byte| (value << 8) | u128::from(*byte))
}

fn symbol(text: &str) -> Result<Symbol, WireError> {
    Symbol::new(text).map_err(|error| invalid("symbol", error))
}

fn price(field: &'static str, text: &str) -> Result<Price, WireError> {
    Price::parse(text).map_err(|error| invalid(field, error))
}

/// A trail given as `trailAmount` or `trailPercent` (with up to two decimals, as basis
/// points); none when neither is given.
fn trail(amount: Option<&str>, percent: Option<&str>) -> Result<Option<Trail>, WireError> {
    match (amount, percent) {
        (None, None) => Ok(None),
        (Some(amount), None) => Ok(Some(Trail::Amount(price("trailAmount", amount)?))),
        (None, Some(percent)) => {
            let value = Price::parse(percent).map_err(|error| invalid("trailPercent", error))?;
            if value.raw() % 100 != 0 || value.raw() <= 0 {
                return Err(invalid("trailPercent", "a positive percent with at most 2 decimals"));
            }
            Trail::percent(value).map(Some).ok_or_else(|| invalid("trailPercent", "too large"))
        }
        (Some(_), Some(_)) => Err(invalid("trailAmount", "give exactly one of trailAmount and trailPercent")),
    }
}

fn quantity(field: &'static str, text: &str) -> Result<Quantity, WireError> {
    Quantity::parse(text).map_err(|error| invalid(field, error))
}

fn money(field: &'static str, text: &str) -> Result<Money, WireError> {
    Money::parse(text).map_err(|error| invalid(field, error))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WireSide {
    Buy,
    Sell,
}

impl WireSide {
    fn engine(self) -> Side {
        match self {
            Self::Buy => Side::Buy,
            Self::Sell => Side::Sell,
        }
    }
}

impl From<Side> for WireSide {
    fn from(side: Side) -> Self {
        match side {
            Side::Buy => Self::Buy,
            Side::Sell => Self::Sell,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WireOrderType {
    #[default]
    Market,
    Limit,
    Stop,
    StopLimit,
    TrailingStop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WireTimeInForce {
    #[default]
    Gtc,
    Day,
    Ioc,
    Fok,
    /// At the open (Alpaca's `opg`): waits for the session to open, then trades as IOC.
    Opg,
    /// At the close (Alpaca's `cls`): waits for the session's end, then trades as IOC.
    Cls,
}

impl WireTimeInForce {
    fn engine(self) -> TimeInForce {
        match self {
            Self::Gtc => TimeInForce::GoodTillCancel,
            Self::Day => TimeInForce::Day,
            Self::Ioc => TimeInForce::ImmediateOrCancel,
            Self::Fok => TimeInForce::FillOrKill,
            Self::Opg => TimeInForce::AtTheOpen,
            Self::Cls => TimeInForce::AtTheClose,
        }
    }
}

fn client_order_id(text: Option<&str>) -> Result<Option<ClientOrderId>, WireError> {
    text.map(|text| ClientOrderId::new(text).map_err(|error| invalid("clientOrderId", error))).transpose()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WireSelfTradePrevention {
    CancelResting,
    CancelTaking,
    CancelBoth,
}

/// A new order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrder {
    /// Absent: the order takes its command's offset in `trade_orders` as its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    pub user_id: String,
    pub symbol: String,
    pub side: WireSide,
    #[serde(default, rename = "type")]
    pub order_type: WireOrderType,
    /// Shares; absent for a market buy sized by `notional`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notional: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail_amount: Option<String>,
    /// Percent, e.g. "1.5".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail_percent: Option<String>,
    #[serde(default)]
    pub time_in_force: WireTimeInForce,
    #[serde(default)]
    pub post_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_trade_prevention: Option<WireSelfTradePrevention>,
    /// When the gateway accepted the order (ISO 8601).
    pub order_timestamp: String,
    /// The client's idempotency key, scoped to the caller (`{caller}:{key}`): within 24
    /// hours a repeat gets the first outcome and another order with it is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// What the gateway understood the order to be (a digest of its fields), so a repeat
    /// with other fields is told from a retry. Present with `idempotencyKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Absent: a simple order. With `takeProfit` and/or `stopLoss` (see
    /// [`WireOrderClass`]); the legs' ids derive from the order's ([`leg_order_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_class: Option<WireOrderClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take_profit: Option<WireExitLeg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_loss: Option<WireExitLeg>,
}

/// How a contingent order's orders depend on each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WireOrderClass {
    /// Entry with take profit and stop loss; the exits activate as the entry fills.
    Bracket,
    /// Entry with one exit.
    Oto,
    /// A limit exit (the order itself) and a stop-loss exit; the first to fill cancels the other.
    Oco,
}

/// An exit leg: a take profit's `limitPrice`, or a stop loss's `stopPrice` (and
/// `limitPrice` for a stop limit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WireExitLeg {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<String>,
}

/// Which exit of a contingent order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegRole {
    TakeProfit,
    StopLoss,
}

/// The id of a contingent order's exit leg: its order's id with a high bit set (order ids
/// are command offsets, far below 2^61), so it is known before the engine runs and stays
/// below 2^63 (ids are stored as signed 64-bit integers).
pub fn leg_order_id(order_id: OrderId, role: LegRole) -> OrderId {
    OrderId(
        order_id.0
            | match role {
                LegRole::TakeProfit => 1 << 61,
                LegRole::StopLoss => 1 << 62,
            },
    )
}

/// The order a leg id belongs to, and which leg it is.
pub fn leg_parent(order_id: OrderId) -> Option<(OrderId, LegRole)> {
    match order_id.0 >> 61 {
        1 => Some((OrderId(order_id.0 & !(1 << 61)), LegRole::TakeProfit)),
        2 => Some((OrderId(order_id.0 & !(1 << 62)), LegRole::StopLoss)),
        _ => None,
    }
}

/// The transaction id of the opening cash of the account created at `offset` (2^62 set,
/// apart from resets' and other transfers' ids; a registration's later deposit takes the
/// same form, 2^62 + its account id, which is its own command's offset).
pub fn opening_transaction(offset: u64) -> TransactionId {
    TransactionId(offset | (1 << 62))
}

/// One quote of a [`WireCommand::Requote`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WireQuote {
    pub side: WireSide,
    pub quantity: String,
    pub limit_price: String,
}

/// The most quotes one [`WireCommand::Requote`] may hold.
pub const QUOTES_MAX: usize = 128;

/// The id of the `index`th order (from 0) of the re-quote at `offset`: the offset with the
/// index plus one in bits 48 to 59, so ids stay unique (offsets are below 2^44, enforced
/// here) and apart from exit legs' (bits 61 and 62, [`leg_order_id`]).
pub fn quote_order_id(offset: u64, index: usize) -> OrderId {
    OrderId(((index as u64 + 1) << 48) | offset)
}

/// A set of trading limits (for an account, a group or an organisation); absent fields
/// are unlimited. Quantities, money and prices are decimal strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
// Unknown limits are refused here, unlike unknown event fields: an engine that ignored a
// limit a newer gateway wrote would not enforce it.
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WireLimits {
    #[serde(default = "enabled")]
    pub trading_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_order_quantity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_order_notional: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_orders: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_position: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_gross_exposure: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_daily_notional: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_daily_loss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_orders_per_minute: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_trades_per_day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_symbols: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_symbols: Vec<String>,
    /// `MARKET`, `LIMIT`, `STOP`, `STOP_LIMIT`, `TRAILING_STOP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_order_types: Option<Vec<String>>,
    /// `HH:MM-HH:MM`, UTC; wraps past midnight when the end is earlier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trading_hours: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_share_price: Option<String>,
    /// Percent of the cash deposited, e.g. "25" or "12.5" (two decimals at most).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_symbol_share_percent: Option<String>,
}

/// No limits: trading enabled, nothing capped.
impl Default for WireLimits {
    fn default() -> Self {
        Self::from_limits(&AccountLimits::default())
    }
}

fn minute_of_day(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    let (hours, minutes): (u16, u16) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours < 24 && minutes < 60 && text.len() == 5).then_some(hours * 60 + minutes)
}

impl WireLimits {
    /// The wire form of `limits` (what `to_limits` reads back).
    pub fn from_limits(limits: &AccountLimits) -> Self {
        let names = |list: &[Symbol]| list.iter().map(|symbol| symbol.to_string()).collect::<Vec<_>>();
        let types = limits.allowed_order_types.map(|types| {
            ["MARKET", "LIMIT", "STOP", "STOP_LIMIT", "TRAILING_STOP"]
                .into_iter()
                .filter(|name| OrderTypes::bit(name).is_some_and(|bit| types.contains(bit)))
                .map(str::to_owned)
                .collect()
        });
        let minute = |minute: u16| format!("{:02}:{:02}", minute / 60, minute % 60);
        Self {
            trading_enabled: limits.trading_enabled,
            max_order_quantity: limits.max_order_quantity.map(|value| value.to_string()),
            max_order_notional: limits.max_order_notional.map(|value| value.to_string()),
            max_open_orders: limits.max_open_orders,
            max_position: limits.max_position.map(|value| value.to_string()),
            max_gross_exposure: limits.max_gross_exposure.map(|value| value.to_string()),
            max_daily_notional: limits.max_daily_notional.map(|value| value.to_string()),
            max_daily_loss: limits.max_daily_loss.map(|value| value.to_string()),
            max_orders_per_minute: limits.max_orders_per_minute,
            max_trades_per_day: limits.max_trades_per_day,
            allowed_symbols: limits.allowed_symbols.as_deref().map(names),
            blocked_symbols: names(&limits.blocked_symbols),
            allowed_order_types: types,
            trading_hours: limits.trading_hours.map(|hours| format!("{}-{}", minute(hours.start_minute), minute(hours.end_minute))),
            min_share_price: limits.min_share_price.map(|value| value.to_string()),
            max_symbol_share_percent: limits.max_symbol_share_bps.map(|bps| Price::from_raw(i64::from(bps) * 100).to_string()),
        }
    }

    pub fn to_limits(&self) -> Result<AccountLimits, WireError> {
        let symbols = |field: &'static str, list: &[String]| -> Result<Vec<Symbol>, WireError> {
            list.iter().map(|text| Symbol::new(text).map_err(|error| invalid(field, error))).collect()
        };
        let quantity_of = |field, text: &Option<String>| text.as_deref().map(|text| quantity(field, text)).transpose();
        let money_of = |field, text: &Option<String>| text.as_deref().map(|text| money(field, text)).transpose();
        let allowed_order_types = self
            .allowed_order_types
            .as_ref()
            .map(|names| {
                names.iter().try_fold(0_u8, |all, name| {
                    OrderTypes::bit(name).map(|bit| all | bit).ok_or_else(|| invalid("allowedOrderTypes", format!("unknown order type {name:?}")))
                })
            })
            .transpose()?
            .map(OrderTypes);
        let trading_hours = self
            .trading_hours
            .as_deref()
            .map(|text| {
                let window = text.split_once('-').and_then(|(start, end)| Some((minute_of_day(start)?, minute_of_day(end)?)));
                match window {
                    Some((start, end)) if start != end => Ok(TradingHours { start_minute: start, end_minute: end }),
                    _ => Err(invalid("tradingHours", format!("{text:?} is not HH:MM-HH:MM with different ends"))),
                }
            })
            .transpose()?;
        let max_symbol_share_bps = self
            .max_symbol_share_percent
            .as_deref()
            .map(|text| {
                let percent = Price::parse(text).map_err(|error| invalid("maxSymbolSharePercent", error))?;
                let bps = percent.raw();
                if bps % 100 != 0 || !percent.is_positive() || bps > 100 * 1_000_000 {
                    return Err(invalid("maxSymbolSharePercent", "a positive percent with at most two decimals"));
                }
                Ok((bps / 100) as u32)
            })
            .transpose()?;
        Ok(AccountLimits {
            trading_enabled: self.trading_enabled,
            max_order_quantity: quantity_of("maxOrderQuantity", &self.max_order_quantity)?,
            max_order_notional: money_of("maxOrderNotional", &self.max_order_notional)?,
            max_open_orders: self.max_open_orders,
            max_position: quantity_of("maxPosition", &self.max_position)?,
            max_gross_exposure: money_of("maxGrossExposure", &self.max_gross_exposure)?,
            max_daily_notional: money_of("maxDailyNotional", &self.max_daily_notional)?,
            max_daily_loss: money_of("maxDailyLoss", &self.max_daily_loss)?,
            max_orders_per_minute: self.max_orders_per_minute,
            max_trades_per_day: self.max_trades_per_day,
            allowed_symbols: self.allowed_symbols.as_deref().map(|list| symbols("allowedSymbols", list)).transpose()?,
            blocked_symbols: symbols("blockedSymbols", &self.blocked_symbols)?,
            allowed_order_types,
            trading_hours,
            min_share_price: self.min_share_price.as_deref().map(|text| price("minSharePrice", text)).transpose()?,
            max_symbol_share_bps,
        })
    }
}

fn enabled() -> bool {
    true
}

/// Every command of the `trade_orders` topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "command", rename_all = "camelCase")]
pub enum WireCommand {
    PlaceOrder(PlaceOrder),
    #[serde(rename_all = "camelCase")]
    CancelOrder {
        order_id: String,
        user_id: String,
    },
    #[serde(rename_all = "camelCase")]
    ReplaceOrder {
        order_id: String,
        user_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quantity: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit_price: Option<String>,
        /// A waiting stop or stop-limit order's new trigger price.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stop_price: Option<String>,
        /// A waiting trailing stop's new trail: an amount, or a percent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trail_amount: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trail_percent: Option<String>,
        /// The order's new client order id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_order_id: Option<String>,
        /// The order's new time in force: `GTC` or `DAY`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_in_force: Option<WireTimeInForce>,
    },
    #[serde(rename_all = "camelCase")]
    CancelAll {
        user_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        symbol: Option<String>,
    },
    /// A market maker's ladder in `symbol` replaced in one step: the account's open orders
    /// there cancelled, then each quote placed as a good-till-cancelled limit order, with
    /// the book's top published once, at the end. The orders' ids derive from the
    /// command's offset ([`quote_order_id`]); at most [`QUOTES_MAX`] quotes.
    #[serde(rename_all = "camelCase")]
    Requote {
        user_id: String,
        symbol: String,
        quotes: Vec<WireQuote>,
    },
    /// `userId` absent: the account takes its command's offset as its id. With `cash`, the
    /// account opens with that cash deposited in the same step (transaction id
    /// [`opening_transaction`] of the command's offset).
    #[serde(rename_all = "camelCase")]
    CreateAccount {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
        #[serde(default)]
        house: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cash: Option<String>,
    },
    /// `symbol` absent moves cash; present moves shares of that symbol.
    #[serde(rename_all = "camelCase")]
    Deposit {
        user_id: String,
        transaction_id: String,
        amount: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        symbol: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Withdraw {
        user_id: String,
        transaction_id: String,
        amount: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        symbol: Option<String>,
    },
    /// Starts an account over in one step: its orders cancelled, its shares and cash
    /// withdrawn, `cash` deposited. The transfers' ids come from the command's offset.
    #[serde(rename_all = "camelCase")]
    ResetAccount {
        user_id: String,
        cash: String,
    },
    #[serde(rename_all = "camelCase")]
    ListInstrument {
        symbol: String,
        tick_size: String,
        lot_size: String,
        min_quantity: String,
        price_band_bps: u32,
    },
    HaltInstrument {
        symbol: String,
    },
    ResumeInstrument {
        symbol: String,
    },
    EndOfSession {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        symbol: Option<String>,
    },
    /// The market opens (absent symbol: every instrument); at-the-open orders trade.
    OpenSession {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        symbol: Option<String>,
    },
    /// The market closes until it opens again: only OPG and CLS orders are taken.
    CloseSession {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        symbol: Option<String>,
    },
    /// Limits for exactly one of: an account (`userId`), a group, an organisation.
    #[serde(rename_all = "camelCase")]
    SetLimits {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        organisation_id: Option<String>,
        limits: WireLimits,
    },
    /// Puts an account in a group and an organisation (absent: none).
    #[serde(rename_all = "camelCase")]
    SetMembership {
        user_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        organisation_id: Option<String>,
    },
}

/// The engine command an enveloped `trade_orders` record at `offset` holds: its payload's,
/// wrapped in [`Command::Keyed`] when the envelope names the idempotency key of the
/// request that sent it (an order carries its own key in its payload and is not wrapped).
pub fn keyed_command(envelope: &tradecraft_log::Envelope<WireCommand>, offset: u64) -> Result<Command, WireError> {
    let command = envelope.payload.to_command(offset)?;
    Ok(match &envelope.idempotency_key {
        Some(key) if !matches!(envelope.payload, WireCommand::PlaceOrder(_)) => Command::Keyed { key: key_digest(key), command: Box::new(command) },
        _ => command,
    })
}

impl WireCommand {
    /// Every envelope `eventType` a command can have.
    pub const EVENT_TYPES: [&'static str; 17] = [
        "order.placed",
        "order.cancel_requested",
        "order.replace_requested",
        "order.cancel_all_requested",
        "order.requote_requested",
        "account.create_requested",
        "account.deposit_requested",
        "account.withdrawal_requested",
        "account.reset_requested",
        "instrument.list_requested",
        "instrument.halt_requested",
        "instrument.resume_requested",
        "session.end_requested",
        "session.open_requested",
        "session.close_requested",
        "account.limits_requested",
        "account.membership_requested",
    ];

    /// The envelope `eventType` of this command.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::PlaceOrder(_) => "order.placed",
            Self::CancelOrder { .. } => "order.cancel_requested",
            Self::ReplaceOrder { .. } => "order.replace_requested",
            Self::CancelAll { .. } => "order.cancel_all_requested",
            Self::Requote { .. } => "order.requote_requested",
            Self::CreateAccount { .. } => "account.create_requested",
            Self::Deposit { .. } => "account.deposit_requested",
            Self::Withdraw { .. } => "account.withdrawal_requested",
            Self::ResetAccount { .. } => "account.reset_requested",
            Self::ListInstrument { .. } => "instrument.list_requested",
            Self::HaltInstrument { .. } => "instrument.halt_requested",
            Self::ResumeInstrument { .. } => "instrument.resume_requested",
            Self::EndOfSession { .. } => "session.end_requested",
            Self::OpenSession { .. } => "session.open_requested",
            Self::CloseSession { .. } => "session.close_requested",
            Self::SetLimits { .. } => "account.limits_requested",
            Self::SetMembership { .. } => "account.membership_requested",
        }
    }

    /// The log key: the account for account-scoped commands, the symbol otherwise.
    pub fn key(&self) -> String {
        match self {
            Self::PlaceOrder(order) => order.user_id.clone(),
            Self::CancelOrder { user_id, .. }
            | Self::ReplaceOrder { user_id, .. }
            | Self::CancelAll { user_id, .. }
            | Self::Requote { user_id, .. }
            | Self::Deposit { user_id, .. }
            | Self::Withdraw { user_id, .. }
            | Self::ResetAccount { user_id, .. }
            | Self::SetMembership { user_id, .. } => user_id.clone(),
            Self::SetLimits { user_id, group_id, organisation_id, .. } => match (user_id, group_id, organisation_id) {
                (Some(user), _, _) => user.clone(),
                (None, Some(group), _) => format!("group:{group}"),
                (None, None, Some(organisation)) => format!("organisation:{organisation}"),
                (None, None, None) => String::new(),
            },
            Self::CreateAccount { user_id, .. } => user_id.clone().unwrap_or_default(),
            Self::ListInstrument { symbol, .. } | Self::HaltInstrument { symbol } | Self::ResumeInstrument { symbol } => symbol.clone(),
            Self::EndOfSession { symbol } | Self::OpenSession { symbol } | Self::CloseSession { symbol } => symbol.clone().unwrap_or_default(),
        }
    }

    /// Converts to an engine command, checking every field. `offset` is the command's
    /// position in `trade_orders`, the id of an order that brings none.
    pub fn to_command(&self, offset: u64) -> Result<Command, WireError> {
        let account = |text: &str| id("userId", text).map(AccountId);
        let transfer_amount = |amount: &str, symbol_text: &Option<String>| -> Result<Amount, WireError> {
            Ok(match symbol_text {
                None => Amount::Cash(money("amount", amount)?),
                Some(text) => Amount::Shares(symbol(text)?, quantity("amount", amount)?),
            })
        };
        Ok(match self {
            Self::PlaceOrder(order) => {
                let new = order.to_new_order(offset)?;
                let key = match &order.idempotency_key {
                    None => None,
                    Some(key) => {
                        let fingerprint = order.fingerprint.as_deref().unwrap_or_default();
                        let fingerprint = fingerprint.parse().map_err(|_| invalid("fingerprint", "a decimal u64, with idempotencyKey"))?;
                        Some(IdempotencyKey { key: key_digest(key), fingerprint })
                    }
                };
                match (order.contingent(&new)?, key) {
                    (Some(contingent), key) => Command::PlaceContingent { order: Box::new(contingent), key },
                    (None, None) => Command::PlaceOrder(new),
                    (None, Some(key)) => Command::PlaceOrderOnce { order: new, key },
                }
            }
            Self::CancelOrder { order_id, user_id } => Command::CancelOrder { account: account(user_id)?, order_id: OrderId(id("orderId", order_id)?) },
            Self::ReplaceOrder {
                order_id,
                user_id,
                quantity: new_quantity,
                limit_price,
                stop_price,
                trail_amount,
                trail_percent,
                client_order_id: client_id,
                time_in_force,
            } => Command::ReplaceOrder {
                account: account(user_id)?,
                order_id: OrderId(id("orderId", order_id)?),
                quantity: new_quantity.as_deref().map(|text| quantity("quantity", text)).transpose()?,
                price: limit_price.as_deref().map(|text| price("limitPrice", text)).transpose()?,
                stop_price: stop_price.as_deref().map(|text| price("stopPrice", text)).transpose()?,
                trail: trail(trail_amount.as_deref(), trail_percent.as_deref())?,
                client_order_id: client_order_id(client_id.as_deref())?,
                time_in_force: time_in_force.map(WireTimeInForce::engine),
            },
            Self::CancelAll { user_id, symbol: only } => Command::CancelAll { account: account(user_id)?, symbol: only.as_deref().map(symbol).transpose()? },
            Self::Requote { .. } if offset >> 44 != 0 => return Err(invalid("offset", "a re-quote's order ids need an offset below 2^44")),
            Self::Requote { quotes, .. } if quotes.len() > QUOTES_MAX => return Err(invalid("quotes", format!("at most {QUOTES_MAX}"))),
            Self::Requote { user_id, symbol: text, quotes } => Command::Requote {
                account: account(user_id)?,
                symbol: symbol(text)?,
                orders: quotes
                    .iter()
                    .enumerate()
                    .map(|(index, quote)| {
                        Ok(QuoteOrder {
                            order_id: quote_order_id(offset, index),
                            side: quote.side.engine(),
                            price: price("limitPrice", &quote.limit_price)?,
                            quantity: quantity("quantity", &quote.quantity)?,
                        })
                    })
                    .collect::<Result<_, WireError>>()?,
            },
            Self::CreateAccount { user_id, house, cash } => Command::CreateAccount {
                account: match user_id {
                    Some(text) => account(text)?,
                    None => AccountId(offset),
                },
                kind: if *house { AccountKind::House } else { AccountKind::Cash },
                deposit: cash.as_deref().map(|text| Ok::<_, WireError>((opening_transaction(offset), money("cash", text)?))).transpose()?,
            },
            Self::Deposit { user_id, transaction_id, amount, symbol } => Command::Deposit {
                account: account(user_id)?,
                transaction: TransactionId(id("transactionId", transaction_id)?),
                amount: transfer_amount(amount, symbol)?,
            },
            Self::Withdraw { user_id, transaction_id, amount, symbol } => Command::Withdraw {
                account: account(user_id)?,
                transaction: TransactionId(id("transactionId", transaction_id)?),
                amount: transfer_amount(amount, symbol)?,
            },
            // Ids of their own, unique because offsets are: bits 60 and 61 both set, apart
            // from the API's other transfer ids (`2^60 | ...`: resets made in several
            // commands before 1.2; `2^61 | account`: a paper account's opening cash;
            // `2^62 | ...`: a registration's).
            Self::ResetAccount { .. } if offset >> 44 != 0 => return Err(invalid("offset", "a reset's transfer ids need an offset below 2^44")),
            Self::ResetAccount { user_id, cash } => {
                Command::ResetAccount { account: account(user_id)?, first: TransactionId((0b11 << 60) | (offset << 16)), cash: money("cash", cash)? }
            }
            Self::ListInstrument { symbol: text, tick_size, lot_size, min_quantity, price_band_bps } => Command::ListInstrument(InstrumentSpec {
                symbol: symbol(text)?,
                tick_size: price("tickSize", tick_size)?,
                lot_size: quantity("lotSize", lot_size)?,
                min_quantity: quantity("minQuantity", min_quantity)?,
                price_band_bps: *price_band_bps,
            }),
            Self::HaltInstrument { symbol: text } => Command::HaltInstrument { symbol: symbol(text)? },
            Self::ResumeInstrument { symbol: text } => Command::ResumeInstrument { symbol: symbol(text)? },
            Self::EndOfSession { symbol: text } => Command::EndOfSession { symbol: text.as_deref().map(symbol).transpose()? },
            Self::OpenSession { symbol: text } => Command::OpenSession { symbol: text.as_deref().map(symbol).transpose()? },
            Self::CloseSession { symbol: text } => Command::CloseSession { symbol: text.as_deref().map(symbol).transpose()? },
            Self::SetLimits { user_id, group_id, organisation_id, limits } => Command::SetLimits {
                scope: match (user_id, group_id, organisation_id) {
                    (Some(user), None, None) => LimitScope::Account(account(user)?),
                    (None, Some(group), None) => LimitScope::Group(id("groupId", group)?),
                    (None, None, Some(organisation)) => LimitScope::Organisation(id("organisationId", organisation)?),
                    _ => return Err(invalid("userId", "give exactly one of userId, groupId, organisationId")),
                },
                limits: limits.to_limits()?,
            },
            Self::SetMembership { user_id, group_id, organisation_id } => Command::SetMembership {
                account: account(user_id)?,
                group: group_id.as_deref().map(|text| id("groupId", text)).transpose()?,
                organisation: organisation_id.as_deref().map(|text| id("organisationId", text)).transpose()?,
            },
        })
    }
}

impl PlaceOrder {
    /// A GTC limit order without an id (it takes its command's offset).
    pub fn limit(user_id: &str, symbol: &str, side: WireSide, quantity: &str, limit_price: &str, at: &str) -> Self {
        Self {
            order_id: None,
            user_id: user_id.to_owned(),
            symbol: symbol.to_owned(),
            side,
            order_type: WireOrderType::Limit,
            quantity: Some(quantity.to_owned()),
            notional: None,
            limit_price: Some(limit_price.to_owned()),
            stop_price: None,
            trail_amount: None,
            trail_percent: None,
            time_in_force: WireTimeInForce::Gtc,
            post_only: false,
            client_order_id: None,
            self_trade_prevention: None,
            order_timestamp: at.to_owned(),
            idempotency_key: None,
            fingerprint: None,
            order_class: None,
            take_profit: None,
            stop_loss: None,
        }
    }

    /// The contingent order `new` is part of, if it has a class.
    fn contingent(&self, new: &NewOrder) -> Result<Option<ContingentOrder>, WireError> {
        let Some(class) = self.order_class else {
            if self.take_profit.is_some() || self.stop_loss.is_some() {
                return Err(invalid("orderClass", "required with takeProfit or stopLoss"));
            }
            return Ok(None);
        };
        if new.order_id.0 >> 61 != 0 {
            return Err(invalid("orderId", "below 2^61 for an order with exits"));
        }
        let take_profit = self
            .take_profit
            .as_ref()
            .map(|leg| {
                let text = leg.limit_price.as_deref().ok_or_else(|| invalid("takeProfit.limitPrice", "required"))?;
                Ok(ExitLeg {
                    order_id: leg_order_id(new.order_id, LegRole::TakeProfit),
                    kind: OrderKind::Limit { price: price("takeProfit.limitPrice", text)? },
                })
            })
            .transpose()?;
        let stop_loss = self
            .stop_loss
            .as_ref()
            .map(|leg| {
                let stop_price = price("stopLoss.stopPrice", leg.stop_price.as_deref().ok_or_else(|| invalid("stopLoss.stopPrice", "required"))?)?;
                let kind = match leg.limit_price.as_deref() {
                    Some(limit) => OrderKind::StopLimit { stop_price, limit_price: price("stopLoss.limitPrice", limit)? },
                    None => OrderKind::Stop { stop_price },
                };
                Ok(ExitLeg { order_id: leg_order_id(new.order_id, LegRole::StopLoss), kind })
            })
            .transpose()?;
        let class = match class {
            WireOrderClass::Bracket => OrderClass::Bracket,
            WireOrderClass::Oto => OrderClass::OneTriggersOther,
            WireOrderClass::Oco => OrderClass::OneCancelsOther,
        };
        Ok(Some(ContingentOrder { class, order: new.clone(), take_profit, stop_loss }))
    }

    fn to_new_order(&self, offset: u64) -> Result<NewOrder, WireError> {
        let required = |field: &'static str, value: &Option<String>| -> Result<String, WireError> {
            value.clone().ok_or_else(|| invalid(field, format!("required for a {:?} order", self.order_type)))
        };
        let kind = match self.order_type {
            WireOrderType::Market => OrderKind::Market,
            WireOrderType::Limit => OrderKind::Limit { price: price("limitPrice", &required("limitPrice", &self.limit_price)?)? },
            WireOrderType::Stop => OrderKind::Stop { stop_price: price("stopPrice", &required("stopPrice", &self.stop_price)?)? },
            WireOrderType::StopLimit => OrderKind::StopLimit {
                stop_price: price("stopPrice", &required("stopPrice", &self.stop_price)?)?,
                limit_price: price("limitPrice", &required("limitPrice", &self.limit_price)?)?,
            },
            WireOrderType::TrailingStop => OrderKind::TrailingStop {
                trail: trail(self.trail_amount.as_deref(), self.trail_percent.as_deref())?
                    .ok_or_else(|| invalid("trailAmount", "give exactly one of trailAmount and trailPercent"))?,
            },
        };
        let size = match (&self.quantity, &self.notional) {
            (Some(text), None) => OrderSize::Quantity(quantity("quantity", text)?),
            (None, Some(text)) => OrderSize::Notional(money("notional", text)?),
            _ => return Err(invalid("quantity", "give exactly one of quantity and notional")),
        };
        Ok(NewOrder {
            order_id: OrderId(match &self.order_id {
                Some(text) => id("orderId", text)?,
                None => offset,
            }),
            account: AccountId(id("userId", &self.user_id)?),
            symbol: symbol(&self.symbol)?,
            side: self.side.engine(),
            kind,
            size,
            time_in_force: self.time_in_force.engine(),
            post_only: self.post_only,
            client_order_id: client_order_id(self.client_order_id.as_deref())?,
            self_trade_prevention: self.self_trade_prevention.map(|mode| match mode {
                WireSelfTradePrevention::CancelResting => SelfTradePrevention::CancelResting,
                WireSelfTradePrevention::CancelTaking => SelfTradePrevention::CancelTaking,
                WireSelfTradePrevention::CancelBoth => SelfTradePrevention::CancelBoth,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_resets_transfer_ids_are_apart_from_every_other_transfer_id_the_api_uses() {
        let reset = |offset: u64| match (WireCommand::ResetAccount { user_id: "7".to_owned(), cash: "100".to_owned() }).to_command(offset) {
            Ok(Command::ResetAccount { first, .. }) => first.0,
            other => panic!("{other:?}"),
        };
        for offset in [0, 1, 5, 65_536, (1 << 44) - 1] {
            let (first, last) = (reset(offset), reset(offset) + tradecraft_engine::RESET_TRANSFERS_MAX - 1);
            assert!(offset == (1 << 44) - 1 || last < reset(offset + 1), "two resets' ranges do not overlap");
            for id in [first, last] {
                // Bits 60 and 61 set, 62 and 63 clear: never `2^60 | o << 6 | i` (the
                // earlier resets'), `2^61 | account` (accounts below 2^60) or `2^62 | x`.
                assert_eq!(id >> 60, 0b11, "{offset}: {id:#x}");
            }
        }
        assert!((WireCommand::ResetAccount { user_id: "7".to_owned(), cash: "1".to_owned() }).to_command(1 << 44).is_err());
    }

    #[test]
    fn a_seed_shaped_order_decodes() {
        let payload = json!({
            "command": "placeOrder", "orderId": "17", "userId": "123", "symbol": "MOCKGOOG",
            "quantity": "10.5", "side": "BUY", "type": "LIMIT", "limitPrice": "1950.25",
            "timeInForce": "IOC", "clientOrderId": "bot-1", "orderTimestamp": "2025-04-02T10:35:01.450Z"
        });
        let wire: WireCommand = serde_json::from_value(payload).unwrap();
        let Command::PlaceOrder(order) = wire.to_command(99).unwrap() else { panic!("not an order") };
        assert_eq!(order.order_id, OrderId(17));
        assert_eq!(order.account, AccountId(123));
        assert_eq!(order.size, OrderSize::Quantity(Quantity::parse("10.5").unwrap()));
        assert_eq!(order.kind, OrderKind::Limit { price: Price::parse("1950.25").unwrap() });
        assert_eq!(order.time_in_force, TimeInForce::ImmediateOrCancel);
        assert_eq!(wire.key(), "123");
        assert_eq!(wire.event_type(), "order.placed");
    }

    #[test]
    fn a_requotes_orders_take_ids_of_their_own_from_its_offset() {
        let quote = |side: &str, quantity: &str, price: &str| json!({"side": side, "quantity": quantity, "limitPrice": price});
        let wire: WireCommand = serde_json::from_value(json!({"command": "requote", "userId": "1", "symbol": "MOCK",
            "quotes": [quote("BUY", "100", "99.95"), quote("SELL", "100", "100.05")]}))
        .unwrap();
        assert_eq!(wire.key(), "1");
        assert_eq!(wire.event_type(), "order.requote_requested");
        let offset = (1 << 44) - 1;
        let Command::Requote { account, symbol, orders } = wire.to_command(offset).unwrap() else { panic!("not a re-quote") };
        assert_eq!((account, symbol.as_str()), (AccountId(1), "MOCK"));
        assert_eq!(
            orders.iter().map(|order| (order.side, order.price.to_string(), order.quantity.to_string())).collect::<Vec<_>>(),
            [(Side::Buy, "99.95".to_owned(), "100".to_owned()), (Side::Sell, "100.05".to_owned(), "100".to_owned())]
        );
        // Apart from every plain order's id (an offset), each other's, other re-quotes' and
        // exit legs'; and below 2^63.
        let ids: Vec<u64> = orders.iter().map(|order| order.order_id.0).collect();
        assert_eq!(ids, [(1 << 48) | offset, (2 << 48) | offset]);
        let last = quote_order_id(offset, QUOTES_MAX - 1).0;
        assert!(last >> 44 != 0 && last >> 60 == 0 && leg_parent(OrderId(last)).is_none());
        assert_ne!(quote_order_id(offset, 0), quote_order_id(offset - 1, 0));

        assert_eq!(wire.to_command(1 << 44).unwrap_err().field, "offset");
        let many: WireCommand = serde_json::from_value(json!({"command": "requote", "userId": "1", "symbol": "MOCK",
            "quotes": vec![quote("BUY", "1", "1"); QUOTES_MAX + 1]}))
        .unwrap();
        assert_eq!(many.to_command(0).unwrap_err().field, "quotes");
        let bad: WireCommand = serde_json::from_value(json!({"command": "requote", "userId": "1", "symbol": "MOCK",
            "quotes": [quote("BUY", "1", "1.2.3")]}))
        .unwrap();
        assert_eq!(bad.to_command(0).unwrap_err().field, "limitPrice");
    }

    #[test]
    fn an_account_opens_with_its_cash_under_a_transaction_id_of_its_offset() {
        let wire: WireCommand = serde_json::from_value(json!({"command": "createAccount", "cash": "2500.5"})).unwrap();
        assert_eq!(
            wire.to_command(77).unwrap(),
            Command::CreateAccount {
                account: AccountId(77),
                kind: AccountKind::Cash,
                deposit: Some((TransactionId((1 << 62) | 77), Money::parse("2500.5").unwrap()))
            }
        );
        let bare: WireCommand = serde_json::from_value(json!({"command": "createAccount", "userId": "5"})).unwrap();
        assert_eq!(bare.to_command(78).unwrap(), Command::CreateAccount { account: AccountId(5), kind: AccountKind::Cash, deposit: None });
        assert_eq!(serde_json::to_string(&bare).unwrap(), r#"{"command":"createAccount","userId":"5","house":false}"#, "no cash field when absent");
        let bad: WireCommand = serde_json::from_value(json!({"command": "createAccount", "cash": "lots"})).unwrap();
        assert_eq!(bad.to_command(0).unwrap_err().field, "cash");
    }

    #[test]
    fn an_order_without_an_id_takes_its_offset() {
        let wire: WireCommand = serde_json::from_value(json!({"command": "placeOrder", "userId": "2",
            "symbol": "MOCK", "side": "BUY", "quantity": "1", "orderTimestamp": "2025-04-02T10:35:01.450Z"}))
        .unwrap();
        let Command::PlaceOrder(order) = wire.to_command(4_321).unwrap() else { panic!("not an order") };
        assert_eq!(order.order_id, OrderId(4_321));
    }

    #[test]
    fn encoding_round_trips() {
        let wire = WireCommand::ReplaceOrder {
            order_id: "5".to_owned(),
            user_id: "9".to_owned(),
            quantity: None,
            limit_price: Some("101.5".to_owned()),
            stop_price: None,
            trail_amount: None,
            trail_percent: None,
            client_order_id: None,
            time_in_force: None,
        };
        let text = serde_json::to_string(&wire).unwrap();
        assert_eq!(text, r#"{"command":"replaceOrder","orderId":"5","userId":"9","limitPrice":"101.5"}"#);
        assert_eq!(serde_json::from_str::<WireCommand>(&text).unwrap(), wire);
    }

    #[test]
    fn bad_fields_are_named() {
        let order = |changes: serde_json::Value| {
            let mut payload = json!({"command": "placeOrder", "orderId": "1", "userId": "2", "symbol": "MOCK",
                "side": "SELL", "quantity": "1", "orderTimestamp": "2025-04-02T10:35:01.450Z"});
            for (key, value) in changes.as_object().unwrap() {
                payload[key] = value.clone();
            }
            serde_json::from_value::<WireCommand>(payload).unwrap().to_command(0).unwrap_err().field
        };
        assert_eq!(order(json!({"orderId": "x"})), "orderId");
        assert_eq!(order(json!({"quantity": "1.00001"})), "quantity");
        assert_eq!(order(json!({"type": "LIMIT"})), "limitPrice");
        assert_eq!(order(json!({"symbol": "lower"})), "symbol");
        assert_eq!(order(json!({"notional": "5"})), "quantity");
        assert_eq!(order(json!({"type": "TRAILING_STOP", "trailPercent": "1.555"})), "trailPercent");
        assert!(serde_json::from_value::<WireCommand>(json!({"command": "placeOrder", "side": "UP"})).is_err());
    }

    #[test]
    fn trailing_percent_becomes_basis_points() {
        let wire: WireCommand = serde_json::from_value(json!({"command": "placeOrder", "orderId": "1", "userId": "2",
            "symbol": "MOCK", "side": "SELL", "quantity": "1", "type": "TRAILING_STOP", "trailPercent": "1.5",
            "orderTimestamp": "2025-04-02T10:35:01.450Z"}))
        .unwrap();
        let Command::PlaceOrder(order) = wire.to_command(0).unwrap() else { panic!("not an order") };
        assert_eq!(order.kind, OrderKind::TrailingStop { trail: Trail::Percent { basis_points: 150 } });
    }

    #[test]
    fn limits_decode_for_every_scope_and_name_their_bad_fields() {
        let limits = json!({
            "maxOrderQuantity": "100", "maxPosition": "500", "maxGrossExposure": "250000", "maxDailyNotional": "1000000",
            "maxDailyLoss": "5000", "maxOrdersPerMinute": 30, "maxTradesPerDay": 200, "allowedSymbols": ["MOCKAAPL"],
            "blockedSymbols": ["MOCKTSLA"], "allowedOrderTypes": ["LIMIT", "STOP_LIMIT"], "tradingHours": "13:30-20:00",
            "minSharePrice": "5", "maxSymbolSharePercent": "12.5"
        });
        let wire: WireCommand = serde_json::from_value(json!({"command": "setLimits", "groupId": "7", "limits": limits})).unwrap();
        let Command::SetLimits { scope, limits } = wire.to_command(0).unwrap() else { panic!("not limits") };
        assert_eq!(scope, LimitScope::Group(7));
        assert_eq!(wire.key(), "group:7");
        assert_eq!(limits.max_position, Some(Quantity::from_units(500)));
        assert_eq!(limits.trading_hours, Some(TradingHours { start_minute: 810, end_minute: 1_200 }));
        assert_eq!(limits.allowed_order_types, Some(OrderTypes(OrderTypes::LIMIT | OrderTypes::STOP_LIMIT)));
        assert_eq!(limits.max_symbol_share_bps, Some(1_250));
        assert_eq!(limits.blocked_symbols, vec![Symbol::new("MOCKTSLA").unwrap()]);
        assert!(limits.trading_enabled);

        let bad = |scope: serde_json::Value, limits: serde_json::Value| -> WireError {
            let mut command = json!({"command": "setLimits", "limits": limits});
            command.as_object_mut().unwrap().extend(scope.as_object().unwrap().clone());
            let wire: WireCommand = serde_json::from_value(command).unwrap();
            wire.to_command(0).unwrap_err()
        };
        assert_eq!(bad(json!({"userId": "1"}), json!({"tradingHours": "9-17"})).field, "tradingHours");
        assert_eq!(bad(json!({"userId": "1"}), json!({"tradingHours": "09:00-09:00"})).field, "tradingHours");
        assert_eq!(bad(json!({"userId": "1"}), json!({"maxSymbolSharePercent": "12.345"})).field, "maxSymbolSharePercent");
        assert_eq!(bad(json!({"userId": "1"}), json!({"allowedOrderTypes": ["ICEBERG"]})).field, "allowedOrderTypes");
        assert_eq!(bad(json!({"userId": "1"}), json!({"blockedSymbols": ["bad symbol!"]})).field, "blockedSymbols");
        assert_eq!(bad(json!({"userId": "1", "groupId": "2"}), json!({})).field, "userId");
        assert_eq!(bad(json!({}), json!({})).field, "userId");
        let unknown = serde_json::from_value::<WireCommand>(json!({"command": "setLimits", "userId": "1", "limits": {"maxLeverage": "2"}}));
        assert!(unknown.is_err(), "a limit this version does not know is refused, not ignored");

        assert_eq!(WireLimits::from_limits(&limits).to_limits().unwrap(), limits, "the wire form round-trips");

        let member: WireCommand = serde_json::from_value(json!({"command": "setMembership", "userId": "3", "organisationId": "9"})).unwrap();
        assert_eq!(member.to_command(0).unwrap(), Command::SetMembership { account: AccountId(3), group: None, organisation: Some(9) });
    }
}
