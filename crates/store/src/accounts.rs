//! Paper accounts beyond a user's default one (practice accounts; contests later). User
//! state kept by the API, not derived from the log: the balances are the engine's.

use crate::db::{Row, Statement};
use crate::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaperAccountRecord {
    pub account_id: u64,
    pub user_id: u64,
    pub name: String,
    /// `practice` (a contest's later).
    pub kind: String,
    /// Raw money units: what a reset restores.
    pub starting_cash: i64,
    pub created_at_ms: i64,
    pub resets: u64,
    pub last_reset_at_ms: Option<i64>,
    /// A contest's account: the contest.
    pub contest_id: Option<u64>,
}

fn paper_account(row: &Row) -> Result<PaperAccountRecord, StoreError> {
    Ok(PaperAccountRecord {
        account_id: row.int(0)? as u64,
        user_id: row.int(1)? as u64,
        name: row.text(2)?.to_owned(),
        kind: row.text(3)?.to_owned(),
        starting_cash: row.int(4)?,
        created_at_ms: row.int(5)?,
        resets: row.int(6)? as u64,
        last_reset_at_ms: row.opt_int(7)?,
        contest_id: row.opt_int(8)?.map(|id| id as u64),
    })
}

const COLUMNS: &str = "account_id, user_id, name, kind, starting_cash, created_at, resets, last_reset_at, contest_id";

impl Store {
    /// A user's extra paper accounts, oldest first.
    pub fn paper_accounts(&self, user_id: u64) -> Result<Vec<PaperAccountRecord>, StoreError> {
        let rows = self.backend().query(&format!("SELECT {COLUMNS} FROM paper_accounts WHERE user_id = $1 ORDER BY account_id"), &[(user_id as i64).into()])?;
        rows.iter().map(paper_account).collect()
    }

    /// Every account of the user `user_id`: the default one (its id is the user's), then
    /// each paper account.
    pub fn accounts_of(&self, user_id: u64) -> Result<Vec<u64>, StoreError> {
        Ok(std::iter::once(user_id).chain(self.paper_accounts(user_id)?.iter().map(|record| record.account_id)).collect())
    }

    /// One paper account, whoever owns it.
    pub fn paper_account(&self, account_id: u64) -> Result<Option<PaperAccountRecord>, StoreError> {
        let rows = self.backend().query(&format!("SELECT {COLUMNS} FROM paper_accounts WHERE account_id = $1"), &[(account_id as i64).into()])?;
        rows.first().map(paper_account).transpose()
    }

    /// Adds a paper account; `Conflict` if its id is taken (two creations raced), or if it
    /// is a contest's and the user has an account in that contest already (two joins
    /// raced: the user's row is locked first, so they count one after the other).
    pub fn insert_paper_account(&self, record: &PaperAccountRecord) -> Result<(), StoreError> {
        let insert = Statement::new(
            format!("INSERT INTO paper_accounts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
            vec![
                (record.account_id as i64).into(),
                (record.user_id as i64).into(),
                record.name.as_str().into(),
                record.kind.as_str().into(),
                record.starting_cash.into(),
                record.created_at_ms.into(),
                (record.resets as i64).into(),
                record.last_reset_at_ms.into(),
                record.contest_id.map(|id| id as i64).into(),
            ],
        );
        let Some(contest) = record.contest_id else { return self.insert_practice_account(record, insert) };
        let quota = crate::Quota { table: "paper_accounts", live: format!("contest_id = {contest}").into(), max: 1, what: "account per contest" };
        match self.insert_within(record.user_id, record.user_id, insert, &quota) {
            Err(StoreError::Quota(_)) => Err(StoreError::Conflict("an account in this contest exists".to_owned())),
            other => other,
        }
    }

    /// `insert`s a practice account unless its owner has another of that name (letter case
    /// aside): [`StoreError::Quota`] then. The owner's row is locked first, so two
    /// processes opening accounts for one user check one after the other.
    fn insert_practice_account(&self, record: &PaperAccountRecord, insert: Statement) -> Result<(), StoreError> {
        let owner = record.user_id as i64;
        let lock = Statement::new("UPDATE users SET user_id = user_id WHERE user_id = $1", vec![owner.into()]);
        // Fails the transaction (a NULL into quota_fence's NOT NULL column) on a second row.
        let fence = Statement::new(
            "INSERT INTO quota_fence (user_id) SELECT NULL WHERE \
             (SELECT COUNT(*) FROM paper_accounts WHERE user_id = $1 AND contest_id IS NULL AND LOWER(name) = LOWER($2)) > 1",
            vec![owner.into(), record.name.as_str().into()],
        );
        match self.backend().transaction(&[lock, insert, fence]) {
            Err(StoreError::Database(message)) if message.contains("quota_fence") => {
                Err(StoreError::Quota(format!("you already have a practice account named {:?}", record.name)))
            }
            other => other,
        }
    }

    /// How often a user's default account (which has no row here) was reset, and when last:
    /// its resets are the `account.reset` entries of its audit trail.
    pub fn default_account_resets(&self, account_id: u64) -> Result<(u64, Option<i64>), StoreError> {
        let rows = self
            .backend()
            .query("SELECT COUNT(*), MAX(at) FROM audit_log WHERE subject = $1 AND action = 'account.reset'", &[format!("account:{account_id}").into()])?;
        match rows.first() {
            Some(row) => Ok((row.int(0)? as u64, row.opt_int(1)?)),
            None => Ok((0, None)),
        }
    }

    /// Counts a reset of `account_id` at `at_ms`; false if no such account is kept here
    /// (a user's default account is not: see [`Store::default_account_resets`]).
    pub fn record_paper_account_reset(&self, account_id: u64, at_ms: i64) -> Result<bool, StoreError> {
        if self.paper_account(account_id)?.is_none() {
            return Ok(false);
        }
        self.backend().transaction(&[Statement::new(
            "UPDATE paper_accounts SET resets = resets + 1, last_reset_at = $1 WHERE account_id = $2",
            vec![at_ms.into(), (account_id as i64).into()],
        )])?;
        Ok(true)
    }
}
