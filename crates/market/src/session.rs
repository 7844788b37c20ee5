//! Trading sessions: when an instrument's market is open. Either around the clock (each
//! UTC day one session, ending at midnight, when DAY orders expire), or on some weekdays
//! between two UTC times, written `mon-fri 14:30-21:00`.

use std::collections::BTreeMap;
use std::fmt;

use tradecraft_types::{Symbol, Timestamp};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// When a market trades.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Session {
    /// Always open; each UTC day is a session of its own (`24/7`).
    #[default]
    Always,
    /// Open on the days in `days` (bit 0 Monday .. bit 6 Sunday) from `open` to `close`,
    /// minutes after UTC midnight, `open < close`.
    Weekly { days: u8, open: u16, close: u16 },
}

fn minute_of_day(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    let (hours, minutes): (u16, u16) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours < 24 && minutes < 60 && text.len() == 5).then_some(hours * 60 + minutes)
}

fn day_index(text: &str) -> Option<u8> {
    DAY_NAMES.iter().position(|name| name.eq_ignore_ascii_case(text)).map(|index| index as u8)
}

/// Days as a bit set: `mon-fri`, `sat,sun`, `mon,wed-fri` or `daily`.
fn parse_days(text: &str) -> Option<u8> {
    if text.eq_ignore_ascii_case("daily") {
        return Some(0x7f);
    }
    let mut days = 0_u8;
    for part in text.split(',') {
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (day_index(first)?, day_index(last)?);
                if first > last {
                    return None;
                }
                days |= (first..=last).fold(0, |bits, day| bits | (1 << day));
            }
            None => days |= 1 << day_index(part)?,
        }
    }
    (days != 0).then_some(days)
}

impl Session {
    /// `24/7` (or `always`), or `DAYS HH:MM-HH:MM` in UTC, e.g. `mon-fri 14:30-21:00`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "24/7" || text.eq_ignore_ascii_case("always") {
            return Ok(Self::Always);
        }
        let bad = || format!("session {text:?}: expected 24/7 or DAYS HH:MM-HH:MM in UTC (e.g. mon-fri 14:30-21:00), opening before closing");
        let (days, hours) = text.split_once(' ').ok_or_else(bad)?;
        let days = parse_days(days.trim()).ok_or_else(bad)?;
        let (open, close) = hours.trim().split_once('-').ok_or_else(bad)?;
        let (open, close) = (minute_of_day(open).ok_or_else(bad)?, minute_of_day(close).ok_or_else(bad)?);
        if open >= close {
            return Err(bad());
        }
        Ok(Self::Weekly { days, open, close })
    }

    /// The session `at` falls in, numbered by its UTC day; `None` while the market is closed.
    pub fn session_at(&self, at: Timestamp) -> Option<i64> {
        let day = at.millis().div_euclid(DAY_MS);
        let (open, close) = self.hours_on(day)?;
        (open..close).contains(&at.millis()).then_some(day)
    }

    /// Opening and closing instants (milliseconds) of the session on UTC day `day`, if the
    /// market trades that day.
    pub fn hours_on(&self, day: i64) -> Option<(i64, i64)> {
        match *self {
            Self::Always => Some((day * DAY_MS, (day + 1) * DAY_MS)),
            Self::Weekly { days, open, close } => {
                // 1970-01-01 was a Thursday (index 3).
                let weekday = (day + 3).rem_euclid(7) as u8;
                (days & (1 << weekday) != 0).then(|| (day * DAY_MS + i64::from(open) * MINUTE_MS, day * DAY_MS + i64::from(close) * MINUTE_MS))
            }
        }
    }

    /// The next opening and closing after `at` (the current session's close if open).
    /// `None` for a calendar with no trading day (never: `parse` refuses one).
    pub fn next_open_and_close(&self, at: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let today = at.millis().div_euclid(DAY_MS);
        let sessions = || (today..today + 8).filter_map(|day| self.hours_on(day));
        let next_open = sessions().map(|(open, _)| open).find(|&open| open > at.millis())?;
        let next_close = sessions().map(|(_, close)| close).find(|&close| close > at.millis())?;
        Some((Timestamp::from_millis(next_open), Timestamp::from_millis(next_close)))
    }
}

impl fmt::Display for Session {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Always => formatter.write_str("24/7"),
            Self::Weekly { days, open, close } => {
                let names: Vec<&str> = (0..7).filter(|day| days & (1 << day) != 0).map(|day| DAY_NAMES[day]).collect();
                write!(formatter, "{} {:02}:{:02}-{:02}:{:02}", names.join(","), open / 60, open % 60, close / 60, close % 60)
            }
        }
    }
}

/// The session of every instrument: a default and per-symbol exceptions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionCalendar {
    pub default: Session,
    pub symbols: BTreeMap<Symbol, Session>,
}

impl SessionCalendar {
    pub fn session(&self, symbol: Symbol) -> Session {
        self.symbols.get(&symbol).copied().unwrap_or(self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn sessions_parse_and_print() {
        assert_eq!(Session::parse("24/7"), Ok(Session::Always));
        let weekdays = Session::parse("mon-fri 14:30-21:00").unwrap();
        assert_eq!(weekdays, Session::Weekly { days: 0b1_1111, open: 870, close: 1260 });
        assert_eq!(weekdays.to_string(), "mon,tue,wed,thu,fri 14:30-21:00");
        assert_eq!(Session::parse(&weekdays.to_string()), Ok(weekdays), "what it prints reads back");
        assert_eq!(Session::parse("sat,sun 00:00-23:59").unwrap(), Session::Weekly { days: 0b110_0000, open: 0, close: 1439 });
        for bad in ["", "mon-fri", "fri-mon 09:00-17:00", "mon-fri 17:00-09:00", "mon-fri 9:00-17:00", "mon-fri 09:00-24:00", "someday 09:00-10:00"] {
            assert!(Session::parse(bad).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn a_weekly_session_is_open_on_its_days_between_its_hours() {
        let session = Session::parse("mon-fri 14:30-21:00").unwrap();
        // 2026-11-30 is a Monday.
        assert_eq!(session.session_at(at("2026-11-30T14:29:59Z")), None);
        let monday = session.session_at(at("2026-11-30T14:30:00Z")).unwrap();
        assert_eq!(session.session_at(at("2026-11-30T20:59:59Z")), Some(monday));
        assert_eq!(session.session_at(at("2026-11-30T21:00:00Z")), None, "closed at the close");
        assert_eq!(session.session_at(at("2026-12-01T15:00:00Z")), Some(monday + 1), "Tuesday is the next session");
        assert_eq!(session.session_at(at("2026-12-05T15:00:00Z")), None, "Saturday");
        let (open, close) = session.next_open_and_close(at("2026-12-04T22:00:00Z")).unwrap();
        assert_eq!((open.to_string().as_str(), close.to_string().as_str()), ("2026-12-07T14:30:00.000Z", "2026-12-07T21:00:00.000Z"), "Friday night: Monday");
        let (open, close) = session.next_open_and_close(at("2026-11-30T15:00:00Z")).unwrap();
        assert_eq!((open.to_string().as_str(), close.to_string().as_str()), ("2026-12-01T14:30:00.000Z", "2026-11-30T21:00:00.000Z"));
    }

    #[test]
    fn around_the_clock_each_utc_day_is_a_session() {
        let session = Session::Always;
        let day = session.session_at(at("2026-11-30T23:59:59Z")).unwrap();
        assert_eq!(session.session_at(at("2026-12-01T00:00:00Z")), Some(day + 1));
        let (open, close) = session.next_open_and_close(at("2026-11-30T12:00:00Z")).unwrap();
        assert_eq!(open, close, "it closes and opens again at midnight");
        assert_eq!(close.to_string(), "2026-12-01T00:00:00.000Z");
    }
}
