//! `/v1/contests`: contests an organiser runs over paper accounts. Joining opens the
//! user's contest account with the contest's cash and its rules as the account's trading
//! limits (allowed symbols included); orders in it are taken only in the trading window
//! (403 `contest_not_running` outside it). Once the window is over the accounts are
//! frozen (orders cancelled, trading disabled) and the final standings stored, the first
//! time the contest is read after its end.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

use tradecraft_store::{ContestEntry, ContestRecord, NotificationRecord};
use tradecraft_types::{AccountId, Money, Timestamp};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, MaybeCaller, own_account, require};
use crate::extract::{Body, Decimal, Id, Query, SymbolText, Text, field_error};
use crate::identity::audit;
use crate::models::{LimitsRequest, WordText};
use crate::reads::{ask, ask_now};
use crate::responses::ErrorBody;
use crate::routes::{STARTING_CASH, bounded, parse_id, query, run_command};
use crate::{ApiError, AppState, Shared};

/// `POST /v1/contests`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateContestRequest {
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    pub name: Text<100>,
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Option<Text<2000>>,
    /// Run for an organisation (its admins may create it); the platform's when absent.
    pub organisation_id: Option<Id>,
    /// ISO 8601; each window includes its start and not its end.
    #[schema(value_type = String)]
    pub registration_start: Text<40>,
    #[schema(value_type = String)]
    pub registration_end: Text<40>,
    #[schema(value_type = String)]
    pub trading_start: Text<40>,
    #[schema(value_type = String)]
    pub trading_end: Text<40>,
    /// Each entry's cash, whole cents; 100,000 when absent.
    pub starting_cash: Option<Decimal>,
    /// Only these symbols may be traded (at least one); all when absent.
    #[schema(min_items = 1)]
    pub allowed_symbols: Option<Vec<SymbolText>>,
    /// The trading limits of every entry's account.
    pub rules: Option<LimitsRequest>,
    /// `PUBLIC` (default) or `INVITE` (joining needs the invite code the answer gives).
    #[schema(value_type = Option<String>, pattern = "^(PUBLIC|INVITE)$")]
    pub visibility: Option<WordText>,
    /// `RETURN` (default) or `SHARPE`.
    #[schema(value_type = Option<String>, pattern = "^(RETURN|SHARPE)$")]
    pub ranking: Option<WordText>,
}

/// `POST /v1/contests/{id}/join`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JoinContestRequest {
    #[schema(value_type = Option<String>, max_length = 64)]
    pub invite_code: Option<Text<64>>,
}

/// A contest.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Contest {
    pub contest_id: String,
    pub name: String,
    pub description: String,
    pub organisation_id: Option<String>,
    pub registration_start: String,
    pub registration_end: String,
    pub trading_start: String,
    pub trading_end: String,
    pub starting_cash: String,
    #[schema(value_type = Object)]
    pub rules: Value,
    /// `PUBLIC` or `INVITE`.
    pub visibility: String,
    /// Shown to its organiser and admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_code: Option<String>,
    /// `RETURN` or `SHARPE`.
    pub ranking: String,
    /// `UPCOMING`, `REGISTRATION`, `RUNNING` or `ENDED`.
    pub status: String,
    pub entries: usize,
    /// The caller's account in it, once joined.
    pub account_id: Option<String>,
    /// When the final standings were recorded.
    pub finalized_at: Option<String>,
}

/// `GET /v1/contests`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Contests {
    pub contests: Vec<Contest>,
}

/// One line of a contest's standings.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Standing {
    pub rank: usize,
    /// The entrant and their contest account, when the caller may know whose the line is:
    /// a public profile, the caller's own line, or the contest's organiser (and admins).
    /// Null for someone else's private profile.
    pub user_id: Option<String>,
    pub account_id: Option<String>,
    /// The entrant's display name: a public profile's, or the caller's own (HTML-escaped).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Cash plus holdings at their latest prices (the market's feed, or a later trade).
    pub equity: String,
    /// Percent of the starting cash gained, 4 decimals.
    pub return_percent: String,
    /// Annualised, from the account's daily returns in the read store; null before it has two days.
    pub sharpe: Option<f64>,
}

/// `GET /v1/contests/{id}/leaderboard`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContestLeaderboard {
    pub contest_id: String,
    pub status: String,
    /// The standings are the final ones.
    pub r#final: bool,
    pub standings: Vec<Standing>,
    /// The next page's `pageToken` (a rank), if there is one.
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LeaderboardPage {
    /// 1 to 500, default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The previous page's `nextPageToken`.
    #[param(value_type = Option<String>, pattern = "^(0|[1-9][0-9]{0,18})$")]
    page_token: Option<String>,
}

/// How far back a contest's registration may open.
const EARLIEST_START_MS: i64 = 366 * 86_400_000;
/// How far ahead its trading may end.
const LATEST_END_MS: i64 = 10 * EARLIEST_START_MS;

fn status(contest: &ContestRecord, at: i64) -> &'static str {
    if at >= contest.trading_end_ms {
        "ENDED"
    } else if at >= contest.trading_start_ms {
        "RUNNING"
    } else if at >= contest.registration_start_ms && at < contest.registration_end_ms {
        "REGISTRATION"
    } else {
        "UPCOMING"
    }
}

fn instant(field: &str, text: &Text<40>) -> Result<i64, ApiError> {
    Timestamp::parse(text.as_str()).map(|at| at.millis()).map_err(|_| field_error(field, "an ISO 8601 time"))
}

fn word<const MAX: usize>(field: &str, text: Option<&Text<MAX>>, allowed: [&'static str; 2]) -> Result<&'static str, ApiError> {
    match text {
        None => Ok(allowed[0]),
        Some(text) => allowed.into_iter().find(|word| *word == text.as_str()).ok_or_else(|| field_error(field, format!("{} or {}", allowed[0], allowed[1]))),
    }
}

/// How the caller stands to a contest.
struct Relation {
    /// An admin, or (an organisation's contest) one of its admins now: rights stand on the
    /// role held today, so a maker who is no longer an admin organises nothing.
    organises: bool,
    /// Among those it is run for: everyone for the platform's, the members (and admins) of
    /// its organisation for an organisation's.
    run_for: bool,
}

/// The caller's [`Relation`] to `contest`, from one look at their membership.
async fn relation(state: &AppState, caller: &MaybeCaller, contest: &ContestRecord) -> Result<Relation, ApiError> {
    let admin = caller.as_ref().is_some_and(Caller::is_admin);
    let user = caller.as_ref().and_then(|caller| caller.user_id);
    let (Some(organisation), Some(user)) = (contest.organisation_id, user) else {
        return Ok(Relation { organises: admin, run_for: contest.organisation_id.is_none() });
    };
    let member = ask(state, move |store| store.member(user)).await?.filter(|member| member.org_id == organisation);
    Ok(Relation { organises: admin || member.as_ref().is_some_and(|member| member.role == "org_admin"), run_for: member.is_some() })
}

async fn contest_of(state: &AppState, caller: &MaybeCaller, record: &ContestRecord) -> Result<Contest, ApiError> {
    let contest_id = record.contest_id;
    let entries = ask(state, move |store| store.contest_entries(contest_id)).await?;
    let user = caller.as_ref().and_then(|caller| caller.user_id);
    let account = entries.iter().find(|entry| Some(entry.user_id) == user).map(|entry| entry.account_id.to_string());
    let time = |at: i64| Timestamp::from_millis(at).to_string();
    let organiser = relation(state, caller, record).await?.organises;
    Ok(Contest {
        contest_id: contest_id.to_string(),
        name: record.name.clone(),
        description: record.description.clone(),
        organisation_id: record.organisation_id.map(|id| id.to_string()),
        registration_start: time(record.registration_start_ms),
        registration_end: time(record.registration_end_ms),
        trading_start: time(record.trading_start_ms),
        trading_end: time(record.trading_end_ms),
        starting_cash: Money::from_raw(record.starting_cash).to_string(),
        rules: serde_json::from_str(&record.rules).unwrap_or(Value::Null),
        visibility: record.visibility.clone(),
        invite_code: record.invite_code.clone().filter(|_| organiser),
        ranking: record.ranking.clone(),
        status: status(record, state.clock.now_ms()).to_owned(),
        entries: entries.len(),
        account_id: account,
        finalized_at: record.finalized_at_ms.map(time),
    })
}

/// The contest, if the caller may see it: public ones to anyone logged in (an
/// organisation's to its members); invite-only ones to their organiser, admins and
/// entrants (404 to others, as an unknown one).
async fn visible(state: &AppState, caller: &MaybeCaller, contest_id: u64) -> Result<ContestRecord, ApiError> {
    require(caller)?;
    let not_found = || ApiError::NotFound(format!("contest {contest_id}"));
    let record = ask(state, move |store| store.contest(contest_id)).await?.ok_or_else(not_found)?;
    let relation = relation(state, caller, &record).await?;
    if relation.organises || (record.visibility == "PUBLIC" && relation.run_for) {
        return Ok(record);
    }
    let user = caller.as_ref().and_then(|caller| caller.user_id);
    let entries = ask(state, move |store| store.contest_entries(contest_id)).await?;
    if entries.iter().any(|entry| Some(entry.user_id) == user) { Ok(record) } else { Err(not_found()) }
}

/// Create a contest (admins; an organisation's admins for their organisation).
#[utoipa::path(post, path = "/v1/contests", tag = "contests", request_body = CreateContestRequest,
    responses(
        (status = 201, description = "The contest (with its invite code when invite-only).", body = Contest),
        (status = 400, description = "A bad field: windows out of order, over already or dated more than a year back or ten years ahead, an unknown symbol, an empty allowedSymbols, symbols given both here and in the rules, rules that disable trading, a bad limit.", body = ErrorBody),
        (status = 403, description = "Not an admin of the platform or of the organisation.", body = ErrorBody),
        (status = 404, description = "An admin named an organisation that does not exist.", body = ErrorBody),
    ))]
pub(crate) async fn create(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>, Body(body): Body<Value>) -> Result<Response, ApiError> {
    // Who may organise first: a refused caller learns nothing about the body.
    let organisation = match body.get("organisationId") {
        None | Some(Value::Null) => None,
        Some(value) => {
            Some(value.as_str().and_then(crate::extract::parse_unsigned).or_else(|| value.as_u64()).ok_or_else(|| field_error("organisationId", "an id"))?)
        }
    };
    match organisation {
        Some(organisation) => {
            crate::organisations::require_org_admin(&state, &caller, organisation).await?;
            // An admin may name any id: nothing is made for an organisation that does not exist.
            crate::organisations::existing(&state, organisation).await?;
        }
        None => {
            crate::auth::require_admin(&caller)?;
        }
    }
    let request: CreateContestRequest = crate::extract::from_object(body)?;
    let name = request.name.visible().ok_or_else(|| field_error("name", "must not be blank"))?.to_owned();
    let (registration_start, registration_end) =
        (instant("registrationStart", &request.registration_start)?, instant("registrationEnd", &request.registration_end)?);
    let (trading_start, trading_end) = (instant("tradingStart", &request.trading_start)?, instant("tradingEnd", &request.trading_end)?);
    if registration_start >= registration_end {
        return Err(field_error("registrationEnd", "after registrationStart"));
    }
    if trading_start >= trading_end {
        return Err(field_error("tradingEnd", "after tradingStart"));
    }
    if registration_start > trading_start {
        return Err(field_error("registrationStart", "at or before tradingStart: registration opens before trading"));
    }
    if registration_end > trading_end {
        return Err(field_error("registrationEnd", "at or before tradingEnd: registration closes by the end of trading"));
    }
    // A contest is held now or ahead: it has not ended, and it is dated within reason.
    let now = state.clock.now_ms();
    if trading_end <= now {
        return Err(field_error("tradingEnd", "in the future: this contest would be over before it is created"));
    }
    if registration_end <= now {
        return Err(field_error("registrationEnd", "in the future: registration would close before the contest is created, and nobody could enter"));
    }
    for (field, at) in [("registrationStart", registration_start), ("tradingEnd", trading_end)] {
        if !(now - EARLIEST_START_MS..=now + LATEST_END_MS).contains(&at) {
            return Err(field_error(field, "from a year ago to ten years ahead"));
        }
    }
    let cash = request.starting_cash.map_or_else(|| STARTING_CASH.to_owned(), |cash| cash.0);
    let starting_cash = Money::parse(&cash).map_err(|error| field_error("startingCash", error))?;
    if !starting_cash.is_positive() || !starting_cash.is_whole_cents() || starting_cash > Money::from_units(10_000_000) {
        return Err(field_error("startingCash", "whole cents from 0.01 to 10,000,000"));
    }
    let visibility = word("visibility", request.visibility.as_ref(), ["PUBLIC", "INVITE"])?;
    let ranking = word("ranking", request.ranking.as_ref(), ["RETURN", "SHARPE"])?;
    // One answer to each question: the symbols are given here or in the rules, and a
    // contest's accounts trade (a contest stops trading at its end, not by a rule).
    if let Some(rules) = &request.rules {
        if rules.allowed_symbols.is_some() && request.allowed_symbols.is_some() {
            return Err(field_error("allowedSymbols", "give the contest's symbols once: here or in rules.allowedSymbols"));
        }
        if rules.trading_enabled == Some(false) {
            return Err(field_error("tradingEnabled", "a contest's accounts trade between tradingStart and tradingEnd: leave it out"));
        }
    }
    let mut rules = request.rules.map(LimitsRequest::into_wire).transpose()?.unwrap_or_default();
    if let Some(symbols) = &request.allowed_symbols {
        rules.allowed_symbols = Some(crate::models::distinct(symbols.iter().map(|symbol| symbol.as_str().to_owned())));
        if let Some(both) = rules.allowed_symbols.iter().flatten().find(|symbol| rules.blocked_symbols.contains(symbol)) {
            return Err(field_error("allowedSymbols", format!("{both} is in the rules' blockedSymbols: a symbol is allowed or blocked, not both")));
        }
    }
    if rules.allowed_symbols.as_ref().is_some_and(Vec::is_empty) {
        return Err(field_error("allowedSymbols", "at least one symbol (leave it out to allow every symbol)"));
    }
    crate::risk::known_symbols(&state, &rules).await?;
    rules.trading_enabled = true;
    let record = ContestRecord {
        contest_id: 0,
        name,
        description: request.description.map(|text| text.0).unwrap_or_default(),
        organisation_id: request.organisation_id.map(|id| id.0),
        created_by: caller.as_ref().and_then(|caller| caller.user_id),
        registration_start_ms: registration_start,
        registration_end_ms: registration_end,
        trading_start_ms: trading_start,
        trading_end_ms: trading_end,
        starting_cash: starting_cash.raw(),
        rules: serde_json::to_string(&rules).map_err(|error| ApiError::Internal(error.to_string()))?,
        visibility: visibility.to_owned(),
        invite_code: (visibility == "INVITE").then(|| crate::auth::random_token(12)),
        ranking: ranking.to_owned(),
        standings: None,
        finalized_at_ms: None,
        created_at_ms: state.clock.now_ms(),
    };
    let stored = record.clone();
    let contest_id = ask(&state, move |store| store.insert_contest(&stored)).await?;
    let record = ContestRecord { contest_id, ..record };
    audit(&state, &caller, "contest.created", format!("contest:{contest_id}"), json!({"name": record.name})).await;
    let contest = contest_of(&state, &caller, &record).await?;
    Ok((StatusCode::CREATED, Json(contest)).into_response())
}

/// Contests the caller may see, newest first.
#[utoipa::path(get, path = "/v1/contests", tag = "contests", responses((status = 200, description = "Contests.", body = Contests)))]
pub(crate) async fn list(State(state): State<Shared>, Extension(caller): Extension<MaybeCaller>) -> Result<Json<Contests>, ApiError> {
    require(&caller)?;
    let records = ask(&state, |store| store.contests()).await?;
    let mut contests = Vec::new();
    for record in records {
        if visible(&state, &caller, record.contest_id).await.is_ok() {
            finalize_if_over(&state, &record).await?;
            contests.push(contest_of(&state, &caller, &record).await?);
        }
    }
    Ok(Json(Contests { contests }))
}

/// One contest.
#[utoipa::path(get, path = "/v1/contests/{contest_id}", tag = "contests",
    params(("contest_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A contest id.")),
    responses((status = 200, description = "The contest.", body = Contest), (status = 404, description = "No such contest you may see.", body = ErrorBody)))]
pub(crate) async fn get(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(contest_id): Path<String>,
) -> Result<Json<Contest>, ApiError> {
    let contest_id = parse_id("contestId", &contest_id)?;
    let record = visible(&state, &caller, contest_id).await?;
    let record = finalize_if_over(&state, &record).await?;
    contest_of(&state, &caller, &record).await.map(Json)
}

/// Join a contest during its registration: opens the caller's contest account with the
/// contest's cash and rules.
#[utoipa::path(post, path = "/v1/contests/{contest_id}/join", tag = "contests", request_body = JoinContestRequest,
    params(("contest_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A contest id.")),
    responses(
        (status = 201, description = "Joined: the contest with the caller's account.", body = Contest),
        (status = 403, description = "An invite-only contest and no (or a wrong) invite code; the operator key, which has no account.", body = ErrorBody),
        (status = 404, description = "No such contest you may see (an organisation's contest is for its members).", body = ErrorBody),
        (status = 409, description = "Registration is not open, or already joined.", body = ErrorBody),
    ))]
pub(crate) async fn join(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(contest_id): Path<String>,
    Body(request): Body<JoinContestRequest>,
) -> Result<Response, ApiError> {
    let contest_id = parse_id("contestId", &contest_id)?;
    let user = own_account(&caller)?;
    let not_found = || ApiError::NotFound(format!("contest {contest_id}"));
    let record = ask(&state, move |store| store.contest(contest_id)).await?.ok_or_else(not_found)?;
    // An organisation's contest is for its members: to others it is not there.
    let relation = relation(&state, &caller, &record).await?;
    if !relation.organises && !relation.run_for {
        return Err(not_found());
    }
    if record.visibility == "INVITE" && request.invite_code.as_ref().map(|code| code.as_str()) != record.invite_code.as_deref() {
        return Err(ApiError::Rejected { status: StatusCode::FORBIDDEN, code: "invite_required", message: "this contest needs its invite code".to_owned() });
    }
    let at = state.clock.now_ms();
    if !(record.registration_start_ms..record.registration_end_ms).contains(&at) {
        return Err(ApiError::Rejected {
            status: StatusCode::CONFLICT,
            code: "registration_closed",
            message: "registration for this contest is not open".to_owned(),
        });
    }
    let entries = ask(&state, move |store| store.contest_entries(contest_id)).await?;
    if entries.iter().any(|entry| entry.user_id == user) {
        return Err(already_joined());
    }
    // A join that stopped half-way (its server died, or the log refused a write) left the
    // account's row and no entry: this one completes it rather than opening another.
    let opened = ask(&state, move |store| store.paper_accounts(user)).await?.into_iter().find(|account| account.contest_id == Some(contest_id));
    let account = match opened {
        Some(account) => {
            crate::accounts::complete_opening(&state, &account).await?;
            account
        }
        None => match crate::accounts::open_paper_account(&state, &caller, user, record.name.clone(), Money::from_raw(record.starting_cash), Some(contest_id))
            .await
        {
            Ok(account) => account,
            // The number went to a join of this contest racing this one: it joins, this does not.
            Err(ApiError::Rejected { status: StatusCode::CONFLICT, code: "account_exists", .. })
                if ask(&state, move |store| store.paper_accounts(user)).await?.iter().any(|account| account.contest_id == Some(contest_id)) =>
            {
                return Err(already_joined());
            }
            Err(other) => return Err(other),
        },
    };
    let entry = ContestEntry { contest_id, user_id: user, account_id: account.account_id, joined_at_ms: at };
    // A join racing this one stored the entry first: the same refusal as when it is seen.
    ask(&state, move |store| store.insert_contest_entry(&entry)).await.map_err(|error| match error {
        ApiError::Rejected { status: StatusCode::CONFLICT, .. } => already_joined(),
        other => other,
    })?;
    audit(&state, &caller, "contest.joined", format!("contest:{contest_id}"), json!({"accountId": account.account_id.to_string()})).await;
    let contest = contest_of(&state, &caller, &record).await?;
    Ok((StatusCode::CREATED, Json(contest)).into_response())
}

fn already_joined() -> ApiError {
    ApiError::Rejected { status: StatusCode::CONFLICT, code: "already_joined", message: "you joined this contest already".to_owned() }
}

/// The standings: live during the contest, the recorded final ones after it.
#[utoipa::path(get, path = "/v1/contests/{contest_id}/leaderboard", tag = "contests", params(("contest_id" = String, Path, pattern = "^(0|[1-9][0-9]{0,18})$", description = "A contest id."), LeaderboardPage),
    responses((status = 200, description = "A page of the standings, best first.", body = ContestLeaderboard), (status = 404, description = "No such contest you may see.", body = ErrorBody)))]
pub(crate) async fn leaderboard(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(contest_id): Path<String>,
    Query(page): Query<LeaderboardPage>,
) -> Result<Json<ContestLeaderboard>, ApiError> {
    let contest_id = parse_id("contestId", &contest_id)?;
    let limit = bounded(page.limit.as_deref(), 100, 500, "limit")?;
    let from = page.page_token.as_deref().map(|token| parse_id("pageToken", token)).transpose()?.unwrap_or(0) as usize;
    let record = visible(&state, &caller, contest_id).await?;
    let record = finalize_if_over(&state, &record).await?;
    let (standings, r#final) = match &record.standings {
        Some(text) => (serde_json::from_str::<Vec<Standing>>(text).map_err(|error| ApiError::Internal(error.to_string()))?, true),
        None => (standings(&state, &record).await?, false),
    };
    let next_page_token = (standings.len() > from + limit).then(|| (from + limit).to_string());
    let page: Vec<Standing> = standings.into_iter().skip(from).take(limit).collect();
    Ok(Json(ContestLeaderboard {
        contest_id: contest_id.to_string(),
        status: status(&record, state.clock.now_ms()).to_owned(),
        r#final,
        standings: as_seen_by(&state, &caller, &record, page).await?,
        next_page_token,
    }))
}

/// Standings as the caller may see them: names of public profiles (and the caller's own),
/// and whose a line is only where the profile is public, the line is the caller's, or the
/// caller organises the contest; nothing of another entrant's private profile.
async fn as_seen_by(state: &AppState, caller: &MaybeCaller, record: &ContestRecord, lines: Vec<Standing>) -> Result<Vec<Standing>, ApiError> {
    let viewer = caller.as_ref().and_then(|caller| caller.user_id);
    let users: Vec<u64> = lines.iter().filter_map(|line| line.user_id.as_deref().and_then(|user| user.parse().ok())).collect();
    let names = crate::social::names_seen_by(state, viewer, users).await?;
    let organiser = relation(state, caller, record).await?.organises;
    Ok(lines
        .into_iter()
        .map(|line| {
            let user = line.user_id.as_deref().and_then(|user| user.parse::<u64>().ok());
            let display_name = user.and_then(|user| names.get(&user).cloned());
            let shown = organiser || display_name.is_some() || (user.is_some() && user == viewer);
            Standing { user_id: line.user_id.filter(|_| shown), account_id: line.account_id.filter(|_| shown), display_name, ..line }
        })
        .collect())
}

/// Every entry's equity and return now, ranked by the contest's measure (ties by return,
/// then by who joined first).
async fn standings(state: &AppState, record: &ContestRecord) -> Result<Vec<Standing>, ApiError> {
    let contest_id = record.contest_id;
    let entries = ask(state, move |store| store.contest_entries(contest_id)).await?;
    let accounts: Vec<u64> = entries.iter().map(|entry| entry.account_id).collect();
    // Valued as positions are everywhere: at the read store's latest prices.
    let latest = ask(state, |store| store.latest_prices()).await?;
    let equities = query(state, move |engine| {
        accounts
            .iter()
            .map(|&account| {
                let view = engine.account(AccountId(account))?;
                let mut equity = i128::from(view.cash.total());
                for (symbol, balance) in &view.holdings {
                    let price = latest.get(symbol.as_str()).copied().or_else(|| engine.last_price(*symbol)).map_or(0, |price| price.raw());
                    // Price (4 decimals) x quantity (4 decimals) = money (8 decimals).
                    equity += i128::from(price) * i128::from(balance.total());
                }
                Some(equity)
            })
            .collect::<Vec<_>>()
    })
    .await?;
    let (since, until) = (record.trading_start_ms, state.clock.now_ms().min(record.trading_end_ms));
    let mut lines = Vec::new();
    for (entry, equity) in entries.iter().zip(equities) {
        let equity = equity.unwrap_or(0);
        let start = i128::from(record.starting_cash).max(1);
        // Percent with 4 decimals: (equity - start) / start x 100, rounded toward zero.
        let return_raw = (equity - start) * 1_000_000 / start;
        let account = entry.account_id;
        let sharpe = if record.ranking == "SHARPE" {
            crate::reads::ratio(ask(state, move |store| store.performance(account, since, until)).await?.and_then(|performance| performance.sharpe))
        } else {
            None
        };
        let equity_text = i64::try_from(equity).map(|raw| Money::from_raw(raw).to_string()).unwrap_or_default();
        lines.push((
            return_raw,
            sharpe,
            Standing {
                rank: 0,
                user_id: Some(entry.user_id.to_string()),
                account_id: Some(account.to_string()),
                display_name: None,
                equity: equity_text,
                return_percent: tradecraft_types::Price::from_raw(i64::try_from(return_raw).unwrap_or(i64::MAX)).to_string(),
                sharpe,
            },
        ));
    }
    let by_sharpe = record.ranking == "SHARPE";
    // Stable: entries are in joining order, which breaks the remaining ties.
    lines.sort_by(|(return_a, sharpe_a, _), (return_b, sharpe_b, _)| {
        let measure =
            if by_sharpe { sharpe_b.unwrap_or(f64::NEG_INFINITY).total_cmp(&sharpe_a.unwrap_or(f64::NEG_INFINITY)) } else { std::cmp::Ordering::Equal };
        measure.then(return_b.cmp(return_a))
    });
    Ok(lines.into_iter().enumerate().map(|(index, (_, _, standing))| Standing { rank: index + 1, ..standing }).collect())
}

/// After the trading window: freezes every entry's account (orders cancelled, trading
/// disabled) and records the final standings, once. Returns the contest as it is now.
async fn finalize_if_over(state: &AppState, record: &ContestRecord) -> Result<ContestRecord, ApiError> {
    if record.standings.is_some() || state.clock.now_ms() < record.trading_end_ms {
        return Ok(record.clone());
    }
    let contest_id = record.contest_id;
    let entries = ask(state, move |store| store.contest_entries(contest_id)).await?;
    let mut frozen: Value = serde_json::from_str(&record.rules).unwrap_or_else(|_| json!({}));
    frozen["tradingEnabled"] = json!(false);
    for entry in &entries {
        let account = entry.account_id.to_string();
        // Frozen first, so no order comes in between; then nothing is left open.
        run_command(state, json!({"command": "setLimits", "userId": account, "limits": frozen})).await?;
        run_command(state, json!({"command": "cancelAll", "userId": account})).await?;
    }
    let standings = standings(state, record).await?;
    let text = serde_json::to_string(&standings).map_err(|error| ApiError::Internal(error.to_string()))?;
    let at = state.clock.now_ms();
    ask(state, move |store| store.record_contest_standings(contest_id, &text, at)).await?;
    audit(state, &None, "contest.finalized", format!("contest:{contest_id}"), json!({"entries": entries.len()})).await;
    ask(state, move |store| store.contest(contest_id)).await?.ok_or_else(|| ApiError::NotFound(format!("contest {contest_id}")))
}

/// 403 `contest_not_running` for an order in a contest's account outside its trading
/// window; nothing for any other account.
pub(crate) async fn check_trading_window(state: &AppState, account: u64) -> Result<(), ApiError> {
    // Default accounts (ids below 2^48) are in no contest: no lookup on their orders.
    if account >> crate::auth::ACCOUNT_OWNER_BITS == 0 || state.store.is_none() {
        return Ok(());
    }
    // Both are the API's own rows: read at once, with no wait for the projector on the
    // order path.
    let Some(contest_id) = ask_now(state, move |store| store.paper_account(account)).await?.and_then(|record| record.contest_id) else { return Ok(()) };
    let Some(contest) = ask_now(state, move |store| store.contest(contest_id)).await? else { return Ok(()) };
    let at = state.clock.now_ms();
    if (contest.trading_start_ms..contest.trading_end_ms).contains(&at) {
        Ok(())
    } else {
        Err(ApiError::Rejected {
            status: StatusCode::FORBIDDEN,
            code: "contest_not_running",
            message: format!(
                "contest {contest_id} trades from {} to {}",
                Timestamp::from_millis(contest.trading_start_ms),
                Timestamp::from_millis(contest.trading_end_ms)
            ),
        })
    }
}

/// Tells entrants when a contest starts and ends (`CONTEST_STARTED`, `CONTEST_ENDED`
/// with their place), and finalises a contest as its trading window closes, every `poll`
/// until `stop` fires. Each edge is told once, whichever gateway sees it first.
pub async fn run_schedule(state: Arc<AppState>, poll: std::time::Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = stop.changed() => return,
        }
        if let Err(error) = tell_edges(&state).await {
            tracing::warn!(error = %error, "contests: the schedule failed; trying again");
        }
    }
}

async fn tell_edges(state: &AppState) -> Result<(), ApiError> {
    let now = state.clock.now_ms();
    let (contests, told) = ask(state, |store| Ok((store.contests()?, store.contest_edges_told()?))).await?;
    for contest in contests {
        let due = if now >= contest.trading_end_ms {
            "ENDED"
        } else if now >= contest.trading_start_ms {
            "STARTED"
        } else {
            continue;
        };
        if told.contains(&(contest.contest_id, due.to_owned())) {
            continue;
        }
        let contest_id = contest.contest_id;
        let entries = ask(state, move |store| store.contest_entries(contest_id)).await?;
        let notification = |user: u64, edge: &str, title: String, message: String| NotificationRecord {
            notification_id: format!("contest:{contest_id}:{edge}:{user}"),
            user_id: user,
            kind: format!("CONTEST_{edge}"),
            title,
            message,
            created_at_ms: now,
            read_at_ms: None,
        };
        if now < contest.trading_end_ms {
            let until = Timestamp::from_millis(contest.trading_end_ms);
            let told: Vec<NotificationRecord> = entries
                .iter()
                .map(|entry| {
                    let message = format!("{} has started: trade in account {} until {until}.", contest.name, entry.account_id);
                    notification(entry.user_id, "STARTED", format!("Contest started: {}", contest.name), message)
                })
                .collect();
            ask(state, move |store| store.record_contest_edge(contest_id, "STARTED", now, &told)).await?;
            continue;
        }
        let finalized = finalize_if_over(state, &contest).await?;
        let standings: Vec<Standing> = finalized.standings.as_deref().and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default();
        let told: Vec<NotificationRecord> = entries
            .iter()
            .map(|entry| {
                let place = standings.iter().find(|standing| standing.account_id == Some(entry.account_id.to_string()));
                let message = match place {
                    Some(standing) => {
                        format!(
                            "{} has ended: you placed {} of {}, with a return of {}%.",
                            contest.name,
                            standing.rank,
                            standings.len(),
                            standing.return_percent
                        )
                    }
                    None => format!("{} has ended.", contest.name),
                };
                notification(entry.user_id, "ENDED", format!("Contest ended: {}", contest.name), message)
            })
            .collect();
        ask(state, move |store| store.record_contest_edge(contest_id, "ENDED", now, &told)).await?;
    }
    Ok(())
}
