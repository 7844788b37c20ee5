//! Trading limits and memberships over HTTP. Setting them is for admins; a user may read
//! their own account's limits. Every change is a command on the log (the engine applies
//! it atomically) and an audit entry.

use axum::Json;
use axum::extract::{Extension, Path, State};
use serde_json::{Value, json};
use tradecraft_engine::LimitScope;
use tradecraft_sequencer::wire::WireLimits;
use tradecraft_types::AccountId;

use crate::auth::{MaybeCaller, account_for, require_admin};
use crate::identity::audit;
use crate::routes::{parse_id, query, run_command};
use crate::{ApiError, AppState, Shared};

/// `users/{id}`, `groups/{id}` or `organisations/{id}` as a scope, with the field name the
/// `setLimits` command uses for it.
fn scope(kind: &str, id: &str) -> Result<(LimitScope, &'static str), ApiError> {
    let number = parse_id("id", id)?;
    match kind {
        "users" => Ok((LimitScope::Account(AccountId(number)), "userId")),
        "groups" => Ok((LimitScope::Group(number), "groupId")),
        "organisations" => Ok((LimitScope::Organisation(number), "organisationId")),
        _ => Err(ApiError::NotFound(format!("limit scope {kind}"))),
    }
}

fn subject(scope: LimitScope) -> String {
    match scope {
        LimitScope::Account(account) => format!("user:{account}"),
        LimitScope::Group(group) => format!("group:{group}"),
        LimitScope::Organisation(organisation) => format!("organisation:{organisation}"),
    }
}

/// `PUT /v1/limits/{scope}/{id}` with a limits object (absent fields: unlimited). Replaces
/// the scope's limits; 200 with what is now in force for it. Admins set any; an
/// organisation's admins set their organisation's and its groups'.
pub(crate) async fn put_limits(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path((kind, id)): Path<(String, String)>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let (scope, field) = scope(&kind, &id)?;
    match scope {
        LimitScope::Account(_) => {
            require_admin(&caller)?;
        }
        LimitScope::Organisation(organisation) => {
            crate::organisations::require_org_admin(&state, &caller, organisation).await?;
        }
        LimitScope::Group(group) => {
            // An organisation's admins manage its groups' limits; groups outside any
            // organisation are the platform admins'.
            match crate::reads::ask(&state, move |store| store.group_org(group)).await? {
                Some(organisation) => {
                    crate::organisations::require_org_admin(&state, &caller, organisation).await?;
                }
                None => {
                    require_admin(&caller)?;
                }
            }
        }
    }
    let Json(limits) = body?;
    run_command(&state, json!({"command": "setLimits", field: id, "limits": limits})).await?;
    audit(&state, &caller, "limits.set", subject(scope), limits.clone()).await;
    get_limits_of(&state, scope).await
}

async fn get_limits_of(state: &AppState, scope: LimitScope) -> Result<Json<Value>, ApiError> {
    let limits = query(state, move |engine| engine.scope_limits(scope)).await?.unwrap_or_default();
    Ok(Json(json!({"scope": subject(scope), "limits": WireLimits::from_limits(&limits)})))
}

/// `GET /v1/limits/{scope}/{id}`: admins, or a user asking about their own account.
pub(crate) async fn get_limits(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (scope, _) = scope(&kind, &id)?;
    match scope {
        LimitScope::Account(account) => {
            account_for(&caller, Some(account.0))?;
            if query(&state, move |engine| engine.account(account).is_none()).await? {
                return Err(ApiError::NotFound(format!("user {account}")));
            }
        }
        _ => {
            require_admin(&caller)?;
        }
    }
    get_limits_of(&state, scope).await
}

/// `PUT /v1/users/{userId}/membership` `{groupId?, organisationId?}` (admins): the groups
/// whose limits apply to the account, with its own.
pub(crate) async fn put_membership(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(user_id): Path<String>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    let user = parse_id("userId", &user_id)?;
    let Json(body) = body?;
    let id_of = |name: &str| -> Result<Option<String>, ApiError> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(_) => Err(ApiError::bad_request("invalid_field", format!("{name} is an id"))),
        }
    };
    let (group, organisation) = (id_of("groupId")?, id_of("organisationId")?);
    run_command(&state, json!({"command": "setMembership", "userId": user.to_string(), "groupId": group, "organisationId": organisation})).await?;
    let answer = json!({"userId": user.to_string(), "groupId": group, "organisationId": organisation});
    audit(&state, &caller, "membership.set", format!("user:{user}"), answer.clone()).await;
    Ok(Json(answer))
}
