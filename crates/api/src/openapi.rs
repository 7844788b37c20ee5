//! The OpenAPI 3.1 document served at `/openapi.json` and rendered at `/docs`. Nothing
//! here is written by hand but the title and the security schemes: operations come from
//! the handlers' `#[utoipa::path]` attributes as the router registers them
//! (`routes::api`), schemas from the request and response types. The answers every
//! operation can give because of the layers around it (401 and 403 from the route
//! policy, 429 from the rate limits, 400/413/415 from the body and query extractors, 5xx)
//! are added from the same code that gives them.

use std::sync::OnceLock;

use axum::response::Html;
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, RefOr};

use crate::responses::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "TradeCraft",
        description = "A paper-trading exchange. Prices, quantities and money are exact decimals: strings in answers; JSON numbers or strings in requests, in JSON number syntax (no '+', spaces or leading zeros). Ids are decimal strings of at most 18 digits. Every error is {\"error\": {\"code\", \"message\", \"details\"}}; a bad field is named in details.field. Unknown fields are ignored.",
    ),
    components(schemas(ErrorBody, crate::alpaca::AlpacaError)),
    modifiers(&Security),
    tags(
        (name = "orders", description = "Placing, reading, replacing and cancelling orders."),
        (name = "portfolio", description = "Cash, holdings, positions, performance, statement."),
        (name = "market", description = "Instruments, books, tickers, trades, candles and the WebSocket (public)."),
        (name = "auth", description = "Registration, logins, API keys, roles."),
        (name = "risk", description = "Trading limits, memberships, organisations."),
        (name = "alerts", description = "Alerts and webhooks."),
        (name = "accounts", description = "A user's paper accounts: the default one, practice ones and contest ones; resets."),
        (name = "contests", description = "Trading contests: rules, entries and standings."),
        (name = "notifications", description = "In-app notifications, their email and chat channels, and price alerts."),
        (name = "social", description = "Profiles, follows, shared trades and orders, likes, comments, the feed and moderation."),
        (name = "privacy", description = "Export and deletion of one's own data."),
        (name = "analytics", description = "Volume, metrics and the leaderboard (public)."),
        (name = "health", description = "Liveness and readiness."),
        (name = "meta", description = "This document and the metrics."),
        (name = "alpaca", description = "The Alpaca-compatible trading API (`/v2`): Alpaca's shapes, UUID ids and errors as {\"code\", \"message\"}; authenticate with APCA-API-KEY-ID and APCA-API-SECRET-KEY (a TradeCraft API key's id and secret), or as anywhere else. See docs/alpaca.md."),
    ),
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from /v1/auth/login, /register or /refresh (15 minutes)."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description("X-API-Key", "An API key from /v1/api-keys, or the operator's admin key."))),
        );
        components.add_security_scheme(
            "alpacaKeyId",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "APCA-API-KEY-ID",
                "An API key's id (with APCA-API-SECRET-KEY), as Alpaca clients send it.",
            ))),
        );
        components.add_security_scheme(
            "alpacaSecret",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description("APCA-API-SECRET-KEY", "The API key's secret (with APCA-API-KEY-ID)."))),
        );
        openapi.security = Some(vec![
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("apiKey", Vec::<String>::new()),
            SecurityRequirement::new("alpacaKeyId", Vec::<String>::new()).add("alpacaSecret", Vec::<String>::new()),
        ]);
    }
}

/// The document's frame: title, tags, security schemes; `routes::api` adds the paths.
pub(crate) fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The whole document (built once).
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, mut document) = crate::routes::api().split_for_parts();
        for (path, item) in &mut document.paths.paths {
            for (method, operation) in operations_of(item) {
                complete(path, method, operation);
            }
        }
        close_v1_bodies(&mut document);
        document
    })
}

/// Marks every object a `/v1` request body is made of `additionalProperties: false`: the
/// extractor refuses a field the request does not have (`extract::from_object`).
fn close_v1_bodies(document: &mut utoipa::openapi::OpenApi) {
    let Some(components) = document.components.as_mut() else { return };
    let mut pending: Vec<String> = Vec::new();
    for (path, item) in &document.paths.paths {
        if !path.starts_with("/v1/") {
            continue;
        }
        for (_, operation) in operations_of(&mut item.clone()) {
            if let Some(body) = &operation.request_body {
                pending.extend(schema_refs(&serde_json::to_value(body).unwrap_or_default()));
            }
        }
    }
    let mut closed = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !closed.insert(name.clone()) {
            continue;
        }
        if let Some(RefOr::T(schema)) = components.schemas.get_mut(&name) {
            pending.extend(schema_refs(&serde_json::to_value(&*schema).unwrap_or_default()));
            if let utoipa::openapi::Schema::Object(object) = schema
                && !object.properties.is_empty()
            {
                object.additional_properties = Some(Box::new(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)));
            }
        }
    }
}

/// The component names `value` refers to (`#/components/schemas/NAME`), at any depth.
fn schema_refs(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .flat_map(|(key, value)| match (key.as_str(), value) {
                ("$ref", serde_json::Value::String(target)) => target.strip_prefix("#/components/schemas/").map(str::to_owned).into_iter().collect(),
                _ => schema_refs(value),
            })
            .collect(),
        serde_json::Value::Array(items) => items.iter().flat_map(schema_refs).collect(),
        _ => Vec::new(),
    }
}

/// The document as JSON.
pub fn document_json() -> serde_json::Value {
    serde_json::to_value(document()).unwrap_or_default()
}

/// What a documented operation takes besides its path: its query parameters' names, and
/// whether it has a request body.
#[derive(Debug, Default)]
pub(crate) struct Inputs {
    pub query: std::collections::HashSet<String>,
    pub body: bool,
}

/// The inputs of each documented operation, by (method, path).
pub(crate) fn operation_inputs() -> &'static std::collections::HashMap<(String, String), Inputs> {
    static INPUTS: OnceLock<std::collections::HashMap<(String, String), Inputs>> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let mut all = std::collections::HashMap::new();
        for (path, item) in &document().paths.paths {
            let mut item = item.clone();
            for (method, operation) in operations_of(&mut item) {
                let query = operation
                    .parameters
                    .iter()
                    .flatten()
                    .filter_map(|parameter| match parameter {
                        RefOr::T(parameter) if parameter.parameter_in == utoipa::openapi::path::ParameterIn::Query => Some(parameter.name.clone()),
                        _ => None,
                    })
                    .collect();
                all.insert((method.to_owned(), path.clone()), Inputs { query, body: operation.request_body.is_some() });
            }
        }
        all
    })
}

/// (method, path) of every documented operation, e.g. `("get", "/v1/orders/{order_id}")`.
pub fn operations() -> Vec<(String, String)> {
    let mut all = Vec::new();
    for (path, item) in &document().paths.paths {
        let mut item = item.clone();
        for (method, _) in operations_of(&mut item) {
            all.push((method.to_owned(), path.clone()));
        }
    }
    all
}

fn operations_of(item: &mut utoipa::openapi::PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("patch", item.patch.as_mut()),
        ("head", item.head.as_mut()),
        ("options", item.options.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|operation| (method, operation)))
    .collect()
}

/// An error answer: `ErrorBody`, or Alpaca's `AlpacaError` under `/v2`.
fn error_response(schema: &str, description: &str) -> RefOr<utoipa::openapi::response::Response> {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(schema)))))
        .into()
}

/// Adds the answers the layers around `operation` can give, and its security.
fn complete(path: &str, method: &str, operation: &mut Operation) {
    let public = crate::auth::public(path);
    if public {
        // Public operations need no credentials.
        operation.security = Some(Vec::new());
    }
    let alpaca = crate::alpaca::is_alpaca_path(path);
    let schema = if alpaca { "AlpacaError" } else { "ErrorBody" };
    if crate::idempotency::covered(method, path) {
        idempotent(operation, schema);
    }
    idempotency_alias(operation);
    let mut add = |status: &str, description: &str| {
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| error_response(schema, description));
    };
    // Credentials are checked on every request: a public operation given bad ones is 401 too.
    add("401", "No credentials, or credentials that are invalid, expired, revoked or given twice.");
    if !public {
        add("403", "The credentials may not do this (a viewer or a key without the scope, not an admin, or the operator key where an account is needed).");
    }
    let has_parameters = operation.parameters.as_ref().is_some_and(|parameters| !parameters.is_empty());
    if has_parameters {
        add("400", "A bad parameter.");
        if alpaca {
            // Alpaca answers a bad value with 422.
            add("422", "A bad parameter value.");
        }
    } else if path.starts_with("/v1/") {
        // `extract::known_parameters`: any query parameter on `/v1` is refused, named.
        add("400", "A query parameter the operation does not take (named in details.parameter).");
    }
    if operation.request_body.is_some() {
        add("400", "The body is not a JSON object, or a field is bad (named in details.field).");
        add("413", "The body is larger than 64 KiB.");
        add("415", "The body is not application/json, is compressed (a Content-Encoding other than identity), or has two Content-Type headers.");
    } else if path.starts_with("/v1/") && method != "get" {
        // `extract::known_parameters`: nothing, `{}` or `null` pass; a field is named.
        add("400", "A body where the operation takes none (its first field named in details.field).");
        add("413", "The body is larger than 64 KiB.");
    }
    add("429", "Too many requests; retry after Retry-After seconds.");
    add("500", "An internal error (the cause is in the server's log).");
    let static_answer = matches!((method, path), ("get", "/health/live" | "/openapi.json" | "/docs" | "/metrics"));
    if !static_answer {
        add("503", "Recovering (the engine is replaying the event log; Retry-After), or the engine, log or read store cannot answer now.");
    }
}

/// The optional `X-Idempotency-Key` header of a creating request, and its refusals.
fn idempotent(operation: &mut Operation, schema: &str) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let header = ParameterBuilder::new()
        .name("X-Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(utoipa::openapi::Required::False)
        .description(Some("Makes a retry safe: the same key and request get the first answer (with Idempotent-Replayed: true), for 24 hours, on any gateway and after a restart."))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(255)).pattern(Some("^[ -~]+$"))))
        .build();
    operation.parameters.get_or_insert_with(Vec::new).push(RefOr::T(header));
    const REFUSED: &str = "X-Idempotency-Key was used for another request (idempotency_key_reused), its first request is still running (idempotency_key_in_use), or that request took effect but could not answer (idempotency_key_applied).";
    // `/v2` answers Alpaca's 422 where TradeCraft answers 409.
    let status = if schema == "AlpacaError" { "422" } else { "409" };
    match operation.responses.responses.entry(status.to_owned()) {
        std::collections::btree_map::Entry::Occupied(mut existing) => {
            if let RefOr::T(response) = existing.get_mut() {
                response.description = format!("{} Or: {REFUSED}", response.description);
            }
        }
        std::collections::btree_map::Entry::Vacant(vacant) => {
            vacant.insert(error_response(schema, REFUSED));
        }
    }
}

/// Beside each `X-Idempotency-Key`, the other name the key may come under.
fn idempotency_alias(operation: &mut Operation) {
    let Some(parameters) = operation.parameters.as_mut() else { return };
    let ours = parameters.iter().find_map(|parameter| match parameter {
        RefOr::T(parameter) if parameter.name == "X-Idempotency-Key" && parameter.parameter_in == utoipa::openapi::path::ParameterIn::Header => Some(parameter),
        _ => None,
    });
    if let Some(ours) = ours {
        let mut alias = ours.clone();
        alias.name = "Idempotency-Key".to_owned();
        alias.description = Some("X-Idempotency-Key under the name of the IETF draft (and Stripe's): give one of the two.".to_owned());
        parameters.push(RefOr::T(alias));
    }
}

/// The document rendered for people: a self-contained page (no script from elsewhere)
/// that lists every operation with its parameters, body and answers.
#[utoipa::path(get, path = "/docs", tag = "meta", security(()),
    responses((status = 200, description = "The API reference as a web page.", content_type = "text/html", body = String)))]
pub(crate) async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
