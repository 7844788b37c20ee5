//! Idempotency keys of requests other than orders ([`Command::Keyed`]): remembered when the
//! command takes effect, not when it is refused; one namespace with orders' keys; kept by
//! snapshots; forgotten after the window.

use tradecraft_engine::{Command, Engine, EngineConfig, Event, IDEMPOTENCY_WINDOW_NANOS, KeyUse};

use crate::script::parse;

fn apply(engine: &mut Engine, line: &str, key: Option<u128>, at: u64) -> Vec<Event> {
    let command = parse(line);
    let command = match key {
        Some(key) => Command::Keyed { key, command: Box::new(command) },
        None => command,
    };
    let mut events = Vec::new();
    engine.apply(&command, at, &mut events);
    events
}

#[test]
fn a_request_key_is_spent_by_a_command_that_takes_effect() {
    let mut engine = Engine::new(EngineConfig::default());
    apply(&mut engine, "list MOCK", None, 1);
    // Refused (no such account): nothing is remembered.
    let refused = apply(&mut engine, "deposit 9 tx=1 cash 100", Some(41), 2);
    assert!(matches!(refused[..], [Event::CommandRejected { .. }]), "{refused:?}");
    assert_eq!(engine.key_use(41), KeyUse::None);
    // Two commands of one request: the first that takes effect spends the key, the
    // second leaves it as it is.
    apply(&mut engine, "account 9", Some(41), 3);
    assert_eq!(engine.key_use(41), KeyUse::Request);
    let deposited = apply(&mut engine, "deposit 9 tx=1 cash 100", Some(41), 4);
    assert!(matches!(deposited[..], [Event::Deposited { .. }]), "{deposited:?}");
    assert_eq!(engine.key_use(41), KeyUse::Request);
    // One namespace: an order with the key is refused as a reused key, and the record stays
    // the request's.
    let order = apply(&mut engine, "buy 9 #20 MOCK 1 limit 1 key=41/7", None, 5);
    assert!(order.iter().any(|event| matches!(event, Event::CommandRejected { reason, .. } if reason.code() == "idempotency_key_reused")), "{order:?}");
    assert_eq!(engine.key_use(41), KeyUse::Request);
    // An order's key stays the order's when a request's command comes with it.
    apply(&mut engine, "buy 9 #21 MOCK 1 limit 1 key=42/7", None, 6);
    apply(&mut engine, "halt MOCK", Some(42), 7);
    assert_eq!(engine.key_use(42), KeyUse::Order);
    // A snapshot keeps the request's key; the window forgets it.
    let mut restored = Engine::restore(&engine.snapshot(), false).unwrap();
    assert_eq!(restored.key_use(41), KeyUse::Request);
    assert_eq!(restored.state_hash(), engine.state_hash());
    apply(&mut restored, "resume MOCK", None, 3 + IDEMPOTENCY_WINDOW_NANOS);
    assert_eq!(restored.key_use(41), KeyUse::None);
}
