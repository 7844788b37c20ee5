//! `/v1beta1/screener/...`: Alpaca's screener over TradeCraft's market, so `alpaca-py`'s
//! `ScreenerClient` (given `url_override`) finds the most active symbols of the day and the
//! day's biggest movers. The day is the UTC day, as on `/v2/positions`: a mover's change is
//! its latest price against its close of the last day before today that it had a price
//! (`lastday_price` there), so both surfaces give one figure. As in Alpaca's data API the
//! figures are JSON numbers: display data, never used for money here.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use tradecraft_market::Interval;
use tradecraft_types::{Price, Symbol};
use utoipa::IntoParams;

use crate::alpaca::invalid_parameter as bad;
use crate::alpaca_data::number;
use crate::extract::Query;
use crate::routes::{now, query};
use crate::{ApiError, Shared};

/// Most active symbols given at most, and movers on each side at most (as Alpaca).
const ACTIVES_MAX: usize = 100;
const MOVERS_MAX: usize = 50;
const TOP_DEFAULT: usize = 10;

fn top(text: Option<&str>, most: usize) -> Result<usize, ApiError> {
    match text {
        None => Ok(TOP_DEFAULT),
        Some(text) => text.parse().ok().filter(|top| (1..=most).contains(top)).ok_or_else(|| bad(format!("top must be 1 to {most}"))),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ActivesParams {
    /// `volume` (default: shares traded today) or `trades` (trades today).
    #[param(value_type = Option<String>, pattern = "^(volume|trades)$")]
    by: Option<String>,
    /// How many, 1 to 100 (default 10).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    top: Option<String>,
}

/// One symbol's day: (shares traded, trades).
type Activity = (tradecraft_types::Quantity, u64);

/// The `top` most active of `days`, by volume or by trades, ties by symbol; symbols that
/// have not traded today are not among them.
fn most_active(days: &BTreeMap<Symbol, Activity>, by_trades: bool, top: usize) -> Vec<(Symbol, Activity)> {
    let mut ranked: Vec<(Symbol, Activity)> = days.iter().filter(|(_, (_, trades))| *trades > 0).map(|(symbol, day)| (*symbol, *day)).collect();
    ranked.sort_by(|(left, (left_volume, left_trades)), (right, (right_volume, right_trades))| {
        let order = if by_trades { right_trades.cmp(left_trades) } else { right_volume.cmp(left_volume) };
        order.then_with(|| left.cmp(right))
    });
    ranked.truncate(top);
    ranked
}

/// The day's most active symbols (Alpaca's `GET /v1beta1/screener/stocks/most-actives`).
#[utoipa::path(get, path = "/v1beta1/screener/stocks/most-actives", tag = "alpaca", params(ActivesParams),
    responses((status = 200, description = "`{\"most_actives\": [{symbol, volume, trade_count}], \"last_updated\"}`, most active first; only symbols that traded today (UTC).", body = Object)))]
pub(crate) async fn most_actives(State(state): State<Shared>, Query(params): Query<ActivesParams>) -> Result<Json<Value>, ApiError> {
    let by_trades = match params.by.as_deref() {
        None | Some("volume") => false,
        Some("trades") => true,
        Some(other) => return Err(bad(format!("by {other:?} is not offered: volume or trades"))),
    };
    let top = top(params.top.as_deref(), ACTIVES_MAX)?;
    let symbols: Vec<Symbol> = query(&state, |engine| engine.symbols().collect()).await?;
    let day = Interval::parse("1d").ok_or_else(|| ApiError::Internal("interval".to_owned()))?;
    let at = now();
    let today = crate::alpaca::utc_day_start(at.millis());
    let days: BTreeMap<Symbol, Activity> = {
        let view = state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))?;
        symbols
            .into_iter()
            .filter_map(|symbol| view.candles.candles(symbol, day, today, i64::MAX, 1).last().map(|candle| (symbol, (candle.volume, candle.trades))))
            .collect()
    };
    let actives: Vec<Value> = most_active(&days, by_trades, top)
        .into_iter()
        .map(|(symbol, (volume, trades))| json!({"symbol": symbol.as_str(), "volume": number(&volume.to_string()), "trade_count": trades}))
        .collect();
    Ok(Json(json!({"most_actives": actives, "last_updated": at.to_string()})))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MoversParams {
    /// How many gainers and how many losers, 1 to 50 (default 10).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 50)]
    top: Option<String>,
}

/// A mover: its latest price, the change from its last close and that change in percent
/// of the close, in hundredths (exact integers; shown as numbers).
#[derive(Debug, PartialEq, Eq)]
struct Mover {
    symbol: String,
    price: Price,
    change: i128,
    percent_hundredths: i128,
}

/// The `top` gainers (largest rise in percent first) and losers (largest fall first) of
/// the symbols with a latest price and an earlier close; ties by symbol.
fn movers(latest: &BTreeMap<String, Price>, closes: &BTreeMap<String, Price>, top: usize) -> (Vec<Mover>, Vec<Mover>) {
    let mut moved: Vec<Mover> = latest
        .iter()
        .filter_map(|(symbol, price)| {
            let close = i128::from(closes.get(symbol)?.raw());
            let change = i128::from(price.raw()) - close;
            (close > 0 && change != 0).then(|| Mover { symbol: symbol.clone(), price: *price, change, percent_hundredths: change * 10_000 / close })
        })
        .collect();
    moved.sort_by(|left, right| right.percent_hundredths.cmp(&left.percent_hundredths).then_with(|| left.symbol.cmp(&right.symbol)));
    let losers_from = moved.iter().position(|mover| mover.change < 0).unwrap_or(moved.len());
    let mut losers = moved.split_off(losers_from);
    losers.sort_by(|left, right| left.percent_hundredths.cmp(&right.percent_hundredths).then_with(|| left.symbol.cmp(&right.symbol)));
    moved.truncate(top);
    losers.truncate(top);
    (moved, losers)
}

fn mover_json(mover: &Mover) -> Value {
    json!({
        "symbol": mover.symbol,
        "price": number(&mover.price.to_string()),
        "change": number(&tradecraft_store::decimal(mover.change, 4)),
        "percent_change": number(&tradecraft_store::decimal(mover.percent_hundredths, 2)),
    })
}

/// The day's biggest movers (Alpaca's `GET /v1beta1/screener/{market_type}/movers`):
/// `stocks` only, the one market type TradeCraft lists.
#[utoipa::path(get, path = "/v1beta1/screener/{market_type}/movers", tag = "alpaca",
    params(("market_type" = String, Path, pattern = "^stocks$", description = "`stocks`."), MoversParams),
    responses((status = 200, description = "`{\"gainers\": [{symbol, percent_change, change, price}], \"losers\": [...], \"market_type\": \"stocks\", \"last_updated\"}`: the latest price against the last close before today (UTC), as `/v2/positions`' `change_today`.", body = Object)))]
pub(crate) async fn market_movers(
    State(state): State<Shared>,
    Path(market_type): Path<String>,
    Query(params): Query<MoversParams>,
) -> Result<Json<Value>, ApiError> {
    if market_type != "stocks" {
        return Err(bad(format!("market type {market_type:?} is not offered: TradeCraft lists stocks")));
    }
    let top = top(params.top.as_deref(), MOVERS_MAX)?;
    let at = now();
    let today = crate::alpaca::utc_day_start(at.millis());
    let (latest, closes) = crate::reads::ask(&state, move |store| Ok((store.latest_prices()?, store.previous_closes(today)?))).await?;
    let (gainers, losers) = movers(&latest, &closes, top);
    Ok(Json(json!({
        "gainers": gainers.iter().map(mover_json).collect::<Vec<_>>(),
        "losers": losers.iter().map(mover_json).collect::<Vec<_>>(),
        "market_type": "stocks",
        "last_updated": at.to_string(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradecraft_types::Quantity;

    fn prices(pairs: &[(&str, &str)]) -> BTreeMap<String, Price> {
        pairs.iter().map(|(symbol, price)| ((*symbol).to_owned(), Price::parse(price).unwrap())).collect()
    }

    /// Gainers by percent (not by amount), losers by the deepest fall, only symbols with a
    /// close before today and a change; `top` bounds each side.
    #[test]
    fn movers_rank_by_percent_from_the_last_close() {
        let latest = prices(&[("A", "110"), ("B", "12"), ("C", "90"), ("D", "50"), ("E", "30"), ("F", "7.5")]);
        let closes = prices(&[("A", "100"), ("B", "10"), ("C", "100"), ("D", "50"), ("F", "10")]);
        let (gainers, losers) = movers(&latest, &closes, 10);
        let named = |movers: &[Mover]| movers.iter().map(|mover| (mover.symbol.clone(), mover.percent_hundredths)).collect::<Vec<_>>();
        // B rose 2 (20 %), A 10 (10 %): B first. D did not move, E has no close.
        assert_eq!(named(&gainers), vec![("B".to_owned(), 2_000), ("A".to_owned(), 1_000)]);
        assert_eq!(named(&losers), vec![("F".to_owned(), -2_500), ("C".to_owned(), -1_000)]);
        assert_eq!(mover_json(&losers[0]), json!({"symbol": "F", "price": 7.5, "change": -2.5, "percent_change": -25}));
        let (gainers, losers) = movers(&latest, &closes, 1);
        assert_eq!((named(&gainers), named(&losers)), (vec![("B".to_owned(), 2_000)], vec![("F".to_owned(), -2_500)]));
    }

    #[test]
    fn the_most_active_are_ranked_by_volume_or_by_trades() {
        let symbol = |text: &str| Symbol::new(text).unwrap();
        let days: BTreeMap<Symbol, Activity> = [
            (symbol("A"), (Quantity::from_units(500), 2)),
            (symbol("B"), (Quantity::from_units(100), 9)),
            (symbol("C"), (Quantity::from_units(500), 4)),
            (symbol("D"), (Quantity::ZERO, 0)),
        ]
        .into_iter()
        .collect();
        let names = |ranked: Vec<(Symbol, Activity)>| ranked.into_iter().map(|(symbol, _)| symbol.as_str().to_owned()).collect::<Vec<_>>();
        assert_eq!(names(most_active(&days, false, 10)), ["A", "C", "B"]);
        assert_eq!(names(most_active(&days, true, 2)), ["B", "C"]);
    }
}
