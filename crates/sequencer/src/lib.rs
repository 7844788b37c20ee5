//! The engine service: the single sequencer that consumes `trade_orders` from the event
//! log in order, applies each command to the engine, and publishes what happened.

pub mod wire;
