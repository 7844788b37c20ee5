//! The web app's files served at `/` beside the API, on both deployments (the gateways
//! serve it).

use crate::helpers::spawn_app_with;

/// A built app's folder: an index page and one bundle file.
fn built_app() -> std::path::PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!("tradecraft-web-{}-{}", std::process::id(), COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>TradeCraft</title>").unwrap();
    std::fs::write(dir.join("assets/index-abc123.js"), "console.log('app')").unwrap();
    dir
}

#[tokio::test]
async fn the_app_is_served_at_the_root_and_the_api_is_unchanged() {
    let dir = built_app();
    let app = spawn_app_with(|config| config.web_dir = Some(dir.clone())).await;
    let client = &app.anonymous;

    let page = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert_eq!(page.text().await.unwrap(), "<!doctype html><title>TradeCraft</title>");

    let bundle = client.get(app.url("/assets/index-abc123.js")).send().await.unwrap();
    assert_eq!(bundle.status(), 200);
    assert_eq!(bundle.headers()["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(bundle.headers()["cache-control"], "public, max-age=31536000, immutable");

    let head = client.head(app.url("/index.html")).send().await.unwrap();
    assert_eq!(head.status(), 200);

    // Nothing outside the folder, no other methods, and API paths stay the API's.
    for path in ["/missing.js", "/assets/../../etc/passwd", "/%2e%2e/Cargo.toml", "/v1/no-such-route", "/health/nothing"] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    let post = client.post(app.url("/")).body("x").send().await.unwrap();
    assert_eq!(post.status(), 404);
    let (status, body) = app.get("/v1/market/symbols").await;
    assert_eq!((status, body["symbols"][0]["symbol"].as_str()), (200, Some("MOCK")));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_unbuilt_app_says_how_to_build_it() {
    let missing = std::env::temp_dir().join(format!("tradecraft-web-missing-{}", std::process::id()));
    let app = spawn_app_with(|config| config.web_dir = Some(missing.clone())).await;
    let response = app.anonymous.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("npm run build"), "{body}");
}

/// Every error code the web app puts in words is one the API answers: a renamed code
/// would silently fall back to the server's raw message.
#[test]
fn the_apps_error_words_name_codes_the_api_answers() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let words = std::fs::read_to_string(format!("{root}/web/src/errors.ts")).unwrap();
    let mut sources = String::new();
    for dir in ["crates/api/src", "crates/engine/src", "crates/store/src"] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|extension| extension == "rs") {
                sources.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    let table = |name: &str| -> Vec<String> {
        let start = words.find(&format!("const {name}: Record<string, string> = {{")).unwrap_or_else(|| panic!("no {name} in errors.ts"));
        let body = &words[start..start + words[start..].find("\n};").unwrap()];
        body.lines().skip(1).filter_map(|line| line.trim().split_once(':')).map(|(code, _)| code.trim().to_owned()).collect()
    };
    let codes = table("WORDS");
    assert!(codes.len() > 20, "{codes:?}");
    for code in codes.iter().filter(|code| code.as_str() != "network") {
        assert!(sources.contains(&format!("\"{code}\"")), "the web app words {code:?}, which the API never answers");
    }
    // Trading limits answer `limit_` and the limit's name.
    for limit in table("LIMITS") {
        assert!(sources.contains(&format!("\"limit_{limit}\"")), "the web app words limit {limit:?}, which the engine does not have");
    }
}

/// The notification kinds the web app offers preferences for are the API's.
#[test]
fn the_apps_notification_kinds_are_the_apis() {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/src/pages/Notifications.tsx")).unwrap();
    let start = page.find("const KINDS = [").unwrap() + "const KINDS = [".len();
    let listed: Vec<&str> = page[start..start + page[start..].find(']').unwrap()].split(',').map(|kind| kind.trim().trim_matches('"')).collect();
    assert_eq!(listed, tradecraft_api::channels::KINDS);
}
