//! Watchlists: named lists of symbols a user keeps (the Alpaca-compatible API's
//! `/v2/watchlists`). User state, not derived from the log; names are unique per user.

use crate::db::{Row, Statement};
use crate::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchlistRecord {
    pub watchlist_id: String,
    pub user_id: u64,
    pub name: String,
    /// In the user's order, each once.
    pub symbols: Vec<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

fn watchlist(row: &Row) -> Result<WatchlistRecord, StoreError> {
    Ok(WatchlistRecord {
        watchlist_id: row.text(0)?.to_owned(),
        user_id: row.int(1)? as u64,
        name: row.text(2)?.to_owned(),
        symbols: row.text(3)?.split(',').filter(|symbol| !symbol.is_empty()).map(str::to_owned).collect(),
        created_at_ms: row.int(4)?,
        updated_at_ms: row.int(5)?,
    })
}

const COLUMNS: &str = "watchlist_id, user_id, name, symbols, created_at, updated_at";

impl Store {
    /// A user's watchlists, oldest first.
    pub fn watchlists(&self, user_id: u64) -> Result<Vec<WatchlistRecord>, StoreError> {
        let rows = self
            .backend()
            .query(&format!("SELECT {COLUMNS} FROM watchlists WHERE user_id = $1 ORDER BY created_at, watchlist_id"), &[(user_id as i64).into()])?;
        rows.iter().map(watchlist).collect()
    }

    /// One of a user's watchlists.
    pub fn watchlist(&self, user_id: u64, watchlist_id: &str) -> Result<Option<WatchlistRecord>, StoreError> {
        let rows = self
            .backend()
            .query(&format!("SELECT {COLUMNS} FROM watchlists WHERE user_id = $1 AND watchlist_id = $2"), &[(user_id as i64).into(), watchlist_id.into()])?;
        rows.first().map(watchlist).transpose()
    }

    /// Adds a watchlist; `Conflict` if the user has one of that name.
    pub fn insert_watchlist(&self, record: &WatchlistRecord) -> Result<(), StoreError> {
        let insert = Statement::new(
            format!("INSERT INTO watchlists ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"),
            vec![
                record.watchlist_id.as_str().into(),
                (record.user_id as i64).into(),
                record.name.as_str().into(),
                record.symbols.join(",").into(),
                record.created_at_ms.into(),
                record.updated_at_ms.into(),
            ],
        );
        let quota = crate::Quota { table: "watchlists", live: "TRUE".into(), max: crate::WATCHLISTS_MAX, what: "watchlists" };
        self.insert_within(record.user_id, record.user_id, insert, &quota)
    }

    /// Replaces a watchlist's name and symbols; `Conflict` if the new name is taken.
    pub fn update_watchlist(&self, record: &WatchlistRecord) -> Result<(), StoreError> {
        self.backend().transaction(&[Statement::new(
            "UPDATE watchlists SET name = $1, symbols = $2, updated_at = $3 WHERE user_id = $4 AND watchlist_id = $5",
            vec![
                record.name.as_str().into(),
                record.symbols.join(",").into(),
                record.updated_at_ms.into(),
                (record.user_id as i64).into(),
                record.watchlist_id.as_str().into(),
            ],
        )])
    }

    /// Removes a watchlist; false if the user has none with that id.
    pub fn delete_watchlist(&self, user_id: u64, watchlist_id: &str) -> Result<bool, StoreError> {
        if self.watchlist(user_id, watchlist_id)?.is_none() {
            return Ok(false);
        }
        self.backend().transaction(&[Statement::new(
            "DELETE FROM watchlists WHERE user_id = $1 AND watchlist_id = $2",
            vec![(user_id as i64).into(), watchlist_id.into()],
        )])?;
        Ok(true)
    }
}
