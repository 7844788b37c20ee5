//! Notifications beyond the app: email through an SMTP server and Slack-style incoming
//! webhooks, chosen per kind by each user, delivered by a worker that retries with
//! exponential backoff; and the escalation of unacknowledged ERROR and CRITICAL alerts
//! (seed 002's matrix).
//!
//! | Step | After | To | Channels |
//! |------|-------|----|----------|
//! | 0 | at once | the user | in-app, webhooks, the user's email and Slack kinds |
//! | 1 | 15 min | the organisation's admins (the platform's without one) | in-app, email |
//! | 2 | 30 min | the same | in-app, email, Slack |
//!
//! SMS and phone calls (the seed's 30-minute step for CRITICAL) have no provider here.

use std::time::Duration;

use axum::Json;
use axum::extract::{Extension, State};
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tradecraft_store::{
    AlertRecord, AuditRecord, DeliveryOutcome, DueNotification, EscalationRecord, NotificationRecord, PreferencesRecord, Statement, Store, StoreError,
    audit_statement, delivery_statement, notification_statement,
};
use utoipa::ToSchema;

use crate::alerts::{WebhookPolicy, check_webhook_url};
use crate::auth::{MaybeCaller, own_account};
use crate::clock::Clock;
use crate::extract::{Body, field_error, from_object};
use crate::reads::ask_now;
use crate::responses::ErrorBody;
use crate::{ApiError, Shared};

/// Every kind of notification, each of which a user may want by email or webhook.
pub const KINDS: [&str; 12] = [
    "ORDER_FILLED",
    "ORDER_REFUSED",
    "ORDER_EXPIRED",
    "LIMIT_BREACH",
    "PRICE_ALERT",
    "NEW_FOLLOWER",
    "LIKE",
    "COMMENT",
    "CONTEST_STARTED",
    "CONTEST_ENDED",
    "ESCALATION",
    "ORG_INVITATION",
];

/// Alert severities that escalate.
pub const ESCALATING: [&str; 2] = ["error", "critical"];

/// One step of the escalation matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EscalationStep {
    pub step: u32,
    /// After the alert was raised.
    pub after_ms: i64,
    pub email: bool,
    pub slack: bool,
}

/// Steps 1 and 2 of the matrix (step 0 is the alert's own delivery).
pub const ESCALATION_STEPS: [EscalationStep; 2] =
    [EscalationStep { step: 1, after_ms: 15 * 60_000, email: true, slack: false }, EscalationStep { step: 2, after_ms: 30 * 60_000, email: true, slack: true }];

/// The steps due for an alert raised at `created_ms` that has had `done` of them.
pub fn due_steps(created_ms: i64, done: u32, now_ms: i64) -> Vec<EscalationStep> {
    ESCALATION_STEPS.iter().copied().filter(|step| step.step > done && now_ms >= created_ms + step.after_ms).collect()
}

/// `GET`/`PUT /v1/me/notification-preferences`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Preferences {
    /// Kinds also sent to the user's email address (each of `KINDS` at most once).
    #[schema(value_type = Vec<String>, max_items = 12)]
    pub email_kinds: Vec<String>,
    /// Kinds also POSTed to `slackWebhookUrl` (`{"text": ...}`).
    #[schema(value_type = Vec<String>, max_items = 12)]
    pub slack_kinds: Vec<String>,
    /// A Slack-style incoming webhook (http or https; public addresses unless the server
    /// allows any).
    #[schema(max_length = 2048)]
    pub slack_webhook_url: Option<String>,
}

impl From<PreferencesRecord> for Preferences {
    fn from(record: PreferencesRecord) -> Self {
        Self { email_kinds: record.email_kinds, slack_kinds: record.slack_kinds, slack_webhook_url: record.slack_url }
    }
}

/// The caller's channel preferences (none chosen until set).
#[utoipa::path(get, path = "/v1/me/notification-preferences", tag = "notifications",
    responses((status = 200, description = "The preferences.", body = Preferences), (status = 403, description = "The operator key, which has no account.", body = ErrorBody)))]
pub(crate) async fn get_preferences(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>) -> Result<Json<Preferences>, ApiError> {
    let user = own_account(&caller)?;
    Ok(Json(ask_now(&state, move |store| store.preferences(user)).await?.unwrap_or_default().into()))
}

/// Choose which notification kinds also go by email and to a Slack-style webhook.
#[utoipa::path(put, path = "/v1/me/notification-preferences", tag = "notifications", request_body = Preferences,
    responses(
        (status = 200, description = "The preferences.", body = Preferences),
        (status = 400, description = "An unknown kind, a bad URL, or Slack kinds without a URL.", body = ErrorBody),
    ))]
pub(crate) async fn put_preferences(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Body(body): Body<Value>,
) -> Result<Json<Preferences>, ApiError> {
    let user = own_account(&caller)?;
    let request: Preferences = from_object(body)?;
    let mut checked = Vec::new();
    for (field, kinds) in [("emailKinds", &request.email_kinds), ("slackKinds", &request.slack_kinds)] {
        if kinds.len() > KINDS.len() {
            return Err(field_error(field, format!("at most {} kinds, each once", KINDS.len())));
        }
        let mut list: Vec<String> = Vec::new();
        for kind in kinds {
            if !KINDS.contains(&kind.as_str()) {
                return Err(field_error(field, format!("{kind:?} is not one of {}", KINDS.join(", "))));
            }
            if !list.contains(kind) {
                list.push(kind.clone());
            }
        }
        checked.push(list);
    }
    let slack_url = match request.slack_webhook_url.as_deref() {
        Some(url) => Some(check_webhook_url(url, state.webhook_targets).map_err(|message| field_error("slackWebhookUrl", message))?.to_string()),
        None => None,
    };
    if slack_url.is_none() && !checked[1].is_empty() {
        return Err(field_error("slackWebhookUrl", "is required for slackKinds"));
    }
    let slack_kinds = checked.pop().unwrap_or_default();
    let email_kinds = checked.pop().unwrap_or_default();
    let record = PreferencesRecord { user_id: user, email_kinds, slack_kinds, slack_url, updated_at_ms: state.clock.now_ms() };
    let stored = record.clone();
    ask_now(&state, move |store| store.put_preferences(&stored)).await?;
    Ok(Json(record.into()))
}

/// Where email goes out: `smtp://[user:password@]host[:port]` (plain SMTP, for a relay
/// such as a local Postfix) and the sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailConfig {
    pub url: String,
    /// `Name <address>` or an address.
    pub from: String,
    /// Where users open the web app (`https://trade.example.com`), for links in emails;
    /// without it an email gives its code alone.
    pub public_url: Option<String>,
}

impl EmailConfig {
    /// The transport, or why the URL cannot be used.
    pub fn transport(&self, timeout: Duration) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        if !self.url.starts_with("smtp://") {
            return Err(format!("the SMTP URL must start with smtp:// (this build has no TLS): {}", self.url));
        }
        self.from.parse::<lettre::message::Mailbox>().map_err(|error| format!("the sender {:?}: {error}", self.from))?;
        let url = url::Url::parse(&self.url).map_err(|error| format!("the SMTP URL {}: {error}", self.url))?;
        let host = url.host_str().filter(|host| !host.is_empty()).ok_or_else(|| format!("the SMTP URL {} names no host", self.url))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(url.port().unwrap_or(25)).timeout(Some(timeout));
        if !url.username().is_empty() {
            let decode = |text: &str| percent_decode(text);
            builder = builder
                .credentials(lettre::transport::smtp::authentication::Credentials::new(decode(url.username()), decode(url.password().unwrap_or_default())));
        }
        Ok(builder.build())
    }
}

fn percent_decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes()).next().map(|(_, value)| value.into_owned()).unwrap_or_default()
}

/// What the notification worker needs.
#[derive(Clone, Debug)]
pub struct ChannelConfig {
    pub policy: WebhookPolicy,
    pub email: Option<EmailConfig>,
    pub clock: Clock,
    /// Names the user an account belongs to.
    pub owner: fn(u64) -> u64,
}

/// Queues the deliveries users asked for, escalates alerts nobody acknowledged, and
/// delivers what is due, every `policy.poll`, until `stop` fires.
pub async fn run_channels(store: Store, config: ChannelConfig, mut stop: tokio::sync::watch::Receiver<bool>) {
    let http = match crate::egress::delivery_client(&config.policy) {
        Ok(client) => client,
        Err(error) => return tracing::error!(error = %error, "notifications: no HTTP client"),
    };
    let mailer = match config.email.as_ref().map(|email| email.transport(config.policy.timeout)).transpose() {
        Ok(mailer) => mailer,
        Err(error) => return tracing::error!(error = %error, "notifications: email is not configured"),
    };
    // Notifications of the last minute are looked at again each time: the projector may
    // write one stamped a little earlier than another it already wrote.
    let mut since = config.clock.now_ms() - 600_000;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(config.policy.poll) => {}
            _ = stop.changed() => return,
        }
        let now = config.clock.now_ms();
        let (owner, scan_from) = (config.owner, since - 60_000);
        match blocking(&store, move |store| store.queue_preferred_deliveries(scan_from, now, owner)).await {
            Ok(Some(newest)) => since = since.max(newest),
            Ok(None) => {}
            Err(error) => tracing::warn!(error = %error, "notifications: queueing deliveries failed"),
        }
        if let Err(error) = blocking(&store, move |store| escalate(store, now)).await {
            tracing::warn!(error = %error, "notifications: escalation failed");
        }
        let due = match blocking(&store, move |store| store.due_notification_deliveries(now, 100)).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(error = %error, "notifications: reading the queue failed");
                continue;
            }
        };
        for delivery in due {
            let attempts = delivery.attempts + 1;
            let result = match delivery.channel.as_str() {
                "EMAIL" => send_email(mailer.as_ref(), config.email.as_ref(), &delivery).await,
                _ => send_slack(&http, &delivery, config.policy).await,
            };
            let outcome = match result {
                Ok(()) => DeliveryOutcome::Delivered,
                Err(Failure::Permanent(error)) => DeliveryOutcome::GaveUp { error },
                Err(Failure::Temporary(error)) => match config.policy.next_attempt(attempts, config.clock.now_ms()) {
                    Some(next_attempt_at_ms) => DeliveryOutcome::Retry { error, next_attempt_at_ms },
                    None => DeliveryOutcome::GaveUp { error },
                },
            };
            tracing::info!(notification_id = %delivery.notification.notification_id, channel = %delivery.channel, attempts, outcome = ?outcome, "notification delivery");
            let at = config.clock.now_ms();
            if let Err(error) = blocking(&store, move |store| store.record_notification_delivery(&delivery, &outcome, at)).await {
                tracing::warn!(error = %error, "notifications: recording a delivery failed; it will be retried");
            }
        }
    }
}

async fn blocking<T: Send + 'static>(store: &Store, work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static) -> Result<T, StoreError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || work(&store)).await.map_err(|error| StoreError::Invalid(error.to_string()))?
}

enum Failure {
    /// Try again later.
    Temporary(String),
    /// Trying again cannot help.
    Permanent(String),
}

async fn send_email(mailer: Option<&AsyncSmtpTransport<Tokio1Executor>>, config: Option<&EmailConfig>, delivery: &DueNotification) -> Result<(), Failure> {
    let (Some(mailer), Some(config)) = (mailer, config) else { return Err(Failure::Permanent("no SMTP server is configured (--smtp-url)".to_owned())) };
    let notification = &delivery.notification;
    let body = format!("{}\n\n({}, {})\n", notification.message, notification.kind, tradecraft_types::Timestamp::from_millis(notification.created_at_ms));
    let message = plain_message(config, &delivery.target, format!("TradeCraft: {}", notification.title), body).map_err(Failure::Permanent)?;
    match mailer.send(message).await {
        Ok(_) => Ok(()),
        Err(error) if error.is_permanent() => Err(Failure::Permanent(error.to_string())),
        Err(error) => Err(Failure::Temporary(error.to_string())),
    }
}

/// A plain-text email from the configured sender to `to`.
fn plain_message(config: &EmailConfig, to: &str, subject: String, body: String) -> Result<Message, String> {
    let to = to.parse::<lettre::message::Mailbox>().map_err(|error| format!("the address {to:?}: {error}"))?;
    let from = config.from.parse::<lettre::message::Mailbox>().map_err(|error| error.to_string())?;
    Message::builder().from(from).to(to).subject(subject).header(ContentType::TEXT_PLAIN).body(body).map_err(|error| error.to_string())
}

/// Sends one email at once (no queue, no retry): for messages whose content may not be
/// stored, such as a password reset code, which its user can simply ask for again.
pub(crate) async fn send_now(config: &EmailConfig, timeout: Duration, to: &str, subject: String, body: String) -> Result<(), String> {
    let message = plain_message(config, to, subject, body)?;
    config.transport(timeout)?.send(message).await.map(|_| ()).map_err(|error| error.to_string())
}

async fn send_slack(http: &reqwest::Client, delivery: &DueNotification, policy: WebhookPolicy) -> Result<(), Failure> {
    crate::alerts::deliverable(&delivery.target, policy.targets).await.map_err(Failure::Permanent)?;
    let notification = &delivery.notification;
    let body = json!({"text": format!("*{}*\n{}", notification.title, notification.message), "kind": notification.kind});
    match http.post(&delivery.target).json(&body).send().await {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(Failure::Temporary(format!("HTTP {}", response.status().as_u16()))),
        Err(error) => Err(Failure::Temporary(error.to_string())),
    }
}

/// Takes every escalation step due at `now_ms`, each once: notifications to the
/// recipients, their email (and Slack) deliveries and an `alert.escalated` audit entry,
/// in one transaction per step.
pub fn escalate(store: &Store, now_ms: i64) -> Result<usize, StoreError> {
    let first = ESCALATION_STEPS[0].after_ms;
    let mut taken = 0;
    for (alert, done) in store.alerts_to_escalate(&ESCALATING, now_ms - first)? {
        for step in due_steps(alert.created_at_ms, done, now_ms) {
            let recipients = store.escalation_recipients(crate::auth::owner_of(alert.user_id).unwrap_or(alert.user_id))?;
            let sends = escalation_sends(store, &alert, step, &recipients, now_ms)?;
            let record = EscalationRecord {
                alert_id: alert.alert_id.clone(),
                step: step.step,
                escalated_at_ms: now_ms,
                recipients: recipients.iter().map(u64::to_string).collect::<Vec<_>>().join(","),
            };
            if store.record_escalation(&record, sends)? {
                taken += 1;
            }
        }
    }
    Ok(taken)
}

fn escalation_sends(store: &Store, alert: &AlertRecord, step: EscalationStep, recipients: &[u64], now_ms: i64) -> Result<Vec<Statement>, StoreError> {
    let minutes = step.after_ms / 60_000;
    let mut channels = vec!["IN_APP"];
    let mut sends = Vec::new();
    for &recipient in recipients {
        let notification = NotificationRecord {
            notification_id: format!("escalation:{}:{}:{recipient}", alert.alert_id, step.step),
            user_id: recipient,
            kind: "ESCALATION".to_owned(),
            title: format!("Unacknowledged {} alert: {}", alert.severity.to_uppercase(), alert.title),
            message: format!("Account {} has not acknowledged this alert for {minutes} minutes: {}", alert.user_id, alert.message),
            created_at_ms: now_ms,
            read_at_ms: None,
        };
        sends.push(notification_statement(&notification));
        if step.email
            && let Some(user) = store.user_by_id(recipient)?
        {
            sends.push(delivery_statement(&notification.notification_id, "EMAIL", &user.email, now_ms));
        }
        if step.slack
            && let Some(url) = store.preferences(recipient)?.and_then(|preferences| preferences.slack_url)
        {
            sends.push(delivery_statement(&notification.notification_id, "SLACK", &url, now_ms));
        }
    }
    if step.email {
        channels.push("EMAIL");
    }
    if step.slack {
        channels.push("SLACK");
    }
    sends.push(audit_statement(&AuditRecord {
        entry_id: crate::auth::ordered_token(8),
        at_ms: now_ms,
        actor: "escalation".to_owned(),
        action: "alert.escalated".to_owned(),
        subject: format!("alert:{}", alert.alert_id),
        details: json!({"step": step.step, "afterMinutes": minutes, "severity": alert.severity, "userId": alert.user_id.to_string(),
            "recipients": recipients.iter().map(u64::to_string).collect::<Vec<_>>(), "channels": channels})
        .to_string(),
    }));
    Ok(sends)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_steps_at_15_and_30_minutes_once_each() {
        let minute = 60_000;
        let steps = |done, now| due_steps(0, done, now).iter().map(|step| step.step).collect::<Vec<_>>();
        assert!(steps(0, 15 * minute - 1).is_empty());
        assert_eq!(steps(0, 15 * minute), [1]);
        assert!(steps(1, 29 * minute).is_empty());
        assert_eq!(steps(1, 30 * minute), [2]);
        assert_eq!(steps(0, 45 * minute), [1, 2], "a worker that was down catches up in order");
        assert!(steps(2, 24 * 60 * minute).is_empty(), "nothing after the last step");
    }

    #[test]
    fn only_smtp_urls_are_taken() {
        let config = |url: &str| EmailConfig { url: url.to_owned(), from: "TradeCraft <noreply@example.com>".to_owned(), public_url: None };
        assert!(config("smtp://127.0.0.1:2525").transport(Duration::from_secs(1)).is_ok());
        assert!(config("smtp://user:secret@mail.example.com").transport(Duration::from_secs(1)).is_ok());
        assert!(config("smtps://mail.example.com").transport(Duration::from_secs(1)).is_err());
        assert!(config("http://mail.example.com").transport(Duration::from_secs(1)).is_err());
        let bad_sender = EmailConfig { url: "smtp://127.0.0.1".to_owned(), from: "not an address".to_owned(), public_url: None };
        assert!(bad_sender.transport(Duration::from_secs(1)).is_err());
    }
}
