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
use serde_json::json;
use tradecraft_store::{StoreError, TradeQuery, decimal};
use tradecraft_types::{AccountId, Timestamp};

use crate::auth::{self, MaybeCaller, now_ms, own_account};
use crate::extract::Body;
use crate::identity::audit;
use crate::models::DeleteMeRequest;
use crate::reads::ask;
use crate::responses::{ErrorBody, Export, ExportAudit, ExportMembership, ExportOrder, ExportPosition, ExportProfile, ExportStatementLine, ExportWatchlist};
use crate::routes::{query, run_command};
use crate::{ApiError, Shared};

/// Rows of each kind an export holds at most (newest first).
const EXPORT_ROWS_MAX: usize = tradecraft_store::EXPORT_LIMIT_MAX;

/// Everything stored about the caller, as JSON: profile, organisation, keys (without
/// secrets), webhooks, alerts, limits, paper accounts, orders, trades, positions and cash
/// statements of every account, the audit trail, social data (profile,
/// follows, shares, comments, likes), notifications and price alerts of every account,
/// channel preferences, watchlists and pending invitations (up to 10,000 rows of each,
/// newest first).
#[utoipa::path(get, path = "/v1/me/export", tag = "privacy", responses((status = 200, description = "The export.", body = Export)))]
pub(crate) async fn export(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>) -> Result<Json<Export>, ApiError> {
    let user = own_account(&caller)?;
    let limits = query(&state, move |engine| engine.account(AccountId(user)).map(|view| view.limits)).await?;
    let mut document = ask(&state, move |store| {
        let profile = store.user_by_id(user)?;
        let accounts = store.accounts_of(user)?;
        let mut trades = Vec::new();
        let mut orders = Vec::new();
        for &account in &accounts {
            read_pages(&mut trades, |page_token| {
                let page = store.search_trades(&TradeQuery { user_id: account, limit: 1_000, page_token, ..TradeQuery::default() })?;
                Ok((page.trades, page.next_page_token))
            })?;
            orders.extend(store.orders_of(account, EXPORT_ROWS_MAX)?);
        }
        orders.truncate(EXPORT_ROWS_MAX);
        let statement = newest_of(
            &accounts,
            EXPORT_ROWS_MAX,
            |account| {
                let mut lines = Vec::new();
                read_pages(&mut lines, |page_token| {
                    let page = store.wallet_transactions(account, 1_000, page_token.as_deref())?;
                    Ok((page.transactions.into_iter().map(|line| (account, line)).collect(), page.next_page_token))
                })?;
                Ok(lines)
            },
            |(_, line)| (line.created_at_ms, line.id),
        )?;
        let mut positions = Vec::new();
        for &account in &accounts {
            positions.extend(
                store
                    .positions(account)?
                    .iter()
                    .map(|position| ExportPosition { account_id: account.to_string(), position: crate::reads::position_of(position) }),
            );
        }
        Ok(Export {
            exported_at: Timestamp::from_millis(now_ms()).to_string(),
            profile: profile.map(|profile| ExportProfile {
                user_id: profile.user_id.to_string(),
                email: profile.email,
                username: profile.username,
                role: profile.role,
                created_at: Timestamp::from_millis(profile.created_at_ms).to_string(),
            }),
            organisation: store.member(user)?.map(|member| ExportMembership {
                organisation_id: member.org_id.to_string(),
                role: member.role,
                group_id: member.group_id.map(|id| id.to_string()),
            }),
            api_keys: store.api_keys(user)?.iter().map(crate::identity::key_of).collect(),
            webhooks: store.webhooks(user)?.iter().map(crate::alerts::webhook_of).collect(),
            alerts: store.alerts(user, false, EXPORT_ROWS_MAX)?.iter().map(crate::alerts::alert_of).collect(),
            orders: orders
                .iter()
                .map(|order| ExportOrder {
                    order_id: order.order_id.to_string(),
                    account_id: order.user_id.to_string(),
                    symbol: order.symbol.clone(),
                    side: order.side.clone(),
                    order_type: order.order_type.clone(),
                    time_in_force: order.time_in_force.clone(),
                    limit_price: order.limit_price.map(|price| price.to_string()),
                    stop_price: order.stop_price.map(|price| price.to_string()),
                    trail_amount: order.trail_amount.map(|amount| amount.to_string()),
                    trail_percent: order.trail_percent.map(|percent| percent.to_string()),
                    post_only: order.post_only,
                    self_trade_prevention: order.self_trade_prevention.clone(),
                    client_order_id: order.client_order_id.clone(),
                    quantity: order.budget.is_none().then(|| order.quantity.to_string()),
                    notional: order.budget.map(|budget| budget.to_string()),
                    filled_quantity: order.filled.to_string(),
                    status: order.status.clone(),
                    reason: order.reason.clone(),
                    created_at: Timestamp::from_millis(order.created_at_ms).to_string(),
                })
                .collect(),
            trades: trades.iter().map(crate::reads::trade_of).collect(),
            wallet_transactions: statement
                .iter()
                .map(|(account, line)| ExportStatementLine { account_id: account.to_string(), line: crate::reads::statement_line(line) })
                .collect(),
            positions,
            // About the user and each of their accounts (an account's orders and limits are
            // entered under `user:{account}`, its opening and resets under `account:{account}`).
            audit_trail: store
                .audit_about(
                    &accounts.iter().flat_map(|account| [format!("user:{account}"), format!("account:{account}")]).collect::<Vec<_>>(),
                    EXPORT_ROWS_MAX,
                )?
                .iter()
                .map(|entry| ExportAudit {
                    timestamp: Timestamp::from_millis(entry.at_ms).to_string(),
                    action: entry.action.clone(),
                    actor: entry.actor.clone(),
                    subject: entry.subject.clone(),
                })
                .collect(),
            cash_deposited: store.account(user)?.map(|account| decimal(i128::from(account.deposits.raw()), 8)),
            limits: None,
            accounts: Vec::new(),
            social: None,
            notifications: newest_of(
                &accounts,
                crate::notifications::EXPORTED,
                |account| store.notifications(account, false, crate::notifications::EXPORTED),
                |row| (row.created_at_ms, row.notification_id.clone()),
            )?
            .iter()
            .map(crate::notifications::notification_of)
            .collect(),
            price_alerts: newest_of(&accounts, usize::MAX, |account| store.price_alerts(account), |row| (row.created_at_ms, row.alert_id.clone()))?
                .iter()
                .map(crate::notifications::price_alert_of)
                .collect(),
            notification_preferences: store.preferences(user)?.map(Into::into),
            watchlists: store
                .watchlists(user)?
                .into_iter()
                .map(|list| ExportWatchlist {
                    watchlist_id: list.watchlist_id,
                    name: list.name,
                    symbols: list.symbols,
                    created_at: Timestamp::from_millis(list.created_at_ms).to_string(),
                    updated_at: Timestamp::from_millis(list.updated_at_ms).to_string(),
                })
                .collect(),
            invitations: store.pending_invitations(Some(user), None, now_ms())?.iter().map(crate::invitations::invitation_of).collect(),
        })
    })
    .await?;
    document.accounts = crate::accounts::accounts_of(&state, user).await?;
    document.social = Some(crate::social::export_of(&state, crate::auth::require(&caller)?, user).await?);
    document.limits = limits.map(|limits| tradecraft_sequencer::wire::WireLimits::from_limits(&limits).into());
    Ok(Json(document))
}

/// The rows `read` gives for each of `accounts`, newest first by `key` (its time, then its
/// id), at most `max`.
fn newest_of<T, K: Ord>(
    accounts: &[u64],
    max: usize,
    mut read: impl FnMut(u64) -> Result<Vec<T>, StoreError>,
    key: impl Fn(&T) -> K,
) -> Result<Vec<T>, StoreError> {
    let mut all = Vec::new();
    for &account in accounts {
        all.extend(read(account)?);
    }
    all.sort_by_key(|row| std::cmp::Reverse(key(row)));
    all.truncate(max);
    Ok(all)
}

/// Reads pages into `rows` (`page` reads the one a token names, the first without one, and
/// answers its rows and the next page's token) until none is left or `rows` holds
/// [`EXPORT_ROWS_MAX`].
fn read_pages<T>(rows: &mut Vec<T>, mut page: impl FnMut(Option<String>) -> Result<(Vec<T>, Option<String>), StoreError>) -> Result<(), StoreError> {
    let mut token = None;
    while rows.len() < EXPORT_ROWS_MAX {
        let (read, next) = page(token.take())?;
        rows.extend(read);
        match next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    Ok(())
}

/// Delete the caller's account, confirmed with the password: open orders are cancelled
/// and trading disabled in each of the caller's paper accounts; the login, access and refresh tokens, keys, webhooks and
/// membership go at once; the trading history stays under the bare account id. The last
/// admin of an organisation with other members makes one of them its admin first.
#[utoipa::path(delete, path = "/v1/me", tag = "privacy", request_body = DeleteMeRequest, responses(
    (status = 204, description = "Deleted."),
    (status = 401, description = "Wrong password.", body = ErrorBody),
    (status = 404, description = "No such user.", body = ErrorBody),
    (status = 409, description = "`last_org_admin`: the caller is the last admin of an organisation with other members.", body = ErrorBody),
))]
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
    // Out of any organisation first (which keeps an admin, or this is refused).
    crate::organisations::move_member(&state, user, None, None, None).await?;
    // Every account of the user (the default one, practice and contest accounts) goes
    // quiet: nothing new (first, so no order comes in between), then nothing open.
    for account in ask(&state, move |store| store.accounts_of(user)).await? {
        for command in [
            json!({"command": "setLimits", "userId": account.to_string(), "limits": {"tradingEnabled": false}}),
            json!({"command": "cancelAll", "userId": account.to_string()}),
        ] {
            run_command(&state, command).await?;
        }
    }
    let now = now_ms();
    ask(&state, move |store| {
        for hook in store.webhooks(user)? {
            store.revoke_webhook(user, &hook.webhook_id, now)?;
        }
        store.delete_social(user)?;
        store.delete_user(user, now)
    })
    .await?;
    state.auth.forget_api_keys();
    // Access tokens already issued stop working at once.
    state.auth.set_generation(user, None);
    audit(&state, &caller, "user.deleted", format!("user:{user}"), json!({})).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
