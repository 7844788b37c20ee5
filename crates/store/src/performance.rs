//! Returns and risk from a series of portfolio values. Values are exact money; returns
//! and the ratios built on them are statistics, so they are `f64`.
//!
//! Returns are time-weighted: the return over an interval is `V1 / (V0 + F) - 1`, where
//! `F` is the cash deposited (minus withdrawn) during it, counted from its start, so
//! deposits are not profit and an account funded from nothing (`V0` = 0) has a return from
//! its first interval on.
//! Daily returns chain the intervals of each UTC day. Volatility, Sharpe and Sortino are
//! annualised over 365 days (the simulated market never closes), with a zero risk-free
//! rate; the maximum drawdown is the largest fall of the cumulative return index from
//! its running peak.

use tradecraft_types::{Money, Timestamp};

pub(crate) const DAY_MS: i64 = 86_400_000;
const DAYS_PER_YEAR: f64 = 365.0;

/// A portfolio value at a time, with the net cash that came in since the previous point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    pub at_ms: i64,
    /// Money raw.
    pub value: i64,
    pub flows: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DailyReturn {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    pub value: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Performance {
    pub start_value: Money,
    pub end_value: Money,
    pub net_flows: Money,
    pub total_return: f64,
    pub daily_returns: Vec<DailyReturn>,
    /// Annualised standard deviation of daily returns; needs two of them.
    pub volatility: Option<f64>,
    pub sharpe: Option<f64>,
    pub sortino: Option<f64>,
    /// As a positive fraction (0.25 = fell 25% from a peak).
    pub max_drawdown: f64,
    /// The portfolio values the figures come from: (Unix ms, value), oldest first.
    pub history: Vec<(i64, Money)>,
    /// Beside each of `history`'s values, the net flows (deposits less withdrawals) into
    /// the account since the first: what a value's profit or loss is net of.
    pub history_flows: Vec<Money>,
}

fn interval_return(previous: i64, point: &Point) -> Option<f64> {
    let invested = previous.saturating_add(point.flows);
    (invested > 0).then(|| point.value as f64 / invested as f64 - 1.0)
}

/// Performance over `points` (oldest first; the first is the starting value).
pub fn performance(points: &[Point]) -> Performance {
    let mut index = 1.0_f64;
    let mut peak = 1.0_f64;
    let mut max_drawdown = 0.0_f64;
    let mut daily: Vec<(i64, f64)> = Vec::new();
    for pair in points.windows(2) {
        let Some(change) = interval_return(pair[0].value, &pair[1]) else { continue };
        index *= 1.0 + change;
        peak = peak.max(index);
        if peak > 0.0 {
            max_drawdown = max_drawdown.max(1.0 - index / peak);
        }
        let day = pair[1].at_ms.div_euclid(DAY_MS);
        match daily.last_mut() {
            Some((last_day, growth)) if *last_day == day => *growth *= 1.0 + change,
            _ => daily.push((day, 1.0 + change)),
        }
    }
    let returns: Vec<f64> = daily.iter().map(|(_, growth)| growth - 1.0).collect();
    let (volatility, sharpe, sortino) = ratios(&returns);
    let first = points.first().copied().unwrap_or(Point { at_ms: 0, value: 0, flows: 0 });
    let last = points.last().copied().unwrap_or(first);
    Performance {
        start_value: Money::from_raw(first.value),
        end_value: Money::from_raw(last.value),
        net_flows: Money::from_raw(points.iter().skip(1).map(|point| point.flows).sum()),
        total_return: index - 1.0,
        daily_returns: daily
            .iter()
            .map(|(day, growth)| DailyReturn { date: Timestamp::from_millis(day * DAY_MS).to_string()[..10].to_owned(), value: growth - 1.0 })
            .collect(),
        volatility,
        sharpe,
        sortino,
        max_drawdown,
        history: points.iter().map(|point| (point.at_ms, Money::from_raw(point.value))).collect(),
        history_flows: points
            .iter()
            .enumerate()
            .scan(0_i64, |flows, (index, point)| {
                if index > 0 {
                    *flows = flows.saturating_add(point.flows);
                }
                Some(Money::from_raw(*flows))
            })
            .collect(),
    }
}

fn ratios(returns: &[f64]) -> (Option<f64>, Option<f64>, Option<f64>) {
    if returns.len() < 2 {
        return (None, None, None);
    }
    let count = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / count;
    let variance = returns.iter().map(|value| (value - mean).powi(2)).sum::<f64>() / (count - 1.0);
    let deviation = variance.sqrt();
    let downside = (returns.iter().map(|value| value.min(0.0).powi(2)).sum::<f64>() / count).sqrt();
    let annual = DAYS_PER_YEAR.sqrt();
    let sharpe = (deviation > 0.0).then(|| mean / deviation * annual);
    let sortino = (downside > 0.0).then(|| mean / downside * annual);
    (Some(deviation * annual), sharpe, sortino)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(day: i64, value: i64, flows: i64) -> Point {
        Point { at_ms: day * DAY_MS + 1, value: value * 100_000_000, flows: flows * 100_000_000 }
    }

    #[test]
    fn deposits_are_not_returns() {
        // 1000 -> 1100 (+10%), then 500 deposited and the value ends at 1600: 0% that day.
        let result = performance(&[point(0, 1000, 0), point(1, 1100, 0), point(2, 1600, 500)]);
        assert!((result.total_return - 0.10).abs() < 1e-12, "{result:?}");
        assert_eq!(result.daily_returns.len(), 2);
        assert!((result.daily_returns[0].value - 0.10).abs() < 1e-12);
        assert!(result.daily_returns[1].value.abs() < 1e-12);
        assert_eq!(result.daily_returns[0].date, "1970-01-02");
        assert_eq!(result.net_flows, Money::from_raw(500 * 100_000_000));
    }

    #[test]
    fn drawdown_sharpe_and_sortino_follow_their_definitions() {
        // +10%, -20%, +5%: index 1.1, 0.88, 0.924; peak 1.1, drawdown 0.2.
        let result = performance(&[point(0, 1000, 0), point(1, 1100, 0), point(2, 880, 0), point(3, 924, 0)]);
        assert!((result.max_drawdown - 0.2).abs() < 1e-12);
        let returns = [0.10, -0.20, 0.05];
        let mean = returns.iter().sum::<f64>() / 3.0;
        let deviation = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        let downside = (0.04_f64 / 3.0).sqrt();
        assert!((result.sharpe.unwrap() - mean / deviation * 365_f64.sqrt()).abs() < 1e-9);
        assert!((result.sortino.unwrap() - mean / downside * 365_f64.sqrt()).abs() < 1e-9);
        assert!((result.total_return - (0.924 - 1.0)).abs() < 1e-12);
    }

    #[test]
    fn too_little_history_has_no_ratios() {
        let result = performance(&[point(0, 1000, 0)]);
        assert_eq!((result.volatility, result.sharpe, result.sortino), (None, None, None));
        assert_eq!(result.total_return, 0.0);
        assert_eq!(result.max_drawdown, 0.0);
    }
}
