//! Routes under `/v1` and `/health`, mirroring the URL paths.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tradecraft_engine::{Engine, Event};
use tradecraft_sequencer::wire::WireCommand;
use tradecraft_sequencer::{CommandOutcome, Request, RuntimeError, Sender, submit_then};
use tradecraft_types::{AccountId, Money, Symbol, Timestamp};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{MaybeCaller, require_admin};
use crate::extract::{Body, field_error, from_object, parse_unsigned};
use crate::models::CreateAccountRequest;
use crate::responses::{AccountCreated, Dependency, ErrorBody, Live, Ready, ReadyDependencies};
use crate::{
    ApiError, AppState, Shared, alerts, alpaca, alpaca_account, alpaca_data, alpaca_feed, alpaca_stream, alpaca_watchlists, identity, invitations, market,
    orders, organisations, privacy, reads, risk,
};

/// Longest wait for the engine to apply a command or answer a query.
const ENGINE_TIMEOUT: Duration = Duration::from_secs(5);
/// Cash of a new paper account unless the request says otherwise.
/// Cash a new paper account starts with unless told otherwise.
pub(crate) const STARTING_CASH: &str = "100000";

/// Every documented route, with its part of the OpenAPI document.
pub(crate) fn api() -> OpenApiRouter<Shared> {
    OpenApiRouter::with_openapi(crate::openapi::base())
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(openapi))
        .routes(routes!(crate::openapi::docs))
        .routes(routes!(crate::metrics::render))
        .routes(routes!(crate::ws::upgrade))
        .routes(routes!(crate::ws::upgrade_websocket))
        .routes(routes!(create_account))
        .routes(routes!(crate::accounts::list, crate::accounts::create))
        .routes(routes!(crate::accounts::reset))
        .routes(routes!(crate::contests::create, crate::contests::list))
        .routes(routes!(crate::contests::get))
        .routes(routes!(crate::contests::join))
        .routes(routes!(crate::contests::leaderboard))
        .routes(routes!(crate::notifications::list))
        .routes(routes!(crate::notifications::read_one))
        .routes(routes!(crate::notifications::read_all))
        .routes(routes!(crate::notifications::create, crate::notifications::list_price_alerts))
        .routes(routes!(crate::notifications::delete_price_alert))
        .routes(routes!(crate::channels::get_preferences, crate::channels::put_preferences))
        .routes(routes!(crate::social::profile))
        .routes(routes!(crate::social::put_profile))
        .routes(routes!(crate::social::put_avatar, crate::social::delete_avatar))
        .routes(routes!(crate::social::avatar))
        .routes(routes!(crate::social::follow, crate::social::unfollow))
        .routes(routes!(crate::social::followers))
        .routes(routes!(crate::social::following))
        .routes(routes!(crate::social::user_shares))
        .routes(routes!(crate::social::share_trade))
        .routes(routes!(crate::social::share_order))
        .routes(routes!(crate::social::get_share, crate::social::delete_share))
        .routes(routes!(crate::social::like, crate::social::unlike))
        .routes(routes!(crate::social::comment))
        .routes(routes!(crate::social::comments))
        .routes(routes!(crate::social::delete_comment))
        .routes(routes!(crate::social::report_share))
        .routes(routes!(crate::social::report_comment))
        .routes(routes!(crate::social::reports))
        .routes(routes!(crate::social::hide_share))
        .routes(routes!(crate::social::hide_comment))
        .routes(routes!(crate::social::feed))
        .routes(routes!(orders::place_order, orders::list_orders))
        .routes(routes!(orders::get_order, orders::cancel_order, orders::replace_order))
        .routes(routes!(orders::portfolio))
        .routes(routes!(reads::positions))
        .routes(routes!(reads::performance))
        .routes(routes!(reads::search_trades))
        .routes(routes!(reads::wallet))
        .routes(routes!(reads::volume))
        .routes(routes!(reads::metrics))
        .routes(routes!(reads::leaderboard))
        .routes(routes!(identity::register))
        .routes(routes!(identity::login))
        .routes(routes!(identity::refresh))
        .routes(routes!(identity::logout))
        .routes(routes!(identity::change_password))
        .routes(routes!(identity::forgot_password))
        .routes(routes!(identity::reset_password))
        .routes(routes!(identity::create_api_key, identity::list_api_keys))
        .routes(routes!(identity::revoke_api_key))
        .routes(routes!(identity::list_users))
        .routes(routes!(identity::set_role))
        .routes(routes!(identity::issue_reset_code))
        .routes(routes!(identity::audit_trail))
        .routes(routes!(risk::get_limits, risk::put_limits))
        .routes(routes!(risk::put_membership))
        .routes(routes!(organisations::create, organisations::list))
        .routes(routes!(organisations::get))
        .routes(routes!(organisations::create_group))
        .routes(routes!(organisations::put_member, organisations::remove_member))
        .routes(routes!(invitations::invite, invitations::of_organisation))
        .routes(routes!(invitations::revoke))
        .routes(routes!(invitations::mine))
        .routes(routes!(invitations::accept))
        .routes(routes!(invitations::decline))
        .routes(routes!(privacy::export))
        .routes(routes!(privacy::delete))
        .routes(routes!(alerts::list))
        .routes(routes!(alerts::acknowledge))
        .routes(routes!(alerts::create_webhook, alerts::list_webhooks))
        .routes(routes!(alerts::delete_webhook))
        .routes(routes!(market::symbols))
        .routes(routes!(market::orderbook))
        .routes(routes!(market::ticker))
        .routes(routes!(market::trades))
        .routes(routes!(market::candles))
        .routes(routes!(market::halt_or_resume))
        // The Alpaca-compatible API (`/v2`).
        .routes(routes!(alpaca::account))
        .routes(routes!(alpaca::place_order, alpaca::list_orders, alpaca::cancel_all))
        .routes(routes!(alpaca::get_order, alpaca::cancel_order, alpaca::replace_order))
        .routes(routes!(alpaca::order_by_client_id))
        .routes(routes!(alpaca::positions, alpaca::close_all))
        .routes(routes!(alpaca::position, alpaca::close_position))
        .routes(routes!(alpaca::assets))
        .routes(routes!(alpaca::asset))
        .routes(routes!(alpaca::clock))
        .routes(routes!(alpaca::calendar))
        .routes(routes!(alpaca_stream::upgrade))
        .routes(routes!(alpaca_stream::events))
        .routes(routes!(alpaca_feed::upgrade))
        .routes(routes!(alpaca_watchlists::list, alpaca_watchlists::create))
        .routes(routes!(alpaca_watchlists::get, alpaca_watchlists::replace, alpaca_watchlists::add, alpaca_watchlists::delete))
        .routes(routes!(alpaca_watchlists::remove_symbol))
        .routes(routes!(alpaca_watchlists::get_by_name, alpaca_watchlists::replace_by_name, alpaca_watchlists::add_by_name, alpaca_watchlists::delete_by_name))
        .routes(routes!(alpaca_account::activities))
        .routes(routes!(alpaca_account::activities_of))
        .routes(routes!(alpaca_account::portfolio_history))
        .routes(routes!(alpaca_account::get_configurations, alpaca_account::patch_configurations))
        .routes(routes!(alpaca_data::bars))
        .routes(routes!(alpaca_data::trades))
        .routes(routes!(alpaca_data::quotes))
        .routes(routes!(alpaca_data::latest_trades))
        .routes(routes!(alpaca_data::latest_quotes))
        .routes(routes!(alpaca_data::latest_bars))
        .routes(routes!(alpaca_data::snapshots))
        .routes(routes!(alpaca_data::snapshot_one))
        .routes(routes!(alpaca_data::bars_one))
        .routes(routes!(alpaca_data::trades_one))
        .routes(routes!(alpaca_data::quotes_one))
        .routes(routes!(alpaca_data::latest_trade_one))
        .routes(routes!(alpaca_data::latest_quote_one))
        .routes(routes!(alpaca_data::latest_bar_one))
        .routes(routes!(crate::alpaca_screener::most_actives))
        .routes(routes!(crate::alpaca_screener::market_movers))
}

pub(crate) fn now() -> Timestamp {
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as i64);
    Timestamp::from_millis(millis)
}

fn engine_error(error: RuntimeError) -> ApiError {
    ApiError::Unavailable(error.to_string())
}

/// Runs `question` on the engine thread and returns its answer.
pub(crate) async fn query<T: Send + 'static>(state: &AppState, question: impl FnOnce(&Engine) -> T + Send + 'static) -> Result<T, ApiError> {
    let (sender, receiver) = oneshot::channel();
    state
        .engine
        .request(Request::Query(Box::new(move |engine| {
            let _ = sender.send(question(engine));
        })))
        .map_err(engine_error)?;
    tokio::time::timeout(ENGINE_TIMEOUT, receiver)
        .await
        .map_err(|_| ApiError::Unavailable("the engine did not answer in time".to_owned()))?
        .map_err(|_| ApiError::Unavailable("the engine stopped".to_owned()))
}

/// Appends a command and waits for the engine's outcome of it.
pub(crate) async fn execute(state: &AppState, command: WireCommand) -> Result<CommandOutcome, ApiError> {
    let sequence = state.sequence.fetch_add(1, Ordering::Relaxed);
    let (appended_sender, appended) = oneshot::channel();
    let done = Box::new(move |result| {
        let _ = appended_sender.send(result);
    });
    // A keyed request's commands name its key: the engine remembers it once one takes effect.
    let idempotency_key = crate::idempotency::current().map(|claim| crate::orders::scoped_key(&claim.scope, &claim.key));
    let sender = Sender { trace: crate::metrics::current_trace(), idempotency_key };
    submit_then(state.log.as_ref(), &command, &state.producer, sequence, now(), sender, done);
    let offset = appended
        .await
        .map_err(|_| ApiError::Unavailable("the order log stopped".to_owned()))?
        .map_err(|error| ApiError::Unavailable(format!("the order log cannot take the write: {error}")))?;
    crash_after_append(&command);
    let (sender, receiver) = oneshot::channel();
    let reply = Box::new(move |outcome| {
        let _ = sender.send(outcome);
    });
    state.engine.request(Request::Outcome { offset, reply }).map_err(engine_error)?;
    tokio::time::timeout(ENGINE_TIMEOUT, receiver)
        .await
        .map_err(|_| ApiError::Unavailable("the engine did not answer in time".to_owned()))?
        .map_err(|_| ApiError::Unavailable("the engine stopped".to_owned()))?
        .map_err(ApiError::Internal)
}

/// Fault injection for the crash tests: with `TRADECRAFT_FAULT_CRASH_AFTER_APPEND=KEY` in
/// the environment, the process dies (as kill -9 would) once the request with idempotency
/// key `KEY` took effect (an order durable in the log, another request's writes committed)
/// and before anyone answers it.
pub(crate) fn crash_if_faulted(key: &str) {
    static FAULT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    die_if(&FAULT, "TRADECRAFT_FAULT_CRASH_AFTER_APPEND", key);
}

/// With `TRADECRAFT_FAULT_CRASH_AFTER_COMMAND=KEY`, the process dies once the first engine
/// command of the keyed request `KEY` (not an order) is durable, before its outcome is read
/// and before anything else of the request is written.
fn crash_after_command(key: &str) {
    static FAULT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    die_if(&FAULT, "TRADECRAFT_FAULT_CRASH_AFTER_COMMAND", key);
}

fn die_if(fault: &std::sync::OnceLock<Option<String>>, variable: &str, key: &str) {
    let Some(fault) = fault.get_or_init(|| std::env::var(variable).ok().filter(|key| !key.is_empty())) else { return };
    if fault == key {
        tracing::error!(key = %key, variable, "fault injection: dying after the request took effect, before the answer");
        std::process::abort();
    }
}

fn crash_after_append(command: &WireCommand) {
    if let WireCommand::PlaceOrder(order) = command
        && let Some((_, own)) = order.idempotency_key.as_deref().and_then(|scoped| scoped.rsplit_once(':'))
    {
        crash_if_faulted(own);
    } else if let Some(claim) = crate::idempotency::current() {
        crash_after_command(&claim.key);
    }
}

/// Appends a command given as wire JSON and waits for its outcome; an engine rejection
/// becomes the API's error for it.
pub(crate) async fn run_command(state: &AppState, body: Value) -> Result<CommandOutcome, ApiError> {
    let outcome = execute(state, wire_command(body)?).await?;
    match first_rejection(events(&outcome)?) {
        Some(rejection) => Err(rejection),
        None => Ok(outcome),
    }
}

pub(crate) fn events(outcome: &CommandOutcome) -> Result<&[Event], ApiError> {
    outcome.result.as_deref().map_err(|message| ApiError::bad_request("invalid_command", message.clone()))
}

pub(crate) fn first_rejection(events: &[Event]) -> Option<ApiError> {
    events.iter().find_map(|event| match event {
        Event::OrderRejected { reason, .. } | Event::CommandRejected { reason, .. } => Some(ApiError::from_reject(*reason)),
        _ => None,
    })
}

pub(crate) fn wire_command(body: Value) -> Result<WireCommand, ApiError> {
    let command: WireCommand = serde_json::from_value(body).map_err(|error| ApiError::bad_request("invalid_field", error.to_string()))?;
    checked(command)
}

/// `command` if the engine could read it (400 naming the field otherwise).
pub(crate) fn checked(command: WireCommand) -> Result<WireCommand, ApiError> {
    command.to_command(0).map_err(|error| ApiError::BadRequest {
        code: "invalid_field",
        message: error.to_string(),
        details: json!({"field": error.field}),
    })?;
    Ok(command)
}

/// This document (OpenAPI 3.1), derived from the request and response types and the
/// router.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", security(()), responses((status = 200, description = "The OpenAPI document.", body = Object)))]
async fn openapi() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "health", security(()), responses((status = 200, description = "Alive.", body = Live)))]
async fn live() -> Json<Live> {
    Json(Live { status: "ok".to_owned() })
}

/// Whether the engine, the event log and the read store are usable, with the read
/// store's lag.
#[utoipa::path(get, path = "/health/ready", tag = "health", security(()), responses(
    (status = 200, description = "Ready; the state of each dependency.", body = Ready),
    (status = 503, description = "Recovering (the engine is replaying the log) or degraded; the state of each dependency. Retry-After says when to ask again.", body = Ready),
))]
async fn ready(State(state): State<Shared>) -> Response {
    let status = state.engine.status();
    let failure = status.failure.lock().ok().and_then(|failure| failure.clone());
    let log = match state.log.end_offset(tradecraft_sequencer::TRADE_ORDERS, 0) {
        Ok(end) => Dependency { status: "up".to_owned(), commands: Some(end), ..Dependency::default() },
        Err(error) => Dependency { status: "down".to_owned(), error: Some(error.to_string()), ..Dependency::default() },
    };
    let recovered = status.recovered.load(Ordering::SeqCst);
    let next_command = Some(status.next_command.load(Ordering::Relaxed));
    let engine = match &failure {
        None if recovered => Dependency { status: "up".to_owned(), next_command, ..Dependency::default() },
        None => Dependency {
            status: "recovering".to_owned(),
            next_command,
            recovering_to: Some(status.recovering_to.load(Ordering::Relaxed)),
            ..Dependency::default()
        },
        // Damage stops the engine until an operator repairs the data; other failures are retried.
        Some(error) if status.halted.load(Ordering::SeqCst) => {
            Dependency { status: "failed".to_owned(), error: Some(error.clone()), next_command, ..Dependency::default() }
        }
        Some(error) => Dependency { status: "recovering".to_owned(), error: Some(error.clone()), next_command, ..Dependency::default() },
    };
    let mut healthy = failure.is_none() && recovered && log.status == "up";
    let mut read_store = None;
    if state.store.is_some() {
        // The read store answers a trivial query, and says how far behind the log it is.
        let answered = reads::ask_now(&state, |store| store.backend().query("SELECT 1", &[])).await;
        let lag: u64 = state.projection_metrics.as_ref().map_or(0, |metrics| metrics.lag().iter().map(|lag| lag.end.saturating_sub(lag.applied)).sum());
        read_store = Some(match answered {
            Ok(_) => Dependency {
                status: "up".to_owned(),
                dialect: state.store.as_ref().map(|store| store.dialect().name().to_owned()),
                lag_records: Some(lag),
                ..Dependency::default()
            },
            Err(error) => {
                healthy = false;
                Dependency { status: "down".to_owned(), error: Some(error.to_string()), ..Dependency::default() }
            }
        });
    }
    let code = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let word = if healthy {
        "ready"
    } else if engine.status == "recovering" {
        "recovering"
    } else {
        "degraded"
    };
    let answer = Ready { status: word.to_owned(), dependencies: ReadyDependencies { log, engine, read_store } };
    let mut response = (code, Json(answer)).into_response();
    if !healthy {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
    }
    response
}

/// Create a paper account with starting cash (admins; users register instead).
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = CreateAccountRequest, responses(
    (status = 201, description = "Created.", body = AccountCreated),
    (status = 400, description = "Bad cash or user id.", body = ErrorBody),
    (status = 409, description = "The user id exists.", body = ErrorBody),
))]
async fn create_account(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>, Body(body): Body<Value>) -> Result<Response, ApiError> {
    require_admin(&caller)?;
    let request: CreateAccountRequest = from_object(body)?;
    let cash = request.cash.map_or_else(|| STARTING_CASH.to_owned(), |cash| cash.0);
    let amount = Money::parse(&cash).map_err(|error| field_error("cash", error))?;
    if amount.raw() < 0 || !amount.is_whole_cents() {
        return Err(field_error("cash", "a non-negative amount in cents"));
    }
    // Ids from 2^48 up name users' extra paper accounts (see `auth::owner_of`).
    if request.user_id.is_some_and(|id| id.0 >> crate::auth::ACCOUNT_OWNER_BITS != 0) {
        return Err(field_error("userId", "below 2^48 (higher ids are users' extra paper accounts)"));
    }
    let account = open_account(&state, request.user_id.map(|id| id.to_string()), &cash, amount).await?;
    Ok((StatusCode::CREATED, Json(AccountCreated { user_id: account.to_string(), cash_balance: amount.to_string() })).into_response())
}

/// Creates an engine account (id assigned by the log unless given) with `cash` deposited in
/// the same engine command: a server dying at any point leaves no account open unfunded.
pub(crate) async fn open_account(state: &AppState, user_id: Option<String>, cash: &str, amount: Money) -> Result<AccountId, ApiError> {
    let mut command = json!({"command": "createAccount", "userId": user_id});
    if amount.is_positive() {
        command["cash"] = json!(cash);
    }
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        match run_command(state, command.clone()).await {
            // The log's offset named an account an operator had opened under that id: the
            // next command has another offset.
            Err(ApiError::Rejected { code: "account_exists", .. }) if user_id.is_none() && attempts < 3 => {}
            other => break other?,
        }
    };
    events(&outcome)?
        .iter()
        .find_map(|event| match event {
            Event::AccountCreated { account, .. } => Some(*account),
            _ => None,
        })
        .ok_or_else(|| ApiError::Internal("account creation produced no account".to_owned()))
}

/// An id given as a path or query parameter (`orderId`, `userId`, a numeric `pageToken`):
/// a 400 `invalid_parameter` naming it, as every other bad parameter is.
pub(crate) fn parse_id(parameter: &str, text: &str) -> Result<u64, ApiError> {
    parse_unsigned(text)
        .ok_or_else(|| ApiError::bad_parameter(parameter, format!("{parameter} {text:?} is not an id (a decimal integer without sign or leading zeros)")))
}

/// A symbol given as a path or query parameter: 400 `invalid_parameter` naming `symbol`
/// when it is not one.
pub(crate) fn parse_symbol(text: &str) -> Result<Symbol, ApiError> {
    Symbol::new(text).map_err(|error| ApiError::bad_parameter("symbol", error.to_string()))
}

/// An optional text parameter of at most `max` characters without control characters.
pub(crate) fn short_text<'a>(name: &str, text: Option<&'a str>, max: usize) -> Result<Option<&'a str>, ApiError> {
    if let Some(text) = text {
        crate::extract::check_text(text, max).map_err(|message| ApiError::bad_parameter(name, format!("{name}: {message}")))?;
    }
    Ok(text)
}

/// An optional ISO 8601 time parameter.
pub(crate) fn parse_time(name: &str, text: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    text.map(|text| Timestamp::parse(text).map_err(|_| ApiError::bad_parameter(name, format!("{name} must be an ISO 8601 date or time, not {text:?}"))))
        .transpose()
}

/// The parameters of an admin's list found by text and read page by page: `q` (what the
/// names hold), `limit` (1 to 200, default 50) and `pageToken` (the id the page goes on
/// after).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TextSearch {
    /// Only those whose name holds this text (a user's email or username), letter case aside.
    #[param(value_type = Option<String>, max_length = 100)]
    q: Option<String>,
    /// 1 to 200, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `pagination.nextPageToken` of the previous page.
    #[param(value_type = Option<String>, pattern = "^(0|[1-9][0-9]{0,18})$")]
    page_token: Option<String>,
}

impl TextSearch {
    /// The text (trimmed; none if blank), the page's size and the id it goes on after.
    pub(crate) fn read(&self) -> Result<(Option<String>, usize, Option<u64>), ApiError> {
        let limit = bounded(self.limit.as_deref(), 50, 200, "limit")?;
        let text = short_text("q", self.q.as_deref(), 100)?.map(str::trim).filter(|text| !text.is_empty()).map(str::to_owned);
        let after = self.page_token.as_deref().map(|token| parse_id("pageToken", token)).transpose()?;
        Ok((text, limit, after))
    }
}

/// Cuts `rows`, read one over `limit`, to the page, and gives the next page's token (the
/// id of the page's last row) if there is more.
pub(crate) fn cut_page<T>(rows: &mut Vec<T>, limit: usize, id: impl Fn(&T) -> u64) -> Option<String> {
    let next = (rows.len() > limit).then(|| id(&rows[limit - 1]).to_string());
    rows.truncate(limit);
    next
}

/// A count parameter from 1 to `max`, `default` when absent.
pub(crate) fn bounded(text: Option<&str>, default: usize, max: usize, name: &str) -> Result<usize, ApiError> {
    match text {
        None => Ok(default),
        Some(text) => match parse_unsigned(text).and_then(|value| usize::try_from(value).ok()) {
            Some(value) if (1..=max).contains(&value) => Ok(value),
            _ => Err(ApiError::bad_parameter(name, format!("{name} must be 1 to {max}"))),
        },
    }
}
