//! Alerts (limit breaches, so far) for their user: listed and acknowledged over HTTP,
//! pushed in-app on the WebSocket topic `alerts:{userId}`, and delivered to the user's
//! webhooks by a worker that retries with exponential backoff.

use std::time::Duration;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tradecraft_store::{AlertRecord, DeliveryOutcome, Store, WebhookRecord};
use tradecraft_types::Timestamp;

use crate::auth::{MaybeCaller, account_for, now_ms, random_token};
use crate::identity::audit;
use crate::reads::ask;
use crate::routes::{bounded, parse_id};
use crate::{ApiError, Shared};

pub(crate) fn alert_json(alert: &AlertRecord) -> Value {
    json!({
        "alertId": alert.alert_id, "userId": alert.user_id.to_string(), "severity": alert.severity,
        "title": alert.title, "message": alert.message, "createdAt": Timestamp::from_millis(alert.created_at_ms).to_string(),
        "acknowledgedAt": alert.acknowledged_at_ms.map(|at| Timestamp::from_millis(at).to_string()),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlertParams {
    user_id: Option<String>,
    /// `true`: only alerts not yet acknowledged.
    open: Option<bool>,
    limit: Option<String>,
}

/// `GET /v1/alerts?userId=&open=true&limit=`: newest first.
pub(crate) async fn list(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<AlertParams>,
) -> Result<Json<Value>, ApiError> {
    let user = account_for(&caller, params.user_id.as_deref().map(|text| parse_id("userId", text)).transpose()?)?;
    let limit = bounded(params.limit.as_deref(), 100, tradecraft_store::PAGE_LIMIT_MAX, "limit")?;
    let open = params.open.unwrap_or(false);
    let alerts = ask(&state, move |store| store.alerts(user, open, limit)).await?;
    Ok(Json(json!({"alerts": alerts.iter().map(alert_json).collect::<Vec<_>>()})))
}

/// `POST /v1/alerts/{alertId}/acknowledge`.
pub(crate) async fn acknowledge(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(alert_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let user = account_for(&caller, None)?;
    let id = alert_id.clone();
    if !ask(&state, move |store| store.acknowledge_alert(user, &id, now_ms())).await? {
        return Err(ApiError::NotFound(format!("alert {alert_id}")));
    }
    Ok(Json(json!({"alertId": alert_id, "acknowledged": true})))
}

fn webhook_json(webhook: &WebhookRecord) -> Value {
    json!({"webhookId": webhook.webhook_id, "url": webhook.url, "createdAt": Timestamp::from_millis(webhook.created_at_ms).to_string()})
}

/// `POST /v1/webhooks` `{url}`: alerts are POSTed there as JSON.
pub(crate) async fn create_webhook(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let user = account_for(&caller, None)?;
    let Json(body) = body?;
    let url = body.get("url").and_then(Value::as_str).unwrap_or_default().to_owned();
    let valid = (url.starts_with("http://") || url.starts_with("https://")) && url.len() <= 2_000 && reqwest::Url::parse(&url).is_ok();
    if !valid {
        return Err(ApiError::bad_request("invalid_field", "url must be an http(s) URL"));
    }
    let webhook = WebhookRecord { webhook_id: random_token(9), user_id: user, url, created_at_ms: now_ms() };
    let record = webhook.clone();
    ask(&state, move |store| store.insert_webhook(&record)).await?;
    audit(&state, &caller, "webhook.created", format!("user:{user}"), json!({"webhookId": webhook.webhook_id, "url": webhook.url})).await;
    Ok((StatusCode::CREATED, Json(webhook_json(&webhook))).into_response())
}

pub(crate) async fn list_webhooks(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>) -> Result<Json<Value>, ApiError> {
    let user = account_for(&caller, None)?;
    let webhooks = ask(&state, move |store| store.webhooks(user)).await?;
    Ok(Json(json!({"webhooks": webhooks.iter().map(webhook_json).collect::<Vec<_>>()})))
}

pub(crate) async fn delete_webhook(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(webhook_id): Path<String>,
) -> Result<Response, ApiError> {
    let user = account_for(&caller, None)?;
    let id = webhook_id.clone();
    if !ask(&state, move |store| store.revoke_webhook(user, &id, now_ms())).await? {
        return Err(ApiError::NotFound(format!("webhook {webhook_id}")));
    }
    audit(&state, &caller, "webhook.removed", format!("user:{user}"), json!({"webhookId": webhook_id})).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// How the webhook worker retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Wait before the second attempt; doubled for each one after.
    pub first_backoff_ms: i64,
    pub max_backoff_ms: i64,
    pub max_attempts: u32,
    pub timeout: Duration,
    pub poll: Duration,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        Self { first_backoff_ms: 1_000, max_backoff_ms: 3_600_000, max_attempts: 10, timeout: Duration::from_secs(5), poll: Duration::from_millis(250) }
    }
}

impl WebhookPolicy {
    /// When to try again after `attempts` failed tries, or `None` to give up.
    pub fn next_attempt(&self, attempts: u32, now_ms: i64) -> Option<i64> {
        (attempts < self.max_attempts).then(|| {
            let backoff = self.first_backoff_ms.saturating_mul(1_i64 << (attempts.saturating_sub(1)).min(30)).min(self.max_backoff_ms);
            now_ms + backoff
        })
    }
}

/// Delivers due alerts to webhooks until `stop` fires: a 2xx answer is delivered; any
/// other answer or no answer is retried with exponential backoff, up to the policy's limit.
pub async fn run_webhooks(store: Store, policy: WebhookPolicy, mut stop: tokio::sync::watch::Receiver<bool>) {
    let client = match reqwest::Client::builder().timeout(policy.timeout).build() {
        Ok(client) => client,
        Err(error) => return tracing::error!(error = %error, "webhooks: no HTTP client"),
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(policy.poll) => {}
            _ = stop.changed() => return,
        }
        let now = now_ms();
        let due = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.due_deliveries(now, 100)).await
        };
        let due = match due {
            Ok(Ok(due)) => due,
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "webhooks: reading the queue failed");
                continue;
            }
            Err(_) => continue,
        };
        for delivery in due {
            let body = alert_json(&delivery.alert);
            let result = client.post(&delivery.url).json(&json!({"type": "alert", "alert": body})).send().await;
            let attempts = delivery.attempts + 1;
            let outcome = match result {
                Ok(response) if response.status().is_success() => DeliveryOutcome::Delivered,
                failed => {
                    let error = match failed {
                        Ok(response) => format!("HTTP {}", response.status().as_u16()),
                        Err(error) => error.to_string(),
                    };
                    match policy.next_attempt(attempts, now_ms()) {
                        Some(next_attempt_at_ms) => DeliveryOutcome::Retry { error, next_attempt_at_ms },
                        None => DeliveryOutcome::GaveUp { error },
                    }
                }
            };
            tracing::info!(alert_id = %delivery.alert.alert_id, webhook_id = %delivery.webhook_id, attempts, outcome = ?outcome, "webhook delivery");
            let store = store.clone();
            let (alert_id, webhook_id) = (delivery.alert.alert_id.clone(), delivery.webhook_id.clone());
            let recorded = tokio::task::spawn_blocking(move || store.record_delivery(&alert_id, &webhook_id, &outcome, now_ms())).await;
            if !matches!(recorded, Ok(Ok(()))) {
                tracing::warn!("webhooks: recording a delivery failed; it will be retried");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap_then_gives_up() {
        let policy = WebhookPolicy { first_backoff_ms: 100, max_backoff_ms: 1_000, max_attempts: 6, ..WebhookPolicy::default() };
        let waits: Vec<Option<i64>> = (1..=6).map(|attempts| policy.next_attempt(attempts, 0)).collect();
        assert_eq!(waits, [Some(100), Some(200), Some(400), Some(800), Some(1_000), None]);
    }
}
