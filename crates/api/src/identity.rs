//! Registration, login, token refresh and logout; API keys; roles; the audit trail.

use crate::extract::Query;
use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tradecraft_store::{ApiKeyRecord, AuditRecord, Store, UserRecord};
use tradecraft_types::{Money, Timestamp};
use utoipa::IntoParams;

use crate::auth::{self, MaybeCaller, REFRESH_TTL_MS, Role, hash_secret, now_ms, random_token, require, require_admin};
use crate::extract::{Body, field_error, from_object};
use crate::models::{
    ChangePasswordRequest, CreateApiKeyRequest, EmailText, ForgotPasswordRequest, LoginRequest, PASSWORD_MAX, PASSWORD_MIN, RefreshRequest, RegisterRequest,
    ResetPasswordRequest, RoleName, RoleRequest, Scope, USERNAME_MAX,
};
use crate::reads::ask_now;
use crate::responses::{ApiKey, ApiKeys, AuditEntry, AuditTrail, ErrorBody, NextPage, ResetCode, ResetRequested, RoleSet, Tokens, UserList, UserListed};
use crate::routes::{STARTING_CASH, open_account, parse_id};
use crate::{ApiError, AppState, Shared};

/// An email as the store keeps it: trimmed, lower case.
fn normalised(email: &EmailText) -> String {
    email.as_str().trim().to_lowercase()
}

/// 400 naming `field` unless `password` is 8 to 128 characters.
fn check_new_password(field: &'static str, password: &str) -> Result<(), ApiError> {
    if (PASSWORD_MIN..=PASSWORD_MAX).contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(field_error(field, format!("{PASSWORD_MIN} to {PASSWORD_MAX} characters")))
    }
}

/// `password`'s hash, made on the blocking pool (it is deliberately slow).
async fn hashed(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || auth::hash_password(&password)).await.map_err(|error| ApiError::Internal(error.to_string()))?
}

/// An address mail can be sent to, as registration takes it: `local@domain` in ASCII. The
/// local part is RFC 5321's dot-atom (at most 64 characters, no empty atom: no leading,
/// trailing or doubled dot); the domain is two or more letter-digit-hyphen labels (none
/// starting or ending with a hyphen; the last not all digits), international domains in
/// their `xn--` form.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    let atext = |character: char| character.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(character);
    let local_ok = (1..=64).contains(&local.len()) && local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atext));
    let labels: Vec<&str> = domain.split('.').collect();
    let top_level_ok = labels.last().is_some_and(|label| !label.chars().all(|character| character.is_ascii_digit()));
    email.len() <= 254
        && local_ok
        && domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| crate::extract::dns_label(label, false))
        && top_level_ok
}

/// Appends an audit entry; the trail is best effort only in that a failure is logged.
pub(crate) async fn audit(state: &AppState, actor: &MaybeCaller, action: &str, subject: String, details: Value) {
    let entry = AuditRecord {
        entry_id: crate::auth::ordered_token(8),
        at_ms: state.clock.now_ms(),
        actor: actor.as_ref().map_or_else(|| "anonymous".to_owned(), |caller| caller.user_id.map_or_else(|| "operator".to_owned(), |user| user.to_string())),
        action: action.to_owned(),
        subject,
        details: details.to_string(),
    };
    if let Err(error) = ask_now(state, move |store| store.append_audit(&entry)).await {
        tracing::error!(error = %error, "audit entry not written");
    }
}

/// A new login: an access token and the first refresh token of a new family.
async fn issue(state: &AppState, user: u64, role: Role) -> Result<Tokens, ApiError> {
    let now = now_ms();
    let refresh = random_token(32);
    let (hash, family) = (hash_secret(&refresh), random_token(16));
    ask_now(state, move |store| store.insert_refresh(&hash, user, &family, now + REFRESH_TTL_MS, now)).await?;
    tokens(state, user, role, &refresh, now).await
}

async fn tokens(state: &AppState, user: u64, role: Role, refresh: &str, now: i64) -> Result<Tokens, ApiError> {
    let generation = ask_now(state, move |store| store.token_generation(user)).await?.ok_or_else(|| ApiError::NotFound(format!("user {user}")))?;
    state.auth.set_generation(user, Some(generation));
    Ok(Tokens {
        user_id: user.to_string(),
        role: role.as_str().to_owned(),
        token_type: "Bearer".to_owned(),
        access_token: state.auth.access_token(user, role, generation, now),
        expires_in: auth::ACCESS_TTL_MS / 1_000,
        refresh_token: refresh.to_owned(),
        email: None,
        cash_balance: None,
    })
}

/// Voids every access token of `user` issued so far, on this gateway at once.
pub(crate) async fn revoke_access_tokens(state: &AppState, user: u64) -> Result<(), ApiError> {
    let generation = ask_now(state, move |store| store.bump_token_generation(user)).await?;
    state.auth.set_generation(user, generation);
    Ok(())
}

/// `POST /v1/auth/register` `{email, password, username?}`: a trader with a funded paper
/// account, logged in.
/// Register: a trader with a funded paper account (100,000), logged in.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", security(()), request_body = RegisterRequest, responses(
    (status = 201, description = "The user, an access token and a refresh token.", body = Tokens),
    (status = 400, description = "A bad email or password (8 to 128 characters).", body = ErrorBody),
    (status = 409, description = "`email_taken`: that email is registered; `username_taken`: another user holds that username (letter case aside).", body = ErrorBody),
))]
pub(crate) async fn register(State(state): State<Shared>, Body(request): Body<RegisterRequest>) -> Result<Response, ApiError> {
    let email = normalised(&request.email);
    let password = request.password.0;
    if !valid_email(&email) {
        return Err(field_error("email", "not an email address"));
    }
    check_new_password("password", &password)?;
    // A username chosen is the user's alone (409 if taken); without one, the email's
    // local part, or the first free `name-2`, `name-3`, ... after it.
    let chosen = request.username.as_ref().and_then(|name| name.visible()).map(str::to_owned);
    let derived: String = email.split('@').next().unwrap_or_default().chars().take(USERNAME_MAX).collect();
    let email_taken = || ApiError::Rejected { status: StatusCode::CONFLICT, code: "email_taken", message: "that email is registered".to_owned() };
    let username_taken = |name: &str| ApiError::Rejected {
        status: StatusCode::CONFLICT,
        code: "username_taken",
        message: format!("the username {name:?} is taken (letter case aside): choose another, or leave it out to be given one"),
    };
    let taken = {
        let email = email.clone();
        ask_now(&state, move |store| store.user_by_email(&email)).await?.is_some()
    };
    if taken {
        return Err(email_taken());
    }
    // Checked before the password is hashed and the account opened (the insert checks again).
    if let Some(name) = &chosen {
        let probe = name.clone();
        if ask_now(&state, move |store| store.username_taken(&probe)).await? {
            return Err(username_taken(name));
        }
    }
    let hash = hashed(password).await?;
    // The engine account (its id is the user's), then the user, then the starting cash: a
    // registration that loses a race for the email or username, or stops before its user
    // is stored, leaves an empty account nobody owns, which is ranked nowhere; one that
    // stops after is funded at the user's next login (`fund_registration`).
    let account = open_account(&state, None, STARTING_CASH, Money::ZERO).await?;
    for attempt in 0.. {
        let username = match &chosen {
            Some(name) => name.clone(),
            None => {
                let base = derived.clone();
                ask_now(&state, move |store| store.free_username(&base, USERNAME_MAX)).await?
            }
        };
        let user = UserRecord {
            user_id: account.0,
            email: email.clone(),
            username: username.clone(),
            password_hash: hash.clone(),
            role: Role::Trader.as_str().to_owned(),
            created_at_ms: now_ms(),
        };
        match ask_now(&state, move |store| store.create_user(&user)).await {
            Ok(()) => break,
            // Another registration took the email or the name first.
            Err(ApiError::Rejected { status: StatusCode::CONFLICT, .. }) => {
                let email = email.clone();
                if ask_now(&state, move |store| store.user_by_email(&email)).await?.is_some() {
                    return Err(email_taken());
                }
                if chosen.is_some() || attempt >= 5 {
                    return Err(username_taken(&username));
                }
            }
            Err(other) => return Err(other),
        }
    }
    fund_registration(&state, account.0).await?;
    let caller = Some(auth::Caller { user_id: Some(account.0), role: Role::Trader, read: true, trade: true, key: false });
    audit(&state, &caller, "user.registered", format!("user:{}", account.0), json!({"email": email})).await;
    let mut response = issue(&state, account.0, Role::Trader).await?;
    response.email = Some(email);
    response.cash_balance = Some(STARTING_CASH.to_owned());
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

/// A registered user's starting cash, under the transfer id `2^62 + account id`, so a
/// registration and the login after it that finds the account unfunded deposit it once.
async fn fund_registration(state: &AppState, account: u64) -> Result<(), ApiError> {
    let cash = Money::parse(STARTING_CASH).map_err(|error| ApiError::Internal(error.to_string()))?;
    crate::accounts::deposit_once(state, account, (1_u64 << 62) | account, cash).await
}

/// `POST /v1/auth/login` `{email, password}`.
/// Log in with email and password. Five failures in 15 minutes lock the email for the rest
/// of the window.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", security(()), request_body = LoginRequest, responses(
    (status = 200, description = "Tokens.", body = Tokens),
    (status = 401, description = "Wrong email or password.", body = ErrorBody),
))]
pub(crate) async fn login(State(state): State<Shared>, Body(request): Body<LoginRequest>) -> Result<Json<Tokens>, ApiError> {
    let email = normalised(&request.email);
    let password = request.password.0;
    let now = now_ms();
    state.auth.check_throttle(&email, now)?;
    let user = {
        let email = email.clone();
        ask_now(&state, move |store| store.user_by_email(&email)).await?
    };
    let verified = match user {
        Some(user) => {
            let hash = user.password_hash.clone();
            let matches =
                tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash)).await.map_err(|error| ApiError::Internal(error.to_string()))?;
            matches.then_some(user)
        }
        None => None,
    };
    state.auth.record_login(&email, verified.is_some(), now);
    let user = verified.ok_or_else(|| ApiError::Unauthorized("invalid_credentials", "wrong email or password".to_owned()))?;
    if crate::accounts::never_funded(&state, user.user_id).await? {
        tracing::warn!(user = user.user_id, "a registration stopped before the starting cash: depositing it");
        fund_registration(&state, user.user_id).await?;
    }
    let role = Role::parse(&user.role).unwrap_or(Role::Viewer);
    issue(&state, user.user_id, role).await.map(Json)
}

/// `POST /v1/auth/refresh` `{refreshToken}`: a new pair; the old token is spent. A spent
/// token presented again means it leaked: the whole login is revoked, and the user's
/// access tokens with it (as at logout), since whoever holds the leaked token may hold
/// one of them.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", security(()), request_body = RefreshRequest, responses(
    (status = 200, description = "A new pair of tokens.", body = Tokens),
    (status = 401, description = "The refresh token is invalid, expired, revoked or was used already.", body = ErrorBody),
))]
pub(crate) async fn refresh(State(state): State<Shared>, Body(request): Body<RefreshRequest>) -> Result<Json<Tokens>, ApiError> {
    let old = hash_secret(request.refresh_token.as_str());
    let now = now_ms();
    let invalid = || ApiError::Unauthorized("invalid_refresh_token", "the refresh token is invalid, expired or revoked".to_owned());
    let record = {
        let old = old.clone();
        ask_now(&state, move |store| store.refresh(&old)).await?.ok_or_else(invalid)?
    };
    if record.used {
        let family = record.family.clone();
        ask_now(&state, move |store| store.revoke_family(&family, now)).await?;
        revoke_access_tokens(&state, record.user_id).await?;
        audit(&state, &None, "refresh_token.reused", format!("user:{}", record.user_id), json!({})).await;
        return Err(ApiError::Unauthorized("refresh_token_reused", "this refresh token was already used; the session is revoked".to_owned()));
    }
    if record.revoked || record.expires_at_ms <= now {
        return Err(invalid());
    }
    let user = ask_now(&state, move |store| store.user_by_id(record.user_id)).await?.ok_or_else(invalid)?;
    let role = Role::parse(&user.role).unwrap_or(Role::Viewer);
    let new = random_token(32);
    let (new_hash, family) = (hash_secret(&new), record.family.clone());
    ask_now(&state, move |store| store.rotate_refresh(&old, &new_hash, user.user_id, &family, now + REFRESH_TTL_MS, now))
        .await
        .map_err(|_| ApiError::Unauthorized("refresh_token_reused", "this refresh token was already used".to_owned()))?;
    tokens(&state, user.user_id, role, &new, now).await.map(Json)
}

/// `POST /v1/auth/logout` `{refreshToken}`: revokes the login it belongs to, and every
/// access token of its user (other logins refresh theirs).
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(()), request_body = RefreshRequest, responses(
    (status = 204, description = "Logged out (also when the token was unknown)."),
))]
pub(crate) async fn logout(State(state): State<Shared>, Body(request): Body<RefreshRequest>) -> Result<Response, ApiError> {
    let hash = hash_secret(request.refresh_token.as_str());
    if let Some(record) = ask_now(&state, move |store| store.refresh(&hash)).await? {
        let now = now_ms();
        let user = record.user_id;
        ask_now(&state, move |store| store.revoke_family(&record.family, now)).await?;
        revoke_access_tokens(&state, user).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/auth/password` `{currentPassword, newPassword}`: the caller's new password.
/// Every login and access token of the user ends (on every device, and a WebSocket opened
/// with one within seconds; API keys, separate credentials, stay); the answer is a new
/// login for the caller. A wrong current password counts as a failed login (five lock the
/// email for the rest of 15 minutes).
#[utoipa::path(post, path = "/v1/auth/password", tag = "auth", request_body = ChangePasswordRequest, responses(
    (status = 200, description = "The password is changed: a new access token and refresh token.", body = Tokens),
    (status = 400, description = "The new password is not 8 to 128 characters.", body = ErrorBody),
    (status = 403, description = "The current password is wrong, or the caller is not a user (or is a key without the trade scope).", body = ErrorBody),
))]
pub(crate) async fn change_password(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Body(request): Body<ChangePasswordRequest>,
) -> Result<Json<Tokens>, ApiError> {
    let user_id = auth::own_account(&caller)?;
    let new_password = request.new_password.0;
    check_new_password("newPassword", &new_password)?;
    let user = ask_now(&state, move |store| store.user_by_id(user_id)).await?.ok_or_else(|| ApiError::NotFound(format!("user {user_id}")))?;
    let now = now_ms();
    state.auth.check_throttle(&user.email, now)?;
    let (current, hash) = (request.current_password.0, user.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || auth::verify_password(&current, &hash)).await.map_err(|error| ApiError::Internal(error.to_string()))?;
    state.auth.record_login(&user.email, matches, now);
    if !matches {
        return Err(ApiError::Rejected { status: StatusCode::FORBIDDEN, code: "wrong_password", message: "the current password is wrong".to_owned() });
    }
    let hash = hashed(new_password).await?;
    let generation = ask_now(&state, move |store| store.change_password(user_id, &hash, now)).await?;
    state.auth.set_generation(user_id, generation);
    audit(&state, &caller, "user.password_changed", format!("user:{user_id}"), json!({})).await;
    let role = Role::parse(&user.role).unwrap_or(Role::Viewer);
    issue(&state, user_id, role).await.map(Json)
}

/// How long a mailed reset code works.
const RESET_CODE_TTL_MS: i64 = 30 * 60_000;
/// Most reset codes mailed to one user per hour (more requests are answered alike and
/// send nothing, so nobody can flood a mailbox).
const RESET_CODES_PER_HOUR: u64 = 3;

/// `POST /v1/auth/password/forgot` `{email}`: mails a one-time code that sets a new
/// password (`POST /v1/auth/password/reset`), valid for 30 minutes. The answer is the same
/// whether or not a user has the email, and the lookup, the code and the mail all come
/// after it, so neither the answer nor its timing tells who has an account. At most three
/// codes per user per hour, however many gateways the requests race through.
#[utoipa::path(post, path = "/v1/auth/password/forgot", tag = "auth", security(()), request_body = ForgotPasswordRequest, responses(
    (status = 202, description = "If a user has this email, a code is on its way.", body = ResetRequested),
    (status = 400, description = "Not an email address.", body = ErrorBody),
    (status = 404, description = "`email_not_configured`: this server sends no email, so it has no reset by email.", body = ErrorBody),
))]
pub(crate) async fn forgot_password(State(state): State<Shared>, Body(request): Body<ForgotPasswordRequest>) -> Result<Response, ApiError> {
    let Some(email_config) = state.email.clone() else {
        return Err(ApiError::Rejected {
            status: StatusCode::NOT_FOUND,
            code: "email_not_configured",
            message: "this server sends no email, so it cannot mail a reset code; an admin can make one for you".to_owned(),
        });
    };
    // What no user can have is refused as registration refuses it (that tells nobody
    // anything); everything after the answer, so its timing is the same whether or not
    // anyone has the address (a lookup, a stored code and a mail would tell them apart).
    let email = normalised(&request.email);
    if !valid_email(&email) {
        return Err(field_error("email", "not an email address"));
    }
    tokio::spawn(async move {
        if let Err(error) = mail_reset_code(&state, email_config, email).await {
            tracing::warn!(error = %error, "a password reset code was not mailed");
        }
    });
    let message = "If a user has this email, a reset code is on its way; it works once, within 30 minutes.";
    Ok((StatusCode::ACCEPTED, Json(ResetRequested { message: message.to_owned() })).into_response())
}

/// Makes, keeps and mails a reset code for the user with `email`, if there is one and it
/// has not had its codes for the hour.
async fn mail_reset_code(state: &AppState, email_config: crate::channels::EmailConfig, email: String) -> Result<(), String> {
    let Some(user) = ask_now(state, move |store| store.user_by_email(&email)).await.map_err(|error| error.to_string())? else { return Ok(()) };
    let (user_id, now, code) = (user.user_id, now_ms(), random_token(18));
    let code_hash = hash_secret(&code);
    let kept = ask_now(state, move |store| store.insert_password_reset(&code_hash, user_id, now, now + RESET_CODE_TTL_MS, RESET_CODES_PER_HOUR))
        .await
        .map_err(|error| error.to_string())?;
    if !kept {
        return Ok(());
    }
    audit(state, &None, "user.password_reset_requested", format!("user:{user_id}"), json!({})).await;
    let (subject, body) = reset_email(&code, email_config.public_url.as_deref());
    crate::channels::send_now(&email_config, RESET_MAIL_TIMEOUT, &user.email, subject, body).await
}

/// How long the mail of a reset code may take to hand over.
const RESET_MAIL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The subject and text of a reset code's email.
fn reset_email(code: &str, public_url: Option<&str>) -> (String, String) {
    let link = public_url.map_or_else(String::new, |url| format!("Open {url}/#/reset/{code} to choose a new password, or enter the code\n"));
    let body = format!(
        "Someone (we hope you) asked to reset the password of your TradeCraft account.\n\n\
         Your reset code: {code}\n\n\
         {link}{}on the log-in page under \"Forgot your password?\". It works once, within 30 minutes.\n\n\
         If you did not ask, ignore this email: your password stays as it is.\n",
        if link.is_empty() { "Enter it " } else { "" },
    );
    ("TradeCraft: your password reset code".to_owned(), body)
}

/// `POST /v1/auth/password/reset` `{code, newPassword}`: spends a mailed code and sets
/// the password. As a password change does, every login and access token of the user
/// ends, and every other code; a failed-login lock on the email is lifted. The answer is a
/// new login.
#[utoipa::path(post, path = "/v1/auth/password/reset", tag = "auth", security(()), request_body = ResetPasswordRequest, responses(
    (status = 200, description = "The password is set: a new access token and refresh token.", body = Tokens),
    (status = 400, description = "`invalid_reset_code`: the code is wrong, used or expired; or the new password is not 8 to 128 characters.", body = ErrorBody),
))]
pub(crate) async fn reset_password(State(state): State<Shared>, Body(request): Body<ResetPasswordRequest>) -> Result<Json<Tokens>, ApiError> {
    let new_password = request.new_password.0;
    check_new_password("newPassword", &new_password)?;
    let code_hash = hash_secret(request.code.as_str().trim());
    let now = now_ms();
    let invalid = || ApiError::bad_request("invalid_reset_code", "the reset code is wrong, used or expired; ask for a new one");
    // The code is looked at before the (deliberately slow) password hash is made.
    let live = {
        let code_hash = code_hash.clone();
        ask_now(&state, move |store| store.password_reset_user(&code_hash, now)).await?
    };
    live.ok_or_else(invalid)?;
    let hash = hashed(new_password).await?;
    let (user_id, generation) = ask_now(&state, move |store| store.reset_password(&code_hash, &hash, now)).await?.ok_or_else(invalid)?;
    state.auth.set_generation(user_id, Some(generation));
    let user = ask_now(&state, move |store| store.user_by_id(user_id)).await?.ok_or_else(invalid)?;
    state.auth.record_login(&user.email, true, now);
    audit(&state, &None, "user.password_reset", format!("user:{user_id}"), json!({})).await;
    let role = Role::parse(&user.role).unwrap_or(Role::Viewer);
    issue(&state, user_id, role).await.map(Json)
}

pub(crate) fn key_of(key: &ApiKeyRecord) -> ApiKey {
    ApiKey {
        key_id: key.key_id.clone(),
        name: key.name.clone(),
        scopes: key.scopes.split(',').map(str::to_owned).collect(),
        created_at: Timestamp::from_millis(key.created_at_ms).to_string(),
        revoked: key.revoked,
        api_key: None,
    }
}

/// `POST /v1/api-keys` `{name, scopes: ["read", "trade"]}`: the key is in this answer only.
/// Keys are made in a signed-in session, granting only rights it holds itself (a viewer
/// cannot mint a trading key); no API key makes another, so a leaked one cannot leave
/// others behind that outlive its revocation.
#[utoipa::path(post, path = "/v1/api-keys", tag = "auth", request_body = CreateApiKeyRequest, responses(
    (status = 201, description = "The key, with its secret (shown this once).", body = ApiKey),
    (status = 400, description = "Bad scopes or name.", body = ErrorBody),
    (status = 403, description = "The credentials are an API key (keys are made with a login's access token), do not hold a scope asked for, or are the operator's.", body = ErrorBody),
    (status = 409, description = "`too_many`: the caller holds 50 live keys already (revoke one first); `api_key_name_taken`: a live key of that name (letter case aside).", body = ErrorBody),
))]
pub(crate) async fn create_api_key(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Body(request): Body<CreateApiKeyRequest>,
) -> Result<Response, ApiError> {
    let who = require(&caller)?;
    let user = who.user_id.ok_or_else(|| ApiError::Forbidden("the operator key cannot own keys".to_owned()))?;
    if who.key {
        return Err(ApiError::Forbidden(
            "API keys are made in a signed-in session (a login's access token), not with another key: a leaked key could otherwise make keys that outlive its revocation".to_owned(),
        ));
    }
    // A key's name is its own among the user's live keys; left out, it is named by its id.
    let key_id = random_token(9);
    let name = match request.name {
        None => format!("key {key_id}"),
        Some(name) => name.visible().ok_or_else(|| field_error("name", "must not be blank"))?.to_owned(),
    };
    let mut scopes = request.scopes.unwrap_or_else(|| vec![Scope::Read]);
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(field_error("scopes", "a non-empty list of read, trade"));
    }
    holds_scopes(who, &scopes)?;
    let scopes: Vec<&str> = scopes.iter().map(|scope| scope.as_str()).collect();
    let secret = format!("tc_{}", random_token(32));
    let key = ApiKeyRecord { key_id, user_id: user, name, scopes: scopes.join(","), created_at_ms: now_ms(), revoked: false };
    let (record, hash) = (key.clone(), hash_secret(&secret));
    ask_now(&state, move |store| store.insert_api_key(&record, &hash)).await?;
    audit(&state, &caller, "api_key.created", format!("user:{user}"), json!({"keyId": key.key_id, "scopes": scopes})).await;
    let mut response = key_of(&key);
    response.api_key = Some(secret);
    let mut answer = (StatusCode::CREATED, Json(response)).into_response();
    answer.extensions_mut().insert(crate::idempotency::Unrepeatable(format!(
        "API key {} was created by the first request with this idempotency key; its secret is shown only once: revoke the key and create another",
        key.key_id
    )));
    Ok(answer)
}

/// 403 unless the caller holds every one of `scopes` itself.
fn holds_scopes(caller: &auth::Caller, scopes: &[Scope]) -> Result<(), ApiError> {
    for scope in scopes {
        let held = match scope {
            Scope::Read => caller.read,
            Scope::Trade => caller.trade,
        };
        if !held {
            return Err(ApiError::Forbidden(format!("these credentials do not hold the {} scope, so they cannot grant or revoke it", scope.as_str())));
        }
    }
    Ok(())
}

/// The caller's keys, without their secrets.
#[utoipa::path(get, path = "/v1/api-keys", tag = "auth", responses((status = 200, description = "Keys.", body = ApiKeys)))]
pub(crate) async fn list_api_keys(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>) -> Result<Json<ApiKeys>, ApiError> {
    let user = require(&caller)?.user_id.ok_or_else(|| ApiError::Forbidden("the operator key owns no keys".to_owned()))?;
    let keys = ask_now(&state, move |store| store.api_keys(user)).await?;
    Ok(Json(ApiKeys { keys: keys.iter().map(key_of).collect() }))
}

/// Revoke one of the caller's keys (the credentials must hold the key's scopes).
#[utoipa::path(delete, path = "/v1/api-keys/{key_id}", tag = "auth",
    params(("key_id" = String, Path, max_length = 64, description = "A key id.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 404, description = "No such live key of yours.", body = ErrorBody),
    ))]
pub(crate) async fn revoke_api_key(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(key_id): Path<String>,
) -> Result<Response, ApiError> {
    let who = require(&caller)?;
    let user = who.user_id.ok_or_else(|| ApiError::Forbidden("the operator key owns no keys".to_owned()))?;
    // Revoking a key takes the rights it holds, as granting it did.
    let keys = ask_now(&state, move |store| store.api_keys(user)).await?;
    let key = keys.iter().find(|key| key.key_id == key_id && !key.revoked).ok_or_else(|| ApiError::NotFound(format!("API key {key_id}")))?;
    let scopes: Vec<Scope> = key
        .scopes
        .split(',')
        .filter_map(|scope| match scope {
            "read" => Some(Scope::Read),
            "trade" => Some(Scope::Trade),
            _ => None,
        })
        .collect();
    holds_scopes(who, &scopes)?;
    crate::routes::short_text("keyId", Some(&key_id), 64)?;
    let id = key_id.clone();
    if !ask_now(&state, move |store| store.revoke_api_key(user, &id, now_ms())).await? {
        return Err(ApiError::NotFound(format!("API key {key_id}")));
    }
    state.auth.forget_api_keys();
    audit(&state, &caller, "api_key.revoked", format!("user:{user}"), json!({"keyId": key_id})).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v1/users` (admins): users in id order (so the oldest first), with their role and
/// organisation, to find the one to act on; `q` finds them by email or username.
#[utoipa::path(get, path = "/v1/users", tag = "auth", params(crate::routes::TextSearch),
    responses(
        (status = 200, description = "A page of users.", body = UserList),
        (status = 400, description = "A bad parameter.", body = ErrorBody),
    ))]
pub(crate) async fn list_users(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<crate::routes::TextSearch>,
) -> Result<Json<UserList>, ApiError> {
    require_admin(&caller)?;
    let (text, limit, after) = params.read()?;
    let after = after.unwrap_or(0);
    let mut found = ask_now(&state, move |store| store.find_users(text.as_deref(), after, limit + 1)).await?;
    let next = crate::routes::cut_page(&mut found, limit, |(user, _)| user.user_id);
    let users = found
        .into_iter()
        .map(|(user, organisation)| UserListed {
            user_id: user.user_id.to_string(),
            email: user.email,
            username: user.username,
            role: user.role,
            organisation_id: organisation.map(|organisation| organisation.to_string()),
            created_at: Timestamp::from_millis(user.created_at_ms).to_string(),
        })
        .collect();
    Ok(Json(UserList { users, pagination: NextPage { next_page_token: next } }))
}

/// `PUT /v1/users/{userId}/role` `{role}` (admins): a permission change, audited.
#[utoipa::path(put, path = "/v1/users/{user_id}/role", tag = "auth", request_body = RoleRequest,
    params(("user_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A user id.")),
    responses(
        (status = 200, description = "The new role; the user's access tokens are void.", body = RoleSet),
        (status = 400, description = "Not a user id, or an unknown role.", body = ErrorBody),
        (status = 404, description = "Unknown user.", body = ErrorBody),
    ))]
pub(crate) async fn set_role(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(user_id): Path<String>,
    Body(body): Body<Value>,
) -> Result<Json<RoleSet>, ApiError> {
    require_admin(&caller)?;
    let user = parse_id("userId", &user_id)?;
    let request: RoleRequest = from_object(body)?;
    let role = match request.role {
        RoleName::Trader => Role::Trader,
        RoleName::Viewer => Role::Viewer,
        RoleName::Admin => Role::Admin,
    };
    let changed = ask_now(&state, move |store: &Store| store.set_role(user, role.as_str())).await?;
    if !changed {
        return Err(ApiError::NotFound(format!("user {user}")));
    }
    // The old rights end now: keys are looked up again, access tokens must be renewed.
    state.auth.forget_api_keys();
    revoke_access_tokens(&state, user).await?;
    audit(&state, &caller, "user.role_set", format!("user:{user}"), json!({"role": role.as_str()})).await;
    Ok(Json(RoleSet { user_id: user.to_string(), role: role.as_str().to_owned() }))
}

/// How long a reset code an admin hands over works (a class may meet tomorrow).
const HANDED_CODE_TTL_MS: i64 = 24 * 3_600_000;

/// `POST /v1/users/{userId}/password-reset` (admins): a one-time code, in this answer only,
/// that sets the user's password at `POST /v1/auth/password/reset` within 24 hours while
/// the admin who made it still is one; for a
/// user who forgot theirs where the server sends no email, or cannot receive it. Nothing
/// else changes until the code is used. Audited; a retry with the same
/// `X-Idempotency-Key` does not show the code again.
#[utoipa::path(post, path = "/v1/users/{user_id}/password-reset", tag = "auth",
    params(("user_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A user id.")),
    responses(
        (status = 201, description = "The code (shown this once).", body = ResetCode),
        (status = 400, description = "Not a user id.", body = ErrorBody),
        (status = 403, description = "Not an admin.", body = ErrorBody),
        (status = 404, description = "Unknown user.", body = ErrorBody),
    ))]
pub(crate) async fn issue_reset_code(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(user_id): Path<String>,
) -> Result<Response, ApiError> {
    require_admin(&caller)?;
    let user = parse_id("userId", &user_id)?;
    ask_now(&state, move |store| store.user_by_id(user)).await?.ok_or_else(|| ApiError::NotFound(format!("user {user}")))?;
    let (now, code) = (now_ms(), random_token(18));
    let (code_hash, expires_at_ms) = (hash_secret(&code), now + HANDED_CODE_TTL_MS);
    let issuer = require(&caller)?.user_id;
    ask_now(&state, move |store| match issuer {
        Some(issuer) => store.insert_handed_password_reset(&code_hash, user, issuer, now, expires_at_ms),
        None => store.insert_password_reset(&code_hash, user, now, expires_at_ms, u64::MAX).map(|_| ()),
    })
    .await?;
    audit(&state, &caller, "user.password_reset_issued", format!("user:{user}"), json!({})).await;
    let code = ResetCode { user_id: user.to_string(), code, expires_at: Timestamp::from_millis(expires_at_ms).to_string() };
    let mut answer = (StatusCode::CREATED, Json(code)).into_response();
    answer.extensions_mut().insert(crate::idempotency::Unrepeatable(format!(
        "a reset code for user {user} was made by the first request with this idempotency key and is shown only once: make another"
    )));
    Ok(answer)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditParams {
    /// Only entries about this, e.g. `user:42`.
    #[param(value_type = Option<String>, max_length = 100)]
    subject: Option<String>,
    /// 1 to 1000, default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The previous page's `nextPageToken`.
    #[serde(rename = "pageToken")]
    #[param(rename = "pageToken", value_type = Option<String>, max_length = 100)]
    page_token: Option<String>,
}

/// The audit trail, newest first (admins), a page at a time: registrations, keys, roles, limits,
/// memberships, organisations, webhooks, and every order placed, replaced, cancelled or
/// refused.
#[utoipa::path(get, path = "/v1/audit", tag = "auth", params(AuditParams), responses(
    (status = 200, description = "Entries, newest first.", body = AuditTrail),
))]
pub(crate) async fn audit_trail(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<AuditParams>,
) -> Result<Json<AuditTrail>, ApiError> {
    require_admin(&caller)?;
    let limit = crate::routes::bounded(params.limit.as_deref(), 100, tradecraft_store::PAGE_LIMIT_MAX, "limit")?;
    crate::routes::short_text("subject", params.subject.as_deref(), 100)?;
    crate::routes::short_text("pageToken", params.page_token.as_deref(), 100)?;
    let (entries, next_page_token) = ask_now(&state, move |store| store.audit_page(params.subject.as_deref(), limit, params.page_token.as_deref())).await?;
    Ok(Json(AuditTrail {
        pagination: crate::responses::NextPage { next_page_token },
        entries: entries
            .iter()
            .map(|entry| AuditEntry {
                id: entry.entry_id.clone(),
                timestamp: Timestamp::from_millis(entry.at_ms).to_string(),
                actor: entry.actor.clone(),
                action: entry.action.clone(),
                subject: entry.subject.clone(),
                details: serde_json::from_str::<Value>(&entry.details).unwrap_or(Value::Null),
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::valid_email;

    /// Audit entries, price alerts and reports written one after another (many within a
    /// millisecond) list in that order.
    #[test]
    fn ordered_tokens_sort_as_they_were_made() {
        let ids: Vec<String> = (0..2_000).map(|_| crate::auth::ordered_token(8)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids);
    }

    #[test]
    fn emails_are_addresses_mail_can_reach() {
        for good in ["ada@example.com", "a+tag@b.co", "o'brien@mail.example.org", "x@xn--bcher-kva.example", "a.b.c@d-e.fg"] {
            assert!(valid_email(good), "{good}");
        }
        for bad in [
            "a@b",
            "@b.com",
            "a@",
            "a@@b.com",
            "a b@c.com",
            "a@b..com",
            "a@-b.com",
            "a@b-.com",
            ".a@b.com",
            "a.@b.com",
            "a..b@c.com",
            "\u{ff41}@b.com",
            "jos\u{e9}@b.com",
            "a@[127.0.0.1]",
            "a@1.2.3.4",
            "a@b.com.",
            "a@.b.com",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        assert!(!valid_email(&format!("{}@b.com", "l".repeat(65))), "a local part over 64 characters");
    }
}
