//! Events: the only output of the engine, a pure function of the commands applied.

use tradecraft_types::{AccountId, ClientOrderId, Money, OrderId, Price, Quantity, Side, Symbol, TradeId, TransactionId};

use crate::command::{AccountKind, Amount, ExitLeg, OrderClass, OrderKind, SelfTradePrevention, TimeInForce, Trail};
use crate::limits::{LimitKind, LimitScope};

/// Something that happened inside the engine, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A keyed order repeated within its key's window: nothing was placed; `original` is
    /// the order the key's first command placed, and `rejected` why it was refused, if it was.
    OrderRepeated {
        order_id: OrderId,
        account: AccountId,
        original: OrderId,
        rejected: Option<RejectReason>,
    },
    InstrumentListed {
        symbol: Symbol,
    },
    InstrumentHalted {
        symbol: Symbol,
    },
    /// The market opened ([`crate::Command::OpenSession`]) after being closed.
    SessionOpened {
        symbol: Symbol,
    },
    /// The market closed: only at-the-open and at-the-close orders are taken.
    SessionClosed {
        symbol: Symbol,
    },
    InstrumentResumed {
        symbol: Symbol,
    },
    AccountCreated {
        account: AccountId,
        kind: AccountKind,
    },
    Deposited {
        account: AccountId,
        transaction: TransactionId,
        amount: Amount,
    },
    Withdrawn {
        account: AccountId,
        transaction: TransactionId,
        amount: Amount,
    },
    /// A deposit or withdrawal whose transaction id was already applied with the same content.
    TransferAlreadyApplied {
        account: AccountId,
        transaction: TransactionId,
    },
    LimitsSet {
        scope: LimitScope,
    },
    MembershipSet {
        account: AccountId,
        group: Option<u64>,
        organisation: Option<u64>,
    },
    /// A command other than a new order was refused; nothing changed.
    CommandRejected {
        account: Option<AccountId>,
        order_id: Option<OrderId>,
        reason: RejectReason,
    },
    /// A new order was refused; nothing changed.
    OrderRejected {
        order_id: OrderId,
        account: AccountId,
        symbol: Symbol,
        side: Side,
        /// As requested; zero for an order sized by notional.
        quantity: Quantity,
        reason: RejectReason,
    },
    OrderAccepted(AcceptedOrder),
    /// A contingent order was accepted (right after its order's `OrderAccepted`): its exit
    /// legs wait, held, until the entry fills (OCO: the stop-loss activates at once).
    ContingentAccepted {
        order_id: OrderId,
        account: AccountId,
        symbol: Symbol,
        class: OrderClass,
        take_profit: Option<ExitLeg>,
        stop_loss: Option<ExitLeg>,
    },
    /// An active exit leg's quantity grew with its entry's fills (same price, same priority).
    LegResized {
        order_id: OrderId,
        account: AccountId,
        symbol: Symbol,
        quantity: Quantity,
        filled: Quantity,
    },
    /// A held exit leg that will never activate: its entry ended with nothing filled, was
    /// cancelled, or the other exit went first.
    LegCancelled {
        order_id: OrderId,
        account: AccountId,
        symbol: Symbol,
        entry: OrderId,
    },
    /// An order taken while its market was closed enters the market at the open: it trades
    /// or rests from now, with the time priority of an order placed now.
    OrderReleased {
        order_id: OrderId,
        account: AccountId,
        symbol: Symbol,
    },
    /// A stop order's trigger was reached; it now trades as a market or limit order.
    OrderTriggered {
        order_id: OrderId,
        account: AccountId,
        symbol: Symbol,
        stop_price: Price,
    },
    Trade(Trade),
    OrderReplaced {
        order_id: OrderId,
        account: AccountId,
        symbol: Symbol,
        /// The limit price; none for a stop (market) order.
        price: Option<Price>,
        /// A waiting stop's trigger price (stop, stop-limit and trailing stop orders only).
        stop_price: Option<Price>,
        /// A trailing stop's trail.
        trail: Option<Trail>,
        quantity: Quantity,
        /// Filled so far (unchanged by the replace).
        filled: Quantity,
        priority_kept: bool,
        /// The order's new client order id, if the replace gave it one (boxed once more:
        /// renames are rare, and a thin pointer keeps this variant, and so every event, small).
        client_order_id: Option<Box<ClientOrderId>>,
        /// The order's new time in force, if the replace changed it.
        time_in_force: Option<TimeInForce>,
    },
    /// The order left the engine: nothing of it remains open or reserved.
    OrderDone {
        order_id: OrderId,
        account: AccountId,
        symbol: Symbol,
        side: Side,
        reason: DoneReason,
        filled: Quantity,
    },
    /// Best bid and offer after a command changed them.
    BestBidOffer {
        symbol: Symbol,
        sequence: u64,
        bid: Option<BookLevel>,
        ask: Option<BookLevel>,
    },
}

/// An accepted order as it entered the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedOrder {
    pub order_id: OrderId,
    pub account: AccountId,
    pub symbol: Symbol,
    pub side: Side,
    pub kind: OrderKind,
    pub time_in_force: TimeInForce,
    /// Zero for orders sized by notional.
    pub quantity: Quantity,
    pub notional: Option<Money>,
    pub client_order_id: Option<ClientOrderId>,
    /// Cash (buys) reserved at acceptance; shares for sells are `quantity`.
    pub reserved_cash: Money,
    /// Refused rather than taking liquidity, as asked.
    pub post_only: bool,
    /// As asked; `None` took the engine's default.
    pub self_trade_prevention: Option<SelfTradePrevention>,
}

/// One fill between a resting maker and an incoming taker, at the maker's price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade {
    pub trade_id: TradeId,
    pub symbol: Symbol,
    /// Market-data sequence number of the symbol.
    pub sequence: u64,
    pub price: Price,
    pub quantity: Quantity,
    pub taker_side: Side,
    pub taker_order_id: OrderId,
    pub taker_account: AccountId,
    pub maker_order_id: OrderId,
    pub maker_account: AccountId,
    pub taker_fee: Money,
    pub maker_fee: Money,
}

/// Aggregated resting quantity at one price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookLevel {
    pub price: Price,
    pub quantity: Quantity,
    pub orders: u32,
}

/// Why an order left the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DoneReason {
    Filled,
    Cancelled,
    /// A DAY order at the end of its session.
    Expired,
    /// IOC or market remainder that found no more liquidity.
    Unfilled,
    /// FOK that could not fill completely, so nothing traded.
    FillOrKillUnfillable,
    SelfTradePrevented,
}

/// Why a command was refused. Maps onto seed 000's execution statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    InsufficientFunds,
    InsufficientShares,
    UnknownSymbol,
    UnknownAccount,
    UnknownOrder,
    InstrumentHalted,
    InstrumentExists,
    AccountExists,
    InvalidQuantity,
    QuantityOffLot,
    QuantityBelowMinimum,
    InvalidPrice,
    PriceOffTick,
    InvalidInstrument,
    DuplicateOrderId,
    DuplicateClientOrderId,
    /// Same transaction id, different content.
    TransactionConflict,
    PostOnlyWouldCross,
    NoLiquidity,
    /// A trailing stop needs a last trade price to trail.
    NoReferencePrice,
    NotionalTooLarge,
    /// A combination of fields the engine does not accept (e.g. a notional limit order).
    InvalidOrder,
    /// Only resting limit orders can be replaced.
    NotReplaceable,
    LimitBreached(LimitKind),
    /// An idempotency key already used for another order within its window.
    IdempotencyConflict,
    /// The market is closed (outside its session); at-the-open orders are taken.
    MarketClosed,
}

/// Seed 000 section 4.3 status of a rejected order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureStatus {
    InsufficientFunds,
    InsufficientShares,
    Other,
}

impl FailureStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InsufficientFunds => "FAILED_INSUFFICIENT_FUNDS",
            Self::InsufficientShares => "FAILED_INSUFFICIENT_SHARES",
            Self::Other => "FAILED_OTHER",
        }
    }
}

impl RejectReason {
    pub const fn failure_status(self) -> FailureStatus {
        match self {
            Self::InsufficientFunds => FailureStatus::InsufficientFunds,
            Self::InsufficientShares => FailureStatus::InsufficientShares,
            _ => FailureStatus::Other,
        }
    }

    /// Stable machine-readable code, e.g. for `failureReason` and API error codes.
    pub const fn code(self) -> &'static str {
        match self {
            Self::InsufficientFunds => "insufficient_funds",
            Self::InsufficientShares => "insufficient_shares",
            Self::UnknownSymbol => "unknown_symbol",
            Self::UnknownAccount => "unknown_account",
            Self::UnknownOrder => "unknown_order",
            Self::InstrumentHalted => "instrument_halted",
            Self::InstrumentExists => "instrument_exists",
            Self::AccountExists => "account_exists",
            Self::InvalidQuantity => "invalid_quantity",
            Self::QuantityOffLot => "quantity_off_lot",
            Self::QuantityBelowMinimum => "quantity_below_minimum",
            Self::InvalidPrice => "invalid_price",
            Self::PriceOffTick => "price_off_tick",
            Self::InvalidInstrument => "invalid_instrument",
            Self::DuplicateOrderId => "duplicate_order_id",
            Self::DuplicateClientOrderId => "duplicate_client_order_id",
            Self::TransactionConflict => "transaction_conflict",
            Self::PostOnlyWouldCross => "post_only_would_cross",
            Self::NoLiquidity => "no_liquidity",
            Self::NoReferencePrice => "no_reference_price",
            Self::NotionalTooLarge => "notional_too_large",
            Self::InvalidOrder => "invalid_order",
            Self::NotReplaceable => "not_replaceable",
            Self::LimitBreached(kind) => kind.code(),
            Self::IdempotencyConflict => "idempotency_key_reused",
            Self::MarketClosed => "market_closed",
        }
    }

    /// Every reason, for reading one back from its code.
    const SIMPLE: [Self; 25] = [
        Self::InsufficientFunds,
        Self::InsufficientShares,
        Self::UnknownSymbol,
        Self::UnknownAccount,
        Self::UnknownOrder,
        Self::InstrumentHalted,
        Self::InstrumentExists,
        Self::AccountExists,
        Self::InvalidQuantity,
        Self::QuantityOffLot,
        Self::QuantityBelowMinimum,
        Self::InvalidPrice,
        Self::PriceOffTick,
        Self::InvalidInstrument,
        Self::DuplicateOrderId,
        Self::DuplicateClientOrderId,
        Self::TransactionConflict,
        Self::PostOnlyWouldCross,
        Self::NoLiquidity,
        Self::NoReferencePrice,
        Self::NotionalTooLarge,
        Self::InvalidOrder,
        Self::NotReplaceable,
        Self::IdempotencyConflict,
        Self::MarketClosed,
    ];

    /// The reason with this [`code`](Self::code).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::SIMPLE
            .into_iter()
            .find(|reason| reason.code() == code)
            .or_else(|| LimitKind::ALL.into_iter().find(|kind| kind.code() == code).map(Self::LimitBreached))
    }
}
