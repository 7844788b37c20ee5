//! Alerts (limit breaches, so far) for their user: listed and acknowledged over HTTP,
//! pushed in-app on the WebSocket topic `alerts:{userId}`, and delivered to the user's
//! webhooks by a worker that retries with exponential backoff.

use std::time::Duration;

use crate::extract::{Body, Query, field_error};
use crate::models::WebhookRequest;
use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tradecraft_store::{AlertRecord, DeliveryOutcome, Store, WebhookRecord};
use tradecraft_types::Timestamp;
use utoipa::IntoParams;

use crate::auth::{MaybeCaller, account_for, now_ms, own_account, random_token};
use crate::identity::audit;
use crate::reads::ask;
use crate::responses::{Acknowledged, Alert, Alerts, ErrorBody, Webhook, Webhooks};
use crate::routes::{bounded, parse_id};
use crate::{ApiError, Shared};

pub(crate) fn alert_of(alert: &AlertRecord) -> Alert {
    Alert {
        alert_id: alert.alert_id.clone(),
        user_id: alert.user_id.to_string(),
        severity: alert.severity.clone(),
        title: alert.title.clone(),
        message: alert.message.clone(),
        created_at: Timestamp::from_millis(alert.created_at_ms).to_string(),
        acknowledged_at: alert.acknowledged_at_ms.map(|at| Timestamp::from_millis(at).to_string()),
    }
}

pub(crate) fn alert_json(alert: &AlertRecord) -> Value {
    serde_json::to_value(alert_of(alert)).unwrap_or_default()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlertParams {
    /// Default: the caller.
    #[param(value_type = Option<String>, pattern = "^(0|[1-9][0-9]{0,18})$")]
    user_id: Option<String>,
    /// `true`: only alerts not yet acknowledged.
    open: Option<bool>,
    /// 1 to 1000, default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The previous page's `nextPageToken` (with the same `open`).
    #[param(value_type = Option<String>, max_length = 1000)]
    page_token: Option<String>,
}

/// The caller's alerts (limit breaches), newest first, a page at a time; also pushed on the WebSocket topic
/// `alerts:{userId}` and POSTed to the caller's webhooks.
#[utoipa::path(get, path = "/v1/alerts", tag = "alerts", params(AlertParams), responses(
    (status = 200, description = "Alerts, newest first.", body = Alerts),
))]
pub(crate) async fn list(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<AlertParams>,
) -> Result<Json<Alerts>, ApiError> {
    let user = account_for(&caller, params.user_id.as_deref().map(|text| parse_id("userId", text)).transpose()?)?;
    let limit = bounded(params.limit.as_deref(), 100, tradecraft_store::PAGE_LIMIT_MAX, "limit")?;
    let open = params.open.unwrap_or(false);
    crate::routes::short_text("pageToken", params.page_token.as_deref(), 1000)?;
    let (alerts, next_page_token) = ask(&state, move |store| store.alerts_page(user, open, limit, params.page_token.as_deref())).await?;
    Ok(Json(Alerts { alerts: alerts.iter().map(alert_of).collect(), pagination: crate::responses::NextPage { next_page_token } }))
}

/// Acknowledge one of the caller's alerts.
#[utoipa::path(post, path = "/v1/alerts/{alert_id}/acknowledge", tag = "alerts",
    params(("alert_id" = String, Path, max_length = 128, description = "An alert id.")),
    responses(
        (status = 200, description = "Acknowledged.", body = Acknowledged),
        (status = 404, description = "No such alert of yours.", body = ErrorBody),
    ))]
pub(crate) async fn acknowledge(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(alert_id): Path<String>,
) -> Result<Json<Acknowledged>, ApiError> {
    let user = own_account(&caller)?;
    crate::routes::short_text("alertId", Some(&alert_id), 128)?;
    let id = alert_id.clone();
    if !ask(&state, move |store| store.acknowledge_alert(user, &id, now_ms())).await? {
        return Err(ApiError::NotFound(format!("alert {alert_id}")));
    }
    Ok(Json(Acknowledged { alert_id, acknowledged: true }))
}

pub(crate) fn webhook_of(webhook: &WebhookRecord) -> Webhook {
    Webhook { webhook_id: webhook.webhook_id.clone(), url: webhook.url.clone(), created_at: Timestamp::from_millis(webhook.created_at_ms).to_string() }
}

/// Register a webhook: alerts are POSTed to it as JSON, retried with exponential backoff
/// (1 s doubling to 1 h, 10 attempts) until it answers 2xx. The URL is http or https
/// with a host, no credentials, no whitespace or control characters, at most 2,048
/// characters; with [`WebhookTargets::Public`] (the server's default) it may not name a
/// loopback, private, link-local or otherwise non-public address.
#[utoipa::path(post, path = "/v1/webhooks", tag = "alerts", request_body = WebhookRequest, responses(
    (status = 201, description = "The webhook.", body = Webhook),
    (status = 400, description = "Not an allowed http(s) URL.", body = ErrorBody),
    (status = 409, description = "`too_many`: the caller keeps 20 webhooks already; `webhook_exists`: one for that URL.", body = ErrorBody),
))]
pub(crate) async fn create_webhook(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Body(request): Body<WebhookRequest>,
) -> Result<Response, ApiError> {
    let user = own_account(&caller)?;
    let url = check_webhook_url(request.url.as_str(), state.webhook_targets).map_err(|message| field_error("url", message))?;
    let webhook = WebhookRecord { webhook_id: random_token(9), user_id: user, url: url.to_string(), created_at_ms: now_ms() };
    let record = webhook.clone();
    ask(&state, move |store| store.insert_webhook(&record)).await?;
    audit(&state, &caller, "webhook.created", format!("user:{user}"), json!({"webhookId": webhook.webhook_id, "url": webhook.url})).await;
    Ok((StatusCode::CREATED, Json(webhook_of(&webhook))).into_response())
}

/// Which hosts webhooks may target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WebhookTargets {
    /// Any host (a laptop's own receivers, tests).
    Any,
    /// Public addresses only: no loopback, private, link-local, shared, documentation,
    /// multicast or unspecified addresses, and no `localhost` names (also checked for
    /// every address a name resolves to when delivering).
    #[default]
    Public,
}

/// `text` as a webhook URL, or why not.
pub fn check_webhook_url(text: &str, targets: WebhookTargets) -> Result<reqwest::Url, String> {
    if text.chars().any(|character| character.is_whitespace() || character.is_control()) {
        return Err("no whitespace or control characters".to_owned());
    }
    let url = reqwest::Url::parse(text).map_err(|error| format!("not a URL: {error}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err("the scheme must be http or https".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials in the URL are not allowed".to_owned());
    }
    let host = url.host().ok_or_else(|| "a host is required".to_owned())?;
    if let url::Host::Domain(name) = &host {
        // A name DNS can hold: dot-separated labels of letters, digits, hyphens (and the
        // underscores of service names), none empty or starting or ending with a hyphen.
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.len() > 253 || !name.split('.').all(|label| crate::extract::dns_label(label, true)) {
            return Err(format!("{name:?} is not a host name"));
        }
    }
    if url.port() == Some(0) {
        return Err("port 0 is not one a server listens on".to_owned());
    }
    if targets == WebhookTargets::Public {
        let public = match host {
            url::Host::Ipv4(address) => crate::egress::public_address(std::net::IpAddr::V4(address)),
            url::Host::Ipv6(address) => crate::egress::public_address(std::net::IpAddr::V6(address)),
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                !(name == "localhost" || name.ends_with(".localhost") || name.ends_with(".local") || name.ends_with(".internal") || !name.contains('.'))
            }
        };
        if !public {
            return Err("this server only delivers webhooks to public addresses".to_owned());
        }
    }
    Ok(url)
}

/// Whether every address `url`'s host resolves to may be delivered to.
pub(crate) async fn deliverable(url: &str, targets: WebhookTargets) -> Result<(), String> {
    let url = check_webhook_url(url, targets)?;
    if targets == WebhookTargets::Any {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let addresses = tokio::net::lookup_host((host.as_str(), port)).await.map_err(|error| format!("cannot resolve {host}: {error}"))?;
    for address in addresses {
        if !crate::egress::public_address(address.ip()) {
            return Err(format!("{host} resolves to {}, which is not a public address", address.ip()));
        }
    }
    Ok(())
}

/// The caller's webhooks.
#[utoipa::path(get, path = "/v1/webhooks", tag = "alerts", responses((status = 200, description = "Webhooks.", body = Webhooks)))]
pub(crate) async fn list_webhooks(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>) -> Result<Json<Webhooks>, ApiError> {
    let user = own_account(&caller)?;
    let webhooks = ask(&state, move |store| store.webhooks(user)).await?;
    Ok(Json(Webhooks { webhooks: webhooks.iter().map(webhook_of).collect() }))
}

/// Remove a webhook (its pending deliveries stop).
#[utoipa::path(delete, path = "/v1/webhooks/{webhook_id}", tag = "alerts",
    params(("webhook_id" = String, Path, max_length = 64, description = "A webhook id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such webhook of yours.", body = ErrorBody),
    ))]
pub(crate) async fn delete_webhook(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(webhook_id): Path<String>,
) -> Result<Response, ApiError> {
    let user = own_account(&caller)?;
    crate::routes::short_text("webhookId", Some(&webhook_id), 64)?;
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
    pub targets: WebhookTargets,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        Self {
            first_backoff_ms: 1_000,
            max_backoff_ms: 3_600_000,
            max_attempts: 10,
            timeout: Duration::from_secs(5),
            poll: Duration::from_millis(250),
            targets: WebhookTargets::Public,
        }
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
    let client = match crate::egress::delivery_client(&policy) {
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
            let attempts = delivery.attempts + 1;
            let outcome = match deliverable(&delivery.url, policy.targets).await {
                Err(error) => DeliveryOutcome::GaveUp { error },
                Ok(()) => send(&client, &delivery.url, &body, &policy, attempts).await,
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

/// One attempt to POST an alert, and what follows from its answer.
async fn send(client: &reqwest::Client, url: &str, body: &Value, policy: &WebhookPolicy, attempts: u32) -> DeliveryOutcome {
    let result = client.post(url).json(&json!({"type": "alert", "alert": body})).send().await;
    match result {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_checked() {
        for bad in [
            "ftp://example.com/hook",
            "http://user:pass@example.com/hook",
            "http://example.com/\r\nX-Injected: 1",
            "http://exa mple.com/",
            "not a url",
            "http://",
            // Names no DNS server holds, and a port nothing listens on.
            "https://.com/",
            "https://example..com/",
            "https://-example.com/",
            "https://example-.com/",
            &format!("https://{}.com/", "l".repeat(64)),
            "https://example.com:0/",
        ] {
            assert!(check_webhook_url(bad, WebhookTargets::Any).is_err(), "{bad:?}");
        }
        for fine in ["https://hooks.example.com./x", "https://_sip.example.com/", "https://xn--r8jz45g.jp/", "https://例え.jp/"] {
            assert!(check_webhook_url(fine, WebhookTargets::Any).is_ok(), "{fine:?}");
        }
        for private in [
            "http://127.0.0.1:9000/",
            "http://localhost/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://[::1]/",
            "http://169.254.169.254/latest",
            "http://[::ffff:10.0.0.1]/",
            "http://100.64.0.1/",
            "http://intranet/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[::127.0.0.1]/",
            "http://[fec0::1]/",
            "http://192.0.0.1/",
        ] {
            assert!(check_webhook_url(private, WebhookTargets::Public).is_err(), "{private:?}");
            assert!(check_webhook_url(private, WebhookTargets::Any).is_ok(), "{private:?}");
        }
        assert!(check_webhook_url("https://hooks.example.com/alerts?x=1", WebhookTargets::Public).is_ok());
        assert!(check_webhook_url("http://93.184.216.34:8080/", WebhookTargets::Public).is_ok());
    }

    #[test]
    fn backoff_doubles_up_to_a_cap_then_gives_up() {
        let policy = WebhookPolicy { first_backoff_ms: 100, max_backoff_ms: 1_000, max_attempts: 6, ..WebhookPolicy::default() };
        let waits: Vec<Option<i64>> = (1..=6).map(|attempts| policy.next_attempt(attempts, 0)).collect();
        assert_eq!(waits, [Some(100), Some(200), Some(400), Some(800), Some(1_000), None]);
    }
}
