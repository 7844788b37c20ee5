//! Who is calling, and what they may do.
//!
//! - Access tokens are HS256 JWTs (`sub` user id, `role`, `iat`, `exp`), 15 minutes.
//! - Refresh tokens are random, stored hashed, rotated on every use; using one twice
//!   revokes the whole login (reuse detection), as does logout.
//! - API keys (`tc_...`) are random, shown once, stored hashed, scoped `read` and/or
//!   `trade`, and sent as `X-API-Key` (or `apiKey=` on the WebSocket URL).
//! - The operator's admin key (`TRADECRAFT_ADMIN_KEY`) is checked against its hash.
//!
//! The middleware resolves credentials on every request and applies the route policy:
//! market data, health, metrics, analytics, the leaderboard and the auth routes are
//! public; everything else needs a caller (401). A viewer, or a key without `trade`,
//! cannot change anything (403); a key without `read` cannot read (403). Handlers then
//! check ownership: a user acts only for their own account unless they are an admin.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{ApiError, AppState, Shared};

/// Lifetime of an access token.
pub const ACCESS_TTL_MS: i64 = 15 * 60 * 1_000;
/// Lifetime of a refresh token.
pub const REFRESH_TTL_MS: i64 = 30 * 24 * 3_600 * 1_000;
/// Failed logins per email allowed within the throttle window.
const LOGIN_FAILURES_MAX: u32 = 5;
const LOGIN_WINDOW_MS: i64 = 15 * 60 * 1_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Trader,
    Viewer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trader => "trader",
            Self::Viewer => "viewer",
            Self::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "trader" => Some(Self::Trader),
            "viewer" => Some(Self::Viewer),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// The authenticated caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// `None` for the operator's admin key, which acts for no account of its own.
    pub user_id: Option<u64>,
    pub role: Role,
    pub read: bool,
    pub trade: bool,
    /// Whether the credential is one of the user's API keys (not a login's token).
    pub key: bool,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the caller may act for `account`: an admin for any, a user for their own
    /// paper accounts (the default one, whose id is theirs, and the others).
    pub fn acts_for(&self, account: u64) -> bool {
        self.is_admin() || (self.user_id.is_some() && owner_of(account) == self.user_id)
    }
}

/// Bits of an account id below its number: a user's n-th extra paper account is
/// `user_id + n * 2^ACCOUNT_OWNER_BITS`; n = 0 is the default account, the user's own id.
/// User ids are below 2^48 (they are log offsets, or refused above it).
pub const ACCOUNT_OWNER_BITS: u32 = 48;
/// Most extra paper accounts one user may open.
pub const PAPER_ACCOUNTS_MAX: u64 = 20;

/// The user an account belongs to, read from its id; `None` for an id no user's account
/// can have.
pub fn owner_of(account: u64) -> Option<u64> {
    (account >> ACCOUNT_OWNER_BITS <= PAPER_ACCOUNTS_MAX).then_some(account & ((1 << ACCOUNT_OWNER_BITS) - 1))
}

/// What the middleware found: a caller, or nobody (public routes only).
pub type MaybeCaller = Option<Caller>;

/// Fails unless somebody authenticated.
pub fn require(caller: &MaybeCaller) -> Result<&Caller, ApiError> {
    caller.as_ref().ok_or_else(|| ApiError::Unauthorized("unauthorized", "credentials required".to_owned()))
}

/// The account a request is about: `requested`, or the caller's own when absent; 403 if
/// the caller may not act for it.
pub fn account_for(caller: &MaybeCaller, requested: Option<u64>) -> Result<u64, ApiError> {
    let caller = require(caller)?;
    let user = requested.or(caller.user_id).ok_or_else(|| ApiError::bad_parameter("userId", "userId is required"))?;
    if caller.acts_for(user) { Ok(user) } else { Err(ApiError::Forbidden(format!("not allowed to act for user {user}"))) }
}

/// The caller's own account: 403 for the operator key, which has none.
pub fn own_account(caller: &MaybeCaller) -> Result<u64, ApiError> {
    require(caller)?.user_id.ok_or_else(|| ApiError::Forbidden("the operator key has no account of its own".to_owned()))
}

pub fn require_admin(caller: &MaybeCaller) -> Result<&Caller, ApiError> {
    let caller = require(caller)?;
    if caller.is_admin() { Ok(caller) } else { Err(ApiError::Forbidden("admins only".to_owned())) }
}

#[derive(Debug, Default)]
struct Attempts {
    failures: u32,
    window_start_ms: i64,
}

/// Secrets and state of authentication.
pub struct AuthConfig {
    secret: Vec<u8>,
    admin_key: Option<String>,
    throttle: Mutex<HashMap<String, Attempts>>,
    /// API keys recently found in the store, by hash, with when: a bot's requests skip the
    /// store. Emptied whenever a key, role or user changes here; entries expire after
    /// [`AUTH_CACHE_MS`] so changes made by another gateway take effect too.
    /// By the secret's hash: the caller and the key's id.
    api_keys: Mutex<HashMap<String, (Caller, String, i64)>>,
    /// Each user's token generation as last read or set here (`None`: no such user), with
    /// when. An access token is honoured only while its `gen` claim equals its user's
    /// generation; a role change, a logout or a deletion raises it, so old tokens fail at
    /// once here, and on other gateways once their entry is older than [`AUTH_CACHE_MS`].
    generations: Mutex<HashMap<u64, (Option<u64>, i64)>>,
}

/// How long a looked-up API key or token generation is trusted without asking the store
/// again: the longest a revocation made through another process (a logout, a role change,
/// a deletion, a revoked key) goes unseen here.
pub(crate) const AUTH_CACHE_MS: i64 = 1_000;
/// Keys remembered at most (the cache starts over beyond).
const API_KEY_CACHE_MAX: usize = 10_000;
/// Users whose token generation is remembered at most (the cache starts over beyond).
const GENERATION_CACHE_MAX: usize = 1_000_000;

/// Never prints the secrets.
impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("AuthConfig").field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>")).finish_non_exhaustive()
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// SHA-256 of a secret, hex: what is stored for refresh tokens and keys.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A random URL-safe token of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0_u8; bytes];
    rand::fill(&mut buffer[..]);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// A new id for a row listed by its time, then its id (audit entries, price alerts,
/// reports): a millisecond often holds several, so the id begins with this process's clock
/// in nanoseconds, never the same twice and never going back, and rows written one after
/// another list in that order; `bytes` random bytes after it keep several processes' apart.
pub(crate) fn ordered_token(bytes: usize) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
    let previous = LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(now.max(last + 1))).unwrap_or_default();
    format!("{:016x}{}", now.max(previous + 1), random_token(bytes))
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn invalid_token() -> ApiError {
    ApiError::Unauthorized("invalid_token", "the access token is invalid or expired".to_owned())
}

impl AuthConfig {
    /// `secret` signs access tokens; `admin_key`, if given, is the operator's key.
    pub fn new(secret: Vec<u8>, admin_key: Option<&str>) -> Self {
        Self {
            secret,
            admin_key: admin_key.filter(|key| !key.is_empty()).map(str::to_owned),
            throttle: Mutex::new(HashMap::new()),
            api_keys: Mutex::new(HashMap::new()),
            generations: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        Hmac::<Sha256>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
    }

    /// A signed access token for `user` of token generation `generation`.
    pub fn access_token(&self, user: u64, role: Role, generation: u64, now_ms: i64) -> String {
        let header = b64_json(&json!({"alg": "HS256", "typ": "JWT"}));
        let claims = b64_json(&json!({
            "sub": user.to_string(), "role": role.as_str(), "gen": generation, "iat": now_ms / 1_000, "exp": (now_ms + ACCESS_TTL_MS) / 1_000,
        }));
        let signing_input = format!("{header}.{claims}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// The caller an access token names and the token's generation, if its signature holds
    /// and it has not expired (whether the generation is current is the caller's check).
    pub fn verify_access(&self, token: &str, now_ms: i64) -> Result<(Caller, u64), ApiError> {
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(invalid_token());
        };
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid_token())?;
        let mut mac = self.mac();
        mac.update(format!("{header}.{claims}").as_bytes());
        mac.verify_slice(&signature).map_err(|_| invalid_token())?;
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).map_err(|_| invalid_token())?).map_err(|_| invalid_token())?;
        if header["alg"] != "HS256" {
            return Err(invalid_token());
        }
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).map_err(|_| invalid_token())?).map_err(|_| invalid_token())?;
        let expires = claims["exp"].as_i64().ok_or_else(invalid_token)?;
        if expires * 1_000 <= now_ms {
            return Err(ApiError::Unauthorized("token_expired", "the access token has expired".to_owned()));
        }
        let user = claims["sub"].as_str().and_then(|text| text.parse().ok()).ok_or_else(invalid_token)?;
        let role = claims["role"].as_str().and_then(Role::parse).ok_or_else(invalid_token)?;
        let generation = claims["gen"].as_u64().ok_or_else(invalid_token)?;
        Ok((Caller { user_id: Some(user), role, read: true, trade: role != Role::Viewer, key: false }, generation))
    }

    /// The user's token generation if this gateway knows it: `Some(None)` for a user
    /// known not to exist, `None` when unknown here.
    pub fn cached_generation(&self, user: u64, now_ms: i64) -> Option<Option<u64>> {
        self.generations.lock().ok()?.get(&user).filter(|(_, at)| now_ms - at < AUTH_CACHE_MS).map(|(generation, _)| *generation)
    }

    /// Records the user's token generation (`None`: the user no longer exists).
    pub fn set_generation(&self, user: u64, generation: Option<u64>) {
        if let Ok(mut generations) = self.generations.lock() {
            if generations.len() >= GENERATION_CACHE_MAX {
                generations.clear();
            }
            generations.insert(user, (generation, now_ms()));
        }
    }

    fn cached_api_key(&self, hash: &str, now_ms: i64) -> Option<(Caller, String)> {
        let keys = self.api_keys.lock().ok()?;
        keys.get(hash).filter(|(_, _, at)| now_ms - at < AUTH_CACHE_MS).map(|(caller, key_id, _)| (caller.clone(), key_id.clone()))
    }

    fn remember_api_key(&self, hash: String, caller: Caller, key_id: String, now_ms: i64) {
        if let Ok(mut keys) = self.api_keys.lock() {
            if keys.len() >= API_KEY_CACHE_MAX {
                keys.clear();
            }
            keys.insert(hash, (caller, key_id, now_ms));
        }
    }

    /// Forgets every looked-up API key: call after revoking a key or changing a role or
    /// a user, so the change holds from the next request.
    pub fn forget_api_keys(&self) {
        if let Ok(mut keys) = self.api_keys.lock() {
            keys.clear();
        }
    }

    pub fn is_admin_key(&self, key: &str) -> bool {
        self.admin_key.as_ref().is_some_and(|admin| {
            // Every byte compared, without an early exit (only the length can tell).
            admin.len() == key.len() && admin.bytes().zip(key.bytes()).fold(0_u8, |difference, (left, right)| difference | (left ^ right)) == 0
        })
    }

    /// Refuses a login attempt for `email` while it is throttled: 429 with the seconds left.
    pub fn check_throttle(&self, email: &str, now_ms: i64) -> Result<(), ApiError> {
        let throttle = self.throttle.lock().map_err(|_| ApiError::Internal("throttle lock".to_owned()))?;
        if let Some(attempts) = throttle.get(email) {
            let ends = attempts.window_start_ms + LOGIN_WINDOW_MS;
            if attempts.failures >= LOGIN_FAILURES_MAX && now_ms < ends {
                return Err(ApiError::TooManyRequests { retry_after_s: ((ends - now_ms + 999) / 1_000) as u64 });
            }
        }
        Ok(())
    }

    pub fn record_login(&self, email: &str, succeeded: bool, now_ms: i64) {
        let Ok(mut throttle) = self.throttle.lock() else { return };
        if succeeded {
            throttle.remove(email);
            return;
        }
        let attempts = throttle.entry(email.to_owned()).or_default();
        if now_ms >= attempts.window_start_ms + LOGIN_WINDOW_MS {
            *attempts = Attempts { failures: 0, window_start_ms: now_ms };
        }
        attempts.failures += 1;
    }
}

/// Argon2id hash of a password (PHC string).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0_u8; 16];
    rand::fill(&mut salt[..]);
    let salt = SaltString::encode_b64(&salt).map_err(|error| ApiError::Internal(error.to_string()))?;
    argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string()).map_err(|error| ApiError::Internal(error.to_string()))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Whether a route (its path template) is open to everyone.
pub fn public(path: &str) -> bool {
    // Alpaca's streams (`/stream`, `/v2/{feed}`) authenticate in a message after connecting.
    matches!(
        path,
        "/health/live"
            | "/health/ready"
            | "/openapi.json"
            | "/docs"
            | "/metrics"
            | "/v1/leaderboard"
            | "/stream"
            | "/v2/{feed}"
            | "/v1/profiles/{user_id}/avatar"
    ) || path.starts_with("/v1/market/")
        || path.starts_with("/v1/marketdata")
        || path.starts_with("/v1/analytics/")
        || matches!(
            path,
            "/v1/auth/register" | "/v1/auth/login" | "/v1/auth/refresh" | "/v1/auth/logout" | "/v1/auth/password/forgot" | "/v1/auth/password/reset"
        )
}

/// The credential a user's WebSocket was opened with: checked again while it stays open,
/// so a logout, role change, deletion or revoked key ends it.
#[derive(Clone, Debug)]
pub(crate) struct SocketCredential {
    pub token: Option<String>,
    pub api_key: Option<String>,
}

/// Whether the credential a stream was opened with no longer names whom it named then
/// (`None`: nobody authenticated yet, so nothing to revoke).
pub(crate) async fn revoked(state: &AppState, holder: &Option<(SocketCredential, Caller)>) -> bool {
    match holder {
        Some((credential, caller)) => !credential.still_names(state, caller).await,
        None => false,
    }
}

impl SocketCredential {
    /// Whether the credential still names `caller` (a token past its expiry still does:
    /// a socket outlives its token, not the token's revocation).
    pub(crate) async fn still_names(&self, state: &AppState, caller: &Caller) -> bool {
        match resolve_at(state, self.token.as_deref(), self.api_key.as_deref(), i64::MIN).await {
            Ok(Some(now)) => now.user_id == caller.user_id && now.role == caller.role,
            // A store that cannot answer right now is not a revocation.
            Err(ApiError::Internal(_)) => true,
            _ => false,
        }
    }
}

/// Resolves the caller of a request from its credentials.
pub(crate) async fn resolve(state: &AppState, bearer: Option<&str>, api_key: Option<&str>) -> Result<MaybeCaller, ApiError> {
    resolve_at(state, bearer, api_key, now_ms()).await
}

/// [`resolve`], with a token's expiry judged at `expiry_now_ms` (`i64::MIN`: not judged,
/// for a socket that outlives its token, as sockets do, but not its revocation).
pub(crate) async fn resolve_at(state: &AppState, bearer: Option<&str>, api_key: Option<&str>, expiry_now_ms: i64) -> Result<MaybeCaller, ApiError> {
    if let Some(token) = bearer {
        let (caller, generation) = state.auth.verify_access(token, expiry_now_ms)?;
        let user = caller.user_id.ok_or_else(invalid_token)?;
        let current = match state.auth.cached_generation(user, now_ms()) {
            Some(current) => current,
            None => {
                let current = match state.store.clone() {
                    Some(store) => tokio::task::spawn_blocking(move || store.token_generation(user))
                        .await
                        .map_err(|error| ApiError::Internal(error.to_string()))?
                        .map_err(|error| ApiError::Internal(error.to_string()))?,
                    // Without a store there are no users to change: the token stands.
                    None => Some(generation),
                };
                state.auth.set_generation(user, current);
                current
            }
        };
        if current != Some(generation) {
            return Err(ApiError::Unauthorized(
                "token_revoked",
                "this access token was revoked (logout, role change, deletion or a reused refresh token); log in again".to_owned(),
            ));
        }
        return Ok(Some(caller));
    }
    let Some(key) = api_key else { return Ok(None) };
    api_key_caller(state, key).await.map(|(caller, _)| Some(caller))
}

/// The caller of an Alpaca key pair: `secret` is the credential, and `key_id` must be the
/// id of that same key (401 otherwise, as Alpaca answers), not any text. The operator's
/// admin key has no id of its own and takes any.
pub(crate) async fn resolve_pair(state: &AppState, key_id: &str, secret: &str) -> Result<Caller, ApiError> {
    let (caller, id) = api_key_caller(state, secret).await?;
    match id {
        Some(id) if id != key_id => Err(ApiError::Unauthorized("invalid_api_key", "the key id does not name the key of this secret".to_owned())),
        _ => Ok(caller),
    }
}

/// The caller a streaming client's `auth` message names with its key pair, if any (both
/// parts given and matching) and the key may read (a stream is a read, as a GET is).
pub(crate) async fn stream_caller(state: &AppState, key_id: Option<&str>, secret: Option<&str>) -> Option<Caller> {
    resolve_pair(state, key_id?, secret?).await.ok().filter(|caller| caller.read)
}

/// The caller of an API key (its secret) and the key's id (`None` for the admin key).
async fn api_key_caller(state: &AppState, key: &str) -> Result<(Caller, Option<String>), ApiError> {
    if state.auth.is_admin_key(key) {
        return Ok((Caller { user_id: None, role: Role::Admin, read: true, trade: true, key: false }, None));
    }
    let Some(store) = state.store.clone() else {
        return Err(ApiError::Unauthorized("invalid_api_key", "unknown API key".to_owned()));
    };
    let hash = hash_secret(key);
    let now = now_ms();
    if let Some((caller, key_id)) = state.auth.cached_api_key(&hash, now) {
        return Ok((caller, Some(key_id)));
    }
    let lookup = hash.clone();
    let found = tokio::task::spawn_blocking(move || -> Result<_, tradecraft_store::StoreError> {
        let Some(key) = store.api_key_by_hash(&lookup)? else { return Ok(None) };
        let role = store.user_by_id(key.user_id)?.map(|user| user.role);
        Ok(role.map(|role| (key, role)))
    })
    .await
    .map_err(|error| ApiError::Internal(error.to_string()))?
    .map_err(|error| ApiError::Internal(error.to_string()))?;
    let (key, role) = found.ok_or_else(|| ApiError::Unauthorized("invalid_api_key", "unknown or revoked API key".to_owned()))?;
    let role = Role::parse(&role).unwrap_or(Role::Viewer);
    let scopes: Vec<&str> = key.scopes.split(',').collect();
    let caller =
        Caller { user_id: Some(key.user_id), role, read: scopes.contains(&"read"), trade: scopes.contains(&"trade") && role != Role::Viewer, key: true };
    state.auth.remember_api_key(hash, caller.clone(), key.key_id.clone(), now);
    Ok((caller, Some(key.key_id)))
}

/// The token of an `Authorization: Bearer <token>` value; the scheme's name is matched
/// without regard to case, as HTTP's authentication schemes are (RFC 9110 11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// The headers a credential comes in.
const CREDENTIAL_HEADERS: [&str; 4] = ["authorization", "x-api-key", "apca-api-key-id", "apca-api-secret-key"];

/// The middleware: resolves the caller and applies the route policy, then hands the
/// caller to the handler as an extension.
pub(crate) async fn authenticate(State(state): State<Shared>, mut request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let path = matched.as_ref().map(MatchedPath::as_str);
    let headers = request.headers();
    // A credential header given twice is refused, not read by its first copy: which one a
    // proxy or client meant cannot be told, and a request acts for one caller.
    if let Some(name) = CREDENTIAL_HEADERS.iter().find(|name| headers.get_all(**name).iter().nth(1).is_some()) {
        return ApiError::Unauthorized("ambiguous_credentials", format!("give the {name} header once: one credential per request")).into_response();
    }
    // An Authorization header that is not a bearer token is refused, not ignored: a
    // request never passes on other credentials while carrying a broken one.
    let bearer = match headers.get(axum::http::header::AUTHORIZATION).map(|value| value.to_str().ok().and_then(bearer_token)) {
        None => None,
        Some(Some(token)) => Some(token.to_owned()),
        Some(None) => return invalid_token().into_response(),
    };
    let mut api_key = headers.get("x-api-key").and_then(|value| value.to_str().ok()).map(str::to_owned);
    // Alpaca clients send a key pair: the id and the secret. The secret is the credential,
    // and the id must be that key's.
    let header = |name: &str| headers.get(name).map(|value| value.to_str().map(str::to_owned));
    let mut key_id = None;
    match (header("apca-api-key-id"), header("apca-api-secret-key")) {
        (None, None) => {}
        (Some(Ok(id)), Some(Ok(secret))) if !id.is_empty() && api_key.is_none() => {
            key_id = Some(id);
            api_key = Some(secret);
        }
        _ => {
            return ApiError::Unauthorized(
                "invalid_api_key",
                "give APCA-API-KEY-ID and APCA-API-SECRET-KEY together (an API key's id and secret), and no X-API-Key".to_owned(),
            )
            .into_response();
        }
    }
    let mut token = bearer;
    // Browsers cannot set headers on a WebSocket: the socket takes them as parameters.
    // Each credential comes once: a parameter given twice, or beside its header, is refused.
    if request.method() == Method::GET && path.is_some_and(|path| path.starts_with("/v1/marketdata")) {
        for pair in request.uri().query().unwrap_or_default().split('&') {
            let (slot, name, value) = match pair.split_once('=') {
                Some(("token", value)) => (&mut token, "token", value),
                Some(("apiKey", value)) => (&mut api_key, "apiKey", value),
                _ => continue,
            };
            if slot.is_some() {
                let message = format!("give {name} once, as a header or a parameter: one credential per request");
                return ApiError::Unauthorized("ambiguous_credentials", message).into_response();
            }
            *slot = Some(value.to_owned());
        }
    }
    if token.is_some() && api_key.is_some() {
        return ApiError::Unauthorized("ambiguous_credentials", "give one credential: a bearer token or an API key, not both".to_owned()).into_response();
    }
    let resolved = match (&key_id, &api_key) {
        (Some(id), Some(secret)) => resolve_pair(&state, id, secret).await.map(Some),
        _ => resolve(&state, token.as_deref(), api_key.as_deref()).await,
    };
    let caller = match resolved {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    // A user's socket (or event stream) keeps its credential, to end when the credential is revoked.
    let long_lived = path.is_some_and(|path| path.starts_with("/v1/marketdata") || path == "/v2/events/trades");
    if long_lived && caller.as_ref().is_some_and(|caller| caller.user_id.is_some()) {
        request.extensions_mut().insert(SocketCredential { token: token.clone(), api_key: api_key.clone() });
    }
    if let Some(limiter) = &state.rate_limiter {
        let operator = caller.as_ref().is_some_and(|caller| caller.is_admin() && caller.user_id.is_none());
        if !operator {
            let ip = request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip().to_string());
            let who = caller.as_ref().and_then(|caller| caller.user_id).map(|user| user.to_string());
            if let Err(retry_after_s) = limiter.take(who.as_deref(), ip.as_deref(), now_ms()) {
                return ApiError::TooManyRequests { retry_after_s }.into_response();
            }
        }
    }
    if let Some(path) = path
        && !public(path)
    {
        let Some(caller) = &caller else {
            return ApiError::Unauthorized("unauthorized", "credentials required: Authorization: Bearer <token> or X-API-Key".to_owned()).into_response();
        };
        let reading = request.method() == Method::GET;
        if reading && !caller.read {
            return ApiError::Forbidden("this key has no read scope".to_owned()).into_response();
        }
        // Anyone signed in (a viewer too) may change their password, make and revoke keys of
        // the scopes they hold, and delete their own account; a key without the trade scope
        // changes nothing: not the password (which would hand it a login), nor keys (a leaked
        // read key would make others, to outlive its own revocation).
        let signed_in = api_key.is_none();
        let exempt =
            signed_in && (path.starts_with("/v1/auth/") || path.starts_with("/v1/api-keys") || (path == "/v1/me" && request.method() == Method::DELETE));
        if !reading && !caller.trade && !exempt {
            return ApiError::Forbidden(format!("a {} cannot change anything", if caller.role == Role::Viewer { "viewer" } else { "key without trade scope" }))
                .into_response();
        }
    }
    if let Some(user_id) = caller.as_ref().and_then(|caller| caller.user_id) {
        crate::metrics::log_fields(|fields| fields.user_id = Some(user_id));
    }
    request.extensions_mut().insert::<MaybeCaller>(caller);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_verify_expire_and_refuse_tampering() {
        let auth = AuthConfig::new(b"secret".to_vec(), None);
        let token = auth.access_token(42, Role::Trader, 3, 1_000_000);
        let (caller, generation) = auth.verify_access(&token, 1_000_000).unwrap();
        assert_eq!(caller, Caller { user_id: Some(42), role: Role::Trader, read: true, trade: true, key: false });
        assert_eq!(generation, 3);
        assert!(matches!(auth.verify_access(&token, 1_000_000 + ACCESS_TTL_MS), Err(ApiError::Unauthorized("token_expired", _))));
        let other = AuthConfig::new(b"other".to_vec(), None);
        assert!(other.verify_access(&token, 1_000_000).is_err(), "another secret's signature fails");
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64_json(&json!({"sub": "1", "role": "admin", "iat": 1_000, "exp": 9_999_999_999_i64}));
        parts[1] = &forged;
        assert!(auth.verify_access(&parts.join("."), 1_000_000).is_err(), "changed claims break the signature");
        assert!(auth.verify_access("not.a.token", 0).is_err());
        let (viewer, _) = auth.verify_access(&auth.access_token(7, Role::Viewer, 0, 0), 0).unwrap();
        assert!(!viewer.trade && viewer.read);
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn logins_are_throttled_after_repeated_failures() {
        let auth = AuthConfig::new(b"s".to_vec(), Some("admin-key"));
        for _ in 0..LOGIN_FAILURES_MAX {
            auth.check_throttle("a@b", 0).unwrap();
            auth.record_login("a@b", false, 0);
        }
        assert_eq!(auth.check_throttle("a@b", 1_000), Err(ApiError::TooManyRequests { retry_after_s: 899 }));
        assert!(auth.check_throttle("a@b", LOGIN_WINDOW_MS).is_ok(), "the window passes");
        assert!(auth.check_throttle("c@d", 1_000).is_ok(), "per email");
        assert!(auth.is_admin_key("admin-key") && !auth.is_admin_key("admin-kez"));
    }
}
