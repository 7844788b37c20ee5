//! What the engine's events become on the log: records for `trade_executed` (seed 000
//! section 4.3: one per fill side or rejected order), `order_updates` (every step of an
//! order's life), `book_updates` (top of book, trade prints, instrument changes) and
//! `account_updates` (accounts, transfers, limits).

use serde_json::Value;
use tradecraft_engine::{
    AccountKind, Amount, BookLevel, DoneReason, Event, ExitLeg, LimitScope, OrderClass, OrderKind, RejectReason, SelfTradePrevention, TimeInForce,
};
use tradecraft_events as events;
use tradecraft_events::to_payload;
use tradecraft_types::{AccountId, Side, Symbol, Timestamp};

pub use tradecraft_events::{ACCOUNT_UPDATES, BOOK_UPDATES, LIMIT_BREACHES, ORDER_UPDATES, TRADE_EXECUTED};
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

fn instrument_output(symbol: Symbol, event_type: &'static str, timestamp: String) -> Output {
    symbol_output(symbol, event_type, to_payload(&events::InstrumentChanged { symbol: symbol.as_str().to_owned(), timestamp }))
}

fn side(side: Side) -> &'static str {
    side.as_str()
}

fn level(level: Option<BookLevel>) -> Option<events::Level> {
    level.map(|level| events::Level { price: level.price.to_string(), quantity: level.quantity.to_string(), orders: level.orders })
}

/// The one status vocabulary of a finished order (REST, WebSocket, `order_updates`):
/// `FILLED`, `CANCELLED` or `EXPIRED`; [`done_reason`] says why.
pub fn done_status(reason: DoneReason) -> &'static str {
    match reason {
        DoneReason::Filled => "FILLED",
        DoneReason::Cancelled | DoneReason::SelfTradePrevented => "CANCELLED",
        DoneReason::Expired | DoneReason::Unfilled | DoneReason::FillOrKillUnfillable => "EXPIRED",
    }
}

/// Why an order finished, beside its [`done_status`].
pub fn done_reason(reason: DoneReason) -> &'static str {
    match reason {
        DoneReason::Filled => "filled",
        DoneReason::Cancelled => "cancelled",
        DoneReason::Expired => "expired",
        DoneReason::Unfilled => "no_more_liquidity",
        DoneReason::FillOrKillUnfillable => "fill_or_kill_unfillable",
        DoneReason::SelfTradePrevented => "self_trade_prevented",
    }
}

/// A trail as the events (and the APIs) write it: `trailAmount` or `trailPercent`.
pub fn trail_texts(trail: tradecraft_engine::Trail) -> (Option<String>, Option<String>) {
    let (amount, percent) = trail.amount_or_percent();
    (amount.map(|amount| amount.to_string()), percent.map(|percent| percent.to_string()))
}

/// The order's type and its prices, in the accepted event.
fn kind(kind: OrderKind, accepted: &mut events::OrderAccepted) {
    let text = |price: tradecraft_types::Price| Some(price.to_string());
    accepted.order_type = match kind {
        OrderKind::Market => "MARKET",
        OrderKind::Limit { price } => {
            accepted.limit_price = text(price);
            "LIMIT"
        }
        OrderKind::Stop { stop_price } => {
            accepted.stop_price = text(stop_price);
            "STOP"
        }
        OrderKind::StopLimit { stop_price, limit_price } => {
            accepted.stop_price = text(stop_price);
            accepted.limit_price = text(limit_price);
            "STOP_LIMIT"
        }
        OrderKind::TrailingStop { trail } => {
            (accepted.trail_amount, accepted.trail_percent) = trail_texts(trail);
            "TRAILING_STOP"
        }
    }
    .to_owned();
}

/// A self-trade prevention mode in the events' vocabulary (the API's).
pub fn self_trade_prevention(mode: SelfTradePrevention) -> &'static str {
    match mode {
        SelfTradePrevention::CancelResting => "CANCEL_RESTING",
        SelfTradePrevention::CancelTaking => "CANCEL_TAKING",
        SelfTradePrevention::CancelBoth => "CANCEL_BOTH",
    }
}

/// A time in force in the events' vocabulary.
pub fn time_in_force(time_in_force: TimeInForce) -> &'static str {
    match time_in_force {
        TimeInForce::GoodTillCancel => "GTC",
        TimeInForce::Day => "DAY",
        TimeInForce::ImmediateOrCancel => "IOC",
        TimeInForce::FillOrKill => "FOK",
        TimeInForce::AtTheOpen => "OPG",
        TimeInForce::AtTheClose => "CLS",
    }
}

/// An order class in the events' vocabulary.
pub fn order_class(class: OrderClass) -> &'static str {
    match class {
        OrderClass::Bracket => "BRACKET",
        OrderClass::OneTriggersOther => "OTO",
        OrderClass::OneCancelsOther => "OCO",
    }
}

fn exit_leg(leg: ExitLeg) -> events::ExitLeg {
    let text = |price: tradecraft_types::Price| Some(price.to_string());
    let (order_type, limit_price, stop_price) = match leg.kind {
        OrderKind::Limit { price } => ("LIMIT", text(price), None),
        OrderKind::Stop { stop_price } => ("STOP", None, text(stop_price)),
        OrderKind::StopLimit { stop_price, limit_price } => ("STOP_LIMIT", text(limit_price), text(stop_price)),
        OrderKind::Market | OrderKind::TrailingStop { .. } => ("MARKET", None, None),
    };
    events::ExitLeg { order_id: leg.order_id.to_string(), order_type: order_type.to_owned(), limit_price, stop_price }
}

/// The asset and amount a transfer moves.
fn amount(amount: Amount) -> (String, String) {
    match amount {
        Amount::Cash(cash) => ("CASH".to_owned(), cash.to_string()),
        Amount::Shares(symbol, quantity) => (symbol.as_str().to_owned(), quantity.to_string()),
    }
}

/// Appends the records `event` becomes. `at` is the command's timestamp.
pub fn outputs(event: &Event, at: Timestamp, out: &mut Vec<Output>) {
    let timestamp = at.to_string();
    match event {
        // A repeat placed nothing: the gateway answers it from the event; no topic carries it.
        Event::OrderRepeated { .. } => {}
        Event::OrderAccepted(order) => {
            let mut accepted = events::OrderAccepted {
                order_id: order.order_id.to_string(),
                user_id: order.account.to_string(),
                symbol: order.symbol.as_str().to_owned(),
                side: side(order.side).to_owned(),
                status: "ACCEPTED".to_owned(),
                quantity: order.quantity.to_string(),
                time_in_force: time_in_force(order.time_in_force).to_owned(),
                reserved_cash: order.reserved_cash.to_string(),
                timestamp,
                order_type: String::new(),
                limit_price: None,
                stop_price: None,
                trail_amount: None,
                trail_percent: None,
                notional: order.notional.map(|notional| notional.to_string()),
                client_order_id: order.client_order_id.as_ref().map(|client| client.as_str().to_owned()),
                post_only: order.post_only,
                self_trade_prevention: order.self_trade_prevention.map(|mode| self_trade_prevention(mode).to_owned()),
            };
            kind(order.kind, &mut accepted);
            out.push(account_output(ORDER_UPDATES, order.account, "order.accepted", to_payload(&accepted)));
        }
        Event::OrderRejected { order_id, account, symbol, side: order_side, quantity, reason } => {
            if let RejectReason::LimitBreached(limit) = reason {
                let breach = events::LimitBreached {
                    user_id: account.to_string(),
                    order_id: order_id.to_string(),
                    symbol: symbol.as_str().to_owned(),
                    side: side(*order_side).to_owned(),
                    quantity: quantity.to_string(),
                    limit: limit.code().to_owned(),
                    timestamp: timestamp.clone(),
                };
                out.push(account_output(LIMIT_BREACHES, *account, "limit.breached", to_payload(&breach)));
            }
            let failed = events::Execution {
                order_id: order_id.to_string(),
                user_id: account.to_string(),
                symbol: symbol.as_str().to_owned(),
                quantity: quantity.to_string(),
                side: side(*order_side).to_owned(),
                status: reason.failure_status().as_str().to_owned(),
                execution_price: None,
                execution_timestamp: timestamp.clone(),
                failure_reason: Some(reason.code().to_owned()),
                trade_id: None,
                liquidity: None,
                fee: None,
            };
            out.push(account_output(TRADE_EXECUTED, *account, "trade.failed", to_payload(&failed)));
            let rejected = events::OrderRejected {
                order_id: order_id.to_string(),
                user_id: account.to_string(),
                symbol: symbol.as_str().to_owned(),
                side: side(*order_side).to_owned(),
                status: "REJECTED".to_owned(),
                reason: reason.code().to_owned(),
                timestamp,
            };
            out.push(account_output(ORDER_UPDATES, *account, "order.rejected", to_payload(&rejected)));
        }
        Event::OrderReleased { order_id, account, symbol } => {
            let released = events::OrderReleased {
                order_id: order_id.to_string(),
                user_id: account.to_string(),
                symbol: symbol.as_str().to_owned(),
                status: "ACCEPTED".to_owned(),
                timestamp,
            };
            out.push(account_output(ORDER_UPDATES, *account, "order.released", to_payload(&released)));
        }
        Event::OrderTriggered { order_id, account, symbol, stop_price } => {
            let triggered = events::OrderTriggered {
                order_id: order_id.to_string(),
                user_id: account.to_string(),
                symbol: symbol.as_str().to_owned(),
                // Still open, nothing filled yet: the vocabulary's ACCEPTED.
                status: "ACCEPTED".to_owned(),
                stop_price: stop_price.to_string(),
                timestamp,
            };
            out.push(account_output(ORDER_UPDATES, *account, "order.triggered", to_payload(&triggered)));
        }
        Event::Trade(trade) => {
            let sides = [
                (trade.taker_order_id, trade.taker_account, trade.taker_side, "TAKER", trade.taker_fee),
                (trade.maker_order_id, trade.maker_account, trade.taker_side.opposite(), "MAKER", trade.maker_fee),
            ];
            for (order_id, account, order_side, liquidity, fee) in sides {
                let fill = to_payload(&events::Execution {
                    order_id: order_id.to_string(),
                    user_id: account.to_string(),
                    symbol: trade.symbol.as_str().to_owned(),
                    quantity: trade.quantity.to_string(),
                    side: side(order_side).to_owned(),
                    status: "EXECUTED".to_owned(),
                    execution_price: Some(trade.price.to_string()),
                    execution_timestamp: timestamp.clone(),
                    failure_reason: None,
                    trade_id: Some(trade.trade_id.to_string()),
                    liquidity: Some(liquidity.to_owned()),
                    fee: Some(fee.to_string()),
                });
                out.push(account_output(TRADE_EXECUTED, account, "trade.executed", fill.clone()));
                out.push(account_output(ORDER_UPDATES, account, "order.filled", fill));
            }
            let print = events::MarketTrade {
                symbol: trade.symbol.as_str().to_owned(),
                trade_id: trade.trade_id.to_string(),
                price: trade.price.to_string(),
                quantity: trade.quantity.to_string(),
                taker_side: side(trade.taker_side).to_owned(),
                sequence: trade.sequence,
                timestamp,
            };
            out.push(symbol_output(trade.symbol, "market.trade", to_payload(&print)));
        }
        Event::OrderReplaced {
            order_id,
            account,
            symbol,
            price,
            stop_price,
            trail,
            quantity,
            filled,
            priority_kept,
            client_order_id,
            time_in_force: lasts,
        } => {
            let (trail_amount, trail_percent) = trail.map(trail_texts).unwrap_or_default();
            let replaced = events::OrderReplaced {
                order_id: order_id.to_string(),
                user_id: account.to_string(),
                symbol: symbol.as_str().to_owned(),
                // The order's status after the change, in the one vocabulary.
                status: if filled.is_positive() { "PARTIALLY_FILLED" } else { "ACCEPTED" }.to_owned(),
                limit_price: price.or(*stop_price).unwrap_or_default().to_string(),
                stop_price: stop_price.map(|stop| stop.to_string()),
                trail_amount,
                trail_percent,
                quantity: quantity.to_string(),
                priority_kept: *priority_kept,
                client_order_id: client_order_id.as_ref().map(|client| client.as_str().to_owned()),
                time_in_force: lasts.map(|lasts| time_in_force(lasts).to_owned()),
                timestamp,
            };
            out.push(account_output(ORDER_UPDATES, *account, "order.replaced", to_payload(&replaced)));
        }
        Event::OrderDone { order_id, account, symbol, side: order_side, reason, filled } => {
            let done = events::OrderDone {
                order_id: order_id.to_string(),
                user_id: account.to_string(),
                symbol: symbol.as_str().to_owned(),
                side: side(*order_side).to_owned(),
                status: done_status(*reason).to_owned(),
                reason: done_reason(*reason).to_owned(),
                filled_quantity: filled.to_string(),
                timestamp,
            };
            out.push(account_output(ORDER_UPDATES, *account, "order.done", to_payload(&done)));
        }
        Event::ContingentAccepted { order_id, account, symbol, class, take_profit, stop_loss } => {
            let contingent = events::OrderContingent {
                order_id: order_id.to_string(),
                user_id: account.to_string(),
                symbol: symbol.as_str().to_owned(),
                order_class: order_class(*class).to_owned(),
                status: "ACCEPTED".to_owned(),
                take_profit: take_profit.map(exit_leg),
                stop_loss: stop_loss.map(exit_leg),
                timestamp,
            };
            out.push(account_output(ORDER_UPDATES, *account, "order.contingent", to_payload(&contingent)));
        }
        Event::LegResized { order_id, account, symbol, quantity, filled } => {
            let resized = events::OrderResized {
                order_id: order_id.to_string(),
                user_id: account.to_string(),
                symbol: symbol.as_str().to_owned(),
                status: if filled.is_positive() { "PARTIALLY_FILLED" } else { "ACCEPTED" }.to_owned(),
                quantity: quantity.to_string(),
                timestamp,
            };
            out.push(account_output(ORDER_UPDATES, *account, "order.resized", to_payload(&resized)));
        }
        Event::LegCancelled { order_id, account, symbol, entry } => {
            let cancelled = events::LegCancelled {
                order_id: order_id.to_string(),
                user_id: account.to_string(),
                symbol: symbol.as_str().to_owned(),
                parent_order_id: entry.to_string(),
                status: "CANCELLED".to_owned(),
                timestamp,
            };
            out.push(account_output(ORDER_UPDATES, *account, "order.leg_cancelled", to_payload(&cancelled)));
        }
        Event::BestBidOffer { symbol, sequence, bid, ask } => {
            let top = events::BestBidOffer { symbol: symbol.as_str().to_owned(), sequence: *sequence, bid: level(*bid), ask: level(*ask), timestamp };
            out.push(symbol_output(*symbol, "market.best_bid_offer", to_payload(&top)));
        }
        Event::InstrumentListed { symbol } => out.push(instrument_output(*symbol, "instrument.listed", timestamp)),
        Event::InstrumentHalted { symbol } => out.push(instrument_output(*symbol, "instrument.halted", timestamp)),
        Event::SessionOpened { symbol } => out.push(instrument_output(*symbol, "instrument.opened", timestamp)),
        Event::SessionClosed { symbol } => out.push(instrument_output(*symbol, "instrument.closed", timestamp)),
        Event::InstrumentResumed { symbol } => out.push(instrument_output(*symbol, "instrument.resumed", timestamp)),
        Event::AccountCreated { account, kind: account_kind } => {
            let created = events::AccountCreated { user_id: account.to_string(), house: *account_kind == AccountKind::House, timestamp };
            out.push(account_output(ACCOUNT_UPDATES, *account, "account.created", to_payload(&created)));
        }
        Event::Deposited { account, transaction, amount: moved } | Event::Withdrawn { account, transaction, amount: moved } => {
            let (event_type, kind) =
                if matches!(event, Event::Deposited { .. }) { ("account.deposited", "DEPOSIT") } else { ("account.withdrawn", "WITHDRAWAL") };
            let (asset, amount) = amount(*moved);
            let transfer =
                events::Transfer { user_id: account.to_string(), transaction_id: transaction.to_string(), kind: kind.to_owned(), asset, amount, timestamp };
            out.push(account_output(ACCOUNT_UPDATES, *account, event_type, to_payload(&transfer)));
        }
        Event::TransferAlreadyApplied { account, transaction } => {
            let repeated = events::TransferRepeated { user_id: account.to_string(), transaction_id: transaction.to_string(), timestamp };
            out.push(account_output(ACCOUNT_UPDATES, *account, "account.transfer_repeated", to_payload(&repeated)));
        }
        Event::LimitsSet { scope } => {
            let mut set = events::LimitsSet { user_id: None, group_id: None, organisation_id: None, timestamp };
            let key = match scope {
                LimitScope::Account(account) => {
                    set.user_id = Some(account.to_string());
                    account.to_string()
                }
                LimitScope::Group(group) => {
                    set.group_id = Some(group.to_string());
                    format!("group:{group}")
                }
                LimitScope::Organisation(organisation) => {
                    set.organisation_id = Some(organisation.to_string());
                    format!("organisation:{organisation}")
                }
            };
            out.push(Output { topic: ACCOUNT_UPDATES, key, event_type: "account.limits_set", payload: to_payload(&set) });
        }
        Event::MembershipSet { account, group, organisation } => {
            let membership = events::MembershipSet {
                user_id: account.to_string(),
                group_id: group.map(|id| id.to_string()),
                organisation_id: organisation.map(|id| id.to_string()),
                timestamp,
            };
            out.push(account_output(ACCOUNT_UPDATES, *account, "account.membership_set", to_payload(&membership)));
        }
        Event::CommandRejected { account, order_id, reason } => {
            let rejected = events::CommandRejected {
                user_id: account.map(|id| id.to_string()),
                order_id: order_id.map(|id| id.to_string()),
                status: "REJECTED".to_owned(),
                reason: reason.code().to_owned(),
                timestamp,
            };
            let topic = if order_id.is_some() { ORDER_UPDATES } else { ACCOUNT_UPDATES };
            let key = account.map(|id| id.to_string()).unwrap_or_default();
            out.push(Output { topic, key, event_type: "command.rejected", payload: to_payload(&rejected) });
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
