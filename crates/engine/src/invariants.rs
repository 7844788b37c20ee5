//! A full check of the engine's invariants, for tests, snapshot loads and `tradecraft verify`.

use std::collections::BTreeMap;

use tradecraft_types::Side;

use crate::book::{Ladder, NIL, StoredKind};
use crate::engine::{Engine, buy_reservation};
use crate::ledger::AssetIndex;

/// The first invariant found broken, described for an operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invariant broken: {0}")]
pub struct InvariantViolation(pub String);

macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(InvariantViolation(format!($($message)+)));
        }
    };
}

impl Engine {
    /// Checks every invariant: non-negative balances, reservations equal to what open orders
    /// hold, conservation of every asset, consistent and uncrossed books.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let state = &self.state;
        // Every remembered idempotency key is in the expiry queue once, in expiry order.
        ensure!(
            state.idempotency.len() == state.idempotency_expiry.len(),
            "idempotency: {} keys, {} in the expiry queue",
            state.idempotency.len(),
            state.idempotency_expiry.len()
        );
        for (position, (expires_at, digest)) in state.idempotency_expiry.iter().enumerate() {
            ensure!(
                state.idempotency.get(digest).is_some_and(|record| record.expires_at == *expires_at),
                "idempotency: queued key {digest:x} has no record expiring then"
            );
            ensure!(position == 0 || state.idempotency_expiry[position - 1].0 <= *expires_at, "idempotency: expiry queue out of order");
        }
        // Client order ids: each names one open order of its account, both ways.
        ensure!(
            state.client_ids.len() == state.order_client_ids.len(),
            "client order ids: {} by account, {} by order",
            state.client_ids.len(),
            state.order_client_ids.len()
        );
        for (&(account, ref client_id), &order_id) in &state.client_ids {
            let slot = state.order_index.get(order_id);
            ensure!(
                slot.is_some_and(|slot| state.orders.get(slot).account == account && state.orders.get(slot).has_client_id),
                "client order id {client_id:?} names {order_id:?}, not an open order of its account with a client order id"
            );
            ensure!(state.order_client_ids.get(&order_id) == Some(client_id), "order {order_id:?} does not know its client order id {client_id:?}");
        }
        let ledger = &state.ledger;
        let fee_bps = self.config.maker_fee_bps.max(self.config.taker_fee_bps);
        // Reservations and open-order counts recomputed from the orders themselves.
        let mut reserved_cash = vec![0_i64; state.accounts.len()];
        let mut reserved_shares: BTreeMap<(u32, u32), i64> = BTreeMap::new();
        let mut open_orders = vec![0_u32; state.accounts.len()];
        let mut open_buys: BTreeMap<(u32, u32), i64> = BTreeMap::new();
        for (order_id, slot) in state.order_index.entries() {
            let order = state.orders.get(slot);
            if order.side == Side::Buy && !order.is_budget() {
                *open_buys.entry((order.account, order.instrument)).or_default() += order.leaves();
            }
            ensure!(order.id == order_id, "order index points {order_id:?} at {:?}", order.id);
            ensure!(
                order.has_client_id == state.order_client_ids.contains_key(&order_id),
                "order {order_id:?}: its client order id flag disagrees with the index"
            );
            ensure!(order.filled >= 0, "order {order_id:?} has negative fills");
            ensure!(order.filled < order.quantity, "open order {order_id:?} has nothing left");
            open_orders[order.account as usize] += 1;
            // A stop loss sharing its take profit's reservation holds none, for exactly the
            // quantity the take profit still holds.
            if let Some(holder) = self.reservation_holder(order_id) {
                let holder = holder.map(|slot| state.orders.get(slot));
                ensure!(order.reserved == 0, "stop loss {order_id:?} holds a reservation it shares");
                ensure!(holder.is_some_and(|holder| holder.leaves() == order.leaves()), "stop loss {order_id:?} outlives or outsizes its take profit");
                continue;
            }
            match order.side {
                Side::Buy => {
                    reserved_cash[order.account as usize] += order.reserved;
                    if order.kind == StoredKind::Limit {
                        let required = buy_reservation(order.price, order.leaves(), fee_bps).unwrap_or(i64::MAX);
                        ensure!(order.reserved >= required, "buy {order_id:?} holds less than its leaves need");
                    }
                }
                Side::Sell => {
                    ensure!(order.reserved == order.leaves(), "sell {order_id:?} reserves other than its leaves");
                    *reserved_shares.entry((order.account, order.instrument)).or_default() += order.reserved;
                }
            }
        }
        let mut totals: BTreeMap<AssetIndex, i128> = BTreeMap::new();
        for (index, account) in state.accounts.iter().enumerate() {
            let index_u32 = index as u32;
            let cash = ledger.balance(index_u32, AssetIndex::Cash);
            ensure!(cash.available >= 0, "account {} has negative available cash", account.id);
            ensure!(cash.reserved == reserved_cash[index], "account {} reserved cash {} != orders' {}", account.id, cash.reserved, reserved_cash[index]);
            ensure!(account.open_orders == open_orders[index], "account {} open order count is off", account.id);
            if let Some(activity) = &account.activity {
                let expected: BTreeMap<u32, i64> = open_buys
                    .range((index_u32, 0)..=(index_u32, u32::MAX))
                    .map(|(&(_, instrument), &quantity)| (instrument, quantity))
                    .filter(|&(_, quantity)| quantity > 0)
                    .collect();
                ensure!(activity.open_buys == expected, "account {} open buys {:?} != orders' {expected:?}", account.id, activity.open_buys);
            }
            *totals.entry(AssetIndex::Cash).or_default() += i128::from(cash.total());
            for &(instrument, balance) in ledger.holdings(index_u32) {
                ensure!(balance.available >= 0, "account {} has negative available shares", account.id);
                let expected = reserved_shares.get(&(index_u32, instrument)).copied().unwrap_or_default();
                ensure!(balance.reserved == expected, "account {} reserved shares != orders'", account.id);
                *totals.entry(AssetIndex::Shares(instrument)).or_default() += i128::from(balance.total());
            }
        }
        let cash_total = totals.get(&AssetIndex::Cash).copied().unwrap_or_default();
        ensure!(
            cash_total == ledger.external_net(AssetIndex::Cash),
            "cash is not conserved: {cash_total} held vs {} deposited net",
            ledger.external_net(AssetIndex::Cash)
        );
        for (index, market) in self.instruments.iter().enumerate() {
            let asset = AssetIndex::Shares(index as u32);
            let held = totals.get(&asset).copied().unwrap_or_default();
            ensure!(held == ledger.external_net(asset), "{} shares are not conserved", market.spec.symbol);
            let book = &self.books[index];
            self.check_ladder(&book.bids, Side::Buy, index as u32)?;
            self.check_ladder(&book.asks, Side::Sell, index as u32)?;
            if let (Some((bid, _)), Some((ask, _))) = (book.best(Side::Buy), book.best(Side::Sell)) {
                ensure!(bid < ask, "{} book is crossed: bid {bid} >= ask {ask}", market.spec.symbol);
            }
        }
        Ok(())
    }

    fn check_ladder(&self, ladder: &Ladder, side: Side, instrument: u32) -> Result<(), InvariantViolation> {
        let orders = &self.state.orders;
        let tick = self.instruments[instrument as usize].spec.tick_size.raw();
        for (price, level) in ladder.levels_best_first() {
            ensure!(level.count > 0, "empty level {price} left in a book");
            ensure!(price % tick == 0, "level {price} is off the tick grid");
            let (mut quantity, mut count, mut previous, mut cursor) = (0, 0, NIL, level.head);
            let mut last_sequence = 0;
            while cursor != NIL {
                let order = orders.get(cursor);
                ensure!(order.price == price, "order {:?} sits in level {price}", order.id);
                ensure!(order.side == side, "order {:?} sits on the wrong side", order.id);
                ensure!(order.kind == StoredKind::Limit, "order {:?} rests but is no limit order", order.id);
                // A head's `prev` is meaningless (see `Order::prev`); every other one links back.
                ensure!(previous == NIL || order.prev == previous, "queue links broken at order {:?}", order.id);
                ensure!(order.sequence > last_sequence, "time priority broken at order {:?}", order.id);
                ensure!(self.state.order_index.get(order.id) == Some(cursor), "resting order {:?} is not indexed", order.id);
                last_sequence = order.sequence;
                quantity += order.leaves();
                count += 1;
                previous = cursor;
                cursor = order.next;
            }
            ensure!(level.tail == previous, "level {price} tail is wrong");
            ensure!(level.quantity == quantity, "level {price} total {} != orders' {quantity}", level.quantity);
            ensure!(level.count == count, "level {price} count is wrong");
        }
        Ok(())
    }
}
