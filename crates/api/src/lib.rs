//! The HTTP API (axum). Only this crate knows JSON bodies and HTTP status codes.
//!
//! Orders and account requests become `trade_orders` commands; a handler appends its
//! command, waits for the engine's outcome of exactly that command, and answers from it,
//! so a 202 means the engine accepted the order and a 402 means it found no funds. Reads
//! go to the engine thread as queries or to the API's view of recent outcomes.

mod accounts;
pub mod alerts;
mod alpaca;
mod alpaca_account;
mod alpaca_data;
mod alpaca_feed;
mod alpaca_screener;
mod alpaca_stream;
mod alpaca_watchlists;
pub mod auth;
pub mod channels;
pub mod clock;
pub mod contests;
pub mod egress;
mod error;
mod extract;
mod history;
mod idempotency;
mod identity;
mod images;
mod invitations;
mod market;
mod metrics;
pub mod notifications;
pub use metrics::projector_router;
mod models;
pub mod openapi;
mod orders;
mod organisations;
mod privacy;
pub mod rate;
mod reads;
mod responses;
mod risk;
mod routes;
pub mod social;
mod view;
mod web;
pub mod ws;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use axum::Router;
use tokio::net::TcpListener;
use tradecraft_log::EventLog;
use tradecraft_sequencer::EngineHandle;

pub use error::ApiError;
pub use view::{ORDERS_KEPT, View};

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub log: Arc<dyn EventLog>,
    pub engine: EngineHandle,
    pub view: Arc<Mutex<View>>,
    /// Producer name of this gateway's commands (unique per process start).
    pub producer: Arc<str>,
    pub sequence: Arc<AtomicU64>,
    pub http_metrics: Arc<metrics::HttpMetrics>,
    /// Next request id, for requests that bring no `X-Request-Id`.
    pub request_ids: Arc<AtomicU64>,
    /// Everything WebSocket clients may subscribe to.
    pub pushes: ws::Pushes,
    pub ws_connections: Arc<AtomicU64>,
    /// The read store behind history, positions, analytics and the leaderboard.
    pub store: Option<tradecraft_store::Store>,
    pub projection_metrics: Option<Arc<tradecraft_store::ProjectionMetrics>>,
    pub auth: Arc<auth::AuthConfig>,
    /// Per-caller and per-IP request limits; none when `None`.
    pub rate_limiter: Option<Arc<rate::RateLimiter>>,
    /// Which hosts users' webhooks may name.
    pub webhook_targets: alerts::WebhookTargets,
    /// Where email goes out (password reset codes); none is sent without it.
    pub email: Option<channels::EmailConfig>,
    /// What this process serves besides health and metrics (its roles).
    pub surfaces: Surfaces,
    /// The built web app (`web/dist`), served at `/` with the REST API; none when `None`.
    pub web_dir: Option<Arc<std::path::Path>>,
    /// When the market trades: the universe's session (`/v2/clock` and `/v2/calendar`) and
    /// each symbol's (its next open and close on `/v1/market/symbols`).
    pub calendar: tradecraft_market::SessionCalendar,
    /// What the API's rules take as now (contest windows, posting limits).
    pub clock: clock::Clock,
    /// The engine here is a replica of one in another process (a gateway or WebSocket
    /// server of the multi-process deployment): each request first waits for it to apply
    /// what the log held when the request came ([`read_your_writes`]).
    pub replica: bool,
}

/// The parts of the API a process serves: the REST API (the gateway role), the market
/// data WebSocket (the ws role), or both. Health, metrics and the API's documents are
/// served by every process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Surfaces {
    pub rest: bool,
    pub websocket: bool,
}

impl Default for Surfaces {
    fn default() -> Self {
        Self { rest: true, websocket: true }
    }
}

/// Paths of the WebSocket surface.
const WEBSOCKET_PATHS: [&str; 6] = ["/v1/marketdata", "/v1/marketdata/websocket", "/stream", "/v2/iex", "/v2/sip", "/v2/test"];

impl std::fmt::Debug for AppState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("AppState").field("producer", &self.producer).finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(log: Arc<dyn EventLog>, engine: EngineHandle, view: Arc<Mutex<View>>, pushes: ws::Pushes, producer: String) -> Self {
        Self {
            log,
            engine,
            view,
            producer: producer.into(),
            sequence: Arc::new(AtomicU64::new(0)),
            http_metrics: Arc::new(metrics::HttpMetrics::default()),
            request_ids: Arc::new(AtomicU64::new(1)),
            pushes,
            ws_connections: Arc::new(AtomicU64::new(0)),
            store: None,
            projection_metrics: None,
            // A fresh secret: tokens do not outlive the process unless the caller sets one.
            auth: Arc::new(auth::AuthConfig::new(auth::random_token(32).into_bytes(), None)),
            rate_limiter: None,
            webhook_targets: alerts::WebhookTargets::Public,
            email: None,
            surfaces: Surfaces::default(),
            web_dir: None,
            calendar: tradecraft_market::SessionCalendar::default(),
            clock: clock::Clock::system(),
            replica: false,
        }
    }
}

/// What handlers get: the state behind one pointer, so the per-request clones that axum
/// makes (one per extractor and middleware) touch one reference count, not seventeen.
pub(crate) type Shared = Arc<AppState>;

/// Largest request body accepted (413 beyond).
pub(crate) const BODY_BYTES_MAX: usize = 64 * 1_024;
/// Largest WebSocket message a client may send (joins, subscriptions and heartbeats are
/// small): a larger one closes the socket (1009) before it is buffered whole.
pub(crate) const WS_MESSAGE_BYTES_MAX: usize = 64 * 1024;

/// The router with every route.
pub fn router(state: AppState) -> Router {
    router_of(Arc::new(state))
}

fn router_of(state: Shared) -> Router {
    let (router, _) = routes::api().split_for_parts();
    let router = router
        // Only on the routes: an unknown path or method is 404/405, key or not.
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::guard))
        // Outside the guard: it asks the replica whether an order spent the request's key.
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), read_your_writes))
        // Outside the guard: a refused request claims no key.
        .route_layer(axum::middleware::from_fn(extract::known_parameters))
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(axum::middleware::from_fn_with_state(state.clone(), recovery_gate))
        .layer(axum::middleware::from_fn_with_state(state.clone(), surface_gate))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_BYTES_MAX));
    error_layers(router).layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track)).with_state(state)
}

/// The layers that give every answer the API's error shape (the `/v2` and `/v1beta1`
/// routes Alpaca's), a panic's too: a bug that panics in a handler is a 500 (logged by the
/// panic hook), not a connection dropped without an answer.
fn error_layers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(axum::middleware::from_fn(oversized_body))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn(alpaca::alpaca_errors))
}

/// The most of an oversized body read (and dropped) before its 413 is sent.
const OVERSIZED_DRAIN_BYTES: u64 = 8 * 1_024 * 1_024;
/// How long reading it may take.
const OVERSIZED_DRAIN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A body declared (`Content-Length`) over [`BODY_BYTES_MAX`] is 413 before anything reads
/// it. Up to 8 MiB of it is read first, a frame at a time and dropped: a server that
/// answers and closes while the client is still sending leaves the client with a broken
/// connection instead of the answer (`IncompleteMessage` in Rust, `ConnectionResetError`
/// in Python). Beyond that, or slower than 5 s, the connection closes anyway.
async fn oversized_body(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    use futures_util::StreamExt;
    let declared = request.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    let Some(declared) = declared.filter(|length| *length > BODY_BYTES_MAX as u64) else { return next.run(request).await };
    if declared <= OVERSIZED_DRAIN_BYTES {
        let mut frames = request.into_body().into_data_stream();
        let _ = tokio::time::timeout(OVERSIZED_DRAIN_WAIT, async { while let Some(Ok(_)) = frames.next().await {} }).await;
    }
    ApiError::body_too_large().into_response()
}

/// A path no route has: the web app's file, or 404.
async fn fallback(axum::extract::State(state): axum::extract::State<Shared>, method: axum::http::Method, uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    match &state.web_dir {
        Some(root) if !web::is_api_path(uri.path()) => web::serve(root, &method, uri.path()).await,
        _ => ApiError::NotFound("route".to_owned()).into_response(),
    }
}

/// The longest a request waits for this process's replica to catch up with the log before
/// it is answered from what the replica has.
const CATCH_UP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Read your writes through any gateway: where the engine is a replica, a request first
/// waits until it has applied every command the log held when the request came, so what
/// another gateway answered (an order placed, cancelled, a deposit) is seen here too. A new
/// order needs no wait: it is answered from its own command's outcome, which comes later.
async fn read_your_writes(
    axum::extract::State(state): axum::extract::State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path();
    let places_an_order = request.method() == axum::http::Method::POST && matches!(path, "/v1/orders" | "/v2/orders");
    if state.replica && !places_an_order && !SERVED_WHILE_RECOVERING.contains(&path) {
        catch_up(&state).await;
    }
    next.run(request).await
}

async fn catch_up(state: &AppState) {
    use std::sync::atomic::Ordering;
    let log = Arc::clone(&state.log);
    let Ok(Ok(end)) = tokio::task::spawn_blocking(move || log.end_offset(tradecraft_sequencer::TRADE_ORDERS, 0)).await else { return };
    if end == 0 || state.engine.status().next_command.load(Ordering::SeqCst) >= end {
        return;
    }
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let reply = Box::new(move |_| {
        let _ = sender.send(());
    });
    if state.engine.request(tradecraft_sequencer::Request::Outcome { offset: end - 1, reply }).is_ok()
        && tokio::time::timeout(CATCH_UP_WAIT, receiver).await.is_err()
    {
        tracing::debug!(end, "the replica is behind the log: answering from what it has");
    }
}

/// Routes that answer while the engine replays the log: they say how far it has got.
const SERVED_WHILE_RECOVERING: [&str; 5] = ["/health/live", "/health/ready", "/metrics", "/openapi.json", "/docs"];

/// A path of a surface this process does not serve is 404, as an unknown route is.
async fn surface_gate(
    axum::extract::State(state): axum::extract::State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    let served = if SERVED_WHILE_RECOVERING.contains(&path) {
        true
    } else if !web::is_api_path(path) {
        // The web app comes with the REST API it calls.
        state.surfaces.rest
    } else if WEBSOCKET_PATHS.contains(&path) {
        state.surfaces.websocket
    } else {
        state.surfaces.rest
    };
    if !served {
        return ApiError::NotFound("route".to_owned()).into_response();
    }
    next.run(request).await
}

/// Refuses every other request with 503 `recovering` (and `Retry-After`) until the engine
/// has applied every command the log held when it opened: a replay's middle is never served.
async fn recovery_gate(
    axum::extract::State(state): axum::extract::State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let status = state.engine.status();
    // The web app's files are served meanwhile: it says the exchange is recovering.
    let path = request.uri().path();
    if !status.recovered.load(std::sync::atomic::Ordering::SeqCst) && !SERVED_WHILE_RECOVERING.contains(&path) && web::is_api_path(path) {
        if status.halted.load(std::sync::atomic::Ordering::SeqCst) {
            let failure = status.failure.lock().ok().and_then(|failure| failure.clone()).unwrap_or_default();
            return ApiError::Unavailable(format!("trading is stopped: {failure}")).into_response();
        }
        let applied = status.next_command.load(std::sync::atomic::Ordering::Relaxed);
        return ApiError::Recovering { applied, target: status.recovering_to.load(std::sync::atomic::Ordering::Relaxed) }.into_response();
    }
    next.run(request).await
}

/// A bound server, not yet serving (port 0 picks a free port).
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    router: Router,
    state: Shared,
}

impl App {
    pub async fn build(address: SocketAddr, state: AppState) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let state = Arc::new(state);
        Ok(Self { listener, router: router_of(Arc::clone(&state)), state })
    }

    /// Starts the contest schedule (start and end notifications, finalising) on this
    /// server's state.
    pub fn spawn_contest_schedule(&self, poll: std::time::Duration, stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(contests::run_schedule(Arc::clone(&self.state), poll, stop))
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until_stopped(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await
    }
}

#[cfg(test)]
mod tests {
    use axum::routing::get;

    /// A handler that panics is answered, in the error shape of its API, and the server goes
    /// on serving.
    #[tokio::test]
    async fn a_panicking_handler_is_a_json_500() {
        async fn panics() -> &'static str {
            panic!("a bug")
        }
        let app =
            super::error_layers(axum::Router::new().route("/v1/bug", get(panics)).route("/v2/bug", get(panics)).route("/v1/fine", get(|| async { "fine" })));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();
        let answer = |path: &'static str| {
            let request = client.get(format!("http://{address}{path}"));
            async move {
                let response = request.send().await.expect("an answer, not a dropped connection");
                (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap_or_default())
            }
        };
        let (status, native) = answer("/v1/bug").await;
        assert_eq!((status, native["error"]["code"].as_str()), (500, Some("internal")), "{native}");
        let (status, alpaca) = answer("/v2/bug").await;
        assert_eq!((status, alpaca["code"].as_u64()), (500, Some(50_010_000)), "{alpaca}");
        assert_eq!(client.get(format!("http://{address}/v1/fine")).send().await.unwrap().status().as_u16(), 200);
    }
}
