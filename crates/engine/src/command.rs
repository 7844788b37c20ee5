//! Commands: the only input of the engine, applied in log order.

use tradecraft_types::{AccountId, ClientOrderId, Money, OrderId, Price, Quantity, Side, Symbol, TransactionId};

use crate::limits::{AccountLimits, LimitScope};

/// One instruction to the engine. Each is applied atomically: it either takes full effect
/// or is rejected with a reason and changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    ListInstrument(InstrumentSpec),
    HaltInstrument {
        symbol: Symbol,
    },
    ResumeInstrument {
        symbol: Symbol,
    },
    /// A new account, and with `deposit` its opening cash deposited under that transaction
    /// id in the same step (refused whole, creating nothing, if the id was used before or
    /// the amount is not positive): no account is ever left open but unfunded.
    CreateAccount {
        account: AccountId,
        kind: AccountKind,
        deposit: Option<(TransactionId, Money)>,
    },
    /// Idempotent by `transaction`: a repeat with the same content changes nothing.
    Deposit {
        account: AccountId,
        transaction: TransactionId,
        amount: Amount,
    },
    /// Idempotent by `transaction`, like deposits.
    Withdraw {
        account: AccountId,
        transaction: TransactionId,
        amount: Amount,
    },
    /// Starts an account over, in one step so that nothing (an order, another reset) comes
    /// between its parts: every open order is cancelled, every share and all cash it has
    /// is withdrawn, then `cash` is deposited. The transfers take the ids `first`,
    /// `first + 1`, ... (at most [`RESET_TRANSFERS_MAX`]); refused, changing nothing, if
    /// one of them was used before.
    ResetAccount {
        account: AccountId,
        first: TransactionId,
        cash: Money,
    },
    /// Limits for an account, a group or an organisation (replacing what it had).
    SetLimits {
        scope: LimitScope,
        limits: AccountLimits,
    },
    /// Puts an account in a group and an organisation (`None`: in none).
    SetMembership {
        account: AccountId,
        group: Option<u64>,
        organisation: Option<u64>,
    },
    PlaceOrder(NewOrder),
    /// A new order with a client's idempotency key: within [`IDEMPOTENCY_WINDOW_NANOS`] of the
    /// first command with the key, a repeat with the same fingerprint gets the first
    /// outcome again ([`crate::Event::OrderRepeated`]) and one with another fingerprint is
    /// refused; neither places anything.
    PlaceOrderOnce {
        order: NewOrder,
        key: IdempotencyKey,
    },
    /// A bracket, OTO or OCO order: an order and the exit legs it carries (see
    /// [`ContingentOrder`]); with a key, idempotent as [`Command::PlaceOrderOnce`].
    PlaceContingent {
        order: Box<ContingentOrder>,
        key: Option<IdempotencyKey>,
    },
    CancelOrder {
        account: AccountId,
        order_id: OrderId,
    },
    /// `command`, sent for an API request that holds an idempotency key (other than an
    /// order, which carries its own): applied as it is, and if it takes effect (nothing in
    /// it is refused) the key's digest is remembered for [`IDEMPOTENCY_WINDOW_NANOS`] as
    /// spent by a request, so a retry of that request is known to be applied whatever
    /// became of its first attempt (see `Engine::key_use`).
    Keyed {
        key: u128,
        command: Box<Command>,
    },
    /// New total quantity and/or new limit price of a resting limit order; or new total
    /// quantity, stop price and/or limit price of a stop or stop-limit order waiting for
    /// its trigger; or new total quantity and/or trail of a waiting trailing stop. Any of
    /// them (but an exit leg of a contingent order) may also take a new client order id
    /// (unique among the account's open orders) and a new time in force, `Gtc` or `Day`;
    /// those alone keep its place.
    ReplaceOrder {
        account: AccountId,
        order_id: OrderId,
        quantity: Option<Quantity>,
        price: Option<Price>,
        stop_price: Option<Price>,
        trail: Option<Trail>,
        client_order_id: Option<ClientOrderId>,
        time_in_force: Option<TimeInForce>,
    },
    /// Cancels every open order of the account, or only those in `symbol`.
    CancelAll {
        account: AccountId,
        symbol: Option<Symbol>,
    },
    /// Replaces the account's orders in `symbol` with a ladder of good-till-cancelled limit
    /// orders, as one step (a market maker's re-quote): every open order of the account in
    /// `symbol` is cancelled, then each of `orders` is placed, and the top of the book is
    /// published once, at the end, so no reader sees the book between the two ladders
    /// (one side empty). Each part is refused or done as it would be on its own: an order
    /// refused does not stop the others.
    Requote {
        account: AccountId,
        symbol: Symbol,
        orders: Vec<QuoteOrder>,
    },
    /// Ends the trading session, in one instrument or in all: at-the-close orders trade
    /// (each as IOC), then DAY orders expire.
    EndOfSession {
        symbol: Option<Symbol>,
    },
    /// Opens the market: orders are taken again and at-the-open orders trade (each as IOC).
    OpenSession {
        symbol: Option<Symbol>,
    },
    /// Closes the market until [`Command::OpenSession`]: only at-the-open and
    /// at-the-close orders are taken; resting orders stay.
    CloseSession {
        symbol: Option<Symbol>,
    },
}

/// One order of a [`Command::Requote`]: a good-till-cancelled limit order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuoteOrder {
    pub order_id: OrderId,
    pub side: Side,
    pub price: Price,
    pub quantity: Quantity,
}

/// The most transfer ids one [`Command::ResetAccount`] may take: a withdrawal per listed
/// instrument, one of cash and the deposit.
pub const RESET_TRANSFERS_MAX: u64 = 1 << 16;

/// How long an idempotency key is remembered, from its first command: 24 hours of command
/// time (the log's timestamps, so the window survives restarts and replays alike).
pub const IDEMPOTENCY_WINDOW_NANOS: u64 = 24 * 3_600 * 1_000_000_000;

/// An idempotency key as the engine keeps it: a 128-bit digest of the caller-scoped key,
/// and a fingerprint of the order it came with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey {
    pub key: u128,
    pub fingerprint: u64,
}

/// How the orders of a contingent order depend on each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrderClass {
    /// An entry with a take-profit and a stop-loss exit: the exits activate as the entry
    /// fills, and the first exit to fill (or trigger) cancels the other.
    Bracket,
    /// One-triggers-other: an entry with one exit, activated as the entry fills.
    OneTriggersOther,
    /// One-cancels-other: a limit exit (the order itself) and a stop-loss exit, both active at
    /// once, sharing one reservation; the first to fill (or trigger) cancels the other.
    OneCancelsOther,
}

/// An exit order of a contingent order. Its side is the opposite of the entry's (for OCO,
/// the order's own side); its quantity follows what the entry has filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitLeg {
    pub order_id: OrderId,
    /// `Limit` (take profit), `Stop` or `StopLimit` (stop loss).
    pub kind: OrderKind,
}

/// A new contingent order. Bracket: `take_profit` and `stop_loss`; OTO: exactly one of
/// them; OCO: `order` is the limit exit and `stop_loss` its sibling (no `take_profit`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContingentOrder {
    pub class: OrderClass,
    pub order: NewOrder,
    pub take_profit: Option<ExitLeg>,
    pub stop_loss: Option<ExitLeg>,
}

/// Listing parameters of an instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstrumentSpec {
    pub symbol: Symbol,
    /// Every price is a positive multiple of this.
    pub tick_size: Price,
    /// Every quantity is a positive multiple of this (fractional shares allowed).
    pub lot_size: Quantity,
    pub min_quantity: Quantity,
    /// Market orders never trade further than this from the best opposite price, in basis points.
    pub price_band_bps: u32,
}

/// What an account is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccountKind {
    /// A trader's cash account: cannot go short, subject to trading limits.
    Cash,
    /// The liquidity provider: exempt from trading limits, still fully booked.
    House,
    /// Collects trading fees; created by the engine itself.
    Fees,
}

/// A quantity of one asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Amount {
    Cash(Money),
    Shares(Symbol, Quantity),
}

/// A new order as the gateway hands it over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    pub order_id: OrderId,
    pub account: AccountId,
    pub symbol: Symbol,
    pub side: Side,
    pub kind: OrderKind,
    pub size: OrderSize,
    pub time_in_force: TimeInForce,
    /// Rejected instead of taking liquidity.
    pub post_only: bool,
    pub client_order_id: Option<ClientOrderId>,
    /// `None` takes the engine's default.
    pub self_trade_prevention: Option<SelfTradePrevention>,
}

/// Price behaviour of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderKind {
    Market,
    Limit {
        price: Price,
    },
    /// Becomes a market order when the last trade reaches `stop_price`.
    Stop {
        stop_price: Price,
    },
    /// Becomes a limit order at `limit_price` when the last trade reaches `stop_price`.
    StopLimit {
        stop_price: Price,
        limit_price: Price,
    },
    /// A stop whose trigger follows the best last-trade price at a fixed distance.
    TrailingStop {
        trail: Trail,
    },
}

/// Distance of a trailing stop from the watermark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trail {
    Amount(Price),
    /// 100 basis points = 1 %.
    Percent {
        basis_points: u32,
    },
}

impl Trail {
    /// A trail by percent of the price, given on the price grid (1.5 % is 1.5): `None`
    /// off the grid of basis points or out of their range.
    pub fn percent(percent: Price) -> Option<Self> {
        if percent.raw() % 100 != 0 {
            return None;
        }
        u32::try_from(percent.raw() / 100).ok().map(|basis_points| Self::Percent { basis_points })
    }

    /// The percent of a trail by percent, on the price grid (150 basis points are 1.5).
    pub fn percent_of_price(basis_points: u32) -> Price {
        Price::from_raw(i64::from(basis_points) * 100)
    }

    /// The trail as an amount or as a percent (the other `None`), as orders show it.
    pub fn amount_or_percent(self) -> (Option<Price>, Option<Price>) {
        match self {
            Self::Amount(amount) => (Some(amount), None),
            Self::Percent { basis_points } => (None, Some(Self::percent_of_price(basis_points))),
        }
    }
}

/// How much an order is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderSize {
    Quantity(Quantity),
    /// Cash to spend; only for market buys.
    Notional(Money),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimeInForce {
    GoodTillCancel,
    /// Expired by [`Command::EndOfSession`].
    Day,
    ImmediateOrCancel,
    FillOrKill,
    /// Waits for the next [`Command::OpenSession`], then trades as IOC (Alpaca's `opg`).
    AtTheOpen,
    /// Waits for the next [`Command::EndOfSession`], then trades as IOC (Alpaca's `cls`).
    AtTheClose,
}

impl TimeInForce {
    /// Whether the order waits for a session edge before it trades.
    pub const fn waits_for_auction(self) -> bool {
        matches!(self, Self::AtTheOpen | Self::AtTheClose)
    }
}

/// What happens when an order would trade with another order of the same account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum SelfTradePrevention {
    #[default]
    CancelResting,
    CancelTaking,
    CancelBoth,
}
