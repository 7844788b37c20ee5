//! What an account with limits has done lately: the counters the stateful limits read.
//! Kept only for accounts some limit applies to, from the moment one first does.

use std::collections::{BTreeMap, VecDeque};

const MINUTE_NANOS: u64 = 60_000_000_000;
const DAY_NANOS: u64 = 86_400_000_000_000;

/// One day's counters as the limits read them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Today {
    pub(crate) trades: u32,
    pub(crate) notional: i128,
    pub(crate) start_value: Option<i128>,
    pub(crate) flows: i128,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Activity {
    /// Acceptance times (ns) of the orders of the last minute.
    pub(crate) recent_orders: VecDeque<u64>,
    /// UTC day (days since the epoch) the daily counters are for.
    pub(crate) day: u64,
    pub(crate) trades_today: u32,
    /// Money (raw) traded today.
    pub(crate) notional_today: i128,
    /// Account value when the day's first order was checked; `None` until then.
    pub(crate) day_start_value: Option<i128>,
    /// Cash moved in (minus out) today, after `day_start_value` was taken.
    pub(crate) flows_today: i128,
    /// Unfilled quantity of open buy orders, by instrument.
    pub(crate) open_buys: BTreeMap<u32, i64>,
}

impl Activity {
    /// Starts a new day's counters if `now` is on a later day than they are for.
    pub(crate) fn roll(&mut self, now: u64) {
        let day = now / DAY_NANOS;
        if day != self.day {
            self.day = day;
            self.trades_today = 0;
            self.notional_today = 0;
            self.day_start_value = None;
            self.flows_today = 0;
        }
    }

    /// Orders accepted in the minute before `now`.
    pub(crate) fn orders_last_minute(&self, now: u64) -> u32 {
        self.recent_orders.iter().filter(|&&at| at + MINUTE_NANOS > now).count() as u32
    }

    /// Today's counters as of `now`, without changing anything; `None` if nothing has
    /// happened yet today.
    pub(crate) fn today(&self, now: u64) -> Option<Today> {
        (self.day == now / DAY_NANOS).then_some(Today {
            trades: self.trades_today,
            notional: self.notional_today,
            start_value: self.day_start_value,
            flows: self.flows_today,
        })
    }

    /// Records an accepted order: the minute window, and the day's starting value if
    /// this is the day's first order (`value` is the account's value now).
    pub(crate) fn accepted(&mut self, now: u64, value: i128) {
        self.roll(now);
        self.day_start_value.get_or_insert(value);
        while self.recent_orders.front().is_some_and(|&at| at + MINUTE_NANOS <= now) {
            self.recent_orders.pop_front();
        }
        self.recent_orders.push_back(now);
    }

    pub(crate) fn add_open_buy(&mut self, instrument: u32, quantity: i64) {
        if quantity != 0 {
            let entry = self.open_buys.entry(instrument).or_insert(0);
            *entry = (*entry + quantity).max(0);
            if *entry == 0 {
                self.open_buys.remove(&instrument);
            }
        }
    }

    pub(crate) fn record_fill(&mut self, now: u64, notional: i64) {
        self.roll(now);
        self.trades_today += 1;
        self.notional_today += i128::from(notional);
    }

    pub(crate) fn minute_of_day(now: u64) -> u16 {
        ((now % DAY_NANOS) / MINUTE_NANOS) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minute_window_and_the_day_roll() {
        let mut activity = Activity::default();
        let start = 3 * DAY_NANOS + 10 * MINUTE_NANOS;
        for at in [start, start + 1, start + 30 * 1_000_000_000] {
            activity.accepted(at, 100);
        }
        assert_eq!(activity.orders_last_minute(start + MINUTE_NANOS - 1), 3);
        assert_eq!(activity.orders_last_minute(start + MINUTE_NANOS), 2, "an order exactly a minute old has left the window");
        assert_eq!(activity.day_start_value, Some(100), "the day's first order sets its starting value");
        activity.roll(start);
        activity.record_fill(start, 500);
        assert_eq!((activity.trades_today, activity.notional_today), (1, 500));
        activity.record_fill(start + DAY_NANOS, 7);
        assert_eq!((activity.day, activity.trades_today, activity.notional_today), (4, 1, 7));
        assert_eq!(Activity::minute_of_day(start), 10);
        activity.add_open_buy(2, 5);
        activity.add_open_buy(2, -7);
        assert!(activity.open_buys.is_empty(), "never below zero, and zero entries go");
    }
}
