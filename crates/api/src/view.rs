//! What the API keeps from the engine's outcomes, on the engine thread: candles and recent
//! trades per symbol, and every order's history (bounded), until the SQL read store takes
//! this over.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use tradecraft_engine::{AccountKind, DoneReason, Event, ExitLeg, OrderClass, OrderKind, SelfTradePrevention, TimeInForce, Trail};
use tradecraft_market::{CandleBook, TradePrint};
use tradecraft_sequencer::CommandOutcome;
use tradecraft_types::{AccountId, Money, OrderId, Price, Quantity, Side, Symbol, Timestamp, TradeId};

/// Trades kept per symbol for `/trades`.
const TRADES_KEPT: usize = 1_000;
/// Order histories kept by default: past it the oldest finished ones are forgotten (and
/// read from the read store when asked for); open orders are always kept.
pub const ORDERS_KEPT: usize = 200_000;

/// Open orders passed over (kept) at most per eviction, so a view holding mostly open
/// orders does not scan them all at each new one; it holds a few more than its capacity
/// until finished ones come round.
const OPEN_PASSED_MAX: usize = 64;

/// How many order histories a view keeps.
#[derive(Clone, Copy, Debug)]
struct Capacity(usize);

impl Default for Capacity {
    fn default() -> Self {
        Self(ORDERS_KEPT)
    }
}

/// Accepted, partly filled, or an exit leg held for its order.
pub(crate) fn is_open(record: &OrderRecord) -> bool {
    matches!(record.status, "ACCEPTED" | "PARTIALLY_FILLED" | "HELD")
}

/// Where an order stands in the lists: its own id, an exit leg's order's.
pub(crate) fn position_of(order_id: OrderId) -> u64 {
    tradecraft_sequencer::wire::leg_parent(order_id).map_or(order_id.0, |(parent, _)| parent.0)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fill {
    pub trade_id: TradeId,
    pub price: Price,
    pub quantity: Quantity,
    pub fee: Money,
    pub liquidity: &'static str,
    pub timestamp: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    pub order_id: OrderId,
    pub account: AccountId,
    pub symbol: Symbol,
    pub side: Side,
    pub quantity: Quantity,
    pub status: &'static str,
    pub reason: Option<&'static str>,
    pub filled: Quantity,
    /// Sum of price x quantity over fills, for the average price.
    pub filled_notional: Money,
    pub fills: Vec<Fill>,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// A buy sized by cash amount: the amount asked (its `quantity` is then zero).
    pub budget: Option<Money>,
    /// `MARKET`, `LIMIT`, `STOP`, `STOP_LIMIT` or `TRAILING_STOP`.
    pub order_type: &'static str,
    pub time_in_force: &'static str,
    pub limit_price: Option<Price>,
    pub stop_price: Option<Price>,
    /// The client's own id for the order, when it gave one (orders read back from the
    /// store at start-up have none here).
    pub client_order_id: Option<String>,
    /// `BRACKET`, `OTO` or `OCO` for a contingent order and its exit legs.
    pub order_class: Option<&'static str>,
    /// An exit leg's order.
    pub parent: Option<OrderId>,
    /// A contingent order's exit legs (take profit first).
    pub legs: Vec<OrderId>,
    /// A trailing stop's trail, as placed.
    pub trail: Option<Trail>,
    pub post_only: bool,
    /// `CANCEL_RESTING`, `CANCEL_TAKING` or `CANCEL_BOTH`, when the order named one.
    pub self_trade_prevention: Option<&'static str>,
}

/// An order kind's wire name, its limit and stop prices and its trail.
fn kind_parts(kind: OrderKind) -> (&'static str, Option<Price>, Option<Price>, Option<Trail>) {
    match kind {
        OrderKind::Market => ("MARKET", None, None, None),
        OrderKind::Limit { price } => ("LIMIT", Some(price), None, None),
        OrderKind::Stop { stop_price } => ("STOP", None, Some(stop_price), None),
        OrderKind::StopLimit { stop_price, limit_price } => ("STOP_LIMIT", Some(limit_price), Some(stop_price), None),
        OrderKind::TrailingStop { trail } => ("TRAILING_STOP", None, None, Some(trail)),
    }
}

/// A trail as the read store keeps it: an amount, or a percent with 4 decimals.
fn stored_trail(amount: Option<Price>, percent: Option<Price>) -> Option<Trail> {
    match (amount, percent) {
        (Some(amount), _) => Some(Trail::Amount(amount)),
        (None, Some(percent)) => Trail::percent(percent),
        (None, None) => None,
    }
}

fn time_in_force_name(time_in_force: TimeInForce) -> &'static str {
    match time_in_force {
        TimeInForce::GoodTillCancel => "GTC",
        TimeInForce::Day => "DAY",
        TimeInForce::ImmediateOrCancel => "IOC",
        TimeInForce::FillOrKill => "FOK",
        TimeInForce::AtTheOpen => "OPG",
        TimeInForce::AtTheClose => "CLS",
    }
}

impl OrderRecord {
    pub fn average_price(&self) -> Option<Price> {
        (self.filled.is_positive()).then(|| {
            // Money has 8 decimals, Quantity 4: notional / quantity lands on the 4-decimal
            // price grid; round half up.
            let numerator = i128::from(self.filled_notional.raw());
            let denominator = i128::from(self.filled.raw());
            Price::from_raw(((numerator * 2 + denominator) / (denominator * 2)) as i64)
        })
    }
}

/// The view's record of a stored order; `None` for rows it cannot read.
fn order_record(order: &tradecraft_store::OrderSummary) -> Option<OrderRecord> {
    let status = match (order.status.as_str(), order.filled.is_positive()) {
        ("HELD", _) => "HELD",
        ("FILLED", _) => "FILLED",
        ("CANCELLED", _) => "CANCELLED",
        ("EXPIRED", _) => "EXPIRED",
        (_, true) => "PARTIALLY_FILLED",
        (_, false) => "ACCEPTED",
    };
    let reason = ["filled", "cancelled", "self_trade_prevented", "expired", "no_more_liquidity", "fill_or_kill_unfillable"]
        .into_iter()
        .find(|known| order.reason.as_deref() == Some(*known));
    Some(OrderRecord {
        order_id: OrderId(order.order_id),
        account: AccountId(order.user_id),
        symbol: Symbol::new(&order.symbol).ok()?,
        side: match order.side.as_str() {
            "BUY" => Side::Buy,
            "SELL" => Side::Sell,
            _ => return None,
        },
        quantity: order.quantity,
        status,
        reason,
        filled: order.filled,
        filled_notional: order.filled_notional,
        fills: Vec::new(),
        created: Timestamp::from_millis(order.created_at_ms),
        updated: Timestamp::from_millis(order.updated_at_ms),
        budget: order.budget,
        order_type: ["MARKET", "LIMIT", "STOP", "STOP_LIMIT", "TRAILING_STOP"].into_iter().find(|name| *name == order.order_type)?,
        time_in_force: ["GTC", "DAY", "IOC", "FOK", "OPG", "CLS"].into_iter().find(|name| *name == order.time_in_force)?,
        limit_price: order.limit_price,
        stop_price: order.stop_price,
        client_order_id: order.client_order_id.clone(),
        order_class: ["BRACKET", "OTO", "OCO"].into_iter().find(|class| order.order_class.as_deref() == Some(*class)),
        parent: order.parent_order_id.map(OrderId),
        legs: Vec::new(),
        trail: stored_trail(order.trail_amount, order.trail_percent),
        post_only: order.post_only,
        self_trade_prevention: [SelfTradePrevention::CancelResting, SelfTradePrevention::CancelTaking, SelfTradePrevention::CancelBoth]
            .map(tradecraft_sequencer::outputs::self_trade_prevention)
            .into_iter()
            .find(|mode| order.self_trade_prevention.as_deref() == Some(*mode)),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeRecord {
    pub trade_id: TradeId,
    pub price: Price,
    pub quantity: Quantity,
    pub taker_side: Side,
    pub timestamp: Timestamp,
}

/// The API's own view of the market and orders.
#[derive(Debug, Default)]
pub struct View {
    pub candles: CandleBook,
    pub trades: BTreeMap<Symbol, VecDeque<TradeRecord>>,
    pub orders: BTreeMap<OrderId, OrderRecord>,
    order_arrival: VecDeque<OrderId>,
    /// Accounts whose orders are not kept: the house re-quotes every symbol each tick, and
    /// its orders would fill the kept orders with records nobody asks for.
    house_accounts: BTreeSet<AccountId>,
    /// Trades applied since this process started, until the market's older history is
    /// loaded from the read store ([`View::preload_market`]); `None` once it is (or when
    /// nothing will be loaded).
    replayed: Option<Vec<(Symbol, TradeRecord)>>,
    capacity: Capacity,
    /// The highest position ([`position_of`]) of an order this view forgot or never
    /// loaded: orders at or below it may be in the read store only.
    forgotten: Option<u64>,
}

impl View {
    /// The same view keeping at most `orders` finished order histories.
    pub fn keeping(mut self, orders: usize) -> Self {
        self.capacity = Capacity(orders.max(1));
        self
    }

    /// Orders at or below this position may be in the read store only; `None` while the
    /// view holds every order there is.
    pub fn forgotten(&self) -> Option<u64> {
        self.forgotten
    }

    /// Orders at or below `position` may be in the read store only.
    fn forget_up_to(&mut self, position: u64) {
        self.forgotten = Some(self.forgotten.map_or(position, |forgotten| forgotten.max(position)));
    }

    /// A view whose market history (candles, recent trades) from before this process's
    /// replay will be loaded with [`View::preload_market`].
    pub fn awaiting_history() -> Self {
        Self { replayed: Some(Vec::new()), ..Self::default() }
    }

    /// The first trade applied since this process started, while the history is awaited.
    pub fn first_replayed_trade(&self) -> Option<TradeId> {
        self.replayed.as_ref()?.first().map(|(_, trade)| trade.trade_id)
    }

    /// Loads the market's history from before this process's replay (`older`: every
    /// trade before the first one it applied, in the order they were made), so candles, the
    /// ticker's day and recent trades read as they did before a restart.
    pub fn preload_market(&mut self, older: &[tradecraft_store::MarketTradeRecord]) {
        let replayed = self.replayed.take().unwrap_or_default();
        self.candles = CandleBook::new();
        self.trades.clear();
        let loaded = older.iter().filter_map(|trade| {
            let record = TradeRecord {
                trade_id: TradeId(trade.trade_id),
                price: trade.price,
                quantity: trade.quantity,
                taker_side: if trade.taker_side == "SELL" { Side::Sell } else { Side::Buy },
                timestamp: Timestamp::from_millis(trade.executed_at_ms),
            };
            Some((Symbol::new(&trade.symbol).ok()?, record))
        });
        for (symbol, record) in loaded.chain(replayed) {
            self.print(symbol, record);
        }
    }

    /// A trade on the market: its candles and the symbol's recent trades.
    fn print(&mut self, symbol: Symbol, record: TradeRecord) {
        if let Some(replayed) = &mut self.replayed {
            replayed.push((symbol, record));
        }
        self.candles.record(TradePrint { symbol, price: record.price, quantity: record.quantity, timestamp_ms: record.timestamp.millis() });
        let trades = self.trades.entry(symbol).or_default();
        if trades.len() == TRADES_KEPT {
            trades.pop_front();
        }
        trades.push_back(record);
    }

    /// Marks `account` as the house's (accounts created as house accounts are marked as
    /// their creation goes by; one created before a snapshot has to be named).
    pub fn set_house(&mut self, account: AccountId) {
        self.house_accounts.insert(account);
    }

    pub fn apply(&mut self, outcome: &CommandOutcome, at: Timestamp) {
        let Ok(events) = &outcome.result else { return };
        for event in events {
            match event {
                Event::AccountCreated { account, kind: AccountKind::House } => {
                    self.house_accounts.insert(*account);
                }
                Event::OrderAccepted(order) if self.house_accounts.contains(&order.account) => {}
                Event::OrderAccepted(order) => {
                    let (order_type, limit_price, stop_price, trail) = kind_parts(order.kind);
                    // A held exit leg being placed keeps its place in the contingent order.
                    let held = self.orders.remove(&order.order_id);
                    let (order_class, parent, created) = held.as_ref().map_or((None, None, at), |held| (held.order_class, held.parent, held.created));
                    self.orders.insert(
                        order.order_id,
                        OrderRecord {
                            order_id: order.order_id,
                            account: order.account,
                            symbol: order.symbol,
                            side: order.side,
                            quantity: order.quantity,
                            status: "ACCEPTED",
                            reason: None,
                            filled: Quantity::ZERO,
                            filled_notional: Money::ZERO,
                            fills: Vec::new(),
                            created,
                            updated: at,
                            budget: order.notional,
                            order_type,
                            time_in_force: time_in_force_name(order.time_in_force),
                            limit_price,
                            stop_price,
                            client_order_id: order.client_order_id.as_ref().map(|client| client.as_str().to_owned()),
                            order_class,
                            parent,
                            legs: Vec::new(),
                            trail,
                            post_only: order.post_only,
                            self_trade_prevention: order.self_trade_prevention.map(tradecraft_sequencer::outputs::self_trade_prevention),
                        },
                    );
                    if held.is_none() {
                        self.order_arrival.push_back(order.order_id);
                        self.evict();
                    }
                }
                Event::ContingentAccepted { order_id, class, take_profit, stop_loss, .. } => self.contingent(*order_id, *class, [*take_profit, *stop_loss], at),
                Event::LegResized { order_id, quantity, .. } => {
                    if let Some(record) = self.orders.get_mut(order_id) {
                        record.quantity = *quantity;
                        record.updated = at;
                    }
                }
                Event::LegCancelled { order_id, .. } => {
                    if let Some(record) = self.orders.get_mut(order_id) {
                        record.status = tradecraft_sequencer::outputs::done_status(DoneReason::Cancelled);
                        record.reason = Some(tradecraft_sequencer::outputs::done_reason(DoneReason::Cancelled));
                        record.updated = at;
                    }
                }
                Event::Trade(trade) => {
                    let notional = tradecraft_types::notional(trade.price, trade.quantity).unwrap_or(Money::ZERO);
                    for (order_id, fee, liquidity) in [(trade.taker_order_id, trade.taker_fee, "TAKER"), (trade.maker_order_id, trade.maker_fee, "MAKER")] {
                        if let Some(record) = self.orders.get_mut(&order_id) {
                            record.filled = record.filled.checked_add(trade.quantity).unwrap_or(record.filled);
                            record.filled_notional = record.filled_notional.checked_add(notional).unwrap_or(record.filled_notional);
                            record.status = "PARTIALLY_FILLED";
                            record.updated = at;
                            record.fills.push(Fill { trade_id: trade.trade_id, price: trade.price, quantity: trade.quantity, fee, liquidity, timestamp: at });
                        }
                    }
                    let record =
                        TradeRecord { trade_id: trade.trade_id, price: trade.price, quantity: trade.quantity, taker_side: trade.taker_side, timestamp: at };
                    self.print(trade.symbol, record);
                }
                Event::OrderDone { order_id, reason, .. } => {
                    if let Some(record) = self.orders.get_mut(order_id) {
                        // The same words as the `order_updates` topic and the WebSocket.
                        record.status = tradecraft_sequencer::outputs::done_status(*reason);
                        record.reason = Some(tradecraft_sequencer::outputs::done_reason(*reason));
                        record.updated = at;
                    }
                }
                Event::OrderReplaced { order_id, quantity, price, stop_price, trail, client_order_id, time_in_force, .. } => {
                    if let Some(record) = self.orders.get_mut(order_id) {
                        record.quantity = *quantity;
                        if let Some(client) = client_order_id {
                            record.client_order_id = Some(client.as_str().to_owned());
                        }
                        if let Some(lasts) = time_in_force {
                            record.time_in_force = tradecraft_sequencer::outputs::time_in_force(*lasts);
                        }
                        record.limit_price = price.or(record.limit_price);
                        // A trailing stop's trigger moves with each trade: it is asked of
                        // the engine when shown (`orders::standing_now`), never kept here.
                        if trail.is_none() {
                            record.stop_price = stop_price.or(record.stop_price);
                        }
                        record.trail = trail.or(record.trail);
                        record.updated = at;
                    }
                }
                _ => {}
            }
        }
    }

    /// Records a contingent order's class and its exit legs, held until its entry fills
    /// (status `HELD`, for the entry's quantity).
    fn contingent(&mut self, order_id: OrderId, class: OrderClass, legs: [Option<ExitLeg>; 2], at: Timestamp) {
        let class_name = tradecraft_sequencer::outputs::order_class(class);
        let Some(entry) = self.orders.get_mut(&order_id) else { return };
        entry.order_class = Some(class_name);
        entry.legs = legs.iter().flatten().map(|leg| leg.order_id).collect();
        let template = entry.clone();
        let side = if class == OrderClass::OneCancelsOther { template.side } else { template.side.opposite() };
        for leg in legs.into_iter().flatten() {
            let (order_type, limit_price, stop_price, trail) = kind_parts(leg.kind);
            let record = OrderRecord {
                order_id: leg.order_id,
                side,
                status: "HELD",
                reason: None,
                filled: Quantity::ZERO,
                filled_notional: Money::ZERO,
                fills: Vec::new(),
                created: at,
                updated: at,
                budget: None,
                order_type,
                time_in_force: if template.time_in_force == "DAY" { "DAY" } else { "GTC" },
                limit_price,
                stop_price,
                client_order_id: None,
                order_class: Some(class_name),
                parent: Some(order_id),
                legs: Vec::new(),
                trail,
                post_only: false,
                self_trade_prevention: None,
                ..template.clone()
            };
            self.orders.insert(leg.order_id, record);
            self.order_arrival.push_back(leg.order_id);
        }
        self.evict();
    }

    /// Adds orders from before this process's replay (from the read store), older than
    /// anything the view already holds; orders it holds keep their own, newer state. Each
    /// comes back as it was: its fills (`fills`, in the order they were made), client
    /// order id, class, exit legs and their order. `newest`: the store's newest orders,
    /// all of them unless `complete` is false (then those below the oldest of them are
    /// left to the store); `open`: older ones still open.
    pub fn preload(
        &mut self,
        (newest, complete): (&[tradecraft_store::OrderSummary], bool),
        open: &[tradecraft_store::OrderSummary],
        fills: &[tradecraft_store::OrderFill],
    ) {
        if !complete && let Some(oldest) = newest.iter().map(|order| position_of(OrderId(order.order_id))).min() {
            self.forget_up_to(oldest);
        }
        let older: Vec<tradecraft_store::OrderSummary> = newest.iter().chain(open).cloned().collect();
        let records = stored_records(&older, fills).into_iter().filter(|record| !self.orders.contains_key(&record.order_id));
        for record in records.collect::<Vec<_>>().into_iter().rev() {
            self.order_arrival.push_front(record.order_id);
            self.orders.insert(record.order_id, record);
        }
        self.evict();
    }

    /// Forgets the oldest finished orders past the capacity; open ones are passed over
    /// (they may still be cancelled, replaced or filled, and are looked for here).
    fn evict(&mut self) {
        let mut passed = 0;
        while self.order_arrival.len() > self.capacity.0 && passed < OPEN_PASSED_MAX {
            let Some(oldest) = self.order_arrival.pop_front() else { break };
            if self.orders.get(&oldest).is_some_and(is_open) {
                self.order_arrival.push_back(oldest);
                passed += 1;
            } else {
                self.orders.remove(&oldest);
                self.forget_up_to(position_of(oldest));
            }
        }
    }
}

/// Stored orders as the view keeps them, oldest first: each with its fills (`fills`, in
/// the order they were made) and, for a contingent order, those of its exit legs among
/// `orders` (take profit first, as its acceptance named them).
pub(crate) fn stored_records(orders: &[tradecraft_store::OrderSummary], fills: &[tradecraft_store::OrderFill]) -> Vec<OrderRecord> {
    let mut records: BTreeMap<OrderId, OrderRecord> = orders.iter().filter_map(order_record).map(|record| (record.order_id, record)).collect();
    for fill in fills {
        if let Some(record) = records.get_mut(&OrderId(fill.order_id)) {
            record.fills.push(Fill {
                trade_id: TradeId(fill.trade_id),
                price: fill.price,
                quantity: fill.quantity,
                fee: fill.fee,
                liquidity: if fill.liquidity == "MAKER" { "MAKER" } else { "TAKER" },
                timestamp: Timestamp::from_millis(fill.executed_at_ms),
            });
        }
    }
    // In id order, as the take profit's role bit is the lower.
    let legs: Vec<(OrderId, OrderId)> = records.values().filter_map(|record| Some((record.parent?, record.order_id))).collect();
    for (parent, leg) in legs {
        if let Some(record) = records.get_mut(&parent) {
            record.legs.push(leg);
        }
    }
    let mut records: Vec<OrderRecord> = records.into_values().collect();
    records.sort_by_key(|record| (position_of(record.order_id), record.order_id));
    records
}
