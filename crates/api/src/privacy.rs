//! Data export and account deletion (seed 004 section 11).
//!
//! Export gives the caller everything stored about them, as one JSON document. Deletion
//! removes the login: the user record, refresh tokens, API keys, webhooks and the
//! organisation membership go; open orders are cancelled and trading is disabled on the
//! account. The trading history stays in the event log and read store under the bare
//! account id (trades and transactions are kept for audit), no longer linked to an email.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tradecraft_store::{TradeQuery, decimal};
use tradecraft_types::{AccountId, Timestamp};

use crate::auth::{self, MaybeCaller, now_ms, require};
use crate::extract::Body;
use crate::identity::audit;
use crate::models::DeleteMeRequest;
use crate::reads::ask;
use crate::routes::{query, run_command};
use crate::{ApiError, Shared};

/// Rows of each kind an export holds at most (newest first).
const EXPORT_ROWS_MAX: usize = 10_000;

fn own_account(caller: &MaybeCaller) -> Result<u64, ApiError> {
    require(caller)?.user_id.ok_or_else(|| ApiError::Forbidden("the operator key has no account".to_owned()))
}

/// `GET /v1/me/export`.
pub(crate) async fn export(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>) -> Result<Json<Value>, ApiError> {
    let user = own_account(&caller)?;
    let limits = query(&state, move |engine| engine.account(AccountId(user)).map(|view| view.limits)).await?;
    let document = ask(&state, move |store| {
        let profile = store.user_by_id(user)?;
        let mut trades = Vec::new();
        let mut page_token = None;
        while trades.len() < EXPORT_ROWS_MAX {
            let page = store.search_trades(&TradeQuery { user_id: user, limit: 1_000, page_token: page_token.take(), ..TradeQuery::default() })?;
            trades.extend(page.trades);
            match page.next_page_token {
                Some(token) => page_token = Some(token),
                None => break,
            }
        }
        let statement = store.wallet_transactions(user, 1_000, None)?;
        Ok(json!({
            "exportedAt": Timestamp::from_millis(now_ms()).to_string(),
            "profile": profile.map(|profile| json!({
                "userId": profile.user_id.to_string(), "email": profile.email, "username": profile.username, "role": profile.role,
                "createdAt": Timestamp::from_millis(profile.created_at_ms).to_string(),
            })),
            "organisation": store.member(user)?.map(|member| json!({
                "organisationId": member.org_id.to_string(), "role": member.role, "groupId": member.group_id.map(|id| id.to_string()),
            })),
            "apiKeys": store.api_keys(user)?.iter().map(|key| json!({
                "keyId": key.key_id, "name": key.name, "scopes": key.scopes, "revoked": key.revoked,
                "createdAt": Timestamp::from_millis(key.created_at_ms).to_string(),
            })).collect::<Vec<_>>(),
            "webhooks": store.webhooks(user)?.iter().map(|hook| json!({"webhookId": hook.webhook_id, "url": hook.url})).collect::<Vec<_>>(),
            "alerts": store.alerts(user, false, 1_000)?.iter().map(crate::alerts::alert_json).collect::<Vec<_>>(),
            "orders": store.orders_of(user, EXPORT_ROWS_MAX)?.iter().map(|order| json!({
                "orderId": order.order_id.to_string(), "symbol": order.symbol, "side": order.side, "quantity": order.quantity.to_string(),
                "filledQuantity": order.filled.to_string(), "status": order.status, "reason": order.reason,
                "createdAt": Timestamp::from_millis(order.created_at_ms).to_string(),
            })).collect::<Vec<_>>(),
            "trades": trades.iter().map(|trade| json!({
                "eventId": trade.event_id, "orderId": trade.order_id.to_string(), "symbol": trade.symbol, "side": trade.side,
                "quantity": trade.quantity.to_string(), "status": trade.status,
                "executionPrice": trade.execution_price.map(|price| price.to_string()),
                "executionTimestamp": Timestamp::from_millis(trade.executed_at_ms).to_string(), "failureReason": trade.failure_reason,
            })).collect::<Vec<_>>(),
            "walletTransactions": statement.transactions.iter().map(|line| json!({
                "type": line.kind, "amount": line.amount.to_string(), "balanceAfter": line.balance_after.to_string(),
                "timestamp": Timestamp::from_millis(line.created_at_ms).to_string(),
            })).collect::<Vec<_>>(),
            "positions": store.positions(user)?.iter().map(|position| json!({
                "symbol": position.symbol, "quantity": position.quantity.to_string(), "costBasis": position.cost.to_string(),
                "realizedPnl": position.realized_pnl.to_string(),
            })).collect::<Vec<_>>(),
            "auditTrail": store.audit(Some(&format!("user:{user}")), 1_000)?.iter().map(|entry| json!({
                "timestamp": Timestamp::from_millis(entry.at_ms).to_string(), "action": entry.action, "actor": entry.actor,
            })).collect::<Vec<_>>(),
            "cashDeposited": store.account(user)?.map(|account| decimal(i128::from(account.deposits.raw()), 8)),
        }))
    })
    .await?;
    let mut document = document;
    document["limits"] = json!(limits.map(|limits| tradecraft_sequencer::wire::WireLimits::from_limits(&limits)));
    Ok(Json(document))
}

/// `DELETE /v1/me` `{password}`: the password again, whatever the credentials. Access
/// tokens, refresh tokens and keys stop working at once.
pub(crate) async fn delete(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Body(request): Body<DeleteMeRequest>,
) -> Result<Response, ApiError> {
    let user = own_account(&caller)?;
    let password = request.password.0;
    let record = ask(&state, move |store| store.user_by_id(user)).await?.ok_or_else(|| ApiError::NotFound(format!("user {user}")))?;
    let hash = record.password_hash.clone();
    let verified = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash)).await.map_err(|error| ApiError::Internal(error.to_string()))?;
    if !verified {
        return Err(ApiError::Unauthorized("invalid_credentials", "confirm the deletion with your password".to_owned()));
    }
    // The account goes quiet first: nothing open, nothing new.
    for command in [
        json!({"command": "cancelAll", "userId": user.to_string()}),
        json!({"command": "setLimits", "userId": user.to_string(), "limits": {"tradingEnabled": false}}),
        json!({"command": "setMembership", "userId": user.to_string()}),
    ] {
        run_command(&state, command).await?;
    }
    let now = now_ms();
    ask(&state, move |store| {
        for hook in store.webhooks(user)? {
            store.revoke_webhook(user, &hook.webhook_id, now)?;
        }
        store.remove_member(user)?;
        store.delete_user(user)
    })
    .await?;
    state.auth.forget_api_keys();
    // Access tokens already issued stop working at once.
    state.auth.set_generation(user, None);
    audit(&state, &caller, "user.deleted", format!("user:{user}"), json!({})).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
