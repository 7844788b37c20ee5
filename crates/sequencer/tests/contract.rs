//! Contract tests (seed 004 section 9) for the topics' payloads: the checked-in JSON Schemas
//! are what the structs generate; no change breaks a consumer without a new schema version;
//! the compatibility check itself catches each kind of breaking change; and every record
//! the engine writes is exactly its event's struct, with its topic's schema version.
//!
//! After an intended change: `UPDATE_SCHEMAS=1 cargo test -p tradecraft-sequencer --test
//! contract` rewrites `crates/events/schemas/*.schema.json` (review the diff). A breaking
//! change also needs the topic's schema version raised, which writes a new baseline.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tradecraft_events as events;
use tradecraft_events::topic_schema;
use tradecraft_log::{Envelope, EventLog, MemoryLog};
use tradecraft_sequencer::contract::{breaking_changes, topics};
use tradecraft_sequencer::outputs::OUTPUT_TOPICS;
use tradecraft_sequencer::wire::{PlaceOrder, WireCommand, WireExitLeg, WireLimits, WireOrderClass, WireOrderType, WireSide, WireTimeInForce};
use tradecraft_sequencer::{Sequencer, SequencerConfig, SnapshotStore, create_topics, submit};
use tradecraft_types::Timestamp;

fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/schemas")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_SCHEMAS").is_some()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap() + "\n"
}

#[test]
fn checked_in_schemas_are_what_the_structs_generate() {
    for topic in topics() {
        let generated = pretty(&topic_schema(&topic));
        let path = schemas_dir().join(format!("{}.schema.json", topic.topic));
        if updating() {
            std::fs::write(&path, &generated).unwrap();
            continue;
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored == generated,
            "{} is not what the structs generate; run UPDATE_SCHEMAS=1 cargo test -p tradecraft-sequencer --test contract and review the diff",
            path.display()
        );
    }
}

#[test]
fn no_change_breaks_a_consumer_without_a_new_schema_version() {
    for topic in topics() {
        let current = topic_schema(&topic);
        let path = schemas_dir().join("baseline").join(format!("{}-{}.schema.json", topic.topic, topic.schema_version));
        if updating() && !path.exists() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, pretty(&current)).unwrap();
        }
        let baseline: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!("{}: no baseline for schema version {}; a new version needs UPDATE_SCHEMAS=1 to freeze it", topic.topic, topic.schema_version)
        }))
        .unwrap();
        let problems = breaking_changes(&baseline, &current);
        assert!(problems.is_empty(), "{} breaks its consumers without raising schema version {}: {problems:?}", topic.topic, topic.schema_version);
    }
}

fn order_updates() -> Value {
    topics().iter().find(|topic| topic.topic == events::ORDER_UPDATES).map(topic_schema).unwrap()
}

/// Applies `change` to the definition `name` of a copy of `schema`.
fn changed(schema: &Value, name: &str, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut copy = schema.clone();
    change(copy["$defs"][name].as_object_mut().unwrap());
    copy
}

#[test]
fn the_compatibility_check_catches_each_breaking_change() {
    let baseline = order_updates();
    assert_eq!(breaking_changes(&baseline, &baseline), Vec::<String>::new());

    let removed = changed(&baseline, "OrderAccepted", |definition| {
        definition["properties"].as_object_mut().unwrap().remove("orderId");
        definition["required"].as_array_mut().unwrap().retain(|field| field != "orderId");
    });
    assert!(!breaking_changes(&baseline, &removed).is_empty(), "a required field removed");

    let retyped = changed(&baseline, "OrderDone", |definition| definition["properties"]["filledQuantity"] = json!({"type": "number"}));
    assert!(!breaking_changes(&baseline, &retyped).is_empty(), "a type changed");

    let newly_required = changed(&baseline, "OrderDone", |definition| {
        definition["properties"]["venue"] = json!({"type": "string"});
        definition["required"].as_array_mut().unwrap().push(json!("venue"));
    });
    assert!(!breaking_changes(&baseline, &newly_required).is_empty(), "a required field added (older records lack it)");

    let mut dropped_event = baseline.clone();
    dropped_event["oneOf"].as_array_mut().unwrap().retain(|choice| choice.pointer("/properties/eventType/const") != Some(&json!("order.triggered")));
    assert!(!breaking_changes(&baseline, &dropped_event).is_empty(), "an event type removed");

    let optional = changed(&baseline, "OrderDone", |definition| definition["properties"]["venue"] = json!({"type": ["string", "null"]}));
    assert_eq!(breaking_changes(&baseline, &optional), Vec::<String>::new(), "an optional field added keeps the version");

    let documented = changed(&baseline, "OrderDone", |definition| definition["properties"]["reason"]["description"] = json!("Why it ended."));
    assert_eq!(breaking_changes(&baseline, &documented), Vec::<String>::new(), "documentation is not the contract");
}

/// The payload of `value` as `T` and back must be `value` itself: the struct describes
/// every field the producer wrote, with its type.
fn round_trips<T: DeserializeOwned + Serialize>(event_type: &str, value: &Value) {
    let parsed: T = serde_json::from_value(value.clone()).unwrap_or_else(|error| panic!("{event_type}: {error} in {value}"));
    assert_eq!(&serde_json::to_value(&parsed).unwrap(), value, "{event_type}: the struct does not describe the payload exactly");
}

fn check_payload(event_type: &str, payload: &Value) {
    match event_type {
        "order.accepted" => round_trips::<events::OrderAccepted>(event_type, payload),
        "order.rejected" => round_trips::<events::OrderRejected>(event_type, payload),
        "order.triggered" => round_trips::<events::OrderTriggered>(event_type, payload),
        "order.released" => round_trips::<events::OrderReleased>(event_type, payload),
        "order.filled" | "trade.executed" | "trade.failed" => round_trips::<events::Execution>(event_type, payload),
        "order.replaced" => round_trips::<events::OrderReplaced>(event_type, payload),
        "order.done" => round_trips::<events::OrderDone>(event_type, payload),
        "order.contingent" => round_trips::<events::OrderContingent>(event_type, payload),
        "order.resized" => round_trips::<events::OrderResized>(event_type, payload),
        "order.leg_cancelled" => round_trips::<events::LegCancelled>(event_type, payload),
        "command.rejected" => round_trips::<events::CommandRejected>(event_type, payload),
        "command.invalid" => round_trips::<events::CommandInvalid>(event_type, payload),
        "market.trade" => round_trips::<events::MarketTrade>(event_type, payload),
        "market.best_bid_offer" => round_trips::<events::BestBidOffer>(event_type, payload),
        "instrument.listed" | "instrument.halted" | "instrument.resumed" | "instrument.opened" | "instrument.closed" => {
            round_trips::<events::InstrumentChanged>(event_type, payload)
        }
        "account.created" => round_trips::<events::AccountCreated>(event_type, payload),
        "account.deposited" | "account.withdrawn" => round_trips::<events::Transfer>(event_type, payload),
        "account.transfer_repeated" => round_trips::<events::TransferRepeated>(event_type, payload),
        "account.limits_set" => round_trips::<events::LimitsSet>(event_type, payload),
        "account.membership_set" => round_trips::<events::MembershipSet>(event_type, payload),
        "limit.breached" => round_trips::<events::LimitBreached>(event_type, payload),
        other => panic!("{other} is written but not in the contract"),
    }
}

fn order(order_id: u64, user: u64, side: WireSide, quantity: &str, order_type: WireOrderType, limit: Option<&str>, stop: Option<&str>) -> WireCommand {
    let base = PlaceOrder::limit(&user.to_string(), "MOCK", side, quantity, limit.unwrap_or_default(), "2026-01-02T09:30:00.000Z");
    WireCommand::PlaceOrder(PlaceOrder {
        order_id: Some(order_id.to_string()),
        order_type,
        limit_price: limit.map(str::to_owned),
        stop_price: stop.map(str::to_owned),
        client_order_id: Some(format!("c-{order_id}")),
        ..base
    })
}

/// A trailing stop sell of one share `order_id` by `user`, trailing by `amount`.
fn order_with_trail(order_id: u64, user: u64, amount: &str) -> WireCommand {
    let WireCommand::PlaceOrder(order) = order(order_id, user, WireSide::Sell, "1", WireOrderType::TrailingStop, None, None) else { unreachable!("an order") };
    WireCommand::PlaceOrder(PlaceOrder { trail_amount: Some(amount.to_owned()), ..order })
}

/// `order` with exits.
fn with_exits(order: WireCommand, class: WireOrderClass, take_profit: Option<&str>, stop_loss: Option<&str>) -> WireCommand {
    let WireCommand::PlaceOrder(order) = order else { unreachable!("an order") };
    WireCommand::PlaceOrder(PlaceOrder {
        order_class: Some(class),
        take_profit: take_profit.map(|price| WireExitLeg { limit_price: Some(price.to_owned()), stop_price: None }),
        stop_loss: stop_loss.map(|price| WireExitLeg { limit_price: None, stop_price: Some(price.to_owned()) }),
        ..order
    })
}

/// Commands that make the engine write every kind of event.
fn every_kind_of_event() -> Vec<WireCommand> {
    let mut commands = vec![WireCommand::ListInstrument {
        symbol: "MOCK".to_owned(),
        tick_size: "0.01".to_owned(),
        lot_size: "1".to_owned(),
        min_quantity: "1".to_owned(),
        price_band_bps: 500,
    }];
    for user in 1..=3_u64 {
        commands.push(WireCommand::CreateAccount { user_id: Some(user.to_string()), house: false, cash: None });
        commands.push(WireCommand::Deposit { user_id: user.to_string(), transaction_id: (user * 10).to_string(), amount: "100000".to_owned(), symbol: None });
        commands.push(WireCommand::Deposit {
            user_id: user.to_string(),
            transaction_id: (user * 10 + 1).to_string(),
            amount: "50".to_owned(),
            symbol: Some("MOCK".to_owned()),
        });
    }
    commands.extend([
        WireCommand::Deposit { user_id: "1".to_owned(), transaction_id: "10".to_owned(), amount: "100000".to_owned(), symbol: None },
        WireCommand::Withdraw { user_id: "1".to_owned(), transaction_id: "12".to_owned(), amount: "5".to_owned(), symbol: None },
        order(1, 1, WireSide::Sell, "5", WireOrderType::Limit, Some("100.5"), None),
        order(2, 2, WireSide::Buy, "2", WireOrderType::Limit, Some("101"), None),
        order(3, 3, WireSide::Buy, "1000000", WireOrderType::Limit, Some("100"), None),
        order(4, 2, WireSide::Buy, "1", WireOrderType::Stop, None, Some("100.5")),
        order(5, 3, WireSide::Buy, "1", WireOrderType::Limit, Some("99"), None),
        WireCommand::ReplaceOrder {
            order_id: "5".to_owned(),
            user_id: "3".to_owned(),
            quantity: None,
            limit_price: Some("99.5".to_owned()),
            stop_price: None,
            trail_amount: None,
            trail_percent: None,
            // Renamed and made a day order as it moves.
            client_order_id: Some("renamed-5".to_owned()),
            time_in_force: Some(WireTimeInForce::Day),
        },
        // A waiting stop's trigger moved.
        order(9, 1, WireSide::Sell, "2", WireOrderType::Stop, None, Some("95")),
        WireCommand::ReplaceOrder {
            order_id: "9".to_owned(),
            user_id: "1".to_owned(),
            quantity: None,
            limit_price: None,
            stop_price: Some("96".to_owned()),
            trail_amount: None,
            trail_percent: None,
            client_order_id: None,
            time_in_force: None,
        },
        // A waiting trailing stop's trail changed.
        order_with_trail(10, 1, "2"),
        WireCommand::ReplaceOrder {
            order_id: "10".to_owned(),
            user_id: "1".to_owned(),
            quantity: None,
            limit_price: None,
            stop_price: None,
            trail_amount: None,
            trail_percent: Some("5".to_owned()),
            client_order_id: None,
            time_in_force: None,
        },
        WireCommand::CancelOrder { order_id: "5".to_owned(), user_id: "3".to_owned() },
        WireCommand::CancelOrder { order_id: "5".to_owned(), user_id: "3".to_owned() },
        order(6, 3, WireSide::Sell, "1", WireOrderType::Limit, Some("100.6"), None),
        order(7, 2, WireSide::Buy, "1", WireOrderType::Limit, Some("100.6"), None),
        // A bracket filled in two steps (its exits placed, then grown), and an OTO whose
        // entry is cancelled before it fills (its held exit cancelled).
        with_exits(order(21, 2, WireSide::Buy, "5", WireOrderType::Limit, Some("99.9"), None), WireOrderClass::Bracket, Some("110"), Some("90")),
        order(22, 3, WireSide::Sell, "2", WireOrderType::Limit, Some("99.9"), None),
        order(24, 3, WireSide::Sell, "3", WireOrderType::Limit, Some("99.9"), None),
        with_exits(order(23, 2, WireSide::Buy, "1", WireOrderType::Limit, Some("80"), None), WireOrderClass::Oto, None, Some("70")),
        WireCommand::CancelOrder { order_id: "23".to_owned(), user_id: "2".to_owned() },
        WireCommand::SetLimits {
            user_id: Some("3".to_owned()),
            group_id: None,
            organisation_id: None,
            limits: WireLimits { max_order_quantity: Some("1".to_owned()), ..WireLimits::default() },
        },
        order(8, 3, WireSide::Buy, "2", WireOrderType::Limit, Some("99"), None),
        WireCommand::SetLimits { user_id: None, group_id: Some("7".to_owned()), organisation_id: None, limits: WireLimits::default() },
        WireCommand::SetMembership { user_id: "2".to_owned(), group_id: Some("7".to_owned()), organisation_id: None },
        WireCommand::HaltInstrument { symbol: "MOCK".to_owned() },
        WireCommand::ResumeInstrument { symbol: "MOCK".to_owned() },
        WireCommand::EndOfSession { symbol: None },
        WireCommand::CloseSession { symbol: Some("MOCK".to_owned()) },
        // Taken while closed: it enters the market at the open.
        order(30, 2, WireSide::Buy, "1", WireOrderType::Limit, Some("95"), None),
        WireCommand::OpenSession { symbol: None },
    ]);
    commands
}

#[test]
fn every_record_the_engine_writes_is_its_events_struct_exactly() {
    let log: Arc<dyn EventLog> = Arc::new(MemoryLog::new());
    create_topics(log.as_ref(), 4).unwrap();
    let commands = every_kind_of_event();
    for (sequence, command) in commands.iter().enumerate() {
        submit(log.as_ref(), command, "gateway", sequence as u64, Timestamp::from_millis(1_767_346_200_000 + sequence as i64)).unwrap();
    }
    // A record that is no command at all.
    log.append("trade_orders", vec![tradecraft_log::Record { key: None, value: b"{not json".to_vec(), timestamp_ms: 1_767_346_300_000 }]).unwrap();
    let dir = std::env::temp_dir().join(format!("tradecraft-contract-{}", std::process::id()));
    let mut sequencer = Sequencer::open(SequencerConfig::default(), Arc::clone(&log), SnapshotStore::open(&dir).unwrap()).unwrap();
    sequencer.catch_up().unwrap();
    let contracts = topics();
    let mut seen = std::collections::BTreeSet::new();
    for topic in OUTPUT_TOPICS {
        let contract = contracts.iter().find(|contract| contract.topic == topic).unwrap();
        for partition in 0..log.partitions(topic).unwrap() {
            for record in log.read(topic, partition, 0, usize::MAX).unwrap() {
                let envelope: Envelope<Value> = Envelope::from_json(&record.value).unwrap();
                assert_eq!(envelope.schema_version, contract.schema_version, "{topic}");
                assert!(
                    contract.events.iter().any(|(event_type, _)| *event_type == envelope.event_type),
                    "{topic}: {} not in the contract",
                    envelope.event_type
                );
                check_payload(&envelope.event_type, &envelope.payload);
                // An order's status is in the one vocabulary every surface shares (a fill
                // record carries its execution's status, seed 000 4.3).
                if topic == tradecraft_events::ORDER_UPDATES && envelope.event_type != "order.filled" {
                    let status = envelope.payload["status"].as_str().unwrap();
                    assert!(
                        ["ACCEPTED", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "EXPIRED", "REJECTED"].contains(&status),
                        "{}: {status}",
                        envelope.event_type
                    );
                }
                seen.insert(envelope.event_type.clone());
            }
        }
    }
    // Within one order, its records come in causal order: accepted, fills, then done.
    for partition in 0..log.partitions(tradecraft_events::ORDER_UPDATES).unwrap() {
        let mut stage: std::collections::BTreeMap<String, u8> = std::collections::BTreeMap::new();
        for record in log.read(tradecraft_events::ORDER_UPDATES, partition, 0, usize::MAX).unwrap() {
            let envelope: Envelope<Value> = Envelope::from_json(&record.value).unwrap();
            // A refused later command about the order (a second cancel) is no step of its life.
            let Some(order_id) = envelope.payload["orderId"].as_str().filter(|_| envelope.event_type != "command.rejected") else { continue };
            let step = match envelope.event_type.as_str() {
                "order.accepted" => 0,
                "order.done" => 2,
                _ => 1,
            };
            let previous = stage.insert(order_id.to_owned(), step);
            assert!(previous.is_none_or(|previous| previous <= step && previous < 2), "order {order_id}: {} after stage {previous:?}", envelope.event_type);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    // Every event type of the output topics was written at least once.
    for contract in contracts.iter().filter(|contract| OUTPUT_TOPICS.contains(&contract.topic)) {
        for (event_type, _) in &contract.events {
            assert!(seen.contains(*event_type), "{event_type} was never written; the scenario should produce it");
        }
    }
    // And the commands on trade_orders are WireCommand exactly.
    for record in log.read(tradecraft_sequencer::TRADE_ORDERS, 0, 0, usize::MAX).unwrap() {
        // The deliberately broken record is no command.
        let Ok(envelope) = Envelope::<Value>::from_json(&record.value) else { continue };
        assert!(WireCommand::EVENT_TYPES.contains(&envelope.event_type.as_str()));
        round_trips::<WireCommand>(&envelope.event_type, &envelope.payload);
    }
}
