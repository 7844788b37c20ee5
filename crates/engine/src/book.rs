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

/// A step size (tick or lot) with a fast "is a multiple" test: one multiplication instead
/// of a 64-bit division for values and steps that fit in 32 bits (Lemire's fastmod).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Grid {
    step: i64,
    reciprocal: u64,
}

impl Grid {
    pub(crate) fn new(step: i64) -> Self {
        assert!(step > 0, "invariant: grid steps are positive");
        let fast = step > 1 && step <= i64::from(u32::MAX);
        Self { step, reciprocal: if fast { u64::MAX / step as u64 + 1 } else { 0 } }
    }

    #[inline]
    pub(crate) fn contains(self, value: i64) -> bool {
        if self.reciprocal != 0 && (0..=i64::from(u32::MAX)).contains(&value) {
            let low_bits = self.reciprocal.wrapping_mul(value as u64);
            (u128::from(low_bits) * self.step as u128) >> 64 == 0
        } else {
            value % self.step == 0
        }
    }
}

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
///
/// Laid out by hand in two cache lines: the first holds everything matching, settling and
/// finishing an order read (so a maker deep in a big book costs one miss, not two); the
/// second holds what only stops, notional orders and bookkeeping use.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub(crate) struct Order {
    // First cache line: the matching path.
    pub(crate) id: OrderId,
    /// Limit price; for market orders the protective cap (buy) or floor (sell).
    pub(crate) price: i64,
    pub(crate) quantity: i64,
    pub(crate) filled: i64,
    /// Cash (buy) or shares (sell) this order holds reserved.
    pub(crate) reserved: i64,
    pub(crate) account: u32,
    pub(crate) instrument: u32,
    /// Previous order in the level's queue. Meaningless for the head: queues only grow
    /// at the tail, so an order that became head never gets a predecessor again, and
    /// removing a head need not touch the next order.
    pub(crate) prev: u32,
    pub(crate) next: u32,
    pub(crate) side: Side,
    pub(crate) kind: StoredKind,
    pub(crate) has_client_id: bool,
    pub(crate) time_in_force: TimeInForce,
    pub(crate) self_trade: SelfTradePrevention,
    pub(crate) post_only: bool,
    // Second cache line.
    /// Cash still to spend for a market buy sized by notional; zero otherwise.
    pub(crate) budget: i64,
    /// Trigger price of a stop that has not triggered yet.
    pub(crate) stop_price: i64,
    /// Best last-trade price seen since a trailing stop was accepted.
    pub(crate) watermark: i64,
    /// Acceptance order: time priority and deterministic iteration.
    pub(crate) sequence: u64,
    pub(crate) trail: Option<Trail>,
}

const _: () = assert!(std::mem::size_of::<Order>() == 128, "invariant: an order is two cache lines");
const _: () = assert!(std::mem::offset_of!(Order, post_only) < 64, "invariant: matching fields share one line");

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
    /// Slots `0..used` have held orders; the rest were written once up front so that
    /// their memory is mapped before trading starts (no page faults on the hot path).
    slots: Vec<Order>,
    used: usize,
    free: Vec<u32>,
}

/// What fills never-used slots.
const VACANT: Order = Order {
    id: OrderId(0),
    price: 0,
    quantity: 0,
    filled: 0,
    reserved: 0,
    account: NIL,
    instrument: NIL,
    prev: NIL,
    next: NIL,
    side: Side::Buy,
    kind: StoredKind::Limit,
    has_client_id: false,
    time_in_force: TimeInForce::GoodTillCancel,
    self_trade: SelfTradePrevention::CancelResting,
    post_only: false,
    budget: 0,
    stop_price: 0,
    watermark: 0,
    sequence: 0,
    trail: None,
};

impl Orders {
    /// Room for `capacity` orders, allocated and touched now.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self { slots: vec![VACANT; capacity], used: 0, free: Vec::new() }
    }

    #[inline]
    pub(crate) fn insert(&mut self, order: Order) -> u32 {
        if let Some(slot) = self.free.pop() {
            self.slots[slot as usize] = order;
            return slot;
        }
        let slot = u32::try_from(self.used).expect("invariant: fewer than 2^32 open orders");
        if self.used < self.slots.len() {
            self.slots[self.used] = order;
        } else {
            self.slots.push(order);
        }
        self.used += 1;
        slot
    }

    #[inline]
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

/// Levels per side addressed directly by tick offset before spilling into the ordered map.
const WINDOW_LEVELS_MAX: usize = 4_096;
/// First window size; it doubles (up to the maximum) as the book widens.
const WINDOW_LEVELS_INITIAL: usize = 256;

/// One side of a book: price -> level.
///
/// Levels near the market live in a dense window indexed by `(price - base) / tick`, with
/// an occupancy bitmap to find the next best level and a cached best price, so lookups are
/// O(1) and the best level is found without a tree walk. Prices outside the window (far
/// from the market) live in an ordered map; each price is in exactly one of the two.
#[derive(Clone, Debug)]
pub(crate) struct Ladder {
    side: Side,
    tick: i64,
    base: i64,
    window: Vec<Level>,
    occupied: Vec<u64>,
    overflow: BTreeMap<i64, Level>,
    best: Option<i64>,
    /// `window.len() * tick`: offsets from `base` below this are in the window.
    span: u64,
    /// `u64::MAX / tick + 1` when the window spans less than 2^32 price units, so
    /// `offset / tick` is one multiplication (Lemire's fast division); zero otherwise.
    reciprocal: u64,
    /// Set whenever an operation may have changed the best level's price or size, so the
    /// engine only recomputes the top of book when something could have moved it.
    top_changed: bool,
}

const EMPTY_LEVEL: Level = Level { head: NIL, tail: NIL, quantity: 0, count: 0 };

impl Ladder {
    pub(crate) fn new(side: Side, tick: i64) -> Self {
        assert!(tick > 0, "invariant: tick size is positive");
        Self {
            side,
            tick,
            base: 0,
            window: Vec::new(),
            occupied: Vec::new(),
            overflow: BTreeMap::new(),
            best: None,
            span: 0,
            reciprocal: 0,
            top_changed: false,
        }
    }

    /// Whether the top of this side may have changed since the last call.
    #[inline]
    pub(crate) fn take_top_changed(&mut self) -> bool {
        std::mem::take(&mut self.top_changed)
    }

    /// Whether `a` is a better price than `b` on this side.
    #[inline]
    fn better(&self, a: i64, b: i64) -> bool {
        match self.side {
            Side::Buy => a > b,
            Side::Sell => a < b,
        }
    }

    #[inline]
    fn index(&self, price: i64) -> Option<usize> {
        // Below `base` wraps to a huge offset, so one comparison checks both ends.
        let offset = price.wrapping_sub(self.base) as u64;
        if offset >= self.span {
            return None;
        }
        let index = if self.reciprocal == 0 { offset / self.tick as u64 } else { ((u128::from(self.reciprocal) * u128::from(offset)) >> 64) as u64 };
        Some(index as usize)
    }

    #[inline]
    fn price_at(&self, index: usize) -> i64 {
        self.base + index as i64 * self.tick
    }

    pub(crate) fn best_price(&self) -> Option<i64> {
        self.best
    }

    pub(crate) fn best(&self) -> Option<(i64, &Level)> {
        let price = self.best?;
        Some((price, self.level(price).expect("invariant: the cached best level exists")))
    }

    pub(crate) fn level(&self, price: i64) -> Option<&Level> {
        match self.index(price) {
            Some(index) => Some(&self.window[index]).filter(|level| level.count > 0),
            None => self.overflow.get(&price),
        }
    }

    /// The level at `price` for changing; changing the best level flags the top as changed.
    #[inline]
    pub(crate) fn level_mut(&mut self, price: i64) -> Option<&mut Level> {
        self.top_changed |= self.best == Some(price);
        match self.index(price) {
            Some(index) => Some(&mut self.window[index]).filter(|level| level.count > 0),
            None => self.overflow.get_mut(&price),
        }
    }

    /// The level at `price`, created empty if missing (the caller adds an order at once).
    #[inline]
    pub(crate) fn level_or_insert(&mut self, price: i64) -> &mut Level {
        let index = match self.index(price) {
            Some(index) => Some(index),
            None => {
                self.fit(price);
                self.index(price)
            }
        };
        if self.best.is_none_or(|best| !self.better(best, price)) {
            self.best = Some(price);
            self.top_changed = true;
        }
        match index {
            Some(index) => {
                self.occupied[index / 64] |= 1 << (index % 64);
                &mut self.window[index]
            }
            None => self.overflow.entry(price).or_insert(EMPTY_LEVEL),
        }
    }

    /// Removes the (empty) level at `price`.
    pub(crate) fn remove_level(&mut self, price: i64) {
        match self.index(price) {
            Some(index) => {
                debug_assert_eq!(self.window[index].count, 0, "invariant: only empty levels are removed");
                self.window[index] = EMPTY_LEVEL;
                self.occupied[index / 64] &= !(1 << (index % 64));
            }
            None => {
                self.overflow.remove(&price);
            }
        }
        if self.best == Some(price) {
            self.best = self.find_best();
            self.top_changed = true;
        }
    }

    /// Best occupied price, scanning the bitmap and the overflow's extreme.
    fn find_best(&self) -> Option<i64> {
        let words = self.occupied.iter().copied().enumerate();
        let in_window = match self.side {
            Side::Buy => words.rev().find(|&(_, word)| word != 0).map(|(position, word)| position * 64 + 63 - word.leading_zeros() as usize),
            Side::Sell => words.clone().find(|&(_, word)| word != 0).map(|(position, word)| position * 64 + word.trailing_zeros() as usize),
        }
        .map(|index| self.price_at(index));
        let in_overflow = match self.side {
            Side::Buy => self.overflow.last_key_value(),
            Side::Sell => self.overflow.first_key_value(),
        }
        .map(|(&price, _)| price);
        match (in_window, in_overflow) {
            (Some(a), Some(b)) => Some(if self.better(a, b) { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// Makes room for `price` in the window if the window can grow to hold it; otherwise
    /// it will go to the overflow map.
    fn fit(&mut self, price: i64) {
        let occupied: Vec<usize> = self.occupied_indexes().collect();
        let (low, high) = match (occupied.first(), occupied.last()) {
            (Some(&first), Some(&last)) => (self.price_at(first).min(price), self.price_at(last).max(price)),
            _ => (price, price),
        };
        let span = ((high - low) / self.tick) as usize + 1;
        let length = (span * 2).next_power_of_two().max(WINDOW_LEVELS_INITIAL);
        if length > WINDOW_LEVELS_MAX {
            return;
        }
        let slack = (length - span) as i64 / 2;
        let base = low - slack * self.tick;
        let mut window = vec![EMPTY_LEVEL; length];
        let mut bits = vec![0_u64; length / 64];
        let place = |price: i64, level: Level, window: &mut Vec<Level>, bits: &mut Vec<u64>| {
            let index = ((price - base) / self.tick) as usize;
            window[index] = level;
            bits[index / 64] |= 1 << (index % 64);
        };
        for index in occupied {
            place(self.price_at(index), self.window[index], &mut window, &mut bits);
        }
        let top = base + length as i64 * self.tick;
        let moved: Vec<i64> = self.overflow.range(base..top).map(|(&price, _)| price).collect();
        for price in moved {
            if let Some(level) = self.overflow.remove(&price) {
                place(price, level, &mut window, &mut bits);
            }
        }
        self.base = base;
        self.window = window;
        self.occupied = bits;
        self.span = length as u64 * self.tick as u64;
        // Exact for 32-bit offsets and divisors; a tick of one needs no division at all.
        let fast = self.tick > 1 && self.span <= u64::from(u32::MAX);
        self.reciprocal = if fast { u64::MAX / self.tick as u64 + 1 } else { 0 };
    }

    fn occupied_indexes(&self) -> impl Iterator<Item = usize> + '_ {
        self.occupied.iter().enumerate().flat_map(|(position, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let bit = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    position * 64 + bit
                })
            })
        })
    }

    /// Every level, best first (for depth, snapshots, checks; not the matching path).
    pub(crate) fn levels_best_first(&self) -> Vec<(i64, &Level)> {
        let mut levels: Vec<(i64, &Level)> = self.occupied_indexes().map(|index| (self.price_at(index), &self.window[index])).collect();
        levels.extend(self.overflow.iter().map(|(&price, level)| (price, level)));
        match self.side {
            Side::Buy => levels.sort_unstable_by_key(|level| std::cmp::Reverse(level.0)),
            Side::Sell => levels.sort_unstable_by_key(|level| level.0),
        }
        levels
    }
}

/// Appends `slot` at the back of the queue at `price`.
#[inline]
pub(crate) fn push_back(ladder: &mut Ladder, orders: &mut Orders, price: i64, slot: u32) {
    let leaves = orders.get(slot).leaves();
    let level = ladder.level_or_insert(price);
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
#[inline]
pub(crate) fn unlink(ladder: &mut Ladder, orders: &mut Orders, slot: u32) {
    let (price, leaves) = {
        let order = orders.get(slot);
        (order.price, order.leaves())
    };
    let level = ladder.level_mut(price).expect("invariant: a resting order's level exists");
    unlink_from_level(level, orders, slot);
    level.quantity -= leaves;
    level.count -= 1;
    if level.count == 0 {
        debug_assert_eq!(level.quantity, 0, "invariant: an empty level holds no quantity");
        ladder.remove_level(price);
    }
}

/// Unlinks `slot` from the queue of `level`; totals are the caller's. Removing the head
/// touches only the level, never the next order (see [`Order::prev`]).
#[inline]
pub(crate) fn unlink_from_level(level: &mut Level, orders: &mut Orders, slot: u32) {
    let (prev, next) = {
        let order = orders.get(slot);
        (order.prev, order.next)
    };
    if level.head == slot {
        level.head = next;
        if next == NIL {
            level.tail = NIL;
        }
        return;
    }
    orders.get_mut(prev).next = next;
    if next == NIL {
        level.tail = prev;
    } else {
        orders.get_mut(next).prev = prev;
    }
}

/// Bids, asks and untriggered stops of one instrument.
#[derive(Clone, Debug)]
pub(crate) struct Book {
    pub(crate) bids: Ladder,
    pub(crate) asks: Ladder,
    /// Buy stops trigger when the last trade is at or above the key's price.
    pub(crate) buy_stops: BTreeMap<(i64, u64), u32>,
    /// Sell stops trigger when the last trade is at or below the key's price.
    pub(crate) sell_stops: BTreeMap<(i64, u64), u32>,
    /// Trailing stops by acceptance sequence; they also sit in the stop maps.
    pub(crate) trailing: BTreeMap<u64, u32>,
    /// Orders waiting for the session's open or close, by acceptance sequence.
    pub(crate) waiting: BTreeMap<u64, u32>,
}

impl Book {
    pub(crate) fn new(tick: i64) -> Self {
        Self {
            bids: Ladder::new(Side::Buy, tick),
            asks: Ladder::new(Side::Sell, tick),
            buy_stops: BTreeMap::new(),
            sell_stops: BTreeMap::new(),
            trailing: BTreeMap::new(),
            waiting: BTreeMap::new(),
        }
    }

    /// Whether the order at `slot`, accepted as `sequence`, waits here for a session edge.
    #[inline]
    pub(crate) fn holds_waiting(&self, sequence: u64, slot: u32) -> bool {
        !self.waiting.is_empty() && self.waiting.get(&sequence) == Some(&slot)
    }

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
        self.ladder(side).best()
    }

    pub(crate) fn stops_mut(&mut self, side: Side) -> &mut BTreeMap<(i64, u64), u32> {
        match side {
            Side::Buy => &mut self.buy_stops,
            Side::Sell => &mut self.sell_stops,
        }
    }

    /// Slots of every order in the book: bids best first, asks best first (each level in
    /// queue order), then buy stops and sell stops by trigger price and acceptance, then
    /// orders waiting for the open or close by acceptance.
    pub(crate) fn order_slots(&self, orders: &Orders) -> Vec<u32> {
        let mut slots = Vec::new();
        let bids = self.bids.levels_best_first();
        let asks = self.asks.levels_best_first();
        for (_, level) in bids.into_iter().chain(asks) {
            let mut slot = level.head;
            while slot != NIL {
                slots.push(slot);
                slot = orders.get(slot).next;
            }
        }
        slots.extend(self.buy_stops.values().copied());
        slots.extend(self.sell_stops.values().copied());
        slots.extend(self.waiting.values().copied());
        slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occupy(ladder: &mut Ladder, price: i64) {
        ladder.level_or_insert(price).count = 1;
    }

    fn vacate(ladder: &mut Ladder, price: i64) {
        ladder.level_mut(price).expect("level exists").count = 0;
        ladder.remove_level(price);
    }

    fn prices(ladder: &Ladder) -> Vec<i64> {
        ladder.levels_best_first().into_iter().map(|(price, _)| price).collect()
    }

    #[test]
    fn window_grows_spills_and_tracks_the_best() {
        let mut bids = Ladder::new(Side::Buy, 5);
        occupy(&mut bids, 1_000);
        occupy(&mut bids, 990);
        // Far beyond any window: goes to the overflow map, and is the best bid.
        occupy(&mut bids, 1_000_000);
        // Wider than the initial window but within the maximum: the window grows.
        occupy(&mut bids, 1_000 - 5 * 900);
        assert_eq!(bids.best_price(), Some(1_000_000));
        assert_eq!(prices(&bids), vec![1_000_000, 1_000, 990, 1_000 - 5 * 900]);
        vacate(&mut bids, 1_000_000);
        assert_eq!(bids.best_price(), Some(1_000));
        vacate(&mut bids, 1_000);
        assert_eq!(bids.best_price(), Some(990));
        vacate(&mut bids, 990);
        vacate(&mut bids, 1_000 - 5 * 900);
        assert_eq!(bids.best_price(), None);
        assert!(prices(&bids).is_empty());
    }

    #[test]
    fn asks_take_the_lowest_price_across_window_and_overflow() {
        let mut asks = Ladder::new(Side::Sell, 1);
        occupy(&mut asks, 50_000);
        occupy(&mut asks, 3);
        occupy(&mut asks, 50_010);
        assert_eq!(asks.best_price(), Some(3));
        vacate(&mut asks, 3);
        assert_eq!(asks.best_price(), Some(50_000));
        assert_eq!(prices(&asks), vec![50_000, 50_010]);
    }
}

#[cfg(test)]
mod property_tests {
    use super::Grid;
    use proptest::prelude::*;

    proptest! {
        /// The multiply-shift division the ladder uses equals real division for every
        /// 32-bit offset and divisor it is used with.
        #[test]
        fn fast_division_is_exact(offset in 0_u64..=u64::from(u32::MAX), tick in 2_u64..=u64::from(u32::MAX)) {
            let reciprocal = u64::MAX / tick + 1;
            let quotient = ((u128::from(reciprocal) * u128::from(offset)) >> 64) as u64;
            prop_assert_eq!(quotient, offset / tick);
        }

        /// The grid's multiple test agrees with `%` everywhere, fast path or not.
        #[test]
        fn grid_membership_matches_remainder(value in any::<i64>(), small in 0_i64..10_000_000, step in 1_i64..1_000_000) {
            let grid = Grid::new(step);
            prop_assert_eq!(grid.contains(value), value % step == 0);
            prop_assert_eq!(grid.contains(small), small % step == 0);
            prop_assert_eq!(grid.contains(small / step * step), true);
        }
    }
}
