//! The state machine: `apply(command, timestamp, events)`, deterministic and single-writer.

use std::collections::{BTreeMap, VecDeque};

use rustc_hash::FxHashMap;
use tradecraft_types::{AccountId, ClientOrderId, Money, OrderId, Price, Quantity, Side, Symbol, TradeId, TransactionId};

use crate::activity::Activity;
use crate::book::{self, Book, Grid, NIL, Order, Orders, StoredKind};
use crate::command::{
    AccountKind, Amount, Command, ContingentOrder, IDEMPOTENCY_WINDOW_NANOS, IdempotencyKey, InstrumentSpec, NewOrder, OrderKind, OrderSize, QuoteOrder,
    SelfTradePrevention, TimeInForce, Trail,
};
use crate::contingent::Group;
use crate::event::{AcceptedOrder, BookLevel, DoneReason, Event, RejectReason, Trade};
use crate::ledger::{AssetIndex, Balance, Bucket, Fill, Ledger};
use crate::limits::{self, AccountLimits, LimitKind, LimitScope, OrderExposure, OrderTypes};
use crate::order_map::{self, OrderIdMap, OrderIndex};

/// Basis points in one whole.
const BASIS_POINTS: i128 = 10_000;
/// Widest price band and trailing percentage accepted, in basis points.
const BASIS_POINTS_MAX: u32 = 5_000;

/// Engine-wide settings, fixed for the life of a log (they are part of the snapshot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Account that collects fees; the engine creates it.
    pub fee_account: AccountId,
    pub maker_fee_bps: u32,
    pub taker_fee_bps: u32,
    pub self_trade_prevention: SelfTradePrevention,
    /// Keep every ledger posting for [`Engine::take_postings`] (tests and audits).
    pub keep_postings: bool,
    /// Open orders to allocate room for up front (a sizing hint, not a limit and not part
    /// of the state): avoids rehashing and copying while the books grow.
    pub order_capacity: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            fee_account: AccountId(0),
            maker_fee_bps: 0,
            taker_fee_bps: 0,
            self_trade_prevention: SelfTradePrevention::CancelResting,
            keep_postings: false,
            order_capacity: 0,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Instrument {
    pub(crate) spec: InstrumentSpec,
    pub(crate) tick: Grid,
    pub(crate) lot: Grid,
    pub(crate) halted: bool,
    /// Outside its trading session: only orders waiting for the open or close are taken.
    pub(crate) session_closed: bool,
    /// Price of the last trade; zero before the first.
    pub(crate) last_price: i64,
    /// Market-data sequence: bumped by every trade and best-bid-offer event.
    pub(crate) sequence: u64,
    pub(crate) best_bid: Option<BookLevel>,
    pub(crate) best_ask: Option<BookLevel>,
}

#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub(crate) id: AccountId,
    pub(crate) kind: AccountKind,
    /// Boxed: limits are read only for limited accounts, and keep `Account` small.
    pub(crate) limits: Box<AccountLimits>,
    pub(crate) open_orders: u32,
    pub(crate) group: Option<u64>,
    pub(crate) organisation: Option<u64>,
    /// Cash deposited over the account's life (the base of the per-symbol share limit).
    pub(crate) deposited: i64,
    /// Counters for the stateful limits, once any limit applies to the account.
    pub(crate) activity: Option<Box<Activity>>,
}

/// A deposit or withdrawal as first applied, to recognise repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TransferRecord {
    pub(crate) account: AccountId,
    pub(crate) withdrawal: bool,
    pub(crate) amount: Amount,
}

/// Who spent an idempotency key ([`Engine::key_use`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUse {
    /// Nobody within its window.
    None,
    /// An order: another request with it is refused.
    Order,
    /// A command of another request that took effect ([`Command::Keyed`]).
    Request,
}

/// The order id a key spent by a [`Command::Keyed`] is remembered with: no order's (order
/// ids are command offsets, below 2^44).
pub(crate) const REQUEST_KEY: OrderId = OrderId(u64::MAX);

/// What the first command with an idempotency key did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IdempotencyRecord {
    pub(crate) fingerprint: u64,
    pub(crate) order_id: OrderId,
    pub(crate) rejected: Option<RejectReason>,
    /// When the key is forgotten (command time, nanoseconds).
    pub(crate) expires_at: u64,
}

/// Everything except the books, so matching can borrow a book and the rest at once.
#[derive(Clone, Debug)]
pub(crate) struct State {
    pub(crate) orders: Orders,
    pub(crate) order_index: OrderIndex,
    pub(crate) client_ids: FxHashMap<(u32, ClientOrderId), OrderId>,
    pub(crate) order_client_ids: OrderIdMap<ClientOrderId>,
    pub(crate) accounts: Vec<Account>,
    pub(crate) account_index: FxHashMap<AccountId, u32>,
    pub(crate) ledger: Ledger,
    pub(crate) transfers: FxHashMap<TransactionId, TransferRecord>,
    pub(crate) next_trade_id: u64,
    pub(crate) next_sequence: u64,
    pub(crate) fee_account: u32,
    /// Stops triggered by trades, waiting to run once the current taker is done.
    pub(crate) triggered: Vec<u32>,
    /// Timestamp of the command being applied (a copy of [`Engine::now`] for fills).
    pub(crate) now: u64,
    pub(crate) group_limits: BTreeMap<u64, AccountLimits>,
    pub(crate) organisation_limits: BTreeMap<u64, AccountLimits>,
    /// Idempotency keys of the last [`IDEMPOTENCY_WINDOW_NANOS`], by key digest.
    pub(crate) idempotency: FxHashMap<u128, IdempotencyRecord>,
    /// The same keys in the order they expire.
    pub(crate) idempotency_expiry: VecDeque<(u64, u128)>,
    /// Contingent orders (brackets, OTO, OCO) by their order's id.
    pub(crate) groups: BTreeMap<OrderId, Group>,
    /// Each member order (entry and legs) of a group, to the group's key.
    pub(crate) group_of: FxHashMap<OrderId, OrderId>,
    /// Groups touched by the command being applied (empty between commands).
    pub(crate) dirty_groups: Vec<OrderId>,
    /// Set while a [`Command::Requote`] runs: the top of the book is published once at its
    /// end, not after each of its parts (false between commands).
    pub(crate) top_deferred: bool,
}

/// The exchange core: instruments, accounts, books, ledger. See the crate docs.
#[derive(Clone, Debug)]
pub struct Engine {
    pub(crate) config: EngineConfig,
    /// Timestamp of the command being applied (an input, never read from a clock).
    pub(crate) now: u64,
    pub(crate) instruments: Vec<Instrument>,
    pub(crate) symbols: FxHashMap<Symbol, u32>,
    /// The symbol looked up last and its index: consecutive orders usually share one.
    /// A cache only; instruments are never removed, so it cannot go stale.
    pub(crate) last_symbol: Option<(Symbol, u32)>,
    pub(crate) books: Vec<Book>,
    pub(crate) state: State,
}

/// Read-only view of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountView {
    pub account: AccountId,
    pub kind: AccountKind,
    pub cash: Balance,
    /// Shares per symbol, in listing order; raw quantity units.
    pub holdings: Vec<(Symbol, Balance)>,
    pub open_orders: u32,
    pub limits: AccountLimits,
    pub group: Option<u64>,
    pub organisation: Option<u64>,
}

/// Read-only view of an open order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderView {
    pub order_id: OrderId,
    pub account: AccountId,
    pub symbol: Symbol,
    pub side: Side,
    /// Limit price, or the protective price of a market order.
    pub price: Price,
    pub stop_price: Option<Price>,
    pub quantity: Quantity,
    pub filled: Quantity,
    pub time_in_force: TimeInForce,
    pub client_order_id: Option<ClientOrderId>,
    /// Cash (buy, raw money units) or shares (sell, raw quantity units) held for the order.
    pub reserved: i64,
    pub resting: bool,
    /// A trailing stop waiting for its trigger: the best trade price since it was placed
    /// (the highest for a sell, the lowest for a buy), which `stop_price` trails.
    pub watermark: Option<Price>,
    /// Taken while its market was closed and waiting for the open (not yet in the market).
    pub queued: bool,
}

/// Aggregated depth of a book.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Depth {
    pub sequence: u64,
    /// Best first.
    pub bids: Vec<BookLevel>,
    /// Best first.
    pub asks: Vec<BookLevel>,
}

/// Fee on `notional` at `bps`, rounded down: summed fees of parts never exceed the fee of
/// the whole, so a reservation made for the whole always covers the fills.
#[inline]
fn fee(notional: i64, bps: u32) -> i64 {
    if bps == 0 {
        return 0;
    }
    match notional.checked_mul(i64::from(bps)) {
        Some(product) => product / BASIS_POINTS as i64,
        None => (i128::from(notional) * i128::from(bps) / BASIS_POINTS) as i64,
    }
}

/// Cash a buy of `quantity` at `price` may need: notional plus the highest fee.
pub(crate) fn buy_reservation(price: i64, quantity: i64, fee_bps: u32) -> Option<i64> {
    let notional = price.checked_mul(quantity)?;
    notional.checked_add(fee(notional, fee_bps))
}

/// `price` moved by `bps` basis points up (`up`) or down, rounded onto the tick grid
/// toward the original price and never below one tick.
fn banded_price(price: i64, bps: u32, up: bool, tick: i64) -> i64 {
    let factor = if up { BASIS_POINTS + i128::from(bps) } else { BASIS_POINTS - i128::from(bps) };
    let moved = i128::from(price) * factor / BASIS_POINTS;
    let moved = i64::try_from(moved).unwrap_or(i64::MAX / 2);
    let on_grid = if up { moved / tick * tick } else { (moved + tick - 1) / tick * tick };
    on_grid.max(tick)
}

/// The middle of the best bid and offer, down to the tick grid; the one side there is.
fn quoted_middle(book: &Book, tick: i64) -> Option<i64> {
    match (book.best(Side::Buy).map(|(price, _)| price), book.best(Side::Sell).map(|(price, _)| price)) {
        (Some(bid), Some(ask)) => Some((bid + ask) / 2 / tick * tick),
        (bid, ask) => bid.or(ask),
    }
}

/// Trigger price of a trailing stop at `trail` from `watermark`, on the tick grid.
fn trailing_stop_price(side: Side, watermark: i64, trail: Trail, tick: i64) -> i64 {
    match (side, trail) {
        (Side::Sell, Trail::Amount(amount)) => watermark - amount.raw(),
        (Side::Buy, Trail::Amount(amount)) => watermark + amount.raw(),
        (Side::Sell, Trail::Percent { basis_points }) => banded_price(watermark, basis_points, false, tick),
        (Side::Buy, Trail::Percent { basis_points }) => banded_price(watermark, basis_points, true, tick),
    }
}

fn asset_shortfall(side: Side) -> RejectReason {
    match side {
        Side::Buy => RejectReason::InsufficientFunds,
        Side::Sell => RejectReason::InsufficientShares,
    }
}

/// Whether a taker limited at `limit` trades with a resting price `resting`.
#[inline]
fn crosses(side: Side, limit: i64, resting: i64) -> bool {
    match side {
        Side::Buy => resting <= limit,
        Side::Sell => resting >= limit,
    }
}

pub(crate) fn book_level(best: Option<(i64, &book::Level)>) -> Option<BookLevel> {
    best.map(|(price, level)| BookLevel { price: Price::from_raw(price), quantity: Quantity::from_raw(level.quantity), orders: level.count })
}

impl State {
    pub(crate) fn asset_of(side: Side, instrument: u32) -> AssetIndex {
        match side {
            Side::Buy => AssetIndex::Cash,
            Side::Sell => AssetIndex::Shares(instrument),
        }
    }

    /// Removes an order that is no longer in any book queue or stop map: releases what it
    /// still reserves and forgets it.
    /// `instrument` and `symbol` are the order's own, passed in so this reads only the
    /// order's first cache line.
    pub(crate) fn finish(&mut self, slot: u32, instrument: u32, symbol: Symbol, reason: DoneReason, events: &mut Vec<Event>) {
        let (id, account, side, reserved, filled, has_client_id) = {
            let order = self.orders.get(slot);
            debug_assert_eq!(order.instrument, instrument, "invariant: finish is told the order's instrument");
            (order.id, order.account, order.side, order.reserved, order.filled, order.has_client_id)
        };
        self.ledger.shift(account, Self::asset_of(side, instrument), Bucket::Reserved, Bucket::Available, reserved);
        self.order_index.remove(id);
        if has_client_id && let Some(client_id) = self.order_client_ids.remove(&id) {
            self.client_ids.remove(&(account, client_id));
        }
        self.accounts[account as usize].open_orders -= 1;
        if side == Side::Buy && self.accounts[account as usize].activity.is_some() {
            let order = self.orders.get(slot);
            if !order.is_budget() {
                let leaves = order.leaves();
                self.note_open_buy(account, instrument, -leaves);
            }
        }
        self.orders.remove(slot);
        events.push(Event::OrderDone { order_id: id, account: self.accounts[account as usize].id, symbol, side, reason, filled: Quantity::from_raw(filled) });
    }

    /// Releases what a resting limit buy holds beyond what its remaining quantity needs.
    #[inline]
    fn release_buy_excess(&mut self, slot: u32, fee_bps: u32) {
        let order = self.orders.get_mut(slot);
        let required = buy_reservation(order.price, order.leaves(), fee_bps).expect("invariant: a smaller reservation than the accepted one fits");
        let excess = order.reserved - required;
        debug_assert!(excess >= 0, "invariant: a limit buy always holds what its leaves need");
        if excess > 0 {
            order.reserved = required;
            let account = order.account;
            self.ledger.shift(account, AssetIndex::Cash, Bucket::Reserved, Bucket::Available, excess);
        }
    }

    /// Settles one fill of `quantity` at `price` between `taker` and `maker`.
    fn settle(&mut self, instrument: u32, taker: u32, maker: u32, price: i64, quantity: i64, fees: (u32, u32)) -> (i64, i64) {
        let (maker_fee_bps, taker_fee_bps) = fees;
        let notional = i64::try_from(i128::from(price) * i128::from(quantity)).expect("invariant: a fill's notional fits, its reservation did");
        let taker_side = self.orders.get(taker).side;
        let (buyer, seller, buyer_bps, seller_bps) = match taker_side {
            Side::Buy => (taker, maker, taker_fee_bps, maker_fee_bps),
            Side::Sell => (maker, taker, maker_fee_bps, taker_fee_bps),
        };
        let buyer_fee = fee(notional, buyer_bps);
        let seller_fee = fee(notional, seller_bps);
        let buyer_account = self.orders.get(buyer).account;
        let seller_account = self.orders.get(seller).account;
        self.ledger.settle_fill(&Fill {
            instrument,
            buyer: buyer_account,
            seller: seller_account,
            fee_account: self.fee_account,
            notional,
            quantity,
            buyer_fee,
            seller_fee,
        });
        for (account, buying) in [(buyer_account, Some(buyer)), (seller_account, None)] {
            if let Some(activity) = self.accounts[account as usize].activity.as_mut() {
                activity.record_fill(self.now, notional);
                if buying.is_some_and(|slot| !self.orders.get(slot).is_budget()) {
                    activity.add_open_buy(instrument, -quantity);
                }
            }
        }
        {
            let order = self.orders.get_mut(buyer);
            order.filled += quantity;
            order.reserved -= notional + buyer_fee;
            assert!(order.reserved >= 0, "invariant: a buy never spends more than it reserved");
            if order.is_budget() {
                order.budget -= notional;
            }
        }
        {
            let order = self.orders.get_mut(seller);
            order.filled += quantity;
            order.reserved -= quantity;
            assert!(order.reserved >= 0, "invariant: a sell never delivers more than it reserved");
        }
        match taker_side {
            Side::Buy => (buyer_fee, seller_fee),
            Side::Sell => (seller_fee, buyer_fee),
        }
    }

    /// Changes an account's open buy quantity in an instrument, if it keeps activity.
    pub(crate) fn note_open_buy(&mut self, account: u32, instrument: u32, quantity: i64) {
        if let Some(activity) = self.accounts[account as usize].activity.as_mut() {
            activity.add_open_buy(instrument, quantity);
        }
    }

    /// Counts a new open order against its account.
    pub(crate) fn count_open_order(&mut self, slot: u32) {
        let account = self.orders.get(slot).account as usize;
        self.accounts[account].open_orders += 1;
    }
}

/// What a replace asks to change (absent: unchanged).
#[derive(Clone, Debug)]
struct Change {
    quantity: Option<Quantity>,
    price: Option<Price>,
    stop_price: Option<Price>,
    trail: Option<Trail>,
    client_order_id: Option<ClientOrderId>,
    time_in_force: Option<TimeInForce>,
}

impl Change {
    /// Whether it changes the order's size or prices (not only what it is called or how
    /// long it lasts).
    fn reshapes(&self) -> bool {
        self.quantity.is_some() || self.price.is_some() || self.stop_price.is_some() || self.trail.is_some()
    }
}

/// An order (or a replacement) as the limits see it, before its account's context.
#[derive(Clone, Copy, Debug)]
struct Draft {
    instrument: u32,
    side: Side,
    order_type: u8,
    quantity: i64,
    notional: i64,
    share_price: i64,
    open_orders: u32,
    /// Shares it adds to the account's open buys in the instrument.
    adds: i64,
    /// A new order (counts towards orders per minute); a replacement does not.
    counts_as_new: bool,
}

fn order_type_bit(kind: OrderKind) -> u8 {
    match kind {
        OrderKind::Market => OrderTypes::MARKET,
        OrderKind::Limit { .. } => OrderTypes::LIMIT,
        OrderKind::Stop { .. } => OrderTypes::STOP,
        OrderKind::StopLimit { .. } => OrderTypes::STOP_LIMIT,
        OrderKind::TrailingStop { .. } => OrderTypes::TRAILING_STOP,
    }
}

impl Engine {
    /// Value of an account: its cash and its shares at each instrument's last trade price.
    fn account_value(&self, account: u32) -> i128 {
        let cash = self.state.ledger.balance(account, AssetIndex::Cash).total();
        self.state.ledger.holdings(account).iter().fold(i128::from(cash), |value, &(instrument, balance)| {
            value + i128::from(balance.total()) * i128::from(self.instruments[instrument as usize].last_price)
        })
    }

    /// Cash moved in or out of an account with activity counts as a flow of the day.
    fn note_flow(&mut self, account: u32, amount: i64) {
        let now = self.now;
        if let Some(activity) = self.state.accounts[account as usize].activity.as_mut() {
            activity.roll(now);
            if activity.day_start_value.is_some() {
                activity.flows_today += i128::from(amount);
            }
        }
    }

    /// Checks `draft` against every set of limits that applies to `account`.
    /// Reads only: a refused order leaves no trace. Returns the account's value, which an
    /// accepted order's reservation does not change.
    fn check_limits(&self, account: u32, draft: &Draft) -> Result<i128, LimitKind> {
        let now = self.now;
        let value = self.account_value(account);
        let instrument = draft.instrument;
        let reference = |engine: &Self, index: u32| match engine.instruments[index as usize].last_price {
            0 if index == instrument => draft.share_price,
            price => price,
        };
        let holdings: Vec<(u32, i64)> = self.state.ledger.holdings(account).iter().map(|&(index, balance)| (index, balance.total())).collect();
        let record = &self.state.accounts[account as usize];
        let deposited = record.deposited;
        let Some(activity) = record.activity.as_deref() else { return Ok(value) };
        let today = activity.today(now);
        let orders_last_minute = if draft.counts_as_new { activity.orders_last_minute(now) } else { 0 };
        let (trades_today, notional_today, loss_today) = match today {
            Some(day) => (day.trades, day.notional, day.start_value.map_or(0, |start| start + day.flows - value)),
            None => (0, 0, 0),
        };
        let open_buys = &activity.open_buys;
        let held_or_bid = |index: u32| {
            let held = holdings.iter().find(|(held, _)| *held == index).map_or(0, |(_, quantity)| *quantity);
            i128::from(held) + i128::from(open_buys.get(&index).copied().unwrap_or(0))
        };
        let mut gross: i128 = 0;
        let mut seen: Vec<u32> = holdings.iter().map(|(index, _)| *index).chain(open_buys.keys().copied()).collect();
        seen.sort_unstable();
        seen.dedup();
        for index in seen {
            gross += held_or_bid(index) * i128::from(reference(self, index));
        }
        let position_after = held_or_bid(instrument) + i128::from(draft.adds);
        let added_value = i128::from(draft.adds) * i128::from(reference(self, instrument));
        let exposure = OrderExposure {
            symbol: self.instruments[instrument as usize].spec.symbol,
            side: draft.side,
            order_type: draft.order_type,
            quantity: draft.quantity,
            notional: draft.notional,
            share_price: draft.share_price,
            open_orders: draft.open_orders,
            minute_of_day: Activity::minute_of_day(now),
            orders_last_minute,
            trades_today,
            notional_today,
            loss_today,
            position_after,
            gross_after: gross + added_value,
            symbol_value_after: position_after * i128::from(reference(self, instrument)),
            deposited: i128::from(deposited),
        };
        let record = &self.state.accounts[account as usize];
        let sets = [
            Some(&*record.limits),
            record.group.and_then(|group| self.state.group_limits.get(&group)),
            record.organisation.and_then(|organisation| self.state.organisation_limits.get(&organisation)),
        ];
        for limits in sets.into_iter().flatten() {
            limits::check(limits, &exposure)?;
        }
        Ok(value)
    }

    fn set_limits(&mut self, scope: LimitScope, limits: &AccountLimits, events: &mut Vec<Event>) {
        match scope {
            LimitScope::Account(account) => {
                let Some(&index) = self.state.account_index.get(&account) else {
                    return events.push(Self::command_rejected(Some(account), None, RejectReason::UnknownAccount));
                };
                *self.state.accounts[index as usize].limits = limits.clone();
                self.start_activity(index);
            }
            LimitScope::Group(group) => {
                self.state.group_limits.insert(group, limits.clone());
                let members: Vec<u32> =
                    (0..self.state.accounts.len() as u32).filter(|&index| self.state.accounts[index as usize].group == Some(group)).collect();
                members.into_iter().for_each(|index| self.start_activity(index));
            }
            LimitScope::Organisation(organisation) => {
                self.state.organisation_limits.insert(organisation, limits.clone());
                let members: Vec<u32> =
                    (0..self.state.accounts.len() as u32).filter(|&index| self.state.accounts[index as usize].organisation == Some(organisation)).collect();
                members.into_iter().for_each(|index| self.start_activity(index));
            }
        }
        events.push(Event::LimitsSet { scope });
    }

    fn set_membership(&mut self, account: AccountId, group: Option<u64>, organisation: Option<u64>, events: &mut Vec<Event>) {
        let Some(&index) = self.state.account_index.get(&account) else {
            return events.push(Self::command_rejected(Some(account), None, RejectReason::UnknownAccount));
        };
        let record = &mut self.state.accounts[index as usize];
        record.group = group;
        record.organisation = organisation;
        let limited = group.is_some_and(|group| self.state.group_limits.contains_key(&group))
            || organisation.is_some_and(|organisation| self.state.organisation_limits.contains_key(&organisation));
        if limited {
            self.start_activity(index);
        }
        events.push(Event::MembershipSet { account, group, organisation });
    }

    /// Starts keeping activity for an account some limit now applies to, counting the
    /// open buys it already has (a scan of the books: limits change rarely).
    fn start_activity(&mut self, account: u32) {
        let record = &self.state.accounts[account as usize];
        if record.activity.is_some() || record.kind != AccountKind::Cash {
            return;
        }
        let mut activity = Activity { day: self.now / 86_400_000_000_000, ..Activity::default() };
        for book in &self.books {
            for slot in book.order_slots(&self.state.orders) {
                let order = self.state.orders.get(slot);
                if order.account == account && order.side == Side::Buy && !order.is_budget() {
                    activity.add_open_buy(order.instrument, order.leaves());
                }
            }
        }
        self.state.accounts[account as usize].activity = Some(Box::new(activity));
    }
}

/// Updates trailing stops for a trade at `price`, then moves every stop it triggers to
/// `triggered`, in trigger-price order.
fn trigger_stops(book: &mut Book, orders: &mut Orders, price: i64, tick: i64, triggered: &mut Vec<u32>) {
    for (&sequence, &slot) in &book.trailing {
        let order = orders.get_mut(slot);
        let Some(trail) = order.trail else { continue };
        let improved = match order.side {
            Side::Sell => price > order.watermark,
            Side::Buy => price < order.watermark,
        };
        if !improved {
            continue;
        }
        order.watermark = price;
        let stop = trailing_stop_price(order.side, price, trail, tick);
        let tighter = match order.side {
            Side::Sell => stop > order.stop_price,
            Side::Buy => stop < order.stop_price && stop > 0,
        };
        if tighter {
            let stops = match order.side {
                Side::Buy => &mut book.buy_stops,
                Side::Sell => &mut book.sell_stops,
            };
            stops.remove(&(order.stop_price, sequence));
            stops.insert((stop, sequence), slot);
            order.stop_price = stop;
        }
    }
    while let Some((&(stop, sequence), &slot)) = book.buy_stops.first_key_value() {
        if stop > price {
            break;
        }
        book.buy_stops.remove(&(stop, sequence));
        book.trailing.remove(&sequence);
        triggered.push(slot);
    }
    while let Some((&(stop, sequence), &slot)) = book.sell_stops.last_key_value() {
        if stop < price {
            break;
        }
        book.sell_stops.remove(&(stop, sequence));
        book.trailing.remove(&sequence);
        triggered.push(slot);
    }
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        let mut engine = Self {
            config,
            now: 0,
            instruments: Vec::new(),
            symbols: FxHashMap::default(),
            last_symbol: None,
            books: Vec::new(),
            state: State {
                orders: Orders::with_capacity(config.order_capacity),
                order_index: OrderIndex::with_capacity(config.order_capacity),
                client_ids: FxHashMap::default(),
                order_client_ids: order_map::with_capacity(0),
                accounts: Vec::new(),
                account_index: FxHashMap::default(),
                ledger: Ledger::new(config.keep_postings),
                transfers: FxHashMap::default(),
                next_trade_id: 1,
                next_sequence: 1,
                fee_account: 0,
                triggered: Vec::new(),
                now: 0,
                group_limits: BTreeMap::new(),
                organisation_limits: BTreeMap::new(),
                idempotency: FxHashMap::default(),
                idempotency_expiry: VecDeque::new(),
                groups: BTreeMap::new(),
                group_of: FxHashMap::default(),
                dirty_groups: Vec::new(),
                top_deferred: false,
            },
        };
        engine.state.fee_account = engine.add_account(config.fee_account, AccountKind::Fees);
        engine
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Timestamp (nanoseconds) of the latest command applied.
    pub fn now_nanos(&self) -> u64 {
        self.now
    }

    /// Whether any deposit or withdrawal ever named `account` (a scan of every transfer:
    /// for the rare account that holds nothing).
    pub fn has_transfers(&self, account: AccountId) -> bool {
        self.state.transfers.values().any(|record| record.account == account)
    }

    /// Whether an order ([`KeyUse::Order`]) or a command of another request
    /// ([`KeyUse::Request`], see [`Command::Keyed`]) took the idempotency key of digest
    /// `key` within its window.
    pub fn key_use(&self, key: u128) -> KeyUse {
        match self.state.idempotency.get(&key) {
            Some(record) if record.expires_at > self.now && record.order_id == REQUEST_KEY => KeyUse::Request,
            Some(record) if record.expires_at > self.now => KeyUse::Order,
            _ => KeyUse::None,
        }
    }

    /// The id the next trade will have: every trade below it has been made.
    pub fn next_trade_id(&self) -> TradeId {
        TradeId(self.state.next_trade_id)
    }

    /// Applies one command at `timestamp` (nanoseconds, from the log), appending what happened
    /// to `events`. Deterministic: the same commands and timestamps give the same events.
    pub fn apply(&mut self, command: &Command, timestamp: u64, events: &mut Vec<Event>) {
        self.now = self.now.max(timestamp);
        self.state.now = self.now;
        let first = events.len();
        match command {
            Command::ListInstrument(spec) => self.list_instrument(spec, events),
            Command::HaltInstrument { symbol } => self.set_halted(*symbol, true, events),
            Command::ResumeInstrument { symbol } => self.set_halted(*symbol, false, events),
            Command::CreateAccount { account, kind, deposit } => self.create_account(*account, *kind, *deposit, events),
            Command::Deposit { account, transaction, amount } => self.transfer_funds(*account, *transaction, *amount, false, events),
            Command::Withdraw { account, transaction, amount } => self.transfer_funds(*account, *transaction, *amount, true, events),
            Command::ResetAccount { account, first, cash } => self.reset_account(*account, *first, *cash, events),
            Command::SetLimits { scope, limits } => self.set_limits(*scope, limits, events),
            Command::SetMembership { account, group, organisation } => self.set_membership(*account, *group, *organisation, events),
            Command::PlaceOrder(order) => self.place(order, events),
            Command::PlaceOrderOnce { order, key } => self.place_once(order, *key, events, Self::place),
            Command::PlaceContingent { order, key: None } => self.place_contingent(order, events),
            Command::PlaceContingent { order, key: Some(key) } => {
                let contingent: &ContingentOrder = order;
                self.place_once(&contingent.order, *key, events, |engine, _, events| engine.place_contingent(contingent, events));
            }
            Command::CancelOrder { account, order_id } => self.cancel(*account, *order_id, events),
            Command::ReplaceOrder { account, order_id, quantity, price, stop_price, trail, client_order_id, time_in_force } => {
                let change = Change {
                    quantity: *quantity,
                    price: *price,
                    stop_price: *stop_price,
                    trail: *trail,
                    client_order_id: client_order_id.clone(),
                    time_in_force: *time_in_force,
                };
                self.replace(*account, *order_id, change, events)
            }
            Command::CancelAll { account, symbol } => self.cancel_all(*account, *symbol, events),
            Command::Requote { account, symbol, orders } => self.requote(*account, *symbol, orders, events),
            // The command settles what it triggers itself.
            Command::Keyed { key, command } => return self.apply_keyed(*key, command, timestamp, events),
            Command::EndOfSession { symbol } => self.end_session(*symbol, events),
            Command::OpenSession { symbol } => self.set_session(*symbol, true, events),
            Command::CloseSession { symbol } => self.set_session(*symbol, false, events),
        }
        if !self.state.groups.is_empty() {
            self.settle_contingent(first, events);
        }
    }

    fn command_rejected(account: Option<AccountId>, order_id: Option<OrderId>, reason: RejectReason) -> Event {
        Event::CommandRejected { account, order_id, reason }
    }

    fn add_account(&mut self, id: AccountId, kind: AccountKind) -> u32 {
        let index = u32::try_from(self.state.accounts.len()).expect("invariant: fewer than 2^32 accounts");
        self.state.accounts.push(Account { id, kind, limits: Box::default(), open_orders: 0, group: None, organisation: None, deposited: 0, activity: None });
        self.state.account_index.insert(id, index);
        self.state.ledger.add_account();
        index
    }

    fn list_instrument(&mut self, spec: &InstrumentSpec, events: &mut Vec<Event>) {
        let reject = |reason| Self::command_rejected(None, None, reason);
        if self.symbols.contains_key(&spec.symbol) {
            return events.push(reject(RejectReason::InstrumentExists));
        }
        let valid = spec.tick_size.is_positive()
            && spec.lot_size.is_positive()
            && spec.min_quantity.raw() >= 0
            && spec.min_quantity.raw() % spec.lot_size.raw() == 0
            && spec.price_band_bps <= BASIS_POINTS_MAX;
        if !valid {
            return events.push(reject(RejectReason::InvalidInstrument));
        }
        let index = u32::try_from(self.instruments.len()).expect("invariant: fewer than 2^32 instruments");
        self.instruments.push(Instrument {
            spec: *spec,
            tick: Grid::new(spec.tick_size.raw()),
            lot: Grid::new(spec.lot_size.raw()),
            halted: false,
            session_closed: false,
            last_price: 0,
            sequence: 0,
            best_bid: None,
            best_ask: None,
        });
        self.books.push(Book::new(spec.tick_size.raw()));
        self.symbols.insert(spec.symbol, index);
        events.push(Event::InstrumentListed { symbol: spec.symbol });
    }

    fn set_halted(&mut self, symbol: Symbol, halted: bool, events: &mut Vec<Event>) {
        let Some(&index) = self.symbols.get(&symbol) else {
            return events.push(Self::command_rejected(None, None, RejectReason::UnknownSymbol));
        };
        self.instruments[index as usize].halted = halted;
        events.push(if halted { Event::InstrumentHalted { symbol } } else { Event::InstrumentResumed { symbol } });
    }

    fn create_account(&mut self, account: AccountId, kind: AccountKind, deposit: Option<(TransactionId, Money)>, events: &mut Vec<Event>) {
        let refused = if kind == AccountKind::Fees {
            Some(RejectReason::InvalidOrder)
        } else if self.state.account_index.contains_key(&account) {
            Some(RejectReason::AccountExists)
        } else {
            // What would refuse the deposit of a new account, checked before anything changes.
            match deposit {
                Some((transaction, _)) if self.state.transfers.contains_key(&transaction) => Some(RejectReason::TransactionConflict),
                Some((_, cash)) if !cash.is_positive() => Some(RejectReason::InvalidQuantity),
                _ => None,
            }
        };
        if let Some(reason) = refused {
            return events.push(Self::command_rejected(Some(account), None, reason));
        }
        self.add_account(account, kind);
        events.push(Event::AccountCreated { account, kind });
        if let Some((transaction, cash)) = deposit {
            self.transfer_funds(account, transaction, Amount::Cash(cash), false, events);
        }
    }

    fn transfer_funds(&mut self, account: AccountId, transaction: TransactionId, amount: Amount, withdrawal: bool, events: &mut Vec<Event>) {
        let reject = |reason| Self::command_rejected(Some(account), None, reason);
        let Some(&index) = self.state.account_index.get(&account) else {
            return events.push(reject(RejectReason::UnknownAccount));
        };
        let record = TransferRecord { account, withdrawal, amount };
        if let Some(previous) = self.state.transfers.get(&transaction) {
            return events.push(if *previous == record {
                Event::TransferAlreadyApplied { account, transaction }
            } else {
                reject(RejectReason::TransactionConflict)
            });
        }
        let (asset, raw, shortfall) = match amount {
            Amount::Cash(money) => (AssetIndex::Cash, money.raw(), RejectReason::InsufficientFunds),
            Amount::Shares(symbol, quantity) => {
                let Some(&instrument) = self.symbols.get(&symbol) else {
                    return events.push(reject(RejectReason::UnknownSymbol));
                };
                if quantity.is_positive() && !self.instruments[instrument as usize].lot.contains(quantity.raw()) {
                    return events.push(reject(RejectReason::QuantityOffLot));
                }
                (AssetIndex::Shares(instrument), quantity.raw(), RejectReason::InsufficientShares)
            }
        };
        if raw <= 0 {
            return events.push(reject(RejectReason::InvalidQuantity));
        }
        let balance = self.state.ledger.balance(index, asset);
        let ledger = &mut self.state.ledger;
        use crate::ledger::{Place, Posting};
        if withdrawal {
            if balance.available < raw {
                return events.push(reject(shortfall));
            }
            ledger.post(Posting { asset, from: Place::Account(index, Bucket::Available), to: Place::External, amount: raw });
            events.push(Event::Withdrawn { account, transaction, amount });
            if asset == AssetIndex::Cash {
                self.note_flow(index, -raw);
            }
        } else {
            if balance.total().checked_add(raw).is_none() {
                return events.push(reject(RejectReason::NotionalTooLarge));
            }
            ledger.post(Posting { asset, from: Place::External, to: Place::Account(index, Bucket::Available), amount: raw });
            events.push(Event::Deposited { account, transaction, amount });
            if asset == AssetIndex::Cash {
                let record = &mut self.state.accounts[index as usize];
                record.deposited = record.deposited.saturating_add(raw);
                self.note_flow(index, raw);
            }
        }
        self.state.transfers.insert(transaction, record);
    }

    fn reset_account(&mut self, account: AccountId, first: TransactionId, cash: Money, events: &mut Vec<Event>) {
        let reject = |reason| Self::command_rejected(Some(account), None, reason);
        if !self.state.account_index.contains_key(&account) {
            return events.push(reject(RejectReason::UnknownAccount));
        }
        if cash.raw() < 0 {
            return events.push(reject(RejectReason::InvalidQuantity));
        }
        // Every id the transfers could take is checked before anything changes.
        let span = self.instruments.len() as u64 + 2;
        let fresh = span <= crate::command::RESET_TRANSFERS_MAX
            && first.0.checked_add(span).is_some()
            && (0..span).all(|step| !self.state.transfers.contains_key(&TransactionId(first.0 + step)));
        if !fresh {
            return events.push(reject(RejectReason::TransactionConflict));
        }
        self.cancel_all(account, None, events);
        let index = self.state.account_index[&account];
        let mut moves = Vec::new();
        for (instrument, market) in self.instruments.iter().enumerate() {
            let held = self.state.ledger.balance(index, AssetIndex::Shares(instrument as u32)).available;
            if held > 0 {
                moves.push(Amount::Shares(market.spec.symbol, Quantity::from_raw(held)));
            }
        }
        let available = self.state.ledger.balance(index, AssetIndex::Cash).available;
        if available > 0 {
            moves.push(Amount::Cash(Money::from_raw(available)));
        }
        let withdrawals = moves.len() as u64;
        for (step, amount) in moves.into_iter().enumerate() {
            self.transfer_funds(account, TransactionId(first.0 + step as u64), amount, true, events);
        }
        if cash.is_positive() {
            self.transfer_funds(account, TransactionId(first.0 + withdrawals), Amount::Cash(cash), false, events);
        }
    }

    /// A trail on the price grid (an amount) or of 0.01 % to 50 % (a percent).
    fn check_trail(trail: Trail, tick: Grid) -> Result<(), RejectReason> {
        match trail {
            Trail::Amount(amount) => Self::check_price(amount, tick).map(|_| ()),
            Trail::Percent { basis_points } if basis_points == 0 || basis_points > BASIS_POINTS_MAX => Err(RejectReason::InvalidPrice),
            Trail::Percent { .. } => Ok(()),
        }
    }

    #[inline]
    pub(crate) fn check_price(price: Price, tick: Grid) -> Result<i64, RejectReason> {
        if !price.is_positive() {
            return Err(RejectReason::InvalidPrice);
        }
        if !tick.contains(price.raw()) {
            return Err(RejectReason::PriceOffTick);
        }
        Ok(price.raw())
    }

    #[inline]
    fn check_quantity(quantity: Quantity, minimum: Quantity, lot: Grid) -> Result<i64, RejectReason> {
        if !quantity.is_positive() {
            return Err(RejectReason::InvalidQuantity);
        }
        if !lot.contains(quantity.raw()) {
            return Err(RejectReason::QuantityOffLot);
        }
        if quantity < minimum {
            return Err(RejectReason::QuantityBelowMinimum);
        }
        Ok(quantity.raw())
    }

    /// Index of a listed symbol, through the one-entry cache.
    #[inline]
    pub(crate) fn instrument_index(&mut self, symbol: Symbol) -> Option<u32> {
        if let Some((cached, index)) = self.last_symbol
            && cached == symbol
        {
            return Some(index);
        }
        let index = *self.symbols.get(&symbol)?;
        self.last_symbol = Some((symbol, index));
        Some(index)
    }

    pub(crate) fn reservation_fee_bps(&self) -> u32 {
        self.config.maker_fee_bps.max(self.config.taker_fee_bps)
    }

    /// Forgets the idempotency keys whose window has passed.
    fn forget_expired_keys(&mut self) {
        while let Some(&(expires_at, digest)) = self.state.idempotency_expiry.front()
            && expires_at <= self.now
        {
            self.state.idempotency_expiry.pop_front();
            if self.state.idempotency.get(&digest).is_some_and(|record| record.expires_at == expires_at) {
                self.state.idempotency.remove(&digest);
            }
        }
    }

    /// Applies `command` of a request holding the key of digest `key`; if nothing in it was
    /// refused, the key is remembered as spent by a request (unless it already is spent:
    /// by an earlier command of the request, or by an order, which keeps its record).
    fn apply_keyed(&mut self, key: u128, command: &Command, timestamp: u64, events: &mut Vec<Event>) {
        let first = events.len();
        self.apply(command, timestamp, events);
        if events[first..].iter().any(|event| matches!(event, Event::OrderRejected { .. } | Event::CommandRejected { .. })) {
            return;
        }
        self.forget_expired_keys();
        if self.state.idempotency.contains_key(&key) {
            return;
        }
        let expires_at = self.now.saturating_add(IDEMPOTENCY_WINDOW_NANOS);
        self.state.idempotency.insert(key, IdempotencyRecord { fingerprint: 0, order_id: REQUEST_KEY, rejected: None, expires_at });
        self.state.idempotency_expiry.push_back((expires_at, key));
    }

    /// Places `new` unless its key was used within the window: the same order again gets
    /// the first outcome, another order is refused. The outcome, acceptance or refusal, is
    /// what the key remembers.
    fn place_once(&mut self, new: &NewOrder, key: IdempotencyKey, events: &mut Vec<Event>, place: impl FnOnce(&mut Self, &NewOrder, &mut Vec<Event>)) {
        self.forget_expired_keys();
        if let Some(record) = self.state.idempotency.get(&key.key) {
            if record.fingerprint != key.fingerprint || record.order_id == REQUEST_KEY {
                return events.push(Self::command_rejected(Some(new.account), Some(new.order_id), RejectReason::IdempotencyConflict));
            }
            return events.push(Event::OrderRepeated { order_id: new.order_id, account: new.account, original: record.order_id, rejected: record.rejected });
        }
        let first = events.len();
        place(self, new, events);
        let rejected = events[first..].iter().find_map(|event| match event {
            Event::OrderRejected { order_id, reason, .. } if *order_id == new.order_id => Some(*reason),
            _ => None,
        });
        let expires_at = self.now.saturating_add(IDEMPOTENCY_WINDOW_NANOS);
        self.state.idempotency.insert(key.key, IdempotencyRecord { fingerprint: key.fingerprint, order_id: new.order_id, rejected, expires_at });
        self.state.idempotency_expiry.push_back((expires_at, key.key));
    }

    fn place(&mut self, new: &NewOrder, events: &mut Vec<Event>) {
        match self.accept(new, events) {
            Ok((instrument, slot)) => {
                self.dispatch(instrument, slot, events);
                self.run_triggered(instrument, events);
                self.publish_best_bid_offer(instrument, events);
            }
            Err(reason) => events.push(Self::order_rejected(new, reason)),
        }
    }

    pub(crate) fn order_rejected(new: &NewOrder, reason: RejectReason) -> Event {
        Event::OrderRejected {
            order_id: new.order_id,
            account: new.account,
            symbol: new.symbol,
            side: new.side,
            quantity: match new.size {
                OrderSize::Quantity(quantity) => quantity,
                OrderSize::Notional(_) => Quantity::ZERO,
            },
            reason,
        }
    }

    /// Validates, checks limits and reserves; on success the order exists and holds its
    /// reservation. Changes nothing on error.
    pub(crate) fn accept(&mut self, new: &NewOrder, events: &mut Vec<Event>) -> Result<(u32, u32), RejectReason> {
        let instrument = self.instrument_index(new.symbol).ok_or(RejectReason::UnknownSymbol)?;
        let &account = self.state.account_index.get(&new.account).ok_or(RejectReason::UnknownAccount)?;
        let market = &self.instruments[instrument as usize];
        if market.halted {
            return Err(RejectReason::InstrumentHalted);
        }
        let auction = new.time_in_force.waits_for_auction();
        // Outside its session an order that lasts (GTC or DAY) is taken and waits for the
        // open, as a broker queues it; one that must trade now (IOC, FOK), must not trade at
        // once (post-only: the book it would meet is not known yet) or spends a cash amount
        // (sized by the price it meets) is refused.
        let queued = market.session_closed && !auction;
        let lasts = matches!(new.time_in_force, TimeInForce::GoodTillCancel | TimeInForce::Day);
        if queued && (!lasts || new.post_only || matches!(new.size, OrderSize::Notional(_))) {
            return Err(RejectReason::MarketClosed);
        }
        if auction && (new.post_only || !matches!(new.kind, OrderKind::Market | OrderKind::Limit { .. })) {
            return Err(RejectReason::InvalidOrder);
        }
        let spec = market.spec;
        let tick = spec.tick_size.raw();
        let book = &self.books[instrument as usize];
        let account_kind = self.state.accounts[account as usize].kind;
        if account_kind == AccountKind::Fees {
            return Err(RejectReason::InvalidOrder);
        }
        let immediate = matches!(new.time_in_force, TimeInForce::ImmediateOrCancel | TimeInForce::FillOrKill);
        if new.post_only && (immediate || !matches!(new.kind, OrderKind::Limit { .. })) {
            return Err(RejectReason::InvalidOrder);
        }
        let (quantity, budget) = match new.size {
            OrderSize::Quantity(quantity) => (Self::check_quantity(quantity, spec.min_quantity, market.lot)?, 0),
            OrderSize::Notional(notional) => {
                let allowed = new.kind == OrderKind::Market && new.side == Side::Buy && new.time_in_force != TimeInForce::FillOrKill && !auction;
                if !allowed {
                    return Err(RejectReason::InvalidOrder);
                }
                if !notional.is_positive() {
                    return Err(RejectReason::InvalidQuantity);
                }
                (0, notional.raw())
            }
        };
        let band = spec.price_band_bps;
        let protective = |reference: i64, side: Side| banded_price(reference, band, side == Side::Buy, tick);
        let mut watermark = 0;
        let (kind, price, stop_price, trail) = match new.kind {
            OrderKind::Market => {
                // One waiting for the open or close is capped from the last trade when the
                // book is empty (it is banded again when it trades).
                let best = book.best(new.side.opposite()).map(|(price, _)| price);
                let reference = best.or(((auction || queued) && market.last_price > 0).then_some(market.last_price)).ok_or(RejectReason::NoLiquidity)?;
                (StoredKind::Market, protective(reference, new.side), 0, None)
            }
            OrderKind::Limit { price } => (StoredKind::Limit, Self::check_price(price, market.tick)?, 0, None),
            OrderKind::Stop { stop_price } => {
                let stop = Self::check_price(stop_price, market.tick)?;
                (StoredKind::Stop, protective(stop, new.side), stop, None)
            }
            OrderKind::StopLimit { stop_price, limit_price } => {
                let stop = Self::check_price(stop_price, market.tick)?;
                (StoredKind::StopLimit, Self::check_price(limit_price, market.tick)?, stop, None)
            }
            OrderKind::TrailingStop { trail } => {
                Self::check_trail(trail, market.tick)?;
                // The last trade; before the first, the middle of the quotes (a venue whose
                // liquidity provider quotes has traded nothing yet).
                let reference = if market.last_price > 0 { market.last_price } else { quoted_middle(book, tick).ok_or(RejectReason::NoReferencePrice)? };
                let stop = trailing_stop_price(new.side, reference, trail, tick);
                if stop <= 0 {
                    return Err(RejectReason::InvalidPrice);
                }
                watermark = reference;
                (StoredKind::TrailingStop, protective(stop, new.side), stop, Some(trail))
            }
        };
        if new.post_only
            && let Some((best, _)) = book.best(new.side.opposite())
            && crosses(new.side, price, best)
        {
            return Err(RejectReason::PostOnlyWouldCross);
        }
        // A buy sized by cash must afford at least one tradable quantity at the best ask;
        // less would be accepted and end having bought nothing.
        if budget > 0
            && let Some((best, _)) = book.best(new.side.opposite())
            && budget / best.max(1) < spec.lot_size.raw().max(spec.min_quantity.raw())
        {
            return Err(RejectReason::QuantityBelowMinimum);
        }
        if let Some(client_id) = &new.client_order_id
            && self.state.client_ids.contains_key(&(account, client_id.clone()))
        {
            return Err(RejectReason::DuplicateClientOrderId);
        }
        let fee_bps = self.reservation_fee_bps();
        let reserved = match (new.side, budget) {
            (Side::Sell, _) => quantity,
            (Side::Buy, 0) => buy_reservation(price, quantity, fee_bps).ok_or(RejectReason::NotionalTooLarge)?,
            (Side::Buy, budget) => budget.checked_add(fee(budget, fee_bps)).ok_or(RejectReason::NotionalTooLarge)?,
        };
        let limited = account_kind != AccountKind::House && self.state.accounts[account as usize].activity.is_some();
        let mut value = 0;
        if limited {
            let notional =
                if budget > 0 { budget } else { i64::try_from(i128::from(price) * i128::from(quantity)).map_err(|_| RejectReason::NotionalTooLarge)? };
            let share_price = match new.kind {
                OrderKind::Market => book.best(new.side.opposite()).map_or(price, |(best, _)| best),
                OrderKind::Limit { .. } | OrderKind::StopLimit { .. } => price,
                OrderKind::Stop { .. } | OrderKind::TrailingStop { .. } => stop_price,
            };
            // A buy sized by cash adds about cash / price shares.
            let adds = match (new.side, budget) {
                (Side::Sell, _) => 0,
                (Side::Buy, 0) => quantity,
                (Side::Buy, budget) => i64::try_from(i128::from(budget) * 10_000 / i128::from(share_price.max(1))).unwrap_or(i64::MAX),
            };
            let draft = Draft {
                instrument,
                side: new.side,
                order_type: order_type_bit(new.kind),
                quantity: if budget > 0 { adds } else { quantity },
                notional,
                share_price,
                open_orders: self.state.accounts[account as usize].open_orders,
                adds,
                counts_as_new: true,
            };
            value = self.check_limits(account, &draft).map_err(RejectReason::LimitBreached)?;
        }
        if self.state.order_index.contains(new.order_id) {
            return Err(RejectReason::DuplicateOrderId);
        }
        if !self.state.ledger.try_reserve(account, State::asset_of(new.side, instrument), reserved) {
            return Err(asset_shortfall(new.side));
        }
        let sequence = self.state.next_sequence;
        self.state.next_sequence += 1;
        let slot = self.state.orders.insert(Order {
            id: new.order_id,
            account,
            instrument,
            side: new.side,
            kind,
            time_in_force: new.time_in_force,
            self_trade: new.self_trade_prevention.unwrap_or(self.config.self_trade_prevention),
            post_only: new.post_only,
            has_client_id: new.client_order_id.is_some(),
            price,
            stop_price,
            trail,
            watermark,
            quantity,
            filled: 0,
            budget,
            reserved,
            sequence,
            prev: NIL,
            next: NIL,
        });
        self.state.order_index.insert(new.order_id, slot);
        if let Some(client_id) = &new.client_order_id {
            self.state.client_ids.insert((account, client_id.clone()), new.order_id);
            let client_id = client_id.clone();
            self.state.order_client_ids.insert(new.order_id, client_id);
        }
        self.state.count_open_order(slot);
        if limited && let Some(activity) = self.state.accounts[account as usize].activity.as_mut() {
            activity.accepted(self.now, value);
            if new.side == Side::Buy && budget == 0 {
                activity.add_open_buy(instrument, quantity);
            }
        }
        events.push(Event::OrderAccepted(AcceptedOrder {
            order_id: new.order_id,
            account: new.account,
            symbol: new.symbol,
            side: new.side,
            kind: new.kind,
            time_in_force: new.time_in_force,
            quantity: Quantity::from_raw(quantity),
            notional: (budget > 0).then_some(Money::from_raw(budget)),
            client_order_id: new.client_order_id.clone(),
            reserved_cash: Money::from_raw(if new.side == Side::Buy { reserved } else { 0 }),
            post_only: new.post_only,
            self_trade_prevention: new.self_trade_prevention,
        }));
        Ok((instrument, slot))
    }

    /// Sends a freshly accepted order to the stop maps or to matching.
    pub(crate) fn dispatch(&mut self, instrument: u32, slot: u32, events: &mut Vec<Event>) {
        let order = self.state.orders.get(slot);
        if order.time_in_force.waits_for_auction() || self.instruments[instrument as usize].session_closed {
            if !order.time_in_force.waits_for_auction() && self.quotes_while_closed(instrument, slot) {
                return self.rest(instrument, slot);
            }
            let sequence = order.sequence;
            self.books[instrument as usize].waiting.insert(sequence, slot);
            return;
        }
        let is_stop = matches!(order.kind, StoredKind::Stop | StoredKind::StopLimit | StoredKind::TrailingStop);
        if !is_stop {
            return self.execute(instrument, slot, events);
        }
        if self.stop_reached(instrument, order.side, order.stop_price) {
            self.state.triggered.push(slot);
            return;
        }
        let (side, key, is_trailing) = (order.side, (order.stop_price, order.sequence), order.trail.is_some());
        let book = &mut self.books[instrument as usize];
        book.stops_mut(side).insert(key, slot);
        if is_trailing {
            book.trailing.insert(key.1, slot);
        }
    }

    /// Whether an order taken while its market is closed stands in the book at once rather
    /// than waiting for the open: the liquidity provider's limit quote that would not
    /// cross it (a closed market matches nothing). So the orders queued for the open meet
    /// the house's quotes when they enter, however the open falls between its re-quotes.
    fn quotes_while_closed(&self, instrument: u32, slot: u32) -> bool {
        let order = self.state.orders.get(slot);
        order.kind == StoredKind::Limit
            && self.state.accounts[order.account as usize].kind == AccountKind::House
            && self.books[instrument as usize].ladder(order.side.opposite()).best_price().is_none_or(|best| !crosses(order.side, order.price, best))
    }

    /// Puts a limit order in its ladder without matching (it crosses nothing).
    #[inline]
    fn rest(&mut self, instrument: u32, slot: u32) {
        let order = self.state.orders.get(slot);
        let (side, price) = (order.side, order.price);
        if side == Side::Buy {
            let fee_bps = self.reservation_fee_bps();
            self.state.release_buy_excess(slot, fee_bps);
        }
        book::push_back(self.books[instrument as usize].ladder_mut(side), &mut self.state.orders, price, slot);
    }

    /// Whether the instrument's last trade has reached a `side` stop at `stop`.
    fn stop_reached(&self, instrument: u32, side: Side, stop: i64) -> bool {
        let last = self.instruments[instrument as usize].last_price;
        last != 0
            && match side {
                Side::Buy => last >= stop,
                Side::Sell => last <= stop,
            }
    }

    /// Runs stops triggered by trades until none is left.
    #[inline]
    pub(crate) fn run_triggered(&mut self, instrument: u32, events: &mut Vec<Event>) {
        if !self.state.triggered.is_empty() {
            self.run_triggered_queue(instrument, events);
        }
    }

    fn run_triggered_queue(&mut self, instrument: u32, events: &mut Vec<Event>) {
        let mut next = 0;
        while next < self.state.triggered.len() {
            let slot = self.state.triggered[next];
            next += 1;
            if !self.state.groups.is_empty() && !self.take_over_exit(slot, events) {
                continue;
            }
            let spec = self.instruments[instrument as usize].spec;
            let order = self.state.orders.get_mut(slot);
            let stop_price = order.stop_price;
            match order.kind {
                StoredKind::StopLimit => order.kind = StoredKind::Limit,
                _ => {
                    let banded = banded_price(stop_price, spec.price_band_bps, order.side == Side::Buy, spec.tick_size.raw());
                    // A buy's reservation was made at the original cap: never exceed it.
                    order.price = if order.side == Side::Buy { banded.min(order.price) } else { banded };
                    order.kind = StoredKind::Market;
                }
            }
            order.trail = None;
            // It enters the book now, so it queues behind what is already there.
            order.sequence = self.state.next_sequence;
            self.state.next_sequence += 1;
            let order = self.state.orders.get(slot);
            let (order_id, account) = (order.id, order.account);
            events.push(Event::OrderTriggered {
                order_id,
                account: self.state.accounts[account as usize].id,
                symbol: spec.symbol,
                stop_price: Price::from_raw(stop_price),
            });
            self.execute(instrument, slot, events);
        }
        self.state.triggered.clear();
    }

    /// Quantity the taker could fill now, walking the opposite side as matching would.
    fn fillable(&self, instrument: u32, slot: u32) -> i64 {
        let orders = &self.state.orders;
        let taker = orders.get(slot);
        let book = &self.books[instrument as usize];
        let mut total = 0;
        for (price, level) in book.ladder(taker.side.opposite()).levels_best_first() {
            if !crosses(taker.side, taker.price, price) || total >= taker.quantity {
                break;
            }
            let mut cursor = level.head;
            while cursor != NIL {
                let maker = orders.get(cursor);
                if maker.account == taker.account {
                    if taker.self_trade != SelfTradePrevention::CancelResting {
                        return total;
                    }
                } else {
                    total += maker.leaves();
                }
                cursor = maker.next;
            }
        }
        total
    }

    /// Matches a taker against the book, then rests, kills or finishes it.
    fn execute(&mut self, instrument: u32, slot: u32, events: &mut Vec<Event>) {
        let symbol = self.instruments[instrument as usize].spec.symbol;
        {
            let order = self.state.orders.get(slot);
            if order.time_in_force == TimeInForce::FillOrKill && self.fillable(instrument, slot) < order.quantity {
                return self.state.finish(slot, instrument, symbol, DoneReason::FillOrKillUnfillable, events);
            }
        }
        let order = self.state.orders.get(slot);
        let opposite_best = self.books[instrument as usize].ladder(order.side.opposite()).best_price();
        // Most orders do not cross: skip setting up a match that cannot trade.
        let outcome = match opposite_best {
            Some(best) if crosses(order.side, order.price, best) => self.match_taker(instrument, slot, events),
            _ => MatchOutcome::BookExhausted,
        };
        let order = self.state.orders.get(slot);
        let reason = match outcome {
            MatchOutcome::SelfTradeStopped => Some(DoneReason::SelfTradePrevented),
            MatchOutcome::BudgetSpent => Some(if order.filled > 0 { DoneReason::Filled } else { DoneReason::Unfilled }),
            MatchOutcome::BookExhausted if order.is_budget() => Some(if order.filled > 0 { DoneReason::Filled } else { DoneReason::Unfilled }),
            MatchOutcome::BookExhausted if order.leaves() == 0 => Some(DoneReason::Filled),
            MatchOutcome::BookExhausted => {
                let rests = order.kind == StoredKind::Limit && matches!(order.time_in_force, TimeInForce::GoodTillCancel | TimeInForce::Day);
                if rests { None } else { Some(DoneReason::Unfilled) }
            }
        };
        match reason {
            Some(reason) => self.state.finish(slot, instrument, symbol, reason, events),
            None => self.rest(instrument, slot),
        }
    }

    fn match_taker(&mut self, instrument: u32, taker: u32, events: &mut Vec<Event>) -> MatchOutcome {
        let fees = (self.config.maker_fee_bps, self.config.taker_fee_bps);
        let fee_bps = self.reservation_fee_bps();
        let market = &mut self.instruments[instrument as usize];
        let symbol = market.spec.symbol;
        let tick = market.spec.tick_size.raw();
        let lot = market.spec.lot_size.raw();
        let book = &mut self.books[instrument as usize];
        let state = &mut self.state;
        let (side, limit, taker_account, self_trade, taker_id) = {
            let order = state.orders.get(taker);
            (order.side, order.price, order.account, order.self_trade, order.id)
        };
        loop {
            let taker_order = state.orders.get(taker);
            let is_budget = taker_order.is_budget();
            let budget = taker_order.budget;
            let mut wanted = taker_order.leaves();
            if is_budget && budget == 0 {
                return MatchOutcome::BudgetSpent;
            }
            if !is_budget && wanted == 0 {
                return MatchOutcome::BookExhausted;
            }
            let ladder = book.ladder_mut(side.opposite());
            let Some(price) = ladder.best_price() else { return MatchOutcome::BookExhausted };
            if !crosses(side, limit, price) {
                return MatchOutcome::BookExhausted;
            }
            if is_budget {
                wanted = budget / price / lot * lot;
                if wanted == 0 {
                    return MatchOutcome::BudgetSpent;
                }
            }
            let level = ladder.level_mut(price).expect("invariant: the best level exists");
            let maker = level.head;
            let (maker_account, maker_leaves, maker_id, maker_side) = {
                let order = state.orders.get(maker);
                (order.account, order.leaves(), order.id, order.side)
            };
            if maker_account == taker_account {
                if self_trade != SelfTradePrevention::CancelTaking {
                    book::unlink_from_level(level, &mut state.orders, maker);
                    level.quantity -= maker_leaves;
                    level.count -= 1;
                    if level.count == 0 {
                        ladder.remove_level(price);
                    }
                    state.finish(maker, instrument, symbol, DoneReason::SelfTradePrevented, events);
                }
                if self_trade == SelfTradePrevention::CancelResting {
                    continue;
                }
                return MatchOutcome::SelfTradeStopped;
            }
            let quantity = wanted.min(maker_leaves);
            let (taker_fee, maker_fee) = state.settle(instrument, taker, maker, price, quantity, fees);
            market.last_price = price;
            market.sequence += 1;
            let trade_id = TradeId(state.next_trade_id);
            state.next_trade_id += 1;
            events.push(Event::Trade(Trade {
                trade_id,
                symbol,
                sequence: market.sequence,
                price: Price::from_raw(price),
                quantity: Quantity::from_raw(quantity),
                taker_side: side,
                taker_order_id: taker_id,
                taker_account: state.accounts[taker_account as usize].id,
                maker_order_id: maker_id,
                maker_account: state.accounts[maker_account as usize].id,
                taker_fee: Money::from_raw(taker_fee),
                maker_fee: Money::from_raw(maker_fee),
            }));
            level.quantity -= quantity;
            if maker_leaves == quantity {
                book::unlink_from_level(level, &mut state.orders, maker);
                level.count -= 1;
                if level.count == 0 {
                    ladder.remove_level(price);
                }
                state.finish(maker, instrument, symbol, DoneReason::Filled, events);
            } else if maker_side == Side::Buy {
                state.release_buy_excess(maker, fee_bps);
            }
            if side == Side::Buy && state.orders.get(taker).kind == StoredKind::Limit {
                state.release_buy_excess(taker, fee_bps);
            }
            if !book.buy_stops.is_empty() || !book.sell_stops.is_empty() {
                trigger_stops(book, &mut state.orders, price, tick, &mut state.triggered);
            }
        }
    }

    /// Emits a best-bid-offer event if the top of the book changed.
    #[inline]
    pub(crate) fn publish_best_bid_offer(&mut self, instrument: u32, events: &mut Vec<Event>) {
        if self.state.top_deferred {
            return;
        }
        let book = &mut self.books[instrument as usize];
        let bids_changed = book.bids.take_top_changed();
        let asks_changed = book.asks.take_top_changed();
        if bids_changed || asks_changed {
            self.publish_changed_best_bid_offer(instrument, bids_changed, asks_changed, events);
        }
    }

    fn publish_changed_best_bid_offer(&mut self, instrument: u32, bids_changed: bool, asks_changed: bool, events: &mut Vec<Event>) {
        let book = &self.books[instrument as usize];
        let market = &mut self.instruments[instrument as usize];
        let bid = if bids_changed { book_level(book.best(Side::Buy)) } else { market.best_bid };
        let ask = if asks_changed { book_level(book.best(Side::Sell)) } else { market.best_ask };
        if market.best_bid == bid && market.best_ask == ask {
            return;
        }
        market.best_bid = bid;
        market.best_ask = ask;
        market.sequence += 1;
        events.push(Event::BestBidOffer { symbol: market.spec.symbol, sequence: market.sequence, bid, ask });
    }

    /// Finds an open order of `account`; other accounts' orders look unknown.
    #[inline]
    fn owned_order(&self, account: AccountId, order_id: OrderId) -> Option<u32> {
        let slot = self.state.order_index.get(order_id)?;
        let owner = self.state.orders.get(slot).account;
        (self.state.accounts[owner as usize].id == account).then_some(slot)
    }

    /// Whether the open order at `slot` waits for a session edge: an order for the open or
    /// close, or one taken while its market was closed.
    #[inline]
    pub(crate) fn is_waiting(&self, slot: u32) -> bool {
        let order = self.state.orders.get(slot);
        order.time_in_force.waits_for_auction() || self.books[order.instrument as usize].holds_waiting(order.sequence, slot)
    }

    /// Whether the order at `slot` was taken while its market was closed and waits for the
    /// open (an OPG or CLS order waits for its edge, not for the market to open).
    pub(crate) fn is_queued(&self, slot: u32) -> bool {
        let order = self.state.orders.get(slot);
        !order.time_in_force.waits_for_auction() && self.books[order.instrument as usize].holds_waiting(order.sequence, slot)
    }

    /// Takes an open order out of its queue or stop map.
    #[inline]
    pub(crate) fn detach(&mut self, slot: u32) {
        let order = self.state.orders.get(slot);
        let book = &mut self.books[order.instrument as usize];
        if order.time_in_force.waits_for_auction() || book.holds_waiting(order.sequence, slot) {
            book.waiting.remove(&order.sequence);
            return;
        }
        match order.kind {
            StoredKind::Limit => book::unlink(book.ladder_mut(order.side), &mut self.state.orders, slot),
            StoredKind::Stop | StoredKind::StopLimit | StoredKind::TrailingStop => {
                let (side, key) = (order.side, (order.stop_price, order.sequence));
                book.stops_mut(side).remove(&key);
                book.trailing.remove(&key.1);
            }
            StoredKind::Market => unreachable!("invariant: market orders never stay open between commands"),
        }
    }

    fn cancel(&mut self, account: AccountId, order_id: OrderId, events: &mut Vec<Event>) {
        let Some(slot) = self.owned_order(account, order_id) else {
            // A held exit leg is no order in the book yet: cancelling it ends the exits.
            if !self.state.groups.is_empty() && self.cancel_held_leg(account, order_id, events) {
                return;
            }
            return events.push(Self::command_rejected(Some(account), Some(order_id), RejectReason::UnknownOrder));
        };
        let instrument = self.state.orders.get(slot).instrument;
        self.detach(slot);
        let symbol = self.instruments[instrument as usize].spec.symbol;
        self.state.finish(slot, instrument, symbol, DoneReason::Cancelled, events);
        self.publish_best_bid_offer(instrument, events);
    }

    fn replace(&mut self, account: AccountId, order_id: OrderId, change: Change, events: &mut Vec<Event>) {
        match self.try_replace(account, order_id, change, events) {
            Ok(instrument) => {
                self.run_triggered(instrument, events);
                self.publish_best_bid_offer(instrument, events);
            }
            Err(reason) => events.push(Self::command_rejected(Some(account), Some(order_id), reason)),
        }
    }

    fn try_replace(&mut self, account: AccountId, order_id: OrderId, change: Change, events: &mut Vec<Event>) -> Result<u32, RejectReason> {
        let slot = self.owned_order(account, order_id).ok_or(RejectReason::UnknownOrder)?;
        let renames = change.client_order_id.is_some() || change.time_in_force.is_some();
        if (change.quantity.is_some() || renames) && !self.state.groups.is_empty() && self.is_exit_leg(order_id) {
            return Err(RejectReason::NotReplaceable);
        }
        let order = self.state.orders.get(slot);
        let instrument = order.instrument;
        // An OPG or CLS limit order takes a new size or price (and waits for its edge
        // again, behind the orders already waiting), but keeps its time in force.
        if order.kind == StoredKind::Market || (order.time_in_force.waits_for_auction() && change.time_in_force.is_some()) {
            return Err(RejectReason::NotReplaceable);
        }
        let market = &self.instruments[instrument as usize];
        if market.halted {
            return Err(RejectReason::InstrumentHalted);
        }
        // While the market is closed nothing may trade: an order with a new size or prices
        // waits for the open (a stop is checked against the last trade then); a post-only
        // order's cannot be, as the book it will meet is not known yet.
        if market.session_closed && change.reshapes() && order.post_only {
            return Err(RejectReason::MarketClosed);
        }
        if change.time_in_force.is_some_and(|time_in_force| !matches!(time_in_force, TimeInForce::GoodTillCancel | TimeInForce::Day)) {
            return Err(RejectReason::InvalidOrder);
        }
        let owner = order.account;
        if let Some(client_id) = &change.client_order_id
            && self.state.client_ids.get(&(owner, client_id.clone())).is_some_and(|&holder| holder != order_id)
        {
            return Err(RejectReason::DuplicateClientOrderId);
        }
        if !change.reshapes() {
            if !renames {
                return Err(RejectReason::InvalidOrder);
            }
            self.rename(slot, change.client_order_id.clone(), change.time_in_force);
            events.push(self.replaced_as_it_stands(slot, change));
            return Ok(instrument);
        }
        // The new name and lifetime hold before the order can trade again (its fills carry
        // them), and are undone if the new size or prices are refused. A replace that only
        // reshapes (most: a bot moving its price) leaves the name alone.
        let before = renames.then(|| self.rename(slot, change.client_order_id.clone(), change.time_in_force));
        let reshaped = match self.state.orders.get(slot).kind {
            StoredKind::Limit => self.replace_limit(slot, change, events),
            _ => self.replace_stop(slot, change, events),
        };
        if reshaped.is_err()
            && let Some((client_id, time_in_force)) = before
        {
            self.restore_name(slot, client_id, time_in_force);
        }
        reshaped
    }

    /// Gives the order at `slot` a new client order id and/or time in force; returns what
    /// it had.
    fn rename(&mut self, slot: u32, client_id: Option<ClientOrderId>, time_in_force: Option<TimeInForce>) -> (Option<ClientOrderId>, TimeInForce) {
        let order = self.state.orders.get(slot);
        let before = (self.state.order_client_ids.get(&order.id).cloned(), order.time_in_force);
        self.restore_name(slot, client_id.or_else(|| before.0.clone()), time_in_force.unwrap_or(before.1));
        before
    }

    /// Sets the order's client order id (none: it has none) and time in force.
    fn restore_name(&mut self, slot: u32, client_id: Option<ClientOrderId>, time_in_force: TimeInForce) {
        let order = self.state.orders.get_mut(slot);
        order.time_in_force = time_in_force;
        order.has_client_id = client_id.is_some();
        let (order_id, owner) = (order.id, order.account);
        if let Some(old) = self.state.order_client_ids.remove(&order_id) {
            self.state.client_ids.remove(&(owner, old));
        }
        if let Some(client_id) = client_id {
            self.state.client_ids.insert((owner, client_id.clone()), order_id);
            self.state.order_client_ids.insert(order_id, client_id);
        }
    }

    /// `OrderReplaced` for an order whose size and prices stay as they are.
    fn replaced_as_it_stands(&self, slot: u32, change: Change) -> Event {
        let order = self.state.orders.get(slot);
        let kind = order.kind;
        Event::OrderReplaced {
            order_id: order.id,
            account: self.state.accounts[order.account as usize].id,
            symbol: self.instruments[order.instrument as usize].spec.symbol,
            price: matches!(kind, StoredKind::Limit | StoredKind::StopLimit).then_some(Price::from_raw(order.price)),
            stop_price: matches!(kind, StoredKind::Stop | StoredKind::StopLimit | StoredKind::TrailingStop).then_some(Price::from_raw(order.stop_price)),
            trail: order.trail,
            quantity: Quantity::from_raw(order.quantity),
            filled: Quantity::from_raw(order.filled),
            priority_kept: true,
            client_order_id: change.client_order_id.map(Box::new),
            time_in_force: change.time_in_force,
        }
    }

    /// A resting limit order's new quantity and/or limit price.
    fn replace_limit(&mut self, slot: u32, change: Change, events: &mut Vec<Event>) -> Result<u32, RejectReason> {
        let order = self.state.orders.get(slot);
        let (order_id, instrument) = (order.id, order.instrument);
        let account = self.state.accounts[order.account as usize].id;
        let market = &self.instruments[instrument as usize];
        let Change { quantity, price, stop_price, trail, client_order_id, time_in_force } = change;
        if stop_price.is_some() || trail.is_some() || (quantity.is_none() && price.is_none()) {
            return Err(RejectReason::InvalidOrder);
        }
        let (symbol, minimum) = (market.spec.symbol, market.spec.min_quantity);
        let new_price = match price {
            Some(price) => Self::check_price(price, market.tick)?,
            None => order.price,
        };
        let new_quantity = match quantity {
            Some(quantity) => Self::check_quantity(quantity, minimum, market.lot)?,
            None => order.quantity,
        };
        if new_quantity <= order.filled {
            return Err(RejectReason::InvalidQuantity);
        }
        let (side, owner, old_leaves) = (order.side, order.account, order.leaves());
        let new_leaves = new_quantity - order.filled;
        let fee_bps = self.reservation_fee_bps();
        let account_kind = self.state.accounts[owner as usize].kind;
        let limited = account_kind != AccountKind::House && self.state.accounts[owner as usize].activity.is_some();
        if limited {
            let notional = i64::try_from(i128::from(new_price) * i128::from(new_quantity)).map_err(|_| RejectReason::NotionalTooLarge)?;
            let draft = Draft {
                instrument,
                side,
                order_type: OrderTypes::LIMIT,
                quantity: new_quantity,
                notional,
                share_price: new_price,
                open_orders: self.state.accounts[owner as usize].open_orders - 1,
                adds: if side == Side::Buy { new_leaves - old_leaves } else { 0 },
                counts_as_new: false,
            };
            self.check_limits(owner, &draft).map_err(RejectReason::LimitBreached)?;
        }
        let buy_delta = if side == Side::Buy { new_leaves - old_leaves } else { 0 };
        let order = self.state.orders.get(slot);
        let filled = Quantity::from_raw(order.filled);
        let event = |priority_kept| Event::OrderReplaced {
            order_id,
            account,
            symbol,
            price: Some(Price::from_raw(new_price)),
            stop_price: None,
            trail: None,
            quantity: Quantity::from_raw(new_quantity),
            filled,
            priority_kept,
            client_order_id: client_order_id.map(Box::new),
            time_in_force,
        };
        if new_price == order.price && new_leaves <= old_leaves && !self.is_waiting(slot) {
            // Reducing in place keeps time priority.
            let level = self.books[instrument as usize].ladder_mut(side).level_mut(new_price).expect("invariant: a resting order's level exists");
            level.quantity -= old_leaves - new_leaves;
            let order = self.state.orders.get_mut(slot);
            order.quantity = new_quantity;
            match side {
                Side::Buy => self.state.release_buy_excess(slot, fee_bps),
                Side::Sell => {
                    let excess = order.reserved - new_leaves;
                    order.reserved = new_leaves;
                    let shares = AssetIndex::Shares(instrument);
                    self.state.ledger.shift(owner, shares, Bucket::Reserved, Bucket::Available, excess);
                }
            }
            self.state.note_open_buy(owner, instrument, buy_delta);
            events.push(event(true));
            return Ok(instrument);
        }
        let book = &self.books[instrument as usize];
        if order.post_only
            && let Some((best, _)) = book.best(side.opposite())
            && crosses(side, new_price, best)
        {
            return Err(RejectReason::PostOnlyWouldCross);
        }
        let required = match side {
            Side::Buy => buy_reservation(new_price, new_leaves, fee_bps).ok_or(RejectReason::NotionalTooLarge)?,
            Side::Sell => new_leaves,
        };
        self.resize_reservation(owner, side, instrument, order.reserved, required)?;
        self.detach(slot);
        let sequence = self.state.next_sequence;
        self.state.next_sequence += 1;
        let order = self.state.orders.get_mut(slot);
        order.price = new_price;
        order.quantity = new_quantity;
        order.reserved = required;
        order.sequence = sequence;
        self.state.note_open_buy(owner, instrument, buy_delta);
        events.push(event(false));
        // Trades now, or waits for the open when the market is closed.
        self.dispatch(instrument, slot, events);
        Ok(instrument)
    }

    /// Takes `owner`'s reservation for one replaced order from `held` to `required`: more
    /// is reserved (refused when not available) or the excess freed.
    fn resize_reservation(&mut self, owner: u32, side: Side, instrument: u32, held: i64, required: i64) -> Result<(), RejectReason> {
        let asset = State::asset_of(side, instrument);
        if required > held {
            if !self.state.ledger.try_reserve(owner, asset, required - held) {
                return Err(asset_shortfall(side));
            }
        } else {
            self.state.ledger.shift(owner, asset, Bucket::Reserved, Bucket::Available, held - required);
        }
        Ok(())
    }

    /// Replaces a stop, stop-limit or trailing stop order waiting for its trigger: a new
    /// stop price, limit price (stop-limit only), trail (trailing stop only, its trigger
    /// then recomputed from the price it has trailed) and/or total quantity, checked as a
    /// new order's would be.
    /// Its reservation follows the new prices and quantity (a stop loss sharing its take
    /// profit's reservation holds none, and takes it over when triggered, as before). It
    /// keeps its place among the stops only when nothing but its quantity shrinks; a stop
    /// the last trade has already reached triggers now.
    fn replace_stop(&mut self, slot: u32, change: Change, events: &mut Vec<Event>) -> Result<u32, RejectReason> {
        let order = self.state.orders.get(slot);
        let (order_id, instrument, side, kind, owner) = (order.id, order.instrument, order.side, order.kind, order.account);
        let market = &self.instruments[instrument as usize];
        if market.halted {
            return Err(RejectReason::InstrumentHalted);
        }
        let nothing = change.quantity.is_none() && change.price.is_none() && change.stop_price.is_none() && change.trail.is_none();
        // Only a stop-limit order has a limit price; a trailing stop's trigger follows its
        // trail, which only it has.
        let trailing = kind == StoredKind::TrailingStop;
        let misfit =
            (kind != StoredKind::StopLimit && change.price.is_some()) || (trailing && change.stop_price.is_some()) || (!trailing && change.trail.is_some());
        if nothing || misfit {
            return Err(RejectReason::InvalidOrder);
        }
        let spec = market.spec;
        let tick = spec.tick_size.raw();
        let new_stop = match (change.stop_price, change.trail) {
            (Some(stop), _) => Self::check_price(stop, market.tick)?,
            (None, Some(trail)) => {
                Self::check_trail(trail, market.tick)?;
                let stop = trailing_stop_price(side, order.watermark, trail, tick);
                if stop <= 0 {
                    return Err(RejectReason::InvalidPrice);
                }
                stop
            }
            (None, None) => order.stop_price,
        };
        let new_trail = change.trail.or(order.trail);
        let new_price = match (kind, change.price) {
            (StoredKind::StopLimit, Some(price)) => Self::check_price(price, market.tick)?,
            (StoredKind::Stop | StoredKind::TrailingStop, _) if new_stop != order.stop_price => {
                banded_price(new_stop, spec.price_band_bps, side == Side::Buy, tick)
            }
            _ => order.price,
        };
        let new_quantity = match change.quantity {
            Some(quantity) => Self::check_quantity(quantity, spec.min_quantity, market.lot)?,
            None => order.quantity,
        };
        if new_quantity <= order.filled {
            return Err(RejectReason::InvalidQuantity);
        }
        let (old_leaves, new_leaves) = (order.leaves(), new_quantity - order.filled);
        let account_kind = self.state.accounts[owner as usize].kind;
        if account_kind != AccountKind::House && self.state.accounts[owner as usize].activity.is_some() {
            let notional = i64::try_from(i128::from(new_price) * i128::from(new_quantity)).map_err(|_| RejectReason::NotionalTooLarge)?;
            let draft = Draft {
                instrument,
                side,
                order_type: match kind {
                    StoredKind::Stop => OrderTypes::STOP,
                    StoredKind::TrailingStop => OrderTypes::TRAILING_STOP,
                    _ => OrderTypes::STOP_LIMIT,
                },
                quantity: new_quantity,
                notional,
                share_price: if kind == StoredKind::StopLimit { new_price } else { new_stop },
                open_orders: self.state.accounts[owner as usize].open_orders - 1,
                adds: if side == Side::Buy { new_leaves - old_leaves } else { 0 },
                counts_as_new: false,
            };
            self.check_limits(owner, &draft).map_err(RejectReason::LimitBreached)?;
        }
        let shares_reservation = !self.state.groups.is_empty() && self.reservation_holder(order_id).is_some();
        let order = self.state.orders.get(slot);
        let held = order.reserved;
        let required = match (shares_reservation, side) {
            (true, _) => 0,
            (false, Side::Sell) => new_leaves,
            (false, Side::Buy) => buy_reservation(new_price, new_leaves, self.reservation_fee_bps()).ok_or(RejectReason::NotionalTooLarge)?,
        };
        let priority_kept = new_stop == order.stop_price && new_price == order.price && new_trail == order.trail && new_leaves <= old_leaves;
        let old_sequence = order.sequence;
        self.resize_reservation(owner, side, instrument, held, required)?;
        // Out of its stop map, or out of the queue for the open.
        self.detach(slot);
        let sequence = if priority_kept {
            old_sequence
        } else {
            self.state.next_sequence += 1;
            self.state.next_sequence - 1
        };
        let order = self.state.orders.get_mut(slot);
        order.stop_price = new_stop;
        order.price = new_price;
        order.trail = new_trail;
        order.quantity = new_quantity;
        order.reserved = required;
        order.sequence = sequence;
        let (account, filled) = (self.state.accounts[owner as usize].id, Quantity::from_raw(order.filled));
        if side == Side::Buy {
            self.state.note_open_buy(owner, instrument, new_leaves - old_leaves);
        }
        events.push(Event::OrderReplaced {
            order_id,
            account,
            symbol: spec.symbol,
            price: (kind == StoredKind::StopLimit).then_some(Price::from_raw(new_price)),
            stop_price: Some(Price::from_raw(new_stop)),
            trail: new_trail,
            quantity: Quantity::from_raw(new_quantity),
            filled,
            priority_kept,
            client_order_id: change.client_order_id.map(Box::new),
            time_in_force: change.time_in_force,
        });
        if self.instruments[instrument as usize].session_closed {
            // Nothing triggers while the market is closed: the stop waits for the open.
            self.books[instrument as usize].waiting.insert(sequence, slot);
        } else if self.stop_reached(instrument, side, new_stop) {
            self.state.triggered.push(slot);
        } else {
            let book = &mut self.books[instrument as usize];
            book.stops_mut(side).insert((new_stop, sequence), slot);
            if trailing {
                book.trailing.insert(sequence, slot);
            }
        }
        Ok(instrument)
    }

    fn cancel_all(&mut self, account: AccountId, symbol: Option<Symbol>, events: &mut Vec<Event>) {
        let Some(&owner) = self.state.account_index.get(&account) else {
            return events.push(Self::command_rejected(Some(account), None, RejectReason::UnknownAccount));
        };
        let only = match symbol {
            Some(symbol) => match self.symbols.get(&symbol) {
                Some(&instrument) => Some(instrument),
                None => {
                    return events.push(Self::command_rejected(Some(account), None, RejectReason::UnknownSymbol));
                }
            },
            None => None,
        };
        // No per-account order index is kept: it would cost every fill two cache misses in
        // deep books, while cancel-all is rare. Scan the books it covers instead.
        let mut slots = Vec::new();
        if self.state.accounts[owner as usize].open_orders > 0 {
            let instruments: Vec<u32> = match only {
                Some(instrument) => vec![instrument],
                None => (0..self.books.len() as u32).collect(),
            };
            for instrument in instruments {
                let book = &self.books[instrument as usize];
                slots.extend(book.order_slots(&self.state.orders).into_iter().filter(|&slot| self.state.orders.get(slot).account == owner));
            }
        }
        self.cancel_slots(slots, DoneReason::Cancelled, events);
    }

    /// Replaces the account's orders in `symbol` with `orders` as one step: what
    /// [`Command::Requote`] says.
    fn requote(&mut self, account: AccountId, symbol: Symbol, orders: &[QuoteOrder], events: &mut Vec<Event>) {
        let first = events.len();
        self.state.top_deferred = true;
        self.cancel_all(account, Some(symbol), events);
        // An unknown account or symbol: cancelling was refused, and so would each order be.
        if !matches!(events.get(first), Some(Event::CommandRejected { .. })) {
            for order in orders {
                let new = NewOrder {
                    order_id: order.order_id,
                    account,
                    symbol,
                    side: order.side,
                    kind: OrderKind::Limit { price: order.price },
                    size: OrderSize::Quantity(order.quantity),
                    time_in_force: TimeInForce::GoodTillCancel,
                    post_only: false,
                    client_order_id: None,
                    self_trade_prevention: None,
                };
                self.place(&new, events);
            }
        }
        self.state.top_deferred = false;
        if let Some(&instrument) = self.symbols.get(&symbol) {
            self.publish_best_bid_offer(instrument, events);
        }
    }

    /// Cancels orders in acceptance order (never in storage order, which a snapshot changes).
    fn cancel_slots(&mut self, mut slots: Vec<u32>, reason: DoneReason, events: &mut Vec<Event>) {
        slots.sort_by_key(|&slot| self.state.orders.get(slot).sequence);
        let mut touched = Vec::new();
        for slot in slots {
            let instrument = self.state.orders.get(slot).instrument;
            self.detach(slot);
            let symbol = self.instruments[instrument as usize].spec.symbol;
            self.state.finish(slot, instrument, symbol, reason, events);
            touched.push(instrument);
        }
        touched.sort_unstable();
        touched.dedup();
        for instrument in touched {
            self.publish_best_bid_offer(instrument, events);
        }
    }

    /// The instruments a session command is about: one, or all.
    fn session_instruments(&self, symbol: Option<Symbol>) -> Result<Vec<u32>, RejectReason> {
        match symbol {
            Some(symbol) => self.symbols.get(&symbol).map(|&instrument| vec![instrument]).ok_or(RejectReason::UnknownSymbol),
            None => Ok((0..self.instruments.len() as u32).collect()),
        }
    }

    fn set_session(&mut self, symbol: Option<Symbol>, open: bool, events: &mut Vec<Event>) {
        let instruments = match self.session_instruments(symbol) {
            Ok(instruments) => instruments,
            Err(reason) => return events.push(Self::command_rejected(None, None, reason)),
        };
        for instrument in instruments {
            let market = &mut self.instruments[instrument as usize];
            let symbol = market.spec.symbol;
            if market.session_closed == open {
                market.session_closed = !open;
                events.push(if open { Event::SessionOpened { symbol } } else { Event::SessionClosed { symbol } });
            }
            if open {
                self.run_waiting(instrument, Some(TimeInForce::AtTheOpen), events);
                self.run_waiting(instrument, None, events);
            }
        }
    }

    /// Lets the orders waiting for a session edge into the market, in acceptance order,
    /// each re-sequenced as a new arrival. `Some(edge)` (OPG or CLS): its orders trade at
    /// once as IOC. `None`, at the open after the OPG orders: the orders taken while the
    /// market was closed, each with `OrderReleased`, keep how long they last and may rest.
    fn run_waiting(&mut self, instrument: u32, edge: Option<TimeInForce>, events: &mut Vec<Event>) {
        let book = &self.books[instrument as usize];
        let slots: Vec<(u64, u32)> = book
            .waiting
            .iter()
            .filter(|&(_, &slot)| {
                let time_in_force = self.state.orders.get(slot).time_in_force;
                edge.map_or(!time_in_force.waits_for_auction(), |edge| time_in_force == edge)
            })
            .map(|(&sequence, &slot)| (sequence, slot))
            .collect();
        if slots.is_empty() {
            return;
        }
        for (sequence, slot) in slots {
            // One that ended while others traded (an exit cancelled by its sibling) is gone.
            if self.books[instrument as usize].waiting.remove(&sequence) != Some(slot) {
                continue;
            }
            let next_sequence = self.state.next_sequence;
            self.state.next_sequence += 1;
            let order = self.state.orders.get_mut(slot);
            order.sequence = next_sequence;
            if edge.is_some() {
                order.time_in_force = TimeInForce::ImmediateOrCancel;
            } else {
                let (order_id, account) = (order.id, self.state.accounts[order.account as usize].id);
                events.push(Event::OrderReleased { order_id, account, symbol: self.instruments[instrument as usize].spec.symbol });
            }
            if !self.rebase_market(instrument, slot, events) {
                continue;
            }
            if edge.is_some() {
                self.execute(instrument, slot, events);
            } else {
                self.dispatch(instrument, slot, events);
            }
            self.run_triggered(instrument, events);
        }
        self.publish_best_bid_offer(instrument, events);
    }

    /// A market order about to trade at a session edge is capped from the book as it is
    /// now (a buy never above the cap it reserved for); with nothing to trade against it
    /// ends unfilled (false).
    fn rebase_market(&mut self, instrument: u32, slot: u32, events: &mut Vec<Event>) -> bool {
        let order = self.state.orders.get(slot);
        if order.kind != StoredKind::Market {
            return true;
        }
        let spec = self.instruments[instrument as usize].spec;
        match self.books[instrument as usize].best(order.side.opposite()).map(|(price, _)| price) {
            Some(reference) => {
                let order = self.state.orders.get_mut(slot);
                let banded = banded_price(reference, spec.price_band_bps, order.side == Side::Buy, spec.tick_size.raw());
                order.price = if order.side == Side::Buy { banded.min(order.price) } else { banded };
                true
            }
            None => {
                self.state.finish(slot, instrument, spec.symbol, DoneReason::Unfilled, events);
                false
            }
        }
    }

    fn end_session(&mut self, symbol: Option<Symbol>, events: &mut Vec<Event>) {
        let instruments = match self.session_instruments(symbol) {
            Ok(instruments) => instruments,
            Err(reason) => return events.push(Self::command_rejected(None, None, reason)),
        };
        for &instrument in &instruments {
            self.run_waiting(instrument, Some(TimeInForce::AtTheClose), events);
        }
        let mut slots = Vec::new();
        for instrument in instruments {
            let book = &self.books[instrument as usize];
            slots.extend(book.order_slots(&self.state.orders).into_iter().filter(|&slot| self.state.orders.get(slot).time_in_force == TimeInForce::Day));
        }
        self.cancel_slots(slots, DoneReason::Expired, events);
    }

    /// Every ledger posting since the last call, when `keep_postings` is set.
    pub fn take_postings(&mut self) -> Vec<crate::Posting> {
        let journal = self.state.ledger.take_journal();
        journal.into_iter().map(|posting| crate::Posting::from_internal(posting, self)).collect()
    }

    pub(crate) fn account_id(&self, index: u32) -> AccountId {
        self.state.accounts[index as usize].id
    }

    pub(crate) fn symbol_of(&self, instrument: u32) -> Symbol {
        self.instruments[instrument as usize].spec.symbol
    }

    // ---- queries ----

    pub fn account(&self, account: AccountId) -> Option<AccountView> {
        let &index = self.state.account_index.get(&account)?;
        let record = &self.state.accounts[index as usize];
        Some(AccountView {
            account,
            kind: record.kind,
            cash: self.state.ledger.balance(index, AssetIndex::Cash),
            holdings: self.state.ledger.holdings(index).iter().map(|&(instrument, balance)| (self.symbol_of(instrument), balance)).collect(),
            open_orders: record.open_orders,
            limits: (*record.limits).clone(),
            group: record.group,
            organisation: record.organisation,
        })
    }

    pub fn order(&self, order_id: OrderId) -> Option<OrderView> {
        let slot = self.state.order_index.get(order_id)?;
        let order = self.state.orders.get(slot);
        let untriggered = matches!(order.kind, StoredKind::Stop | StoredKind::StopLimit | StoredKind::TrailingStop);
        Some(OrderView {
            order_id,
            account: self.account_id(order.account),
            symbol: self.symbol_of(order.instrument),
            side: order.side,
            price: Price::from_raw(order.price),
            stop_price: untriggered.then_some(Price::from_raw(order.stop_price)),
            quantity: Quantity::from_raw(order.quantity),
            filled: Quantity::from_raw(order.filled),
            time_in_force: order.time_in_force,
            client_order_id: self.state.order_client_ids.get(&order_id).cloned(),
            reserved: order.reserved,
            resting: order.kind == StoredKind::Limit,
            watermark: (order.kind == StoredKind::TrailingStop).then_some(Price::from_raw(order.watermark)),
            queued: self.is_queued(slot),
        })
    }

    /// The limits set for a scope, if any.
    pub fn scope_limits(&self, scope: LimitScope) -> Option<AccountLimits> {
        match scope {
            LimitScope::Account(account) => self.account(account).map(|view| view.limits),
            LimitScope::Group(group) => self.state.group_limits.get(&group).cloned(),
            LimitScope::Organisation(organisation) => self.state.organisation_limits.get(&organisation).cloned(),
        }
    }

    pub fn instrument(&self, symbol: Symbol) -> Option<(InstrumentSpec, bool)> {
        let &index = self.symbols.get(&symbol)?;
        let market = &self.instruments[index as usize];
        Some((market.spec, market.halted))
    }

    /// Whether the instrument's market is in its trading session.
    pub fn session_open(&self, symbol: Symbol) -> Option<bool> {
        let &index = self.symbols.get(&symbol)?;
        Some(!self.instruments[index as usize].session_closed)
    }

    /// Listed symbols in listing order.
    pub fn symbols(&self) -> impl Iterator<Item = Symbol> + '_ {
        self.instruments.iter().map(|market| market.spec.symbol)
    }

    pub fn best_bid_offer(&self, symbol: Symbol) -> Option<(Option<BookLevel>, Option<BookLevel>)> {
        let &index = self.symbols.get(&symbol)?;
        let book = &self.books[index as usize];
        Some((book_level(book.best(Side::Buy)), book_level(book.best(Side::Sell))))
    }

    /// Aggregated depth to `levels` price levels per side.
    pub fn depth(&self, symbol: Symbol, levels: usize) -> Option<Depth> {
        let &index = self.symbols.get(&symbol)?;
        let book = &self.books[index as usize];
        let level = |(price, level): (i64, &book::Level)| BookLevel {
            price: Price::from_raw(price),
            quantity: Quantity::from_raw(level.quantity),
            orders: level.count,
        };
        Some(Depth {
            sequence: self.instruments[index as usize].sequence,
            bids: book.bids.levels_best_first().into_iter().take(levels).map(level).collect(),
            asks: book.asks.levels_best_first().into_iter().take(levels).map(level).collect(),
        })
    }

    pub fn last_price(&self, symbol: Symbol) -> Option<Price> {
        let &index = self.symbols.get(&symbol)?;
        let last = self.instruments[index as usize].last_price;
        (last != 0).then_some(Price::from_raw(last))
    }

    /// Number of open orders (resting and untriggered stops) across all instruments.
    pub fn open_order_count(&self) -> usize {
        self.state.order_index.len()
    }
}

/// How a taker's pass over the book ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MatchOutcome {
    /// No (more) crossing liquidity, or nothing left to fill.
    BookExhausted,
    /// A notional order cannot afford one more lot.
    BudgetSpent,
    /// Self-trade prevention cancelled the taker.
    SelfTradeStopped,
}
