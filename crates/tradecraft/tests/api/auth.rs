//! Identity over HTTP: registration, login, token refresh with reuse detection, logout,
//! API keys and their scopes, roles, the audit trail, and an authorisation matrix over
//! every operation of the API.

use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

pub(crate) async fn call(app: &TestApp, client: &Client, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut request = client.request(method.clone(), app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let answer = (response.status().as_u16(), response.json().await.unwrap_or(Value::Null));
    crate::conformance::check(method.as_str(), path, answer.0, &answer.1);
    answer
}

/// Registers `email` and returns the answer (userId, tokens).
pub(crate) async fn register(app: &TestApp, email: &str) -> Value {
    let (status, body) = call(app, &app.anonymous, Method::POST, "/v1/auth/register", None, Some(json!({"email": email, "password": "correct horse"}))).await;
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test]
async fn users_register_log_in_refresh_and_log_out() {
    let app = spawn_app().await;
    let anonymous = &app.anonymous;
    let ada = register(&app, "Ada@Example.com").await;
    assert_eq!((ada["role"].as_str(), ada["cashBalance"].as_str(), ada["tokenType"].as_str()), (Some("trader"), Some("100000"), Some("Bearer")));
    let user = ada["userId"].as_str().unwrap();
    let access = ada["accessToken"].as_str().unwrap();
    let (status, portfolio) = call(&app, anonymous, Method::GET, &format!("/v1/portfolio/{user}"), Some(access), None).await;
    assert_eq!((status, portfolio["cashBalance"].as_str()), (200, Some("100000")), "a registered user has a funded account");

    for (body, code) in [
        (json!({"email": "ada@example.com", "password": "another one"}), 409),
        (json!({"email": "not-an-email", "password": "correct horse"}), 400),
        (json!({"email": "bob@example.com", "password": "short"}), 400),
        (json!({"email": "bob@example.com"}), 400),
    ] {
        let (status, answer) = call(&app, anonymous, Method::POST, "/v1/auth/register", None, Some(body.clone())).await;
        assert_eq!(status, code, "{body} -> {answer}");
    }

    let (status, login) =
        call(&app, anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "ada@example.com", "password": "correct horse"}))).await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["userId"], user);
    let (status, wrong) =
        call(&app, anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "ada@example.com", "password": "wrong horse"}))).await;
    assert_eq!((status, wrong["error"]["code"].as_str()), (401, Some("invalid_credentials")));

    // Rotation: each refresh spends its token; presenting a spent one revokes the login.
    let first = login["refreshToken"].as_str().unwrap().to_owned();
    let (status, second) = call(&app, anonymous, Method::POST, "/v1/auth/refresh", None, Some(json!({"refreshToken": first}))).await;
    assert_eq!(status, 200, "{second}");
    let second_token = second["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(second_token, first);
    let (status, answer) = call(&app, anonymous, Method::GET, &format!("/v1/portfolio/{user}"), second["accessToken"].as_str(), None).await;
    assert_eq!(status, 200, "{answer}");
    let (status, reused) = call(&app, anonymous, Method::POST, "/v1/auth/refresh", None, Some(json!({"refreshToken": first}))).await;
    assert_eq!((status, reused["error"]["code"].as_str()), (401, Some("refresh_token_reused")));
    let (status, _) = call(&app, anonymous, Method::POST, "/v1/auth/refresh", None, Some(json!({"refreshToken": second_token}))).await;
    assert_eq!(status, 401, "reuse revoked the whole login, the newest token too");
    // ...and its access tokens: whoever holds the leaked token holds them too.
    let (status, answer) = call(&app, anonymous, Method::GET, &format!("/v1/portfolio/{user}"), second["accessToken"].as_str(), None).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (401, Some("token_revoked")), "{answer}");

    // Logout revokes the login's refresh token.
    let (_, fresh) = call(&app, anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "ada@example.com", "password": "correct horse"}))).await;
    let token = fresh["refreshToken"].as_str().unwrap();
    let (status, _) = call(&app, anonymous, Method::POST, "/v1/auth/logout", None, Some(json!({"refreshToken": token}))).await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, anonymous, Method::POST, "/v1/auth/refresh", None, Some(json!({"refreshToken": token}))).await;
    assert_eq!(status, 401);

    // Bad credentials are 401, never a pass.
    let (status, answer) = call(&app, anonymous, Method::GET, &format!("/v1/portfolio/{user}"), Some("not.a.token"), None).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (401, Some("invalid_token")));
    let bad_key = anonymous.get(app.url("/v1/orders")).header("x-api-key", "tc_nope").send().await.unwrap();
    assert_eq!(bad_key.status(), 401);

    // The scheme's name is case-insensitive, as HTTP's are; the token itself is not.
    let (_, fresh) = call(&app, anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "ada@example.com", "password": "correct horse"}))).await;
    let access = fresh["accessToken"].as_str().unwrap();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let answer = anonymous.get(app.url("/v1/orders")).header("authorization", format!("{scheme} {access}")).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{scheme}");
    }
    for value in [format!("Bearer {}", access.to_uppercase()), format!("Basic {access}"), format!("Bearer{access}")] {
        let answer = anonymous.get(app.url("/v1/orders")).header("authorization", value.clone()).send().await.unwrap();
        assert_eq!(answer.status(), 401, "{value}");
    }
}

/// A credential header given twice is 401 `ambiguous_credentials`, whichever copy is
/// valid: the request is not read as the first one's caller (nor the second's).
#[tokio::test]
async fn a_credential_header_given_twice_is_refused() {
    let app = spawn_app().await;
    let (ada, bo) = (register(&app, "twice-ada@example.com").await, register(&app, "twice-bo@example.com").await);
    let bearer = |user: &Value| format!("Bearer {}", user["accessToken"].as_str().unwrap());
    let (_, key) =
        call(&app, &app.anonymous, Method::POST, "/v1/api-keys", ada["accessToken"].as_str(), Some(json!({"name": "bot", "scopes": ["read", "trade"]}))).await;
    let (secret, key_id) = (key["apiKey"].as_str().unwrap().to_owned(), key["keyId"].as_str().unwrap().to_owned());
    let order = json!({"symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "90"});
    let doubled: [(&str, [(&str, String); 2]); 4] = [
        ("/v1/orders", [("authorization", bearer(&ada)), ("authorization", bearer(&bo))]),
        ("/v1/orders", [("x-api-key", secret.clone()), ("x-api-key", "tc_someone_else".to_owned())]),
        ("/v1/orders", [("authorization", bearer(&ada)), ("authorization", bearer(&ada))]),
        ("/v2/orders", [("apca-api-key-id", key_id.clone()), ("apca-api-key-id", key_id.clone())]),
    ];
    for (path, headers) in doubled {
        let mut request = app.anonymous.post(app.url(path)).json(&order);
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        if path.starts_with("/v2") {
            request = request.header("apca-api-secret-key", &secret);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        let code = if path.starts_with("/v2") { answer["code"].clone() } else { answer["error"]["code"].clone() };
        assert_eq!(status, 401, "{headers:?}: {answer}");
        if !path.starts_with("/v2") {
            assert_eq!(code, "ambiguous_credentials", "{answer}");
        }
    }
    let (_, placed) = call(&app, &app.anonymous, Method::GET, "/v1/orders", ada["accessToken"].as_str(), None).await;
    assert_eq!(placed["orders"].as_array().map(Vec::len), Some(0), "nothing was placed: {placed}");

    // The socket's parameters the same: twice, or beside the header.
    let (ada_token, bo_token) = (ada["accessToken"].as_str().unwrap(), bo["accessToken"].as_str().unwrap());
    let socket = |query: String| format!("http://{}/v1/marketdata/websocket?vsn=2.0.0&{query}", app.ws_address);
    for (url, header) in [
        (socket(format!("token={ada_token}&token={bo_token}")), None),
        (socket(format!("apiKey={secret}&apiKey={secret}")), None),
        (socket(format!("token={bo_token}")), Some(bearer(&ada))),
    ] {
        let mut request = app.anonymous.get(&url);
        if let Some(header) = &header {
            request = request.header("authorization", header);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert_eq!((status, answer["error"]["code"].as_str()), (401, Some("ambiguous_credentials")), "{url}: {answer}");
    }
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_with_retry_after() {
    let app = spawn_app().await;
    register(&app, "eve@example.com").await;
    for _ in 0..5 {
        let (status, _) =
            call(&app, &app.anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "eve@example.com", "password": "guess guess"}))).await;
        assert_eq!(status, 401);
    }
    let response = app.anonymous.post(app.url("/v1/auth/login")).json(&json!({"email": "eve@example.com", "password": "correct horse"})).send().await.unwrap();
    assert_eq!(response.status(), 429, "even the right password waits out the lock");
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
}

#[tokio::test]
async fn api_keys_are_shown_once_scoped_and_revocable() {
    let app = spawn_app().await;
    let bot = register(&app, "bot@example.com").await;
    let (user, access) = (bot["userId"].as_str().unwrap().to_owned(), bot["accessToken"].as_str().unwrap().to_owned());
    let (status, read_key) = call(&app, &app.anonymous, Method::POST, "/v1/api-keys", Some(&access), Some(json!({"name": "reader", "scopes": ["read"]}))).await;
    assert_eq!(status, 201, "{read_key}");
    let (_, trade_key) =
        call(&app, &app.anonymous, Method::POST, "/v1/api-keys", Some(&access), Some(json!({"name": "trader", "scopes": ["read", "trade"]}))).await;
    let (status, _) = call(&app, &app.anonymous, Method::POST, "/v1/api-keys", Some(&access), Some(json!({"scopes": ["admin"]}))).await;
    assert_eq!(status, 400);
    let with_key = |key: &Value, method: Method, path: String, body: Option<Value>| {
        let mut request = app.anonymous.request(method, app.url(&path)).header("x-api-key", key["apiKey"].as_str().unwrap());
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let order = json!({"symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "MARKET"});
    assert_eq!(with_key(&read_key, Method::GET, format!("/v1/portfolio/{user}"), None).await.unwrap().status(), 200);
    assert_eq!(with_key(&read_key, Method::POST, "/v1/orders".into(), Some(order.clone())).await.unwrap().status(), 403, "read scope cannot trade");
    let change = json!({"currentPassword": "correct horse", "newPassword": "a key's own password"});
    let refused = with_key(&read_key, Method::POST, "/v1/auth/password".into(), Some(change)).await.unwrap();
    assert_eq!(refused.status(), 403, "read scope cannot change the password, nor get a login for it");
    let (status, _) =
        call(&app, &app.anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "bot@example.com", "password": "correct horse"}))).await;
    assert_eq!(status, 200, "the password stands");
    let minted = with_key(&read_key, Method::POST, "/v1/api-keys".into(), Some(json!({"name": "spare", "scopes": ["read"]}))).await.unwrap();
    assert_eq!(minted.status(), 403, "a read key makes no keys, to outlive its own revocation");
    let placed = with_key(&trade_key, Method::POST, "/v1/orders".into(), Some(order)).await.unwrap();
    assert_eq!(placed.status(), 202, "a trade key places orders for its own account (userId defaults to it)");

    let (_, listed) = call(&app, &app.anonymous, Method::GET, "/v1/api-keys", Some(&access), None).await;
    assert_eq!(listed["keys"].as_array().unwrap().len(), 2);
    assert!(listed.to_string().find("tc_").is_none(), "keys are never shown again");
    let key_id = read_key["keyId"].as_str().unwrap();
    let (status, _) = call(&app, &app.anonymous, Method::DELETE, &format!("/v1/api-keys/{key_id}"), Some(&access), None).await;
    assert_eq!(status, 204);
    assert_eq!(with_key(&read_key, Method::GET, format!("/v1/portfolio/{user}"), None).await.unwrap().status(), 401, "a revoked key is refused");
    let (status, _) = call(&app, &app.anonymous, Method::DELETE, &format!("/v1/api-keys/{key_id}"), Some(&access), None).await;
    assert_eq!(status, 404);

    // Key and permission changes are in the audit trail, which only admins read.
    let (status, _) = call(&app, &app.anonymous, Method::GET, "/v1/audit", Some(&access), None).await;
    assert_eq!(status, 403);
    let (status, trail) = app.get(&format!("/v1/audit?subject=user:{user}")).await;
    assert_eq!(status, 200);
    // Order events join the trail as the read store projects them; these are the rest.
    let actions: Vec<&str> =
        trail["entries"].as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap()).filter(|action| !action.starts_with("order.")).collect();
    assert_eq!(actions, ["api_key.revoked", "api_key.created", "api_key.created", "user.registered"]);

    // The whole trail is reachable page by page, newest first, each entry once: of one
    // subject, and of everything.
    // (Entries the read store projects may still arrive: compared once the trail held
    // still while it was paged through.)
    for subject in [format!("&subject=user:{user}"), String::new()] {
        let all = || async {
            let (_, all) = app.get(&format!("/v1/audit?limit=1000{subject}")).await;
            all["entries"].as_array().unwrap().iter().map(|entry| entry["id"].as_str().unwrap().to_owned()).collect::<Vec<String>>()
        };
        for attempt in 0.. {
            let before = all().await;
            assert!(before.len() >= 4, "{before:?}");
            let paged = app.pages(&format!("/v1/audit?limit=2{subject}"), "entries", "id").await;
            if all().await == before {
                assert_eq!(paged, before, "pages of two walk the trail{subject}");
                break;
            }
            assert!(attempt < 50, "the trail never held still");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    for bad in ["x", "00000000000000zz1", "0000000000000001", "0000000000000001a%20b"] {
        let (status, body) = app.get(&format!("/v1/audit?pageToken={bad}")).await;
        assert_eq!((status, body["error"]["details"]["parameter"].as_str()), (400, Some("pageToken")), "{bad}: {body}");
    }
}

/// Admins find users by email or username (letter case aside; `%` and `_` are the
/// characters themselves), page by page in id order, with their role and organisation.
#[tokio::test]
async fn admins_find_users_by_email_or_name_page_by_page() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for (email, username) in [("usersearch-ada@example.com", "ada"), ("UserSearch-Bob@example.com", "bob"), ("carol@example.com", "usersearch_100%")] {
        let (status, body) = call(
            &app,
            &app.anonymous,
            Method::POST,
            "/v1/auth/register",
            None,
            Some(json!({"email": email, "password": "correct horse", "username": username})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["userId"].as_str().unwrap().to_owned());
    }
    let (_, created) = app.post("/v1/organisations", json!({"name": "Search school"})).await;
    let org = created["organisationId"].as_str().unwrap();
    let response = app.client.put(app.url(&format!("/v1/organisations/{org}/members/{}", ids[1]))).json(&json!({"role": "member"})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let found = |query: &str| {
        let path = format!("/v1/users?{query}");
        let app = &app;
        async move {
            let (status, page) = call(app, &app.client, Method::GET, &path, None, None).await;
            assert_eq!(status, 200, "{path}: {page}");
            let users: Vec<String> = page["users"].as_array().unwrap().iter().map(|user| user["userId"].as_str().unwrap().to_owned()).collect();
            (users, page)
        }
    };
    let (users, page) = found("q=USERSEARCH").await;
    assert_eq!(users, ids, "by email or username, any case, in id order: {page}");
    let bob = &page["users"][1];
    assert_eq!(
        (bob["email"].as_str(), bob["username"].as_str(), bob["role"].as_str()),
        (Some("usersearch-bob@example.com"), Some("bob"), Some("trader")),
        "{bob}"
    );
    assert_eq!(bob["organisationId"].as_str(), Some(org), "{bob}");
    assert!(page["users"][0]["organisationId"].is_null(), "{page}");
    assert!(!page.to_string().contains("password"), "{page}");
    // `%` and `_` match only themselves (as wildcards, "search_" would find Ada and Bob
    // too, and "h%b" Bob).
    assert_eq!(found("q=search_").await.0, vec![ids[2].clone()]);
    assert_eq!(found("q=h%25b").await.0, Vec::<String>::new());
    assert_eq!(found("q=100%25").await.0, vec![ids[2].clone()]);
    // Page by page.
    let (first, page) = found("q=usersearch&limit=2").await;
    assert_eq!(first, ids[..2]);
    let token = page["pagination"]["nextPageToken"].as_str().unwrap().to_owned();
    let (second, page) = found(&format!("q=usersearch&limit=2&pageToken={token}")).await;
    assert_eq!((second, &page["pagination"]["nextPageToken"]), (vec![ids[2].clone()], &Value::Null));

    for bad in ["limit=0", "limit=201", "pageToken=abc", "q=a%00b"] {
        let (status, refused) = call(&app, &app.client, Method::GET, &format!("/v1/users?{bad}"), None, None).await;
        assert_eq!(status, 400, "{bad}: {refused}");
    }
    let trader = register(&app, "usersearch-trader@example.com").await;
    let (status, _) = call(&app, &app.anonymous, Method::GET, "/v1/users", Some(trader["accessToken"].as_str().unwrap()), None).await;
    assert_eq!(status, 403, "admins only");
}

/// Who may call an operation.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Access {
    Public,
    /// About one account: its owner and admins.
    Owner,
    /// One of an account's orders: others get 404, as for an order that does not exist.
    Hidden,
    /// The caller's own things (keys, webhooks, alerts, export): anyone logged in.
    Own,
    Admin,
}

fn access(method: &str, path: &str) -> Access {
    let public = ["/health/live", "/health/ready", "/openapi.json", "/docs", "/metrics", "/v1/leaderboard", "/stream", "/v2/{feed}"].contains(&path)
        || path.starts_with("/v1/market/")
        || path.starts_with("/v1/marketdata")
        || path.starts_with("/v1/analytics/")
        || (path.starts_with("/v1/auth/") && path != "/v1/auth/password");
    if public || path == "/v1/profiles/{user_id}/avatar" {
        return Access::Public;
    }
    let admin = matches!(
        (method, path),
        ("post", "/v1/accounts")
            | ("get", "/v1/audit")
            | ("get", "/v1/users")
            | ("put", "/v1/users/{user_id}/role")
            | ("post", "/v1/users/{user_id}/password-reset")
            | ("put", "/v1/users/{user_id}/membership")
            | ("put", "/v1/limits/{scope}/{id}")
            | ("post", "/v1/contests")
            | ("get", "/v1/reports")
    ) || (path.starts_with("/v1/organisations") && (method, path) != ("get", "/v1/organisations"))
        || path.ends_with("/hide")
        || path.starts_with("/v1/instruments/");
    if admin {
        return Access::Admin;
    }
    // The Alpaca-compatible API is always about the caller's own account.
    if path.starts_with("/v1/api-keys")
        || path.starts_with("/v1/webhooks")
        || path.starts_with("/v1/alerts/")
        || path == "/v1/me/export"
        || path == "/v1/me/accounts"
        || path.starts_with("/v1/me/invitations")
        || path.starts_with("/v1/contests")
        || path.starts_with("/v2/")
        // Alpaca's screener: the market's data, for any caller signed in.
        || path.starts_with("/v1beta1/")
        || path == "/v1/auth/password"
        || path == "/v1/me/profile"
        || path == "/v1/me/avatar"
        || path == "/v1/me/notification-preferences"
        || path.starts_with("/v1/shares/")
        || path.starts_with("/v1/comments/")
        || path.ends_with("/share")
        || path.ends_with("/follow")
        || path == "/v1/feed"
        // The organisations the caller may open (their own; every one for admins).
        || path == "/v1/organisations"
    {
        return Access::Own;
    }
    // Another user's private profile is as unknown as no profile.
    if path == "/v1/orders/{order_id}" || path.starts_with("/v1/profiles/") || (method == "get" && path.starts_with("/v1/users/{user_id}/")) {
        return Access::Hidden;
    }
    Access::Owner
}

/// Every operation of the OpenAPI document, for nobody, the owner, another trader, a
/// viewer and the operator.
#[tokio::test]
async fn every_route_authorises_by_role_and_owner() {
    let app = spawn_app().await;
    let owner = register(&app, "owner@example.com").await;
    let other = register(&app, "other@example.com").await;
    let viewer = register(&app, "viewer@example.com").await;
    let user = owner["userId"].as_str().unwrap().to_owned();
    let response =
        app.client.put(app.url(&format!("/v1/users/{}/role", viewer["userId"].as_str().unwrap()))).json(&json!({"role": "viewer"})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (_, viewer_login) =
        call(&app, &app.anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "viewer@example.com", "password": "correct horse"}))).await;
    let owner_token = owner["accessToken"].as_str().unwrap().to_owned();
    let (status, placed) = call(
        &app,
        &app.anonymous,
        Method::POST,
        "/v1/orders",
        Some(&owner_token),
        Some(json!({"symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "90"})),
    )
    .await;
    assert_eq!(status, 202, "{placed}");
    let order = placed["orderId"].as_str().unwrap().to_owned();
    let (_, organisation) = app.post("/v1/organisations", json!({"name": "org"})).await;
    let org = organisation["organisationId"].as_str().unwrap().to_owned();

    let tokens = [
        ("nobody", None),
        ("owner", Some(owner_token.clone())),
        ("other", other["accessToken"].as_str().map(str::to_owned)),
        ("viewer", viewer_login["accessToken"].as_str().map(str::to_owned)),
    ];
    let mut checked = 0;
    for (method_name, template) in &tradecraft_api::openapi::operations() {
        let (method_name, template) = (method_name.as_str(), template.as_str());
        // Deleting the account is checked on its own; the socket routes need an upgrade.
        if (method_name, template) == ("delete", "/v1/me") || template.starts_with("/v1/marketdata") || ["/stream", "/v2/{feed}"].contains(&template) {
            continue;
        }
        let mut path = template
            .replace("{order_id}", &order)
            .replace("{user_id}", &user)
            .replace("{symbol}", "MOCK")
            .replace("{action}", "halt")
            .replace("{symbol_or_asset_id}", "MOCK")
            .replace("{key_id}", "k")
            .replace("{alert_id}", "a")
            .replace("{webhook_id}", "w")
            .replace("{org_id}", &org)
            .replace("{scope}", "users")
            .replace("{id}", &user)
            .replace("{account_id}", &user)
            .replace("{notification_id}", "n")
            .replace("{trade_id}", "1")
            .replace("{share_id}", "s")
            .replace("{comment_id}", "c")
            .replace("{alert_id}", "a");
        let reads_an_account = [
            "/v1/portfolio/positions",
            "/v1/portfolio/performance",
            "/v1/trades/search",
            "/v1/wallet/transactions",
            "/v1/orders",
            "/v1/alerts",
            "/v1/notifications",
            "/v1/price-alerts",
        ];
        let names_an_account = template.starts_with("/v1/notifications") || template.starts_with("/v1/price-alerts/");
        if (method_name == "get" && reads_an_account.contains(&template)) || names_an_account {
            path.push_str(&format!("?userId={user}"));
        }
        // The trade events stream until told when to stop.
        if template == "/v2/events/trades" {
            path.push_str("?since=2000-01-01T00:00:00Z&until=2000-01-01T00:00:00Z");
        }
        let body = match (method_name, template) {
            ("post", "/v1/orders") => Some(json!({"userId": user, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "80"})),
            ("post", "/v1/price-alerts") => Some(json!({"userId": user, "symbol": "MOCK", "direction": "ABOVE", "price": "120"})),
            ("patch", _) => Some(json!({"limitPrice": "91"})),
            ("post" | "put", _) => Some(json!({})),
            _ => None,
        };
        let method = Method::from_bytes(method_name.to_uppercase().as_bytes()).unwrap();
        let class = access(method_name, template);
        for (who, token) in &tokens {
            let (status, answer) = call(&app, &app.anonymous, method.clone(), &path, token.as_deref(), body.clone()).await;
            let denial = match (class, *who) {
                (Access::Public, _) => None,
                (_, "nobody") => Some(401),
                (Access::Admin, _) => Some(403),
                (Access::Owner, "other" | "viewer") => Some(403),
                // A viewer writes nothing, whatever the order.
                (Access::Hidden, "viewer") if method != Method::GET => Some(403),
                (Access::Hidden, "other" | "viewer") => Some(404),
                // A viewer manages its own credentials: keys and password.
                (Access::Own, "viewer") if method != Method::GET && !template.starts_with("/v1/api-keys") && template != "/v1/auth/password" => Some(403),
                _ => None,
            };
            match denial {
                Some(code) => assert_eq!(status, code, "{who} {method} {path}: {answer}"),
                None => {
                    assert!(![401, 403].contains(&status) && (class != Access::Hidden || status != 404), "{who} {method} {path} was refused: {status} {answer}")
                }
            }
            checked += 1;
        }
        // The operator acts for any account, but owns no keys, webhooks or alerts itself.
        if class != Access::Own {
            let mut request = app.client.request(method.clone(), app.url(&path));
            if let Some(body) = &body {
                request = request.json(body);
            }
            let status = request.send().await.unwrap().status().as_u16();
            assert!(![401, 403].contains(&status), "the operator {method} {path}: {status}");
        }
    }
    assert!(checked >= 4 * 45, "every operation checked: {checked}");
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_per_caller_and_per_ip() {
    use tradecraft_api::rate::RateLimits;
    let limits = RateLimits { per_caller_per_s: 1, per_caller_burst: 3, per_ip_per_s: 1, per_ip_burst: 6 };
    let app = crate::helpers::spawn_app_with(|config| config.rate_limits = Some(limits)).await;
    let ada = register(&app, "ada@example.com").await;
    let token = ada["accessToken"].as_str().unwrap();
    let user = ada["userId"].as_str().unwrap();
    // Registration took one from the IP's bucket; the caller's bucket starts full.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = app.anonymous.get(app.url(&format!("/v1/portfolio/{user}"))).bearer_auth(token).send().await.unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!(retry >= 1);
            assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "too_many_requests");
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429], "a burst of 3 per caller");
    // Anonymous requests share the IP's bucket: 6, of which 4 are spent.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(app.anonymous.get(app.url("/v1/market/symbols")).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429], "a burst of 6 per IP");
    // The operator key is exempt.
    assert_eq!(app.client.get(app.url("/v1/market/symbols")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn users_export_their_data_and_delete_their_account() {
    let app = spawn_app().await;
    let ada = register(&app, "ada@example.com").await;
    let (user, token) = (ada["userId"].as_str().unwrap().to_owned(), ada["accessToken"].as_str().unwrap().to_owned());
    let (status, placed) = call(
        &app,
        &app.anonymous,
        Method::POST,
        "/v1/orders",
        Some(&token),
        Some(json!({"symbol": "MOCK", "quantity": "2", "side": "BUY", "type": "LIMIT", "limitPrice": "90"})),
    )
    .await;
    assert_eq!(status, 202, "{placed}");
    let order = placed["orderId"].as_str().unwrap().to_owned();
    // A practice account with an order of its own goes quiet with the rest.
    let (status, practice) = call(&app, &app.anonymous, Method::POST, "/v1/me/accounts", Some(&token), Some(json!({"name": "side"}))).await;
    assert_eq!(status, 201, "{practice}");
    let practice = practice["accountId"].as_str().unwrap().to_owned();
    let resting = json!({"userId": practice, "symbol": "MOCK", "quantity": "2", "side": "BUY", "type": "LIMIT", "limitPrice": "90"});
    let (status, placed) = call(&app, &app.anonymous, Method::POST, "/v1/orders", Some(&token), Some(resting)).await;
    assert_eq!(status, 202, "{placed}");
    let practice_order = placed["orderId"].as_str().unwrap().to_owned();
    let (status, key) = call(&app, &app.anonymous, Method::POST, "/v1/api-keys", Some(&token), Some(json!({"name": "bot", "scopes": ["read", "trade"]}))).await;
    assert_eq!(status, 201);

    // The read store catches up with the order, then the export holds it all.
    let mut export = Value::Null;
    for _ in 0..100 {
        export = call(&app, &app.anonymous, Method::GET, "/v1/me/export", Some(&token), None).await.1;
        // The export's queries run one after another while the projector commits.
        let has = |key: &str| export[key].as_array().is_some_and(|rows| !rows.is_empty());
        if has("orders") && has("walletTransactions") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(export["profile"]["email"], "ada@example.com");
    assert_eq!(export["profile"]["userId"], user.as_str());
    assert_eq!(export["orders"][0]["orderId"], order.as_str());
    assert_eq!(export["apiKeys"][0]["name"], "bot");
    assert!(!export.to_string().contains("tc_"), "no secret leaves in an export");
    assert!(!export.to_string().contains("argon2"), "nor the password hash");
    assert_eq!(export["walletTransactions"][0]["type"], "DEPOSIT");
    assert_eq!(export["limits"]["tradingEnabled"], true);

    let (status, _) = call(&app, &app.anonymous, Method::DELETE, "/v1/me", Some(&token), Some(json!({"password": "wrong horse"}))).await;
    assert_eq!(status, 401);
    let (status, _) = call(&app, &app.anonymous, Method::DELETE, "/v1/me", Some(&token), Some(json!({"password": "correct horse"}))).await;
    assert_eq!(status, 204);

    let (status, _) =
        call(&app, &app.anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "ada@example.com", "password": "correct horse"}))).await;
    assert_eq!(status, 401, "the login is gone");
    let with_key = app.anonymous.get(app.url(&format!("/v1/portfolio/{user}"))).header("x-api-key", key["apiKey"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(with_key.status(), 401, "so are its keys");
    for (account, order) in [(&user, &order), (&practice, &practice_order)] {
        let (_, cancelled) = app.get(&format!("/v1/orders/{order}")).await;
        assert_eq!(cancelled["status"], "CANCELLED", "open orders were cancelled, in every account: {cancelled}");
        let (status, refused) =
            app.post("/v1/orders", json!({"userId": account, "symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "90"})).await;
        assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("limit_trading_disabled")), "and account {account} trades no more");
    }
    let (status, _) =
        call(&app, &app.anonymous, Method::POST, "/v1/auth/register", None, Some(json!({"email": "ada@example.com", "password": "new horse!"}))).await;
    assert_eq!(status, 201, "the email is free again");
}

#[tokio::test]
async fn expired_refresh_tokens_are_refused() {
    let app = crate::helpers::spawn_app().await;
    let ada = register(&app, "ada@example.com").await;
    let user: u64 = ada["userId"].as_str().unwrap().parse().unwrap();
    let store = app.store.clone();
    // A refresh token whose 30 days ran out a millisecond ago.
    let token = "expired-refresh-token";
    let now = tradecraft_api::auth::now_ms();
    // Off the test's runtime: the store's client blocks.
    let insert = |token: &'static str, family: &'static str, expires: i64| {
        let store = store.clone();
        std::thread::spawn(move || store.insert_refresh(&tradecraft_api::auth::hash_secret(token), user, family, expires, now).unwrap()).join().unwrap();
    };
    insert(token, "family-x", now - 1);
    let (status, answer) = call(&app, &app.anonymous, Method::POST, "/v1/auth/refresh", None, Some(json!({"refreshToken": token}))).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (401, Some("invalid_refresh_token")));
    // A live one of the same user still works.
    insert("live-token", "family-y", now + 60_000);
    let (status, _) = call(&app, &app.anonymous, Method::POST, "/v1/auth/refresh", None, Some(json!({"refreshToken": "live-token"}))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_remembered_api_key_follows_role_changes_and_deletion_at_once() {
    let app = spawn_app().await;
    let bot = register(&app, "cached@example.com").await;
    let (user, access) = (bot["userId"].as_str().unwrap().to_owned(), bot["accessToken"].as_str().unwrap().to_owned());
    let (_, key) = call(&app, &app.anonymous, Method::POST, "/v1/api-keys", Some(&access), Some(json!({"name": "bot", "scopes": ["read", "trade"]}))).await;
    let key = key["apiKey"].as_str().unwrap().to_owned();
    let order = json!({"symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "90"});
    let place = || app.anonymous.post(app.url("/v1/orders")).header("x-api-key", &key).json(&order).send();
    // Twice: the second request is answered from the remembered key.
    assert_eq!(place().await.unwrap().status(), 202);
    assert_eq!(place().await.unwrap().status(), 202);

    let (status, _) = call(&app, &app.client, Method::PUT, &format!("/v1/users/{user}/role"), None, Some(json!({"role": "viewer"}))).await;
    assert_eq!(status, 200);
    assert_eq!(place().await.unwrap().status(), 403, "a viewer's key stops trading at once");
    let read = app.anonymous.get(app.url(&format!("/v1/portfolio/{user}"))).header("x-api-key", &key).send().await.unwrap();
    assert_eq!(read.status(), 200, "and still reads");

    // The role change voided the access token; a new login is a viewer's.
    let (status, _) = call(&app, &app.anonymous, Method::GET, "/v1/me/export", Some(&access), None).await;
    assert_eq!(status, 401, "an access token from before the role change is refused");
    let (_, login) =
        call(&app, &app.anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "cached@example.com", "password": "correct horse"}))).await;
    let access = login["accessToken"].as_str().unwrap().to_owned();
    let (status, _) = call(&app, &app.anonymous, Method::DELETE, "/v1/me", Some(&access), Some(json!({"password": "correct horse"}))).await;
    assert_eq!(status, 204);
    let read = app.anonymous.get(app.url(&format!("/v1/portfolio/{user}"))).header("x-api-key", &key).send().await.unwrap();
    assert_eq!(read.status(), 401, "a deleted user's key is refused at once");
}

/// Changing the password ends every login of the user and every access token (a socket
/// opened with one too) and answers with a new login; the old password no longer logs in.
/// A wrong current password changes nothing and counts as a failed login.
#[tokio::test]
async fn a_password_change_logs_every_other_session_out() {
    let app = spawn_app().await;
    let ada = register(&app, "pat@example.com").await;
    let (access, refresh) = (ada["accessToken"].as_str().unwrap().to_owned(), ada["refreshToken"].as_str().unwrap().to_owned());
    let login = |password: &'static str| {
        let app = &app;
        async move { call(app, &app.anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "pat@example.com", "password": password}))).await }
    };
    let (_, laptop) = login("correct horse").await;
    let url = format!("ws://{}/v1/marketdata/websocket?vsn=2.0.0&token={access}", app.ws_address);
    let mut socket = tokio_tungstenite::connect_async(url).await.unwrap().0;

    let change = |token: String, current: &'static str, new: &'static str| {
        let app = &app;
        async move {
            call(app, &app.anonymous, Method::POST, "/v1/auth/password", Some(&token), Some(json!({"currentPassword": current, "newPassword": new}))).await
        }
    };
    let (status, refused) = change(access.clone(), "wrong horse", "battery staple").await;
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("wrong_password")), "{refused}");
    let (status, refused) = change(access.clone(), "correct horse", "short").await;
    assert_eq!((status, refused["error"]["details"]["field"].as_str()), (400, Some("newPassword")), "{refused}");
    assert_eq!(login("correct horse").await.0, 200, "nothing changed yet");

    let (status, renewed) = change(access.clone(), "correct horse", "battery staple").await;
    assert_eq!(status, 200, "{renewed}");
    // The old password, the old access token and every earlier login are done.
    assert_eq!(login("correct horse").await.0, 401);
    let (status, _) = call(&app, &app.anonymous, Method::GET, "/v1/me/accounts", Some(&access), None).await;
    assert_eq!(status, 401, "the old access token");
    for old in [refresh, laptop["refreshToken"].as_str().unwrap().to_owned()] {
        let (status, _) = call(&app, &app.anonymous, Method::POST, "/v1/auth/refresh", None, Some(json!({"refreshToken": old}))).await;
        assert_eq!(status, 401, "an earlier login");
    }
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(Ok(message)) = futures_util::StreamExt::next(&mut socket).await {
            if let tokio_tungstenite::tungstenite::Message::Close(frame) = message {
                return frame.map(|frame| u16::from(frame.code));
            }
        }
        None
    })
    .await
    .expect("the socket closes");
    assert_eq!(closed, Some(1008));
    // The answer is a working login, and the new password logs in.
    let (status, _) = call(&app, &app.anonymous, Method::GET, "/v1/me/accounts", renewed["accessToken"].as_str(), None).await;
    assert_eq!(status, 200);
    assert_eq!(login("battery staple").await.0, 200);
}

/// A username names one user, letter case aside: a name chosen twice is refused (also
/// when two registrations race for it), and one given from the email's local part is
/// made unique with a number (`%` and `_` in it are the characters themselves).
#[tokio::test]
async fn usernames_are_unique_letter_case_aside() {
    let app = spawn_app().await;
    let register_as = |email: String, username: Option<&'static str>| {
        let app = &app;
        async move {
            let mut body = json!({"email": email, "password": "correct horse"});
            if let Some(username) = username {
                body["username"] = json!(username);
            }
            call(app, &app.anonymous, Method::POST, "/v1/auth/register", None, Some(body)).await
        }
    };
    let name_of = |registered: Value| {
        let app = &app;
        async move {
            let id = registered["userId"].as_str().unwrap().to_owned();
            let (_, page) = call(app, &app.client, Method::GET, &format!("/v1/users?q={}", registered["email"].as_str().unwrap()), None, None).await;
            let user = page["users"].as_array().unwrap().iter().find(|user| user["userId"] == id.as_str()).cloned().unwrap();
            user["username"].as_str().unwrap().to_owned()
        }
    };
    let (status, ada) = register_as("ada@example.com".into(), Some("Ada_Lovelace")).await;
    assert_eq!(status, 201, "{ada}");
    for (email, name) in [("ada2@example.com", "ada_lovelace"), ("ada3@example.com", "ADA_LOVELACE")] {
        let (status, body) = register_as(email.into(), Some(name)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (409, Some("username_taken")), "{name}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(name), "{body}");
    }
    // Letter case of any alphabet, not only ASCII's.
    let (status, body) = register_as("emile@example.com".into(), Some("Émile")).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = register_as("emile2@example.com".into(), Some("éMILE")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("username_taken")), "{body}");
    let (status, body) = register_as("ada@example.com".into(), Some("someone_else")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("email_taken")), "{body}");

    // Given from the email: `grace`, then `grace-2`, `grace-3`; `gr_ce` is not taken by `grace`.
    let mut given = Vec::new();
    for email in ["grace@example.com", "GRACE@example.org", "grace@example.net"] {
        let (status, body) = register_as(email.into(), None).await;
        assert_eq!(status, 201, "{body}");
        given.push(name_of(body).await);
    }
    assert_eq!(given, ["grace", "grace-2", "grace-3"]);
    let (status, body) = register_as("gr_ce@example.com".into(), None).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(name_of(body).await, "gr_ce");
    let (status, body) = register_as("grace@example.io".into(), Some("Grace-2")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("username_taken")), "{body}");

    // Eight registrations racing for one name: one has it.
    let racing = futures_util::future::join_all((0..8).map(|index| register_as(format!("race{index}@example.com"), Some("photo_finish")))).await;
    let mut statuses: Vec<u16> = racing.iter().map(|(status, _)| *status).collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409], "{racing:?}");
    assert!(racing.iter().all(|(status, body)| *status == 201 || body["error"]["code"] == "username_taken"), "{racing:?}");
}
