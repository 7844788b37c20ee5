//! The event contract: one serde struct per event type of every topic (seed 000 section 4,
//! DESIGN.md "Events"). The engine service builds its records from these structs and every
//! consumer (the read-store projector, the API's view and WebSocket fan-out) reads them
//! back through the same structs, so producer and consumers cannot drift apart. Each
//! topic's JSON Schema is generated from them ([`topic_schema`]) and checked in under
//! `schemas/`; the contract tests in this crate fail when a change would break a consumer
//! without raising the topic's schema version (seed 000 7.3: adding an optional field is
//! the only change that keeps the version).
//!
//! Conventions: camelCase fields; ids and decimals (prices, quantities, money) as strings;
//! times as ISO 8601 UTC strings. Consumers ignore fields they do not know.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const TRADE_ORDERS: &str = "trade_orders";
pub const TRADE_EXECUTED: &str = "trade_executed";
pub const ORDER_UPDATES: &str = "order_updates";
pub const BOOK_UPDATES: &str = "book_updates";
pub const ACCOUNT_UPDATES: &str = "account_updates";
/// Orders refused by a trading limit (DESIGN.md topic `limit_breaches`).
pub const LIMIT_BREACHES: &str = "limit_breaches";
pub const MARKET_DATA: &str = "market_data";

/// `order.accepted` on `order_updates`: the engine took the order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderAccepted {
    pub order_id: String,
    pub user_id: String,
    pub symbol: String,
    /// `BUY` or `SELL`.
    pub side: String,
    /// Always `ACCEPTED`.
    pub status: String,
    /// Shares asked for; 0 for a buy sized by `notional`.
    pub quantity: String,
    /// `GTC`, `DAY`, `IOC` or `FOK`.
    pub time_in_force: String,
    /// Cash set aside for a buy (0 for a sell).
    pub reserved_cash: String,
    pub timestamp: String,
    /// `MARKET`, `LIMIT`, `STOP`, `STOP_LIMIT` or `TRAILING_STOP`.
    #[serde(rename = "type")]
    pub order_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail_amount: Option<String>,
    /// Percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail_percent: Option<String>,
    /// Cash to spend, for a market buy sized by amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notional: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_order_id: Option<String>,
    /// Present (true) for a post-only order.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub post_only: bool,
    /// `CANCEL_RESTING`, `CANCEL_TAKING` or `CANCEL_BOTH`, when the order named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_trade_prevention: Option<String>,
}

/// `order.rejected` on `order_updates`: the engine refused a new order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderRejected {
    pub order_id: String,
    pub user_id: String,
    pub symbol: String,
    pub side: String,
    /// Always `REJECTED`.
    pub status: String,
    /// The refusal's code, e.g. `insufficient_funds` or `limit_max_order_quantity`.
    pub reason: String,
    pub timestamp: String,
}

/// `order.released` on `order_updates`: an order taken while its market was closed enters
/// the market at the open (it trades or rests from now on).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderReleased {
    pub order_id: String,
    pub user_id: String,
    pub symbol: String,
    /// The order's status, in the vocabulary every surface shares: `ACCEPTED`.
    pub status: String,
    pub timestamp: String,
}

/// `order.triggered` on `order_updates`: a stop order's price was reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderTriggered {
    pub order_id: String,
    pub user_id: String,
    pub symbol: String,
    /// The order's status, in the vocabulary every surface shares: `ACCEPTED`.
    pub status: String,
    pub stop_price: String,
    pub timestamp: String,
}

/// `order.replaced` on `order_updates`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderReplaced {
    pub order_id: String,
    pub user_id: String,
    pub symbol: String,
    /// The order's status after the change: `ACCEPTED` or `PARTIALLY_FILLED`.
    pub status: String,
    /// The limit price. A `STOP` order has none: for it, this repeats `stopPrice`.
    pub limit_price: String,
    /// A waiting `STOP`, `STOP_LIMIT` or `TRAILING_STOP` order's trigger price after the
    /// change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<String>,
    /// A waiting `TRAILING_STOP` order's trail after the change: an amount, or a percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail_percent: Option<String>,
    /// The new total quantity.
    pub quantity: String,
    /// Whether the order kept its place in the queue.
    pub priority_kept: bool,
    /// The order's new client order id, when the replace gave it one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_order_id: Option<String>,
    /// The order's new time in force (`GTC` or `DAY`), when the replace changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_in_force: Option<String>,
    pub timestamp: String,
}

/// An exit leg of a contingent order, as `order.contingent` names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExitLeg {
    pub order_id: String,
    /// `LIMIT` (take profit), `STOP` or `STOP_LIMIT` (stop loss).
    pub order_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<String>,
}

/// `order.contingent` on `order_updates`, right after the order's `order.accepted`: the
/// order carries exit legs, held until it fills (OCO: its stop loss is placed at once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderContingent {
    pub order_id: String,
    pub user_id: String,
    pub symbol: String,
    /// `BRACKET`, `OTO` or `OCO`.
    pub order_class: String,
    /// The order's status: `ACCEPTED`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub take_profit: Option<ExitLeg>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_loss: Option<ExitLeg>,
    pub timestamp: String,
}

/// `order.resized` on `order_updates`: an exit leg grew with its entry's fills (same
/// price, same place in the queue).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderResized {
    pub order_id: String,
    pub user_id: String,
    pub symbol: String,
    /// The order's status after the change: `ACCEPTED` or `PARTIALLY_FILLED`.
    pub status: String,
    /// The new total quantity.
    pub quantity: String,
    pub timestamp: String,
}

/// `order.leg_cancelled` on `order_updates`: a held exit leg that will never be placed
/// (its entry ended unfilled or was cancelled, or the other exit went first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegCancelled {
    pub order_id: String,
    pub user_id: String,
    pub symbol: String,
    /// The contingent order's own id.
    pub parent_order_id: String,
    /// Always `CANCELLED`.
    pub status: String,
    pub timestamp: String,
}

/// `order.done` on `order_updates`: the order's life ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderDone {
    pub order_id: String,
    pub user_id: String,
    pub symbol: String,
    pub side: String,
    /// `FILLED`, `CANCELLED` or `EXPIRED`.
    pub status: String,
    /// `filled`, `cancelled`, `expired`, `no_more_liquidity`, `fill_or_kill_unfillable` or
    /// `self_trade_prevented`.
    pub reason: String,
    pub filled_quantity: String,
    pub timestamp: String,
}

/// `trade.executed` and `trade.failed` on `trade_executed` (seed 000 4.3), and
/// `order.filled` on `order_updates`: one side of a fill, or a refused order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub order_id: String,
    pub user_id: String,
    pub symbol: String,
    pub quantity: String,
    pub side: String,
    /// `EXECUTED`, `FAILED_INSUFFICIENT_FUNDS`, `FAILED_INSUFFICIENT_SHARES` or `FAILED_OTHER`.
    pub status: String,
    /// Null for a failure.
    pub execution_price: Option<String>,
    pub execution_timestamp: String,
    /// The refusal's code; null for a fill.
    pub failure_reason: Option<String>,
    /// Fills only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_id: Option<String>,
    /// Fills only: `MAKER` or `TAKER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidity: Option<String>,
    /// Fills only: the fee this side paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<String>,
}

/// `market.trade` on `book_updates`: a trade print.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarketTrade {
    pub symbol: String,
    pub trade_id: String,
    pub price: String,
    pub quantity: String,
    /// The side of the order that took liquidity.
    pub taker_side: String,
    /// The book's sequence after the trade.
    pub sequence: u64,
    pub timestamp: String,
}

/// One side's best level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Level {
    pub price: String,
    pub quantity: String,
    pub orders: u32,
}

/// `market.best_bid_offer` on `book_updates`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BestBidOffer {
    pub symbol: String,
    pub sequence: u64,
    /// Null when the side is empty.
    pub bid: Option<Level>,
    pub ask: Option<Level>,
    pub timestamp: String,
}

/// `instrument.listed`, `instrument.halted`, `instrument.resumed`, and the session's
/// `instrument.opened` and `instrument.closed`, on `book_updates`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InstrumentChanged {
    pub symbol: String,
    pub timestamp: String,
}

/// `account.created` on `account_updates`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountCreated {
    pub user_id: String,
    /// The house account (market maker) rather than a user's.
    pub house: bool,
    pub timestamp: String,
}

/// `account.deposited` and `account.withdrawn` on `account_updates`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Transfer {
    pub user_id: String,
    pub transaction_id: String,
    /// `DEPOSIT` or `WITHDRAWAL`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `CASH`, or the symbol of the shares moved.
    pub asset: String,
    pub amount: String,
    pub timestamp: String,
}

/// `account.transfer_repeated` on `account_updates`: a transfer id seen before, ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferRepeated {
    pub user_id: String,
    pub transaction_id: String,
    pub timestamp: String,
}

/// `account.limits_set` on `account_updates`: exactly one of the three ids is present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitsSet {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<String>,
    pub timestamp: String,
}

/// `account.membership_set` on `account_updates`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipSet {
    pub user_id: String,
    pub group_id: Option<String>,
    pub organisation_id: Option<String>,
    pub timestamp: String,
}

/// `command.rejected` on `order_updates` (commands about an order) or `account_updates`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandRejected {
    pub user_id: Option<String>,
    pub order_id: Option<String>,
    /// Always `REJECTED`.
    pub status: String,
    pub reason: String,
    pub timestamp: String,
}

/// `command.invalid` on `account_updates`: a `trade_orders` record that is not a command
/// the engine can read (a foreign writer, or a bug), skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommandInvalid {
    pub offset: u64,
    pub reason: String,
}

/// `engine.progress` on `engine_progress`: every output of the commands before
/// `nextCommand` is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EngineProgress {
    pub next_command: u64,
}

/// `limit.breached` on `limit_breaches`: an order a trading limit refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitBreached {
    pub user_id: String,
    pub order_id: String,
    pub symbol: String,
    pub side: String,
    pub quantity: String,
    /// The limit's code, e.g. `limit_max_daily_loss`.
    pub limit: String,
    pub timestamp: String,
}

/// `market_data.tick` on `market_data`: a reference price from the feed (seed 000 4.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarketDataTick {
    pub symbol: String,
    pub price: String,
    pub feed_timestamp: String,
}

/// A payload as the JSON value a record carries.
pub fn to_payload<T: Serialize>(payload: &T) -> Value {
    serde_json::to_value(payload).unwrap_or_else(|error| unreachable!("invariant: event payloads serialize: {error}"))
}

/// One topic of the contract: its schema version and the payload schema of each event type.
#[derive(Debug)]
pub struct TopicContract {
    pub topic: &'static str,
    /// The envelope's `schemaVersion` for this topic's records.
    pub schema_version: &'static str,
    pub description: &'static str,
    pub events: Vec<(&'static str, schemars::Schema)>,
}

/// The schema version every output topic carries now ([`TopicContract::schema_version`]).
pub const SCHEMA_VERSION: &str = "1.0";

/// The schema version of `trade_orders` commands. 1.1 added time-in-force values an
/// older engine cannot read (`OPG`, `CLS`), the session commands and contingent orders'
/// fields; 1.2 the one-step account reset (`resetAccount`); 1.3 the one-step re-quote of a
/// market maker's ladder (`requote`) and accounts opened with their cash (`createAccount`'s
/// `cash`, which an older engine would ignore). A command of an older version is a command of a
/// newer one.
pub const TRADE_ORDERS_SCHEMA_VERSION: &str = "1.3";

/// Every topic the engine service and the market feed write, with the payload of each
/// event type. The commands on `trade_orders` are the sequencer's `WireCommand`, whose
/// schema the sequencer adds.
pub fn output_topics() -> Vec<TopicContract> {
    use schemars::schema_for;
    vec![
        TopicContract {
            topic: ORDER_UPDATES,
            schema_version: SCHEMA_VERSION,
            description: "Every step of an order's life, keyed by account id.",
            events: vec![
                ("order.accepted", schema_for!(OrderAccepted)),
                ("order.rejected", schema_for!(OrderRejected)),
                ("order.triggered", schema_for!(OrderTriggered)),
                ("order.released", schema_for!(OrderReleased)),
                ("order.filled", schema_for!(Execution)),
                ("order.replaced", schema_for!(OrderReplaced)),
                ("order.done", schema_for!(OrderDone)),
                ("order.contingent", schema_for!(OrderContingent)),
                ("order.resized", schema_for!(OrderResized)),
                ("order.leg_cancelled", schema_for!(LegCancelled)),
                ("command.rejected", schema_for!(CommandRejected)),
            ],
        },
        TopicContract {
            topic: TRADE_EXECUTED,
            schema_version: SCHEMA_VERSION,
            description: "Seed 000 4.3: one record per fill side or refused order, keyed by account id.",
            events: vec![("trade.executed", schema_for!(Execution)), ("trade.failed", schema_for!(Execution))],
        },
        TopicContract {
            topic: BOOK_UPDATES,
            schema_version: SCHEMA_VERSION,
            description: "Top of book, trade prints and instrument changes, keyed by symbol.",
            events: vec![
                ("market.trade", schema_for!(MarketTrade)),
                ("market.best_bid_offer", schema_for!(BestBidOffer)),
                ("instrument.listed", schema_for!(InstrumentChanged)),
                ("instrument.halted", schema_for!(InstrumentChanged)),
                ("instrument.opened", schema_for!(InstrumentChanged)),
                ("instrument.closed", schema_for!(InstrumentChanged)),
                ("instrument.resumed", schema_for!(InstrumentChanged)),
            ],
        },
        TopicContract {
            topic: ACCOUNT_UPDATES,
            schema_version: SCHEMA_VERSION,
            description: "Accounts, transfers, limits and memberships, keyed by account id (or group:/organisation:).",
            events: vec![
                ("account.created", schema_for!(AccountCreated)),
                ("account.deposited", schema_for!(Transfer)),
                ("account.withdrawn", schema_for!(Transfer)),
                ("account.transfer_repeated", schema_for!(TransferRepeated)),
                ("account.limits_set", schema_for!(LimitsSet)),
                ("account.membership_set", schema_for!(MembershipSet)),
                ("command.rejected", schema_for!(CommandRejected)),
                ("command.invalid", schema_for!(CommandInvalid)),
            ],
        },
        TopicContract {
            topic: LIMIT_BREACHES,
            schema_version: SCHEMA_VERSION,
            description: "Orders refused by a trading limit, keyed by account id.",
            events: vec![("limit.breached", schema_for!(LimitBreached))],
        },
        TopicContract {
            topic: MARKET_DATA,
            schema_version: SCHEMA_VERSION,
            description: "Seed 000 4.1: reference prices from the feed, keyed by symbol.",
            events: vec![("market_data.tick", schema_for!(MarketDataTick))],
        },
    ]
}

/// The JSON Schema (2020-12) of one topic's records: the seed 000 envelope, with the
/// payload's schema chosen by `eventType`.
pub fn topic_schema(contract: &TopicContract) -> Value {
    let mut definitions = serde_json::Map::new();
    let mut choices = Vec::new();
    for (event_type, schema) in &contract.events {
        let mut payload = schema.clone().to_value();
        // Nested definitions (such as a book level) move up to the topic's `$defs`.
        if let Some(object) = payload.as_object_mut() {
            if let Some(Value::Object(nested)) = object.remove("$defs") {
                definitions.extend(nested);
            }
            object.remove("$schema");
        }
        let name = payload.get("title").and_then(Value::as_str).unwrap_or(event_type).to_owned();
        definitions.insert(name.clone(), payload);
        choices.push(json!({
            "properties": {"eventType": {"const": event_type}, "payload": {"$ref": format!("#/$defs/{name}")}},
        }));
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": contract.topic,
        "description": contract.description,
        "x-schemaVersion": contract.schema_version,
        "type": "object",
        "required": ["eventId", "eventType", "eventTimestamp", "sourceService", "schemaVersion", "payload"],
        "properties": {
            "eventId": {"type": "string"},
            "eventType": {"type": "string"},
            "eventTimestamp": {"type": "string"},
            "sourceService": {"type": "string"},
            "schemaVersion": {"const": contract.schema_version},
            "payload": {"type": "object"},
            "traceContext": {"type": "object"},
            "idempotencyKey": {
                "type": "string",
                "description": "On a command sent for an API request holding an idempotency key (not an order, whose payload carries its key): the caller-scoped key, which the engine remembers once the command takes effect.",
            },
        },
        "oneOf": choices,
        "$defs": definitions,
    })
}
