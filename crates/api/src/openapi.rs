//! The OpenAPI 3.1 document served at `/openapi.json`. [`OPERATIONS`] lists every route
//! the router serves; tests check that the router and this document agree both ways.

use serde_json::{Value, json};

/// (method, path) of every operation, as the router registers them.
pub const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/health/live"),
    ("get", "/health/ready"),
    ("get", "/openapi.json"),
    ("get", "/metrics"),
    ("get", "/v1/marketdata"),
    ("get", "/v1/marketdata/websocket"),
    ("post", "/v1/accounts"),
    ("post", "/v1/orders"),
    ("get", "/v1/orders"),
    ("get", "/v1/orders/{order_id}"),
    ("patch", "/v1/orders/{order_id}"),
    ("delete", "/v1/orders/{order_id}"),
    ("get", "/v1/portfolio/{user_id}"),
    ("get", "/v1/portfolio/positions"),
    ("get", "/v1/portfolio/performance"),
    ("get", "/v1/trades/search"),
    ("get", "/v1/wallet/transactions"),
    ("get", "/v1/analytics/volume"),
    ("get", "/v1/analytics/metrics"),
    ("get", "/v1/leaderboard"),
    ("post", "/v1/auth/register"),
    ("post", "/v1/auth/login"),
    ("post", "/v1/auth/refresh"),
    ("post", "/v1/auth/logout"),
    ("post", "/v1/api-keys"),
    ("get", "/v1/api-keys"),
    ("delete", "/v1/api-keys/{key_id}"),
    ("put", "/v1/users/{user_id}/role"),
    ("get", "/v1/audit"),
    ("put", "/v1/limits/{scope}/{id}"),
    ("get", "/v1/limits/{scope}/{id}"),
    ("put", "/v1/users/{user_id}/membership"),
    ("post", "/v1/organisations"),
    ("get", "/v1/organisations/{org_id}"),
    ("post", "/v1/organisations/{org_id}/groups"),
    ("put", "/v1/organisations/{org_id}/members/{user_id}"),
    ("delete", "/v1/organisations/{org_id}/members/{user_id}"),
    ("get", "/v1/me/export"),
    ("delete", "/v1/me"),
    ("get", "/v1/alerts"),
    ("post", "/v1/alerts/{alert_id}/acknowledge"),
    ("post", "/v1/webhooks"),
    ("get", "/v1/webhooks"),
    ("delete", "/v1/webhooks/{webhook_id}"),
    ("get", "/v1/market/symbols"),
    ("get", "/v1/market/{symbol}/orderbook"),
    ("get", "/v1/market/{symbol}/ticker"),
    ("get", "/v1/market/{symbol}/trades"),
    ("get", "/v1/market/{symbol}/candles"),
];

fn error(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn path_parameter(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

fn query_parameter(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}})
}

fn decimal(description: &str) -> Value {
    json!({"description": description, "oneOf": [{"type": "string", "pattern": "^-?[0-9]*\\\\.?[0-9]+$"}, {"type": "number"}]})
}

/// The whole document.
pub fn document() -> Value {
    let mut document = paths_and_schemas();
    // Public operations need no credentials: they override the document-wide security.
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, operations) in paths.iter_mut() {
            if crate::auth::public(path)
                && let Some(operations) = operations.as_object_mut()
            {
                for operation in operations.values_mut() {
                    operation["security"] = json!([]);
                }
            }
        }
    }
    document
}

fn paths_and_schemas() -> Value {
    let object = json!({"type": "object"});
    let order_id = path_parameter("order_id", "An order id (decimal string).");
    let symbol = path_parameter("symbol", "An instrument symbol such as MOCKAAPL.");
    let user_id = json!({"name": "userId", "in": "query", "required": true, "description": "The account.", "schema": {"type": "string"}});
    let period = query_parameter("period", "1d, 7d, 30d (default), 90d, 1y or all.");
    let limit = query_parameter("limit", "1 to 1000, default 100 (leaderboard 50).");
    let page_token = query_parameter("pageToken", "nextPageToken of the previous page.");
    let time_window = query_parameter("timeWindow", "1h, 24h (default) or 7d.");
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "TradeCraft",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Paper-trading exchange. Prices, quantities and money are exact decimal strings (JSON numbers are accepted on input). Ids are decimal strings. Errors are {\"error\":{\"code\",\"message\",\"details\"}}.",
        },
        "paths": {
            "/health/live": {"get": {"summary": "The process is up.", "responses": {"200": ok("Alive.", object.clone())}}},
            "/health/ready": {"get": {"summary": "The engine, the event log and the read store are usable (with the read store's lag).", "responses": {
                "200": ok("Ready; state of each dependency.", object.clone()),
                "503": ok("Degraded; state of each dependency.", object.clone()),
            }}},
            "/openapi.json": {"get": {"summary": "This document.", "responses": {"200": ok("The OpenAPI document.", object.clone())}}},
            "/v1/marketdata": {"get": {"summary": "WebSocket upgrade; Phoenix Channels protocol (vsn 1.0.0 objects, 2.0.0 arrays). Topics prices:{SYM} (price_update), book:{SYM} (book_update), trades:{SYM} (trade), orders:{userId} (order_update).",
                "responses": {"101": {"description": "Switching to the WebSocket protocol."}, "400": {"description": "Not a WebSocket upgrade request."}}}},
            "/v1/marketdata/websocket": {"get": {"summary": "The same socket at the path the Phoenix JavaScript client appends (`/websocket`).",
                "responses": {"101": {"description": "Switching to the WebSocket protocol."}, "400": {"description": "Not a WebSocket upgrade request."}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics: requests per route, engine queue and batches, log fsyncs.",
                "responses": {"200": {"description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/v1/accounts": {"post": {
                "summary": "Create a paper account with starting cash (default 100000).",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "userId": {"type": "string", "description": "Optional; assigned when absent."},
                    "cash": decimal("Starting cash, in cents or whole units."),
                }}}}},
                "responses": {"201": ok("Created.", json!({"$ref": "#/components/schemas/Account"})), "400": error("Invalid cash or user id."), "409": error("The user id exists.")},
            }},
            "/v1/orders": {
                "post": {
                    "summary": "Place an order (seed 000 6.1). The answer is the engine's decision.",
                    "parameters": [{"name": "X-Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"},
                        "description": "Same key and body: the first answer again. Same key, other body: 409."}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewOrder"}}}},
                    "responses": {
                        "202": ok("Accepted by the engine.", json!({"type": "object", "properties": {"orderId": {"type": "string"}, "status": {"const": "ACCEPTED"}, "clientOrderId": {"type": "string"}}})),
                        "400": error("Invalid schema, field, price or quantity grid, unknown symbol."),
                        "402": error("Insufficient funds."),
                        "403": error("A trading limit forbids it."),
                        "404": error("Unknown user."),
                        "409": error("Idempotency key reused with another body, or duplicate client order id."),
                        "422": error("Insufficient shares, or the market cannot take it (halted, post-only would cross, no liquidity)."),
                        "503": error("The order log or the engine cannot take the request now."),
                    },
                },
                "get": {
                    "summary": "List orders, newest first.",
                    "parameters": [
                        query_parameter("userId", "Only this user's orders."),
                        query_parameter("status", "ACCEPTED, PARTIALLY_FILLED, FILLED, CANCELLED, EXPIRED or OPEN."),
                        query_parameter("symbol", "Only this symbol."),
                        query_parameter("startDate", "ISO 8601; created at or after."),
                        query_parameter("endDate", "ISO 8601; created at or before."),
                        query_parameter("limit", "1 to 1000, default 100."),
                        query_parameter("pageToken", "pagination.nextPageToken of the previous page."),
                    ],
                    "responses": {"200": ok("A page of orders.", object.clone()), "400": error("A bad parameter.")},
                },
            },
            "/v1/orders/{order_id}": {
                "get": {"summary": "One order: status, filled quantity, average price, fills.", "parameters": [order_id.clone()],
                    "responses": {"200": ok("The order.", json!({"$ref": "#/components/schemas/Order"})), "400": error("Not an order id."), "404": error("Unknown order.")}},
                "patch": {"summary": "Replace: new total quantity and/or limit price. Reducing at the same price keeps priority.",
                    "parameters": [order_id.clone()],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
                        "quantity": decimal("New total quantity."), "limitPrice": decimal("New limit price."),
                    }}}}},
                    "responses": {"200": ok("The order after the change.", json!({"$ref": "#/components/schemas/Order"})), "400": error("Bad field."),
                        "402": error("Insufficient funds for the change."), "404": error("Unknown order."), "409": error("The order is not open.")}},
                "delete": {"summary": "Cancel.", "parameters": [order_id],
                    "responses": {"200": ok("Cancelled.", object.clone()), "404": error("Unknown order."), "409": error("The order is not open.")}},
            },
            "/v1/portfolio/{user_id}": {"get": {"summary": "Cash and holdings (seed 000 6.2) with reserved amounts.",
                "parameters": [path_parameter("user_id", "A user id.")],
                "responses": {"200": ok("The portfolio.", json!({"$ref": "#/components/schemas/Portfolio"})), "400": error("Not a user id."), "404": error("Unknown user.")}}},
            "/v1/portfolio/positions": {"get": {"summary": "Positions with FIFO cost basis, realised and unrealised P&L at the last trade price (read store).",
                "parameters": [user_id.clone()],
                "responses": {"200": ok("Cash, total value and positions.", object.clone()), "400": error("Missing or bad userId."), "404": error("Unknown user."), "503": error("No read store.")}}},
            "/v1/portfolio/performance": {"get": {"summary": "Time-weighted return, daily returns, volatility, Sharpe, Sortino and maximum drawdown (365-day annualisation, zero risk-free rate).",
                "parameters": [user_id.clone(), period.clone()],
                "responses": {"200": ok("Performance.", object.clone()), "400": error("Missing userId or bad period."), "404": error("Unknown user.")}}},
            "/v1/trades/search": {"get": {"summary": "Trade history (seed 000 6.3): executions and failed orders of one account, newest first.",
                "parameters": [
                    {"name": "userId", "in": "query", "required": true, "description": "The account.", "schema": {"type": "string"}},
                    query_parameter("symbol", "Only this symbol."), query_parameter("side", "BUY or SELL."),
                    query_parameter("status", "EXECUTED, FAILED_INSUFFICIENT_FUNDS, FAILED_INSUFFICIENT_SHARES or FAILED_OTHER."),
                    query_parameter("startDate", "ISO 8601 date or time, inclusive."), query_parameter("endDate", "ISO 8601 date (the whole day) or time, inclusive."),
                    query_parameter("q", "Words that must all appear in failureReason (full-text)."),
                    limit.clone(), page_token.clone(),
                ],
                "responses": {"200": ok("{trades, pagination: {nextPageToken, totalCount}}.", object.clone()), "400": error("Bad date, parameter or pageToken."), "500": error("The read store failed.")}}},
            "/v1/wallet/transactions": {"get": {"summary": "Cash statement: deposits, withdrawals, buys, sells and fees with the balance after each, newest first.",
                "parameters": [user_id.clone(), limit.clone(), page_token.clone()],
                "responses": {"200": ok("{transactions, pagination}.", object.clone()), "400": error("Missing userId or bad paging.")}}},
            "/v1/analytics/volume": {"get": {"summary": "Traded volume per symbol over a window (seed 000 6.4).",
                "parameters": [query_parameter("symbol", "Only this symbol."), time_window.clone()],
                "responses": {"200": ok("{data: [{symbol, volume, timeWindow}]}.", object.clone()), "400": error("Bad timeWindow or symbol.")}}},
            "/v1/analytics/metrics": {"get": {"summary": "Trade count, volume, notional and VWAP per symbol, for one window or all three.",
                "parameters": [query_parameter("symbol", "Only this symbol."), time_window],
                "responses": {"200": ok("{windows: [...]}.", object.clone()), "400": error("Bad timeWindow or symbol.")}}},
            "/v1/leaderboard": {"get": {"summary": "Accounts ranked by time-weighted return over the period, with Sharpe and maximum drawdown.",
                "parameters": [period, limit, page_token],
                "responses": {"200": ok("{period, entries, pagination}.", object.clone()), "400": error("Bad period or paging.")}}},
            "/v1/auth/register": {"post": {"summary": "Register: a trader with a funded paper account (100000), logged in.", "security": [],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["email", "password"], "properties": {
                    "email": {"type": "string"}, "password": {"type": "string", "minLength": 8}, "username": {"type": "string"}}}}}},
                "responses": {"201": ok("The user, an access token and a refresh token.", json!({"$ref": "#/components/schemas/Tokens"})), "400": error("Bad email or short password."), "409": error("Email registered.")}}},
            "/v1/auth/login": {"post": {"summary": "Log in with email and password. Five failures in 15 minutes lock the email for the rest of the window.", "security": [],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["email", "password"]}}}},
                "responses": {"200": ok("Tokens.", json!({"$ref": "#/components/schemas/Tokens"})), "401": error("Wrong email or password."), "429": error("Throttled; see Retry-After.")}}},
            "/v1/auth/refresh": {"post": {"summary": "Spend a refresh token for a new pair. A token used twice revokes the whole login.", "security": [],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["refreshToken"]}}}},
                "responses": {"200": ok("Tokens.", json!({"$ref": "#/components/schemas/Tokens"})), "401": error("Invalid, expired, revoked or reused token.")}}},
            "/v1/auth/logout": {"post": {"summary": "Revoke the login a refresh token belongs to.", "security": [],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["refreshToken"]}}}},
                "responses": {"204": {"description": "Logged out."}}}},
            "/v1/api-keys": {
                "post": {"summary": "Create an API key (scopes read, trade); the key is shown in this answer only.",
                    "responses": {"201": ok("The key.", object.clone()), "400": error("Bad scopes."), "401": error("No credentials.")}},
                "get": {"summary": "The caller's keys, without the secrets.", "responses": {"200": ok("Keys.", object.clone()), "401": error("No credentials.")}},
            },
            "/v1/api-keys/{key_id}": {"delete": {"summary": "Revoke one of the caller's keys.", "parameters": [path_parameter("key_id", "A key id.")],
                "responses": {"204": {"description": "Revoked."}, "404": error("No such live key.")}}},
            "/v1/users/{user_id}/role": {"put": {"summary": "Set a user's role: trader, viewer or admin (admins; audited).", "parameters": [path_parameter("user_id", "A user id.")],
                "responses": {"200": ok("The new role.", object.clone()), "400": error("Unknown role."), "403": error("Not an admin."), "404": error("Unknown user.")}}},
            "/v1/audit": {"get": {"summary": "The audit trail, newest first (admins).", "parameters": [query_parameter("subject", "e.g. user:42"), query_parameter("limit", "1 to 1000, default 100.")],
                "responses": {"200": ok("{entries}.", object.clone()), "403": error("Not an admin.")}}},
            "/v1/limits/{scope}/{id}": {
                "put": {"summary": "Set the trading limits of a user, group or organisation (admins; replaces them; audited). The tightest of an account's own, its group's and its organisation's applies. Unknown fields are refused.",
                    "parameters": [path_parameter("scope", "users, groups or organisations."), path_parameter("id", "The id.")],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Limits"}}}},
                    "responses": {"200": ok("The limits now in force.", object.clone()), "400": error("A bad limit (the field is named)."), "403": error("Not an admin."), "404": error("Unknown scope or user.")}},
                "get": {"summary": "The limits set for a scope (admins; a user may read their own).",
                    "parameters": [path_parameter("scope", "users, groups or organisations."), path_parameter("id", "The id.")],
                    "responses": {"200": ok("The limits.", object.clone()), "403": error("Not yours."), "404": error("Unknown user.")}},
            },
            "/v1/users/{user_id}/membership": {"put": {"summary": "Put an account in a group and an organisation (admins; audited).",
                "parameters": [path_parameter("user_id", "A user id.")],
                "responses": {"200": ok("The membership.", object.clone()), "403": error("Not an admin."), "404": error("Unknown user.")}}},
            "/v1/organisations": {"post": {"summary": "Create an organisation (admins).", "responses": {"201": ok("{organisationId, name}.", object.clone()), "403": error("Not an admin.")}}},
            "/v1/organisations/{org_id}": {"get": {"summary": "An organisation's groups and members (admins and its members).", "parameters": [path_parameter("org_id", "An organisation id.")],
                "responses": {"200": ok("The organisation.", object.clone()), "403": error("Not a member."), "404": error("Unknown organisation.")}}},
            "/v1/organisations/{org_id}/groups": {"post": {"summary": "Add a group (admins and the organisation's admins).", "parameters": [path_parameter("org_id", "An organisation id.")],
                "responses": {"201": ok("{groupId}.", object.clone()), "403": error("Not an organisation admin."), "404": error("Unknown organisation.")}}},
            "/v1/organisations/{org_id}/members/{user_id}": {
                "put": {"summary": "Add or change a member: role member or org_admin, optional group of the organisation. The organisation's and group's limits then apply to the member's account.",
                    "parameters": [path_parameter("org_id", "An organisation id."), path_parameter("user_id", "A user id.")],
                    "responses": {"200": ok("The membership.", object.clone()), "400": error("Bad role or group."), "403": error("Not an organisation admin."), "404": error("Unknown organisation or user.")}},
                "delete": {"summary": "Remove a member (its limits stop applying).", "parameters": [path_parameter("org_id", "An organisation id."), path_parameter("user_id", "A user id.")],
                    "responses": {"204": {"description": "Removed."}, "403": error("Not an organisation admin."), "404": error("Not a member.")}},
            },
            "/v1/me/export": {"get": {"summary": "Everything stored about the caller, as JSON: profile, organisation, keys (without secrets), webhooks, alerts, limits, orders, trades, statement, positions, audit trail (up to 10,000 rows of each, newest first).",
                "responses": {"200": ok("The export.", object.clone()), "401": error("No credentials.")}}},
            "/v1/me": {"delete": {"summary": "Delete the caller's account: confirm with {password}. Open orders are cancelled and trading disabled; the login, tokens, keys, webhooks and membership are removed; the trading history stays under the bare account id.",
                "responses": {"204": {"description": "Deleted."}, "401": error("Wrong password.")}}},
            "/v1/alerts": {"get": {"summary": "The caller's alerts (limit breaches), newest first; also pushed on WebSocket topic alerts:{userId} and POSTed to the caller's webhooks.",
                "parameters": [query_parameter("userId", "Default: the caller."), query_parameter("open", "true: unacknowledged only."), query_parameter("limit", "1 to 1000, default 100.")],
                "responses": {"200": ok("{alerts}.", object.clone()), "403": error("Not yours.")}}},
            "/v1/alerts/{alert_id}/acknowledge": {"post": {"summary": "Acknowledge one of the caller's alerts.", "parameters": [path_parameter("alert_id", "An alert id.")],
                "responses": {"200": ok("Acknowledged.", object.clone()), "404": error("No such alert of yours.")}}},
            "/v1/webhooks": {
                "post": {"summary": "Register a webhook: alerts are POSTed to it as JSON, retried with exponential backoff (1 s doubling to 1 h, 10 attempts) until a 2xx.",
                    "responses": {"201": ok("The webhook.", object.clone()), "400": error("Not an http(s) URL.")}},
                "get": {"summary": "The caller's webhooks.", "responses": {"200": ok("{webhooks}.", object.clone())}},
            },
            "/v1/webhooks/{webhook_id}": {"delete": {"summary": "Remove a webhook (its pending deliveries stop).", "parameters": [path_parameter("webhook_id", "A webhook id.")],
                "responses": {"204": {"description": "Removed."}, "404": error("No such webhook of yours.")}}},
            "/v1/market/symbols": {"get": {"summary": "Listed instruments.", "responses": {"200": ok("Instruments.", object.clone())}}},
            "/v1/market/{symbol}/orderbook": {"get": {"summary": "Aggregated depth.", "parameters": [symbol.clone(), query_parameter("depth", "1 to 100, default 10.")],
                "responses": {"200": ok("Bids and asks, best first.", object.clone()), "400": error("Bad symbol or depth."), "404": error("Unknown symbol.")}}},
            "/v1/market/{symbol}/ticker": {"get": {"summary": "Last, bid, ask and 24 h open/high/low/volume/change.", "parameters": [symbol.clone()],
                "responses": {"200": ok("The ticker.", object.clone()), "404": error("Unknown symbol.")}}},
            "/v1/market/{symbol}/trades": {"get": {"summary": "Recent trades, newest first.", "parameters": [symbol.clone(), query_parameter("limit", "1 to 1000, default 100.")],
                "responses": {"200": ok("Trades.", object.clone()), "400": error("Bad limit."), "404": error("Unknown symbol.")}}},
            "/v1/market/{symbol}/candles": {"get": {"summary": "OHLCV candles.", "parameters": [
                    symbol, query_parameter("interval", "1m, 5m, 15m, 1h or 1d (default 1m)."),
                    query_parameter("start", "ISO 8601."), query_parameter("end", "ISO 8601."), query_parameter("limit", "1 to 1500, default 500."),
                ],
                "responses": {"200": ok("Candles, oldest first.", object.clone()), "400": error("Bad interval or date."), "404": error("Unknown symbol.")}}},
        },
        "security": [{"bearer": []}, {"apiKey": []}],
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "Access token from /v1/auth/login (15 minutes)."},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "An API key from /v1/api-keys, or the operator's admin key."},
        }, "schemas": {
            "Limits": {"type": "object", "additionalProperties": false, "properties": {
                "tradingEnabled": {"type": "boolean"}, "maxOrderQuantity": decimal("Shares."), "maxOrderNotional": decimal("Cash."),
                "maxOpenOrders": {"type": "integer"}, "maxPosition": decimal("Shares of one symbol held plus open buys."),
                "maxGrossExposure": decimal("Value held or bid for, at last prices."), "maxDailyNotional": decimal("Traded per UTC day."),
                "maxDailyLoss": decimal("Past it, buys are refused until tomorrow."), "maxOrdersPerMinute": {"type": "integer"},
                "maxTradesPerDay": {"type": "integer"}, "allowedSymbols": {"type": "array", "items": {"type": "string"}},
                "blockedSymbols": {"type": "array", "items": {"type": "string"}},
                "allowedOrderTypes": {"type": "array", "items": {"enum": ["MARKET", "LIMIT", "STOP", "STOP_LIMIT", "TRAILING_STOP"]}},
                "tradingHours": {"type": "string", "description": "HH:MM-HH:MM UTC"}, "minSharePrice": decimal("Per share."),
                "maxSymbolSharePercent": decimal("Of the cash deposited, in one symbol."),
            }},
            "Tokens": {"type": "object", "properties": {"userId": {"type": "string"}, "role": {"type": "string"}, "accessToken": {"type": "string"},
                "refreshToken": {"type": "string"}, "tokenType": {"const": "Bearer"}, "expiresIn": {"type": "integer"}}},
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}},
            "Account": {"type": "object", "properties": {"userId": {"type": "string"}, "cashBalance": {"type": "string"}}},
            "NewOrder": {"type": "object", "required": ["userId", "symbol", "side"], "properties": {
                "userId": {"type": "string"}, "symbol": {"type": "string"}, "side": {"enum": ["BUY", "SELL"]},
                "type": {"enum": ["MARKET", "LIMIT", "STOP", "STOP_LIMIT", "TRAILING_STOP"], "default": "MARKET"},
                "quantity": decimal("Shares; or give notional for a market buy."), "notional": decimal("Cash to spend (market buys)."),
                "limitPrice": decimal("LIMIT, STOP_LIMIT."), "stopPrice": decimal("STOP, STOP_LIMIT."),
                "trailAmount": decimal("TRAILING_STOP, absolute."), "trailPercent": decimal("TRAILING_STOP, percent."),
                "timeInForce": {"enum": ["GTC", "DAY", "IOC", "FOK"], "default": "GTC"}, "postOnly": {"type": "boolean"},
                "clientOrderId": {"type": "string"}, "selfTradePrevention": {"enum": ["CANCEL_RESTING", "CANCEL_TAKING", "CANCEL_BOTH"]},
            }},
            "Order": {"type": "object", "properties": {
                "orderId": {"type": "string"}, "userId": {"type": "string"}, "symbol": {"type": "string"}, "side": {"type": "string"},
                "quantity": {"type": "string"}, "status": {"type": "string"}, "reason": {"type": ["string", "null"]},
                "filledQuantity": {"type": "string"}, "averagePrice": {"type": ["string", "null"]}, "fills": {"type": "array"},
                "createdAt": {"type": "string"}, "updatedAt": {"type": "string"},
            }},
            "Portfolio": {"type": "object", "properties": {
                "userId": {"type": "string"}, "cashBalance": {"type": "string"}, "availableCash": {"type": "string"},
                "reservedCash": {"type": "string"}, "holdings": {"type": "object"}, "reservedHoldings": {"type": "object"},
                "openOrders": {"type": "integer"}, "lastUpdatedTimestamp": {"type": "string"},
            }},
        }},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_exactly_the_operations() {
        let document = document();
        let paths = document["paths"].as_object().unwrap();
        let mut documented: Vec<(String, String)> =
            paths.iter().flat_map(|(path, operations)| operations.as_object().unwrap().keys().map(move |method| (method.clone(), path.clone()))).collect();
        documented.sort();
        let mut listed: Vec<(String, String)> = OPERATIONS.iter().map(|(method, path)| ((*method).to_owned(), (*path).to_owned())).collect();
        listed.sort();
        assert_eq!(documented, listed);
        for (path, operations) in paths {
            for (_, operation) in operations.as_object().unwrap() {
                assert!(operation["summary"].is_string());
                assert!(!operation["responses"].as_object().unwrap().is_empty());
                // Public operations say they need no credentials; the rest inherit them.
                assert_eq!(operation.get("security") == Some(&json!([])), crate::auth::public(path), "{path}");
            }
        }
        assert_eq!(document["security"], json!([{"bearer": []}, {"apiKey": []}]));
    }
}
