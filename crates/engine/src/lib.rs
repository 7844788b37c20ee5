//! TradeCraft's exchange core: a deterministic, single-writer state machine that owns every
//! balance, order book and ledger posting.
//!
//! [`Engine::apply`] takes a [`Command`] and its timestamp and appends [`Event`]s. It does no
//! I/O, never reads a clock or a random source, and iterates only ordered structures where
//! order can reach its output, so the same commands always give the same events and the
//! same [`Engine::state_hash`]. Risk (reservations, limits) is checked atomically with
//! acceptance; every movement of cash or shares is a balanced ledger posting.

mod activity;
mod book;
mod command;
mod contingent;
mod engine;
mod event;
mod invariants;
mod ledger;
mod limits;
mod order_map;
mod snapshot;

pub use command::{
    AccountKind, Amount, Command, ContingentOrder, ExitLeg, IDEMPOTENCY_WINDOW_NANOS, IdempotencyKey, InstrumentSpec, NewOrder, OrderClass, OrderKind,
    OrderSize, QuoteOrder, RESET_TRANSFERS_MAX, SelfTradePrevention, TimeInForce, Trail,
};
pub use engine::{AccountView, Depth, Engine, EngineConfig, KeyUse, OrderView};
pub use event::{AcceptedOrder, BookLevel, DoneReason, Event, FailureStatus, RejectReason, Trade};
pub use invariants::InvariantViolation;
pub use ledger::{Balance, Bucket};
pub use limits::{AccountLimits, LimitKind, LimitScope, OrderTypes, TradingHours};
pub use snapshot::SnapshotError;

use tradecraft_types::{AccountId, Symbol};

/// What a posting moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Asset {
    Cash,
    Shares(Symbol),
}

/// One side of a posting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PostingPlace {
    Account(AccountId, Bucket),
    /// Outside the books: the source of deposits and the sink of withdrawals.
    External,
}

/// A balanced ledger movement: `amount` leaves `from` and arrives at `to`. Amounts are raw
/// money units for cash and raw quantity units for shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Posting {
    pub asset: Asset,
    pub from: PostingPlace,
    pub to: PostingPlace,
    pub amount: i64,
}

impl Posting {
    fn from_internal(posting: ledger::Posting, engine: &Engine) -> Self {
        let place = |place: ledger::Place| match place {
            ledger::Place::Account(index, bucket) => PostingPlace::Account(engine.account_id(index), bucket),
            ledger::Place::External => PostingPlace::External,
        };
        Self {
            asset: match posting.asset {
                ledger::AssetIndex::Cash => Asset::Cash,
                ledger::AssetIndex::Shares(instrument) => Asset::Shares(engine.symbol_of(instrument)),
            },
            from: place(posting.from),
            to: place(posting.to),
            amount: posting.amount,
        }
    }
}
