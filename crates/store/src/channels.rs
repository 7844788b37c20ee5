//! Notification channels beyond the app (email, Slack-style webhooks): each user's
//! preferences, the delivery queue a retrying worker works through, alert escalation steps
//! and the contest edges told to entrants.

use std::collections::BTreeMap;

use crate::db::{Param, Row, Statement};
use crate::{AlertRecord, DeliveryOutcome, NotificationRecord, Store, StoreError, notification_statement};

/// Which notification kinds a user wants by email and by Slack-style webhook.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreferencesRecord {
    pub user_id: u64,
    pub email_kinds: Vec<String>,
    pub slack_kinds: Vec<String>,
    pub slack_url: Option<String>,
    pub updated_at_ms: i64,
}

/// A delivery due now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueNotification {
    pub notification: NotificationRecord,
    /// `EMAIL` or `SLACK`.
    pub channel: String,
    /// An email address or a webhook URL.
    pub target: String,
    pub attempts: u32,
}

/// One delivery as queued, for tests and operators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub notification_id: String,
    pub channel: String,
    pub target: String,
    pub attempts: u32,
    pub delivered_at_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// An escalation step taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscalationRecord {
    pub alert_id: String,
    pub step: u32,
    pub escalated_at_ms: i64,
    /// Comma-separated user ids.
    pub recipients: String,
}

fn kinds(text: &str) -> Vec<String> {
    text.split(',').filter(|kind| !kind.is_empty()).map(str::to_owned).collect()
}

fn preferences(row: &Row) -> Result<PreferencesRecord, StoreError> {
    Ok(PreferencesRecord {
        user_id: row.int(0)? as u64,
        email_kinds: kinds(row.text(1)?),
        slack_kinds: kinds(row.text(2)?),
        slack_url: row.opt_text(3)?.map(str::to_owned),
        updated_at_ms: row.int(4)?,
    })
}

/// Queues a delivery of a notification (once per notification, channel and target).
pub fn delivery_statement(notification_id: &str, channel: &str, target: &str, due_ms: i64) -> Statement {
    Statement::new(
        "INSERT INTO notification_deliveries (notification_id, channel, target, attempts, next_attempt_at) VALUES ($1, $2, $3, 0, $4) \
         ON CONFLICT (notification_id, channel, target) DO NOTHING",
        vec![notification_id.into(), channel.into(), target.into(), due_ms.into()],
    )
}

impl Store {
    pub fn preferences(&self, user_id: u64) -> Result<Option<PreferencesRecord>, StoreError> {
        let rows = self.backend().query(
            "SELECT user_id, email_kinds, slack_kinds, slack_url, updated_at FROM notification_preferences WHERE user_id = $1",
            &[(user_id as i64).into()],
        )?;
        rows.first().map(preferences).transpose()
    }

    /// Stores a user's channel preferences. Deliveries still waiting for an attempt that
    /// they no longer ask for (a kind turned off, a Slack webhook removed or replaced) are
    /// given up in the same transaction, as a removed webhook's are: a retry must not reach
    /// an address its user took away.
    pub fn put_preferences(&self, record: &PreferencesRecord) -> Result<(), StoreError> {
        let mut statements = Vec::new();
        for (channel, kinds, url) in [("EMAIL", &record.email_kinds, None), ("SLACK", &record.slack_kinds, record.slack_url.as_deref())] {
            let mut params: Vec<Param> = vec![(record.user_id as i64).into(), channel.into()];
            // Every waiting delivery of the channel, when it is off; otherwise those of a
            // kind not chosen, or (Slack) to another address.
            let unwanted = if kinds.is_empty() || (channel == "SLACK" && url.is_none()) {
                "TRUE".to_owned()
            } else {
                let first = params.len() + 1;
                params.extend(kinds.iter().map(|kind| Param::from(kind.as_str())));
                let list = (first..=params.len()).map(|index| format!("${index}")).collect::<Vec<_>>().join(", ");
                let mut unwanted = format!("notification_id IN (SELECT notification_id FROM notifications WHERE kind NOT IN ({list}))");
                if let Some(url) = url {
                    params.push(url.into());
                    unwanted.push_str(&format!(" OR target <> ${}", params.len()));
                }
                unwanted
            };
            statements.push(Statement::new(
                format!(
                    "UPDATE notification_deliveries SET next_attempt_at = NULL, last_error = 'no longer chosen' \
                     WHERE channel = $2 AND delivered_at IS NULL AND next_attempt_at IS NOT NULL \
                     AND notification_id IN (SELECT notification_id FROM notifications WHERE user_id % 281474976710656 = $1) AND ({unwanted})"
                ),
                params,
            ));
        }
        statements.insert(
            0,
            Statement::new(
                "INSERT INTO notification_preferences (user_id, email_kinds, slack_kinds, slack_url, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id) DO UPDATE SET email_kinds = excluded.email_kinds, slack_kinds = excluded.slack_kinds, slack_url = excluded.slack_url, \
             updated_at = excluded.updated_at",
                vec![
                    (record.user_id as i64).into(),
                    record.email_kinds.join(",").into(),
                    record.slack_kinds.join(",").into(),
                    record.slack_url.clone().into(),
                    record.updated_at_ms.into(),
                ],
            ),
        );
        self.backend().transaction(&statements)
    }

    /// Queues the email and webhook deliveries that users' preferences ask for, of the
    /// notifications made at or after `since_ms` to users with preferences (queued once
    /// each). `owner` names the user of an account id. Returns the newest `created_at` seen.
    pub fn queue_preferred_deliveries(&self, since_ms: i64, now_ms: i64, owner: impl Fn(u64) -> u64) -> Result<Option<i64>, StoreError> {
        // Only notifications of users who chose a channel: an account's owner is its id
        // below 2^48. Pages by (created_at, notification_id), so a burst of notifications
        // never hides the ones after it.
        const PAGE: usize = 500;
        let mut found: BTreeMap<u64, Option<(PreferencesRecord, Option<String>)>> = BTreeMap::new();
        let mut newest = None;
        let mut after: Option<(i64, String)> = None;
        loop {
            let (filter, mut params): (&str, Vec<Param>) = match &after {
                None => ("n.created_at >= $1", vec![since_ms.into()]),
                Some((at, id)) => ("(n.created_at > $1 OR (n.created_at = $1 AND n.notification_id > $2))", vec![(*at).into(), id.as_str().into()]),
            };
            params.push(i64::try_from(PAGE).unwrap_or(500).into());
            let rows = self.backend().query(
                &format!(
                    "SELECT n.notification_id, n.user_id, n.kind, n.created_at FROM notifications n \
                     JOIN notification_preferences p ON p.user_id = n.user_id % 281474976710656 \
                     WHERE {filter} ORDER BY n.created_at, n.notification_id LIMIT ${}",
                    params.len()
                ),
                &params,
            )?;
            let mut statements = Vec::new();
            for row in &rows {
                let (id, account, kind, at) = (row.text(0)?, row.int(1)? as u64, row.text(2)?, row.int(3)?);
                newest = Some(at);
                after = Some((at, id.to_owned()));
                let user = owner(account);
                if let std::collections::btree_map::Entry::Vacant(entry) = found.entry(user) {
                    let preferences = self.preferences(user)?;
                    let email = self.user_by_id(user)?.map(|record| record.email);
                    entry.insert(preferences.map(|preferences| (preferences, email)));
                }
                let Some(Some((preferences, email))) = found.get(&user) else { continue };
                if let Some(email) = email.as_deref().filter(|_| preferences.email_kinds.iter().any(|wanted| wanted == kind)) {
                    statements.push(delivery_statement(id, "EMAIL", email, now_ms));
                }
                if let Some(url) = preferences.slack_url.as_deref().filter(|_| preferences.slack_kinds.iter().any(|wanted| wanted == kind)) {
                    statements.push(delivery_statement(id, "SLACK", url, now_ms));
                }
            }
            if !statements.is_empty() {
                self.backend().transaction(&statements)?;
            }
            if rows.len() < PAGE {
                return Ok(newest);
            }
        }
    }

    /// Deliveries whose next attempt is due at `now_ms`, oldest first.
    pub fn due_notification_deliveries(&self, now_ms: i64, limit: usize) -> Result<Vec<DueNotification>, StoreError> {
        let rows = self.backend().query(
            "SELECT n.notification_id, n.user_id, n.kind, n.title, n.message, n.created_at, n.read_at, d.channel, d.target, d.attempts \
             FROM notification_deliveries d JOIN notifications n ON n.notification_id = d.notification_id \
             WHERE d.next_attempt_at IS NOT NULL AND d.next_attempt_at <= $1 ORDER BY d.next_attempt_at, d.notification_id LIMIT $2",
            &[now_ms.into(), i64::try_from(limit).unwrap_or(100).into()],
        )?;
        rows.iter()
            .map(|row| {
                Ok(DueNotification {
                    notification: crate::notifications::notification(row)?,
                    channel: row.text(7)?.to_owned(),
                    target: row.text(8)?.to_owned(),
                    attempts: u32::try_from(row.int(9)?).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }

    pub fn record_notification_delivery(&self, due: &DueNotification, outcome: &DeliveryOutcome, now_ms: i64) -> Result<(), StoreError> {
        let mut params = crate::alerts::outcome_params(outcome, now_ms);
        params.extend([due.notification.notification_id.as_str().into(), due.channel.as_str().into(), due.target.as_str().into()]);
        self.backend().transaction(&[Statement::new(
            "UPDATE notification_deliveries SET attempts = attempts + 1, next_attempt_at = $1, delivered_at = $2, last_error = $3 \
             WHERE notification_id = $4 AND channel = $5 AND target = $6",
            params,
        )])
    }

    /// Every delivery of one notification.
    pub fn notification_deliveries(&self, notification_id: &str) -> Result<Vec<DeliveryRecord>, StoreError> {
        let rows = self.backend().query(
            "SELECT notification_id, channel, target, attempts, delivered_at, last_error FROM notification_deliveries WHERE notification_id = $1 \
             ORDER BY channel, target",
            &[notification_id.into()],
        )?;
        rows.iter()
            .map(|row| {
                Ok(DeliveryRecord {
                    notification_id: row.text(0)?.to_owned(),
                    channel: row.text(1)?.to_owned(),
                    target: row.text(2)?.to_owned(),
                    attempts: u32::try_from(row.int(3)?).unwrap_or(u32::MAX),
                    delivered_at_ms: row.opt_int(4)?,
                    last_error: row.opt_text(5)?.map(str::to_owned),
                })
            })
            .collect()
    }

    /// Unacknowledged alerts of `severities` made at or before `created_before_ms`, with
    /// how many escalation steps each has had.
    pub fn alerts_to_escalate(&self, severities: &[&str], created_before_ms: i64) -> Result<Vec<(AlertRecord, u32)>, StoreError> {
        let list = severities.iter().map(|severity| format!("'{}'", severity.replace('\'', ""))).collect::<Vec<_>>().join(",");
        let rows = self.backend().query(
            &format!(
                "SELECT a.alert_id, a.user_id, a.severity, a.title, a.message, a.created_at, a.acknowledged_at, \
                 (SELECT COUNT(*) FROM alert_escalations e WHERE e.alert_id = a.alert_id) \
                 FROM alerts a WHERE a.acknowledged_at IS NULL AND a.severity IN ({list}) AND a.created_at <= $1 ORDER BY a.created_at LIMIT 500"
            ),
            &[created_before_ms.into()],
        )?;
        rows.iter().map(|row| Ok((crate::alerts::alert(row)?, u32::try_from(row.int(7)?).unwrap_or(u32::MAX)))).collect()
    }

    /// Records an escalation step with what it sends (notifications and their deliveries),
    /// in one transaction; false, sending nothing, if the step was taken already.
    pub fn record_escalation(&self, escalation: &EscalationRecord, sends: Vec<Statement>) -> Result<bool, StoreError> {
        let taken = !self
            .backend()
            .query(
                "SELECT step FROM alert_escalations WHERE alert_id = $1 AND step = $2",
                &[escalation.alert_id.as_str().into(), i64::from(escalation.step).into()],
            )?
            .is_empty();
        if taken {
            return Ok(false);
        }
        let mut statements = vec![Statement::new(
            "INSERT INTO alert_escalations (alert_id, step, escalated_at, recipients) VALUES ($1, $2, $3, $4)",
            vec![
                escalation.alert_id.as_str().into(),
                i64::from(escalation.step).into(),
                escalation.escalated_at_ms.into(),
                escalation.recipients.as_str().into(),
            ],
        )];
        statements.extend(sends);
        // A second worker taking the same step at once fails on the key and sends nothing.
        match self.backend().transaction(&statements) {
            Ok(()) => Ok(true),
            Err(_) if !self.escalations(&escalation.alert_id)?.iter().all(|taken| taken.step != escalation.step) => Ok(false),
            Err(error) => Err(error),
        }
    }

    pub fn escalations(&self, alert_id: &str) -> Result<Vec<EscalationRecord>, StoreError> {
        let rows = self
            .backend()
            .query("SELECT alert_id, step, escalated_at, recipients FROM alert_escalations WHERE alert_id = $1 ORDER BY step", &[alert_id.into()])?;
        rows.iter()
            .map(|row| {
                Ok(EscalationRecord {
                    alert_id: row.text(0)?.to_owned(),
                    step: u32::try_from(row.int(1)?).unwrap_or(u32::MAX),
                    escalated_at_ms: row.int(2)?,
                    recipients: row.text(3)?.to_owned(),
                })
            })
            .collect()
    }

    /// Who an account's alerts escalate to: its organisation's admins, or, for a user in
    /// no organisation (or one without admins), the platform's admins.
    pub fn escalation_recipients(&self, user_id: u64) -> Result<Vec<u64>, StoreError> {
        if let Some(member) = self.member(user_id)? {
            let admins: Vec<u64> = self
                .members(member.org_id)?
                .into_iter()
                .filter(|member| member.role == "org_admin" && member.user_id != user_id)
                .map(|member| member.user_id)
                .collect();
            if !admins.is_empty() {
                return Ok(admins);
            }
        }
        let rows = self.backend().query("SELECT user_id FROM users WHERE role = 'admin' ORDER BY user_id", &[])?;
        rows.iter().map(|row| Ok(row.int(0)? as u64)).collect()
    }

    /// Every contest edge told so far, as (contest id, edge).
    pub fn contest_edges_told(&self) -> Result<std::collections::BTreeSet<(u64, String)>, StoreError> {
        let rows = self.backend().query("SELECT contest_id, edge FROM contest_events", &[])?;
        rows.iter().map(|row| Ok((row.int(0)? as u64, row.text(1)?.to_owned()))).collect()
    }

    /// Records that a contest's `edge` (`STARTED` or `ENDED`) was told, with the
    /// notifications telling it; false, storing nothing, if it was told already.
    pub fn record_contest_edge(&self, contest_id: u64, edge: &str, at_ms: i64, notifications: &[NotificationRecord]) -> Result<bool, StoreError> {
        let told = || -> Result<bool, StoreError> {
            Ok(!self
                .backend()
                .query("SELECT at FROM contest_events WHERE contest_id = $1 AND edge = $2", &[(contest_id as i64).into(), edge.into()])?
                .is_empty())
        };
        if told()? {
            return Ok(false);
        }
        let mut statements = vec![Statement::new(
            "INSERT INTO contest_events (contest_id, edge, at) VALUES ($1, $2, $3)",
            vec![(contest_id as i64).into(), edge.into(), at_ms.into()],
        )];
        statements.extend(notifications.iter().map(notification_statement));
        match self.backend().transaction(&statements) {
            Ok(()) => Ok(true),
            // Another gateway told it at the same moment: its row won.
            Err(_) if told()? => Ok(false),
            Err(error) => Err(error),
        }
    }
}
