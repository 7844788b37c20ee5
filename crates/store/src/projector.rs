//! The projector: reads `account_updates`, `order_updates` and `trade_executed`, merges
//! them back into engine order by each event's `commandOffset`, and writes the read
//! models. Balances, positions and lots live in memory as well (the projector is their
//! only writer); each poll writes what changed, plus the next log offsets, in one
//! transaction. After a crash the projector reloads from the database and resumes at the
//! stored offsets: nothing is applied twice or skipped.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value as Json;
use tradecraft_events as events;
use tradecraft_log::{Envelope, EventLog, Offset, Partition, StoredRecord};
use tradecraft_types::{Money, Price, Quantity, Timestamp};

use crate::db::{Dialect, Param, Statement, insert_statements};
use crate::{Store, StoreError};

/// Topics the projector reads, in the order it applies one command's events. The market's
/// reference prices (`market_data`) come last: each tick names the first command the
/// market sent with it (`commandOffset`), so it is merged into engine order like an
/// engine event, and positions, performance, the leaderboard and price alerts follow the
/// market's price between trades (seed 000: the latest price is the feed's), the same
/// after a rebuild.
pub const TOPICS: [&str; 5] = ["account_updates", "order_updates", "trade_executed", "limit_breaches", tradecraft_events::MARKET_DATA];
/// Index of `market_data` in [`TOPICS`]: a topic a log may not have yet (no market).
const MARKET_DATA_TOPIC: usize = 4;
const PROJECTION: &str = "read_store";
const TRADE_COLUMNS: [&str; 15] = [
    "id",
    "event_id",
    "trade_id",
    "order_id",
    "user_id",
    "symbol",
    "side",
    "quantity",
    "status",
    "execution_price",
    "notional",
    "fee",
    "liquidity",
    "executed_at",
    "failure_reason",
];
const WALLET_COLUMNS: [&str; 8] = ["id", "user_id", "kind", "amount", "balance_after", "reference", "symbol", "created_at"];
const ORDER_COLUMNS: [&str; 23] = [
    "order_id",
    "user_id",
    "symbol",
    "side",
    "order_type",
    "time_in_force",
    "limit_price",
    "stop_price",
    "quantity",
    "filled_quantity",
    "filled_notional",
    "status",
    "reason",
    "client_order_id",
    "created_at",
    "updated_at",
    "budget",
    "order_class",
    "parent_order_id",
    "trail_amount",
    "trail_percent",
    "post_only",
    "self_trade_prevention",
];
/// An exit leg's status until its order fills and it is placed.
const HELD: &str = "HELD";
/// An order's row is written once, when it is accepted; an exit leg's row is written HELD
/// with its contingent order and becomes the placed order when its `order.accepted` comes.
const ORDER_CONFLICT: &str = " ON CONFLICT (order_id) DO UPDATE SET order_type = excluded.order_type, time_in_force = excluded.time_in_force, \
     limit_price = excluded.limit_price, stop_price = excluded.stop_price, quantity = excluded.quantity, status = excluded.status, \
     updated_at = excluded.updated_at WHERE orders.status = 'HELD'";

#[derive(Clone, Copy, Debug)]
pub struct ProjectorConfig {
    /// Most records read per partition per poll.
    pub batch_records: usize,
    /// Width of a portfolio snapshot bucket.
    pub snapshot_bucket_ms: i64,
    /// Run `spawn_projector`'s thread at the lowest priority: the read store may lag a
    /// little when the cores are busy, order handling may not.
    pub low_priority: bool,
}

impl Default for ProjectorConfig {
    fn default() -> Self {
        Self { batch_records: 4096, snapshot_bucket_ms: 3_600_000, low_priority: false }
    }
}

/// How far behind the log one partition's projection is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectionLag {
    pub topic: &'static str,
    pub partition: Partition,
    pub applied: Offset,
    pub end: Offset,
}

/// What one poll did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProjectorStatus {
    pub records: usize,
    pub statements: usize,
    /// Every command below this has all its events in the read store (`None` when the
    /// engine's position is unknown: a poll without a watermark).
    pub through: Option<u64>,
}

#[derive(Clone, Debug, Default)]
struct Account {
    house: bool,
    cash: i64,
    deposits: i64,
    withdrawals: i64,
    fees: i64,
    bucket_flows: i64,
    created_at: i64,
    updated_at: i64,
}

#[derive(Clone, Copy, Debug)]
struct Lot {
    lot: i64,
    quantity: i64,
    price: i64,
    opened_at: i64,
}

#[derive(Clone, Debug, Default)]
struct Position {
    quantity: i64,
    /// Money: what the open lots cost.
    cost: i64,
    realized: i64,
    fees: i64,
    updated_at: i64,
    lots: VecDeque<Lot>,
    next_lot: i64,
}

/// Changes to an order not inserted in this poll.
#[derive(Clone, Debug, Default)]
struct OrderPatch {
    filled_add: i64,
    notional_add: i64,
    filled_total: Option<i64>,
    status: Option<String>,
    reason: Option<String>,
    /// A new limit price (kept only by an order that has one).
    limit_price: Option<i64>,
    stop_price: Option<i64>,
    /// A trailing stop's new trail: (amount, percent), one of them set.
    trail: Option<(Option<i64>, Option<i64>)>,
    quantity: Option<i64>,
    order_class: Option<String>,
    /// A new client order id and time in force (a replace's).
    client_order_id: Option<String>,
    time_in_force: Option<String>,
    updated_at: i64,
}

/// An order inserted in this poll, with everything that happened to it since.
#[derive(Clone, Debug)]
struct NewOrder {
    user_id: i64,
    symbol: String,
    side: String,
    order_type: String,
    time_in_force: String,
    limit_price: Option<i64>,
    stop_price: Option<i64>,
    quantity: i64,
    filled: i64,
    notional: i64,
    status: String,
    reason: Option<String>,
    client_order_id: Option<String>,
    created_at: i64,
    updated_at: i64,
    /// A buy sized by cash amount: the amount (money raw).
    budget: Option<i64>,
    /// `BRACKET`, `OTO` or `OCO`: a contingent order and its exit legs.
    order_class: Option<String>,
    /// An exit leg's order.
    parent_order_id: Option<i64>,
    /// A trailing stop's trail: an amount, or a percent (both price raw).
    trail_amount: Option<i64>,
    trail_percent: Option<i64>,
    /// 1 for a post-only order.
    post_only: Option<i64>,
    self_trade_prevention: Option<String>,
}

type PositionKey = (i64, String);

/// One poll's pending writes.
#[derive(Debug, Default)]
struct Pending {
    statements: Vec<Statement>,
    trade_rows: Vec<Vec<Param>>,
    wallet_rows: Vec<Vec<Param>>,
    audit_rows: Vec<Vec<Param>>,
    notification_rows: Vec<Vec<Param>>,
    accounts: FxHashSet<i64>,
    positions: FxHashSet<PositionKey>,
    lots: FxHashSet<(i64, String, i64)>,
    /// Lots opened in this poll.
    new_lots: FxHashSet<(i64, String, i64)>,
    prices: FxHashSet<String>,
    new_orders: BTreeMap<i64, NewOrder>,
    patches: BTreeMap<i64, OrderPatch>,
}

#[derive(Debug, Default)]
struct State {
    accounts: FxHashMap<i64, Account>,
    positions: FxHashMap<PositionKey, Position>,
    prices: FxHashMap<String, (i64, i64)>,
    next_trade_row: i64,
    next_wallet_row: i64,
    /// Start of the open snapshot bucket.
    bucket: Option<i64>,
}

/// Consumes the engine's output topics into the read store.
#[derive(Debug)]
pub struct Projector {
    store: Store,
    log: Arc<dyn EventLog>,
    config: ProjectorConfig,
    /// Next offset per (topic index, partition).
    next: BTreeMap<(usize, Partition), Offset>,
    /// Next sequence per producer (the engine names one per output partition): a record
    /// below it is a duplicate — written again by a deposed engine that had not yet
    /// noticed, or re-published by a recovering one — and is passed over.
    sequences: BTreeMap<String, u64>,
    /// Commands below this have all their events applied (`projection_meta`'s
    /// `applied_through`, which gateways without a projector of their own read).
    through: u64,
    state: State,
}

/// A decoded record with its merge key.
struct Item {
    command: u64,
    topic: usize,
    partition: Partition,
    offset: Offset,
    timestamp_ms: i64,
    event_id: String,
    event_type: String,
    payload: Json,
    /// The producer's name and its sequence number, if it numbers its records.
    sequence: Option<(String, u64)>,
}

fn id_param(text: &str) -> Result<i64, StoreError> {
    // u64 ids are stored as the same 64 bits in a BIGINT.
    text.parse::<u64>().map(|id| id as i64).map_err(|_| StoreError::Decode(format!("bad id {text:?}")))
}

/// The item's payload as its event's struct (the contract shared with the producer).
fn payload<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    T::deserialize(&item.payload).map_err(|error| StoreError::Decode(format!("{} {}: {error}", item.event_type, item.event_id)))
}

fn price(name: &str, text: &str) -> Result<i64, StoreError> {
    Price::parse(text).map(Price::raw).map_err(|error| StoreError::Decode(format!("{name}: {error}")))
}

/// A price the event may leave out.
fn optional_price(name: &str, value: &Option<String>) -> Result<Option<i64>, StoreError> {
    value.as_deref().map(|text| price(name, text)).transpose()
}

fn quantity(name: &str, text: &str) -> Result<i64, StoreError> {
    Quantity::parse(text).map(Quantity::raw).map_err(|error| StoreError::Decode(format!("{name}: {error}")))
}

fn money(name: &str, text: &str) -> Result<i64, StoreError> {
    Money::parse(text).map(Money::raw).map_err(|error| StoreError::Decode(format!("{name}: {error}")))
}

fn required<'a>(name: &str, value: Option<&'a str>) -> Result<&'a str, StoreError> {
    value.ok_or_else(|| StoreError::Decode(format!("event has no {name:?}")))
}

/// Money (8 decimals) of a price (4) times a quantity (4).
pub(crate) fn notional(price: i64, quantity: i64) -> Result<i64, StoreError> {
    i64::try_from(i128::from(price) * i128::from(quantity)).map_err(|_| StoreError::Decode("notional out of range".into()))
}

fn overflow() -> StoreError {
    StoreError::Decode("amount out of range".into())
}

impl Projector {
    /// Opens the projector over `store`, loading its state and the offsets it applied.
    pub fn open(store: Store, log: Arc<dyn EventLog>, config: ProjectorConfig) -> Result<Self, StoreError> {
        let mut projector = Self { store, log, config, next: BTreeMap::new(), sequences: BTreeMap::new(), through: 0, state: State::default() };
        projector.reload()?;
        Ok(projector)
    }

    fn reload(&mut self) -> Result<(), StoreError> {
        let db = self.store.backend();
        self.next.clear();
        for row in db.query("SELECT topic, part, next_offset FROM projection_offsets WHERE projection = $1", &[PROJECTION.into()])? {
            let name = row.text(0)?;
            if let Some(topic) = TOPICS.iter().position(|topic| *topic == name) {
                self.next.insert((topic, u32::try_from(row.int(1)?).unwrap_or(0)), u64::try_from(row.int(2)?).unwrap_or(0));
            }
        }
        self.through = self.store.applied_through()?;
        self.sequences.clear();
        for row in db.query("SELECT name, value FROM projection_meta WHERE name LIKE 'seq:%'", &[])? {
            if let Some(producer) = row.text(0)?.strip_prefix("seq:") {
                self.sequences.insert(producer.to_owned(), u64::try_from(row.int(1)?).unwrap_or(0));
            }
        }
        let mut state = State::default();
        let accounts = db.query("SELECT user_id, house, cash, deposits, withdrawals, fees, bucket_flows, created_at, updated_at FROM accounts", &[])?;
        for row in accounts {
            state.accounts.insert(
                row.int(0)?,
                Account {
                    house: row.int(1)? != 0,
                    cash: row.int(2)?,
                    deposits: row.int(3)?,
                    withdrawals: row.int(4)?,
                    fees: row.int(5)?,
                    bucket_flows: row.int(6)?,
                    created_at: row.int(7)?,
                    updated_at: row.int(8)?,
                },
            );
        }
        for row in db.query("SELECT user_id, symbol, quantity, cost, realized_pnl, fees, updated_at FROM positions", &[])? {
            state.positions.insert(
                (row.int(0)?, row.text(1)?.to_owned()),
                Position {
                    quantity: row.int(2)?,
                    cost: row.int(3)?,
                    realized: row.int(4)?,
                    fees: row.int(5)?,
                    updated_at: row.int(6)?,
                    lots: VecDeque::new(),
                    next_lot: 0,
                },
            );
        }
        let lots = db.query("SELECT user_id, symbol, lot, quantity, price, opened_at FROM position_lots ORDER BY user_id, symbol, lot", &[])?;
        for row in lots {
            let position = state.positions.entry((row.int(0)?, row.text(1)?.to_owned())).or_default();
            let lot = Lot { lot: row.int(2)?, quantity: row.int(3)?, price: row.int(4)?, opened_at: row.int(5)? };
            position.next_lot = position.next_lot.max(lot.lot + 1);
            position.lots.push_back(lot);
        }
        for row in db.query("SELECT symbol, price, updated_at FROM last_prices", &[])? {
            state.prices.insert(row.text(0)?.to_owned(), (row.int(1)?, row.int(2)?));
        }
        let next = |sql| -> Result<i64, StoreError> { Ok(db.query(sql, &[])?.first().map(|row| row.int(0)).transpose()?.unwrap_or(0)) };
        state.next_trade_row = next("SELECT COALESCE(MAX(id), 0) + 1 FROM trades")?;
        state.next_wallet_row = next("SELECT COALESCE(MAX(id), 0) + 1 FROM wallet_transactions")?;
        state.bucket = db.query("SELECT value FROM projection_meta WHERE name = 'snapshot_bucket'", &[])?.first().map(|row| row.int(0)).transpose()?;
        self.state = state;
        Ok(())
    }

    /// How far each partition's projection is behind the log's end.
    pub fn lag(&self) -> Result<Vec<ProjectionLag>, StoreError> {
        let mut lags = Vec::new();
        for (index, topic) in TOPICS.iter().enumerate() {
            for partition in 0..partitions(self.log.as_ref(), index)? {
                let applied = self.next.get(&(index, partition)).copied().unwrap_or(0);
                lags.push(ProjectionLag { topic, partition, applied, end: self.log.end_offset(topic, partition)? });
            }
        }
        Ok(lags)
    }

    /// Applies what the log holds for commands below `watermark` (the engine's count of
    /// commands whose events are all stored; `u64::MAX` when the engine is not running),
    /// up to one batch per partition, in one transaction.
    pub fn poll(&mut self, watermark: u64) -> Result<ProjectorStatus, StoreError> {
        let (items, limit) = self.read(watermark)?;
        // `limit` is u64::MAX without a watermark: nothing is known of commands to come.
        let through = (limit != u64::MAX).then_some(limit);
        let moved = through.filter(|through| *through > self.through);
        if items.is_empty() {
            if let Some(through) = moved {
                // Commands that left nothing to project: the mark moves on alone.
                self.store.backend().transaction(&[applied_through(through)])?;
                self.through = through;
            }
            return Ok(ProjectorStatus { through, ..ProjectorStatus::default() });
        }
        let records = items.len();
        let mut pending = Pending::default();
        let result = self.apply_all(&items, &mut pending).and_then(|()| {
            self.flush(&mut pending, &items)?;
            pending.statements.extend(moved.map(applied_through));
            self.store.backend().transaction(&pending.statements)
        });
        match result {
            Ok(()) => {
                if let Some(through) = moved {
                    self.through = through;
                }
                Ok(ProjectorStatus { records, statements: pending.statements.len(), through })
            }
            Err(error) => {
                // Memory may hold half of this poll: start again from what was committed.
                self.reload()?;
                Err(error)
            }
        }
    }

    /// Polls until nothing below `watermark` is left; returns the records applied.
    pub fn catch_up(&mut self, watermark: u64) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let status = self.poll(watermark)?;
            if status.records == 0 {
                return Ok(total);
            }
            total += status.records;
        }
    }

    /// The records to apply next, and the command mark below which that completes.
    fn read(&self, watermark: u64) -> Result<(Vec<Item>, u64), StoreError> {
        let mut batches = Vec::new();
        let mut expected = self.sequences.clone();
        for (topic_index, topic) in TOPICS.iter().enumerate() {
            for partition in 0..partitions(self.log.as_ref(), topic_index)? {
                let from = self.next.get(&(topic_index, partition)).copied().unwrap_or(0).max(self.log.start_offset(topic, partition)?);
                let records = self.log.read(topic, partition, from, self.config.batch_records)?;
                let full = records.len() == self.config.batch_records;
                let mut items = Vec::with_capacity(records.len());
                for record in records {
                    let item = decode(topic_index, record)?;
                    if item.sequence.as_ref().is_none_or(|(producer, sequence)| tradecraft_log::first_delivery(&mut expected, producer, *sequence)) {
                        items.push(item);
                    }
                }
                batches.push((full, items));
            }
        }
        // A partition that filled its batch may hold more of its last command: leave
        // that command (and later ones everywhere) for the next poll, so every command's
        // events are applied together and in order.
        let mut limit = watermark;
        for (full, items) in &batches {
            if let (true, Some(last)) = (full, items.last()) {
                limit = limit.min(last.command);
            }
        }
        let complete = limit;
        if limit < watermark && !batches.iter().any(|(_, items)| items.iter().any(|item| item.command < limit)) {
            // One command with more events than a batch: take it a batch at a time (it is
            // complete only once its last batch is applied).
            limit += 1;
        }
        let mut selected: Vec<Item> = batches.into_iter().flat_map(|(_, items)| items.into_iter().filter(|item| item.command < limit)).collect();
        selected.sort_by_key(|item| (item.command, item.topic, item.partition, item.offset));
        Ok((selected, complete))
    }

    /// Changes made to users' orders (placed, replaced, cancelled, refused; not the
    /// house's) go to the audit trail as well, under their event id, so a rebuild adds
    /// nothing twice. Fills are in `trades`; expiries follow from the order.
    fn audit_order(&self, item: &Item, user_id: &str, action: &str, pending: &mut Pending) -> Result<(), StoreError> {
        let user = id_param(user_id)?;
        if self.is_house(user) {
            return Ok(());
        }
        let account = user as u64;
        pending.audit_rows.push(vec![
            item.event_id.as_str().into(),
            item.timestamp_ms.into(),
            account.to_string().into(),
            action.into(),
            format!("user:{account}").into(),
            item.payload.to_string().into(),
        ]);
        Ok(())
    }

    fn apply_all(&mut self, items: &[Item], pending: &mut Pending) -> Result<(), StoreError> {
        // Price alerts waiting to trigger, by symbol: read once per batch with trades.
        let mut price_alerts: Option<BTreeMap<String, Vec<crate::PriceAlertRecord>>> = None;
        for item in items {
            if item.event_type.is_empty() {
                continue;
            }
            self.roll_bucket(item.timestamp_ms, pending)?;
            match item.event_type.as_str() {
                "account.created" => self.account_created(item, &payload(item)?, pending)?,
                "account.deposited" | "account.withdrawn" => self.transfer(item, &payload(item)?, pending)?,
                "order.accepted" => {
                    let event: events::OrderAccepted = payload(item)?;
                    self.audit_order(item, &event.user_id, "order.accepted", pending)?;
                    self.order_accepted(item, &event, pending)?;
                }
                "order.rejected" => {
                    let event: events::OrderRejected = payload(item)?;
                    // A limit's refusal is told once, as the breach.
                    if !event.reason.starts_with("limit_") {
                        let message = format!("Order {} ({} {}) was refused: {}.", event.order_id, event.side, event.symbol, event.reason.replace('_', " "));
                        self.notify(item, &event.user_id, "ORDER_REFUSED", "Order refused", message, pending)?;
                    }
                    self.audit_order(item, &event.user_id, "order.rejected", pending)?;
                }
                "order.filled" => {
                    let event: events::Execution = payload(item)?;
                    let verb = if event.side == "BUY" { "Bought" } else { "Sold" };
                    let at_price = event.execution_price.as_deref().unwrap_or_default();
                    let message = format!("Order {}: {verb} {} {} at {at_price}.", event.order_id, event.quantity, event.symbol);
                    self.notify(item, &event.user_id, "ORDER_FILLED", "Order filled", message, pending)?;
                    let filled = quantity("quantity", &event.quantity)?;
                    let price = price("executionPrice", required("executionPrice", event.execution_price.as_deref())?)?;
                    let notional = notional(price, filled)?;
                    self.patch_order(
                        pending,
                        item,
                        (&event.order_id, &event.user_id),
                        |order| {
                            order.filled += filled;
                            order.notional += notional;
                            if order.status == "ACCEPTED" {
                                order.status = "PARTIALLY_FILLED".to_owned();
                            }
                        },
                        |patch| {
                            patch.filled_add += filled;
                            patch.notional_add += notional;
                            patch.status.get_or_insert_with(|| "PARTIALLY_FILLED".to_owned());
                        },
                    )?;
                }
                "order.done" => {
                    let event: events::OrderDone = payload(item)?;
                    if event.status == "EXPIRED" {
                        let message = format!("Order {} ({} {}) expired with {} filled.", event.order_id, event.side, event.symbol, event.filled_quantity);
                        self.notify(item, &event.user_id, "ORDER_EXPIRED", "Order expired", message, pending)?;
                    }
                    if event.status == "CANCELLED" {
                        self.audit_order(item, &event.user_id, "order.cancelled", pending)?;
                    }
                    let filled = quantity("filledQuantity", &event.filled_quantity)?;
                    self.finish_order(pending, item, (&event.order_id, &event.user_id), &event.status, &event.reason, Some(filled))?;
                }
                "order.replaced" => {
                    let event: events::OrderReplaced = payload(item)?;
                    self.audit_order(item, &event.user_id, "order.replaced", pending)?;
                    let (limit, size) = (price("limitPrice", &event.limit_price)?, quantity("quantity", &event.quantity)?);
                    let trail = (optional_price("trailAmount", &event.trail_amount)?, optional_price("trailPercent", &event.trail_percent)?);
                    let trail = (trail != (None, None)).then_some(trail);
                    // A trailing stop's trigger moves with each trade and is read from the
                    // engine, so only a stop's or stop-limit's is kept.
                    let stop = optional_price("stopPrice", &event.stop_price)?.filter(|_| trail.is_none());
                    let (client_id, lasts) = (event.client_order_id.clone(), event.time_in_force.clone());
                    // A stop (market) order has no limit price: the event repeats its stop.
                    self.patch_order(
                        pending,
                        item,
                        (&event.order_id, &event.user_id),
                        |order| {
                            order.limit_price = order.limit_price.map(|_| limit);
                            order.stop_price = stop.or(order.stop_price);
                            if let Some((amount, percent)) = trail {
                                (order.trail_amount, order.trail_percent) = (amount, percent);
                            }
                            order.quantity = size;
                            if let Some(client_id) = event.client_order_id {
                                order.client_order_id = Some(client_id);
                            }
                            if let Some(lasts) = event.time_in_force {
                                order.time_in_force = lasts;
                            }
                        },
                        |patch| {
                            patch.limit_price = Some(limit);
                            patch.stop_price = stop.or(patch.stop_price);
                            patch.trail = trail.or(patch.trail);
                            patch.quantity = Some(size);
                            patch.client_order_id = client_id.or(patch.client_order_id.take());
                            patch.time_in_force = lasts.or(patch.time_in_force.take());
                        },
                    )?;
                }
                "order.contingent" => self.contingent(item, &payload(item)?, pending)?,
                // A held exit leg that will never be placed ends as cancelled.
                "order.leg_cancelled" => {
                    let event: events::LegCancelled = payload(item)?;
                    self.finish_order(pending, item, (&event.order_id, &event.user_id), "CANCELLED", "cancelled", None)?;
                }
                // An exit leg grown with its entry's fills: only its quantity changes.
                "order.resized" => {
                    let event: events::OrderResized = payload(item)?;
                    let size = quantity("quantity", &event.quantity)?;
                    self.patch_order(pending, item, (&event.order_id, &event.user_id), |order| order.quantity = size, |patch| patch.quantity = Some(size))?;
                }
                // A triggered stop is still an open order: its status stays in the one
                // vocabulary (ACCEPTED until it fills); only its time moves.
                "order.triggered" => {
                    let event: events::OrderTriggered = payload(item)?;
                    self.patch_order(pending, item, (&event.order_id, &event.user_id), |_| {}, |_| {})?;
                }
                // An order entering its market at the open: still ACCEPTED; its time moves.
                "order.released" => {
                    let event: events::OrderReleased = payload(item)?;
                    self.patch_order(pending, item, (&event.order_id, &event.user_id), |_| {}, |_| {})?;
                }
                "trade.executed" | "trade.failed" => {
                    let event: events::Execution = payload(item)?;
                    if let Some(traded) = event.execution_price.as_deref() {
                        let alerts = self.price_alerts_of_batch(&mut price_alerts)?;
                        price_alert_triggers(item, &event.symbol, price("executionPrice", traded)?, "traded", alerts, pending);
                    }
                    self.execution(item, &event, pending)?;
                }
                "limit.breached" => self.breach(item, &payload(item)?, pending)?,
                "market_data.tick" => {
                    let tick: events::MarketDataTick = payload(item)?;
                    let quoted = price("price", &tick.price)?;
                    let alerts = self.price_alerts_of_batch(&mut price_alerts)?;
                    price_alert_triggers(item, &tick.symbol, quoted, "is priced", alerts, pending);
                    self.set_price(&tick.symbol, quoted, item.timestamp_ms, pending);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn is_house(&self, user: i64) -> bool {
        self.state.accounts.get(&user).is_some_and(|account| account.house)
    }

    /// Applies an order event to the order: in place if it was inserted in this poll, as
    /// a patch otherwise (house orders are not stored).
    fn patch_order(
        &mut self,
        pending: &mut Pending,
        item: &Item,
        (order_id, user_id): (&str, &str),
        new: impl FnOnce(&mut NewOrder),
        patch: impl FnOnce(&mut OrderPatch),
    ) -> Result<(), StoreError> {
        let (order_id, user) = (id_param(order_id)?, id_param(user_id)?);
        let at = item.timestamp_ms;
        if let Some(order) = pending.new_orders.get_mut(&order_id) {
            new(order);
            order.updated_at = at;
        } else if !self.is_house(user) {
            let entry = pending.patches.entry(order_id).or_default();
            patch(entry);
            entry.updated_at = at;
        }
        Ok(())
    }

    /// An order's end: its final status and why, and its filled quantity when the event
    /// says it.
    fn finish_order(
        &mut self,
        pending: &mut Pending,
        item: &Item,
        ids: (&str, &str),
        status: &str,
        reason: &str,
        filled: Option<i64>,
    ) -> Result<(), StoreError> {
        let (status_new, reason_new) = (status.to_owned(), Some(reason.to_owned()));
        let (status, reason) = (status_new.clone(), reason_new.clone());
        self.patch_order(
            pending,
            item,
            ids,
            move |order| {
                order.status = status_new;
                order.reason = reason_new;
                if let Some(filled) = filled {
                    order.filled = filled;
                }
            },
            move |patch| {
                patch.status = Some(status);
                patch.reason = reason;
                patch.filled_total = filled;
            },
        )
    }

    fn account(&mut self, user: i64, at: i64) -> &mut Account {
        self.state.accounts.entry(user).or_insert_with(|| Account { created_at: at, ..Account::default() })
    }

    fn account_created(&mut self, item: &Item, event: &events::AccountCreated, pending: &mut Pending) -> Result<(), StoreError> {
        let user = id_param(&event.user_id)?;
        let house = event.house;
        let account = self.account(user, item.timestamp_ms);
        account.house = house;
        account.updated_at = item.timestamp_ms;
        pending.accounts.insert(user);
        Ok(())
    }

    fn transfer(&mut self, item: &Item, event: &events::Transfer, pending: &mut Pending) -> Result<(), StoreError> {
        let user = id_param(&event.user_id)?;
        let deposit = item.event_type == "account.deposited";
        let asset = event.asset.as_str();
        let at = item.timestamp_ms;
        if asset == "CASH" {
            let amount = money("amount", &event.amount)?;
            let signed = if deposit { amount } else { -amount };
            let account = self.account(user, at);
            account.cash = account.cash.checked_add(signed).ok_or_else(overflow)?;
            if deposit {
                account.deposits += amount;
            } else {
                account.withdrawals += amount;
            }
            account.bucket_flows += signed;
            account.updated_at = at;
            let balance = account.cash;
            pending.accounts.insert(user);
            let kind = if deposit { "DEPOSIT" } else { "WITHDRAWAL" };
            self.wallet(pending, user, kind, signed, balance, &event.transaction_id, None, at);
        } else {
            // Shares moved in come in at the last price (zero if none); moved out, they
            // leave at their cost, oldest first, with nothing realised. Either way they are
            // a flow at the last price, as the account's value counts them: a reset that
            // takes shares out is not a loss, nor shares moved in a gain.
            let shares = quantity("amount", &event.amount)?;
            let last = self.state.prices.get(asset).map_or(0, |(price, _)| *price);
            let value = notional(last, shares)?;
            let account = self.account(user, at);
            account.bucket_flows += if deposit { value } else { -value };
            account.updated_at = at;
            pending.accounts.insert(user);
            if deposit {
                self.buy(pending, user, asset, shares, last, at)?;
            } else {
                self.consume_lots(pending, user, asset, shares, None, at)?;
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn wallet(&mut self, pending: &mut Pending, user: i64, kind: &str, amount: i64, balance: i64, reference: &str, symbol: Option<&str>, at: i64) {
        let id = self.state.next_wallet_row;
        self.state.next_wallet_row += 1;
        pending.wallet_rows.push(vec![id.into(), user.into(), kind.into(), amount.into(), balance.into(), reference.into(), symbol.into(), at.into()]);
    }

    fn order_accepted(&mut self, item: &Item, event: &events::OrderAccepted, pending: &mut Pending) -> Result<(), StoreError> {
        let order_id = id_param(&event.order_id)?;
        let user_id = id_param(&event.user_id)?;
        if self.is_house(user_id) {
            // The house re-quotes every tick; its orders would swamp the table. Its fills
            // are still in `trades`, its positions and cash still kept.
            return Ok(());
        }
        // A held exit leg being placed keeps its class, its order and its creation time.
        let held = pending.new_orders.get(&order_id).filter(|order| order.status == HELD);
        let (order_class, parent_order_id, created_at) =
            held.map_or((None, None, item.timestamp_ms), |held| (held.order_class.clone(), held.parent_order_id, held.created_at));
        pending.new_orders.insert(
            order_id,
            NewOrder {
                user_id,
                symbol: event.symbol.clone(),
                side: event.side.clone(),
                order_type: event.order_type.clone(),
                time_in_force: event.time_in_force.clone(),
                limit_price: optional_price("limitPrice", &event.limit_price)?,
                stop_price: optional_price("stopPrice", &event.stop_price)?,
                quantity: quantity("quantity", &event.quantity)?,
                filled: 0,
                notional: 0,
                status: "ACCEPTED".to_owned(),
                reason: None,
                client_order_id: event.client_order_id.clone(),
                budget: event.notional.as_deref().map(|text| money("notional", text)).transpose()?,
                created_at,
                updated_at: item.timestamp_ms,
                order_class,
                parent_order_id,
                trail_amount: optional_price("trailAmount", &event.trail_amount)?,
                trail_percent: optional_price("trailPercent", &event.trail_percent)?,
                post_only: event.post_only.then_some(1),
                self_trade_prevention: event.self_trade_prevention.clone(),
            },
        );
        Ok(())
    }

    /// A contingent order's class, and its exit legs as rows HELD until placed: the side
    /// opposite the order's (an OCO's legs share it), its quantity, GTC unless it is DAY.
    fn contingent(&mut self, item: &Item, event: &events::OrderContingent, pending: &mut Pending) -> Result<(), StoreError> {
        let (order_id, user) = (id_param(&event.order_id)?, id_param(&event.user_id)?);
        if self.is_house(user) {
            return Ok(());
        }
        let class = event.order_class.clone();
        // What the legs take from their order: its symbol, side, quantity and time in force.
        let (symbol, side, quantity, time_in_force) = match pending.new_orders.get_mut(&order_id) {
            Some(entry) => {
                entry.order_class = Some(class.clone());
                (entry.symbol.clone(), entry.side.clone(), entry.quantity, entry.time_in_force.clone())
            }
            // Its acceptance was written by an earlier poll (a poll ends between records).
            None => {
                let patch = pending.patches.entry(order_id).or_default();
                patch.order_class = Some(class.clone());
                patch.updated_at = item.timestamp_ms;
                let Some(stored) = self.store.order(order_id as u64)? else { return Ok(()) };
                (stored.symbol, stored.side, stored.quantity.raw(), stored.time_in_force)
            }
        };
        let side = match (class.as_str(), side.as_str()) {
            ("OCO", side) => side.to_owned(),
            (_, "BUY") => "SELL".to_owned(),
            _ => "BUY".to_owned(),
        };
        for leg in [&event.take_profit, &event.stop_loss].into_iter().flatten() {
            pending.new_orders.insert(
                id_param(&leg.order_id)?,
                NewOrder {
                    user_id: user,
                    symbol: symbol.clone(),
                    side: side.clone(),
                    order_type: leg.order_type.clone(),
                    time_in_force: if time_in_force == "DAY" { "DAY" } else { "GTC" }.to_owned(),
                    limit_price: optional_price("limitPrice", &leg.limit_price)?,
                    stop_price: optional_price("stopPrice", &leg.stop_price)?,
                    quantity,
                    filled: 0,
                    notional: 0,
                    status: HELD.to_owned(),
                    reason: None,
                    client_order_id: None,
                    created_at: item.timestamp_ms,
                    updated_at: item.timestamp_ms,
                    budget: None,
                    order_class: Some(class.clone()),
                    parent_order_id: Some(order_id),
                    trail_amount: None,
                    trail_percent: None,
                    post_only: None,
                    self_trade_prevention: None,
                },
            );
        }
        Ok(())
    }

    fn execution(&mut self, item: &Item, event: &events::Execution, pending: &mut Pending) -> Result<(), StoreError> {
        let user = id_param(&event.user_id)?;
        let symbol = event.symbol.as_str();
        let side = event.side.as_str();
        let status = event.status.as_str();
        let size = quantity("quantity", &event.quantity)?;
        let at = item.timestamp_ms;
        let executed = status == "EXECUTED";
        let (execution_price, fill_notional, fee) = if executed {
            let fill_price = price("executionPrice", required("executionPrice", event.execution_price.as_deref())?)?;
            (Some(fill_price), Some(notional(fill_price, size)?), money("fee", required("fee", event.fee.as_deref())?)?)
        } else {
            (None, None, 0)
        };
        let row = self.state.next_trade_row;
        self.state.next_trade_row += 1;
        let trade_id = event.trade_id.as_deref().map(id_param).transpose()?;
        let failure = event.failure_reason.as_deref();
        pending.trade_rows.push(vec![
            row.into(),
            item.event_id.as_str().into(),
            trade_id.into(),
            id_param(&event.order_id)?.into(),
            user.into(),
            symbol.into(),
            side.into(),
            size.into(),
            status.into(),
            execution_price.into(),
            fill_notional.into(),
            fee.into(),
            event.liquidity.as_deref().into(),
            at.into(),
            failure.into(),
        ]);
        if let (Some(reason), Dialect::Sqlite) = (failure, self.store.dialect()) {
            pending.statements.push(Statement::new(
                "INSERT INTO trades_fts (rowid, user_key, failure_reason) VALUES ($1, $2, $3)",
                vec![row.into(), crate::queries::fts_user_key(user).into(), reason.into()],
            ));
        }
        let (Some(fill_price), Some(fill_notional)) = (execution_price, fill_notional) else { return Ok(()) };
        let reference = required("tradeId", event.trade_id.as_deref())?;
        let buy = side == "BUY";
        if buy {
            self.buy(pending, user, symbol, size, fill_price, at)?;
        } else {
            self.consume_lots(pending, user, symbol, size, Some(fill_price), at)?;
        }
        let key = (user, symbol.to_owned());
        if let Some(position) = self.state.positions.get_mut(&key) {
            position.fees += fee;
        }
        let account = self.account(user, at);
        let trade_cash = if buy { -fill_notional } else { fill_notional };
        account.cash = account.cash.checked_add(trade_cash).and_then(|cash| cash.checked_sub(fee)).ok_or_else(overflow)?;
        account.fees += fee;
        account.updated_at = at;
        let (after_trade, after_fee) = (account.cash + fee, account.cash);
        pending.accounts.insert(user);
        self.wallet(pending, user, if buy { "BUY" } else { "SELL" }, trade_cash, after_trade, reference, Some(symbol), at);
        if fee != 0 {
            self.wallet(pending, user, "FEE", -fee, after_fee, reference, Some(symbol), at);
        }
        self.set_price(symbol, fill_price, at, pending);
        Ok(())
    }

    /// `symbol`'s latest price is now `price` (at `at`); the one it replaces closed its day
    /// if this one is from a later (UTC) day.
    fn set_price(&mut self, symbol: &str, price: i64, at: i64, pending: &mut Pending) {
        use crate::performance::DAY_MS;
        if let Some(&(previous, previous_at)) = self.state.prices.get(symbol)
            && previous_at.div_euclid(DAY_MS) < at.div_euclid(DAY_MS)
        {
            pending.statements.push(Statement::new(
                "INSERT INTO daily_closes (symbol, day, price) VALUES ($1, $2, $3) ON CONFLICT (symbol, day) DO UPDATE SET price = excluded.price",
                vec![symbol.into(), (previous_at.div_euclid(DAY_MS) * DAY_MS).into(), previous.into()],
            ));
        }
        self.state.prices.insert(symbol.to_owned(), (price, at));
        pending.prices.insert(symbol.to_owned());
    }

    /// A limit breach becomes an alert, queued for each of the user's webhooks.
    /// A notification for `user` (not the house's), once per event.
    fn notify(&self, item: &Item, user: &str, kind: &str, title: &str, message: String, pending: &mut Pending) -> Result<(), StoreError> {
        let user = id_param(user)?;
        if self.is_house(user) {
            return Ok(());
        }
        pending.notification_rows.push(notification_row(format!("{}:{kind}", item.event_id), user, kind, title, message, item.timestamp_ms));
        Ok(())
    }

    /// Price alerts not yet triggered nor deleted, by symbol.
    /// The batch's waiting price alerts, by symbol: read with the batch's first price.
    fn price_alerts_of_batch<'a>(
        &self,
        batch: &'a mut Option<BTreeMap<String, Vec<crate::PriceAlertRecord>>>,
    ) -> Result<&'a mut BTreeMap<String, Vec<crate::PriceAlertRecord>>, StoreError> {
        match batch {
            Some(alerts) => Ok(alerts),
            None => Ok(batch.insert(self.waiting_price_alerts()?)),
        }
    }

    fn waiting_price_alerts(&self) -> Result<BTreeMap<String, Vec<crate::PriceAlertRecord>>, StoreError> {
        let rows = self.store.backend().query(
            "SELECT alert_id, user_id, symbol, direction, price, created_at, triggered_at FROM price_alerts WHERE triggered_at IS NULL AND deleted_at IS NULL",
            &[],
        )?;
        let mut alerts: BTreeMap<String, Vec<crate::PriceAlertRecord>> = BTreeMap::new();
        for row in &rows {
            let alert = crate::notifications::price_alert(row)?;
            alerts.entry(alert.symbol.clone()).or_default().push(alert);
        }
        Ok(alerts)
    }

    fn breach(&mut self, item: &Item, event: &events::LimitBreached, pending: &mut Pending) -> Result<(), StoreError> {
        let message = format!("Order {} ({} {} {}) was refused by a trading limit: {}.", event.order_id, event.side, event.quantity, event.symbol, event.limit);
        self.notify(item, &event.user_id, "LIMIT_BREACH", "Trading limit reached", message, pending)?;
        let user = id_param(&event.user_id)?;
        let limit = event.limit.as_str();
        let title = format!("Order refused: {}", limit.trim_start_matches("limit_").replace('_', " "));
        let message = format!(
            "Order {} ({} {} {}) was refused by the {} limit.",
            event.order_id,
            event.side,
            event.quantity,
            event.symbol,
            limit.trim_start_matches("limit_").replace('_', " ")
        );
        pending.statements.push(Statement::new(
            "INSERT INTO alerts (alert_id, user_id, severity, title, message, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (alert_id) DO NOTHING",
            vec![item.event_id.as_str().into(), user.into(), breach_severity(limit).into(), title.into(), message.into(), item.timestamp_ms.into()],
        ));
        pending.statements.push(Statement::new(
            "INSERT INTO webhook_deliveries (alert_id, webhook_id, attempts, next_attempt_at) \
             SELECT CAST($1 AS TEXT), webhook_id, 0, CAST($2 AS BIGINT) FROM webhooks WHERE user_id = $3 AND revoked_at IS NULL \
             ON CONFLICT (alert_id, webhook_id) DO NOTHING",
            vec![item.event_id.as_str().into(), item.timestamp_ms.into(), user.into()],
        ));
        Ok(())
    }

    fn buy(&mut self, pending: &mut Pending, user: i64, symbol: &str, size: i64, fill_price: i64, at: i64) -> Result<(), StoreError> {
        let key = (user, symbol.to_owned());
        let position = self.state.positions.entry(key.clone()).or_default();
        let lot = Lot { lot: position.next_lot, quantity: size, price: fill_price, opened_at: at };
        position.next_lot += 1;
        position.quantity += size;
        position.cost = position.cost.checked_add(notional(fill_price, size)?).ok_or_else(overflow)?;
        position.updated_at = at;
        position.lots.push_back(lot);
        pending.lots.insert((user, symbol.to_owned(), lot.lot));
        pending.new_lots.insert((user, symbol.to_owned(), lot.lot));
        pending.positions.insert(key);
        Ok(())
    }

    /// Takes `size` out of the oldest lots; with a sale price, realises the difference.
    fn consume_lots(&mut self, pending: &mut Pending, user: i64, symbol: &str, size: i64, sale: Option<i64>, at: i64) -> Result<(), StoreError> {
        let key = (user, symbol.to_owned());
        let position = self.state.positions.entry(key.clone()).or_default();
        let mut left = size;
        while left > 0 {
            let Some(lot) = position.lots.front_mut() else { break };
            let take = left.min(lot.quantity);
            let cost = notional(lot.price, take)?;
            if let Some(sale) = sale {
                position.realized = position.realized.checked_add(notional(sale, take)? - cost).ok_or_else(overflow)?;
            }
            position.cost -= cost;
            lot.quantity -= take;
            left -= take;
            pending.lots.insert((user, symbol.to_owned(), lot.lot));
            if lot.quantity == 0 {
                position.lots.pop_front();
            }
        }
        // Shares the projection never saw arrive (none, if it saw the whole log) leave at
        // no recorded cost.
        if let (Some(sale), true) = (sale, left > 0) {
            position.realized = position.realized.checked_add(notional(sale, left)?).ok_or_else(overflow)?;
        }
        position.quantity -= size;
        position.updated_at = at;
        pending.positions.insert(key);
        Ok(())
    }

    /// Starts a new snapshot bucket when `at` is past the open one, recording every
    /// account's value at the end of the one closing.
    fn roll_bucket(&mut self, at: i64, pending: &mut Pending) -> Result<(), StoreError> {
        let width = self.config.snapshot_bucket_ms.max(1);
        let bucket = at.div_euclid(width) * width;
        let Some(open) = self.state.bucket else {
            self.state.bucket = Some(bucket);
            return Ok(());
        };
        if bucket <= open {
            return Ok(());
        }
        let mut holdings: FxHashMap<i64, i128> = FxHashMap::default();
        for ((user, symbol), position) in &self.state.positions {
            let last = self.state.prices.get(symbol).map_or(0, |(price, _)| *price);
            *holdings.entry(*user).or_default() += i128::from(position.quantity) * i128::from(last);
        }
        let mut users: Vec<_> = self.state.accounts.iter().filter(|(_, account)| !account.house).map(|(user, _)| *user).collect();
        users.sort_unstable();
        let mut snapshot_rows = Vec::new();
        for user in users {
            let held = holdings.get(&user).copied().unwrap_or(0);
            let Some(account) = self.state.accounts.get_mut(&user) else { continue };
            let value = i64::try_from(i128::from(account.cash) + held).map_err(|_| overflow())?;
            if value == 0 && account.bucket_flows == 0 {
                continue;
            }
            // Labelled with when the value holds: the end of the bucket.
            snapshot_rows.push(vec![user.into(), (open + width).into(), value.into(), account.cash.into(), account.bucket_flows.into()]);
            if account.bucket_flows != 0 {
                account.bucket_flows = 0;
                pending.accounts.insert(user);
            }
        }
        insert_statements(
            "portfolio_snapshots",
            &["user_id", "bucket", "total_value", "cash", "net_flows"],
            snapshot_rows,
            " ON CONFLICT (user_id, bucket) DO UPDATE SET total_value = excluded.total_value, cash = excluded.cash, net_flows = excluded.net_flows",
            &mut pending.statements,
        );
        self.state.bucket = Some(bucket);
        Ok(())
    }

    /// Turns the poll's changed state into statements, then the offsets it reached.
    fn flush(&mut self, pending: &mut Pending, items: &[Item]) -> Result<(), StoreError> {
        let trade_rows = std::mem::take(&mut pending.trade_rows);
        insert_statements("trades", &TRADE_COLUMNS, trade_rows, "", &mut pending.statements);
        let wallet_rows = std::mem::take(&mut pending.wallet_rows);
        insert_statements("wallet_transactions", &WALLET_COLUMNS, wallet_rows, "", &mut pending.statements);
        let notification_rows = std::mem::take(&mut pending.notification_rows);
        let notified: std::collections::BTreeSet<i64> =
            notification_rows.iter().filter_map(|row| if let Some(Param::Int(account)) = row.get(1) { Some(*account) } else { None }).collect();
        insert_statements("notifications", &NOTIFICATION_COLUMNS, notification_rows, " ON CONFLICT (notification_id) DO NOTHING", &mut pending.statements);
        // None for a closed account (its user deleted it; the deletion's own cancels come
        // here after it): what the batch wrote for one goes again in the same transaction.
        let notified: Vec<i64> = notified.into_iter().collect();
        for accounts in notified.chunks(500) {
            let list = (1..=accounts.len()).map(|index| format!("${index}")).collect::<Vec<_>>().join(", ");
            pending.statements.push(Statement::new(
                format!("DELETE FROM notifications WHERE user_id IN (SELECT account_id FROM closed_accounts WHERE account_id IN ({list}))"),
                accounts.iter().map(|account| Param::Int(*account)).collect(),
            ));
        }
        let audit_rows = std::mem::take(&mut pending.audit_rows);
        insert_statements(
            "audit_log",
            &["entry_id", "at", "actor", "action", "subject", "details"],
            audit_rows,
            " ON CONFLICT (entry_id) DO NOTHING",
            &mut pending.statements,
        );
        let order_rows = std::mem::take(&mut pending.new_orders)
            .into_iter()
            .map(|(order_id, order)| {
                vec![
                    order_id.into(),
                    order.user_id.into(),
                    order.symbol.into(),
                    order.side.into(),
                    order.order_type.into(),
                    order.time_in_force.into(),
                    order.limit_price.into(),
                    order.stop_price.into(),
                    order.quantity.into(),
                    order.filled.into(),
                    order.notional.into(),
                    order.status.into(),
                    order.reason.into(),
                    order.client_order_id.into(),
                    order.created_at.into(),
                    order.updated_at.into(),
                    order.budget.into(),
                    order.order_class.into(),
                    order.parent_order_id.into(),
                    order.trail_amount.into(),
                    order.trail_percent.into(),
                    order.post_only.into(),
                    order.self_trade_prevention.into(),
                ]
            })
            .collect();
        insert_statements("orders", &ORDER_COLUMNS, order_rows, ORDER_CONFLICT, &mut pending.statements);
        for (order_id, patch) in std::mem::take(&mut pending.patches) {
            pending.statements.push(Statement::new(
                "UPDATE orders SET filled_quantity = COALESCE($1, filled_quantity + $2), filled_notional = filled_notional + $3, \
                 status = COALESCE($4, status), reason = COALESCE($5, reason), \
                 limit_price = CASE WHEN limit_price IS NULL THEN NULL ELSE COALESCE($6, limit_price) END, \
                 quantity = COALESCE($7, quantity), updated_at = $8, order_class = COALESCE($10, order_class), \
                 stop_price = COALESCE($11, stop_price), client_order_id = COALESCE($12, client_order_id), \
                 time_in_force = COALESCE($13, time_in_force) WHERE order_id = $9",
                vec![
                    patch.filled_total.into(),
                    patch.filled_add.into(),
                    patch.notional_add.into(),
                    patch.status.into(),
                    patch.reason.into(),
                    patch.limit_price.into(),
                    patch.quantity.into(),
                    patch.updated_at.into(),
                    order_id.into(),
                    patch.order_class.into(),
                    patch.stop_price.into(),
                    patch.client_order_id.into(),
                    patch.time_in_force.into(),
                ],
            ));
            if let Some((amount, percent)) = patch.trail {
                pending.statements.push(Statement::new(
                    "UPDATE orders SET trail_amount = $1, trail_percent = $2 WHERE order_id = $3",
                    vec![amount.into(), percent.into(), order_id.into()],
                ));
            }
        }
        let mut users: Vec<i64> = std::mem::take(&mut pending.accounts).into_iter().collect();
        users.sort_unstable();
        let account_rows = users
            .into_iter()
            .map(|user| {
                let account = self.state.accounts.get(&user).cloned().unwrap_or_default();
                vec![
                    user.into(),
                    i64::from(account.house).into(),
                    account.cash.into(),
                    account.deposits.into(),
                    account.withdrawals.into(),
                    account.fees.into(),
                    account.bucket_flows.into(),
                    account.created_at.into(),
                    account.updated_at.into(),
                ]
            })
            .collect();
        insert_statements(
            "accounts",
            &["user_id", "house", "cash", "deposits", "withdrawals", "fees", "bucket_flows", "created_at", "updated_at"],
            account_rows,
            " ON CONFLICT (user_id) DO UPDATE SET house = excluded.house, cash = excluded.cash, deposits = excluded.deposits, \
             withdrawals = excluded.withdrawals, fees = excluded.fees, bucket_flows = excluded.bucket_flows, updated_at = excluded.updated_at",
            &mut pending.statements,
        );
        let mut keys: Vec<PositionKey> = std::mem::take(&mut pending.positions).into_iter().collect();
        keys.sort_unstable();
        let position_rows = keys
            .into_iter()
            .map(|key| {
                let position = self.state.positions.get(&key).cloned().unwrap_or_default();
                let (user, symbol) = key;
                vec![
                    user.into(),
                    symbol.into(),
                    position.quantity.into(),
                    position.cost.into(),
                    position.realized.into(),
                    position.fees.into(),
                    position.updated_at.into(),
                ]
            })
            .collect();
        insert_statements(
            "positions",
            &["user_id", "symbol", "quantity", "cost", "realized_pnl", "fees", "updated_at"],
            position_rows,
            " ON CONFLICT (user_id, symbol) DO UPDATE SET quantity = excluded.quantity, cost = excluded.cost, \
             realized_pnl = excluded.realized_pnl, fees = excluded.fees, updated_at = excluded.updated_at",
            &mut pending.statements,
        );
        let mut lots: Vec<(i64, String, i64)> = std::mem::take(&mut pending.lots).into_iter().collect();
        lots.sort_unstable();
        let mut lot_rows = Vec::new();
        for (user, symbol, lot_number) in lots {
            let lot = self.state.positions.get(&(user, symbol.clone())).and_then(|position| position.lots.iter().find(|lot| lot.lot == lot_number).copied());
            match lot {
                Some(lot) => lot_rows.push(vec![user.into(), symbol.into(), lot.lot.into(), lot.quantity.into(), lot.price.into(), lot.opened_at.into()]),
                // Opened and used up within this poll: never stored.
                None if pending.new_lots.contains(&(user, symbol.clone(), lot_number)) => {}
                None => pending.statements.push(Statement::new(
                    "DELETE FROM position_lots WHERE user_id = $1 AND symbol = $2 AND lot = $3",
                    vec![user.into(), symbol.into(), lot_number.into()],
                )),
            }
        }
        insert_statements(
            "position_lots",
            &["user_id", "symbol", "lot", "quantity", "price", "opened_at"],
            lot_rows,
            " ON CONFLICT (user_id, symbol, lot) DO UPDATE SET quantity = excluded.quantity",
            &mut pending.statements,
        );
        for symbol in std::mem::take(&mut pending.prices) {
            let (last, at) = self.state.prices.get(&symbol).copied().unwrap_or_default();
            pending.statements.push(Statement::new(
                "INSERT INTO last_prices (symbol, price, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (symbol) DO UPDATE SET price = excluded.price, updated_at = excluded.updated_at",
                vec![symbol.into(), last.into(), at.into()],
            ));
        }
        if let Some(bucket) = self.state.bucket {
            pending.statements.push(Statement::new(
                "INSERT INTO projection_meta (name, value) VALUES ('snapshot_bucket', $1) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                vec![bucket.into()],
            ));
        }
        let mut reached: BTreeMap<(usize, Partition), Offset> = BTreeMap::new();
        let mut sequenced: BTreeMap<&str, u64> = BTreeMap::new();
        for item in items {
            let next = reached.entry((item.topic, item.partition)).or_default();
            *next = (*next).max(item.offset + 1);
            if let Some((producer, sequence)) = &item.sequence {
                let next = sequenced.entry(producer.as_str()).or_default();
                *next = (*next).max(sequence + 1);
            }
        }
        for (producer, next) in sequenced {
            pending.statements.push(Statement::new(
                "INSERT INTO projection_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                vec![format!("seq:{producer}").into(), i64::try_from(next).unwrap_or(i64::MAX).into()],
            ));
            self.sequences.insert(producer.to_owned(), next);
        }
        for ((topic, partition), next) in reached {
            pending.statements.push(Statement::new(
                "INSERT INTO projection_offsets (projection, topic, part, next_offset) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (projection, topic, part) DO UPDATE SET next_offset = excluded.next_offset",
                vec![PROJECTION.into(), TOPICS[topic].into(), i64::from(partition).into(), i64::try_from(next).unwrap_or(i64::MAX).into()],
            ));
            self.next.insert((topic, partition), next);
        }
        Ok(())
    }
}

/// How many partitions topic `index` of [`TOPICS`] has: none for a `market_data` the log
/// does not have (a log written without a market).
fn partitions(log: &dyn EventLog, index: usize) -> Result<u32, StoreError> {
    match log.partitions(TOPICS[index]) {
        Err(tradecraft_log::LogError::UnknownTopic(_)) if index == MARKET_DATA_TOPIC => Ok(0),
        other => Ok(other?),
    }
}

fn decode(topic: usize, record: StoredRecord) -> Result<Item, StoreError> {
    let envelope = Envelope::<Json>::from_json(&record.value).map_err(|error| StoreError::Decode(error.to_string()))?;
    let timestamp_ms = Timestamp::parse(&envelope.event_timestamp).map_or(record.timestamp_ms, Timestamp::millis);
    let tick = topic == MARKET_DATA_TOPIC;
    // A tick from before ticks named their command has no place in engine order: it is
    // read past (its offset stored) and applied as nothing.
    let event_type = if tick && envelope.command_offset.is_none() { String::new() } else { envelope.event_type };
    Ok(Item {
        // An engine event without its command is from before events named theirs.
        command: envelope.command_offset.unwrap_or(0),
        topic,
        partition: record.partition,
        offset: record.offset,
        timestamp_ms,
        // Ticks are not numbered for the projector: a repeated one sets the same price.
        sequence: if tick { None } else { envelope.producer.zip(envelope.sequence) },
        event_id: envelope.event_id,
        event_type,
        payload: envelope.payload,
    })
}

/// How often the projector measures its lag for `/metrics` (a round trip per partition).
const LAG_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// The statement recording that commands below `through` are all applied.
fn applied_through(through: u64) -> Statement {
    Statement::new(
        "INSERT INTO projection_meta (name, value) VALUES ('applied_through', $1) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        vec![i64::try_from(through).unwrap_or(i64::MAX).into()],
    )
}

/// A poll that applied fewer records than this is followed by a pause of `LINGER_MS`.
const LINGER_BELOW: usize = 4_000;
const LINGER_MS: u64 = 50;

enum Idle {
    Pause(std::time::Duration),
    Backoff(std::time::Duration),
}

/// Counters of a running projector, for `/metrics`.
#[derive(Debug, Default)]
pub struct ProjectionMetrics {
    pub records: std::sync::atomic::AtomicU64,
    pub transactions: std::sync::atomic::AtomicU64,
    pub errors: std::sync::atomic::AtomicU64,
    pub lag: std::sync::Mutex<Vec<ProjectionLag>>,
    /// How far the projection has come, for reads that wait to see what came before them.
    pub progress: Progress,
}

/// The command mark below which the read store has every event, and the furthest mark a
/// waiting read asked for: a read of the store sees everything the engine had done
/// before the read (read your writes), and a waiting read cuts the projector's idling
/// short.
#[derive(Debug, Default)]
pub struct Progress {
    marks: std::sync::Mutex<Marks>,
    applied_changed: std::sync::Condvar,
    wanted_changed: std::sync::Condvar,
}

#[derive(Debug, Default)]
struct Marks {
    applied: u64,
    wanted: u64,
}

impl Progress {
    fn advance(&self, through: u64) {
        if let Ok(mut marks) = self.marks.lock()
            && through > marks.applied
        {
            marks.applied = through;
            self.applied_changed.notify_all();
        }
    }

    /// Waits until commands below `target` are applied, or `timeout` has passed; says
    /// whether they are.
    pub fn wait_for(&self, target: u64, timeout: std::time::Duration) -> bool {
        let Ok(mut marks) = self.marks.lock() else { return false };
        if marks.applied >= target {
            return true;
        }
        if target > marks.wanted {
            marks.wanted = target;
            self.wanted_changed.notify_all();
        }
        self.applied_changed.wait_timeout_while(marks, timeout, |marks| marks.applied < target).is_ok_and(|(marks, _)| marks.applied >= target)
    }

    /// The projector's pause: `timeout`, or less when a read waits for more than is applied.
    fn idle(&self, timeout: std::time::Duration) {
        let Ok(marks) = self.marks.lock() else { return std::thread::sleep(timeout) };
        if marks.wanted > marks.applied {
            return;
        }
        let _ = self.wanted_changed.wait_timeout_while(marks, timeout, |marks| marks.wanted <= marks.applied);
    }
}

impl ProjectionMetrics {
    pub fn lag(&self) -> Vec<ProjectionLag> {
        self.lag.lock().map(|lag| lag.clone()).unwrap_or_default()
    }
}

/// Runs `projector` on its own thread until `stop` is set: polls up to the engine's
/// `watermark`, idles briefly when caught up, and retries after errors (a database that
/// is down) without losing its place.
pub fn spawn_projector(
    mut projector: Projector,
    watermark: impl Fn() -> u64 + Send + 'static,
    stop: Arc<std::sync::atomic::AtomicBool>,
    metrics: Arc<ProjectionMetrics>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    use std::sync::atomic::Ordering::Relaxed;
    let low_priority = projector.config.low_priority;
    std::thread::Builder::new().name("projector".to_owned()).spawn(move || {
        if low_priority {
            tradecraft_log::lower_thread_priority();
        }
        let mut backoff = tradecraft_log::Backoff::new(std::time::Duration::from_millis(100), std::time::Duration::from_secs(5));
        // The watermark at which a poll last found nothing: until it moves there is nothing
        // new to apply, and a poll costs a read of every partition (round trips to a broker).
        let mut drained_at = None;
        let mut lag_measured = std::time::Instant::now() - LAG_EVERY;
        while !stop.load(Relaxed) {
            let mark = watermark();
            if drained_at == Some(mark) {
                metrics.progress.idle(std::time::Duration::from_millis(10));
                if lag_measured.elapsed() < LAG_EVERY {
                    continue;
                }
            }
            let idle = match projector.poll(mark) {
                Ok(status) => {
                    backoff.reset();
                    if let Some(through) = status.through {
                        metrics.progress.advance(through);
                    }
                    drained_at = (status.records == 0).then_some(mark);
                    metrics.records.fetch_add(status.records as u64, Relaxed);
                    metrics.transactions.fetch_add(u64::from(status.records > 0), Relaxed);
                    // Idle when caught up; under a trickle, wait a little so the next
                    // transaction carries more: a page written once per batch instead of
                    // once per record is most of what a projected record costs.
                    match status.records {
                        0 => Some(Idle::Pause(std::time::Duration::from_millis(10))),
                        records if records < LINGER_BELOW => Some(Idle::Pause(std::time::Duration::from_millis(LINGER_MS))),
                        _ => None,
                    }
                }
                Err(error) => {
                    metrics.errors.fetch_add(1, Relaxed);
                    tracing::warn!(error = %error, "projector: poll failed; retrying");
                    Some(Idle::Backoff(backoff.next_wait()))
                }
            };
            if lag_measured.elapsed() >= LAG_EVERY {
                lag_measured = std::time::Instant::now();
                if let (Ok(lag), Ok(mut shared)) = (projector.lag(), metrics.lag.lock()) {
                    *shared = lag;
                }
            }
            match idle {
                // A read waiting for more than is applied cuts a pause short, not a backoff.
                Some(Idle::Pause(pause)) => metrics.progress.idle(pause),
                Some(Idle::Backoff(wait)) => std::thread::sleep(wait),
                None => {}
            }
        }
    })
}

/// Triggers the waiting price alerts of `symbol` that a price of `traded` reaches, each once
/// (marked triggered, with a notification, in the batch's transaction); `how` the price
/// came: it `traded` there, or the market's price feed `is priced` there.
fn price_alert_triggers(item: &Item, symbol: &str, traded: i64, how: &str, alerts: &mut BTreeMap<String, Vec<crate::PriceAlertRecord>>, pending: &mut Pending) {
    let Some(waiting) = alerts.get_mut(symbol) else { return };
    waiting.retain(|alert| {
        let reached = if alert.direction == "ABOVE" { traded >= alert.price } else { traded <= alert.price };
        if !reached {
            return true;
        }
        let shown = |raw: i64| tradecraft_types::Price::from_raw(raw).to_string();
        let word = if alert.direction == "ABOVE" { "at or above" } else { "at or below" };
        pending.statements.push(Statement::new(
            "UPDATE price_alerts SET triggered_at = $1 WHERE alert_id = $2 AND triggered_at IS NULL",
            vec![item.timestamp_ms.into(), alert.alert_id.as_str().into()],
        ));
        let (title, message) = (
            format!("{symbol} {how} {word} {}", shown(alert.price)),
            format!("{symbol} {how} at {}, {word} your alert's {}.", shown(traded), shown(alert.price)),
        );
        pending.notification_rows.push(notification_row(
            format!("price:{}", alert.alert_id),
            alert.user_id as i64,
            "PRICE_ALERT",
            &title,
            message,
            item.timestamp_ms,
        ));
        false
    });
}

const NOTIFICATION_COLUMNS: [&str; 6] = ["notification_id", "user_id", "kind", "title", "message", "created_at"];

/// A notification row, inserted once by its id with the batch's other rows.
/// How serious a breach of `limit` is: a daily loss past its limit is `critical`, a
/// position or exposure past its limit `error` (both escalate when nobody acknowledges
/// them), anything else a `warning`.
pub fn breach_severity(limit: &str) -> &'static str {
    match limit {
        "limit_max_daily_loss" => "critical",
        "limit_max_position" | "limit_max_gross_exposure" => "error",
        _ => "warning",
    }
}

fn notification_row(notification_id: String, user: i64, kind: &str, title: &str, message: String, at_ms: i64) -> Vec<Param> {
    vec![notification_id.into(), user.into(), kind.into(), title.into(), message.into(), at_ms.into()]
}
