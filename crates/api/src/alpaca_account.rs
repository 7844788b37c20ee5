//! `/v2/account/...`: the account's activities (fills and cash movements), its portfolio
//! history and its configuration, as Alpaca shows them. Activities and history come from
//! the read store, so they follow the engine by the projector's lag.

use axum::Json;
use axum::extract::{Extension, Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tradecraft_store::{TradeQuery, decimal};
use tradecraft_types::{OrderId, Timestamp};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{MaybeCaller, own_account};
use crate::extract::{Body, Query};
use crate::routes::{now, parse_time};
use crate::{ApiError, Shared};

/// Of each kind, the newest this many are looked through (a page is at most 100).
const ACTIVITIES_LOOKED_AT: usize = 1_000;
const PAGE_SIZE_MAX: usize = 100;
/// Cash activities: TradeCraft's statement kinds and Alpaca's activity types.
const CASH_KINDS: [(&str, &str); 3] = [("DEPOSIT", "CSD"), ("WITHDRAWAL", "CSW"), ("FEE", "FEE")];

use crate::alpaca::invalid_parameter as bad;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ActivityParams {
    /// Comma-separated: `FILL`, `CSD` (deposits), `CSW` (withdrawals), `FEE`.
    #[param(value_type = Option<String>)]
    activity_types: Option<String>,
    /// `trade_activity` (fills) or `non_trade_activity` (deposits, withdrawals, fees);
    /// not with `activity_types`.
    #[param(value_type = Option<String>, pattern = "^(trade_activity|non_trade_activity)$")]
    category: Option<String>,
    /// Only this day (`YYYY-MM-DD`).
    #[param(value_type = Option<String>)]
    date: Option<String>,
    /// Before this time (RFC 3339).
    #[param(value_type = Option<String>)]
    until: Option<String>,
    /// After this time (RFC 3339).
    #[param(value_type = Option<String>)]
    after: Option<String>,
    /// `desc` (default) or `asc`.
    #[param(value_type = Option<String>)]
    direction: Option<String>,
    /// 1 to 100 (default 100).
    #[param(value_type = Option<u32>)]
    page_size: Option<String>,
    /// The `id` of the last activity of the previous page.
    #[param(value_type = Option<String>)]
    page_token: Option<String>,
}

/// The caller's activities, newest first (Alpaca's `GET /v2/account/activities`): `FILL`
/// for each execution, `CSD`/`CSW` for deposits and withdrawals, `FEE` for fees. Ids sort
/// by time, so the last one of a page is the token of the next.
#[utoipa::path(get, path = "/v2/account/activities", tag = "alpaca", params(ActivityParams),
    responses((status = 200, description = "Activities.", body = Vec<Object>), (status = 422, description = "A bad parameter.", body = crate::alpaca::AlpacaError)))]
pub(crate) async fn activities(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<ActivityParams>,
) -> Result<Json<Vec<Value>>, ApiError> {
    answer(state, caller, params, None).await
}

/// One kind of activity (Alpaca's `GET /v2/account/activities/{activity_type}`).
#[utoipa::path(get, path = "/v2/account/activities/{activity_type}", tag = "alpaca",
    params(("activity_type" = String, Path, description = "`FILL`, `CSD`, `CSW` or `FEE`."), ActivityParams),
    responses((status = 200, description = "Activities.", body = Vec<Object>), (status = 422, description = "A bad parameter.", body = crate::alpaca::AlpacaError)))]
pub(crate) async fn activities_of(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Path(kind): Path<String>,
    Query(params): Query<ActivityParams>,
) -> Result<Json<Vec<Value>>, ApiError> {
    answer(state, caller, params, Some(kind)).await
}

async fn answer(state: Shared, caller: MaybeCaller, params: ActivityParams, kind: Option<String>) -> Result<Json<Vec<Value>>, ApiError> {
    let user = own_account(&caller)?;
    let known = ["FILL", "CSD", "CSW", "FEE"];
    let category: Option<&[&str]> = match params.category.as_deref() {
        None => None,
        Some("trade_activity") => Some(&["FILL"]),
        Some("non_trade_activity") => Some(&["CSD", "CSW", "FEE"]),
        Some(other) => return Err(bad(format!("category {other} is not one Alpaca has: trade_activity or non_trade_activity"))),
    };
    if category.is_some() && params.activity_types.is_some() {
        return Err(bad("give category or activity_types, not both"));
    }
    let types: Vec<String> = match (kind, params.activity_types.as_deref()) {
        (Some(kind), _) => vec![kind.to_ascii_uppercase()],
        (None, Some(list)) => list.split(',').map(|kind| kind.trim().to_ascii_uppercase()).filter(|kind| !kind.is_empty()).collect(),
        (None, None) => category.unwrap_or(&known).iter().map(|kind| (*kind).to_owned()).collect(),
    };
    // One kind (by path) in the other category answers nothing, as a filter would.
    let types: Vec<String> =
        types.into_iter().filter(|kind| category.is_none_or(|kinds| kinds.contains(&kind.as_str()) || !known.contains(&kind.as_str()))).collect();
    if let Some(unknown) = types.iter().find(|kind| !known.contains(&kind.as_str())) {
        return Err(bad(format!("activity type {unknown} is not one TradeCraft has: FILL, CSD, CSW or FEE")));
    }
    let ascending = match params.direction.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(bad("direction must be asc or desc")),
    };
    let page_size = match params.page_size.as_deref() {
        None => PAGE_SIZE_MAX,
        Some(text) => text.parse().ok().filter(|size| (1..=PAGE_SIZE_MAX).contains(size)).ok_or_else(|| bad("page_size must be 1 to 100"))?,
    };
    let time = |name: &str, text: Option<&str>| parse_time(name, text).map_err(|_| bad(format!("{name} must be an RFC 3339 time")));
    let (mut after, mut until) =
        (time("after", params.after.as_deref())?.map(Timestamp::millis), time("until", params.until.as_deref())?.map(Timestamp::millis));
    if let Some(date) = params.date.as_deref() {
        let day = crate::alpaca::day(date).ok_or_else(|| bad("date must be YYYY-MM-DD"))?.millis();
        after = Some(after.map_or(day - 1, |after| after.max(day - 1)));
        until = Some(until.map_or(day + 86_400_000, |until| until.min(day + 86_400_000)));
    }
    let token = params.page_token.as_deref().map(|token| activity_time(token).ok_or_else(|| bad("page_token is not the id of an activity"))).transpose()?;
    // A page starts at its token's millisecond (what follows it in the same millisecond is
    // sorted out by id below), so the store is read from there, not from either end.
    match token {
        Some(at) if ascending => after = Some(after.map_or(at - 1, |after| after.max(at - 1))),
        Some(at) => until = Some(until.map_or(at + 1, |until| until.min(at + 1))),
        None => {}
    }
    let wants = |kind: &str| types.iter().any(|wanted| wanted == kind);
    let (fills, cash) = {
        let (want_fills, want_cash) = (wants("FILL"), ["CSD", "CSW", "FEE"].iter().any(|kind| wants(kind)));
        let (from, to) = (after.map(|after| after.saturating_add(1)), until.map(|until| until.saturating_sub(1)));
        crate::reads::ask(&state, move |store| {
            let fills = if want_fills {
                let query = TradeQuery {
                    user_id: user,
                    status: Some("EXECUTED".to_owned()),
                    start_ms: from,
                    end_ms: to,
                    limit: ACTIVITIES_LOOKED_AT,
                    oldest_first: ascending,
                    ..TradeQuery::default()
                };
                store.search_trades(&query)?.trades
            } else {
                Vec::new()
            };
            let cash = if want_cash { store.wallet_lines_between(user, from, to, ascending, ACTIVITIES_LOOKED_AT)? } else { Vec::new() };
            Ok((fills, cash))
        })
        .await?
    };
    // (id, time, activity): ids sort as times do.
    let mut all: Vec<(String, i64, Value)> = Vec::new();
    {
        let stored = crate::history::forgotten_orders(&state, fills.iter().map(|fill| OrderId(fill.order_id)).collect()).await?;
        let view = crate::history::view(&state)?;
        for fill in fills {
            let id = format!("{}::FILL{:020}", compact_time(fill.executed_at_ms), fill.trade_id.unwrap_or(0));
            let order = view.orders.get(&OrderId(fill.order_id)).or_else(|| stored.get(&OrderId(fill.order_id)));
            let cumulative = order.map(|order| {
                let upto = order.fills.iter().position(|step| Some(step.trade_id.0) == fill.trade_id).map_or(order.fills.len(), |index| index + 1);
                order.fills[..upto].iter().fold(tradecraft_types::Quantity::ZERO, |sum, step| sum.checked_add(step.quantity).unwrap_or(sum))
            });
            let (status, leaves, kind) = match (order, cumulative) {
                (Some(order), Some(cumulative)) if order.budget.is_none() => {
                    let leaves = tradecraft_types::Quantity::from_raw(order.quantity.raw() - cumulative.raw());
                    (crate::alpaca::status_word(order.status), leaves.to_string(), if leaves.is_positive() { "partial_fill" } else { "fill" })
                }
                (Some(order), _) => (crate::alpaca::status_word(order.status), "0".to_owned(), "fill"),
                _ => ("filled", "0".to_owned(), "fill"),
            };
            let activity = json!({
                "id": id, "activity_type": "FILL", "transaction_time": Timestamp::from_millis(fill.executed_at_ms).to_string(), "type": kind,
                "price": fill.execution_price.map(|price| price.to_string()), "qty": fill.quantity.to_string(), "side": fill.side.to_ascii_lowercase(),
                "symbol": fill.symbol, "leaves_qty": leaves, "order_id": crate::alpaca::order_uuid(OrderId(fill.order_id)),
                "cum_qty": cumulative.map_or_else(|| fill.quantity.to_string(), |quantity| quantity.to_string()), "order_status": status,
            });
            all.push((id, fill.executed_at_ms, activity));
        }
    }
    for line in cash {
        let Some((_, kind)) = CASH_KINDS.iter().find(|(native, alpaca)| *native == line.kind && wants(alpaca)) else { continue };
        let id = format!("{}::{kind}{:020}", compact_time(line.created_at_ms), line.id);
        let activity = json!({
            "id": id, "activity_type": kind, "date": Timestamp::from_millis(line.created_at_ms).to_string()[..10].to_owned(),
            "net_amount": line.amount.to_string(), "description": format!("{} {}", line.kind.to_ascii_lowercase(), line.reference).trim().to_owned(),
            "status": "executed", "symbol": line.symbol,
        });
        all.push((id, line.created_at_ms, activity));
    }
    all.retain(|(_, at, _)| after.is_none_or(|after| *at > after) && until.is_none_or(|until| *at < until));
    all.sort_by(|a, b| a.0.cmp(&b.0));
    if !ascending {
        all.reverse();
    }
    if let Some(token) = params.page_token.as_deref() {
        all.retain(|(id, _, _)| if ascending { id.as_str() > token } else { id.as_str() < token });
    }
    Ok(Json(all.into_iter().take(page_size).map(|(_, _, activity)| activity).collect()))
}

/// Activity ids start with the time, in digits that sort: `YYYYMMDDhhmmssmmm`.
fn compact_time(millis: i64) -> String {
    Timestamp::from_millis(millis).to_string().chars().filter(char::is_ascii_digit).collect()
}

/// The time (Unix milliseconds) of the activity whose id is `id`
/// (`YYYYMMDDhhmmssmmm::KIND` and 20 digits), if it is one.
fn activity_time(id: &str) -> Option<i64> {
    let (time, rest) = id.split_once("::")?;
    let number = ["FILL", "CSD", "CSW", "FEE"].iter().find_map(|kind| rest.strip_prefix(kind))?;
    if time.len() != 17 || !time.bytes().all(|byte| byte.is_ascii_digit()) || number.len() != 20 || !number.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let text = format!("{}-{}-{}T{}:{}:{}.{}Z", &time[0..4], &time[4..6], &time[6..8], &time[8..10], &time[10..12], &time[12..14], &time[14..17]);
    Timestamp::parse(&text).ok().map(Timestamp::millis).filter(|millis| compact_time(*millis) == time)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryParams {
    /// A count and a unit: `D` days, `W` weeks, `M` months (30 days) or `A` years (365
    /// days), such as `1D`, `2W` or `6M`; or `all`. `1M` unless `start` and `end` are both
    /// given. At most two of `start`, `end` and `period`.
    #[param(value_type = Option<String>, pattern = "^([1-9][0-9]{0,3}[DWMA]|all)$")]
    period: Option<String>,
    /// One point per `1Min`, `5Min`, `15Min`, `1H` or `1D` (the value at the end of each);
    /// by default `1Min` for periods under 7 days, `15Min` under 30, `1D` otherwise.
    /// Periods over 30 days take `1D` only.
    #[param(value_type = Option<String>, pattern = "^(1Min|5Min|15Min|1H|1D)$")]
    timeframe: Option<String>,
    /// The history from this time (RFC 3339).
    #[param(value_type = Option<String>)]
    start: Option<String>,
    /// The history up to this time (RFC 3339); now by default.
    #[param(value_type = Option<String>)]
    end: Option<String>,
    /// The history up to the end of this date (`YYYY-MM-DD`, UTC); Alpaca's older name for
    /// `end`, so not with it.
    #[param(value_type = Option<String>)]
    date_end: Option<String>,
    /// `no_reset` only: profit and loss run on over the whole history (Alpaca's
    /// `per_day`, resetting each day, is not offered).
    #[param(value_type = Option<String>, pattern = "^no_reset$")]
    pnl_reset: Option<String>,
    /// `market_hours`, `extended_hours` or `continuous`: all the same here, the market
    /// trades around the clock.
    #[param(value_type = Option<String>, pattern = "^(market_hours|extended_hours|continuous)$")]
    intraday_reporting: Option<String>,
    /// `true` or `false`: the same here, the market trades around the clock.
    #[param(value_type = Option<bool>)]
    extended_hours: Option<String>,
    /// Not offered (no `cashflow` in the answer): refused rather than ignored.
    #[param(value_type = Option<String>)]
    cashflow_types: Option<String>,
}

const DAY_MS: i64 = 86_400_000;

/// A period's length: `None` for `all`.
fn period_ms(text: &str) -> Result<Option<i64>, ApiError> {
    if text == "all" {
        return Ok(None);
    }
    let refused = || bad(format!("period {text} is not offered: a count and D, W, M or A (such as 1D, 2W, 3M, 1A), or all"));
    // The unit is the last character, whatever its width (a byte index could fall inside one).
    let unit_at = text.char_indices().last().map_or(0, |(at, _)| at);
    let (count, unit) = text.split_at(unit_at);
    let count: i64 = crate::extract::parse_unsigned(count).filter(|count| (1..=9_999).contains(count)).ok_or_else(refused)? as i64;
    let days = match unit {
        "D" => 1,
        "W" => 7,
        "M" => 30,
        "A" => 365,
        _ => return Err(refused()),
    };
    Ok(Some(count * days * DAY_MS))
}

/// The history's window `[since, until)` from `start`, `end` (or `date_end`) and `period`,
/// at most two of them, as Alpaca takes them; and the span its default timeframe follows.
fn history_window(params: &HistoryParams, now_ms: i64) -> Result<(i64, i64, Option<i64>), ApiError> {
    let time = |name: &str, text: Option<&String>| {
        text.map(|text| Timestamp::parse(text).map(Timestamp::millis).map_err(|_| bad(format!("{name} must be an RFC 3339 time, not {text:?}")))).transpose()
    };
    let start = time("start", params.start.as_ref())?;
    let end = match (time("end", params.end.as_ref())?, params.date_end.as_ref()) {
        (Some(_), Some(_)) => return Err(bad("give end or date_end, not both")),
        (end, None) => end,
        (None, Some(date)) => {
            let day = crate::alpaca::day(date).ok_or_else(|| bad(format!("date_end must be a date (YYYY-MM-DD), not {date:?}")))?;
            Some(day.millis() + DAY_MS)
        }
    };
    let period = params.period.as_deref().map(period_ms).transpose()?;
    let (since, until, span) = match (start, end, period) {
        (Some(_), Some(_), Some(_)) => return Err(bad("give at most two of start, end and period")),
        (Some(start), Some(end), None) => (start, end, Some(end - start)),
        (Some(start), None, Some(span)) => (start, span.map_or(now_ms, |span| start.saturating_add(span)), span),
        (Some(start), None, None) => (start, now_ms, Some(now_ms - start)),
        (None, end, period) => {
            let until = end.unwrap_or(now_ms);
            let span = period.unwrap_or(Some(30 * DAY_MS));
            (span.map_or(i64::MIN, |span| until - span), until, span)
        }
    };
    if until <= since {
        return Err(bad("end must be after start"));
    }
    Ok((since, until.min(now_ms), span))
}

/// `GET /v2/account/portfolio/history`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PortfolioHistory {
    /// Unix seconds of each point.
    pub timestamp: Vec<i64>,
    pub equity: Vec<f64>,
    /// Equity less what was invested by then: the period's opening equity and the net
    /// deposits since (so a deposit is never a profit, and `/v1`'s figures agree).
    pub profit_loss: Vec<f64>,
    /// `profit_loss` over what was invested by then.
    pub profit_loss_pct: Vec<Option<f64>>,
    /// What was invested over the period: its opening equity and its net deposits.
    pub base_value: f64,
    pub timeframe: String,
}

/// The account's value over the period (Alpaca's portfolio history), from the read store's
/// portfolio values. As in Alpaca's API the figures are JSON numbers: display data.
#[utoipa::path(get, path = "/v2/account/portfolio/history", tag = "alpaca", params(HistoryParams),
    responses((status = 200, description = "The history.", body = PortfolioHistory),
        (status = 422, description = "A period, timeframe or time not offered, all three of start, end and period, or an end before the start.", body = crate::alpaca::AlpacaError)))]
pub(crate) async fn portfolio_history(
    State(state): State<Shared>,
    Extension(caller): Extension<MaybeCaller>,
    Query(params): Query<HistoryParams>,
) -> Result<Json<PortfolioHistory>, ApiError> {
    let user = own_account(&caller)?;
    if params.pnl_reset.as_deref().is_some_and(|reset| reset != "no_reset") {
        return Err(bad("pnl_reset: only no_reset is offered (profit and loss run on over the whole history)"));
    }
    if params.extended_hours.as_deref().is_some_and(|extended| !matches!(extended, "true" | "false")) {
        return Err(bad("extended_hours must be true or false"));
    }
    if params.intraday_reporting.as_deref().is_some_and(|reporting| !matches!(reporting, "market_hours" | "extended_hours" | "continuous")) {
        return Err(bad("intraday_reporting must be market_hours, extended_hours or continuous"));
    }
    if params.cashflow_types.is_some() {
        return Err(bad("cashflow_types is not offered"));
    }
    let now_ms = now().millis();
    let (since, until, span) = history_window(&params, now_ms)?;
    let timeframe = match params.timeframe.as_deref() {
        Some(timeframe) => timeframe,
        None if span.is_some_and(|span| span < 7 * DAY_MS) => "1Min",
        None if span.is_some_and(|span| span < 30 * DAY_MS) => "15Min",
        None => "1D",
    };
    if timeframe != "1D" && span.is_none_or(|span| span > 30 * DAY_MS) {
        return Err(bad(format!("timeframe {timeframe} is for periods of 30 days or less: longer ones take 1D")));
    }
    let step_s = match timeframe {
        "1Min" => 60,
        "5Min" => 300,
        "15Min" => 900,
        "1H" => 3_600,
        "1D" => 86_400,
        other => return Err(bad(format!("timeframe {other} is not offered: 1Min, 5Min, 15Min, 1H or 1D"))),
    };
    let (performance, funded) =
        crate::reads::funded_performance(&state, user, since, until).await?.ok_or_else(|| ApiError::NotFound(format!("account {user}")))?;
    let value = |money: tradecraft_types::Money| decimal(i128::from(money.raw()), 8).parse::<f64>().unwrap_or(0.0);
    // Nothing after the window's end (an opening deposit after it, when it ended before).
    let funded: Vec<_> = funded.into_iter().filter(|(at, _, _)| *at <= until).collect();
    let points = steps(&funded, performance.start_value.raw(), step_s);
    let shown = |raw: i64| value(tradecraft_types::Money::from_raw(raw));
    let base = performance.start_value.raw().saturating_add(performance.net_flows.raw());
    Ok(Json(PortfolioHistory {
        timestamp: points.iter().map(|(at, _, _)| *at).collect(),
        equity: points.iter().map(|(_, equity, _)| shown(*equity)).collect(),
        profit_loss: points.iter().map(|(_, equity, invested)| shown(equity.saturating_sub(*invested))).collect(),
        profit_loss_pct: points
            .iter()
            .map(|(_, equity, invested)| crate::reads::ratio((*invested > 0).then(|| equity.saturating_sub(*invested) as f64 / *invested as f64)))
            .collect(),
        base_value: shown(base),
        timeframe: timeframe.to_owned(),
    }))
}

/// The value at the end of each step, stamped with the step's start (Alpaca's bars are
/// left-labelled), with what was invested by then: the opening value and the net deposits
/// since. A value as of `at` ends the step that holds the moment before it: the store's
/// snapshot of a bucket is stamped with the bucket's end, which is the next step's start.
/// Money stays exact (raw) until shown.
fn steps(history: &[(i64, tradecraft_types::Money, tradecraft_types::Money)], opening: i64, step_s: i64) -> Vec<(i64, i64, i64)> {
    let step_ms = step_s * 1_000;
    let mut points: Vec<(i64, i64, i64)> = Vec::new();
    for (at, money, flows) in history {
        let start = (at - 1).div_euclid(step_ms) * step_s;
        let invested = opening.saturating_add(flows.raw());
        match points.last_mut() {
            Some((last, equity, basis)) if *last == start => (*equity, *basis) = (money.raw(), invested),
            _ => points.push((start, money.raw(), invested)),
        }
    }
    points
}

/// `GET|PATCH /v2/account/configurations`: TradeCraft's accounts have one configuration.
#[derive(Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub(crate) struct Configurations {
    pub dtbp_check: String,
    pub fractional_trading: bool,
    pub max_margin_multiplier: String,
    pub no_shorting: bool,
    pub pdt_check: String,
    pub suspend_trade: bool,
    pub trade_confirm_email: String,
    pub ptp_no_exception_entry: bool,
}

fn configurations() -> Configurations {
    Configurations {
        dtbp_check: "entry".to_owned(),
        fractional_trading: false,
        max_margin_multiplier: "1".to_owned(),
        no_shorting: true,
        pdt_check: "entry".to_owned(),
        suspend_trade: false,
        trade_confirm_email: "none".to_owned(),
        ptp_no_exception_entry: false,
    }
}

/// The account's configuration: cash only (no margin, no shorting), whole shares.
#[utoipa::path(get, path = "/v2/account/configurations", tag = "alpaca", responses((status = 200, description = "The configuration.", body = Configurations)))]
pub(crate) async fn get_configurations(Extension(caller): Extension<MaybeCaller>) -> Result<Json<Configurations>, ApiError> {
    own_account(&caller)?;
    Ok(Json(configurations()))
}

/// Sets the configuration: only the values TradeCraft has are taken (a cash account
/// without shorting); anything else is 422, named.
#[utoipa::path(patch, path = "/v2/account/configurations", tag = "alpaca", request_body = Object,
    responses((status = 200, description = "The configuration.", body = Configurations), (status = 422, description = "A setting TradeCraft does not offer.", body = crate::alpaca::AlpacaError)))]
pub(crate) async fn patch_configurations(Extension(caller): Extension<MaybeCaller>, Body(body): Body<Value>) -> Result<Json<Configurations>, ApiError> {
    own_account(&caller)?;
    let current = serde_json::to_value(configurations()).map_err(|error| ApiError::Internal(error.to_string()))?;
    let Value::Object(changes) = body else { return Err(bad("the body must be a JSON object")) };
    for (name, value) in &changes {
        match current.get(name) {
            Some(have) if have == value => {}
            Some(_) => return Err(bad(format!("{name} cannot be {value} on TradeCraft: {}", why_fixed(name)))),
            None => return Err(bad(format!("{name} is not an account configuration"))),
        }
    }
    Ok(Json(configurations()))
}

/// Why a configuration keeps its one value here.
fn why_fixed(name: &str) -> &'static str {
    match name {
        "dtbp_check" | "pdt_check" => "accounts are cash accounts, without day-trading buying power or pattern-day-trader rules",
        "max_margin_multiplier" => "accounts are cash accounts, without margin",
        "no_shorting" => "accounts cannot sell short",
        "fractional_trading" => "orders are in whole lots (each asset's min_trade_increment)",
        "suspend_trade" => "an account's trading is stopped by an admin's limits (tradingEnabled), not by its own configuration",
        "trade_confirm_email" => "trade confirmations are notifications, chosen in the notification preferences",
        _ => "it has no other value here",
    }
}

#[cfg(test)]
mod tests {
    use tradecraft_types::Money;

    use super::{activity_time, compact_time, steps, why_fixed};

    /// Each configuration a PATCH cannot change says why in its own words (suspend_trade
    /// was refused as "accounts are cash accounts without shorting").
    #[test]
    fn each_fixed_configuration_has_its_own_reason() {
        let names =
            ["dtbp_check", "max_margin_multiplier", "no_shorting", "fractional_trading", "suspend_trade", "trade_confirm_email", "ptp_no_exception_entry"];
        let reasons: std::collections::BTreeSet<&str> = names.iter().map(|name| why_fixed(name)).collect();
        assert_eq!(reasons.len(), names.len());
        assert_eq!(why_fixed("pdt_check"), why_fixed("dtbp_check"));
        let current = serde_json::to_value(super::configurations()).unwrap();
        assert!(current.as_object().unwrap().keys().all(|name| names.contains(&name.as_str()) || name == "pdt_check"));
    }

    /// A period's unit is its last character, however many bytes it takes: `1€` and a
    /// lone multi-byte character are refused, not split inside a character (which panicked).
    #[test]
    fn periods_are_read_by_character() {
        assert_eq!(super::period_ms("2W").ok(), Some(Some(14 * super::DAY_MS)));
        assert_eq!(super::period_ms("all").ok(), Some(None));
        for bad in ["\u{80}", "1\u{80}", "€", "1€", "", "D", "1€D", "0D", "10000D"] {
            assert!(super::period_ms(bad).is_err(), "{bad:?}");
        }
    }

    /// A page token is an activity's id: its time comes back out of it exactly, and
    /// anything else is refused (not read as "no more pages").
    #[test]
    fn page_tokens_are_activity_ids() {
        let at = 1_796_142_914_872;
        let id = format!("{}::FILL{:020}", compact_time(at), 3);
        assert_eq!(activity_time(&id), Some(at));
        assert_eq!(activity_time(&format!("{}::CSD{:020}", compact_time(at), 12)), Some(at));
        for garbage in [
            "garbage",
            "",
            "::FILL00000000000000000003",
            "20261301163514872::FILL00000000000000000003",
            "20261201163514872::FILL3",
            "20261201163514872::BUY00000000000000000003",
        ] {
            assert_eq!(activity_time(garbage), None, "{garbage}");
        }
    }

    /// An account opened at 11:36:56 (worth 0, then funded), the store's snapshot of the
    /// 11:36 minute stamped 11:37:00.000, and the value now at 11:37:04: the 11:36 bar holds
    /// the minute's closing value, not the opening 0, and 11:37's is the value now.
    #[test]
    fn each_step_holds_the_value_at_its_end() {
        let minute = |m: i64, ms: i64| 1_796_124_960_000 + (m - 36) * 60_000 + ms;
        let history = [
            (minute(36, 56_500), Money::ZERO, Money::ZERO),
            (minute(37, 0), Money::from_units(99_998), Money::from_units(100_000)),
            (minute(37, 4_000), Money::from_units(99_997), Money::from_units(100_000)),
        ];
        let points = steps(&history, 0, 60);
        let start = |m: i64| minute(m, 0) / 1_000;
        assert_eq!(
            points,
            [
                (start(36), Money::from_units(99_998).raw(), Money::from_units(100_000).raw()),
                (start(37), Money::from_units(99_997).raw(), Money::from_units(100_000).raw())
            ]
        );
    }
}
