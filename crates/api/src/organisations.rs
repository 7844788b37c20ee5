//! Organisations, their groups and members (seed 002). Admins create organisations and add
//! members to them; an organisation's admins (and admins) add groups, change and remove
//! its members, and set the organisation's and its groups' limits. Membership changes are
//! engine commands (so limits apply atomically) and audit entries.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tradecraft_store::{GroupRecord, MemberRecord, OrganisationRecord};

use crate::auth::{Caller, MaybeCaller, now_ms, require, require_admin};
use crate::extract::{Body, Query, from_object};
use crate::identity::audit;
use crate::models::{MemberRequest, MemberRole, NameRequest};
use crate::reads::ask_now;
use crate::responses::{ErrorBody, Group, GroupCreated, Member, MemberSet, NextPage, Organisation, OrganisationCreated, OrganisationListed, Organisations};
use crate::routes::{parse_id, run_command};
use crate::{ApiError, AppState, Shared};

/// A fresh id (48 random bits): unique in practice, and the primary key refuses a clash.
fn new_id() -> u64 {
    let mut bytes = [0_u8; 8];
    rand::fill(&mut bytes[..6]);
    u64::from_le_bytes(bytes).max(1)
}

/// Admins, and the organisation's own admins, manage it.
pub(crate) async fn require_org_admin<'a>(state: &AppState, caller: &'a MaybeCaller, org_id: u64) -> Result<&'a Caller, ApiError> {
    let caller = require(caller)?;
    if caller.is_admin() {
        return Ok(caller);
    }
    let user = caller.user_id.ok_or_else(|| ApiError::Forbidden("organisation admins only".to_owned()))?;
    let member = ask_now(state, move |store| store.member(user)).await?;
    match member {
        Some(member) if member.org_id == org_id && member.role == "org_admin" => Ok(caller),
        _ => Err(ApiError::Forbidden(format!("not an admin of organisation {org_id}"))),
    }
}

pub(crate) async fn existing(state: &AppState, org_id: u64) -> Result<OrganisationRecord, ApiError> {
    ask_now(state, move |store| store.organisation(org_id)).await?.ok_or_else(|| ApiError::NotFound(format!("organisation {org_id}")))
}

/// `POST /v1/organisations` `{name}` (admins).
#[utoipa::path(post, path = "/v1/organisations", tag = "risk", request_body = NameRequest, responses(
    (status = 201, description = "Created.", body = OrganisationCreated),
    (status = 400, description = "A bad name.", body = ErrorBody),
    (status = 409, description = "`organisation_name_taken`: another has that name (letter case aside).", body = ErrorBody),
))]
pub(crate) async fn create(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>, Body(body): Body<Value>) -> Result<Response, ApiError> {
    require_admin(&caller)?;
    let name = from_object::<NameRequest>(body)?.name()?;
    let organisation = OrganisationRecord { org_id: new_id(), name, created_at_ms: now_ms() };
    let record = organisation.clone();
    ask_now(&state, move |store| store.create_organisation(&record)).await?;
    audit(&state, &caller, "organisation.created", format!("organisation:{}", organisation.org_id), json!({"name": organisation.name})).await;
    Ok((StatusCode::CREATED, Json(OrganisationCreated { organisation_id: organisation.org_id.to_string(), name: organisation.name })).into_response())
}

/// `GET /v1/organisations`: the organisations the caller may open, page by page in name
/// order, with their counts of members and groups: every one for admins; the caller's own
/// (if they are in one) for anyone else. `q` finds them by name.
#[utoipa::path(get, path = "/v1/organisations", tag = "risk", params(crate::routes::TextSearch), responses(
    (status = 200, description = "A page of organisations, by name.", body = Organisations),
    (status = 400, description = "A bad parameter.", body = ErrorBody),
))]
pub(crate) async fn list(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<crate::routes::TextSearch>,
) -> Result<Json<Organisations>, ApiError> {
    let who = require(&caller)?.clone();
    let (text, limit, after) = params.read()?;
    let only = if who.is_admin() {
        None
    } else {
        let member = match who.user_id {
            Some(user) => ask_now(&state, move |store| store.member(user)).await?,
            None => None,
        };
        let Some(member) = member else { return Ok(Json(Organisations { organisations: Vec::new(), pagination: NextPage { next_page_token: None } })) };
        Some(member.org_id)
    };
    let mut summaries = ask_now(&state, move |store| store.organisation_summaries(only, text.as_deref(), after, limit + 1)).await?;
    let next = crate::routes::cut_page(&mut summaries, limit, |summary| summary.organisation.org_id);
    let organisations = summaries
        .into_iter()
        .map(|summary| OrganisationListed {
            organisation_id: summary.organisation.org_id.to_string(),
            name: summary.organisation.name,
            created_at: tradecraft_types::Timestamp::from_millis(summary.organisation.created_at_ms).to_string(),
            members: summary.members,
            groups: summary.groups,
        })
        .collect();
    Ok(Json(Organisations { organisations, pagination: NextPage { next_page_token: next } }))
}

/// `GET /v1/organisations/{id}`: its groups and members (admins and its members).
#[utoipa::path(get, path = "/v1/organisations/{org_id}", tag = "risk", params(("org_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "An organisation id.")), responses(
    (status = 200, description = "The organisation.", body = Organisation),
    (status = 400, description = "Not an organisation id.", body = ErrorBody),
    (status = 403, description = "Not a member, and not an admin.", body = ErrorBody),
    (status = 404, description = "Unknown organisation.", body = ErrorBody),
))]
pub(crate) async fn get(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(org_id): Path<String>,
) -> Result<Json<Organisation>, ApiError> {
    let org_id = parse_id("organisationId", &org_id)?;
    let who = require(&caller)?.clone();
    let organisation = existing(&state, org_id).await?;
    let (groups, members) = ask_now(&state, move |store| Ok((store.groups(org_id)?, store.members(org_id)?))).await?;
    let allowed = who.is_admin() || who.user_id.is_some_and(|user| members.iter().any(|member| member.user_id == user));
    if !allowed {
        return Err(ApiError::Forbidden(format!("not a member of organisation {org_id}")));
    }
    // Those who manage the members see who they are; the other members see ids.
    let manages = who.is_admin() || who.user_id.is_some_and(|user| members.iter().any(|member| member.user_id == user && member.role == "org_admin"));
    let names = if manages { ask_now(&state, move |store| store.member_usernames(org_id)).await? } else { Default::default() };
    Ok(Json(Organisation {
        organisation_id: org_id.to_string(),
        name: organisation.name,
        groups: groups.iter().map(|group| Group { group_id: group.group_id.to_string(), name: group.name.clone() }).collect(),
        members: members
            .iter()
            .map(|member| Member {
                user_id: member.user_id.to_string(),
                username: names.get(&member.user_id).cloned(),
                role: member.role.clone(),
                group_id: member.group_id.map(|group| group.to_string()),
            })
            .collect(),
    }))
}

/// `POST /v1/organisations/{id}/groups` `{name}` (admins and the organisation's admins).
#[utoipa::path(post, path = "/v1/organisations/{org_id}/groups", tag = "risk", request_body = NameRequest, params(("org_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "An organisation id.")), responses(
    (status = 201, description = "Created.", body = GroupCreated),
    (status = 400, description = "Not an organisation id, or a bad name.", body = ErrorBody),
    (status = 403, description = "Not the organisation's admin.", body = ErrorBody),
    (status = 404, description = "Unknown organisation.", body = ErrorBody),
    (status = 409, description = "`too_many`: the organisation has 200 groups already; `group_name_taken`: it has one of that name (letter case aside).", body = ErrorBody),
))]
pub(crate) async fn create_group(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(org_id): Path<String>,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    let org_id = parse_id("organisationId", &org_id)?;
    existing(&state, org_id).await?;
    require_org_admin(&state, &caller, org_id).await?;
    let group = GroupRecord { group_id: new_id(), org_id, name: from_object::<NameRequest>(body)?.name()? };
    let record = group.clone();
    ask_now(&state, move |store| store.create_group(&record, now_ms())).await?;
    audit(&state, &caller, "group.created", format!("organisation:{org_id}"), json!({"groupId": group.group_id.to_string(), "name": group.name})).await;
    Ok((StatusCode::CREATED, Json(GroupCreated { group_id: group.group_id.to_string(), organisation_id: org_id.to_string(), name: group.name }))
        .into_response())
}

/// An organisation with members keeps at least one admin: `user`'s membership may become
/// `next` (an organisation and role; `None`: no membership, or no user) unless that
/// leaves the organisation they administer now with members and no admin, which is a 409
/// naming it (make another admin first). Its only member may leave it. Answers `user`'s
/// membership now and the organisation whose admin the change stops them being.
pub(crate) async fn keeps_an_admin(state: &AppState, user: u64, next: Option<(u64, &str)>) -> Result<(Option<MemberRecord>, Option<u64>), ApiError> {
    let current = ask_now(state, move |store| store.member(user)).await?;
    let admin = MemberRole::OrgAdmin.as_str();
    let stepping_down = current.as_ref().filter(|current| current.role == admin && next != Some((current.org_id, admin))).map(|current| current.org_id);
    if let Some(org_id) = stepping_down {
        let members = ask_now(state, move |store| store.members(org_id)).await?;
        let mut others = members.iter().filter(|member| member.user_id != user).peekable();
        if others.peek().is_some() && !others.any(|member| member.role == admin) {
            return Err(last_admin(user, org_id));
        }
    }
    Ok((current, stepping_down))
}

/// Moves `user` to membership `next` (none: out of every organisation): the member list
/// first, in one transaction that refuses (409 `last_org_admin`, nothing changed) to leave
/// the organisation they administer now with members and no admin, even when another
/// change races this one; then the engine's membership (`group`, `organisation`). If the
/// engine cannot take it, the member list is put back.
pub(crate) async fn move_member(
    state: &AppState,
    user: u64,
    next: Option<MemberRecord>,
    group: Option<u64>,
    organisation: Option<u64>,
) -> Result<(), ApiError> {
    let (previous, guarded) = keeps_an_admin(state, user, next.as_ref().map(|member| (member.org_id, member.role.as_str()))).await?;
    if !ask_now(state, move |store| store.change_member_keeping_an_admin(user, next.as_ref(), guarded)).await? {
        return Err(last_admin(user, guarded.unwrap_or_default()));
    }
    if let Err(error) = apply_membership(state, user, group, organisation).await {
        let restored = ask_now(state, move |store| match &previous {
            Some(member) => store.set_member(member),
            None => store.remove_member(user),
        })
        .await;
        if let Err(restoring) = restored {
            tracing::error!(user, error = %restoring, "putting a member list entry back failed");
        }
        return Err(error);
    }
    Ok(())
}

fn last_admin(user: u64, org_id: u64) -> ApiError {
    ApiError::Rejected {
        status: StatusCode::CONFLICT,
        code: "last_org_admin",
        message: format!("user {user} is the last admin of organisation {org_id}: make another member its admin first"),
    }
}

/// The engine side of a membership: the user's default account and each of their paper
/// accounts (listed after the member list changed, see [`crate::accounts::follow_owner`])
/// are in `organisation` and `group`, whose limits apply to them.
pub(crate) async fn apply_membership(state: &AppState, user: u64, group: Option<u64>, organisation: Option<u64>) -> Result<(), ApiError> {
    for account in ask_now(state, move |store| store.accounts_of(user)).await? {
        apply_membership_to(state, account, group, organisation).await?;
    }
    Ok(())
}

/// One account's membership in the engine.
pub(crate) async fn apply_membership_to(state: &AppState, account: u64, group: Option<u64>, organisation: Option<u64>) -> Result<(), ApiError> {
    run_command(
        state,
        json!({
            "command": "setMembership", "userId": account.to_string(),
            "groupId": group.map(|id| id.to_string()), "organisationId": organisation.map(|id| id.to_string()),
        }),
    )
    .await
    .map(drop)
}

/// `PUT /v1/organisations/{id}/members/{userId}` `{role: member|org_admin, groupId?}`.
#[utoipa::path(put, path = "/v1/organisations/{org_id}/members/{user_id}", tag = "risk", request_body = MemberRequest, params(("org_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "An organisation id."), ("user_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A user id.")), responses(
    (status = 200, description = "The membership; the organisation's and group's limits now apply to the member.", body = MemberSet),
    (status = 400, description = "A bad id or role.", body = ErrorBody),
    (status = 403, description = "Not the organisation's admin; or an organisation admin naming someone not yet its member (only admins add members).", body = ErrorBody),
    (status = 404, description = "Unknown organisation, group or user.", body = ErrorBody),
    (status = 409, description = "The member is the last admin of their organisation and would no longer be: make another member its admin first.", body = ErrorBody),
))]
pub(crate) async fn put_member(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path((org_id, user_id)): Path<(String, String)>,
    Body(body): Body<Value>,
) -> Result<Json<MemberSet>, ApiError> {
    let (org_id, user) = (parse_id("organisationId", &org_id)?, parse_id("userId", &user_id)?);
    existing(&state, org_id).await?;
    let who = require_org_admin(&state, &caller, org_id).await?;
    // An organisation's admins manage its members; bringing someone into it (and so under
    // its limits, perhaps out of another organisation) is for admins.
    if !who.is_admin() && ask_now(&state, move |store| store.member(user)).await?.is_none_or(|member| member.org_id != org_id) {
        return Err(ApiError::Forbidden(format!("user {user} is not a member of organisation {org_id}: only admins add members")));
    }
    let request: MemberRequest = from_object(body)?;
    let role = request.role.unwrap_or(MemberRole::Member).as_str().to_owned();
    let group = request.group_id.map(|group| group.0);
    if let Some(group) = group
        && ask_now(&state, move |store| store.group_org(group)).await? != Some(org_id)
    {
        return Err(ApiError::NotFound(format!("group {group} in organisation {org_id}")));
    }
    if ask_now(&state, move |store| store.user_by_id(user)).await?.is_none() {
        return Err(ApiError::NotFound(format!("user {user}")));
    }
    let member = MemberRecord { user_id: user, org_id, role: role.clone(), group_id: group };
    move_member(&state, user, Some(member), group, Some(org_id)).await?;
    let answer = MemberSet { user_id: user.to_string(), organisation_id: org_id.to_string(), role, group_id: group.map(|id| id.to_string()) };
    audit(&state, &caller, "organisation.member_set", format!("user:{user}"), json!(answer)).await;
    Ok(Json(answer))
}

/// Remove a member: the organisation's and group's limits stop applying.
#[utoipa::path(delete, path = "/v1/organisations/{org_id}/members/{user_id}", tag = "risk", params(("org_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "An organisation id."), ("user_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A user id.")), responses(
    (status = 204, description = "Removed."),
    (status = 400, description = "A bad id.", body = ErrorBody),
    (status = 403, description = "Not the organisation's admin.", body = ErrorBody),
    (status = 404, description = "Not a member of the organisation.", body = ErrorBody),
    (status = 409, description = "The organisation's last admin: make another member its admin first.", body = ErrorBody),
))]
pub(crate) async fn remove_member(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path((org_id, user_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (org_id, user) = (parse_id("organisationId", &org_id)?, parse_id("userId", &user_id)?);
    require_org_admin(&state, &caller, org_id).await?;
    match ask_now(&state, move |store| store.member(user)).await? {
        Some(member) if member.org_id == org_id => {}
        _ => return Err(ApiError::NotFound(format!("member {user} of organisation {org_id}"))),
    }
    move_member(&state, user, None, None, None).await?;
    audit(&state, &caller, "organisation.member_removed", format!("user:{user}"), json!({"organisationId": org_id.to_string()})).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
