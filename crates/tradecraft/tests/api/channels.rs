//! Notifications beyond the app: email through a real SMTP conversation with a receiver
//! this test starts (it records the messages and turns the first one away), Slack-style
//! webhooks, each per the user's preferences; and the escalation of unacknowledged alerts
//! on an injected clock, exactly seed 002's steps, once each.

use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tradecraft_api::channels::EmailConfig;
use tradecraft_api::clock::Clock;

use crate::alerts::receiver;
use crate::auth::{call, register};
use crate::helpers::{TestApp, spawn_app_with, spawn_with_clock};

/// A message the SMTP receiver accepted.
#[derive(Clone, Debug)]
struct Mail {
    to: Vec<String>,
    data: String,
}

/// An SMTP server on port 0 that answers `451` (try again later) to the first `failures`
/// messages and records the rest.
async fn smtp_receiver(failures: usize) -> (String, Arc<Mutex<Vec<Mail>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
    let refused = Arc::new(Mutex::new(0_usize));
    let record = Arc::clone(&mails);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (record, refused) = (Arc::clone(&record), Arc::clone(&refused));
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 receiver ESMTP\r\n").await.unwrap();
                let mut to = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.split([' ', ':']).next().unwrap_or_default().to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 receiver\r\n",
                        "MAIL" => b"250 OK\r\n",
                        "RCPT" => {
                            to.push(line.split_once(':').map(|(_, address)| address.trim().trim_matches(['<', '>']).to_owned()).unwrap_or_default());
                            b"250 OK\r\n"
                        }
                        "DATA" => {
                            write.write_all(b"354 go on\r\n").await.unwrap();
                            let mut data = String::new();
                            while let Ok(Some(line)) = lines.next_line().await {
                                if line == "." {
                                    break;
                                }
                                data.push_str(&line);
                                data.push('\n');
                            }
                            let turn_away = {
                                let mut refused = refused.lock().unwrap();
                                *refused += 1;
                                *refused <= failures
                            };
                            if turn_away {
                                b"451 4.3.0 try again later\r\n"
                            } else {
                                record.lock().unwrap().push(Mail { to: std::mem::take(&mut to), data });
                                b"250 OK queued\r\n"
                            }
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 OK\r\n",
                    };
                    if reply.starts_with(b"451") {
                        to.clear();
                    }
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (format!("smtp://{address}"), mails)
}

fn email(url: String) -> Option<EmailConfig> {
    Some(EmailConfig { url, from: "TradeCraft <noreply@tradecraft.test>".to_owned(), public_url: None })
}

async fn until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn as_user(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    call(app, &app.anonymous, method, path, Some(token), body).await
}

#[tokio::test]
async fn notifications_go_by_email_and_webhook_as_each_user_chooses_with_a_retry() {
    let (smtp, mails) = smtp_receiver(1).await;
    let app = spawn_app_with(|config| config.email = email(smtp)).await;
    let ada = register(&app, "ada@example.com").await;
    let bob = register(&app, "bob@example.com").await;
    let (ada_id, ada_token, bob_token) = (ada["userId"].as_str().unwrap(), ada["accessToken"].as_str().unwrap(), bob["accessToken"].as_str().unwrap());
    let (url, hooks) = receiver(0).await;

    let (status, none) = as_user(&app, ada_token, Method::GET, "/v1/me/notification-preferences", None).await;
    assert_eq!((status, none["emailKinds"].as_array().map(Vec::len)), (200, Some(0)), "{none}");
    for (bad, field) in [
        (json!({"emailKinds": ["ORDER_FILED"], "slackKinds": []}), "emailKinds"),
        (json!({"emailKinds": [], "slackKinds": ["LIKE"]}), "slackWebhookUrl"),
        (json!({"emailKinds": [], "slackKinds": [], "slackWebhookUrl": "ftp://hooks.example.com/x"}), "slackWebhookUrl"),
        (json!({"emailKinds": "ORDER_FILLED", "slackKinds": []}), "emailKinds"),
        (json!({"emailKinds": vec!["LIKE"; tradecraft_api::channels::KINDS.len() + 1], "slackKinds": []}), "emailKinds"),
    ] {
        let (status, answer) = as_user(&app, ada_token, Method::PUT, "/v1/me/notification-preferences", Some(bad.clone())).await;
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some(field)), "{bad}: {answer}");
    }
    // The document allows as many kinds as there are, each once.
    let (_, document) = app.get("/openapi.json").await;
    for field in ["emailKinds", "slackKinds"] {
        let listed = &document["components"]["schemas"]["Preferences"]["properties"][field]["maxItems"];
        assert_eq!(listed.as_u64(), Some(tradecraft_api::channels::KINDS.len() as u64), "{field}");
    }
    let preferences = json!({"emailKinds": ["ORDER_FILLED", "ORDER_FILLED"], "slackKinds": ["ORDER_FILLED", "NEW_FOLLOWER"], "slackWebhookUrl": url});
    let (status, saved) = as_user(&app, ada_token, Method::PUT, "/v1/me/notification-preferences", Some(preferences)).await;
    assert_eq!((status, saved["emailKinds"].clone()), (200, json!(["ORDER_FILLED"])), "kinds are kept once: {saved}");

    // Both fill; only Ada asked for email. The receiver turns the first message away.
    let buy = json!({"symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "MARKET"});
    assert_eq!(as_user(&app, ada_token, Method::POST, "/v1/orders", Some(buy.clone())).await.0, 202);
    assert_eq!(as_user(&app, bob_token, Method::POST, "/v1/orders", Some(buy)).await.0, 202);
    let mail = until("the email", || mails.lock().unwrap().first().cloned()).await;
    assert_eq!(mail.to, ["ada@example.com"]);
    assert!(mail.data.contains("Subject: TradeCraft: Order filled"), "{}", mail.data);
    assert!(mail.data.contains("From: TradeCraft <noreply@tradecraft.test>"), "{}", mail.data);
    let (_, listed) = as_user(&app, ada_token, Method::GET, "/v1/notifications", None).await;
    let filled = listed["notifications"][0]["notificationId"].as_str().unwrap().to_owned();
    // The sender records the delivery after the mail server has taken it: wait for that.
    let mut deliveries = Vec::new();
    for _ in 0..500 {
        let (store, filled) = (app.store.clone(), filled.clone());
        deliveries = tokio::task::spawn_blocking(move || store.notification_deliveries(&filled).unwrap()).await.unwrap();
        if deliveries.iter().any(|delivery| delivery.channel == "EMAIL" && delivery.delivered_at_ms.is_some()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let by_email = deliveries.iter().find(|delivery| delivery.channel == "EMAIL").unwrap();
    assert_eq!((by_email.attempts, by_email.delivered_at_ms.is_some()), (2, true), "one failure, then a retry: {deliveries:?}");
    assert!(by_email.last_error.is_none(), "{deliveries:?}");
    let hook = until("the webhook", || hooks.lock().unwrap().first().cloned()).await;
    assert!(hook.1["text"].as_str().unwrap().starts_with("*Order filled*"), "{hook:?}");

    // A follower goes to the webhook only.
    as_user(&app, ada_token, Method::PUT, "/v1/me/profile", Some(json!({"displayName": "Ada", "public": true}))).await;
    assert_eq!(as_user(&app, bob_token, Method::POST, &format!("/v1/users/{ada_id}/follow"), None).await.0, 200);
    let second = until("the follower's webhook", || hooks.lock().unwrap().get(1).cloned()).await;
    assert_eq!(second.1["kind"], "NEW_FOLLOWER", "{second:?}");
    assert_eq!(mails.lock().unwrap().len(), 1, "no email Ada did not ask for, none for Bob");
}

#[tokio::test]
async fn unacknowledged_error_alerts_escalate_to_the_organisation_admins_at_15_and_30_minutes_once_each() {
    let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let clock = Clock::manual(start);
    let (smtp, mails) = smtp_receiver(0).await;
    let app = spawn_with_clock(clock.clone(), |config| config.email = email(smtp)).await;
    let trader = register(&app, "trader@example.com").await;
    let boss = register(&app, "boss@example.com").await;
    let (trader_id, trader_token, boss_id) = (trader["userId"].as_str().unwrap(), trader["accessToken"].as_str().unwrap(), boss["userId"].as_str().unwrap());
    let (_, organisation) = app.post("/v1/organisations", json!({"name": "Desk"})).await;
    let org = organisation["organisationId"].as_str().unwrap();
    for (user, role) in [(boss_id, "org_admin"), (trader_id, "member")] {
        let response = app.client.put(app.url(&format!("/v1/organisations/{org}/members/{user}"))).json(&json!({"role": role})).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let response = app.client.put(app.url(&format!("/v1/limits/users/{trader_id}"))).json(&json!({"maxPosition": "5"})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // Two breaches of the position limit: ERROR alerts. The trader acknowledges the second.
    for _ in 0..2 {
        let (status, _) =
            as_user(&app, trader_token, Method::POST, "/v1/orders", Some(json!({"symbol": "MOCK", "quantity": "10", "side": "BUY", "type": "MARKET"}))).await;
        assert_eq!(status, 403);
    }
    let (_, alerts) = app.get_until(&format!("/v1/alerts?userId={trader_id}"), |_, body| body["alerts"].as_array().is_some_and(|list| list.len() == 2)).await;
    assert!(alerts["alerts"].as_array().unwrap().iter().all(|alert| alert["severity"] == "error"), "{alerts}");
    let (open, acknowledged) = (alerts["alerts"][1]["alertId"].as_str().unwrap().to_owned(), alerts["alerts"][0]["alertId"].as_str().unwrap().to_owned());
    assert_eq!(as_user(&app, trader_token, Method::POST, &format!("/v1/alerts/{acknowledged}/acknowledge"), None).await.0, 200);

    let steps = |alert: &str| {
        let (store, alert) = (app.store.clone(), alert.to_owned());
        async move { tokio::task::spawn_blocking(move || store.escalations(&alert).unwrap()).await.unwrap() }
    };
    let settle = || tokio::time::sleep(std::time::Duration::from_millis(300));
    let boss_escalations = || async {
        let (_, listed) = app.get(&format!("/v1/notifications?userId={boss_id}")).await;
        listed["notifications"].as_array().unwrap().iter().filter(|item| item["kind"] == "ESCALATION").count()
    };
    let minute = 60_000;

    clock.set(start + 15 * minute - 1_000);
    settle().await;
    assert!(steps(&open).await.is_empty(), "not before 15 minutes");
    clock.set(start + 15 * minute + 1_000);
    // Up to 10 s, as `until` waits: the notifier's loop runs late on a busy machine.
    let mut first = Vec::new();
    for _ in 0..500 {
        first = steps(&open).await;
        if !first.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(first.iter().map(|step| (step.step, step.recipients.as_str())).collect::<Vec<_>>(), [(1, boss_id)], "{first:?}");
    let mail = until("the manager's email", || mails.lock().unwrap().first().cloned()).await;
    assert_eq!(mail.to, ["boss@example.com"]);
    assert!(mail.data.contains("Unacknowledged ERROR alert"), "{}", mail.data);

    clock.set(start + 30 * minute - 1_000);
    settle().await;
    assert_eq!(steps(&open).await.len(), 1, "step 1 once, step 2 not yet");
    assert_eq!(boss_escalations().await, 1);
    clock.set(start + 30 * minute + 1_000);
    until("the second step's email", || (mails.lock().unwrap().len() == 2).then_some(())).await;
    clock.set(start + 120 * minute);
    settle().await;
    let taken = steps(&open).await;
    assert_eq!(taken.iter().map(|step| step.step).collect::<Vec<_>>(), [1, 2], "exactly the matrix's steps: {taken:?}");
    assert_eq!(boss_escalations().await, 2);
    assert_eq!(mails.lock().unwrap().len(), 2);
    assert!(steps(&acknowledged).await.is_empty(), "an acknowledged alert does not escalate");

    let (_, audit) = app.get(&format!("/v1/audit?subject=alert:{open}")).await;
    let escalated: Vec<&Value> = audit["entries"].as_array().unwrap().iter().filter(|entry| entry["action"] == "alert.escalated").collect();
    let mut logged: Vec<(u64, Value)> =
        escalated.iter().map(|entry| (entry["details"]["step"].as_u64().unwrap(), entry["details"]["channels"].clone())).collect();
    logged.sort_by_key(|(step, _)| *step);
    assert_eq!(logged, [(1, json!(["IN_APP", "EMAIL"])), (2, json!(["IN_APP", "EMAIL", "SLACK"]))], "each step in the audit trail: {audit}");
}

/// The reset code in a reset email.
fn reset_code(mail: &Mail) -> String {
    let line = mail.data.lines().find_map(|line| line.strip_prefix("Your reset code: ")).expect("a code in the mail");
    line.trim().to_owned()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_a_mailed_code_once() {
    let (smtp, mails) = smtp_receiver(0).await;
    let app = spawn_app_with(|config| {
        config.email =
            Some(EmailConfig { url: smtp, from: "TradeCraft <noreply@tradecraft.test>".to_owned(), public_url: Some("https://trade.example.test".to_owned()) });
    })
    .await;
    let pat = register(&app, "pat@example.com").await;
    let (access, refresh) = (pat["accessToken"].as_str().unwrap().to_owned(), pat["refreshToken"].as_str().unwrap().to_owned());
    let anonymous = |method: Method, path: &'static str, body: Value| {
        let app = &app;
        async move { call(app, &app.anonymous, method, path, None, Some(body)).await }
    };
    let login = |password: &'static str| anonymous(Method::POST, "/v1/auth/login", json!({"email": "pat@example.com", "password": password}));

    for bad in ["pat", "pat@localhost", "pat@@example.com", ""] {
        let (status, refused) = anonymous(Method::POST, "/v1/auth/password/forgot", json!({"email": bad})).await;
        assert_eq!((status, refused["error"]["details"]["field"].as_str()), (400, Some("email")), "{bad:?}: {refused}");
    }
    // The same answer for an address nobody has and for Pat's (in any case and spacing).
    let (status, unknown) = anonymous(Method::POST, "/v1/auth/password/forgot", json!({"email": "nobody@example.com"})).await;
    assert_eq!(status, 202, "{unknown}");
    let (status, known) = anonymous(Method::POST, "/v1/auth/password/forgot", json!({"email": " PAT@example.com "})).await;
    assert_eq!((status, &known), (202, &unknown));
    let mail = until("the reset email", || mails.lock().unwrap().first().cloned()).await;
    assert_eq!(mail.to, ["pat@example.com"]);
    let code = reset_code(&mail);
    assert!(mail.data.contains(&format!("https://trade.example.test/#/reset/{code}")), "{}", mail.data);

    let (status, refused) = anonymous(Method::POST, "/v1/auth/password/reset", json!({"code": "not-the-code", "newPassword": "battery staple"})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (400, Some("invalid_reset_code")), "{refused}");
    let (status, refused) = anonymous(Method::POST, "/v1/auth/password/reset", json!({"code": code, "newPassword": "short"})).await;
    assert_eq!((status, refused["error"]["details"]["field"].as_str()), (400, Some("newPassword")), "{refused}");
    // Someone guessing Pat's password locks the email; the reset lifts the lock.
    for _ in 0..6 {
        login("guess").await;
    }
    assert_eq!(login("correct horse").await.0, 429, "locked");

    let (status, renewed) = anonymous(Method::POST, "/v1/auth/password/reset", json!({"code": code, "newPassword": "battery staple"})).await;
    assert_eq!(status, 200, "{renewed}");
    assert_eq!(renewed["userId"], pat["userId"]);
    let (status, _) = call(&app, &app.anonymous, Method::GET, "/v1/me/accounts", renewed["accessToken"].as_str(), None).await;
    assert_eq!(status, 200, "the answer is a login");
    let (status, _) = call(&app, &app.anonymous, Method::GET, "/v1/me/accounts", Some(&access), None).await;
    assert_eq!(status, 401, "the old access token ends");
    assert_eq!(anonymous(Method::POST, "/v1/auth/refresh", json!({"refreshToken": refresh})).await.0, 401, "the old login ends");
    assert_eq!(login("correct horse").await.0, 401);
    assert_eq!(login("battery staple").await.0, 200);
    let (status, again) = anonymous(Method::POST, "/v1/auth/password/reset", json!({"code": code, "newPassword": "another one"})).await;
    assert_eq!((status, again["error"]["code"].as_str()), (400, Some("invalid_reset_code")), "a code works once");

    // Three codes an hour: of three more requests, two are mailed.
    for _ in 0..3 {
        assert_eq!(anonymous(Method::POST, "/v1/auth/password/forgot", json!({"email": "pat@example.com"})).await.0, 202);
    }
    until("two more emails", || (mails.lock().unwrap().len() >= 3).then_some(())).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 3, "nobody was mailed about the unknown address, nor a fourth code");
    // A password change spends the codes still pending.
    let (status, _) = call(
        &app,
        &app.anonymous,
        Method::POST,
        "/v1/auth/password",
        renewed["accessToken"].as_str(),
        Some(json!({"currentPassword": "battery staple", "newPassword": "changed again"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, spent) = anonymous(Method::POST, "/v1/auth/password/reset", json!({"code": reset_code(&mails[2]), "newPassword": "another one"})).await;
    assert_eq!((status, spent["error"]["code"].as_str()), (400, Some("invalid_reset_code")), "{spent}");
    assert_eq!(login("changed again").await.0, 200);
}

#[tokio::test]
async fn a_server_without_email_says_it_cannot_mail_a_reset_code() {
    let app = crate::helpers::spawn_app().await;
    register(&app, "sam@example.com").await;
    let (status, refused) = call(&app, &app.anonymous, Method::POST, "/v1/auth/password/forgot", None, Some(json!({"email": "sam@example.com"}))).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (404, Some("email_not_configured")), "{refused}");
}

/// A reset code an admin hands over works only while they are an admin: one demoted (or
/// deleted) before it is used cannot set the password of the user they hold it for.
#[tokio::test]
async fn a_handed_reset_code_lapses_when_its_admin_is_no_longer_one() {
    let app = crate::helpers::spawn_app().await;
    let sam = register(&app, "sam@example.com").await;
    let ada = register(&app, "ada@example.com").await;
    let (sam_id, ada_id) = (sam["userId"].as_str().unwrap(), ada["userId"].as_str().unwrap());
    let (status, _) = call(&app, &app.client, Method::PUT, &format!("/v1/users/{ada_id}/role"), None, Some(json!({"role": "admin"}))).await;
    assert_eq!(status, 200);
    let (_, login) =
        call(&app, &app.anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "ada@example.com", "password": "correct horse"}))).await;
    let ada_token = login["accessToken"].as_str().unwrap().to_owned();
    let issue = || async {
        let (status, issued) = call(&app, &app.anonymous, Method::POST, &format!("/v1/users/{sam_id}/password-reset"), Some(&ada_token), None).await;
        assert_eq!(status, 201, "{issued}");
        issued["code"].as_str().unwrap().to_owned()
    };
    let app = &app;
    let reset = |code: String| async move {
        call(app, &app.anonymous, Method::POST, "/v1/auth/password/reset", None, Some(json!({"code": code, "newPassword": "battery staple"}))).await
    };
    let (kept, held) = (issue().await, issue().await);
    let (status, renewed) = reset(kept).await;
    assert_eq!((status, renewed["userId"].as_str()), (200, Some(sam_id)), "an admin's code works: {renewed}");

    // Sam asks for help again; Ada makes a code, then stops being an admin.
    let held_after = issue().await;
    let (status, _) = call(app, &app.client, Method::PUT, &format!("/v1/users/{ada_id}/role"), None, Some(json!({"role": "trader"}))).await;
    assert_eq!(status, 200);
    for code in [held, held_after] {
        let (status, refused) = reset(code).await;
        assert_eq!((status, refused["error"]["code"].as_str()), (400, Some("invalid_reset_code")), "{refused}");
    }
    let (status, _) =
        call(app, &app.anonymous, Method::POST, "/v1/auth/login", None, Some(json!({"email": "sam@example.com", "password": "battery staple"}))).await;
    assert_eq!(status, 200, "Sam's password is the one Sam set");
}

#[tokio::test]
async fn an_admin_hands_a_user_a_reset_code_where_no_email_goes() {
    let app = crate::helpers::spawn_app().await;
    let sam = register(&app, "sam@example.com").await;
    let (sam_id, sam_token) = (sam["userId"].as_str().unwrap().to_owned(), sam["accessToken"].as_str().unwrap().to_owned());
    let path = format!("/v1/users/{sam_id}/password-reset");
    let (status, refused) = call(&app, &app.anonymous, Method::POST, &path, Some(&sam_token), None).await;
    assert_eq!(status, 403, "a user cannot issue one, not even for themselves: {refused}");
    let (status, unknown) = app.post("/v1/users/999999/password-reset", json!({})).await;
    assert_eq!(status, 404, "{unknown}");

    let (status, issued) = app.post_with(&path, json!({}), Some("hand-over-1")).await;
    assert_eq!(status, 201, "{issued}");
    let code = issued["code"].as_str().unwrap().to_owned();
    // A retry does not show the code again.
    let (status, retried) = app.post_with(&path, json!({}), Some("hand-over-1")).await;
    assert_eq!((status, retried["error"]["code"].as_str()), (409, Some("idempotency_key_applied")), "{retried}");
    assert!(!retried.to_string().contains(&code));
    // Nothing changes until Sam uses it.
    let (status, _) = call(&app, &app.anonymous, Method::GET, "/v1/me/accounts", Some(&sam_token), None).await;
    assert_eq!(status, 200);
    let (status, renewed) =
        call(&app, &app.anonymous, Method::POST, "/v1/auth/password/reset", None, Some(json!({"code": code, "newPassword": "battery staple"}))).await;
    assert_eq!((status, renewed["userId"].as_str()), (200, Some(sam_id.as_str())), "{renewed}");
    let (status, _) = call(&app, &app.anonymous, Method::GET, "/v1/me/accounts", Some(&sam_token), None).await;
    assert_eq!(status, 401, "the old login ends");
    let (_, trail) = app.get(&format!("/v1/audit?subject=user:{sam_id}")).await;
    let actions: Vec<&str> = trail["entries"].as_array().unwrap().iter().filter_map(|entry| entry["action"].as_str()).collect();
    assert!(actions.contains(&"user.password_reset_issued") && actions.contains(&"user.password_reset"), "{trail}");
}
