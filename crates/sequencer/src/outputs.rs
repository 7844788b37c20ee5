//! What the engine's events become on the log: records for `trade_executed` (seed 000
//! section 4.3: one per fill side or rejected order), `order_updates` (every step of an
//! order's life), `book_updates` (top of book, trade prints, instrument changes) and
//! `account_updates` (accounts, transfers, limits).

use serde_json::{Value, json};
use tradecraft_engine::{AccountKind, Amount, BookLevel, DoneReason, Event, LimitScope, OrderKind, RejectReason, TimeInForce};
use tradecraft_types::{AccountId, Side, Symbol, Timestamp};

pub const TRADE_EXECUTED: &str = "trade_executed";
pub const ORDER_UPDATES: &str = "order_updates";
pub const BOOK_UPDATES: &str = "book_updates";
pub const ACCOUNT_UPDATES: &str = "account_updates";
/// Orders refused by a trading limit (DESIGN.md topic `limit_breaches`).
pub const LIMIT_BREACHES: &str = "limit_breaches";
/// Every topic the engine writes.
pub const OUTPUT_TOPICS: [&str; 5] = [TRADE_EXECUTED, ORDER_UPDATES, BOOK_UPDATES, ACCOUNT_UPDATES, LIMIT_BREACHES];

/// One record to publish.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    pub topic: &'static str,
    /// Account id for account-scoped records, symbol for market records.
    pub key: String,
    pub event_type: &'static str,
    pub payload: Value,
}

fn account_output(topic: &'static str, account: AccountId, event_type: &'static str, payload: Value) -> Output {
    Output { topic, key: account.to_string(), event_type, payload }
}

fn symbol_output(symbol: Symbol, event_type: &'static str, payload: Value) -> Output {
    Output { topic: BOOK_UPDATES, key: symbol.to_string(), event_type, payload }
}

fn side(side: Side) -> &'static str {
    side.as_str()
}

fn level(level: Option<BookLevel>) -> Value {
    level.map_or(Value::Null, |level| json!({"price": level.price.to_string(), "quantity": level.quantity.to_string(), "orders": level.orders}))
}

fn done_status(reason: DoneReason) -> &'static str {
    match reason {
        DoneReason::Filled => "FILLED",
        DoneReason::Cancelled | DoneReason::SelfTradePrevented => "CANCELLED",
        DoneReason::Expired | DoneReason::Unfilled | DoneReason::FillOrKillUnfillable => "EXPIRED",
    }
}

fn done_reason(reason: DoneReason) -> &'static str {
    match reason {
        DoneReason::Filled => "filled",
        DoneReason::Cancelled => "cancelled",
        DoneReason::Expired => "expired",
        DoneReason::Unfilled => "no_more_liquidity",
        DoneReason::FillOrKillUnfillable => "fill_or_kill_unfillable",
        DoneReason::SelfTradePrevented => "self_trade_prevented",
    }
}

fn kind(kind: OrderKind) -> Value {
    match kind {
        OrderKind::Market => json!({"type": "MARKET"}),
        OrderKind::Limit { price } => json!({"type": "LIMIT", "limitPrice": price.to_string()}),
        OrderKind::Stop { stop_price } => json!({"type": "STOP", "stopPrice": stop_price.to_string()}),
        OrderKind::StopLimit { stop_price, limit_price } => {
            json!({"type": "STOP_LIMIT", "stopPrice": stop_price.to_string(), "limitPrice": limit_price.to_string()})
        }
        OrderKind::TrailingStop { trail } => match trail {
            tradecraft_engine::Trail::Amount(amount) => json!({"type": "TRAILING_STOP", "trailAmount": amount.to_string()}),
            tradecraft_engine::Trail::Percent { basis_points } => json!({
                "type": "TRAILING_STOP",
                "trailPercent": tradecraft_types::Price::from_raw(i64::from(basis_points) * 100).to_string(),
            }),
        },
    }
}

fn time_in_force(time_in_force: TimeInForce) -> &'static str {
    match time_in_force {
        TimeInForce::GoodTillCancel => "GTC",
        TimeInForce::Day => "DAY",
        TimeInForce::ImmediateOrCancel => "IOC",
        TimeInForce::FillOrKill => "FOK",
    }
}

fn amount(amount: Amount) -> Value {
    match amount {
        Amount::Cash(cash) => json!({"asset": "CASH", "amount": cash.to_string()}),
        Amount::Shares(symbol, quantity) => json!({"asset": symbol.as_str(), "amount": quantity.to_string()}),
    }
}

/// Appends the records `event` becomes. `at` is the command's timestamp.
pub fn outputs(event: &Event, at: Timestamp, out: &mut Vec<Output>) {
    let timestamp = at.to_string();
    match event {
        Event::OrderAccepted(order) => {
            let mut payload = json!({
                "orderId": order.order_id.to_string(),
                "userId": order.account.to_string(),
                "symbol": order.symbol.as_str(),
                "side": side(order.side),
                "status": "ACCEPTED",
                "quantity": order.quantity.to_string(),
                "timeInForce": time_in_force(order.time_in_force),
                "reservedCash": order.reserved_cash.to_string(),
                "timestamp": timestamp,
            });
            if let (Some(target), Value::Object(fields)) = (payload.as_object_mut(), kind(order.kind)) {
                target.extend(fields);
                if let Some(notional) = order.notional {
                    target.insert("notional".to_owned(), json!(notional.to_string()));
                }
                if let Some(client) = order.client_order_id {
                    target.insert("clientOrderId".to_owned(), json!(client.as_str()));
                }
            }
            out.push(account_output(ORDER_UPDATES, order.account, "order.accepted", payload));
        }
        Event::OrderRejected { order_id, account, symbol, side: order_side, quantity, reason } => {
            if let RejectReason::LimitBreached(limit) = reason {
                out.push(account_output(
                    LIMIT_BREACHES,
                    *account,
                    "limit.breached",
                    json!({
                        "userId": account.to_string(), "orderId": order_id.to_string(), "symbol": symbol.as_str(),
                        "side": side(*order_side), "quantity": quantity.to_string(), "limit": limit.code(), "timestamp": timestamp,
                    }),
                ));
            }
            out.push(account_output(
                TRADE_EXECUTED,
                *account,
                "trade.failed",
                json!({
                    "orderId": order_id.to_string(),
                    "userId": account.to_string(),
                    "symbol": symbol.as_str(),
                    "quantity": quantity.to_string(),
                    "side": side(*order_side),
                    "status": reason.failure_status().as_str(),
                    "executionPrice": null,
                    "executionTimestamp": timestamp,
                    "failureReason": reason.code(),
                }),
            ));
            out.push(account_output(
                ORDER_UPDATES,
                *account,
                "order.rejected",
                json!({
                    "orderId": order_id.to_string(), "userId": account.to_string(), "symbol": symbol.as_str(),
                    "side": side(*order_side), "status": "REJECTED", "reason": reason.code(), "timestamp": timestamp,
                }),
            ));
        }
        Event::OrderTriggered { order_id, account, symbol, stop_price } => out.push(account_output(
            ORDER_UPDATES,
            *account,
            "order.triggered",
            json!({
                "orderId": order_id.to_string(), "userId": account.to_string(), "symbol": symbol.as_str(),
                "status": "TRIGGERED", "stopPrice": stop_price.to_string(), "timestamp": timestamp,
            }),
        )),
        Event::Trade(trade) => {
            let sides = [
                (trade.taker_order_id, trade.taker_account, trade.taker_side, "TAKER", trade.taker_fee),
                (trade.maker_order_id, trade.maker_account, trade.taker_side.opposite(), "MAKER", trade.maker_fee),
            ];
            for (order_id, account, order_side, liquidity, fee) in sides {
                let fill = json!({
                    "orderId": order_id.to_string(),
                    "userId": account.to_string(),
                    "symbol": trade.symbol.as_str(),
                    "quantity": trade.quantity.to_string(),
                    "side": side(order_side),
                    "status": "EXECUTED",
                    "executionPrice": trade.price.to_string(),
                    "executionTimestamp": timestamp,
                    "failureReason": null,
                    "tradeId": trade.trade_id.to_string(),
                    "liquidity": liquidity,
                    "fee": fee.to_string(),
                });
                out.push(account_output(TRADE_EXECUTED, account, "trade.executed", fill.clone()));
                out.push(account_output(ORDER_UPDATES, account, "order.filled", fill));
            }
            out.push(symbol_output(
                trade.symbol,
                "market.trade",
                json!({
                    "symbol": trade.symbol.as_str(), "tradeId": trade.trade_id.to_string(),
                    "price": trade.price.to_string(), "quantity": trade.quantity.to_string(),
                    "takerSide": side(trade.taker_side), "sequence": trade.sequence, "timestamp": timestamp,
                }),
            ));
        }
        Event::OrderReplaced { order_id, account, symbol, price, quantity, priority_kept } => out.push(account_output(
            ORDER_UPDATES,
            *account,
            "order.replaced",
            json!({
                "orderId": order_id.to_string(), "userId": account.to_string(), "symbol": symbol.as_str(),
                "status": "REPLACED", "limitPrice": price.to_string(), "quantity": quantity.to_string(),
                "priorityKept": priority_kept, "timestamp": timestamp,
            }),
        )),
        Event::OrderDone { order_id, account, symbol, side: order_side, reason, filled } => out.push(account_output(
            ORDER_UPDATES,
            *account,
            "order.done",
            json!({
                "orderId": order_id.to_string(), "userId": account.to_string(), "symbol": symbol.as_str(),
                "side": side(*order_side), "status": done_status(*reason), "reason": done_reason(*reason),
                "filledQuantity": filled.to_string(), "timestamp": timestamp,
            }),
        )),
        Event::BestBidOffer { symbol, sequence, bid, ask } => out.push(symbol_output(
            *symbol,
            "market.best_bid_offer",
            json!({"symbol": symbol.as_str(), "sequence": sequence, "bid": level(*bid), "ask": level(*ask), "timestamp": timestamp}),
        )),
        Event::InstrumentListed { symbol } => {
            out.push(symbol_output(*symbol, "instrument.listed", json!({"symbol": symbol.as_str(), "timestamp": timestamp})));
        }
        Event::InstrumentHalted { symbol } => {
            out.push(symbol_output(*symbol, "instrument.halted", json!({"symbol": symbol.as_str(), "timestamp": timestamp})));
        }
        Event::InstrumentResumed { symbol } => {
            out.push(symbol_output(*symbol, "instrument.resumed", json!({"symbol": symbol.as_str(), "timestamp": timestamp})));
        }
        Event::AccountCreated { account, kind: account_kind } => out.push(account_output(
            ACCOUNT_UPDATES,
            *account,
            "account.created",
            json!({"userId": account.to_string(), "house": *account_kind == AccountKind::House, "timestamp": timestamp}),
        )),
        Event::Deposited { account, transaction, amount: moved } | Event::Withdrawn { account, transaction, amount: moved } => {
            let (event_type, kind) =
                if matches!(event, Event::Deposited { .. }) { ("account.deposited", "DEPOSIT") } else { ("account.withdrawn", "WITHDRAWAL") };
            let mut payload = json!({"userId": account.to_string(), "transactionId": transaction.to_string(), "type": kind, "timestamp": timestamp});
            if let (Some(target), Value::Object(fields)) = (payload.as_object_mut(), amount(*moved)) {
                target.extend(fields);
            }
            out.push(account_output(ACCOUNT_UPDATES, *account, event_type, payload));
        }
        Event::TransferAlreadyApplied { account, transaction } => out.push(account_output(
            ACCOUNT_UPDATES,
            *account,
            "account.transfer_repeated",
            json!({"userId": account.to_string(), "transactionId": transaction.to_string(), "timestamp": timestamp}),
        )),
        Event::LimitsSet { scope } => {
            let (key, payload) = match scope {
                LimitScope::Account(account) => (account.to_string(), json!({"userId": account.to_string(), "timestamp": timestamp})),
                LimitScope::Group(group) => (format!("group:{group}"), json!({"groupId": group.to_string(), "timestamp": timestamp})),
                LimitScope::Organisation(organisation) => {
                    (format!("organisation:{organisation}"), json!({"organisationId": organisation.to_string(), "timestamp": timestamp}))
                }
            };
            out.push(Output { topic: ACCOUNT_UPDATES, key, event_type: "account.limits_set", payload });
        }
        Event::MembershipSet { account, group, organisation } => out.push(account_output(
            ACCOUNT_UPDATES,
            *account,
            "account.membership_set",
            json!({
                "userId": account.to_string(), "groupId": group.map(|id| id.to_string()),
                "organisationId": organisation.map(|id| id.to_string()), "timestamp": timestamp,
            }),
        )),
        Event::CommandRejected { account, order_id, reason } => {
            let payload = json!({
                "userId": account.map(|id| id.to_string()), "orderId": order_id.map(|id| id.to_string()),
                "status": "REJECTED", "reason": reason.code(), "timestamp": timestamp,
            });
            let topic = if order_id.is_some() { ORDER_UPDATES } else { ACCOUNT_UPDATES };
            let key = account.map(|id| id.to_string()).unwrap_or_default();
            out.push(Output { topic, key, event_type: "command.rejected", payload });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradecraft_engine::{LimitKind, RejectReason};
    use tradecraft_types::{OrderId, Quantity};

    #[test]
    fn a_limit_breach_is_published_on_limit_breaches_and_as_a_failed_execution() {
        let event = Event::OrderRejected {
            order_id: OrderId(41),
            account: AccountId(7),
            symbol: Symbol::new("MOCK").unwrap(),
            side: Side::Buy,
            quantity: Quantity::from_units(3),
            reason: RejectReason::LimitBreached(LimitKind::MaxDailyLoss),
        };
        let mut out = Vec::new();
        outputs(&event, Timestamp(1_767_261_600_000), &mut out);
        let topics: Vec<_> = out.iter().map(|output| output.topic).collect();
        assert_eq!(topics, [LIMIT_BREACHES, TRADE_EXECUTED, ORDER_UPDATES]);
        let breach = &out[0];
        assert_eq!((breach.key.as_str(), breach.event_type), ("7", "limit.breached"));
        assert_eq!(breach.payload["limit"], "limit_max_daily_loss");
        assert_eq!(breach.payload["orderId"], "41");
        assert_eq!(out[1].payload["status"], "FAILED_OTHER");
        assert_eq!(out[1].payload["failureReason"], "limit_max_daily_loss");

        let mut out = Vec::new();
        let funds = Event::OrderRejected {
            order_id: OrderId(42),
            account: AccountId(7),
            symbol: Symbol::new("MOCK").unwrap(),
            side: Side::Buy,
            quantity: Quantity::from_units(3),
            reason: RejectReason::InsufficientFunds,
        };
        outputs(&funds, Timestamp(0), &mut out);
        assert!(out.iter().all(|output| output.topic != LIMIT_BREACHES), "only limits are breaches");
    }
}
