//! Order storage and price levels: an arena of orders linked into FIFO queues per price.
//!
//! Orders live in one `Vec` (slots reused through a free list) so the hot path allocates
//! nothing. Each price level is an intrusive doubly-linked queue through the orders' `prev`
//! and `next` slots, which makes cancel O(1) after the level lookup and keeps time priority.

use std::collections::BTreeMap;

use tradecraft_types::{OrderId, Side};

use crate::command::{SelfTradePrevention, TimeInForce, Trail};

/// Marks the end of an intrusive list.
pub(crate) const NIL: u32 = u32::MAX;

/// Order type as stored (the trigger and limit prices live in [`Order`] fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum StoredKind {
    Market,
    Limit,
    Stop,
    StopLimit,
    TrailingStop,
}

/// An open order. Quantities are raw [`tradecraft_types::Quantity`] units, cash raw money units.
#[derive(Clone, Debug)]
pub(crate) struct Order {
    pub(crate) id: OrderId,
    pub(crate) account: u32,
    pub(crate) instrument: u32,
    pub(crate) side: Side,
    pub(crate) kind: StoredKind,
    pub(crate) time_in_force: TimeInForce,
    pub(crate) self_trade: SelfTradePrevention,
    pub(crate) post_only: bool,
    pub(crate) has_client_id: bool,
    /// Limit price; for market orders the protective cap (buy) or floor (sell).
    pub(crate) price: i64,
    /// Trigger price of a stop that has not triggered yet.
    pub(crate) stop_price: i64,
    pub(crate) trail: Option<Trail>,
    /// Best last-trade price seen since a trailing stop was accepted.
    pub(crate) watermark: i64,
    pub(crate) quantity: i64,
    pub(crate) filled: i64,
    /// Cash still to spend for a market buy sized by notional; zero otherwise.
    pub(crate) budget: i64,
    /// Cash (buy) or shares (sell) this order holds reserved.
    pub(crate) reserved: i64,
    /// Acceptance order: time priority and deterministic iteration.
    pub(crate) sequence: u64,
    pub(crate) prev: u32,
    pub(crate) next: u32,
    pub(crate) account_prev: u32,
    pub(crate) account_next: u32,
}

impl Order {
    #[inline]
    pub(crate) fn leaves(&self) -> i64 {
        self.quantity - self.filled
    }

    /// A market buy sized by cash: its quantity is unknown until it trades.
    #[inline]
    pub(crate) fn is_budget(&self) -> bool {
        self.quantity == 0
    }
}

/// Slab of orders.
#[derive(Clone, Debug, Default)]
pub(crate) struct Orders {
    slots: Vec<Order>,
    free: Vec<u32>,
}

impl Orders {
    pub(crate) fn insert(&mut self, order: Order) -> u32 {
        if let Some(slot) = self.free.pop() {
            self.slots[slot as usize] = order;
            slot
        } else {
            let slot = u32::try_from(self.slots.len()).expect("invariant: fewer than 2^32 open orders");
            self.slots.push(order);
            slot
        }
    }

    pub(crate) fn remove(&mut self, slot: u32) {
        self.free.push(slot);
    }

    #[inline]
    pub(crate) fn get(&self, slot: u32) -> &Order {
        &self.slots[slot as usize]
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, slot: u32) -> &mut Order {
        &mut self.slots[slot as usize]
    }
}

/// Resting quantity and FIFO queue at one price.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Level {
    pub(crate) head: u32,
    pub(crate) tail: u32,
    pub(crate) quantity: i64,
    pub(crate) count: u32,
}

/// One side of a book: price -> level.
pub(crate) type Ladder = BTreeMap<i64, Level>;

/// Appends `slot` at the back of the queue at `price`.
pub(crate) fn push_back(ladder: &mut Ladder, orders: &mut Orders, price: i64, slot: u32) {
    let leaves = orders.get(slot).leaves();
    let level = ladder.entry(price).or_insert(Level { head: NIL, tail: NIL, quantity: 0, count: 0 });
    let old_tail = level.tail;
    {
        let order = orders.get_mut(slot);
        order.prev = old_tail;
        order.next = NIL;
    }
    if old_tail == NIL {
        level.head = slot;
    } else {
        orders.get_mut(old_tail).next = slot;
    }
    level.tail = slot;
    level.quantity += leaves;
    level.count += 1;
}

/// Unlinks `slot` from its level; removes the level when it empties.
pub(crate) fn unlink(ladder: &mut Ladder, orders: &mut Orders, slot: u32) {
    let (price, prev, next, leaves) = {
        let order = orders.get(slot);
        (order.price, order.prev, order.next, order.leaves())
    };
    let level = ladder.get_mut(&price).expect("invariant: a resting order's level exists");
    unlink_from_level(level, orders, prev, next);
    level.quantity -= leaves;
    level.count -= 1;
    if level.count == 0 {
        debug_assert_eq!(level.quantity, 0, "invariant: an empty level holds no quantity");
        ladder.remove(&price);
    }
}

/// Unlinks a queue entry whose neighbours are `prev` and `next`; totals are the caller's.
#[inline]
pub(crate) fn unlink_from_level(level: &mut Level, orders: &mut Orders, prev: u32, next: u32) {
    if prev == NIL {
        level.head = next;
    } else {
        orders.get_mut(prev).next = next;
    }
    if next == NIL {
        level.tail = prev;
    } else {
        orders.get_mut(next).prev = prev;
    }
}

/// Bids, asks and untriggered stops of one instrument.
#[derive(Clone, Debug, Default)]
pub(crate) struct Book {
    pub(crate) bids: Ladder,
    pub(crate) asks: Ladder,
    /// Buy stops trigger when the last trade is at or above the key's price.
    pub(crate) buy_stops: BTreeMap<(i64, u64), u32>,
    /// Sell stops trigger when the last trade is at or below the key's price.
    pub(crate) sell_stops: BTreeMap<(i64, u64), u32>,
    /// Trailing stops by acceptance sequence; they also sit in the stop maps.
    pub(crate) trailing: BTreeMap<u64, u32>,
}

impl Book {
    pub(crate) fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    pub(crate) fn ladder_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Best price and level of one side.
    pub(crate) fn best(&self, side: Side) -> Option<(i64, &Level)> {
        let best = match side {
            Side::Buy => self.bids.last_key_value(),
            Side::Sell => self.asks.first_key_value(),
        };
        best.map(|(&price, level)| (price, level))
    }

    pub(crate) fn stops_mut(&mut self, side: Side) -> &mut BTreeMap<(i64, u64), u32> {
        match side {
            Side::Buy => &mut self.buy_stops,
            Side::Sell => &mut self.sell_stops,
        }
    }

    /// Slots of every order in the book: bids best first, asks best first (each level in
    /// queue order), then buy stops and sell stops by trigger price and acceptance.
    pub(crate) fn order_slots(&self, orders: &Orders) -> Vec<u32> {
        let mut slots = Vec::new();
        for level in self.bids.values().rev().chain(self.asks.values()) {
            let mut slot = level.head;
            while slot != NIL {
                slots.push(slot);
                slot = orders.get(slot).next;
            }
        }
        slots.extend(self.buy_stops.values().copied());
        slots.extend(self.sell_stops.values().copied());
        slots
    }
}
