//! Social trading: profiles and avatars, follows, shared trades and orders, likes,
//! comments, the ranked feed, posting limits, reports and hiding; private profiles show
//! nothing to others, and user text comes back HTML-escaped.

use reqwest::Method;
use serde_json::{Value, json};

use crate::auth::{call, register};
use crate::helpers::{ADMIN_KEY, TestApp, spawn_app};

/// A registered user: id and access token.
struct User {
    id: String,
    token: String,
}

async fn user(app: &TestApp, email: &str) -> User {
    let body = register(app, email).await;
    User { id: body["userId"].as_str().unwrap().to_owned(), token: body["accessToken"].as_str().unwrap().to_owned() }
}

async fn as_user(app: &TestApp, who: &User, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    call(app, &app.anonymous, method, path, Some(&who.token), body).await
}

async fn put_avatar(app: &TestApp, who: &User, content_type: &str, bytes: Vec<u8>) -> (u16, Value) {
    let response = app.anonymous.put(app.url("/v1/me/avatar")).bearer_auth(&who.token).header("content-type", content_type).body(bytes).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn kinds(body: &Value) -> Vec<String> {
    let mut kinds: Vec<String> = body["notifications"].as_array().unwrap().iter().map(|item| item["kind"].as_str().unwrap().to_owned()).collect();
    kinds.sort();
    kinds
}

fn share_ids(body: &Value) -> Vec<String> {
    body["shares"].as_array().unwrap_or_else(|| panic!("{body}")).iter().map(|share| share["shareId"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn traders_share_follow_like_and_comment_and_private_profiles_show_nothing() {
    let app = spawn_app().await;
    let (ada, bob, cy) = (user(&app, "ada@example.com").await, user(&app, "bob@example.com").await, user(&app, "cy@example.com").await);

    // Profiles: checked, escaped on output, private by default.
    let (status, profile) = as_user(&app, &ada, Method::GET, &format!("/v1/profiles/{}", ada.id), None).await;
    assert_eq!((status, profile["public"].as_bool()), (200, Some(false)), "{profile}");
    let (status, _) = as_user(&app, &bob, Method::GET, &format!("/v1/profiles/{}", ada.id), None).await;
    assert_eq!(status, 404, "a private profile is unknown to others");
    for (bad, field) in [
        (json!({"displayName": "   "}), "displayName"),
        // Names that show nothing, or hide what they say.
        (json!({"displayName": "\u{2800}"}), "displayName"),
        (json!({"displayName": "\u{3164}"}), "displayName"),
        (json!({"displayName": "\u{200D}\u{FE0F}"}), "displayName"),
        (json!({"displayName": "Ada\u{E0069}\u{E0067}"}), "displayName"),
        (json!({"displayName": "Ada", "bio": "\u{200F}\u{00AD}"}), "bio"),
        (json!({"displayName": "x".repeat(51)}), "displayName"),
        (json!({"displayName": "Ada", "bio": "b".repeat(501)}), "bio"),
        (json!({"displayName": "Ada", "public": "yes"}), "public"),
        (json!({"bio": "no name"}), "displayName"),
    ] {
        let (status, answer) = as_user(&app, &ada, Method::PUT, "/v1/me/profile", Some(bad.clone())).await;
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some(field)), "{bad}: {answer}");
    }
    // A field a profile does not have is refused by name, as on every `/v1` route.
    let (status, answer) = as_user(&app, &ada, Method::PUT, "/v1/me/profile", Some(json!({"displayName": "Ada", "colour": "red"}))).await;
    assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some("colour")), "{answer}");
    let (status, profile) =
        as_user(&app, &ada, Method::PUT, "/v1/me/profile", Some(json!({"displayName": "<b>Ada</b>", "bio": "Buys \"dips\" & sells rips", "public": true})))
            .await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["displayName"], "&lt;b&gt;Ada&lt;/b&gt;");
    assert_eq!(profile["bio"], "Buys &quot;dips&quot; &amp; sells rips");
    let (_, blank_bio) = as_user(&app, &ada, Method::PUT, "/v1/me/profile", Some(json!({"displayName": " Ada ", "bio": "  \u{2800} ", "public": true}))).await;
    assert_eq!((blank_bio["displayName"].as_str(), blank_bio["bio"].as_str()), (Some("Ada"), Some("")), "kept trimmed: {blank_bio}");
    as_user(&app, &bob, Method::PUT, "/v1/me/profile", Some(json!({"displayName": "Bob", "public": true}))).await;

    // Avatars: the type is checked against the bytes, the size against the limit.
    let png = PNG_1X1.to_vec();
    assert_eq!(put_avatar(&app, &ada, "image/png", png.clone()).await.0, 204);
    let response = app.anonymous.get(app.url(&format!("/v1/profiles/{}/avatar", ada.id))).send().await.unwrap();
    assert_eq!((response.status().as_u16(), response.headers()["content-type"].to_str().unwrap()), (200, "image/png"));
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.bytes().await.unwrap().to_vec(), png);
    let (status, answer) = put_avatar(&app, &ada, "image/jpeg", png.clone()).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_image")), "a PNG is not a JPEG");
    // Every type taken comes back as itself, and the document says so: each is a body the
    // upload takes and an answer the image gives, as bytes (not a JSON array of numbers).
    let (_, document) = app.get("/openapi.json").await;
    let taken = &document["paths"]["/v1/me/avatar"]["put"]["requestBody"]["content"];
    let given = &document["paths"]["/v1/profiles/{user_id}/avatar"]["get"]["responses"]["200"]["content"];
    let binary = json!({"type": "string", "format": "binary"});
    assert_eq!(document["components"]["schemas"]["ImageBytes"], binary, "{}", document["components"]["schemas"]["ImageBytes"]);
    let jpeg = [
        [0xff_u8, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00].as_slice(),
        &[0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00],
        &[0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00, 0x12, 0x34, 0xff, 0xd9],
    ]
    .concat();
    let gif = [b"GIF89a".as_slice(), &[1, 0, 1, 0, 0, 0, 0], &[0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0], &[0x3b]].concat();
    let webp = [b"RIFF\x12\0\0\0WEBPVP8L\x05\0\0\0\x2f\0\0\0\0\0".as_slice()].concat();
    // A file cut off or corrupted is refused, though it starts as its type does.
    let mut corrupted = png.clone();
    corrupted[45] ^= 1;
    for (content_type, broken) in
        [("image/png", png[..30].to_vec()), ("image/png", corrupted), ("image/jpeg", jpeg[..jpeg.len() - 2].to_vec()), ("image/gif", gif[..13].to_vec())]
    {
        let (status, answer) = put_avatar(&app, &ada, content_type, broken).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_image")), "{content_type}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains("cut off or corrupted"), "{answer}");
    }
    for (content_type, bytes) in [("image/jpeg", jpeg), ("image/gif", gif), ("image/webp", webp), ("image/png", png.clone())] {
        assert_eq!(put_avatar(&app, &ada, content_type, bytes.clone()).await.0, 204, "{content_type}");
        let response = app.anonymous.get(app.url(&format!("/v1/profiles/{}/avatar", ada.id))).send().await.unwrap();
        assert_eq!(response.headers()["content-type"].to_str().unwrap(), content_type);
        assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);
        for (side, content) in [("taken", taken), ("given", given)] {
            assert_eq!(content[content_type]["schema"]["$ref"], "#/components/schemas/ImageBytes", "{side}: {content_type} in {content}");
        }
    }
    let (status, _) = put_avatar(&app, &ada, "image/svg+xml", b"<svg onload=alert(1)>".to_vec()).await;
    assert_eq!(status, 415);
    let (status, _) = put_avatar(&app, &ada, "image/png", [png.as_slice(), &vec![0_u8; 70_000]].concat()).await;
    assert_eq!(status, 413);
    assert_eq!(put_avatar(&app, &cy, "image/png", png.clone()).await.0, 204);
    let response = app.anonymous.get(app.url(&format!("/v1/profiles/{}/avatar", cy.id))).send().await.unwrap();
    assert_eq!(response.status(), 404, "a private profile's avatar is not shown");
    let response = app.anonymous.get(app.url(&format!("/v1/profiles/{}/avatar", cy.id))).bearer_auth(&bob.token).send().await.unwrap();
    assert_eq!(response.status(), 404, "nor to another user");
    // Its owner (and an admin) may see a private profile, and so its picture: the URL the
    // profile names answers whoever was given it.
    let (_, own) = as_user(&app, &cy, Method::GET, &format!("/v1/profiles/{}", cy.id), None).await;
    let url = own["avatarUrl"].as_str().unwrap_or_else(|| panic!("the owner's profile names the picture: {own}")).to_owned();
    let response = app.anonymous.get(app.url(&url)).bearer_auth(&cy.token).send().await.unwrap();
    assert_eq!(response.status(), 200, "the owner sees their own picture");
    assert_eq!(response.headers()["cache-control"], "private, no-store", "a private picture is not kept by shared caches");
    assert_eq!(response.bytes().await.unwrap().to_vec(), png);
    let response = app.anonymous.get(app.url(&url)).header("x-api-key", ADMIN_KEY).send().await.unwrap();
    assert_eq!(response.status(), 200, "an admin sees it as they see the profile");

    // Follows: not yourself, not a private profile; notified once.
    let (status, _) = as_user(&app, &ada, Method::POST, &format!("/v1/users/{}/follow", ada.id), None).await;
    assert_eq!(status, 400);
    let (status, _) = as_user(&app, &bob, Method::POST, &format!("/v1/users/{}/follow", cy.id), None).await;
    assert_eq!(status, 404);
    for _ in 0..2 {
        let (status, followed) = as_user(&app, &bob, Method::POST, &format!("/v1/users/{}/follow", ada.id), None).await;
        assert_eq!((status, followed["followedByYou"].as_bool(), followed["followers"].as_u64()), (200, Some(true), Some(1)), "{followed}");
    }
    let (_, followers) = as_user(&app, &cy, Method::GET, &format!("/v1/users/{}/followers", ada.id), None).await;
    assert_eq!((followers["users"][0]["userId"].as_str(), followers["users"][0]["displayName"].as_str()), (Some(bob.id.as_str()), Some("Bob")), "{followers}");
    let (_, following) = as_user(&app, &cy, Method::GET, &format!("/v1/users/{}/following", bob.id), None).await;
    assert_eq!(following["users"].as_array().unwrap().len(), 1, "{following}");
    let (status, _) = as_user(&app, &bob, Method::GET, &format!("/v1/users/{}/followers", cy.id), None).await;
    assert_eq!(status, 404);

    // Ada trades and shares the trade and an order.
    let (status, placed) =
        as_user(&app, &ada, Method::POST, "/v1/orders", Some(json!({"symbol": "MOCK", "quantity": "3", "side": "BUY", "type": "MARKET"}))).await;
    assert_eq!(status, 202, "{placed}");
    let (_, trades) = app.get_until(&format!("/v1/trades/search?userId={}", ada.id), |_, body| body["trades"][0]["tradeId"].is_string()).await;
    let trade = trades["trades"][0]["tradeId"].as_str().unwrap().to_owned();
    let (status, _) = as_user(&app, &bob, Method::POST, &format!("/v1/trades/{trade}/share"), Some(json!({}))).await;
    assert_eq!(status, 404, "another user's trade cannot be shared");
    let (status, answer) = as_user(&app, &ada, Method::POST, &format!("/v1/trades/{trade}/share"), Some(json!({"comment": "c".repeat(501)}))).await;
    assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some("comment")));
    let (status, shared) =
        as_user(&app, &ada, Method::POST, &format!("/v1/trades/{trade}/share"), Some(json!({"comment": "<script>alert(1)</script> bought the dip"}))).await;
    assert_eq!(status, 201, "{shared}");
    assert_eq!(
        (shared["kind"].as_str(), shared["symbol"].as_str(), shared["side"].as_str(), shared["quantity"].as_str()),
        (Some("TRADE"), Some("MOCK"), Some("BUY"), Some("3"))
    );
    assert_eq!(shared["comment"], "&lt;script&gt;alert(1)&lt;/script&gt; bought the dip");
    assert_eq!(shared["price"], "100.5");
    let trade_share = shared["shareId"].as_str().unwrap().to_owned();
    let (_, resting) =
        as_user(&app, &ada, Method::POST, "/v1/orders", Some(json!({"symbol": "MOCK", "quantity": "2", "side": "BUY", "type": "LIMIT", "limitPrice": "95"})))
            .await;
    let order = resting["orderId"].as_str().unwrap().to_owned();
    app.get_until(&format!("/v1/orders?userId={}", ada.id), |_, body| body.to_string().contains(&order)).await;
    let (status, shared) = as_user(&app, &ada, Method::POST, &format!("/v1/orders/{order}/share"), Some(json!({}))).await;
    assert_eq!((status, shared["kind"].as_str(), shared["price"].as_str()), (201, Some("ORDER"), Some("95")), "{shared}");
    let order_share = shared["shareId"].as_str().unwrap().to_owned();

    // Bob's feed has both, the newer first; Cy follows nobody.
    let (_, feed) = as_user(&app, &bob, Method::GET, "/v1/feed", None).await;
    assert_eq!(share_ids(&feed), [order_share.clone(), trade_share.clone()], "{feed}");
    let (_, feed) = as_user(&app, &cy, Method::GET, "/v1/feed", None).await;
    assert!(share_ids(&feed).is_empty(), "{feed}");

    // Likes (once each) and comments lift the trade above the newer order in the ranking.
    for _ in 0..2 {
        let (status, liked) = as_user(&app, &bob, Method::POST, &format!("/v1/shares/{trade_share}/like"), None).await;
        assert_eq!((status, liked["likes"].as_u64(), liked["likedByYou"].as_bool()), (200, Some(1), Some(true)), "{liked}");
    }
    let (status, answer) = as_user(&app, &bob, Method::POST, &format!("/v1/shares/{trade_share}/comment"), Some(json!({"text": "  "}))).await;
    assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some("text")));
    let (status, comment) = as_user(&app, &bob, Method::POST, &format!("/v1/shares/{trade_share}/comment"), Some(json!({"text": "nice <i>entry</i>"}))).await;
    assert_eq!((status, comment["text"].as_str(), comment["displayName"].as_str()), (201, Some("nice &lt;i&gt;entry&lt;/i&gt;"), Some("Bob")), "{comment}");
    let comment_id = comment["commentId"].as_str().unwrap().to_owned();
    let (_, feed) = as_user(&app, &bob, Method::GET, "/v1/feed?limit=1", None).await;
    assert_eq!((share_ids(&feed), feed["nextPageToken"].as_str()), (vec![trade_share.clone()], Some("1")), "{feed}");
    assert_eq!((feed["shares"][0]["likes"].as_u64(), feed["shares"][0]["comments"].as_u64()), (Some(1), Some(1)));
    let (_, second) = as_user(&app, &bob, Method::GET, "/v1/feed?limit=1&pageToken=1", None).await;
    assert_eq!((share_ids(&second), second["nextPageToken"].as_str()), (vec![order_share.clone()], None), "{second}");
    let (_, comments) = as_user(&app, &cy, Method::GET, &format!("/v1/shares/{trade_share}/comments"), None).await;
    assert_eq!(comments["comments"][0]["commentId"], comment_id.as_str(), "a public profile's shares are seen by anyone: {comments}");

    // Ada was told of the follower, the like and the comment (and her fill), once each.
    let path = format!("/v1/notifications?userId={}", ada.id);
    let (_, notified) = app.get_until(&path, |_, body| body["notifications"].as_array().is_some_and(|list| list.len() >= 4)).await;
    assert_eq!(kinds(&notified), ["COMMENT", "LIKE", "NEW_FOLLOWER", "ORDER_FILLED"], "{notified}");

    // Reports go to admins, who hide; a hidden share is gone for everyone.
    let (status, _) = as_user(&app, &cy, Method::POST, &format!("/v1/shares/{order_share}/report"), Some(json!({"reason": ""}))).await;
    assert_eq!(status, 400);
    let (status, report) = as_user(&app, &cy, Method::POST, &format!("/v1/shares/{order_share}/report"), Some(json!({"reason": "spam <a>"}))).await;
    assert_eq!((status, report["reason"].as_str()), (201, Some("spam &lt;a&gt;")), "{report}");
    let (status, _) = as_user(&app, &cy, Method::POST, &format!("/v1/comments/{comment_id}/report"), Some(json!({"reason": "rude"}))).await;
    assert_eq!(status, 201);
    // What Cy reported is in Cy's export.
    let (_, exported) = as_user(&app, &cy, Method::GET, "/v1/me/export", None).await;
    let mut reported: Vec<(&str, &str)> = exported["social"]["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|report| (report["target"].as_str().unwrap(), report["reason"].as_str().unwrap()))
        .collect();
    reported.sort_unstable();
    assert_eq!(reported, [("COMMENT", "rude"), ("SHARE", "spam &lt;a&gt;")], "{}", exported["social"]);
    let (status, _) = as_user(&app, &cy, Method::GET, "/v1/reports", None).await;
    assert_eq!(status, 403);
    let (status, _) = as_user(&app, &cy, Method::POST, &format!("/v1/shares/{order_share}/hide"), None).await;
    assert_eq!(status, 403);
    let (_, reports) = app.get("/v1/reports?open=true").await;
    assert_eq!(reports["reports"].as_array().unwrap().len(), 2, "{reports}");
    let (status, _) = app.post(&format!("/v1/shares/{order_share}/hide"), json!({})).await;
    assert_eq!(status, 204);
    let (status, _) = app.post(&format!("/v1/shares/{order_share}/hide"), json!({})).await;
    assert_eq!(status, 404, "hidden already");
    let (_, reports) = app.get("/v1/reports?open=true").await;
    assert_eq!(reports["reports"][0]["target"], "COMMENT", "the share's report is resolved: {reports}");
    let (status, _) = as_user(&app, &ada, Method::GET, &format!("/v1/shares/{order_share}"), None).await;
    assert_eq!(status, 404);
    let (_, feed) = as_user(&app, &bob, Method::GET, "/v1/feed", None).await;
    assert_eq!(share_ids(&feed), [trade_share.as_str()]);

    // Deleting: a comment by its author (not by a stranger), a share by its author only.
    let (status, _) = as_user(&app, &cy, Method::DELETE, &format!("/v1/comments/{comment_id}"), None).await;
    assert_eq!(status, 404);
    let (status, _) = as_user(&app, &bob, Method::DELETE, &format!("/v1/comments/{comment_id}"), None).await;
    assert_eq!(status, 204);
    let (_, share) = as_user(&app, &bob, Method::GET, &format!("/v1/shares/{trade_share}"), None).await;
    assert_eq!(share["comments"], 0, "{share}");
    let (status, _) = as_user(&app, &bob, Method::DELETE, &format!("/v1/shares/{trade_share}"), None).await;
    assert_eq!(status, 404);

    // Going private hides everything from others at once.
    as_user(&app, &ada, Method::PUT, "/v1/me/profile", Some(json!({"displayName": "Ada", "public": false}))).await;
    let (_, feed) = as_user(&app, &bob, Method::GET, "/v1/feed", None).await;
    assert!(share_ids(&feed).is_empty(), "{feed}");
    for path in [format!("/v1/shares/{trade_share}"), format!("/v1/users/{}/shares", ada.id), format!("/v1/profiles/{}", ada.id)] {
        let (status, _) = as_user(&app, &bob, Method::GET, &path, None).await;
        assert_eq!(status, 404, "{path}");
    }
    let (_, own) = as_user(&app, &ada, Method::GET, &format!("/v1/users/{}/shares", ada.id), None).await;
    assert_eq!(share_ids(&own), [trade_share.as_str()], "the author still sees their own: {own}");
    assert_eq!(own["shares"][0]["displayName"], "Ada", "and by her own name, which only she sees: {own}");

    // The export holds all of it: profile, follows, shares, likes, notifications, accounts.
    let (_, export) = as_user(&app, &ada, Method::GET, "/v1/me/export", None).await;
    let social = &export["social"];
    assert_eq!((social["displayName"].as_str(), social["public"].as_bool(), social["hasAvatar"].as_bool()), (Some("Ada"), Some(false), Some(true)), "{social}");
    assert_eq!(social["followers"], json!([bob.id]), "{social}");
    assert_eq!(social["shares"].as_array().map(Vec::len), Some(2), "the hidden share is still hers to see: {social}");
    assert!(export["notifications"].as_array().unwrap().iter().any(|item| item["kind"] == "NEW_FOLLOWER"), "{export}");
    assert_eq!(export["accounts"][0]["accountId"], ada.id.as_str());
    let (_, bobs) = as_user(&app, &bob, Method::GET, "/v1/me/export", None).await;
    assert_eq!((bobs["social"]["likes"].clone(), bobs["social"]["following"].clone()), (json!([trade_share]), json!([ada.id])), "{bobs}");

    let (status, _) = as_user(&app, &ada, Method::DELETE, &format!("/v1/shares/{trade_share}"), None).await;
    assert_eq!(status, 204);

    // Deleting an account deletes its social data: Bob no longer follows Ada.
    let (status, _) = as_user(&app, &bob, Method::DELETE, "/v1/me", Some(json!({"password": "correct horse"}))).await;
    assert_eq!(status, 204);
    let (_, profile) = as_user(&app, &ada, Method::GET, &format!("/v1/profiles/{}", ada.id), None).await;
    assert_eq!(profile["followers"], 0, "{profile}");
}

#[tokio::test]
async fn posting_is_limited_per_minute() {
    let app = spawn_app().await;
    let ada = user(&app, "ada@example.com").await;
    as_user(&app, &ada, Method::PUT, "/v1/me/profile", Some(json!({"displayName": "Ada", "public": true}))).await;
    let (_, placed) =
        as_user(&app, &ada, Method::POST, "/v1/orders", Some(json!({"symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "90"})))
            .await;
    let order = placed["orderId"].as_str().unwrap().to_owned();
    app.get_until(&format!("/v1/orders?userId={}", ada.id), |_, body| body.to_string().contains(&order)).await;
    let (_, first) = as_user(&app, &ada, Method::POST, &format!("/v1/orders/{order}/share"), Some(json!({}))).await;
    let share = first["shareId"].as_str().unwrap().to_owned();
    for _ in 1..tradecraft_api::social::POSTS_PER_MINUTE {
        let (status, body) = as_user(&app, &ada, Method::POST, &format!("/v1/shares/{share}/comment"), Some(json!({"text": "more"}))).await;
        assert_eq!(status, 201, "{body}");
    }
    let response = app
        .anonymous
        .post(app.url(&format!("/v1/shares/{share}/comment")))
        .bearer_auth(&ada.token)
        .json(&json!({"text": "one too many"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let (status, _) = as_user(&app, &ada, Method::POST, &format!("/v1/orders/{order}/share"), Some(json!({}))).await;
    assert_eq!(status, 429, "shares and comments count together");
}

/// A report is made once per reporter and target (a repeat answers the open report, so
/// the admins' queue is not flooded), never of one's own post; a shared order shows what
/// it traded at once it has filled.
#[tokio::test]
async fn reports_are_one_per_reporter_and_never_of_ones_own_posts_and_a_filled_order_is_shared_at_its_price() {
    let app = spawn_app().await;
    let (ada, bob) = (user(&app, "ada-reports@example.com").await, user(&app, "bob-reports@example.com").await);
    as_user(&app, &ada, Method::PUT, "/v1/me/profile", Some(json!({"displayName": "Ada", "public": true}))).await;
    let (status, placed) =
        as_user(&app, &ada, Method::POST, "/v1/orders", Some(json!({"symbol": "MOCK", "side": "BUY", "type": "MARKET", "quantity": "2"}))).await;
    assert_eq!(status, 202, "{placed}");
    let order_id = placed["orderId"].as_str().unwrap();
    let (_, order) = as_user(&app, &ada, Method::GET, &format!("/v1/orders/{order_id}"), None).await;
    assert_eq!(order["status"], "FILLED", "{order}");
    let (status, share) = as_user(&app, &ada, Method::POST, &format!("/v1/orders/{order_id}/share"), Some(json!({}))).await;
    assert_eq!(status, 201, "{share}");
    assert_eq!(share["price"], order["averagePrice"], "a filled market order is shared at its fill price: {share}");
    let share_id = share["shareId"].as_str().unwrap();

    let (status, own) = as_user(&app, &ada, Method::POST, &format!("/v1/shares/{share_id}/report"), Some(json!({"reason": "spam"}))).await;
    assert_eq!((status, own["error"]["message"].as_str()), (400, Some("you cannot report your own share")), "{own}");
    let (status, first) = as_user(&app, &bob, Method::POST, &format!("/v1/shares/{share_id}/report"), Some(json!({"reason": "spam"}))).await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = as_user(&app, &bob, Method::POST, &format!("/v1/shares/{share_id}/report"), Some(json!({"reason": "still spam"}))).await;
    assert_eq!((status, &again["reportId"]), (200, &first["reportId"]), "{again}");
    let (status, comment) = as_user(&app, &bob, Method::POST, &format!("/v1/shares/{share_id}/comment"), Some(json!({"text": "nice"}))).await;
    assert_eq!(status, 201, "{comment}");
    let comment_id = comment["commentId"].as_str().unwrap();
    let (status, _) = as_user(&app, &bob, Method::POST, &format!("/v1/comments/{comment_id}/report"), Some(json!({"reason": "mine"}))).await;
    assert_eq!(status, 400, "one's own comment");
    let (status, second) = as_user(&app, &ada, Method::POST, &format!("/v1/comments/{comment_id}/report"), Some(json!({"reason": "rude"}))).await;
    assert_eq!(status, 201, "{second}");
    // Every report is reached page by page, oldest first (ties by id).
    let (_, all) = app.get("/v1/reports?open=true").await;
    let both: Vec<String> = all["reports"].as_array().unwrap().iter().map(|report| report["reportId"].as_str().unwrap().to_owned()).collect();
    let mut made = [first["reportId"].as_str().unwrap().to_owned(), second["reportId"].as_str().unwrap().to_owned()];
    let mut listed = both.clone();
    made.sort();
    listed.sort();
    assert_eq!(listed, made);
    assert_eq!(app.pages("/v1/reports?open=true&limit=1", "reports", "reportId").await, both);
    // Once resolved (hidden), the share is gone: a later report finds nothing to report.
    let (status, _) = app.post(&format!("/v1/shares/{share_id}/hide"), json!({})).await;
    assert_eq!(status, 204);
    let (status, _) = as_user(&app, &bob, Method::POST, &format!("/v1/shares/{share_id}/report"), Some(json!({"reason": "spam"}))).await;
    assert_eq!(status, 404);
    let open: Vec<String> = both.iter().filter(|id| **id != first["reportId"]).cloned().collect();
    assert_eq!(app.pages("/v1/reports?open=true&limit=1", "reports", "reportId").await, open);
    assert_eq!(app.pages("/v1/reports?limit=1", "reports", "reportId").await, both);
    let (status, refused) = app.get("/v1/reports?pageToken=zz").await;
    assert_eq!((status, refused["error"]["details"]["parameter"].as_str()), (400, Some("pageToken")), "{refused}");
}

/// A whole 1×1 PNG.
const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
    0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f, 0x0f, 0x00, 0x02, 0x87,
    0x01, 0x80, 0xeb, 0x47, 0xba, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// An order or a trade is shared once by its trader (a repeat, or several at once, is 409
/// `already_shared` naming the share), and again only after that share is deleted.
#[tokio::test]
async fn an_order_or_trade_is_shared_once_until_that_share_is_deleted() {
    let app = spawn_app().await;
    let ada = user(&app, "ada-once@example.com").await;
    let (status, placed) =
        as_user(&app, &ada, Method::POST, "/v1/orders", Some(json!({"symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "MARKET"}))).await;
    assert_eq!(status, 202, "{placed}");
    let order = placed["orderId"].as_str().unwrap().to_owned();
    let (_, trades) = app.get_until(&format!("/v1/trades/search?userId={}", ada.id), |_, body| body["trades"][0]["tradeId"].is_string()).await;
    let trade = trades["trades"][0]["tradeId"].as_str().unwrap().to_owned();

    for path in [format!("/v1/orders/{order}/share"), format!("/v1/trades/{trade}/share")] {
        let (status, first) = as_user(&app, &ada, Method::POST, &path, Some(json!({"comment": "first"}))).await;
        assert_eq!(status, 201, "{first}");
        let share = first["shareId"].as_str().unwrap().to_owned();
        let (status, again) = as_user(&app, &ada, Method::POST, &path, Some(json!({"comment": "again"}))).await;
        assert_eq!((status, again["error"]["code"].as_str()), (409, Some("already_shared")), "{path}: {again}");
        assert!(again["error"]["message"].as_str().unwrap().contains(&share), "{again}");
        let (status, _) = as_user(&app, &ada, Method::DELETE, &format!("/v1/shares/{share}"), None).await;
        assert_eq!(status, 204);
        let (status, anew) = as_user(&app, &ada, Method::POST, &path, Some(json!({"comment": "anew"}))).await;
        assert_eq!((status, anew["comment"].as_str()), (201, Some("anew")), "{anew}");
    }
    let (_, profile) = as_user(&app, &ada, Method::GET, &format!("/v1/users/{}/shares", ada.id), None).await;
    let comments: Vec<&str> = profile["shares"].as_array().unwrap().iter().map(|share| share["comment"].as_str().unwrap()).collect();
    assert_eq!(comments, ["anew", "anew"], "{profile}");

    // Five at once of another order: one is stored.
    let (_, resting) =
        as_user(&app, &ada, Method::POST, "/v1/orders", Some(json!({"symbol": "MOCK", "quantity": "1", "side": "BUY", "type": "LIMIT", "limitPrice": "90"})))
            .await;
    let resting = resting["orderId"].as_str().unwrap().to_owned();
    app.get_until(&format!("/v1/orders?userId={}", ada.id), |_, body| body.to_string().contains(&resting)).await;
    let path = format!("/v1/orders/{resting}/share");
    let racing = futures_util::future::join_all((0..5).map(|_| as_user(&app, &ada, Method::POST, &path, Some(json!({}))))).await;
    let mut statuses: Vec<u16> = racing.iter().map(|(status, _)| *status).collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409], "{racing:?}");
}

/// Followers come page by page, every public one once, newest first; those with private
/// profiles are counted, not named, so the list and the profile's count agree.
#[tokio::test]
async fn followers_are_paged_and_private_ones_counted() {
    let app = spawn_app().await;
    let ada = user(&app, "ada-followed@example.com").await;
    as_user(&app, &ada, Method::PUT, "/v1/me/profile", Some(json!({"displayName": "Ada", "public": true}))).await;
    let mut public = Vec::new();
    for index in 0..9 {
        let fan = user(&app, &format!("fan{index}@example.com")).await;
        if index % 3 != 2 {
            as_user(&app, &fan, Method::PUT, "/v1/me/profile", Some(json!({"displayName": format!("Fan {index}"), "public": true}))).await;
            public.push(fan.id.clone());
        }
        let (status, _) = as_user(&app, &fan, Method::POST, &format!("/v1/users/{}/follow", ada.id), None).await;
        assert_eq!(status, 200);
    }
    public.reverse();
    let mut listed = Vec::new();
    let mut path = format!("/v1/users/{}/followers?limit=2", ada.id);
    loop {
        let (status, page) = as_user(&app, &ada, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!((page["publicCount"].as_u64(), page["privateCount"].as_u64()), (Some(6), Some(3)), "{page}");
        listed.extend(page["users"].as_array().unwrap().iter().map(|user| user["userId"].as_str().unwrap().to_owned()));
        match page["nextPageToken"].as_str() {
            Some(token) => path = format!("/v1/users/{}/followers?limit=2&pageToken={token}", ada.id),
            None => break,
        }
    }
    assert_eq!(listed, public, "every public follower once, newest first");
    let (_, profile) = as_user(&app, &ada, Method::GET, &format!("/v1/profiles/{}", ada.id), None).await;
    assert_eq!(profile["followers"], 9, "{profile}");
}
