//! Contingent orders: brackets, one-triggers-other and one-cancels-other.
//!
//! A group is an order and up to two exit legs: a take profit (a limit) and a stop loss (a
//! stop or stop-limit) on the opposite side. Rules, all applied inside the command that
//! causes them, so they are atomic, deterministic and in the snapshot:
//! - The legs are held until the entry fills; then they are placed for what it filled,
//!   and grow (same price, same priority) with each later fill of the entry. OCO has no
//!   entry: its order is the take profit, and its stop loss is placed at once.
//! - The two legs share one reservation: the take profit holds the shares (or cash) for
//!   both, the stop loss none, since only one of them may ever fill. When the stop loss
//!   triggers it takes the reservation over and the take profit is cancelled; when the take
//!   profit fills first the stop loss is cancelled. So the exits never sell more than the
//!   entry bought, and an OCO never fills both legs.
//! - Cancelling the entry cancels its legs; a leg that ends unfilled (cancelled, expired,
//!   or cancelled by self-trade prevention) ends the other. An entry
//!   that ends with nothing filled cancels its held legs. An entry that ends partly filled
//!   (IOC, a market order's unfilled rest, a DAY expiry) keeps its legs for what it filled.
//! - A leg's quantity cannot be replaced (its price can, like any resting limit).
//!
//! Limits: legs are ordinary orders to the risk checks; a leg refused at activation (for
//! example by a trading limit) is reported with `OrderRejected` and the group carries on
//! without it. A leg that cannot reserve more for a later fill of its entry keeps its size.
//! Once an exit has filled or triggered, later entry fills only grow that exit, if it is
//! still open.

use tradecraft_types::{AccountId, OrderId, Quantity, Side, Symbol};

use crate::book::{self, StoredKind};
use crate::command::{ContingentOrder, ExitLeg, NewOrder, OrderClass, OrderKind, OrderSize, SelfTradePrevention, TimeInForce};
use crate::engine::{Engine, State, buy_reservation};
use crate::event::{DoneReason, Event, RejectReason};
use crate::ledger::Bucket;

/// Where a leg is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LegStatus {
    /// Waiting for the entry to fill.
    Held,
    /// An open order in the engine (or one whose end has not been read yet).
    Live,
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LegState {
    pub(crate) leg: ExitLeg,
    pub(crate) status: LegStatus,
}

/// One contingent order's state, keyed by its order's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Group {
    pub(crate) class: OrderClass,
    pub(crate) account: AccountId,
    pub(crate) symbol: Symbol,
    /// The entry (bracket, OTO), or for OCO the take profit itself.
    pub(crate) entry: OrderId,
    /// The entry may still fill (always false for OCO).
    pub(crate) entry_open: bool,
    pub(crate) exit_side: Side,
    pub(crate) time_in_force: TimeInForce,
    pub(crate) self_trade: Option<SelfTradePrevention>,
    /// Entry quantity filled (raw units): what the exits are for.
    pub(crate) activated: i64,
    /// The leg that filled or triggered first.
    pub(crate) exit: Option<OrderId>,
    pub(crate) take_profit: Option<LegState>,
    pub(crate) stop_loss: Option<LegState>,
}

impl Group {
    /// The leg holding the exits' reservation: the take profit if there is one.
    fn holder(&self) -> Option<LegState> {
        self.take_profit.or(self.stop_loss)
    }

    /// The stop loss, when it shares the take profit's reservation.
    pub(crate) fn sharer(&self) -> Option<LegState> {
        self.take_profit.and(self.stop_loss)
    }

    fn leg_mut(&mut self, order_id: OrderId) -> Option<&mut LegState> {
        [&mut self.take_profit, &mut self.stop_loss].into_iter().flatten().find(|leg| leg.leg.order_id == order_id)
    }

    fn legs(&self) -> impl Iterator<Item = LegState> + '_ {
        [self.take_profit, self.stop_loss].into_iter().flatten()
    }

    fn is_leg(&self, order_id: OrderId) -> bool {
        self.legs().any(|leg| leg.leg.order_id == order_id)
    }

    fn finished(&self) -> bool {
        !self.entry_open && self.legs().all(|leg| leg.status == LegStatus::Done)
    }
}

/// Validates a contingent order's shape and its legs' prices; the entry itself is checked
/// by acceptance. `base` is the price the entry is expected to fill at, when known.
fn check_shape(order: &ContingentOrder, tick: &book::Grid, base: Option<i64>) -> Result<(), RejectReason> {
    let entry = &order.order;
    let shaped = match order.class {
        OrderClass::Bracket => order.take_profit.is_some() && order.stop_loss.is_some(),
        OrderClass::OneTriggersOther => order.take_profit.is_some() != order.stop_loss.is_some(),
        // An OCO's limit is an exit, working now: it cannot wait for the open or close.
        OrderClass::OneCancelsOther => {
            order.take_profit.is_none()
                && order.stop_loss.is_some()
                && matches!(entry.kind, OrderKind::Limit { .. })
                && !entry.time_in_force.waits_for_auction()
        }
    };
    if !shaped || !matches!(entry.size, OrderSize::Quantity(_)) {
        return Err(RejectReason::InvalidOrder);
    }
    let ids: Vec<OrderId> =
        [Some(entry.order_id), order.take_profit.map(|leg| leg.order_id), order.stop_loss.map(|leg| leg.order_id)].into_iter().flatten().collect();
    if (1..ids.len()).any(|index| ids[..index].contains(&ids[index])) {
        return Err(RejectReason::DuplicateOrderId);
    }
    let take_profit = match (order.class, order.take_profit) {
        (OrderClass::OneCancelsOther, _) => match entry.kind {
            OrderKind::Limit { price } => Some(price),
            _ => None,
        },
        (_, Some(ExitLeg { kind: OrderKind::Limit { price }, .. })) => Some(price),
        (_, Some(_)) => return Err(RejectReason::InvalidOrder),
        (_, None) => None,
    };
    let stop = match order.stop_loss.map(|leg| leg.kind) {
        Some(OrderKind::Stop { stop_price }) => Some((stop_price, None)),
        Some(OrderKind::StopLimit { stop_price, limit_price }) => Some((stop_price, Some(limit_price))),
        Some(_) => return Err(RejectReason::InvalidOrder),
        None => None,
    };
    let prices = take_profit.into_iter().chain(stop.into_iter().flat_map(|(stop, limit)| std::iter::once(stop).chain(limit)));
    for price in prices {
        Engine::check_price(price, *tick)?;
    }
    // A take profit sits on the far side of the stop: above it when the exits sell. An
    // entry's exits sit on either side of the price it fills at: a take profit that takes
    // a loss, or a stop loss that would trigger at once, is a mistake (Alpaca refuses both).
    let beyond = |higher: i64, lower: i64| match exit_side(order) {
        Side::Sell => higher > lower,
        Side::Buy => higher < lower,
    };
    if let (Some(take_profit), Some((stop, _))) = (take_profit, stop)
        && !beyond(take_profit.raw(), stop.raw())
    {
        return Err(RejectReason::InvalidPrice);
    }
    if let Some(base) = base.filter(|_| order.class != OrderClass::OneCancelsOther)
        && (take_profit.is_some_and(|take_profit| !beyond(take_profit.raw(), base)) || stop.is_some_and(|(stop, _)| !beyond(base, stop.raw())))
    {
        return Err(RejectReason::InvalidPrice);
    }
    Ok(())
}

/// The price an entry is expected to fill at: its limit (or its stop, for a stop order),
/// or for a market or trailing entry the best price on the other side of the book, else
/// the last trade; `None` when nothing has traded or quoted yet.
fn entry_base(entry: &NewOrder, instrument: &crate::engine::Instrument) -> Option<i64> {
    match entry.kind {
        OrderKind::Limit { price } | OrderKind::StopLimit { limit_price: price, .. } => Some(price.raw()),
        OrderKind::Stop { stop_price } => Some(stop_price.raw()),
        OrderKind::Market | OrderKind::TrailingStop { .. } => {
            let quote = match entry.side {
                Side::Buy => instrument.best_ask,
                Side::Sell => instrument.best_bid,
            };
            quote.map(|level| level.price.raw()).or((instrument.last_price > 0).then_some(instrument.last_price))
        }
    }
}

fn exit_side(order: &ContingentOrder) -> Side {
    match order.class {
        OrderClass::OneCancelsOther => order.order.side,
        OrderClass::Bracket | OrderClass::OneTriggersOther => order.order.side.opposite(),
    }
}

impl Engine {
    /// Places a contingent order: validates its shape, accepts its order and records the
    /// group; the legs follow in [`Engine::settle_contingent`].
    pub(crate) fn place_contingent(&mut self, order: &ContingentOrder, events: &mut Vec<Event>) {
        let entry = &order.order;
        let shape = match self.instrument_index(entry.symbol) {
            None => Err(RejectReason::UnknownSymbol),
            // An OCO's stop loss works at once: not while the market is closed.
            Some(instrument) if order.class == OrderClass::OneCancelsOther && self.instruments[instrument as usize].session_closed => {
                Err(RejectReason::MarketClosed)
            }
            Some(instrument) => {
                let instrument = &self.instruments[instrument as usize];
                check_shape(order, &instrument.tick, entry_base(entry, instrument)).and_then(|()| {
                    let taken = order
                        .take_profit
                        .iter()
                        .chain(&order.stop_loss)
                        .any(|leg| self.state.order_index.get(leg.order_id).is_some() || self.state.group_of.contains_key(&leg.order_id));
                    if taken { Err(RejectReason::DuplicateOrderId) } else { Ok(()) }
                })
            }
        };
        let accepted = shape.and_then(|()| self.accept(entry, events));
        let (instrument, slot) = match accepted {
            Ok(placed) => placed,
            Err(reason) => return events.push(Self::order_rejected(entry, reason)),
        };
        let oco = order.class == OrderClass::OneCancelsOther;
        let quantity = match entry.size {
            OrderSize::Quantity(quantity) => quantity.raw(),
            OrderSize::Notional(_) => 0,
        };
        let take_profit = if oco {
            Some(LegState { leg: ExitLeg { order_id: entry.order_id, kind: entry.kind }, status: LegStatus::Live })
        } else {
            order.take_profit.map(|leg| LegState { leg, status: LegStatus::Held })
        };
        let group = Group {
            class: order.class,
            account: entry.account,
            symbol: entry.symbol,
            entry: entry.order_id,
            entry_open: !oco,
            exit_side: exit_side(order),
            time_in_force: match entry.time_in_force {
                TimeInForce::Day => TimeInForce::Day,
                _ => TimeInForce::GoodTillCancel,
            },
            self_trade: entry.self_trade_prevention,
            activated: if oco { quantity } else { 0 },
            exit: None,
            take_profit,
            stop_loss: order.stop_loss.map(|leg| LegState { leg, status: LegStatus::Held }),
        };
        for member in std::iter::once(entry.order_id).chain(group.legs().map(|leg| leg.leg.order_id)) {
            self.state.group_of.insert(member, entry.order_id);
        }
        self.state.groups.insert(entry.order_id, group);
        self.state.dirty_groups.push(entry.order_id);
        events.push(Event::ContingentAccepted {
            order_id: entry.order_id,
            account: entry.account,
            symbol: entry.symbol,
            class: order.class,
            take_profit: order.take_profit,
            stop_loss: order.stop_loss,
        });
        self.dispatch(instrument, slot, events);
        self.run_triggered(instrument, events);
        self.publish_best_bid_offer(instrument, events);
    }

    /// Applies the contingent rules to the events from `from` on (and to those the rules
    /// themselves add), until nothing more follows.
    pub(crate) fn settle_contingent(&mut self, from: usize, events: &mut Vec<Event>) {
        let mut cursor = from;
        loop {
            while cursor < events.len() {
                match &events[cursor] {
                    Event::Trade(trade) => {
                        let (taker, maker, quantity) = (trade.taker_order_id, trade.maker_order_id, trade.quantity.raw());
                        self.contingent_fill(taker, quantity, events);
                        self.contingent_fill(maker, quantity, events);
                    }
                    &Event::OrderDone { order_id, reason, .. } => self.contingent_done(order_id, reason, events),
                    &Event::OrderRejected { order_id, .. } => self.contingent_done(order_id, DoneReason::Unfilled, events),
                    _ => {}
                }
                cursor += 1;
            }
            if self.state.dirty_groups.is_empty() {
                break;
            }
            let mut dirty = std::mem::take(&mut self.state.dirty_groups);
            dirty.sort_unstable();
            dirty.dedup();
            for group in dirty {
                self.reconcile(group, events);
            }
        }
    }

    fn contingent_fill(&mut self, order_id: OrderId, quantity: i64, events: &mut Vec<Event>) {
        let Some(&key) = self.state.group_of.get(&order_id) else { return };
        let group = self.state.groups.get_mut(&key).expect("invariant: a member's group exists");
        self.state.dirty_groups.push(key);
        if order_id == group.entry && group.class != OrderClass::OneCancelsOther {
            group.activated += quantity;
            return;
        }
        if group.exit.is_none() {
            group.exit = Some(order_id);
            self.cancel_siblings(key, order_id, events);
        }
    }

    fn contingent_done(&mut self, order_id: OrderId, reason: DoneReason, events: &mut Vec<Event>) {
        let Some(&key) = self.state.group_of.get(&order_id) else { return };
        let group = self.state.groups.get_mut(&key).expect("invariant: a member's group exists");
        self.state.dirty_groups.push(key);
        if order_id == group.entry && group.class != OrderClass::OneCancelsOther {
            group.entry_open = false;
            if reason == DoneReason::Cancelled || group.activated == 0 {
                self.cancel_siblings(key, order_id, events);
            }
            return;
        }
        let Some(leg) = group.leg_mut(order_id) else { return };
        if leg.status == LegStatus::Done {
            return;
        }
        leg.status = LegStatus::Done;
        // A leg that ends unfilled (cancelled, expired, cancelled by self-trade
        // prevention) ends the exits: the other cannot trade alone on a shared reservation.
        if reason != DoneReason::Filled && group.exit.is_none() {
            self.cancel_siblings(key, order_id, events);
        }
    }

    /// Ends every leg of group `key` but `keep`: held legs are reported cancelled, open ones
    /// are cancelled.
    fn cancel_siblings(&mut self, key: OrderId, keep: OrderId, events: &mut Vec<Event>) {
        let group = self.state.groups.get_mut(&key).expect("invariant: the group exists");
        let (account, symbol, entry) = (group.account, group.symbol, group.entry);
        let mut open = Vec::new();
        for leg in [&mut group.take_profit, &mut group.stop_loss].into_iter().flatten() {
            let order_id = leg.leg.order_id;
            if order_id == keep || leg.status == LegStatus::Done {
                continue;
            }
            match leg.status {
                LegStatus::Held => events.push(Event::LegCancelled { order_id, account, symbol, entry }),
                LegStatus::Live => open.push(order_id),
                LegStatus::Done => {}
            }
            leg.status = LegStatus::Done;
        }
        for order_id in open {
            if let Some(slot) = self.state.order_index.get(order_id) {
                let instrument = self.state.orders.get(slot).instrument;
                self.detach(slot);
                self.state.finish(slot, instrument, symbol, DoneReason::Cancelled, events);
                self.publish_best_bid_offer(instrument, events);
            }
        }
    }

    /// Brings group `key`'s legs in line with what its entry filled: activates held legs,
    /// grows open ones, and forgets the group once it is over.
    fn reconcile(&mut self, key: OrderId, events: &mut Vec<Event>) {
        let Some(group) = self.state.groups.get(&key).cloned() else { return };
        if group.activated > 0 {
            let mut legs: Vec<(LegState, bool)> = Vec::new();
            if let Some(holder) = group.holder() {
                legs.push((holder, false));
            }
            if let Some(sharer) = group.sharer() {
                legs.push((sharer, true));
            }
            for (leg, shares) in legs {
                if group.exit.is_some_and(|exit| exit != leg.leg.order_id) {
                    continue;
                }
                // A stop loss that took the exit over holds its own reservation.
                let shares = shares && group.exit.is_none();
                match leg.status {
                    LegStatus::Held => self.activate(&group, leg.leg, shares, events),
                    LegStatus::Live => self.grow(&group, leg.leg.order_id, shares, events),
                    LegStatus::Done => {}
                }
            }
        }
        if self.state.groups.get(&key).is_some_and(Group::finished) {
            let group = self.state.groups.remove(&key).expect("invariant: checked above");
            self.state.group_of.remove(&group.entry);
            for leg in group.legs() {
                self.state.group_of.remove(&leg.leg.order_id);
            }
        }
    }

    fn set_leg_status(&mut self, group: OrderId, leg: OrderId, status: LegStatus) {
        if let Some(leg) = self.state.groups.get_mut(&group).and_then(|group| group.leg_mut(leg)) {
            leg.status = status;
        }
    }

    /// Places a held leg for what the entry has filled. A stop loss sharing the take
    /// profit's reservation is accepted with that reservation lent to it for the checks,
    /// then holds none.
    fn activate(&mut self, group: &Group, leg: ExitLeg, shares: bool, events: &mut Vec<Event>) {
        let new = NewOrder {
            order_id: leg.order_id,
            account: group.account,
            symbol: group.symbol,
            side: group.exit_side,
            kind: leg.kind,
            size: OrderSize::Quantity(Quantity::from_raw(group.activated)),
            time_in_force: group.time_in_force,
            post_only: false,
            client_order_id: None,
            self_trade_prevention: group.self_trade,
        };
        let lent = if shares {
            let holder = group.take_profit.map(|leg| leg.leg.order_id);
            let Some(holder) = holder.and_then(|id| self.state.order_index.get(id)) else {
                // The take profit is gone: nothing left to protect.
                self.set_leg_status(group.entry, leg.order_id, LegStatus::Done);
                return events.push(Event::LegCancelled { order_id: leg.order_id, account: group.account, symbol: group.symbol, entry: group.entry });
            };
            let order = self.state.orders.get(holder);
            let (account, asset, reserved) = (order.account, State::asset_of(order.side, order.instrument), order.reserved);
            self.state.ledger.shift(account, asset, Bucket::Reserved, Bucket::Available, reserved);
            Some((account, asset, reserved))
        } else {
            None
        };
        let accepted = self.accept(&new, events);
        if let Some((account, asset, lent)) = lent {
            let held = match accepted {
                Ok((_, slot)) => std::mem::take(&mut self.state.orders.get_mut(slot).reserved),
                Err(_) => 0,
            };
            // Back to the take profit holding `lent` and the stop loss nothing.
            if lent >= held {
                let restored = self.state.ledger.try_reserve(account, asset, lent - held);
                assert!(restored, "invariant: a lent reservation can be taken back");
            } else {
                self.state.ledger.shift(account, asset, Bucket::Reserved, Bucket::Available, held - lent);
            }
        }
        match accepted {
            Ok((instrument, slot)) => {
                self.set_leg_status(group.entry, leg.order_id, LegStatus::Live);
                self.dispatch(instrument, slot, events);
                self.run_triggered(instrument, events);
                self.publish_best_bid_offer(instrument, events);
            }
            Err(reason) => {
                // Read back by `settle_contingent`, which marks the leg done.
                self.set_leg_status(group.entry, leg.order_id, LegStatus::Live);
                events.push(Self::order_rejected(&new, reason));
            }
        }
    }

    /// Grows an open leg to what the entry has filled, in place.
    fn grow(&mut self, group: &Group, order_id: OrderId, shares: bool, events: &mut Vec<Event>) {
        let Some(slot) = self.state.order_index.get(order_id) else { return };
        let fee_bps = self.reservation_fee_bps();
        let order = self.state.orders.get(slot);
        let added = group.activated - order.quantity;
        if added <= 0 {
            return;
        }
        let leaves = order.leaves() + added;
        let required = match (shares, order.side) {
            (true, _) => 0,
            (false, Side::Sell) => leaves,
            (false, Side::Buy) => match buy_reservation(order.price, leaves, fee_bps) {
                Some(required) => required,
                None => return,
            },
        };
        let (account, instrument, side, kind, price) = (order.account, order.instrument, order.side, order.kind, order.price);
        let extra = required - order.reserved;
        if extra > 0 && !self.state.ledger.try_reserve(account, State::asset_of(side, instrument), extra) {
            return;
        }
        // A leg waiting for the open (placed while the market was closed) or for its auction
        // is in no level: it grows in its queue.
        if kind == StoredKind::Limit && !self.is_waiting(slot) {
            let level = self.books[instrument as usize].ladder_mut(side).level_mut(price).expect("invariant: a resting order's level exists");
            level.quantity += added;
        }
        let order = self.state.orders.get_mut(slot);
        order.quantity += added;
        order.reserved = order.reserved.max(required);
        let (quantity, filled) = (order.quantity, order.filled);
        if side == Side::Buy {
            self.state.note_open_buy(account, instrument, added);
        }
        events.push(Event::LegResized {
            order_id,
            account: group.account,
            symbol: group.symbol,
            quantity: Quantity::from_raw(quantity),
            filled: Quantity::from_raw(filled),
        });
        self.publish_best_bid_offer(instrument, events);
    }

    /// Called for every triggered stop before it trades: a stop loss sharing its take
    /// profit's reservation takes it over and cancels the take profit, unless the take
    /// profit has already filled (then the stop loss is the one cancelled, and `false`
    /// says not to trade it).
    pub(crate) fn take_over_exit(&mut self, slot: u32, events: &mut Vec<Event>) -> bool {
        let order_id = self.state.orders.get(slot).id;
        let Some(&key) = self.state.group_of.get(&order_id) else { return true };
        let group = &self.state.groups[&key];
        let Some(take_profit) = group.take_profit.filter(|_| group.sharer().is_some_and(|sharer| sharer.leg.order_id == order_id)) else {
            return true;
        };
        let symbol = group.symbol;
        let holder = self.state.order_index.get(take_profit.leg.order_id).filter(|&holder| self.state.orders.get(holder).filled == 0);
        let holder = holder.filter(|_| group.exit.is_none_or(|exit| exit == order_id));
        let taken = holder.and_then(|holder| {
            let fee_bps = self.reservation_fee_bps();
            let (held, leaves) = {
                let take_profit = self.state.orders.get(holder);
                (take_profit.reserved, take_profit.leaves())
            };
            let stop = self.state.orders.get(slot);
            let (account, asset) = (stop.account, State::asset_of(stop.side, stop.instrument));
            let required = match stop.side {
                Side::Sell => leaves,
                Side::Buy => buy_reservation(stop.price, leaves, fee_bps)?,
            };
            if required > held && !self.state.ledger.try_reserve(account, asset, required - held) {
                return None;
            }
            if held > required {
                self.state.ledger.shift(account, asset, Bucket::Reserved, Bucket::Available, held - required);
            }
            let stop = self.state.orders.get_mut(slot);
            stop.quantity = stop.filled + leaves;
            stop.reserved = required;
            self.state.orders.get_mut(holder).reserved = 0;
            Some(holder)
        });
        let instrument = self.state.orders.get(slot).instrument;
        let group = self.state.groups.get_mut(&key).expect("invariant: read above");
        match taken {
            Some(holder) => {
                group.exit = Some(order_id);
                if let Some(leg) = group.take_profit.as_mut() {
                    leg.status = LegStatus::Done;
                }
                self.detach(holder);
                self.state.finish(holder, instrument, symbol, DoneReason::Cancelled, events);
                true
            }
            None => {
                if let Some(leg) = group.stop_loss.as_mut() {
                    leg.status = LegStatus::Done;
                }
                self.state.dirty_groups.push(key);
                self.state.finish(slot, instrument, symbol, DoneReason::Cancelled, events);
                false
            }
        }
    }

    /// Cancels `order_id` if it is a held exit leg of `account`'s, and with it the other
    /// exit (as a cancelled live leg would); false if it is none.
    pub(crate) fn cancel_held_leg(&mut self, account: AccountId, order_id: OrderId, events: &mut Vec<Event>) -> bool {
        let Some(&key) = self.state.group_of.get(&order_id) else { return false };
        let group = self.state.groups.get_mut(&key).expect("invariant: a member's group exists");
        let held = group.account == account && group.leg_mut(order_id).is_some_and(|leg| leg.status == LegStatus::Held);
        if !held {
            return false;
        }
        let (symbol, entry) = (group.symbol, group.entry);
        if let Some(leg) = group.leg_mut(order_id) {
            leg.status = LegStatus::Done;
        }
        events.push(Event::LegCancelled { order_id, account, symbol, entry });
        if group.exit.is_none() {
            self.cancel_siblings(key, order_id, events);
        }
        self.state.dirty_groups.push(key);
        true
    }

    /// Whether `order_id` is an exit leg (its quantity follows its entry).
    pub(crate) fn is_exit_leg(&self, order_id: OrderId) -> bool {
        self.state.group_of.get(&order_id).is_some_and(|key| self.state.groups[key].is_leg(order_id))
    }

    /// The open order sharing `order_id`'s reservation, when `order_id` is a stop loss that
    /// holds none (for the invariant check).
    pub(crate) fn reservation_holder(&self, order_id: OrderId) -> Option<Option<u32>> {
        let group = &self.state.groups[self.state.group_of.get(&order_id)?];
        if group.exit.is_some() {
            return None;
        }
        let take_profit = group.sharer().filter(|sharer| sharer.leg.order_id == order_id).and(group.take_profit)?;
        Some(self.state.order_index.get(take_profit.leg.order_id))
    }
}
