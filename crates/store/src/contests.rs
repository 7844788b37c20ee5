//! Contests and their entries: rules over paper accounts, kept by the API (user state, not
//! derived from the log); the final standings are stored once a contest is over.

use crate::db::{Row, Statement};
use crate::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContestRecord {
    pub contest_id: u64,
    pub name: String,
    pub description: String,
    pub organisation_id: Option<u64>,
    /// The organiser; `None` for the operator's key.
    pub created_by: Option<u64>,
    /// Milliseconds since the epoch; each window includes its start, not its end.
    pub registration_start_ms: i64,
    pub registration_end_ms: i64,
    pub trading_start_ms: i64,
    pub trading_end_ms: i64,
    /// Raw money units.
    pub starting_cash: i64,
    /// The trading limits of every entry's account, as the wire's JSON.
    pub rules: String,
    /// `PUBLIC` or `INVITE`.
    pub visibility: String,
    pub invite_code: Option<String>,
    /// `RETURN` or `SHARPE`.
    pub ranking: String,
    /// The final standings (JSON), once the contest is over.
    pub standings: Option<String>,
    pub finalized_at_ms: Option<i64>,
    pub created_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContestEntry {
    pub contest_id: u64,
    pub user_id: u64,
    pub account_id: u64,
    pub joined_at_ms: i64,
}

const COLUMNS: &str = "contest_id, name, description, organisation_id, created_by, registration_start, registration_end, trading_start, trading_end, \
                       starting_cash, rules, visibility, invite_code, ranking, standings, finalized_at, created_at";

fn contest(row: &Row) -> Result<ContestRecord, StoreError> {
    let id = |value: Option<i64>| value.map(|value| value as u64);
    Ok(ContestRecord {
        contest_id: row.int(0)? as u64,
        name: row.text(1)?.to_owned(),
        description: row.text(2)?.to_owned(),
        organisation_id: id(row.opt_int(3)?),
        created_by: id(row.opt_int(4)?),
        registration_start_ms: row.int(5)?,
        registration_end_ms: row.int(6)?,
        trading_start_ms: row.int(7)?,
        trading_end_ms: row.int(8)?,
        starting_cash: row.int(9)?,
        rules: row.text(10)?.to_owned(),
        visibility: row.text(11)?.to_owned(),
        invite_code: row.opt_text(12)?.map(str::to_owned),
        ranking: row.text(13)?.to_owned(),
        standings: row.opt_text(14)?.map(str::to_owned),
        finalized_at_ms: row.opt_int(15)?,
        created_at_ms: row.int(16)?,
    })
}

fn entry(row: &Row) -> Result<ContestEntry, StoreError> {
    Ok(ContestEntry { contest_id: row.int(0)? as u64, user_id: row.int(1)? as u64, account_id: row.int(2)? as u64, joined_at_ms: row.int(3)? })
}

impl Store {
    /// Adds a contest with the next free id, which it returns.
    pub fn insert_contest(&self, record: &ContestRecord) -> Result<u64, StoreError> {
        let rows = self.backend().query("SELECT COALESCE(MAX(contest_id), 0) FROM contests", &[])?;
        let contest_id = rows.first().map_or(Ok(0), |row| row.int(0))? as u64 + 1;
        let optional = |value: Option<u64>| value.map(|value| value as i64);
        self.backend().transaction(&[Statement::new(
            format!("INSERT INTO contests ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"),
            vec![
                (contest_id as i64).into(),
                record.name.as_str().into(),
                record.description.as_str().into(),
                optional(record.organisation_id).into(),
                optional(record.created_by).into(),
                record.registration_start_ms.into(),
                record.registration_end_ms.into(),
                record.trading_start_ms.into(),
                record.trading_end_ms.into(),
                record.starting_cash.into(),
                record.rules.as_str().into(),
                record.visibility.as_str().into(),
                record.invite_code.as_deref().into(),
                record.ranking.as_str().into(),
                record.standings.as_deref().into(),
                record.finalized_at_ms.into(),
                record.created_at_ms.into(),
            ],
        )])?;
        Ok(contest_id)
    }

    /// Every contest, newest first.
    pub fn contests(&self) -> Result<Vec<ContestRecord>, StoreError> {
        let rows = self.backend().query(&format!("SELECT {COLUMNS} FROM contests ORDER BY contest_id DESC"), &[])?;
        rows.iter().map(contest).collect()
    }

    pub fn contest(&self, contest_id: u64) -> Result<Option<ContestRecord>, StoreError> {
        let rows = self.backend().query(&format!("SELECT {COLUMNS} FROM contests WHERE contest_id = $1"), &[(contest_id as i64).into()])?;
        rows.first().map(contest).transpose()
    }

    /// Adds an entry; `Conflict` if the user joined already.
    pub fn insert_contest_entry(&self, entry: &ContestEntry) -> Result<(), StoreError> {
        self.backend().transaction(&[Statement::new(
            "INSERT INTO contest_entries (contest_id, user_id, account_id, joined_at) VALUES ($1, $2, $3, $4)",
            vec![(entry.contest_id as i64).into(), (entry.user_id as i64).into(), (entry.account_id as i64).into(), entry.joined_at_ms.into()],
        )])
    }

    /// A contest's entries, in the order they joined; a deleted user's is gone.
    pub fn contest_entries(&self, contest_id: u64) -> Result<Vec<ContestEntry>, StoreError> {
        let rows = self.backend().query(
            "SELECT contest_id, user_id, account_id, joined_at FROM contest_entries WHERE contest_id = $1 \
             AND account_id NOT IN (SELECT account_id FROM closed_accounts) ORDER BY joined_at, user_id",
            &[(contest_id as i64).into()],
        )?;
        rows.iter().map(entry).collect()
    }

    /// Records the final standings once; false if they were recorded already.
    pub fn record_contest_standings(&self, contest_id: u64, standings: &str, at_ms: i64) -> Result<bool, StoreError> {
        if self.contest(contest_id)?.is_none_or(|contest| contest.standings.is_some()) {
            return Ok(false);
        }
        self.backend().transaction(&[Statement::new(
            "UPDATE contests SET standings = $1, finalized_at = $2 WHERE contest_id = $3 AND standings IS NULL",
            vec![standings.into(), at_ms.into(), (contest_id as i64).into()],
        )])?;
        Ok(true)
    }
}
