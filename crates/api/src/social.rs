//! Social trading: profiles with avatars, follows, shared trades and orders, likes,
//! comments, a ranked feed, and reports that admins resolve by hiding.
//!
//! What others see is only what a user shares, and nothing of a private profile (it is
//! 404 to them, as an unknown one). User text is HTML-escaped on output, limited in
//! length, and posting (shares and comments) is limited per minute.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tradecraft_store::{AvatarRecord, CommentRecord, NotificationRecord, ProfileRecord, ReportRecord, ShareRecord};
use tradecraft_types::Timestamp;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, MaybeCaller, own_account, owner_of, random_token, require, require_admin};
use crate::extract::{Body, Query, Text, field_error, from_object};
use crate::identity::audit;
use crate::reads::ask;
use crate::responses::ErrorBody;
use crate::routes::{bounded, parse_id, short_text};
use crate::{ApiError, AppState, Shared};

/// Largest avatar image (the request body limit).
pub const AVATAR_BYTES_MAX: usize = 64 * 1_024;
/// Shares and comments one user may post in a minute.
pub const POSTS_PER_MINUTE: u64 = 10;
/// How far back the feed looks.
const FEED_WINDOW_MS: i64 = 7 * 24 * 3_600_000;
/// Most shares the feed ranks.
const FEED_CANDIDATES: usize = 1_000;

/// `text` safe to place in HTML: `& < > " '` escaped.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            other => out.push(other),
        }
    }
    out
}

/// The feed's rank of a share: engagement over age, `(1 + likes + 2·comments) /
/// (hours + 2)^1.5` (a ranking, not money: floating point is fine).
pub fn feed_score(likes: u64, comments: u64, age_ms: i64) -> f64 {
    let hours = age_ms.max(0) as f64 / 3_600_000.0;
    (1.0 + likes as f64 + 2.0 * comments as f64) / (hours + 2.0).powf(1.5)
}

/// A profile as others see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Profile {
    pub user_id: String,
    /// HTML-escaped.
    pub display_name: String,
    /// HTML-escaped.
    pub bio: String,
    /// Whether others may see the profile, its shares and its follows.
    pub public: bool,
    /// Where the avatar image is, if there is one.
    pub avatar_url: Option<String>,
    pub followers: u64,
    pub following: u64,
    /// Whether the caller follows this user.
    pub followed_by_you: bool,
}

/// `PUT /v1/me/profile`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProfileRequest {
    /// 1 to 50 characters, not blank.
    #[schema(value_type = String, min_length = 1, max_length = 50)]
    pub display_name: Text<50>,
    /// At most 500 characters.
    #[schema(value_type = Option<String>, max_length = 500)]
    pub bio: Option<Text<500>>,
    /// Default false: a private profile shows nothing to others.
    pub public: Option<bool>,
}

/// One user in a followers or following list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FollowEntry {
    pub user_id: String,
    pub display_name: String,
    pub since: String,
}

/// `GET /v1/users/{userId}/followers` and `/following`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FollowList {
    /// Users with public profiles only (private ones are not shown to others).
    pub users: Vec<FollowEntry>,
    pub next_page_token: Option<String>,
    /// How many the pages list in all (users with public profiles).
    pub public_count: u64,
    /// How many more there are with private profiles, not listed: with `publicCount`, the
    /// profile's `followers` or `following`.
    pub private_count: u64,
}

/// A shared trade or order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Share {
    pub share_id: String,
    pub user_id: String,
    pub display_name: String,
    /// `TRADE` or `ORDER`.
    pub kind: String,
    /// The trade or order id.
    pub reference_id: String,
    pub symbol: String,
    pub side: String,
    pub quantity: String,
    /// The execution price of a trade; for an order, its average fill price once it has
    /// filled (in part), else its limit price (none for a market order not yet filled).
    pub price: Option<String>,
    /// HTML-escaped.
    pub comment: String,
    pub likes: u64,
    pub comments: u64,
    pub liked_by_you: bool,
    pub created_at: String,
}

/// Shares, ranked or newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Shares {
    pub shares: Vec<Share>,
    pub next_page_token: Option<String>,
}

/// `POST /v1/trades/{tradeId}/share` and `/v1/orders/{orderId}/share`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShareRequest {
    /// At most 500 characters.
    #[schema(value_type = Option<String>, max_length = 500)]
    pub comment: Option<Text<500>>,
}

/// `POST /v1/shares/{shareId}/comment`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommentRequest {
    /// 1 to 1,000 characters, not blank.
    #[schema(value_type = String, min_length = 1, max_length = 1000)]
    pub text: Text<1000>,
}

/// A comment on a share.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Comment {
    pub comment_id: String,
    pub share_id: String,
    pub user_id: String,
    pub display_name: String,
    /// HTML-escaped.
    pub text: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Comments {
    pub comments: Vec<Comment>,
    pub next_page_token: Option<String>,
}

/// `POST /v1/shares/{shareId}/report` and `/v1/comments/{commentId}/report`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportRequest {
    /// 1 to 500 characters.
    #[schema(value_type = String, min_length = 1, max_length = 500)]
    pub reason: Text<500>,
}

/// A report of a share or a comment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Report {
    pub report_id: String,
    /// `SHARE` or `COMMENT`.
    pub target: String,
    pub target_id: String,
    pub reporter_id: String,
    /// HTML-escaped.
    pub reason: String,
    pub created_at: String,
    /// When an admin hid what was reported.
    pub resolved_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Reports {
    pub reports: Vec<Report>,
    pub pagination: crate::responses::NextPage,
}

/// What `GET /v1/me/export` holds of a user's social data.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SocialExport {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub public: bool,
    pub has_avatar: bool,
    /// User ids.
    pub following: Vec<String>,
    pub followers: Vec<String>,
    /// Including any an admin hid.
    pub shares: Vec<Share>,
    pub comments: Vec<Comment>,
    /// Share ids.
    pub likes: Vec<String>,
    /// What the user reported to the admins, newest first.
    pub reports: Vec<Report>,
}

/// Everything social stored about `user` (for the export).
pub(crate) async fn export_of(state: &AppState, caller: &Caller, user: u64) -> Result<SocialExport, ApiError> {
    let max = tradecraft_store::EXPORT_LIMIT_MAX;
    let ((profile, avatar, following, followers, shares, comments, likes), reports) = ask(state, move |store| {
        Ok((
            (
                store.profile(user)?,
                store.avatar(user)?.is_some(),
                store.follow_list(user, false, 0, max)?.0,
                store.follow_list(user, true, 0, max)?.0,
                store.own_shares(user, max)?,
                store.comments_by(user, max)?,
                store.likes_by(user)?,
            ),
            store.reports_by(user, max)?,
        ))
    })
    .await?;
    let ids = |list: Vec<tradecraft_store::FollowRecord>| list.iter().map(|entry| entry.user_id.to_string()).collect();
    Ok(SocialExport {
        display_name: profile.as_ref().map(|profile| escape_html(&profile.display_name)),
        bio: profile.as_ref().map(|profile| escape_html(&profile.bio)),
        public: profile.as_ref().is_some_and(|profile| profile.public),
        has_avatar: avatar,
        following: ids(following),
        followers: ids(followers),
        shares: shares_of(state, caller, shares).await?,
        comments: comments_of(state, caller, comments).await?,
        likes,
        reports: reports.iter().map(report_of).collect(),
    })
}

/// Paging of a list: an opaque token from the previous page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Page {
    /// 1 to 100, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// From the previous page's `nextPageToken`.
    #[param(value_type = Option<String>, pattern = "^(0|[1-9][0-9]{0,18})$")]
    page_token: Option<String>,
}

impl Page {
    /// (offset, limit).
    fn parse(&self) -> Result<(usize, usize), ApiError> {
        let limit = bounded(self.limit.as_deref(), 20, 100, "limit")?;
        let offset = self.page_token.as_deref().map(|token| parse_id("pageToken", token)).transpose()?.unwrap_or(0);
        Ok((usize::try_from(offset).unwrap_or(usize::MAX), limit))
    }
}

fn next_token(offset: usize, limit: usize, total: usize) -> Option<String> {
    (total > offset + limit).then(|| (offset + limit).to_string())
}

fn at(ms: i64) -> String {
    Timestamp::from_millis(ms).to_string()
}

fn default_profile(user_id: u64) -> ProfileRecord {
    ProfileRecord { user_id, display_name: format!("user {user_id}"), bio: String::new(), public: false, updated_at_ms: 0 }
}

/// The profile of `user_id` if the caller may see it: their own, an admin's view, or a
/// public one; `None` (shown as 404) otherwise, and for users that do not exist.
async fn visible_profile(state: &AppState, caller: &Caller, user_id: u64) -> Result<Option<ProfileRecord>, ApiError> {
    let (profile, exists) = ask(state, move |store| Ok((store.profile(user_id)?, store.user_by_id(user_id)?.is_some()))).await?;
    if !exists {
        return Ok(None);
    }
    let profile = profile.unwrap_or_else(|| default_profile(user_id));
    let own = caller.user_id == Some(user_id);
    Ok((own || caller.is_admin() || profile.public).then_some(profile))
}

fn not_found_user(user_id: u64) -> ApiError {
    ApiError::NotFound(format!("user {user_id}"))
}

/// Display names of `users` whose profiles others may see (escaped); private ones are absent.
pub(crate) async fn public_names(state: &AppState, users: Vec<u64>) -> Result<std::collections::BTreeMap<u64, String>, ApiError> {
    let names = ask(state, move |store| store.public_display_names(&users)).await?;
    Ok(names.into_iter().map(|(user, name)| (user, escape_html(&name))).collect())
}

/// Display names of `users` as `viewer` sees them: the public ones, and the viewer's own
/// even when their profile is private (escaped).
pub(crate) async fn names_seen_by(state: &AppState, viewer: Option<u64>, users: Vec<u64>) -> Result<std::collections::BTreeMap<u64, String>, ApiError> {
    let own = viewer.filter(|viewer| users.contains(viewer));
    let mut names = public_names(state, users).await?;
    if let Some(viewer) = own.filter(|viewer| !names.contains_key(viewer))
        && let Some(profile) = crate::reads::ask_now(state, move |store| store.profile(viewer)).await?
    {
        names.insert(viewer, escape_html(&profile.display_name));
    }
    Ok(names)
}

/// The name others see for `user`: their display name, or `user {id}` for a private profile.
fn shown_name(names: &std::collections::BTreeMap<u64, String>, user: u64) -> String {
    names.get(&user).cloned().unwrap_or_else(|| format!("user {user}"))
}

async fn name_of(state: &AppState, user: u64) -> Result<String, ApiError> {
    Ok(shown_name(&public_names(state, vec![user]).await?, user))
}

/// A user's profile.
#[utoipa::path(get, path = "/v1/profiles/{user_id}", tag = "social",
    params(("user_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A user id.")),
    responses((status = 200, description = "The profile.", body = Profile), (status = 404, description = "No such user, or a private profile.", body = ErrorBody)))]
pub(crate) async fn profile(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(user_id): Path<String>,
) -> Result<Json<Profile>, ApiError> {
    let caller = require(&caller)?;
    let user_id = parse_id("userId", &user_id)?;
    let profile = visible_profile(&state, caller, user_id).await?.ok_or_else(|| not_found_user(user_id))?;
    Ok(Json(profile_view(&state, caller, profile).await?))
}

async fn profile_view(state: &AppState, caller: &Caller, profile: ProfileRecord) -> Result<Profile, ApiError> {
    let user_id = profile.user_id;
    let viewer = caller.user_id;
    let (avatar, followers, following, followed) = ask(state, move |store| {
        Ok((
            store.avatar(user_id)?.is_some(),
            store.follow_list(user_id, true, 0, 1)?.1,
            store.follow_list(user_id, false, 0, 1)?.1,
            match viewer {
                Some(viewer) => store.follows(viewer, user_id)?,
                None => false,
            },
        ))
    })
    .await?;
    Ok(Profile {
        user_id: user_id.to_string(),
        display_name: escape_html(&profile.display_name),
        bio: escape_html(&profile.bio),
        public: profile.public,
        avatar_url: avatar.then(|| format!("/v1/profiles/{user_id}/avatar")),
        followers,
        following,
        followed_by_you: followed,
    })
}

/// Write the caller's profile: display name, bio, and whether others may see it.
#[utoipa::path(put, path = "/v1/me/profile", tag = "social", request_body = ProfileRequest,
    responses((status = 200, description = "The profile.", body = Profile), (status = 400, description = "A bad field.", body = ErrorBody), (status = 403, description = "The operator key, which has no profile.", body = ErrorBody)))]
pub(crate) async fn put_profile(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Body(body): Body<Value>,
) -> Result<Json<Profile>, ApiError> {
    let user = own_account(&caller)?;
    let request: ProfileRequest = from_object(body)?;
    let display_name = request.display_name.visible().ok_or_else(|| field_error("displayName", "must not be blank"))?;
    let record = ProfileRecord {
        user_id: user,
        display_name: display_name.to_owned(),
        // Surrounding whitespace trimmed; a bio of nothing visible is none.
        bio: request.bio.as_ref().and_then(|bio| bio.visible()).unwrap_or_default().to_owned(),
        public: request.public.unwrap_or(false),
        updated_at_ms: state.clock.now_ms(),
    };
    let stored = record.clone();
    ask(&state, move |store| store.put_profile(&stored)).await?;
    let caller = require(&caller)?;
    Ok(Json(profile_view(&state, caller, record).await?))
}

/// An image's bytes as the body (not JSON): OpenAPI's binary string.
pub(crate) struct ImageBytes;

impl utoipa::PartialSchema for ImageBytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Binary)))
            .into()
    }
}

impl utoipa::ToSchema for ImageBytes {}

/// Upload the caller's avatar: the image itself as the body, PNG, JPEG, GIF or WebP, at
/// most 64 KiB, its `Content-Type` matching what the bytes are.
#[utoipa::path(put, path = "/v1/me/avatar", tag = "social",
    request_body(description = "A PNG, JPEG, GIF or WebP image, at most 64 KiB.",
        content((ImageBytes = "image/png"), (ImageBytes = "image/jpeg"), (ImageBytes = "image/gif"), (ImageBytes = "image/webp"))),
    responses(
        (status = 204, description = "Stored."),
        (status = 400, description = "Not a whole image of the type it says: another type, cut off or corrupted (its structure is read, a PNG's checksums too), or empty.", body = ErrorBody),
        (status = 413, description = "Larger than 64 KiB.", body = ErrorBody),
        (status = 415, description = "A type other than PNG, JPEG, GIF or WebP.", body = ErrorBody),
    ))]
pub(crate) async fn put_avatar(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let user = own_account(&caller)?;
    let declared = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let declared = declared.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if !matches!(declared.as_str(), "image/png" | "image/jpeg" | "image/gif" | "image/webp") {
        return Err(ApiError::Rejected {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            message: "an avatar is image/png, image/jpeg, image/gif or image/webp".to_owned(),
        });
    }
    if body.len() > AVATAR_BYTES_MAX {
        return Err(ApiError::body_too_large());
    }
    if crate::images::whole_image(&body) != Some(declared.as_str()) {
        let message = if crate::images::signature(&body) == Some(declared.as_str()) {
            format!("the body is an {declared} image cut off or corrupted")
        } else {
            format!("the body is not an {declared} image")
        };
        return Err(ApiError::bad_request("invalid_image", message));
    }
    let avatar = AvatarRecord { content_type: declared, base64: STANDARD.encode(&body) };
    let now = state.clock.now_ms();
    ask(&state, move |store| store.put_avatar(user, Some(&avatar), now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove the caller's avatar.
#[utoipa::path(delete, path = "/v1/me/avatar", tag = "social", responses((status = 204, description = "Removed (or there was none).")))]
pub(crate) async fn delete_avatar(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>) -> Result<StatusCode, ApiError> {
    let user = own_account(&caller)?;
    let now = state.clock.now_ms();
    ask(&state, move |store| store.put_avatar(user, None, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A profile's avatar image: a public profile's is open to everyone (so a page can show it
/// in `<img>`), a private one's to whoever may see the profile (its owner and admins), the
/// same rule as the profile's, so the `avatarUrl` a profile names always answers its reader.
#[utoipa::path(get, path = "/v1/profiles/{user_id}/avatar", tag = "social",
    params(("user_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A user id.")),
    responses(
        (status = 200, description = "The image, in the type it was uploaded as.",
            content((ImageBytes = "image/png"), (ImageBytes = "image/jpeg"), (ImageBytes = "image/gif"), (ImageBytes = "image/webp"))),
        (status = 404, description = "No avatar, or a profile the caller may not see.", body = ErrorBody),
    ))]
pub(crate) async fn avatar(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>, Path(user_id): Path<String>) -> Result<Response, ApiError> {
    let user_id = parse_id("userId", &user_id)?;
    let (profile, found) = ask(&state, move |store| Ok((store.profile(user_id)?, store.avatar(user_id)?))).await?;
    let public = profile.is_some_and(|profile| profile.public);
    let allowed = public || caller.as_ref().is_some_and(|caller| caller.user_id == Some(user_id) || caller.is_admin());
    let avatar = found.filter(|_| allowed).ok_or_else(|| ApiError::NotFound(format!("avatar of user {user_id}")))?;
    let bytes = STANDARD.decode(avatar.base64.as_bytes()).map_err(|error| ApiError::Internal(error.to_string()))?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(&avatar.content_type).map_err(|error| ApiError::Internal(error.to_string()))?);
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'"));
    // A private profile's picture is never kept by a shared cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(if public { "public, max-age=60" } else { "private, no-store" }));
    Ok(response)
}

/// Notifies `user` (never the actor themselves), once per id.
pub(crate) async fn notify(state: &AppState, user: u64, notification_id: String, kind: &str, title: String, message: String) {
    let record =
        NotificationRecord { notification_id, user_id: user, kind: kind.to_owned(), title, message, created_at_ms: state.clock.now_ms(), read_at_ms: None };
    if let Err(error) = ask(state, move |store| store.insert_notification(&record)).await {
        tracing::warn!(error = %error, "a social notification was not stored");
    }
}

/// Follow a user (whose profile you may see).
#[utoipa::path(post, path = "/v1/users/{user_id}/follow", tag = "social",
    params(("user_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A user id.")),
    responses(
        (status = 200, description = "Following (also if you did already).", body = Profile),
        (status = 400, description = "Yourself.", body = ErrorBody),
        (status = 404, description = "No such user, or a private profile.", body = ErrorBody),
    ))]
pub(crate) async fn follow(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(user_id): Path<String>,
) -> Result<Json<Profile>, ApiError> {
    let follower = own_account(&caller)?;
    let caller = require(&caller)?;
    let followee = parse_id("userId", &user_id)?;
    if followee == follower {
        return Err(ApiError::bad_parameter("userId", "you cannot follow yourself"));
    }
    let profile = visible_profile(&state, caller, followee).await?.ok_or_else(|| not_found_user(followee))?;
    let now = state.clock.now_ms();
    let started = ask(&state, move |store| store.follow(follower, followee, now)).await?;
    if started {
        let name = name_of(&state, follower).await?;
        notify(&state, followee, format!("follow:{followee}:{follower}"), "NEW_FOLLOWER", "New follower".to_owned(), format!("{name} follows you.")).await;
    }
    Ok(Json(profile_view(&state, caller, profile).await?))
}

/// Stop following a user.
#[utoipa::path(delete, path = "/v1/users/{user_id}/follow", tag = "social",
    params(("user_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A user id.")),
    responses((status = 204, description = "Not following (also if you were not).")))]
pub(crate) async fn unfollow(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(user_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let follower = own_account(&caller)?;
    let followee = parse_id("userId", &user_id)?;
    ask(&state, move |store| store.unfollow(follower, followee)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn follow_list(state: &AppState, caller: &MaybeCaller, user_id: &str, page: &Page, followers: bool) -> Result<Json<FollowList>, ApiError> {
    let caller = require(caller)?;
    let user_id = parse_id("userId", user_id)?;
    let (offset, limit) = page.parse()?;
    visible_profile(state, caller, user_id).await?.ok_or_else(|| not_found_user(user_id))?;
    let tradecraft_store::FollowPage { users, public, private } = ask(state, move |store| store.public_follow_page(user_id, followers, offset, limit)).await?;
    let users = users
        .into_iter()
        .map(|(entry, name)| FollowEntry { user_id: entry.user_id.to_string(), display_name: escape_html(&name), since: at(entry.since_ms) })
        .collect();
    let next_page_token = next_token(offset, limit, usize::try_from(public).unwrap_or(usize::MAX));
    Ok(Json(FollowList { users, next_page_token, public_count: public, private_count: private }))
}

/// Who follows a user, newest first (users with public profiles).
#[utoipa::path(get, path = "/v1/users/{user_id}/followers", tag = "social",
    params(("user_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A user id."), Page),
    responses((status = 200, description = "A page of followers.", body = FollowList), (status = 404, description = "No such user, or a private profile.", body = ErrorBody)))]
pub(crate) async fn followers(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(user_id): Path<String>,
    Query(page): Query<Page>,
) -> Result<Json<FollowList>, ApiError> {
    follow_list(&state, &caller, &user_id, &page, true).await
}

/// Whom a user follows, newest first (users with public profiles).
#[utoipa::path(get, path = "/v1/users/{user_id}/following", tag = "social",
    params(("user_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A user id."), Page),
    responses((status = 200, description = "A page of followed users.", body = FollowList), (status = 404, description = "No such user, or a private profile.", body = ErrorBody)))]
pub(crate) async fn following(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(user_id): Path<String>,
    Query(page): Query<Page>,
) -> Result<Json<FollowList>, ApiError> {
    follow_list(&state, &caller, &user_id, &page, false).await
}

/// 429 when the user posted [`POSTS_PER_MINUTE`] shares and comments in the last minute.
async fn check_posting_rate(state: &AppState, user: u64) -> Result<(), ApiError> {
    let since = state.clock.now_ms() - 60_000;
    let posted = ask(state, move |store| store.posts_since(user, since)).await?;
    if posted >= POSTS_PER_MINUTE { Err(ApiError::TooManyRequests { retry_after_s: 60 }) } else { Ok(()) }
}

async fn store_share(state: &AppState, caller: &MaybeCaller, record: ShareRecord) -> Result<Response, ApiError> {
    check_posting_rate(state, record.user_id).await?;
    // One share of each order or trade per user (delete it to share again): the store
    // refuses a second; the answer names the first.
    let stored = record.clone();
    if let Err(refused) = ask(state, move |store| store.insert_share(&stored)).await {
        let ApiError::Rejected { code: "too_many", .. } = refused else { return Err(refused) };
        let (user, kind, reference) = (record.user_id, record.kind.clone(), record.reference_id.clone());
        let shared = ask(state, move |store| store.share_of(user, &kind, &reference)).await?.unwrap_or_default();
        let what = if record.kind == "TRADE" { "trade" } else { "order" };
        return Err(ApiError::Rejected {
            status: StatusCode::CONFLICT,
            code: "already_shared",
            message: format!("you shared this {what} already (share {shared}); delete that share to share it again"),
        });
    }
    audit(state, caller, "share.created", format!("share:{}", record.share_id), json!({"kind": record.kind, "referenceId": record.reference_id})).await;
    let caller = require(caller)?;
    let share = shares_of(state, caller, vec![record]).await?.pop().ok_or_else(|| ApiError::Internal("share".to_owned()))?;
    Ok((StatusCode::CREATED, Json(share)).into_response())
}

/// A share by `user` of what `account` did: (kind, id) and (symbol, side, quantity, price).
fn new_share(
    state: &AppState,
    user: u64,
    account: u64,
    (kind, reference): (&str, u64),
    (symbol, side, quantity, price): (String, String, String, Option<String>),
    comment: String,
) -> ShareRecord {
    ShareRecord {
        share_id: random_token(9),
        user_id: user,
        account_id: account,
        kind: kind.to_owned(),
        reference_id: reference.to_string(),
        symbol,
        side,
        quantity,
        price,
        comment,
        likes: 0,
        comments: 0,
        created_at_ms: state.clock.now_ms(),
    }
}

fn share_comment(body: Value) -> Result<String, ApiError> {
    let request: ShareRequest = from_object(body)?;
    Ok(request.comment.map(|comment| comment.0.trim().to_owned()).unwrap_or_default())
}

/// Share one of your trades (your side of it) with an optional comment.
#[utoipa::path(post, path = "/v1/trades/{trade_id}/share", tag = "social", request_body = ShareRequest,
    params(("trade_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A trade id.")),
    responses(
        (status = 201, description = "The share.", body = Share),
        (status = 404, description = "No trade of yours with that id.", body = ErrorBody),
        (status = 409, description = "`already_shared`: you shared this trade already (delete that share to share it again).", body = ErrorBody),
        (status = 429, description = "Posting too fast.", body = ErrorBody),
    ))]
pub(crate) async fn share_trade(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(trade_id): Path<String>,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    let user = own_account(&caller)?;
    let trade_id = parse_id("tradeId", &trade_id)?;
    let comment = share_comment(body)?;
    let sides = ask(&state, move |store| store.trade_sides(trade_id)).await?;
    let side = sides.into_iter().find(|side| owner_of(side.user_id) == Some(user)).ok_or_else(|| ApiError::NotFound(format!("trade {trade_id}")))?;
    let price = side.execution_price.map(|price| price.to_string());
    let record = new_share(&state, user, side.user_id, ("TRADE", trade_id), (side.symbol, side.side, side.quantity.to_string(), price), comment);
    store_share(&state, &caller, record).await
}

/// Share one of your orders with an optional comment.
#[utoipa::path(post, path = "/v1/orders/{order_id}/share", tag = "social", request_body = ShareRequest,
    params(("order_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "An order id.")),
    responses(
        (status = 201, description = "The share.", body = Share),
        (status = 404, description = "No order of yours with that id.", body = ErrorBody),
        (status = 409, description = "`already_shared`: you shared this order already (delete that share to share it again).", body = ErrorBody),
        (status = 429, description = "Posting too fast.", body = ErrorBody),
    ))]
pub(crate) async fn share_order(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(order_id): Path<String>,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    let user = own_account(&caller)?;
    let order_id = parse_id("orderId", &order_id)?;
    let comment = share_comment(body)?;
    let order = crate::history::order(&state, tradecraft_types::OrderId(order_id))
        .await?
        .filter(|record| owner_of(record.account.0) == Some(user))
        .map(|record| crate::orders::order_of(&record, &crate::orders::Standing::default()))
        .ok_or_else(|| ApiError::NotFound(format!("order {order_id}")))?;
    let account = parse_id("userId", &order.user_id)?;
    let quantity = order.quantity.or(order.notional).unwrap_or_default();
    // What the order traded at, once it has; until then the price it asks.
    let price = order.average_price.or(order.limit_price);
    let record = new_share(&state, user, account, ("ORDER", order_id), (order.symbol, order.side, quantity, price), comment);
    store_share(&state, &caller, record).await
}

/// Shares as the caller sees them (names of private authors are shown only to themselves).
async fn shares_of(state: &AppState, caller: &Caller, records: Vec<ShareRecord>) -> Result<Vec<Share>, ApiError> {
    let mut authors: Vec<u64> = records.iter().map(|record| record.user_id).collect();
    authors.dedup();
    let names = names_seen_by(state, caller.user_id, authors).await?;
    let ids: Vec<String> = records.iter().map(|record| record.share_id.clone()).collect();
    let liked = match caller.user_id {
        Some(viewer) => ask(state, move |store| store.liked(viewer, &ids)).await?,
        None => vec![false; records.len()],
    };
    Ok(records
        .into_iter()
        .zip(liked)
        .map(|(record, liked_by_you)| Share {
            display_name: shown_name(&names, record.user_id),
            share_id: record.share_id,
            user_id: record.user_id.to_string(),
            kind: record.kind,
            reference_id: record.reference_id,
            symbol: record.symbol,
            side: record.side,
            quantity: record.quantity,
            price: record.price,
            comment: escape_html(&record.comment),
            likes: record.likes,
            comments: record.comments,
            liked_by_you,
            created_at: at(record.created_at_ms),
        })
        .collect())
}

/// A share the caller may see (its author's profile is public, or it is theirs, or they
/// are an admin); 404 otherwise.
async fn visible_share(state: &AppState, caller: &Caller, share_id: &str) -> Result<ShareRecord, ApiError> {
    short_text("shareId", Some(share_id), 64)?;
    let id = share_id.to_owned();
    let share = ask(state, move |store| store.share(&id)).await?.ok_or_else(|| ApiError::NotFound(format!("share {share_id}")))?;
    visible_profile(state, caller, share.user_id).await?.ok_or_else(|| ApiError::NotFound(format!("share {share_id}")))?;
    Ok(share)
}

/// One share.
#[utoipa::path(get, path = "/v1/shares/{share_id}", tag = "social",
    params(("share_id" = String, Path, max_length = 64, description = "A share id.")),
    responses((status = 200, description = "The share.", body = Share), (status = 404, description = "No such share you may see.", body = ErrorBody)))]
pub(crate) async fn get_share(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(share_id): Path<String>,
) -> Result<Json<Share>, ApiError> {
    let caller = require(&caller)?;
    let share = visible_share(&state, caller, &share_id).await?;
    shares_of(&state, caller, vec![share]).await?.pop().map(Json).ok_or_else(|| ApiError::Internal("share".to_owned()))
}

/// Delete your share.
#[utoipa::path(delete, path = "/v1/shares/{share_id}", tag = "social",
    params(("share_id" = String, Path, max_length = 64, description = "A share id.")),
    responses((status = 204, description = "Deleted."), (status = 404, description = "No share of yours with that id.", body = ErrorBody)))]
pub(crate) async fn delete_share(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(share_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = own_account(&caller)?;
    short_text("shareId", Some(&share_id), 64)?;
    let (id, now) = (share_id.clone(), state.clock.now_ms());
    if ask(&state, move |store| store.delete_share(user, &id, now)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("share {share_id}")))
    }
}

/// A user's shares, newest first.
#[utoipa::path(get, path = "/v1/users/{user_id}/shares", tag = "social",
    params(("user_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A user id."), Page),
    responses((status = 200, description = "A page of shares.", body = Shares), (status = 404, description = "No such user, or a private profile.", body = ErrorBody)))]
pub(crate) async fn user_shares(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(user_id): Path<String>,
    Query(page): Query<Page>,
) -> Result<Json<Shares>, ApiError> {
    let caller = require(&caller)?;
    let user_id = parse_id("userId", &user_id)?;
    let (offset, limit) = page.parse()?;
    visible_profile(&state, caller, user_id).await?.ok_or_else(|| not_found_user(user_id))?;
    let (page, more) = ask(&state, move |store| store.shares_page(user_id, offset, limit)).await?;
    let next_page_token = more.then(|| (offset + limit).to_string());
    Ok(Json(Shares { shares: shares_of(&state, caller, page).await?, next_page_token }))
}

/// The caller's feed: the last 7 days' shares of the people they follow (with public
/// profiles) and their own, ranked by [`feed_score`], best first, then newest.
#[utoipa::path(get, path = "/v1/feed", tag = "social", params(Page),
    responses((status = 200, description = "A page of the feed.", body = Shares), (status = 403, description = "The operator key, which follows nobody.", body = ErrorBody)))]
pub(crate) async fn feed(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>, Query(page): Query<Page>) -> Result<Json<Shares>, ApiError> {
    let user = own_account(&caller)?;
    let caller = require(&caller)?;
    let (offset, limit) = page.parse()?;
    let now = state.clock.now_ms();
    let mut records = ask(&state, move |store| {
        let mut authors: Vec<u64> =
            store.followees(user)?.into_iter().filter(|&author| store.profile(author).ok().flatten().is_some_and(|profile| profile.public)).collect();
        authors.push(user);
        store.shares_by(&authors, now - FEED_WINDOW_MS, FEED_CANDIDATES)
    })
    .await?;
    records.sort_by(|a, b| {
        feed_score(b.likes, b.comments, now - b.created_at_ms)
            .total_cmp(&feed_score(a.likes, a.comments, now - a.created_at_ms))
            .then(b.created_at_ms.cmp(&a.created_at_ms))
            .then(b.share_id.cmp(&a.share_id))
    });
    let next_page_token = next_token(offset, limit, records.len());
    let page = records.into_iter().skip(offset).take(limit).collect();
    Ok(Json(Shares { shares: shares_of(&state, caller, page).await?, next_page_token }))
}

async fn set_like(state: &AppState, caller: &MaybeCaller, share_id: &str, like: bool) -> Result<Share, ApiError> {
    let user = own_account(caller)?;
    let caller = require(caller)?;
    let share = visible_share(state, caller, share_id).await?;
    let (id, now) = (share.share_id.clone(), state.clock.now_ms());
    let changed = ask(state, move |store| store.like(&id, user, like, now)).await?;
    if changed && like && share.user_id != user {
        let name = name_of(state, user).await?;
        let message = format!("{name} liked your {} {} {}.", share.side.to_lowercase(), share.quantity, share.symbol);
        notify(state, share.user_id, format!("like:{}:{user}", share.share_id), "LIKE", "New like".to_owned(), message).await;
    }
    let id = share.share_id.clone();
    let share = ask(state, move |store| store.share(&id)).await?.ok_or_else(|| ApiError::NotFound(format!("share {share_id}")))?;
    shares_of(state, caller, vec![share]).await?.pop().ok_or_else(|| ApiError::Internal("share".to_owned()))
}

/// Like a share (once; liking again changes nothing).
#[utoipa::path(post, path = "/v1/shares/{share_id}/like", tag = "social",
    params(("share_id" = String, Path, max_length = 64, description = "A share id.")),
    responses((status = 200, description = "The share.", body = Share), (status = 404, description = "No such share you may see.", body = ErrorBody)))]
pub(crate) async fn like(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(share_id): Path<String>,
) -> Result<Json<Share>, ApiError> {
    set_like(&state, &caller, &share_id, true).await.map(Json)
}

/// Take back your like.
#[utoipa::path(delete, path = "/v1/shares/{share_id}/like", tag = "social",
    params(("share_id" = String, Path, max_length = 64, description = "A share id.")),
    responses((status = 200, description = "The share.", body = Share), (status = 404, description = "No such share you may see.", body = ErrorBody)))]
pub(crate) async fn unlike(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(share_id): Path<String>,
) -> Result<Json<Share>, ApiError> {
    set_like(&state, &caller, &share_id, false).await.map(Json)
}

async fn comments_of(state: &AppState, caller: &Caller, records: Vec<CommentRecord>) -> Result<Vec<Comment>, ApiError> {
    let names = names_seen_by(state, caller.user_id, records.iter().map(|record| record.user_id).collect()).await?;
    Ok(records
        .into_iter()
        .map(|record| Comment {
            display_name: shown_name(&names, record.user_id),
            comment_id: record.comment_id,
            share_id: record.share_id,
            user_id: record.user_id.to_string(),
            text: escape_html(&record.text),
            created_at: at(record.created_at_ms),
        })
        .collect())
}

/// Comment on a share.
#[utoipa::path(post, path = "/v1/shares/{share_id}/comment", tag = "social", request_body = CommentRequest,
    params(("share_id" = String, Path, max_length = 64, description = "A share id.")),
    responses(
        (status = 201, description = "The comment.", body = Comment),
        (status = 400, description = "Blank or too long.", body = ErrorBody),
        (status = 404, description = "No such share you may see.", body = ErrorBody),
        (status = 429, description = "Posting too fast.", body = ErrorBody),
    ))]
pub(crate) async fn comment(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(share_id): Path<String>,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    let user = own_account(&caller)?;
    let viewer = require(&caller)?;
    let share = visible_share(&state, viewer, &share_id).await?;
    let request: CommentRequest = from_object(body)?;
    let text = request.text.visible().ok_or_else(|| field_error("text", "must not be blank"))?.to_owned();
    check_posting_rate(&state, user).await?;
    let record = CommentRecord { comment_id: random_token(9), share_id: share.share_id.clone(), user_id: user, text, created_at_ms: state.clock.now_ms() };
    let stored = record.clone();
    ask(&state, move |store| store.insert_comment(&stored)).await?;
    if share.user_id != user {
        let name = name_of(&state, user).await?;
        let message = format!("{name} commented on your {} {} {}.", share.side.to_lowercase(), share.quantity, share.symbol);
        notify(&state, share.user_id, format!("comment:{}", record.comment_id), "COMMENT", "New comment".to_owned(), message).await;
    }
    let comment = comments_of(&state, viewer, vec![record]).await?.pop().ok_or_else(|| ApiError::Internal("comment".to_owned()))?;
    Ok((StatusCode::CREATED, Json(comment)).into_response())
}

/// A share's comments, oldest first.
#[utoipa::path(get, path = "/v1/shares/{share_id}/comments", tag = "social",
    params(("share_id" = String, Path, max_length = 64, description = "A share id."), Page),
    responses((status = 200, description = "A page of comments.", body = Comments), (status = 404, description = "No such share you may see.", body = ErrorBody)))]
pub(crate) async fn comments(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(share_id): Path<String>,
    Query(page): Query<Page>,
) -> Result<Json<Comments>, ApiError> {
    let caller = require(&caller)?;
    let (offset, limit) = page.parse()?;
    let share = visible_share(&state, caller, &share_id).await?;
    let records = ask(&state, move |store| store.comments(&share.share_id, offset, limit + 1)).await?;
    let next_page_token = (records.len() > limit).then(|| (offset + limit).to_string());
    Ok(Json(Comments { comments: comments_of(&state, caller, records.into_iter().take(limit).collect()).await?, next_page_token }))
}

/// Delete a comment: yours, or one on your share.
#[utoipa::path(delete, path = "/v1/comments/{comment_id}", tag = "social",
    params(("comment_id" = String, Path, max_length = 64, description = "A comment id.")),
    responses((status = 204, description = "Deleted."), (status = 404, description = "No comment of yours or on your share with that id.", body = ErrorBody)))]
pub(crate) async fn delete_comment(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(comment_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = own_account(&caller)?;
    short_text("commentId", Some(&comment_id), 64)?;
    let (id, now) = (comment_id.clone(), state.clock.now_ms());
    let deleted = ask(&state, move |store| {
        let Some(found) = store.comment(&id)? else { return Ok(false) };
        let share_author = store.share(&found.share_id)?.map(|share| share.user_id);
        if found.user_id != user && share_author != Some(user) {
            return Ok(false);
        }
        store.delete_comment(&id, now)
    })
    .await?;
    if deleted { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::NotFound(format!("comment {comment_id}"))) }
}

async fn report(state: &AppState, caller: &MaybeCaller, target: &'static str, target_id: &str, body: Value) -> Result<Response, ApiError> {
    let user = own_account(caller)?;
    let viewer = require(caller)?;
    short_text("id", Some(target_id), 64)?;
    // The author of what is reported, if the caller may see it.
    let author = match target {
        "SHARE" => visible_share(state, viewer, target_id).await.ok().map(|share| share.user_id),
        _ => {
            let id = target_id.to_owned();
            match ask(state, move |store| store.comment(&id)).await? {
                Some(found) => visible_share(state, viewer, &found.share_id).await.ok().map(|_| found.user_id),
                None => None,
            }
        }
    };
    let what = target.to_lowercase();
    let Some(author) = author else { return Err(ApiError::NotFound(format!("{what} {target_id}"))) };
    if author == user {
        return Err(ApiError::bad_parameter(&format!("{what}Id"), format!("you cannot report your own {what}")));
    }
    let request: ReportRequest = from_object(body)?;
    if request.reason.visible().is_none() {
        return Err(field_error("reason", "must not be blank"));
    }
    // One open report per reporter and target: a repeat answers the report already made.
    let (kind, id) = (target, target_id.to_owned());
    if let Some(open) = ask(state, move |store| store.open_report(user, kind, &id)).await? {
        return Ok((StatusCode::OK, Json(report_of(&open))).into_response());
    }
    let record = ReportRecord {
        report_id: crate::auth::ordered_token(6),
        target: target.to_owned(),
        target_id: target_id.to_owned(),
        reporter_id: user,
        reason: request.reason.0.trim().to_owned(),
        created_at_ms: state.clock.now_ms(),
        resolved_at_ms: None,
    };
    let stored = record.clone();
    ask(state, move |store| store.insert_report(&stored)).await?;
    Ok((StatusCode::CREATED, Json(report_of(&record))).into_response())
}

fn report_of(record: &ReportRecord) -> Report {
    Report {
        report_id: record.report_id.clone(),
        target: record.target.clone(),
        target_id: record.target_id.clone(),
        reporter_id: record.reporter_id.to_string(),
        reason: escape_html(&record.reason),
        created_at: at(record.created_at_ms),
        resolved_at: record.resolved_at_ms.map(at),
    }
}

/// Report a share to the admins.
#[utoipa::path(post, path = "/v1/shares/{share_id}/report", tag = "social", request_body = ReportRequest,
    params(("share_id" = String, Path, max_length = 64, description = "A share id.")),
    responses((status = 201, description = "The report.", body = Report), (status = 200, description = "The caller's open report of it, made before.", body = Report), (status = 400, description = "A bad reason, or the caller's own share.", body = ErrorBody), (status = 404, description = "No such share you may see.", body = ErrorBody)))]
pub(crate) async fn report_share(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(share_id): Path<String>,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    report(&state, &caller, "SHARE", &share_id, body).await
}

/// Report a comment to the admins.
#[utoipa::path(post, path = "/v1/comments/{comment_id}/report", tag = "social", request_body = ReportRequest,
    params(("comment_id" = String, Path, max_length = 64, description = "A comment id.")),
    responses((status = 201, description = "The report.", body = Report), (status = 200, description = "The caller's open report of it, made before.", body = Report), (status = 400, description = "A bad reason, or the caller's own comment.", body = ErrorBody), (status = 404, description = "No such comment you may see.", body = ErrorBody)))]
pub(crate) async fn report_comment(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(comment_id): Path<String>,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    report(&state, &caller, "COMMENT", &comment_id, body).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportParams {
    /// `true`: only reports not yet resolved.
    open: Option<bool>,
    /// 1 to 1000, default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The previous page's `nextPageToken` (with the same `open`).
    #[param(value_type = Option<String>, max_length = 1000)]
    page_token: Option<String>,
}

/// Reports, oldest first, a page at a time (admins).
#[utoipa::path(get, path = "/v1/reports", tag = "social", params(ReportParams),
    responses((status = 200, description = "Reports.", body = Reports), (status = 403, description = "Not an admin.", body = ErrorBody)))]
pub(crate) async fn reports(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<ReportParams>,
) -> Result<Json<Reports>, ApiError> {
    require_admin(&caller)?;
    let open = params.open.unwrap_or(false);
    let limit = bounded(params.limit.as_deref(), 100, tradecraft_store::PAGE_LIMIT_MAX, "limit")?;
    short_text("pageToken", params.page_token.as_deref(), 1000)?;
    let (records, next_page_token) = ask(&state, move |store| store.reports(open, limit, params.page_token.as_deref())).await?;
    Ok(Json(Reports { reports: records.iter().map(report_of).collect(), pagination: crate::responses::NextPage { next_page_token } }))
}

async fn hide(state: &AppState, caller: &MaybeCaller, target: &'static str, target_id: &str) -> Result<StatusCode, ApiError> {
    require_admin(caller)?;
    short_text("id", Some(target_id), 64)?;
    let (id, now) = (target_id.to_owned(), state.clock.now_ms());
    if !ask(state, move |store| store.hide(target, &id, now)).await? {
        return Err(ApiError::NotFound(format!("{} {target_id}", target.to_lowercase())));
    }
    audit(state, caller, "social.hidden", format!("{}:{target_id}", target.to_lowercase()), json!({"target": target})).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Hide a share from everyone and resolve its reports (admins).
#[utoipa::path(post, path = "/v1/shares/{share_id}/hide", tag = "social",
    params(("share_id" = String, Path, max_length = 64, description = "A share id.")),
    responses((status = 204, description = "Hidden."), (status = 403, description = "Not an admin.", body = ErrorBody), (status = 404, description = "No such visible share.", body = ErrorBody)))]
pub(crate) async fn hide_share(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(share_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    hide(&state, &caller, "SHARE", &share_id).await
}

/// Hide a comment from everyone and resolve its reports (admins).
#[utoipa::path(post, path = "/v1/comments/{comment_id}/hide", tag = "social",
    params(("comment_id" = String, Path, max_length = 64, description = "A comment id.")),
    responses((status = 204, description = "Hidden."), (status = 403, description = "Not an admin.", body = ErrorBody), (status = 404, description = "No such visible comment.", body = ErrorBody)))]
pub(crate) async fn hide_comment(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(comment_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    hide(&state, &caller, "COMMENT", &comment_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape_html(r#"<script>alert("x" & 'y')</script>"#), "&lt;script&gt;alert(&quot;x&quot; &amp; &#x27;y&#x27;)&lt;/script&gt;");
        assert_eq!(escape_html("plain text, 100%"), "plain text, 100%");
    }

    #[test]
    fn engagement_lifts_a_share_and_age_lowers_it() {
        let hour = 3_600_000;
        assert!(feed_score(0, 0, 0) > feed_score(0, 0, hour));
        assert!(feed_score(5, 0, 2 * hour) > feed_score(0, 0, 0), "five likes outweigh two hours");
        assert!(feed_score(5, 0, 10 * hour) < feed_score(0, 0, 0), "but not ten");
        assert!(feed_score(0, 1, 0) > feed_score(1, 0, 0), "a comment weighs more than a like");
        assert!(feed_score(3, 0, 48 * hour) < feed_score(0, 0, 0), "after two days a new share wins");
    }
}
