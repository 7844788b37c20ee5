//! Alerts, webhooks and the webhook retry queue.

use crate::db::{Param, Row, Statement};
use crate::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRecord {
    pub alert_id: String,
    pub user_id: u64,
    pub severity: String,
    pub title: String,
    pub message: String,
    pub created_at_ms: i64,
    pub acknowledged_at_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRecord {
    pub webhook_id: String,
    pub user_id: u64,
    pub url: String,
    pub created_at_ms: i64,
}

/// A delivery due now: the alert, where to send it, and how many tries it has had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueDelivery {
    pub alert: AlertRecord,
    pub webhook_id: String,
    pub url: String,
    pub attempts: u32,
}

/// What happened to one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Try again at this time.
    Retry {
        error: String,
        next_attempt_at_ms: i64,
    },
    GaveUp {
        error: String,
    },
}

const ALERT_COLUMNS: &str = "alert_id, user_id, severity, title, message, created_at, acknowledged_at";

pub(crate) fn alert(row: &Row) -> Result<AlertRecord, StoreError> {
    Ok(AlertRecord {
        alert_id: row.text(0)?.to_owned(),
        user_id: row.int(1)? as u64,
        severity: row.text(2)?.to_owned(),
        title: row.text(3)?.to_owned(),
        message: row.text(4)?.to_owned(),
        created_at_ms: row.int(5)?,
        acknowledged_at_ms: row.opt_int(6)?,
    })
}

impl Store {
    /// A user's alerts, newest first; only unacknowledged ones with `open_only`.
    pub fn alerts(&self, user_id: u64, open_only: bool, limit: usize) -> Result<Vec<AlertRecord>, StoreError> {
        Ok(self.alerts_page(user_id, open_only, limit, None)?.0)
    }

    /// A page of a user's alerts (not yet acknowledged ones with `open_only`), newest
    /// first, after the page `page_token` ended; and the next page's token.
    pub fn alerts_page(&self, user_id: u64, open_only: bool, limit: usize, page_token: Option<&str>) -> Result<(Vec<AlertRecord>, Option<String>), StoreError> {
        let list = crate::pages::TimeOrder::newest_of_user(ALERT_COLUMNS, "alerts", user_id, open_only.then_some("acknowledged_at"), "alert_id");
        self.time_ordered(list, limit, page_token, alert, |alert| (alert.created_at_ms, alert.alert_id.as_str()))
    }

    /// Acknowledges a user's alert; false if the user has no such alert.
    pub fn acknowledge_alert(&self, user_id: u64, alert_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let found =
            !self.backend().query("SELECT alert_id FROM alerts WHERE alert_id = $1 AND user_id = $2", &[alert_id.into(), (user_id as i64).into()])?.is_empty();
        if found {
            self.backend().transaction(&[Statement::new(
                "UPDATE alerts SET acknowledged_at = $1 WHERE alert_id = $2 AND acknowledged_at IS NULL",
                vec![now_ms.into(), alert_id.into()],
            )])?;
        }
        Ok(found)
    }

    pub fn insert_webhook(&self, webhook: &WebhookRecord) -> Result<(), StoreError> {
        let insert = Statement::new(
            "INSERT INTO webhooks (webhook_id, user_id, url, created_at) VALUES ($1, $2, $3, $4)",
            vec![webhook.webhook_id.as_str().into(), (webhook.user_id as i64).into(), webhook.url.as_str().into(), webhook.created_at_ms.into()],
        );
        let quota = crate::Quota { table: "webhooks", live: "revoked_at IS NULL".into(), max: crate::WEBHOOKS_MAX, what: "webhooks" };
        let once = crate::Once {
            condition: "url = $2 AND revoked_at IS NULL",
            params: vec![webhook.url.as_str().into()],
            code: "webhook_exists",
            message: format!("you have a webhook for {} already", webhook.url),
        };
        self.insert_once(webhook.user_id, webhook.user_id, insert, &quota, once)
    }

    pub fn webhooks(&self, user_id: u64) -> Result<Vec<WebhookRecord>, StoreError> {
        let rows = self.backend().query(
            "SELECT webhook_id, user_id, url, created_at FROM webhooks WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at, webhook_id",
            &[(user_id as i64).into()],
        )?;
        rows.iter()
            .map(|row| {
                Ok(WebhookRecord { webhook_id: row.text(0)?.to_owned(), user_id: row.int(1)? as u64, url: row.text(2)?.to_owned(), created_at_ms: row.int(3)? })
            })
            .collect()
    }

    /// Removes a user's webhook and its pending deliveries; false if there is none.
    pub fn revoke_webhook(&self, user_id: u64, webhook_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        if !self.webhooks(user_id)?.iter().any(|webhook| webhook.webhook_id == webhook_id) {
            return Ok(false);
        }
        self.backend().transaction(&[
            Statement::new("UPDATE webhooks SET revoked_at = $1 WHERE webhook_id = $2", vec![now_ms.into(), webhook_id.into()]),
            Statement::new(
                "UPDATE webhook_deliveries SET next_attempt_at = NULL, last_error = 'webhook removed' WHERE webhook_id = $1 AND delivered_at IS NULL",
                vec![webhook_id.into()],
            ),
        ])?;
        Ok(true)
    }

    /// Deliveries whose next attempt is due at `now_ms`, oldest first.
    pub fn due_deliveries(&self, now_ms: i64, limit: usize) -> Result<Vec<DueDelivery>, StoreError> {
        let rows = self.backend().query(
            "SELECT a.alert_id, a.user_id, a.severity, a.title, a.message, a.created_at, a.acknowledged_at, d.webhook_id, w.url, d.attempts \
             FROM webhook_deliveries d JOIN alerts a ON a.alert_id = d.alert_id JOIN webhooks w ON w.webhook_id = d.webhook_id \
             WHERE d.next_attempt_at IS NOT NULL AND d.next_attempt_at <= $1 ORDER BY d.next_attempt_at, d.alert_id LIMIT $2",
            &[now_ms.into(), i64::try_from(limit).unwrap_or(100).into()],
        )?;
        rows.iter()
            .map(|row| {
                Ok(DueDelivery {
                    alert: alert(row)?,
                    webhook_id: row.text(7)?.to_owned(),
                    url: row.text(8)?.to_owned(),
                    attempts: u32::try_from(row.int(9)?).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }

    pub fn record_delivery(&self, alert_id: &str, webhook_id: &str, outcome: &DeliveryOutcome, now_ms: i64) -> Result<(), StoreError> {
        let mut params = outcome_params(outcome, now_ms);
        params.extend([alert_id.into(), webhook_id.into()]);
        self.backend().transaction(&[Statement::new(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1, delivered_at = $2, last_error = $3 \
             WHERE alert_id = $4 AND webhook_id = $5",
            params,
        )])
    }

    /// (attempts, delivered) of one delivery, for tests and support.
    pub fn delivery_state(&self, alert_id: &str, webhook_id: &str) -> Result<Option<(u32, bool)>, StoreError> {
        let rows = self
            .backend()
            .query("SELECT attempts, delivered_at FROM webhook_deliveries WHERE alert_id = $1 AND webhook_id = $2", &[alert_id.into(), webhook_id.into()])?;
        rows.first().map(|row| Ok((u32::try_from(row.int(0)?).unwrap_or(u32::MAX), row.opt_int(1)?.is_some()))).transpose()
    }
}

/// A delivery attempt's outcome as the queue's columns: the next attempt's time, when it
/// was delivered, and the last error (`$1`, `$2`, `$3` of the queues' updates).
pub(crate) fn outcome_params(outcome: &DeliveryOutcome, now_ms: i64) -> Vec<Param> {
    let (next, delivered, error): (Option<i64>, Option<i64>, Option<String>) = match outcome {
        DeliveryOutcome::Delivered => (None, Some(now_ms), None),
        DeliveryOutcome::Retry { error, next_attempt_at_ms } => (Some(*next_attempt_at_ms), None, Some(error.clone())),
        DeliveryOutcome::GaveUp { error } => (None, None, Some(error.clone())),
    };
    vec![Param::from(next), Param::from(delivered), Param::from(error)]
}
