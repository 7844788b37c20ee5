//! Identity records: users, refresh tokens, API keys and the audit trail. The gateway
//! writes these directly (they are not derived from the event log); secrets arrive here
//! already hashed.

use crate::db::{Param, Row, Statement};
use crate::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub user_id: u64,
    pub email: String,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub created_at_ms: i64,
}

/// A refresh token as stored (by its hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshRecord {
    pub user_id: u64,
    pub family: String,
    pub expires_at_ms: i64,
    pub used: bool,
    pub revoked: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub key_id: String,
    pub user_id: u64,
    pub name: String,
    /// Comma-separated: `read`, `trade`.
    pub scopes: String,
    pub created_at_ms: i64,
    pub revoked: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub entry_id: String,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    /// JSON text.
    pub details: String,
}

fn user(row: &Row) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        user_id: row.int(0)? as u64,
        email: row.text(1)?.to_owned(),
        username: row.text(2)?.to_owned(),
        password_hash: row.text(3)?.to_owned(),
        role: row.text(4)?.to_owned(),
        created_at_ms: row.int(5)?,
    })
}

const USER_COLUMNS: &str = "user_id, email, username, password_hash, role, created_at";

/// The most logins (refresh token families still usable) a user keeps: a new one past it
/// ends the oldest.
pub const LOGINS_MAX: usize = 100;

/// Rows whose `user_id` column is an account of user `$1` (its id's low 48 bits).
const OWNED: &str = "user_id % 281474976710656 = $1";

/// The window of the reset codes' hourly quota.
const RESET_QUOTA_WINDOW_MS: i64 = 3_600_000;

/// A reset code's issuer (if an admin handed it out) is an admin still.
const ISSUER_STILL_ADMIN: &str =
    "(password_resets.issued_by IS NULL OR EXISTS (SELECT 1 FROM users WHERE users.user_id = password_resets.issued_by AND users.role = 'admin'))";

impl Store {
    /// Adds a user; [`StoreError::Conflict`] if the email, the username (letter case aside)
    /// or the id is taken.
    pub fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.backend().transaction(&[Statement::new(
            "INSERT INTO users (user_id, email, username, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                (user.user_id as i64).into(),
                user.email.as_str().into(),
                user.username.as_str().into(),
                user.password_hash.as_str().into(),
                user.role.as_str().into(),
                user.created_at_ms.into(),
            ],
        )])
    }

    /// Whether a user holds `username`, letter case aside.
    pub fn username_taken(&self, username: &str) -> Result<bool, StoreError> {
        Ok(!self.backend().query("SELECT user_id FROM users WHERE LOWER(username) = LOWER($1)", &[username.into()])?.is_empty())
    }

    /// `base` if no user holds it (letter case aside), else the first free one of
    /// `base-2`, `base-3`, ... (`base` shortened so the name stays within `max_chars`).
    pub fn free_username(&self, base: &str, max_chars: usize) -> Result<String, StoreError> {
        if !self.username_taken(base)? {
            return Ok(base.to_owned());
        }
        let stem: String = base.chars().take(max_chars.saturating_sub(8).max(1)).collect();
        let pattern = format!("{}-%", crate::queries::like_literal(&stem));
        let taken: std::collections::HashSet<String> = self
            .backend()
            .query("SELECT LOWER(username) FROM users WHERE LOWER(username) LIKE LOWER($1) ESCAPE '\\'", &[pattern.into()])?
            .iter()
            .map(|row| row.text(0).map(str::to_owned))
            .collect::<Result<_, _>>()?;
        let mut number = 2_u64;
        while taken.contains(&format!("{stem}-{number}").to_lowercase()) {
            number += 1;
        }
        Ok(format!("{stem}-{number}"))
    }

    pub fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let rows = self.backend().query(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"), &[email.into()])?;
        rows.first().map(user).transpose()
    }

    /// Users after id `after` in id order, at most `limit`, each with the organisation they
    /// are in; with `text`, only those whose email or username holds it (letter case aside).
    pub fn find_users(&self, text: Option<&str>, after: u64, limit: usize) -> Result<Vec<(UserRecord, Option<u64>)>, StoreError> {
        let mut params: Vec<Param> = vec![(after as i64).into(), (limit.clamp(1, crate::PAGE_LIMIT_MAX) as i64).into()];
        let filter = match text {
            Some(text) => {
                params.push(crate::queries::holding(text).into());
                "AND (LOWER(u.email) LIKE $3 ESCAPE '\\' OR LOWER(u.username) LIKE $3 ESCAPE '\\')"
            }
            None => "",
        };
        let columns = USER_COLUMNS.split(", ").map(|column| format!("u.{column}")).collect::<Vec<_>>().join(", ");
        let rows = self.backend().query(
            &format!("SELECT {columns}, m.org_id FROM users u LEFT JOIN org_members m ON m.user_id = u.user_id WHERE u.user_id > $1 {filter} ORDER BY u.user_id LIMIT $2"),
            &params,
        )?;
        rows.iter().map(|row| Ok((user(row)?, row.opt_int(6)?.map(|org| org as u64)))).collect()
    }

    pub fn user_by_id(&self, user_id: u64) -> Result<Option<UserRecord>, StoreError> {
        let rows = self.backend().query(&format!("SELECT {USER_COLUMNS} FROM users WHERE user_id = $1"), &[(user_id as i64).into()])?;
        rows.first().map(user).transpose()
    }

    /// Changes a user's role; false if there is no such user.
    pub fn set_role(&self, user_id: u64, role: &str) -> Result<bool, StoreError> {
        if self.user_by_id(user_id)?.is_none() {
            return Ok(false);
        }
        self.backend().transaction(&[Statement::new("UPDATE users SET role = $1 WHERE user_id = $2", vec![role.into(), (user_id as i64).into()])])?;
        Ok(true)
    }

    /// The user's current token generation; `None` if there is no such user.
    pub fn token_generation(&self, user_id: u64) -> Result<Option<u64>, StoreError> {
        let rows = self.backend().query("SELECT token_generation FROM users WHERE user_id = $1", &[(user_id as i64).into()])?;
        rows.first().map(|row| row.int(0).map(|generation| generation as u64)).transpose()
    }

    /// Raises the user's token generation (voiding every access token issued before) and
    /// returns the new one; `None` if there is no such user.
    pub fn bump_token_generation(&self, user_id: u64) -> Result<Option<u64>, StoreError> {
        self.backend()
            .transaction(&[Statement::new("UPDATE users SET token_generation = token_generation + 1 WHERE user_id = $1", vec![(user_id as i64).into()])])?;
        self.token_generation(user_id)
    }

    /// Sets the user's password (its hash), and in the same transaction revokes every login
    /// (refresh token) and voids every access token issued so far: whoever knew the old
    /// password is logged out everywhere. Returns the new token generation.
    pub fn change_password(&self, user_id: u64, password_hash: &str, now_ms: i64) -> Result<Option<u64>, StoreError> {
        let user = Param::Int(user_id as i64);
        self.backend().transaction(&[
            Statement::new(
                "UPDATE users SET password_hash = $1, token_generation = token_generation + 1 WHERE user_id = $2",
                vec![password_hash.into(), user.clone()],
            ),
            Statement::new("UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL", vec![now_ms.into(), user.clone()]),
            Statement::new("UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL", vec![now_ms.into(), user]),
        ])?;
        self.token_generation(user_id)
    }

    /// Keeps a password reset code (its hash) for `user_id` until `expires_at_ms`, unless
    /// the user was given `per_hour` codes in the hour before `now_ms` already (then
    /// `false`, nothing kept). The user's row is locked first, so requests racing through
    /// several processes count one after the other. The user's codes that expired over an
    /// hour ago go in the same transaction (none of them can be used or counts toward the
    /// hour), so a user's codes stay bounded by the hourly quota and the codes' lifetime.
    pub fn insert_password_reset(&self, code_hash: &str, user_id: u64, now_ms: i64, expires_at_ms: i64, per_hour: u64) -> Result<bool, StoreError> {
        self.insert_reset_code(code_hash, user_id, None, now_ms, expires_at_ms, per_hour)
    }

    /// Keeps a reset code an admin (`issuer`) made for the user to hand over. It works
    /// only while `issuer` is an admin: one who is demoted or deleted can no longer set
    /// the password of a user they hold a code for.
    pub fn insert_handed_password_reset(&self, code_hash: &str, user_id: u64, issuer: u64, now_ms: i64, expires_at_ms: i64) -> Result<(), StoreError> {
        self.insert_reset_code(code_hash, user_id, Some(issuer), now_ms, expires_at_ms, u64::MAX).map(|_| ())
    }

    fn insert_reset_code(
        &self,
        code_hash: &str,
        user_id: u64,
        issuer: Option<u64>,
        now_ms: i64,
        expires_at_ms: i64,
        per_hour: u64,
    ) -> Result<bool, StoreError> {
        let user = Param::Int(user_id as i64);
        let forget = Statement::new(
            "DELETE FROM password_resets WHERE user_id = $1 AND expires_at <= $2",
            vec![user.clone(), now_ms.saturating_sub(RESET_QUOTA_WINDOW_MS).into()],
        );
        let insert = Statement::new(
            "INSERT INTO password_resets (code_hash, user_id, created_at, expires_at, issued_by) VALUES ($1, $2, $3, $4, $5)",
            vec![code_hash.into(), user, now_ms.into(), expires_at_ms.into(), issuer.map(|issuer| issuer as i64).into()],
        );
        let quota = crate::Quota {
            table: "password_resets",
            live: format!("created_at > {}", now_ms - RESET_QUOTA_WINDOW_MS).into(),
            max: per_hour,
            what: "reset codes an hour",
        };
        match self.write_within(user_id, user_id, vec![forget, insert], &quota) {
            Ok(()) => Ok(true),
            Err(StoreError::Quota(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// The user a live reset code (unused, unexpired at `now_ms`, its issuer still an
    /// admin) belongs to.
    pub fn password_reset_user(&self, code_hash: &str, now_ms: i64) -> Result<Option<u64>, StoreError> {
        let rows = self.backend().query(
            &format!("SELECT user_id FROM password_resets WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 AND {ISSUER_STILL_ADMIN}"),
            &[code_hash.into(), now_ms.into()],
        )?;
        rows.first().map(|row| row.int(0).map(|user| user as u64)).transpose()
    }

    /// Spends the reset code and, in the same transaction, sets its user's password as
    /// [`Store::change_password`] does (every login revoked, every access token voided,
    /// every other code spent). The code is spent first, so of two resets racing with one
    /// code only the first sets a password. Returns the user and their new token
    /// generation, or `None` if the code was not live.
    pub fn reset_password(&self, code_hash: &str, password_hash: &str, now_ms: i64) -> Result<Option<(u64, u64)>, StoreError> {
        let Some(user_id) = self.password_reset_user(code_hash, now_ms)? else { return Ok(None) };
        let user = Param::Int(user_id as i64);
        let spent = "EXISTS (SELECT 1 FROM password_resets WHERE code_hash = $3 AND used_at = $4)";
        self.backend().transaction(&[
            Statement::new(
                format!("UPDATE password_resets SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 AND {ISSUER_STILL_ADMIN}"),
                vec![now_ms.into(), code_hash.into()],
            ),
            Statement::new(
                format!("UPDATE users SET password_hash = $1, token_generation = token_generation + 1 WHERE user_id = $2 AND {spent}"),
                vec![password_hash.into(), user.clone(), code_hash.into(), now_ms.into()],
            ),
            Statement::new(
                "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
                 AND EXISTS (SELECT 1 FROM password_resets WHERE code_hash = $3 AND used_at = $1)",
                vec![now_ms.into(), user.clone(), code_hash.into()],
            ),
            Statement::new("UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL", vec![now_ms.into(), user]),
        ])?;
        let used = self.backend().query("SELECT used_at FROM password_resets WHERE code_hash = $1", &[code_hash.into()])?;
        if used.first().map(|row| row.opt_int(0)).transpose()?.flatten() != Some(now_ms) {
            return Ok(None);
        }
        Ok(self.token_generation(user_id)?.map(|generation| (user_id, generation)))
    }

    /// Removes a user's login, tokens, keys, notifications, price alerts and channel
    /// preferences (account deletion), and closes their
    /// accounts (the default one and every paper account): no ranking shows them again.
    /// The trading history stays in the log, under the account id only.
    pub fn delete_user(&self, user_id: u64, now_ms: i64) -> Result<(), StoreError> {
        let user = Param::Int(user_id as i64);
        self.backend().transaction(&[
            Statement::new("INSERT INTO closed_accounts (account_id, closed_at) VALUES ($1, $2) ON CONFLICT DO NOTHING", vec![user.clone(), now_ms.into()]),
            Statement::new(
                "INSERT INTO closed_accounts (account_id, closed_at) SELECT account_id, $2 FROM paper_accounts WHERE user_id = $1 ON CONFLICT DO NOTHING",
                vec![user.clone(), now_ms.into()],
            ),
            Statement::new("DELETE FROM refresh_tokens WHERE user_id = $1", vec![user.clone()]),
            Statement::new("DELETE FROM password_resets WHERE user_id = $1", vec![user.clone()]),
            Statement::new("DELETE FROM api_keys WHERE user_id = $1", vec![user.clone()]),
            Statement::new("DELETE FROM watchlists WHERE user_id = $1", vec![user.clone()]),
            Statement::new("DELETE FROM org_invitations WHERE user_id = $1", vec![user.clone()]),
            // What reaches them outside the app (a Slack webhook, email) and what would
            // make more of it (price alerts), and their notifications: all personal.
            Statement::new("DELETE FROM notification_preferences WHERE user_id = $1", vec![user.clone()]),
            Statement::new(
                format!("DELETE FROM notification_deliveries WHERE notification_id IN (SELECT notification_id FROM notifications WHERE {OWNED})"),
                vec![user.clone()],
            ),
            Statement::new(format!("DELETE FROM notifications WHERE {OWNED}"), vec![user.clone()]),
            Statement::new(format!("DELETE FROM price_alerts WHERE {OWNED}"), vec![user.clone()]),
            Statement::new("DELETE FROM users WHERE user_id = $1", vec![user]),
        ])
    }

    /// A new login's first refresh token. The user's expired tokens are forgotten (a used
    /// one is kept until then, to catch its reuse), and beyond [`LOGINS_MAX`] live logins
    /// the oldest are ended, so logins cannot pile up without bound.
    pub fn insert_refresh(&self, token_hash: &str, user_id: u64, family: &str, expires_at_ms: i64, now_ms: i64) -> Result<(), StoreError> {
        let user = Param::Int(user_id as i64);
        let live = "user_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2";
        self.backend().transaction(&[
            Statement::new("DELETE FROM refresh_tokens WHERE user_id = $1 AND expires_at <= $2", vec![user.clone(), now_ms.into()]),
            Statement::new(
                "INSERT INTO refresh_tokens (token_hash, user_id, family, expires_at) VALUES ($1, $2, $3, $4)",
                vec![token_hash.into(), user.clone(), family.into(), expires_at_ms.into()],
            ),
            Statement::new(
                format!(
                    "UPDATE refresh_tokens SET revoked_at = $2 WHERE {live} AND token_hash NOT IN \
                     (SELECT token_hash FROM refresh_tokens WHERE {live} ORDER BY expires_at DESC, token_hash LIMIT {LOGINS_MAX})"
                ),
                vec![user, now_ms.into()],
            ),
        ])
    }

    pub fn refresh(&self, token_hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
        let rows =
            self.backend().query("SELECT user_id, family, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1", &[token_hash.into()])?;
        rows.first()
            .map(|row| {
                Ok(RefreshRecord {
                    user_id: row.int(0)? as u64,
                    family: row.text(1)?.to_owned(),
                    expires_at_ms: row.int(2)?,
                    used: row.opt_int(3)?.is_some(),
                    revoked: row.opt_int(4)?.is_some(),
                })
            })
            .transpose()
    }

    /// Marks `old` used and stores its successor, in one transaction. Fails with
    /// [`StoreError::Conflict`] if `old` was already used (a concurrent refresh).
    pub fn rotate_refresh(&self, old: &str, new: &str, user_id: u64, family: &str, expires_at_ms: i64, now_ms: i64) -> Result<(), StoreError> {
        let used = self
            .backend()
            .query("SELECT used_at FROM refresh_tokens WHERE token_hash = $1", &[old.into()])?
            .first()
            .map(|row| row.opt_int(0))
            .transpose()?
            .flatten();
        if used.is_some() {
            return Err(StoreError::Conflict("refresh token already used".into()));
        }
        self.backend().transaction(&[
            Statement::new("UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2", vec![now_ms.into(), old.into()]),
            Statement::new(
                "INSERT INTO refresh_tokens (token_hash, user_id, family, expires_at) VALUES ($1, $2, $3, $4)",
                vec![new.into(), (user_id as i64).into(), family.into(), expires_at_ms.into()],
            ),
        ])
    }

    /// Revokes every token of a login (logout, or a reused token).
    pub fn revoke_family(&self, family: &str, now_ms: i64) -> Result<(), StoreError> {
        self.backend().transaction(&[Statement::new(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL",
            vec![now_ms.into(), family.into()],
        )])
    }

    pub fn insert_api_key(&self, key: &ApiKeyRecord, key_hash: &str) -> Result<(), StoreError> {
        let insert = Statement::new(
            "INSERT INTO api_keys (key_id, user_id, name, key_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                key.key_id.as_str().into(),
                (key.user_id as i64).into(),
                key.name.as_str().into(),
                key_hash.into(),
                key.scopes.as_str().into(),
                key.created_at_ms.into(),
            ],
        );
        let quota = crate::Quota { table: "api_keys", live: "revoked_at IS NULL".into(), max: crate::API_KEYS_MAX, what: "live API keys" };
        let once = crate::Once {
            condition: "LOWER(name) = LOWER($2) AND revoked_at IS NULL",
            params: vec![key.name.as_str().into()],
            code: "api_key_name_taken",
            message: format!("you have a live API key named {:?} already (letter case aside): name this one apart", key.name),
        };
        self.insert_once(key.user_id, key.user_id, insert, &quota, once)
    }

    /// The live key with this hash.
    pub fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let rows = self.backend().query(
            "SELECT key_id, user_id, name, scopes, created_at, revoked_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
            &[key_hash.into()],
        )?;
        rows.first().map(api_key).transpose()
    }

    pub fn api_keys(&self, user_id: u64) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let rows = self.backend().query(
            "SELECT key_id, user_id, name, scopes, created_at, revoked_at FROM api_keys WHERE user_id = $1 ORDER BY created_at, key_id",
            &[(user_id as i64).into()],
        )?;
        rows.iter().map(api_key).collect()
    }

    /// Revokes a user's key; false if the user has no such live key.
    pub fn revoke_api_key(&self, user_id: u64, key_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let live = self.api_keys(user_id)?.into_iter().any(|key| key.key_id == key_id && !key.revoked);
        if live {
            self.backend().transaction(&[Statement::new(
                "UPDATE api_keys SET revoked_at = $1 WHERE key_id = $2 AND user_id = $3",
                vec![now_ms.into(), key_id.into(), (user_id as i64).into()],
            )])?;
        }
        Ok(live)
    }

    pub fn append_audit(&self, entry: &AuditRecord) -> Result<(), StoreError> {
        self.backend().transaction(&[audit_statement(entry)])
    }

    /// Audit entries, newest first; `subject` filters to one subject.
    pub fn audit(&self, subject: Option<&str>, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(self.audit_page(subject, limit, None)?.0)
    }

    /// A page of the trail (of one subject's entries, or all), newest first, after the
    /// page `page_token` ended; and the next page's token, if there is more.
    pub fn audit_page(&self, subject: Option<&str>, limit: usize, page_token: Option<&str>) -> Result<(Vec<AuditRecord>, Option<String>), StoreError> {
        let (filters, params) = match subject {
            Some(subject) => (vec!["subject = $1".to_owned()], vec![subject.into()]),
            None => (Vec::new(), Vec::new()),
        };
        let list = crate::pages::TimeOrder {
            select: "SELECT entry_id, at, actor, action, subject, details FROM audit_log".to_owned(),
            filters,
            params,
            time: "at",
            id: "entry_id",
            oldest_first: false,
        };
        self.time_ordered(list, limit, page_token, audit_record, |entry| (entry.at_ms, entry.entry_id.as_str()))
    }

    /// Audit entries about any of `subjects`, newest first.
    pub fn audit_about(&self, subjects: &[String], limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit.clamp(1, crate::EXPORT_LIMIT_MAX)).unwrap_or(100);
        let placeholders: Vec<String> = (1..=subjects.len()).map(|index| format!("${index}")).collect();
        let mut params: Vec<Param> = subjects.iter().map(|subject| subject.as_str().into()).collect();
        params.push(limit.into());
        let rows = self.backend().query(
            &format!(
                "SELECT entry_id, at, actor, action, subject, details FROM audit_log WHERE subject IN ({}) ORDER BY at DESC, entry_id DESC LIMIT ${}",
                placeholders.join(", "),
                subjects.len() + 1
            ),
            &params,
        )?;
        audit_records(&rows)
    }
}

fn audit_records(rows: &[Row]) -> Result<Vec<AuditRecord>, StoreError> {
    rows.iter().map(audit_record).collect()
}

fn audit_record(row: &Row) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        entry_id: row.text(0)?.to_owned(),
        at_ms: row.int(1)?,
        actor: row.text(2)?.to_owned(),
        action: row.text(3)?.to_owned(),
        subject: row.text(4)?.to_owned(),
        details: row.text(5)?.to_owned(),
    })
}

fn api_key(row: &Row) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        key_id: row.text(0)?.to_owned(),
        user_id: row.int(1)? as u64,
        name: row.text(2)?.to_owned(),
        scopes: row.text(3)?.to_owned(),
        created_at_ms: row.int(4)?,
        revoked: row.opt_int(5)?.is_some(),
    })
}

/// Appends an audit entry (in a caller's transaction).
pub fn audit_statement(entry: &AuditRecord) -> Statement {
    Statement::new(
        "INSERT INTO audit_log (entry_id, at, actor, action, subject, details) VALUES ($1, $2, $3, $4, $5, $6)",
        vec![
            entry.entry_id.as_str().into(),
            entry.at_ms.into(),
            entry.actor.as_str().into(),
            entry.action.as_str().into(),
            entry.subject.as_str().into(),
            entry.details.as_str().into(),
        ],
    )
}
