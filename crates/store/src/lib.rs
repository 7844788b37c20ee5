//! Read models over the event log, in SQL: SQLite by default (a file in the data dir),
//! PostgreSQL when a database URL says so. Same schema, same queries, same tests.
//!
//! - [`Projector`] consumes `account_updates`, `order_updates` and `trade_executed`,
//!   merged back into engine order, and writes accounts, orders, trades, FIFO positions,
//!   the cash statement and portfolio snapshots. The log offsets it applied are stored in
//!   the same transaction as the rows, so it resumes exactly where it stopped.
//! - [`Store`] answers the queries: trade search, positions, performance, statements,
//!   volume analytics and the leaderboard.

mod accounts;
mod alerts;
mod channels;
mod contests;
mod db;
mod idempotency;
mod identity;
mod migrations;
mod notifications;
mod organisations;
mod pages;
mod performance;
mod postgres;
mod projector;
mod queries;
mod social;
mod sqlite;
mod watchlists;

pub use accounts::*;
pub use alerts::*;
pub use channels::*;
pub use contests::*;
pub use db::{Backend, Dialect, Param, Row, Statement, Value, insert_rows};
pub use idempotency::{Claimed, KeyClaim, KeyTimes, marking};
pub use identity::*;
pub use notifications::{NotificationRecord, PriceAlertRecord, notification_statement};
pub use organisations::*;
pub use performance::{DailyReturn, Performance, Point, performance};
pub use postgres::{Postgres, create_database, drop_database, with_database};
pub use projector::{Progress, ProjectionLag, ProjectionMetrics, Projector, ProjectorConfig, ProjectorStatus, TOPICS, breach_severity, spawn_projector};
pub use queries::*;
pub use social::*;
pub use sqlite::Sqlite;
pub use watchlists::WatchlistRecord;

use std::path::Path;
use std::sync::Arc;

/// What went wrong in the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(String),
    #[error("unexpected data: {0}")]
    Decode(String),
    #[error("invalid query: {0}")]
    Invalid(String),
    /// A request parameter (its name as the API spells it) that the query cannot take.
    #[error("invalid {0}: {1}")]
    InvalidParameter(&'static str, String),
    /// A row with the same unique key exists.
    #[error("already exists: {0}")]
    Conflict(String),
    /// The user holds as many of these as they may.
    #[error("{0}")]
    Quota(String),
    /// The owner holds one with this key (a name, a URL) already; `code` says which.
    #[error("{message}")]
    Taken { code: &'static str, message: String },
    #[error("event log: {0}")]
    Log(#[from] tradecraft_log::LogError),
    #[error("unsupported database URL {0:?}: use sqlite:PATH or postgres://...")]
    Url(String),
}

/// The read store: a database with the schema applied.
#[derive(Clone, Debug)]
pub struct Store {
    db: Arc<dyn Backend>,
}

impl Store {
    /// Opens the store a URL names: `sqlite:PATH` (or a bare path) or `postgres://...`,
    /// and brings its schema up to date.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let db: Arc<dyn Backend> = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Arc::new(Postgres::connect(url)?)
        } else {
            let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
            if path.is_empty() {
                return Err(StoreError::Url(url.to_owned()));
            }
            Arc::new(Sqlite::open(Path::new(path))?)
        };
        Self::with_backend(db)
    }

    pub fn with_backend(db: Arc<dyn Backend>) -> Result<Self, StoreError> {
        migrations::migrate(db.as_ref())?;
        Ok(Self { db })
    }

    pub fn backend(&self) -> &dyn Backend {
        self.db.as_ref()
    }

    pub fn shared_backend(&self) -> Arc<dyn Backend> {
        Arc::clone(&self.db)
    }

    pub fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    /// Empties every read model and forgets the applied offsets, so the projector
    /// rebuilds from the start of the log.
    pub fn reset(&self) -> Result<(), StoreError> {
        let mut sql = String::new();
        for table in migrations::TABLES {
            sql.push_str(&format!("DELETE FROM {table};"));
        }
        if self.dialect() == Dialect::Sqlite {
            sql.push_str("INSERT INTO trades_fts(trades_fts) VALUES('delete-all');");
        }
        self.db.batch(&format!("BEGIN;{sql}COMMIT;"))
    }
}

/// Most webhooks a user keeps at once (each alert is POSTed to every one).
pub const WEBHOOKS_MAX: u64 = 20;
/// Most live API keys a user holds.
pub const API_KEYS_MAX: u64 = 50;
/// Most price alerts an account keeps waiting for their price.
pub const PRICE_ALERTS_MAX: u64 = 200;
/// Most watchlists a user keeps.
pub const WATCHLISTS_MAX: u64 = 100;
/// Most groups (classes) an organisation has.
pub const ORG_GROUPS_MAX: u64 = 200;
/// Most invitations of one organisation waiting for their answer at once.
pub const ORG_INVITATIONS_PENDING_MAX: u64 = 1_000;

/// What a user (or an organisation) may hold at most: rows of `table` whose `user_id`
/// (`org_id`) is the account (organisation), counted where `live` holds (an SQL
/// condition, or `TRUE`).
pub(crate) struct Quota {
    pub table: &'static str,
    pub live: std::borrow::Cow<'static, str>,
    pub max: u64,
    pub what: &'static str,
}

/// A key the rows of one owner (user or organisation) hold at most once, letter case
/// aside where it says so: `condition` on the quota's table, its parameters from `$2` on;
/// a second row is [`StoreError::Taken`] with `code` and `message`.
pub(crate) struct Once {
    pub condition: &'static str,
    pub params: Vec<Param>,
    pub code: &'static str,
    pub message: String,
}

impl Store {
    /// Runs `insert` unless `account` would then hold more than the quota allows
    /// ([`StoreError::Quota`]). The user `owner`'s row is locked first, so two processes
    /// writing for one user count one after the other.
    pub(crate) fn insert_within(&self, owner: u64, account: u64, insert: Statement, quota: &Quota) -> Result<(), StoreError> {
        self.write_within(owner, account, vec![insert], quota)
    }

    /// [`Store::insert_within`], and `account`'s rows hold `once`'s key once.
    pub(crate) fn insert_once(&self, owner: u64, account: u64, insert: Statement, quota: &Quota, once: Once) -> Result<(), StoreError> {
        let lock = Statement::new("UPDATE users SET user_id = user_id WHERE user_id = $1", vec![(owner as i64).into()]);
        self.fenced(lock, vec![insert], "user_id", account, quota, Some(once))
    }

    /// [`Store::insert_within`] with several writes, in order, in the one transaction.
    pub(crate) fn write_within(&self, owner: u64, account: u64, writes: Vec<Statement>, quota: &Quota) -> Result<(), StoreError> {
        let lock = Statement::new("UPDATE users SET user_id = user_id WHERE user_id = $1", vec![(owner as i64).into()]);
        self.fenced(lock, writes, "user_id", account, quota, None)
    }

    /// Runs `writes` unless the organisation would then hold more than the quota allows
    /// (or `once`'s key twice), its row locked first.
    pub(crate) fn write_within_organisation(&self, org_id: u64, writes: Vec<Statement>, quota: &Quota, once: Option<Once>) -> Result<(), StoreError> {
        let lock = Statement::new("UPDATE organisations SET name = name WHERE org_id = $1", vec![(org_id as i64).into()]);
        self.fenced(lock, writes, "org_id", org_id, quota, once)
    }

    /// `lock`, `writes`, then writes that fail the transaction (a NULL into
    /// `quota_fence`'s NOT NULL column) if the rows of `table` whose `column` is `id` are
    /// more than the quota allows, or hold `once`'s key twice.
    fn fenced(&self, lock: Statement, writes: Vec<Statement>, column: &str, id: u64, quota: &Quota, once: Option<Once>) -> Result<(), StoreError> {
        let mut statements = vec![lock];
        statements.extend(writes);
        statements.push(Statement::new(
            format!("INSERT INTO quota_fence (user_id) SELECT NULL WHERE (SELECT COUNT(*) FROM {} WHERE {column} = $1 AND {}) > $2", quota.table, quota.live),
            vec![(id as i64).into(), i64::try_from(quota.max).unwrap_or(i64::MAX).into()],
        ));
        let twice = |once: &Once| {
            let mut params = vec![Param::Int(id as i64)];
            params.extend(once.params.iter().cloned());
            (format!("SELECT COUNT(*) FROM {} WHERE {column} = $1 AND {}", quota.table, once.condition), params)
        };
        if let Some(once) = &once {
            let (count, params) = twice(once);
            statements.push(Statement::new(format!("INSERT INTO quota_fence (user_id) SELECT NULL WHERE ({count}) > 1"), params));
        }
        match self.backend().transaction(&statements) {
            Err(StoreError::Database(message)) if message.contains("quota_fence") => {
                // Which fence: the key is held (by the row another writer stored first), or not.
                if let Some(once) = once {
                    let (count, params) = twice(&once);
                    let held = self.backend().query(&count, &params)?.first().map(|row| row.int(0)).transpose()?.unwrap_or(0);
                    if held > 0 {
                        return Err(StoreError::Taken { code: once.code, message: once.message });
                    }
                }
                Err(StoreError::Quota(format!("at most {} {}", quota.max, quota.what)))
            }
            other => other,
        }
    }
}
