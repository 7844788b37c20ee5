//! Trading limits and memberships over HTTP. Setting them is for admins; a user may read
//! their own account's limits. Every change is a command on the log (the engine applies
//! it atomically) and an audit entry.

use axum::Json;
use axum::extract::{Extension, Path, State};
use serde_json::{Value, json};
use tradecraft_engine::LimitScope;
use tradecraft_sequencer::wire::WireLimits;
use tradecraft_store::MemberRecord;
use tradecraft_types::AccountId;

use crate::auth::{MaybeCaller, account_for, require_admin};
use crate::extract::{Body, field_error, from_object};
use crate::identity::audit;
use crate::models::{LimitsRequest, MemberRole, MembershipRequest};
use crate::reads::ask_now;
use crate::responses::{ErrorBody, LimitsAnswer, Membership};
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

/// [`subject`] as a message says it: `organisation 7`.
fn subject_in_words(scope: LimitScope) -> String {
    subject(scope).replace(':', " ")
}

/// `PUT /v1/limits/{scope}/{id}` with a limits object (absent fields: unlimited). Replaces
/// the scope's limits; 200 with what is now in force for it. Admins set any; an
/// organisation's admins set their organisation's and its groups'.
#[utoipa::path(put, path = "/v1/limits/{scope}/{id}", tag = "risk", request_body = LimitsRequest,
    params(
        ("scope" = String, Path, pattern = "^(users|groups|organisations)$", description = "users, groups or organisations."),
        ("id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "The user, group or organisation id."),
    ),
    responses(
        (status = 200, description = "The limits now in force for the scope.", body = LimitsAnswer),
        (status = 400, description = "A bad limit (named in details.field) or id.", body = ErrorBody),
        (status = 403, description = "Not an admin (nor the organisation's admin).", body = ErrorBody),
        (status = 404, description = "No such user, group, organisation or scope.", body = ErrorBody),
    ))]
pub(crate) async fn put_limits(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path((kind, id)): Path<(String, String)>,
    Body(body): Body<Value>,
) -> Result<Json<LimitsAnswer>, ApiError> {
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
            match crate::reads::ask_now(&state, move |store| store.group_org(group)).await? {
                Some(organisation) => {
                    crate::organisations::require_org_admin(&state, &caller, organisation).await?;
                }
                None => {
                    require_admin(&caller)?;
                }
            }
        }
    }
    exists(&state, scope).await?;
    let limits = from_object::<LimitsRequest>(body)?.into_wire()?;
    known_symbols(&state, &limits).await?;
    let id = match scope {
        LimitScope::Account(account) => account.0,
        LimitScope::Group(id) | LimitScope::Organisation(id) => id,
    };
    run_command(&state, json!({"command": "setLimits", field: id.to_string(), "limits": limits})).await?;
    if let LimitScope::Account(account) = scope
        && crate::auth::owner_of(account.0) == Some(account.0)
    {
        // A user's limits hold in their practice accounts too (listed after the change, see
        // `accounts::follow_owner`); contest accounts trade under their contest's rules.
        let paper = ask_now(&state, move |store| store.paper_accounts(account.0)).await?;
        for practice in paper.iter().filter(|record| record.contest_id.is_none()) {
            run_command(&state, json!({"command": "setLimits", "userId": practice.account_id.to_string(), "limits": limits})).await?;
        }
    }
    audit(&state, &caller, "limits.set", subject(scope), json!(limits)).await;
    get_limits_of(&state, scope).await
}

/// 404 unless the scope's account, group or organisation exists.
async fn exists(state: &AppState, scope: LimitScope) -> Result<(), ApiError> {
    let found = match scope {
        LimitScope::Account(account) => query(state, move |engine| engine.account(account).is_some()).await?,
        LimitScope::Group(group) => ask_now(state, move |store| store.group_org(group)).await?.is_some(),
        LimitScope::Organisation(organisation) => ask_now(state, move |store| store.organisation(organisation)).await?.is_some(),
    };
    if found { Ok(()) } else { Err(ApiError::NotFound(subject_in_words(scope))) }
}

/// 400 naming the list if a symbol in it is not listed on the exchange.
pub(crate) async fn known_symbols(state: &AppState, limits: &WireLimits) -> Result<(), ApiError> {
    let lists = [("allowedSymbols", limits.allowed_symbols.clone().unwrap_or_default()), ("blockedSymbols", limits.blocked_symbols.clone())];
    for (field, symbols) in lists {
        let unknown = query(state, move |engine| {
            symbols.into_iter().find(|text| tradecraft_types::Symbol::new(text).map_or(true, |symbol| engine.instrument(symbol).is_none()))
        })
        .await?;
        if let Some(symbol) = unknown {
            return Err(field_error(field, format!("{symbol:?} is not a listed symbol")));
        }
    }
    Ok(())
}

async fn get_limits_of(state: &AppState, scope: LimitScope) -> Result<Json<LimitsAnswer>, ApiError> {
    let limits = query(state, move |engine| engine.scope_limits(scope)).await?.unwrap_or_default();
    Ok(Json(LimitsAnswer { scope: subject(scope), limits: WireLimits::from_limits(&limits).into() }))
}

/// `GET /v1/limits/{scope}/{id}`: admins; a user asking about their own account; an
/// organisation's admin about it and its groups (whose limits they set); a member about
/// their organisation and group (the limits they trade under).
#[utoipa::path(get, path = "/v1/limits/{scope}/{id}", tag = "risk",
    params(
        ("scope" = String, Path, pattern = "^(users|groups|organisations)$", description = "users, groups or organisations."),
        ("id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "The user, group or organisation id."),
    ),
    responses(
        (status = 200, description = "The limits set for the scope.", body = LimitsAnswer),
        (status = 403, description = "Not your account, organisation or group, and not an admin (nor the organisation's admin).", body = ErrorBody),
        (status = 404, description = "No such user, group, organisation or scope.", body = ErrorBody),
    ))]
pub(crate) async fn get_limits(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Json<LimitsAnswer>, ApiError> {
    let (scope, _) = scope(&kind, &id)?;
    match scope {
        LimitScope::Account(account) => {
            account_for(&caller, Some(account.0))?;
        }
        LimitScope::Group(_) | LimitScope::Organisation(_) => may_read(&state, &caller, scope).await?,
    }
    exists(&state, scope).await?;
    get_limits_of(&state, scope).await
}

/// Whether the caller may read a group's or an organisation's limits: an admin, the
/// organisation's admin (for it and its groups), or a member of it (of the group).
async fn may_read(state: &AppState, caller: &MaybeCaller, scope: LimitScope) -> Result<(), ApiError> {
    let caller = crate::auth::require(caller)?;
    if caller.is_admin() {
        return Ok(());
    }
    let refused = || ApiError::Forbidden(format!("not a member of {}", subject_in_words(scope)));
    let user = caller.user_id.ok_or_else(refused)?;
    let Some(member) = ask_now(state, move |store| store.member(user)).await? else { return Err(refused()) };
    let allowed = match scope {
        LimitScope::Organisation(organisation) => member.org_id == organisation,
        LimitScope::Group(group) => {
            member.group_id == Some(group)
                || (member.role == MemberRole::OrgAdmin.as_str() && ask_now(state, move |store| store.group_org(group)).await? == Some(member.org_id))
        }
        LimitScope::Account(_) => false,
    };
    if allowed { Ok(()) } else { Err(refused()) }
}

/// `PUT /v1/users/{userId}/membership` `{groupId?, organisationId?}` (admins): the groups
/// whose limits apply to the account, with its own; the organisation's member list follows
/// (a member keeps their role in the organisation they stay in; `{}` leaves it).
#[utoipa::path(put, path = "/v1/users/{user_id}/membership", tag = "risk", request_body = MembershipRequest,
    params(("user_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A user id.")),
    responses(
        (status = 200, description = "The membership now in force.", body = Membership),
        (status = 400, description = "A bad id, or a group outside the organisation.", body = ErrorBody),
        (status = 404, description = "No such user, group or organisation.", body = ErrorBody),
        (status = 409, description = "The user is the last admin of their organisation and would leave it: make another member its admin first.", body = ErrorBody),
    ))]
pub(crate) async fn put_membership(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(user_id): Path<String>,
    Body(body): Body<Value>,
) -> Result<Json<Membership>, ApiError> {
    require_admin(&caller)?;
    let user = parse_id("userId", &user_id)?;
    let request: MembershipRequest = from_object(body)?;
    exists(&state, LimitScope::Account(AccountId(user))).await?;
    if let Some(organisation) = request.organisation_id {
        exists(&state, LimitScope::Organisation(organisation.0)).await?;
    }
    if let Some(group) = request.group_id {
        exists(&state, LimitScope::Group(group.0)).await?;
        let owner = ask_now(&state, move |store| store.group_org(group.0)).await?;
        if request.organisation_id.is_some_and(|organisation| owner != Some(organisation.0)) {
            return Err(field_error("groupId", "the group is not in that organisation"));
        }
    }
    // A group is in one organisation: the membership is in it, named or not.
    let organisation_id = match (request.organisation_id, request.group_id) {
        (Some(organisation), _) => Some(organisation.0),
        (None, Some(group)) => ask_now(&state, move |store| store.group_org(group.0)).await?,
        (None, None) => None,
    };
    // The organisation's member list says what the engine applies: one membership.
    let current = ask_now(&state, move |store| store.member(user)).await?;
    let role = current.filter(|member| Some(member.org_id) == organisation_id).map_or_else(|| MemberRole::Member.as_str().to_owned(), |member| member.role);
    let group_id = request.group_id.map(|id| id.0);
    let next = organisation_id.map(|org_id| MemberRecord { user_id: user, org_id, role, group_id });
    crate::organisations::move_member(&state, user, next, group_id, organisation_id).await?;
    let (group, organisation) = (request.group_id.map(|id| id.to_string()), organisation_id.map(|id| id.to_string()));
    let answer = Membership { user_id: user.to_string(), group_id: group, organisation_id: organisation };
    audit(&state, &caller, "membership.set", format!("user:{user}"), json!(answer)).await;
    Ok(Json(answer))
}
