//! Invitations into an organisation: its admins (and admins) invite a registered user,
//! who sees the invitation (and a notification), and accepts it, coming under the
//! organisation's and group's limits, or declines it. So an organisation grows by the
//! consent of those who join it; only admins add members directly.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tradecraft_store::{InvitationRecord, MemberRecord};
use tradecraft_types::Timestamp;

use crate::auth::{MaybeCaller, own_account, random_token, require};
use crate::extract::{Body, from_object};
use crate::identity::audit;
use crate::models::{InvitationRequest, MemberRole};
use crate::organisations::{existing, require_org_admin};
use crate::reads::ask_now;
use crate::responses::{ErrorBody, Invitation, Invitations, MemberSet};
use crate::routes::parse_id;
use crate::{ApiError, AppState, Shared};

/// How long an invitation stands.
const INVITATION_LIFETIME_MS: i64 = 7 * 86_400_000;

/// An invitation as the API shows it.
pub(crate) fn invitation_of(record: &InvitationRecord) -> Invitation {
    let time = |at: i64| Timestamp::from_millis(at).to_string();
    Invitation {
        invitation_id: record.invitation_id.clone(),
        organisation_id: record.org_id.to_string(),
        organisation_name: record.organisation_name.clone(),
        user_id: record.user_id.to_string(),
        role: record.role.clone(),
        group_id: record.group_id.map(|group| group.to_string()),
        created_at: time(record.created_at_ms),
        expires_at: time(record.expires_at_ms),
        status: record.status.clone(),
    }
}

fn list_of(records: &[InvitationRecord]) -> Json<Invitations> {
    Json(Invitations { invitations: records.iter().map(invitation_of).collect() })
}

/// Invite a registered user into the organisation (its admins, and admins). A pending
/// invitation of the same user is replaced; the user is notified. The invitation stands
/// while its inviter is an admin of the organisation (or of the platform): once demoted,
/// what they handed out lapses.
#[utoipa::path(post, path = "/v1/organisations/{org_id}/invitations", tag = "risk", request_body = InvitationRequest,
    params(("org_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "An organisation id.")),
    responses(
        (status = 201, description = "The invitation, pending for seven days.", body = Invitation),
        (status = 400, description = "A bad id or role.", body = ErrorBody),
        (status = 403, description = "Not the organisation's admin.", body = ErrorBody),
        (status = 404, description = "Unknown organisation, group or user.", body = ErrorBody),
        (status = 409, description = "The user is a member of the organisation already, or `too_many`: 1,000 of its invitations are waiting for their answer.", body = ErrorBody),
    ))]
pub(crate) async fn invite(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(org_id): Path<String>,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    let org_id = parse_id("organisationId", &org_id)?;
    require_org_admin(&state, &caller, org_id).await?;
    let organisation = existing(&state, org_id).await?;
    let request: InvitationRequest = from_object(body)?;
    let (user, group) = (request.user_id.0, request.group_id.map(|group| group.0));
    if ask_now(&state, move |store| store.user_by_id(user)).await?.is_none() {
        return Err(ApiError::NotFound(format!("user {user}")));
    }
    if let Some(group) = group
        && ask_now(&state, move |store| store.group_org(group)).await? != Some(org_id)
    {
        return Err(ApiError::NotFound(format!("group {group} in organisation {org_id}")));
    }
    if ask_now(&state, move |store| store.member(user)).await?.is_some_and(|member| member.org_id == org_id) {
        return Err(ApiError::Rejected {
            status: StatusCode::CONFLICT,
            code: "already_member",
            message: format!("user {user} is a member of organisation {org_id} already"),
        });
    }
    let now = state.clock.now_ms();
    let record = InvitationRecord {
        invitation_id: random_token(12),
        org_id,
        user_id: user,
        role: request.role.unwrap_or(MemberRole::Member).as_str().to_owned(),
        group_id: group,
        created_at_ms: now,
        expires_at_ms: now + INVITATION_LIFETIME_MS,
        status: "PENDING".to_owned(),
        organisation_name: organisation.name,
        invited_by: require(&caller)?.user_id,
    };
    let stored = record.clone();
    ask_now(&state, move |store| store.insert_invitation(&stored)).await?;
    let invitation = invitation_of(&record);
    audit(&state, &caller, "organisation.invited", format!("user:{user}"), json!({"organisationId": org_id.to_string(), "invitationId": record.invitation_id}))
        .await;
    crate::social::notify(
        &state,
        user,
        format!("invitation:{}", record.invitation_id),
        "ORG_INVITATION",
        "Invitation".to_owned(),
        format!("You are invited to join {} as {}.", invitation.organisation_name, invitation.role.replace('_', " ")),
    )
    .await;
    Ok((StatusCode::CREATED, Json(invitation)).into_response())
}

/// The organisation's pending invitations (its admins, and admins).
#[utoipa::path(get, path = "/v1/organisations/{org_id}/invitations", tag = "risk",
    params(("org_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "An organisation id.")),
    responses(
        (status = 200, description = "Pending invitations, newest first.", body = Invitations),
        (status = 403, description = "Not the organisation's admin.", body = ErrorBody),
        (status = 404, description = "Unknown organisation.", body = ErrorBody),
    ))]
pub(crate) async fn of_organisation(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(org_id): Path<String>,
) -> Result<Json<Invitations>, ApiError> {
    let org_id = parse_id("organisationId", &org_id)?;
    require_org_admin(&state, &caller, org_id).await?;
    existing(&state, org_id).await?;
    let now = state.clock.now_ms();
    let records = ask_now(&state, move |store| store.pending_invitations(None, Some(org_id), now)).await?;
    Ok(list_of(&records))
}

/// Withdraw a pending invitation (the organisation's admins, and admins).
#[utoipa::path(delete, path = "/v1/organisations/{org_id}/invitations/{invitation_id}", tag = "risk",
    params(("org_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "An organisation id."),
        ("invitation_id" = String, Path, max_length = 64, description = "An invitation id.")),
    responses(
        (status = 204, description = "Withdrawn."),
        (status = 403, description = "Not the organisation's admin.", body = ErrorBody),
        (status = 404, description = "No such pending invitation of the organisation.", body = ErrorBody),
    ))]
pub(crate) async fn revoke(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path((org_id, invitation_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org_id = parse_id("organisationId", &org_id)?;
    require_org_admin(&state, &caller, org_id).await?;
    let found = pending(&state, &invitation_id).await?.filter(|record| record.org_id == org_id);
    let not_found = || ApiError::NotFound(format!("invitation {invitation_id}"));
    found.ok_or_else(not_found)?;
    let (id, now) = (invitation_id.clone(), state.clock.now_ms());
    if !ask_now(&state, move |store| store.answer_invitation(&id, "REVOKED", now)).await? {
        return Err(not_found());
    }
    audit(&state, &caller, "organisation.invitation_revoked", format!("organisation:{org_id}"), json!({"invitationId": invitation_id})).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The invitation if it is pending and unexpired.
async fn pending(state: &AppState, invitation_id: &str) -> Result<Option<InvitationRecord>, ApiError> {
    let (id, now) = (invitation_id.to_owned(), state.clock.now_ms());
    let record = ask_now(state, move |store| store.invitation(&id)).await?;
    Ok(record.filter(|record| record.status == "PENDING" && record.expires_at_ms > now))
}

/// The caller's pending invitations.
#[utoipa::path(get, path = "/v1/me/invitations", tag = "risk",
    responses((status = 200, description = "Pending invitations, newest first.", body = Invitations)))]
pub(crate) async fn mine(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>) -> Result<Json<Invitations>, ApiError> {
    let user = own_account(&caller)?;
    let now = state.clock.now_ms();
    let records = ask_now(&state, move |store| store.pending_invitations(Some(user), None, now)).await?;
    Ok(list_of(&records))
}

/// The caller's pending invitation (another user's is as unknown as none).
async fn own_pending(state: &AppState, caller: &MaybeCaller, invitation_id: &str) -> Result<(u64, InvitationRecord), ApiError> {
    let user = own_account(caller)?;
    let record = pending(state, invitation_id).await?.filter(|record| record.user_id == user);
    Ok((user, record.ok_or_else(|| ApiError::NotFound(format!("invitation {invitation_id}")))?))
}

/// Accept an invitation: the caller joins the organisation (leaving any other), and its
/// and the group's limits apply from now on.
#[utoipa::path(post, path = "/v1/me/invitations/{invitation_id}/accept", tag = "risk",
    params(("invitation_id" = String, Path, max_length = 64, description = "An invitation id.")),
    responses(
        (status = 200, description = "The membership.", body = MemberSet),
        (status = 404, description = "No such pending invitation of yours (unknown, expired, withdrawn, answered, or its inviter is no longer an admin of the organisation nor of the platform).", body = ErrorBody),
        (status = 409, description = "You are the last admin of your organisation: make another member its admin first.", body = ErrorBody),
    ))]
pub(crate) async fn accept(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(invitation_id): Path<String>,
) -> Result<Json<MemberSet>, ApiError> {
    let (user, record) = own_pending(&state, &caller, &invitation_id).await?;
    // Joining leaves any other organisation, which must keep an admin.
    crate::organisations::keeps_an_admin(&state, user, Some((record.org_id, record.role.as_str()))).await?;
    let (id, now) = (invitation_id.clone(), state.clock.now_ms());
    // Answered first, so a withdrawal or a second accept racing this one cannot both win.
    if !ask_now(&state, move |store| store.answer_invitation(&id, "ACCEPTED", now)).await? {
        return Err(ApiError::NotFound(format!("invitation {invitation_id}")));
    }
    let member = MemberRecord { user_id: user, org_id: record.org_id, role: record.role.clone(), group_id: record.group_id };
    if let Err(error) = crate::organisations::move_member(&state, user, Some(member), record.group_id, Some(record.org_id)).await {
        // Not joined: the invitation stands, to be accepted again.
        let id = invitation_id.clone();
        let _ = ask_now(&state, move |store| store.reopen_invitation(&id)).await;
        return Err(error);
    }
    let answer = MemberSet {
        user_id: user.to_string(),
        organisation_id: record.org_id.to_string(),
        role: record.role,
        group_id: record.group_id.map(|group| group.to_string()),
    };
    audit(&state, &caller, "organisation.invitation_accepted", format!("user:{user}"), json!(answer)).await;
    Ok(Json(answer))
}

/// Decline an invitation.
#[utoipa::path(post, path = "/v1/me/invitations/{invitation_id}/decline", tag = "risk",
    params(("invitation_id" = String, Path, max_length = 64, description = "An invitation id.")),
    responses(
        (status = 204, description = "Declined."),
        (status = 404, description = "No such pending invitation of yours.", body = ErrorBody),
    ))]
pub(crate) async fn decline(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(invitation_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    own_pending(&state, &caller, &invitation_id).await?;
    let (id, now) = (invitation_id.clone(), state.clock.now_ms());
    if !ask_now(&state, move |store| store.answer_invitation(&id, "DECLINED", now)).await? {
        return Err(ApiError::NotFound(format!("invitation {invitation_id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}
