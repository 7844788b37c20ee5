//! `/metrics` in the Prometheus text format: requests, errors and durations per route
//! (recorded by a middleware), the engine thread's queue and batches, and the event log's
//! group commits and fsyncs.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Shared;

/// Upper bounds of the request-duration histogram, in seconds.
const BUCKETS_SECONDS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Default, Clone)]
struct RouteStats {
    count: u64,
    duration_seconds_total: f64,
    buckets: [u64; BUCKETS_SECONDS.len()],
}

/// Request statistics by route template, then (method, status): looked up by `&str`, so a
/// request allocates nothing here.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    routes: Mutex<BTreeMap<String, ByMethod>>,
}

/// Route, method and status.
type RouteKey<'route> = (&'route str, &'static str, u16);

/// A route's counters per (method, status).
type ByMethod = BTreeMap<(&'static str, u16), RouteStats>;

fn method_name(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

impl HttpMetrics {
    fn record(&self, route: &str, method: &'static str, status: u16, seconds: f64) {
        if let Ok(mut routes) = self.routes.lock() {
            if !routes.contains_key(route) {
                routes.insert(route.to_owned(), BTreeMap::new());
            }
            let Some(by_method) = routes.get_mut(route) else { return };
            let stats = by_method.entry((method, status)).or_default();
            stats.count += 1;
            stats.duration_seconds_total += seconds;
            for (bucket, bound) in stats.buckets.iter_mut().zip(BUCKETS_SECONDS) {
                if seconds <= bound {
                    *bucket += 1;
                }
            }
        }
    }
}

/// What a handler learnt that belongs in its request's log line.
#[derive(Debug, Default)]
pub(crate) struct LogFields {
    pub(crate) user_id: Option<u64>,
    pub(crate) order_id: Option<u64>,
    pub(crate) symbol: Option<String>,
    pub(crate) reason: Option<&'static str>,
}

tokio::task_local! {
    /// The W3C trace context of the request being handled (this gateway's span).
    static TRACE: tradecraft_log::TraceContext;
    static LOG_FIELDS: RefCell<LogFields>;
}

/// Notes fields for the current request's log line (nothing outside a request).
pub(crate) fn log_fields(note: impl FnOnce(&mut LogFields)) {
    let _ = LOG_FIELDS.try_with(|fields| note(&mut fields.borrow_mut()));
}

/// The trace context of the request being handled, for the commands it appends.
pub(crate) fn current_trace() -> Option<tradecraft_log::TraceContext> {
    TRACE.try_with(Clone::clone).ok()
}

/// This request's span in the caller's trace (a `traceparent` header), or in a new trace.
fn trace_of(request: &Request) -> tradecraft_log::TraceContext {
    let incoming =
        request.headers().get("traceparent").and_then(|value| value.to_str().ok()).filter(|text| tradecraft_log::TraceContext::is_valid_traceparent(text));
    let span = format!("{:016x}", rand::random::<u64>().max(1));
    let traceparent = match incoming {
        Some(parent) => {
            let fields: Vec<&str> = parent.split('-').collect();
            format!("00-{}-{span}-{}", fields[1], fields[3])
        }
        None => format!("00-{:032x}-{span}-01", rand::random::<u128>().max(1)),
    };
    let tracestate = request.headers().get("tracestate").and_then(|value| value.to_str().ok()).filter(|_| incoming.is_some()).map(str::to_owned);
    tradecraft_log::TraceContext { traceparent, tracestate }
}

/// Middleware: gives every request an id and a log span, logs its outcome as one JSON
/// line, and times it under its route template (not its concrete path, so ids do not
/// explode the label space).
pub(crate) async fn track(State(state): State<Shared>, request: Request, next: Next) -> Response {
    use tracing::Instrument;
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let method = request.method().clone();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .map_or_else(|| state.request_ids.fetch_add(1, Ordering::Relaxed).to_string(), str::to_owned);
    // Handlers note what they learn (`log_fields`), and the request makes one log line
    // with everything, emitted here. Logs written while it runs carry its id by the span.
    let trace = trace_of(&request);
    let span = tracing::info_span!("request", request_id = %request_id, traceparent = %trace.traceparent);
    let started = Instant::now();
    let traceparent = trace.traceparent.clone();
    let (mut response, fields) = TRACE
        .scope(
            trace,
            LOG_FIELDS.scope(RefCell::new(LogFields::default()), async move {
                let response = next.run(request).instrument(span).await;
                (response, LOG_FIELDS.with(|fields| std::mem::take(&mut *fields.borrow_mut())))
            }),
        )
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    tracing::info!(
        request_id = %request_id,
        method = %method,
        route = %route,
        status,
        duration_ms = seconds * 1_000.0,
        user_id = fields.user_id,
        order_id = fields.order_id,
        symbol = fields.symbol.as_deref(),
        reason = fields.reason,
        "request done"
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    if let Ok(value) = axum::http::HeaderValue::from_str(&traceparent) {
        response.headers_mut().insert("traceparent", value);
    }
    state.http_metrics.record(route, method_name(&method), status, seconds);
    response
}

fn line(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Prometheus metrics: requests per route, method and status with latency histograms, the
/// engine's queue and batches, the log's fsyncs, projection lag, WebSocket connections.
#[utoipa::path(get, path = "/metrics", tag = "meta", security(()),
    responses((status = 200, description = "Prometheus text format.", content_type = "text/plain", body = String)))]
pub(crate) async fn render(State(state): State<Shared>) -> Response {
    let mut out = String::new();
    if let Ok(by_route) = state.http_metrics.routes.lock() {
        let routes: Vec<(RouteKey<'_>, &RouteStats)> = by_route
            .iter()
            .flat_map(|(route, by_method)| by_method.iter().map(move |((method, status), stats)| ((route.as_str(), *method, *status), stats)))
            .collect();
        line(&mut out, "tradecraft_http_requests_total", "HTTP requests by route, method and status.", "counter");
        for ((route, method, status), stats) in routes.iter() {
            let _ = writeln!(out, "tradecraft_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {}", stats.count);
        }
        line(&mut out, "tradecraft_http_errors_total", "HTTP responses with a 4xx or 5xx status.", "counter");
        let mut errors: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        for ((route, method, status), stats) in routes.iter() {
            if *status >= 400 {
                *errors.entry((*route, *method)).or_default() += stats.count;
            }
        }
        for ((route, method), count) in errors {
            let _ = writeln!(out, "tradecraft_http_errors_total{{route=\"{route}\",method=\"{method}\"}} {count}");
        }
        line(&mut out, "tradecraft_http_request_duration_seconds", "HTTP request durations.", "histogram");
        let mut merged: BTreeMap<(&str, &str), RouteStats> = BTreeMap::new();
        for ((route, method, _), stats) in routes.iter() {
            let entry = merged.entry((*route, *method)).or_default();
            entry.count += stats.count;
            entry.duration_seconds_total += stats.duration_seconds_total;
            for (total, bucket) in entry.buckets.iter_mut().zip(stats.buckets) {
                *total += bucket;
            }
        }
        for ((route, method), stats) in merged {
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            for (bound, count) in BUCKETS_SECONDS.iter().zip(stats.buckets) {
                let _ = writeln!(out, "tradecraft_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(out, "tradecraft_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", stats.count);
            let _ = writeln!(out, "tradecraft_http_request_duration_seconds_sum{{{labels}}} {}", stats.duration_seconds_total);
            let _ = writeln!(out, "tradecraft_http_request_duration_seconds_count{{{labels}}} {}", stats.count);
        }
    }
    let status = state.engine.status();
    let pushes = state.pushes.counts();
    let gauges = [
        ("tradecraft_engine_queue_depth", "Requests waiting for the engine thread.", "gauge", status.queue_depth.load(Ordering::Relaxed)),
        ("tradecraft_engine_next_command_offset", "Offset of the next command the engine applies.", "gauge", status.next_command.load(Ordering::Relaxed)),
        ("tradecraft_engine_commands_total", "Commands applied.", "counter", status.commands_applied.load(Ordering::Relaxed)),
        ("tradecraft_engine_batches_total", "Batches of commands applied.", "counter", status.batches.load(Ordering::Relaxed)),
        ("tradecraft_engine_recoveries_total", "Times the engine reopened after a failure.", "counter", status.recoveries.load(Ordering::Relaxed)),
        ("tradecraft_websocket_connections", "Open WebSocket connections.", "gauge", state.ws_connections.load(Ordering::Relaxed)),
        ("tradecraft_websocket_pushes_queued_total", "Pushes queued for WebSocket sessions.", "counter", pushes.queued),
        (
            "tradecraft_websocket_pushes_skipped_total",
            "Pushes a session missed because it was a whole queue behind (its client reads too slowly).",
            "counter",
            pushes.skipped,
        ),
        ("tradecraft_websocket_stalled_closed_total", "WebSocket sessions closed because the client stopped taking frames.", "counter", pushes.stalled),
    ];
    for (name, help, kind, value) in gauges {
        line(&mut out, name, help, kind);
        let _ = writeln!(out, "{name} {value}");
    }
    line(&mut out, "tradecraft_engine_batch_seconds_total", "Time spent applying batches (with their output appends).", "counter");
    let _ = writeln!(out, "tradecraft_engine_batch_seconds_total {}", status.batch_nanos_total.load(Ordering::Relaxed) as f64 / 1e9);
    if let Some(metrics) = state.log.metrics() {
        let counters = [
            ("tradecraft_log_group_commits_total", "Group commits (fsync rounds) of the event log.", metrics.batches),
            ("tradecraft_log_append_requests_total", "Append requests committed.", metrics.requests),
            ("tradecraft_log_records_total", "Records committed.", metrics.records),
            ("tradecraft_log_fsyncs_total", "fsync calls.", metrics.fsyncs),
            ("tradecraft_log_segments_deleted_total", "Segments removed by retention.", metrics.segments_deleted),
        ];
        for (name, help, value) in counters {
            line(&mut out, name, help, "counter");
            let _ = writeln!(out, "{name} {value}");
        }
        line(&mut out, "tradecraft_log_fsync_seconds_total", "Time spent in fsync rounds.", "counter");
        let _ = writeln!(out, "tradecraft_log_fsync_seconds_total {}", metrics.fsync_nanos_total as f64 / 1e9);
    }
    if let Some(projection) = &state.projection_metrics {
        render_projection(&mut out, projection);
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// The projector's counters and its lag per partition, in Prometheus text.
pub(crate) fn render_projection(out: &mut String, projection: &tradecraft_store::ProjectionMetrics) {
    let counters = [
        ("tradecraft_projection_records_total", "Log records applied to the read store.", projection.records.load(Ordering::Relaxed)),
        ("tradecraft_projection_transactions_total", "Read-store transactions committed by the projector.", projection.transactions.load(Ordering::Relaxed)),
        ("tradecraft_projection_errors_total", "Projector polls that failed (and were retried).", projection.errors.load(Ordering::Relaxed)),
    ];
    for (name, help, value) in counters {
        line(out, name, help, "counter");
        let _ = writeln!(out, "{name} {value}");
    }
    line(out, "tradecraft_projection_lag_records", "Records in the log not yet applied to the read store.", "gauge");
    for lag in projection.lag() {
        let _ = writeln!(
            out,
            "tradecraft_projection_lag_records{{topic=\"{}\",partition=\"{}\"}} {}",
            lag.topic,
            lag.partition,
            lag.end.saturating_sub(lag.applied)
        );
    }
}

/// What a process that only projects serves: liveness and its metrics (it has no engine,
/// so none of the API).
pub fn projector_router(projection: std::sync::Arc<tradecraft_store::ProjectionMetrics>) -> axum::Router {
    axum::Router::new().route("/health/live", axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "ok"})) })).route(
        "/metrics",
        axum::routing::get(move || {
            let projection = std::sync::Arc::clone(&projection);
            async move {
                let mut out = String::new();
                render_projection(&mut out, &projection);
                ([(CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
            }
        }),
    )
}
