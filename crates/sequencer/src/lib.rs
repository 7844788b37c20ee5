//! The engine service: the single sequencer that consumes `trade_orders` from the event
//! log in order, applies each command to the engine, and publishes what happened to
//! `trade_executed`, `order_updates`, `book_updates` and `account_updates`, exactly once
//! across crashes (see [`sequencer`]).

pub mod contract;
pub mod outputs;
pub mod runtime;
pub mod sequencer;
pub mod snapshots;
pub mod wire;

pub use runtime::{EngineHandle, Request, RuntimeError, RuntimeStatus};
pub use sequencer::{
    CommandOutcome, ENGINE_PROGRESS, Progress, Publish, Sender, Sequencer, SequencerConfig, SequencerError, TRADE_ORDERS, create_topics, published_progress,
    submit, submit_batch, submit_then,
};
pub use snapshots::{SequencerSnapshot, SnapshotBackend, SnapshotStore, SnapshotStoreError};
