//! The whole event contract: the engine's output topics and the market feed
//! (`tradecraft_events`), plus the commands of `trade_orders` ([`WireCommand`]), with the
//! checks that tell a compatible change from a breaking one (seed 000 7.3).

use serde_json::Value;
use tradecraft_events::{TRADE_ORDERS, TRADE_ORDERS_SCHEMA_VERSION, TopicContract, output_topics};

use crate::wire::WireCommand;

/// Every topic's contract, `trade_orders` first.
pub fn topics() -> Vec<TopicContract> {
    let command = schemars::schema_for!(WireCommand);
    let commands = TopicContract {
        topic: TRADE_ORDERS,
        schema_version: TRADE_ORDERS_SCHEMA_VERSION,
        description: "Seed 000 4.2: commands to the engine, one partition (the engine's total order), keyed by account id or symbol.",
        events: WireCommand::EVENT_TYPES.iter().map(|event_type| (*event_type, command.clone())).collect(),
    };
    let mut all = vec![commands];
    all.extend(output_topics());
    all
}

/// Why `current` would break a consumer written against `baseline` (both topic schemas
/// of the same schema version); empty when it would not. Consumers ignore unknown
/// fields, so the one change allowed without a new version is an optional field added.
pub fn breaking_changes(baseline: &Value, current: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let empty = serde_json::Map::new();
    let definitions = |schema: &Value| schema.get("$defs").and_then(Value::as_object).cloned().unwrap_or_default();
    let (old_definitions, new_definitions) = (definitions(baseline), definitions(current));
    for (name, old) in &old_definitions {
        let Some(new) = new_definitions.get(name) else {
            problems.push(format!("{name}: removed"));
            continue;
        };
        let required = |schema: &Value| -> Vec<String> {
            let mut names: Vec<String> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|names| names.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            names.sort();
            names
        };
        let (old_required, new_required) = (required(old), required(new));
        for field in old_required.iter().filter(|field| !new_required.contains(field)) {
            problems.push(format!("{name}.{field}: no longer required"));
        }
        for field in new_required.iter().filter(|field| !old_required.contains(field)) {
            problems.push(format!("{name}.{field}: newly required"));
        }
        let old_properties = old.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let new_properties = new.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        for (field, old_schema) in old_properties {
            match new_properties.get(field) {
                None => problems.push(format!("{name}.{field}: removed")),
                Some(new_schema) if shape(new_schema) != shape(old_schema) => {
                    problems.push(format!("{name}.{field}: type changed from {} to {}", shape(old_schema), shape(new_schema)));
                }
                Some(_) => {}
            }
        }
        if old.get("enum") != new.get("enum") && old.get("enum").is_some() {
            problems.push(format!("{name}: values changed"));
        }
    }
    let event_types = |schema: &Value| -> Vec<String> {
        schema
            .get("oneOf")
            .and_then(Value::as_array)
            .map(|choices| {
                choices.iter().filter_map(|choice| choice.pointer("/properties/eventType/const").and_then(Value::as_str).map(str::to_owned)).collect()
            })
            .unwrap_or_default()
    };
    let current_types = event_types(current);
    for event_type in event_types(baseline).iter().filter(|event_type| !current_types.contains(event_type)) {
        problems.push(format!("event type {event_type}: removed"));
    }
    problems
}

/// A field's schema without its documentation: what a consumer relies on.
fn shape(schema: &Value) -> Value {
    match schema {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "description" | "title" | "examples" | "default"))
                .map(|(key, value)| (key.clone(), shape(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        other => other.clone(),
    }
}
