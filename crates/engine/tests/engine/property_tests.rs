//! Property tests: random command streams keep every invariant of DESIGN.md after every
//! command: no negative or over-reserved balance, conservation of every asset, every
//! balance change is a ledger posting, uncrossed books, fills at or better than the limit,
//! price-time priority.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tradecraft_engine::{Amount, Asset, Bucket, Command, Engine, EngineConfig, Event, OrderClass, OrderKind, PostingPlace};
use tradecraft_types::{AccountId, OrderId, Price, Side};

use crate::generator::stream;

/// What the test remembers of each order, independently of the engine.
#[derive(Clone, Copy)]
struct Known {
    side: Side,
    /// Limit price, if the order has one (market orders and plain stops do not).
    limit: Option<Price>,
    /// Bumped whenever the order (re)joins the back of a queue.
    priority: u64,
}

#[derive(Default)]
struct Shadow {
    orders: BTreeMap<OrderId, Known>,
    next_priority: u64,
    /// Balances rebuilt from postings alone: (account, asset, bucket) -> amount.
    balances: BTreeMap<(AccountId, Asset, Bucket), i128>,
    /// Net deposits minus withdrawals per asset, from events.
    external: BTreeMap<Asset, i128>,
    /// Contingent orders by their order's id, and each member's group.
    groups: BTreeMap<OrderId, Exits>,
    group_of: BTreeMap<OrderId, OrderId>,
}

/// A contingent order as its events show it.
struct Exits {
    class: OrderClass,
    /// What the entry filled (for OCO, nothing: its order is an exit).
    entry_filled: i64,
    /// Fills per exit leg.
    leg_fills: BTreeMap<OrderId, i64>,
}

impl Exits {
    fn check(&self, entry: OrderId) {
        let filled_legs = self.leg_fills.values().filter(|&&filled| filled > 0).count();
        assert!(filled_legs <= 1, "both exits of #{entry} filled: {:?}", self.leg_fills);
        if self.class != OrderClass::OneCancelsOther {
            let exited: i64 = self.leg_fills.values().sum();
            assert!(exited <= self.entry_filled, "exits of #{entry} filled {exited}, more than its entry's {}", self.entry_filled);
        }
    }
}

impl Shadow {
    fn bump(&mut self) -> u64 {
        self.next_priority += 1;
        self.next_priority
    }

    fn observe(&mut self, command: &Command, events: &[Event]) {
        let mut last_fill: Option<(OrderId, Price, u64)> = None;
        for event in events {
            match event {
                Event::OrderAccepted(order) => {
                    let limit = match order.kind {
                        OrderKind::Limit { price } => Some(price),
                        OrderKind::StopLimit { limit_price, .. } => Some(limit_price),
                        _ => None,
                    };
                    let priority = self.bump();
                    self.orders.insert(order.order_id, Known { side: order.side, limit, priority });
                }
                Event::OrderReplaced { order_id, price, priority_kept, .. } => {
                    let priority = if *priority_kept { None } else { Some(self.bump()) };
                    let known = self.orders.get_mut(order_id).expect("replaced order is known");
                    if price.is_some() {
                        known.limit = *price;
                    }
                    if let Some(priority) = priority {
                        known.priority = priority;
                    }
                }
                // A triggered stop, or an order entering its market at the open, joins the
                // book as if placed now.
                Event::OrderTriggered { order_id, .. } | Event::OrderReleased { order_id, .. } => {
                    let priority = self.bump();
                    self.orders.get_mut(order_id).expect("triggered or released order is known").priority = priority;
                }
                Event::ContingentAccepted { order_id, class, take_profit, stop_loss, .. } => {
                    let mut leg_fills: BTreeMap<OrderId, i64> = take_profit.iter().chain(stop_loss).map(|leg| (leg.order_id, 0)).collect();
                    if *class == OrderClass::OneCancelsOther {
                        leg_fills.insert(*order_id, 0);
                    }
                    for member in leg_fills.keys().chain([order_id]) {
                        self.group_of.insert(*member, *order_id);
                    }
                    self.groups.insert(*order_id, Exits { class: *class, entry_filled: 0, leg_fills });
                }
                Event::Trade(trade) => {
                    for order_id in [trade.taker_order_id, trade.maker_order_id] {
                        let Some(entry) = self.group_of.get(&order_id) else { continue };
                        let exits = self.groups.get_mut(entry).expect("a member's group is known");
                        match exits.leg_fills.get_mut(&order_id) {
                            Some(filled) => *filled += trade.quantity.raw(),
                            None => exits.entry_filled += trade.quantity.raw(),
                        }
                        exits.check(*entry);
                    }
                    let taker = self.orders[&trade.taker_order_id];
                    let maker = self.orders[&trade.maker_order_id];
                    assert_eq!(taker.side, trade.taker_side);
                    assert_eq!(maker.side, trade.taker_side.opposite(), "maker and taker are on opposite sides");
                    assert_ne!(trade.taker_account, trade.maker_account, "no self-trade");
                    // Fills happen at the maker's limit, which is at or better than the taker's.
                    assert_eq!(Some(trade.price), maker.limit, "fills are at the resting price");
                    if let Some(limit) = taker.limit {
                        match trade.taker_side {
                            Side::Buy => assert!(trade.price <= limit, "buy filled above its limit"),
                            Side::Sell => assert!(trade.price >= limit, "sell filled below its limit"),
                        }
                    }
                    // Price-time priority within one taker's sweep: prices only get worse,
                    // and at one price older makers fill first.
                    if let Some((taker_id, price, priority)) = last_fill
                        && taker_id == trade.taker_order_id
                    {
                        match trade.taker_side {
                            Side::Buy => assert!(trade.price >= price, "buy sweep went down in price"),
                            Side::Sell => assert!(trade.price <= price, "sell sweep went up in price"),
                        }
                        if trade.price == price {
                            assert!(maker.priority > priority, "time priority broken at {price}");
                        }
                    }
                    last_fill = Some((trade.taker_order_id, trade.price, maker.priority));
                }
                Event::Deposited { amount, .. } | Event::Withdrawn { amount, .. } => {
                    let (asset, raw) = match amount {
                        Amount::Cash(cash) => (Asset::Cash, cash.raw()),
                        Amount::Shares(symbol, quantity) => (Asset::Shares(*symbol), quantity.raw()),
                    };
                    let sign = if matches!(event, Event::Deposited { .. }) { 1 } else { -1 };
                    *self.external.entry(asset).or_default() += sign * i128::from(raw);
                }
                _ => {}
            }
        }
        let _ = command;
    }

    fn apply_postings(&mut self, engine: &mut Engine) {
        for posting in engine.take_postings() {
            assert!(posting.amount > 0, "postings move positive amounts");
            assert_ne!(posting.from, posting.to, "a posting moves between two places");
            for (place, sign) in [(posting.from, -1), (posting.to, 1)] {
                if let PostingPlace::Account(account, bucket) = place {
                    *self.balances.entry((account, posting.asset, bucket)).or_default() += sign * i128::from(posting.amount);
                }
            }
        }
    }

    /// Every balance the engine reports equals the sum of its postings, and every asset's
    /// total equals what came in from outside.
    fn check_balances(&self, engine: &Engine, accounts: &[AccountId]) {
        let mut totals: BTreeMap<Asset, i128> = BTreeMap::new();
        for &account in accounts {
            let view = engine.account(account).expect("account exists");
            let mut entries = vec![(Asset::Cash, view.cash)];
            entries.extend(view.holdings.iter().map(|&(symbol, balance)| (Asset::Shares(symbol), balance)));
            for (asset, balance) in entries {
                assert!(balance.available >= 0 && balance.reserved >= 0, "negative balance");
                let posted = |bucket| self.balances.get(&(account, asset, bucket)).copied().unwrap_or_default();
                assert_eq!(i128::from(balance.available), posted(Bucket::Available), "{account} {asset:?} available");
                assert_eq!(i128::from(balance.reserved), posted(Bucket::Reserved), "{account} {asset:?} reserved");
                *totals.entry(asset).or_default() += i128::from(balance.total());
            }
        }
        for (asset, total) in totals {
            assert_eq!(total, self.external.get(&asset).copied().unwrap_or_default(), "{asset:?} not conserved");
        }
    }
}

/// The snapshot with its clock field zeroed: a rejected command may advance time but must
/// change nothing else. The clock sits after the magic, version and config fields.
fn snapshot_without_clock(engine: &Engine) -> Vec<u8> {
    const CLOCK_OFFSET: usize = 8 + 4 + 8 + 4 + 4 + 1;
    let mut bytes = engine.snapshot();
    bytes[CLOCK_OFFSET..CLOCK_OFFSET + 8].fill(0);
    bytes
}

fn is_rejection(event: &Event) -> bool {
    matches!(event, Event::OrderRejected { .. } | Event::CommandRejected { .. })
}

fn check_stream(seed: u64, length: usize, config: EngineConfig, check_rejections: bool) {
    let mut engine = Engine::new(EngineConfig { keep_postings: true, ..config });
    let mut shadow = Shadow::default();
    let mut events = Vec::new();
    let mut accounts: Vec<AccountId> = vec![config.fee_account];
    for (index, command) in stream(seed, length).iter().enumerate() {
        events.clear();
        // A refused keyed order still records its key (a retry gets the first answer), and
        // keys past their window are pruned: those commands may change that much.
        let keyed = matches!(command, Command::PlaceOrderOnce { .. } | Command::PlaceContingent { key: Some(_), .. });
        let before = (check_rejections && !keyed).then(|| snapshot_without_clock(&engine));
        engine.apply(command, index as u64, &mut events);
        if let Some(before) = before
            && !events.is_empty()
            && events.iter().all(is_rejection)
        {
            assert!(before == snapshot_without_clock(&engine), "seed {seed}: rejected {command:?} changed state");
        }
        if let Command::CreateAccount { account, .. } = command {
            accounts.push(*account);
        }
        shadow.observe(command, &events);
        shadow.apply_postings(&mut engine);
        if let Err(violation) = engine.check_invariants() {
            panic!("seed {seed}, command {index} {command:?}: {violation}");
        }
        shadow.check_balances(&engine, &accounts);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_streams_keep_every_invariant(seed in any::<u64>(), maker in 0_u32..30, taker in 0_u32..60) {
        let config = EngineConfig { maker_fee_bps: maker, taker_fee_bps: taker, ..EngineConfig::default() };
        check_stream(seed, 600, config, true);
    }
}

#[test]
fn a_long_stream_keeps_every_invariant() {
    check_stream(7, 20_000, EngineConfig { maker_fee_bps: 5, taker_fee_bps: 20, ..EngineConfig::default() }, false);
}

#[test]
fn random_streams_exercise_every_path() {
    let mut engine = Engine::new(EngineConfig::default());
    let mut events = Vec::new();
    for (index, command) in stream(11, 20_000).iter().enumerate() {
        engine.apply(command, index as u64, &mut events);
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for event in &events {
        if let Event::OrderReplaced { client_order_id, time_in_force, .. } = event {
            *counts.entry("OrderReplaced client order id".to_owned()).or_default() += usize::from(client_order_id.is_some());
            *counts.entry("OrderReplaced time in force".to_owned()).or_default() += usize::from(time_in_force.is_some());
        }
        let name = match event {
            Event::OrderDone { reason, .. } => format!("done {reason:?}"),
            Event::OrderReplaced { trail: Some(_), .. } => "OrderReplaced trail".to_owned(),
            Event::OrderReplaced { stop_price: Some(_), .. } => "OrderReplaced stop".to_owned(),
            Event::OrderRejected { reason, .. } | Event::CommandRejected { reason, .. } => format!("rejected {}", reason.code()),
            other => format!("{other:?}").split([' ', '(', '{']).next().unwrap_or_default().to_owned(),
        };
        *counts.entry(name).or_default() += 1;
    }
    for expected in [
        "Trade",
        "OrderTriggered",
        "OrderReleased",
        "OrderReplaced",
        "OrderReplaced stop",
        "OrderReplaced trail",
        "OrderReplaced client order id",
        "OrderReplaced time in force",
        "rejected duplicate_client_order_id",
        "done Filled",
        "done Cancelled",
        "done Expired",
        "done Unfilled",
        "done FillOrKillUnfillable",
        "done SelfTradePrevented",
        "rejected insufficient_funds",
        "rejected insufficient_shares",
        "rejected post_only_would_cross",
        "TransferAlreadyApplied",
        "ContingentAccepted",
        "LegResized",
        "LegCancelled",
        "SessionOpened",
        "SessionClosed",
        "rejected market_closed",
    ] {
        assert!(counts.get(expected).copied().unwrap_or_default() >= 3, "{expected} too rare: {counts:#?}");
    }
}
