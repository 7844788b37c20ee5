//! In-app notifications (made by the projector from order events, limit breaches and
//! price alerts) and the one-shot price alerts users set.

use crate::db::{Row, Statement};
use crate::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRecord {
    pub notification_id: String,
    pub user_id: u64,
    /// `ORDER_FILLED`, `ORDER_REFUSED`, `ORDER_EXPIRED`, `LIMIT_BREACH`, `PRICE_ALERT`,
    /// `NEW_FOLLOWER`, `LIKE`, `COMMENT`, `CONTEST_STARTED`, `CONTEST_ENDED` or `ORG_INVITATION`.
    pub kind: String,
    pub title: String,
    pub message: String,
    pub created_at_ms: i64,
    pub read_at_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceAlertRecord {
    pub alert_id: String,
    pub user_id: u64,
    pub symbol: String,
    /// `ABOVE` (a trade, or the market's price feed, at or above the price) or `BELOW` (at or below).
    pub direction: String,
    /// Raw price units.
    pub price: i64,
    pub created_at_ms: i64,
    pub triggered_at_ms: Option<i64>,
}

const NOTIFICATION_COLUMNS: &str = "notification_id, user_id, kind, title, message, created_at, read_at";
const PRICE_ALERT_COLUMNS: &str = "alert_id, user_id, symbol, direction, price, created_at, triggered_at";

pub(crate) fn notification(row: &Row) -> Result<NotificationRecord, StoreError> {
    Ok(NotificationRecord {
        notification_id: row.text(0)?.to_owned(),
        user_id: row.int(1)? as u64,
        kind: row.text(2)?.to_owned(),
        title: row.text(3)?.to_owned(),
        message: row.text(4)?.to_owned(),
        created_at_ms: row.int(5)?,
        read_at_ms: row.opt_int(6)?,
    })
}

pub(crate) fn price_alert(row: &Row) -> Result<PriceAlertRecord, StoreError> {
    Ok(PriceAlertRecord {
        alert_id: row.text(0)?.to_owned(),
        user_id: row.int(1)? as u64,
        symbol: row.text(2)?.to_owned(),
        direction: row.text(3)?.to_owned(),
        price: row.int(4)?,
        created_at_ms: row.int(5)?,
        triggered_at_ms: row.opt_int(6)?,
    })
}

/// Stores a notification (once per id), in a caller's transaction; none for a closed
/// account (its user deleted it: what the deletion itself caused, projected later, too).
pub fn notification_statement(record: &NotificationRecord) -> Statement {
    Statement::new(
        format!(
            "INSERT INTO notifications ({NOTIFICATION_COLUMNS}) \
             SELECT CAST($1 AS TEXT), CAST($2 AS BIGINT), CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS TEXT), CAST($6 AS BIGINT), NULL \
             WHERE NOT EXISTS (SELECT 1 FROM closed_accounts WHERE account_id = CAST($2 AS BIGINT)) ON CONFLICT (notification_id) DO NOTHING"
        ),
        vec![
            record.notification_id.as_str().into(),
            (record.user_id as i64).into(),
            record.kind.as_str().into(),
            record.title.as_str().into(),
            record.message.as_str().into(),
            record.created_at_ms.into(),
        ],
    )
}

impl Store {
    /// A user's latest notifications, newest first; only unread ones when asked.
    pub fn notifications(&self, user_id: u64, unread_only: bool, limit: usize) -> Result<Vec<NotificationRecord>, StoreError> {
        Ok(self.notifications_page(user_id, unread_only, limit, None)?.0)
    }

    /// A page of a user's notifications (unread ones with `unread_only`), newest first,
    /// after the page `page_token` ended; and the next page's token.
    pub fn notifications_page(
        &self,
        user_id: u64,
        unread_only: bool,
        limit: usize,
        page_token: Option<&str>,
    ) -> Result<(Vec<NotificationRecord>, Option<String>), StoreError> {
        let list = crate::pages::TimeOrder::newest_of_user(NOTIFICATION_COLUMNS, "notifications", user_id, unread_only.then_some("read_at"), "notification_id");
        self.time_ordered(list, limit, page_token, notification, |note| (note.created_at_ms, note.notification_id.as_str()))
    }

    /// Every account's notifications made at or after `since_ms`, oldest first (what the
    /// WebSocket servers push).
    pub fn notifications_since(&self, since_ms: i64, limit: usize) -> Result<Vec<NotificationRecord>, StoreError> {
        let rows = self.backend().query(
            &format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE created_at >= $1 ORDER BY created_at, notification_id LIMIT $2"),
            &[since_ms.into(), i64::try_from(limit).unwrap_or(1_000).into()],
        )?;
        rows.iter().map(notification).collect()
    }

    /// Marks one of a user's notifications read (all of them with `None`); how many changed,
    /// or `None` if the user has no such notification.
    pub fn mark_notifications_read(&self, user_id: u64, notification_id: Option<&str>, now_ms: i64) -> Result<Option<u64>, StoreError> {
        let user = user_id as i64;
        let unread = |id_filter: &str, params: Vec<crate::Param>| -> Result<u64, StoreError> {
            Ok(self.backend().query(&format!("SELECT notification_id FROM notifications WHERE user_id = $1 AND read_at IS NULL{id_filter}"), &params)?.len()
                as u64)
        };
        let (changed, statement) = match notification_id {
            Some(id) => {
                if self
                    .backend()
                    .query("SELECT notification_id FROM notifications WHERE user_id = $1 AND notification_id = $2", &[user.into(), id.into()])?
                    .is_empty()
                {
                    return Ok(None);
                }
                let changed = unread(" AND notification_id = $2", vec![user.into(), id.into()])?;
                (
                    changed,
                    Statement::new(
                        "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND notification_id = $3 AND read_at IS NULL",
                        vec![now_ms.into(), user.into(), id.into()],
                    ),
                )
            }
            None => (
                unread("", vec![user.into()])?,
                Statement::new("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL", vec![now_ms.into(), user.into()]),
            ),
        };
        self.backend().transaction(&[statement])?;
        Ok(Some(changed))
    }

    /// A notification the API makes (a follower, a like, a comment, a contest starting);
    /// once per id.
    pub fn insert_notification(&self, record: &NotificationRecord) -> Result<(), StoreError> {
        self.backend().transaction(&[notification_statement(record)])
    }

    /// A price alert of an account of the user `owner`'s, unless the account keeps as many
    /// waiting as it may.
    pub fn insert_price_alert(&self, owner: u64, record: &PriceAlertRecord) -> Result<(), StoreError> {
        let insert = Statement::new(
            format!("INSERT INTO {} ({PRICE_ALERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, NULL)", "price_alerts"),
            vec![
                record.alert_id.as_str().into(),
                (record.user_id as i64).into(),
                record.symbol.as_str().into(),
                record.direction.as_str().into(),
                record.price.into(),
                record.created_at_ms.into(),
            ],
        );
        let quota = crate::Quota {
            table: "price_alerts",
            live: "triggered_at IS NULL AND deleted_at IS NULL".into(),
            max: crate::PRICE_ALERTS_MAX,
            what: "price alerts waiting",
        };
        let once = crate::Once {
            condition: "symbol = $2 AND direction = $3 AND price = $4 AND triggered_at IS NULL AND deleted_at IS NULL",
            params: vec![record.symbol.as_str().into(), record.direction.as_str().into(), record.price.into()],
            code: "price_alert_exists",
            message: "you have this alert already, waiting: the same symbol, direction and price".to_owned(),
        };
        self.insert_once(owner, record.user_id, insert, &quota, once)
    }

    /// A user's price alerts not deleted, newest first.
    pub fn price_alerts(&self, user_id: u64) -> Result<Vec<PriceAlertRecord>, StoreError> {
        let rows = self.backend().query(
            &format!("SELECT {PRICE_ALERT_COLUMNS} FROM price_alerts WHERE user_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, alert_id DESC"),
            &[(user_id as i64).into()],
        )?;
        rows.iter().map(price_alert).collect()
    }

    /// Deletes one of a user's price alerts; false if the user has no such alert.
    pub fn delete_price_alert(&self, user_id: u64, alert_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let found = !self
            .backend()
            .query(
                "SELECT alert_id FROM price_alerts WHERE alert_id = $1 AND user_id = $2 AND deleted_at IS NULL",
                &[alert_id.into(), (user_id as i64).into()],
            )?
            .is_empty();
        if found {
            self.backend()
                .transaction(&[Statement::new("UPDATE price_alerts SET deleted_at = $1 WHERE alert_id = $2", vec![now_ms.into(), alert_id.into()])])?;
        }
        Ok(found)
    }
}
