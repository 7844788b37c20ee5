//! Idempotency keys of the API's creating requests (orders keep theirs in the engine).
//!
//! A request with a key claims it ([`Store::claim_key`]); every store transaction the
//! request then commits on its thread (inside [`marking`]) also marks the key applied, and
//! fails whole if the claim is no longer the key's. The answer is stored when the request
//! ends ([`Store::answer_key`]), or the claim dropped if nothing was written
//! ([`Store::release_key`]). So a retry finds the first answer, or learns that the first
//! request took effect, or runs as the first; never a second write.

use std::borrow::Cow;
use std::cell::RefCell;

use crate::db::{Param, Statement};
use crate::{Store, StoreError};

/// A request's hold on its idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyClaim {
    /// Whose key it is (a user id, or the operator).
    pub scope: String,
    pub key: String,
    /// This request's own mark on the key.
    pub claim: String,
}

impl KeyClaim {
    /// `$1` scope, `$2` key, `$3` claim.
    fn params(&self) -> Vec<Param> {
        vec![self.scope.as_str().into(), self.key.as_str().into(), self.claim.as_str().into()]
    }
}

/// What claiming a key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claimed {
    /// The request holds the key: run it.
    Ours,
    /// The first request with the key answered this: the retry gets it again.
    Answered { status: u16, body: String },
    /// Another request with the key is running.
    InProgress,
    /// The first request took effect and has not stored its answer: it is finishing, or
    /// its server stopped before answering.
    AppliedUnanswered,
    /// The key was used for another request.
    Reused,
}

/// When a key was first used, how long an unanswered claim holds it, and now.
#[derive(Clone, Copy, Debug)]
pub struct KeyTimes {
    pub now_ms: i64,
    /// A claim older than this with nothing written is taken over (its request stopped).
    pub stale_before_ms: i64,
    /// Keys first used before this are forgotten.
    pub expired_before_ms: i64,
}

thread_local! {
    static MARK: RefCell<Option<KeyClaim>> = const { RefCell::new(None) };
}

/// Runs `work` with every store transaction it commits on this thread marking `claim`'s
/// key applied (and failing whole if the key is no longer held by `claim`).
pub fn marking<T>(claim: Option<KeyClaim>, work: impl FnOnce() -> T) -> T {
    struct Restore(Option<KeyClaim>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            MARK.with(|mark| *mark.borrow_mut() = previous);
        }
    }
    let _restore = Restore(MARK.with(|mark| mark.replace(claim)));
    work()
}

/// `statements`, followed by the mark of the request running on this thread, if any.
pub(crate) fn marked(statements: &[Statement]) -> Cow<'_, [Statement]> {
    MARK.with(|mark| match &*mark.borrow() {
        None => Cow::Borrowed(statements),
        Some(claim) => {
            let mut all = statements.to_vec();
            all.push(Statement::new(
                "INSERT INTO idempotency_fence (stale) SELECT NULL WHERE NOT EXISTS \
                 (SELECT 1 FROM idempotency_keys WHERE scope = $1 AND idem_key = $2 AND claim = $3)",
                claim.params(),
            ));
            all.push(Statement::new("UPDATE idempotency_keys SET applied = 1 WHERE scope = $1 AND idem_key = $2 AND claim = $3", claim.params()));
            Cow::Owned(all)
        }
    })
}

impl Store {
    /// Claims `claim.key` for a request with `fingerprint`: a new key, or one given back
    /// or whose previous claim is stale with nothing written, becomes the request's. (A
    /// key's row stays until it expires, so the read after the claim always finds it.)
    pub fn claim_key(&self, claim: &KeyClaim, fingerprint: &str, times: KeyTimes) -> Result<Claimed, StoreError> {
        let mut insert = claim.params();
        insert.extend([times.now_ms.into(), fingerprint.into()]);
        let mut take_over = insert.clone();
        take_over.push(times.stale_before_ms.into());
        self.backend().transaction(&[
            Statement::new("DELETE FROM idempotency_keys WHERE created_at < $1", vec![times.expired_before_ms.into()]),
            Statement::new(
                "INSERT INTO idempotency_keys (scope, idem_key, claim, claimed_at, fingerprint, created_at) VALUES ($1, $2, $3, $4, $5, $4) \
                 ON CONFLICT (scope, idem_key) DO NOTHING",
                insert,
            ),
            Statement::new(
                "UPDATE idempotency_keys SET claim = $3, claimed_at = $4, fingerprint = $5 \
                 WHERE scope = $1 AND idem_key = $2 AND status IS NULL AND applied = 0 AND claimed_at < $6",
                take_over,
            ),
        ])?;
        let rows = self.backend().query(
            "SELECT fingerprint, claim, applied, status, body FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
            &[claim.scope.as_str().into(), claim.key.as_str().into()],
        )?;
        let row = rows.first().ok_or_else(|| StoreError::Decode("an idempotency key expired as it was claimed".to_owned()))?;
        if row.text(0)? != fingerprint {
            return Ok(Claimed::Reused);
        }
        if let Some(status) = row.opt_int(3)? {
            let status = u16::try_from(status).map_err(|_| StoreError::Decode(format!("status {status}")))?;
            return Ok(Claimed::Answered { status, body: row.opt_text(4)?.unwrap_or_default().to_owned() });
        }
        Ok(match (row.text(1)? == claim.claim, row.int(2)? != 0) {
            (true, _) => Claimed::Ours,
            (false, true) => Claimed::AppliedUnanswered,
            (false, false) => Claimed::InProgress,
        })
    }

    /// Whether a request other than an order holds or spent `scope`'s `key` (first used at
    /// or after `expired_before_ms`): claimed, applied or answered, not given back. An
    /// order with that key is refused, as a request with another order's key is.
    pub fn key_held(&self, scope: &str, key: &str, expired_before_ms: i64) -> Result<bool, StoreError> {
        let rows = self.backend().query(
            "SELECT 1 FROM idempotency_keys WHERE scope = $1 AND idem_key = $2 AND created_at >= $3 AND (claim <> '' OR applied <> 0)",
            &[scope.into(), key.into(), expired_before_ms.into()],
        )?;
        Ok(!rows.is_empty())
    }

    /// Marks the key of the request running on this thread (inside [`marking`]) applied,
    /// with nothing else written here: for a request whose write went elsewhere (an engine
    /// command). Fails if the claim is no longer the key's.
    pub fn mark_key_applied(&self) -> Result<(), StoreError> {
        self.backend().transaction(&[])
    }

    /// Stores the answer of the request holding `claim`.
    pub fn answer_key(&self, claim: &KeyClaim, status: u16, body: &str) -> Result<(), StoreError> {
        self.backend().transaction(&[Statement::new(
            "UPDATE idempotency_keys SET status = $4, body = $5 WHERE scope = $1 AND idem_key = $2 AND claim = $3",
            [claim.params(), vec![i64::from(status).into(), body.into()]].concat(),
        )])
    }

    /// Gives the key up when its request wrote nothing (a refusal, a failure): the next
    /// request with it runs anew. The row stays (unclaimed), so a claim racing this one
    /// still reads it.
    pub fn release_key(&self, claim: &KeyClaim) -> Result<(), StoreError> {
        self.backend().transaction(&[Statement::new(
            "UPDATE idempotency_keys SET claim = '', claimed_at = 0 WHERE scope = $1 AND idem_key = $2 AND claim = $3 AND applied = 0",
            claim.params(),
        )])
    }
}
