//! Trading sessions: when an instrument's market is open. Either around the clock (each
//! UTC day one session, ending at midnight, when DAY orders expire), on some weekdays
//! between two UTC times, written `mon-fri 14:30-21:00`, or the New York Stock Exchange's
//! calendar, `nyse`: 09:30-16:00 New York time on weekdays, its holidays closed and its
//! early closes at 13:00, daylight saving time followed.

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
    /// The New York Stock Exchange's regular session (`nyse`): 09:30-16:00 New York time on
    /// weekdays, its holidays and early closes (13:00) by today's rules for every year.
    Nyse,
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
        if text.eq_ignore_ascii_case("nyse") {
            return Ok(Self::Nyse);
        }
        let bad = || format!("session {text:?}: expected 24/7, nyse, or DAYS HH:MM-HH:MM in UTC (e.g. mon-fri 14:30-21:00), opening before closing");
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
                (days & (1 << weekday(day)) != 0).then(|| (day * DAY_MS + i64::from(open) * MINUTE_MS, day * DAY_MS + i64::from(close) * MINUTE_MS))
            }
            Self::Nyse => {
                let (open, close) = nyse::hours(day)?;
                let offset = i64::from(self.utc_offset_minutes(day));
                let instant = |minute: u16| day * DAY_MS + (i64::from(minute) - offset) * MINUTE_MS;
                Some((instant(open), instant(close)))
            }
        }
    }

    /// Minutes the session's own clock is ahead of UTC on UTC day `day` (0, or New York's
    /// -300 or -240 for `nyse`): the calendar shows a day's hours on that clock.
    pub fn utc_offset_minutes(&self, day: i64) -> i16 {
        match self {
            Self::Always | Self::Weekly { .. } => 0,
            Self::Nyse => nyse::new_york_offset_minutes(day),
        }
    }

    /// The day trades made on trading day `day` settle: the same day, or on the `nyse`
    /// calendar the next trading day (T+1, as US equities settle).
    pub fn settlement_day(&self, day: i64) -> i64 {
        match self {
            Self::Always | Self::Weekly { .. } => day,
            Self::Nyse => (day + 1..day + 8).find(|&next| nyse::hours(next).is_some()).unwrap_or(day + 1),
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
            Self::Nyse => formatter.write_str("nyse"),
            Self::Weekly { days, open, close } => {
                let names: Vec<&str> = (0..7).filter(|day| days & (1 << day) != 0).map(|day| DAY_NAMES[day]).collect();
                write!(formatter, "{} {:02}:{:02}-{:02}:{:02}", names.join(","), open / 60, open % 60, close / 60, close % 60)
            }
        }
    }
}

/// 0 for Monday to 6 for Sunday (1970-01-01 was a Thursday).
fn weekday(day: i64) -> u8 {
    (day + 3).rem_euclid(7) as u8
}

/// Days from 1970-01-01 to a date; `month` 13 is January of the next year.
fn days_from_civil(year: i64, month: u32, date: u32) -> i64 {
    let (year, month) = if month > 12 { (year + 1, month - 12) } else { (year, month) };
    tradecraft_types::days_from_civil(year, i64::from(month), i64::from(date))
}

/// The date (year, month, day of month) of day `day` after 1970-01-01.
fn civil(day: i64) -> (i64, u32, u32) {
    let (year, month, date) = tradecraft_types::civil_from_days(day);
    (year, month as u32, date as u32)
}

/// The New York Stock Exchange's calendar, from its rules (NYSE Rule 7.2): open 09:30 to
/// 16:00 New York time on weekdays; closed on New Year's Day, Martin Luther King Jr. Day,
/// Washington's Birthday, Good Friday, Memorial Day, Juneteenth, Independence Day, Labor
/// Day, Thanksgiving and Christmas, a holiday on a Saturday observed the Friday before
/// (but not New Year's Day, which would fall in the year before) and one on a Sunday the
/// Monday after; closing at 13:00 on July 3 and December 24 when they are Monday to
/// Thursday, and on the day after Thanksgiving. New York's clock is UTC-5, or UTC-4 from
/// the second Sunday of March to the first Sunday of November. Today's rules are applied
/// to every year; closures the exchange announces one at a time (national days of
/// mourning, storms) are not known.
mod nyse {
    use super::{civil, days_from_civil, weekday};

    /// Opening and closing minutes (New York time) on UTC day `day`, or `None` when the
    /// exchange is closed.
    pub(super) fn hours(day: i64) -> Option<(u16, u16)> {
        if weekday(day) >= 5 || holiday(day) {
            return None;
        }
        Some((9 * 60 + 30, if early_close(day) { 13 * 60 } else { 16 * 60 }))
    }

    /// New York's offset from UTC, in minutes, on day `day` (the offset of its trading
    /// hours: the clocks change at 02:00 on a Sunday).
    pub(super) fn new_york_offset_minutes(day: i64) -> i16 {
        let (year, _, _) = civil(day);
        let summer = nth_weekday(year, 3, SUNDAY, 2)..nth_weekday(year, 11, SUNDAY, 1);
        if summer.contains(&day) { -240 } else { -300 }
    }

    const MONDAY: u8 = 0;
    const THURSDAY: u8 = 3;
    const SUNDAY: u8 = 6;

    fn holiday(day: i64) -> bool {
        let (year, _, _) = civil(day);
        let fixed = |month, date| observed(days_from_civil(year, month, date));
        let new_year = days_from_civil(year, 1, 1);
        // On a Saturday New Year's Day is not observed (the Friday is in the year before).
        (weekday(new_year) != 5 && observed(new_year) == day)
            || day == nth_weekday(year, 1, MONDAY, 3)
            || day == nth_weekday(year, 2, MONDAY, 3)
            || day == easter(year) - 2
            || day == last_weekday(year, 5, MONDAY)
            || (year >= 2022 && day == fixed(6, 19))
            || day == fixed(7, 4)
            || day == nth_weekday(year, 9, MONDAY, 1)
            || day == nth_weekday(year, 11, THURSDAY, 4)
            || day == fixed(12, 25)
    }

    fn early_close(day: i64) -> bool {
        let (year, month, date) = civil(day);
        (((month, date) == (7, 3) || (month, date) == (12, 24)) && weekday(day) <= THURSDAY) || day == nth_weekday(year, 11, THURSDAY, 4) + 1
    }

    /// A holiday on a Saturday is observed the Friday before; on a Sunday, the Monday after.
    fn observed(day: i64) -> i64 {
        match weekday(day) {
            5 => day - 1,
            6 => day + 1,
            _ => day,
        }
    }

    /// The `n`th (from 1) `weekday` of a month.
    fn nth_weekday(year: i64, month: u32, weekday: u8, n: i64) -> i64 {
        let first = days_from_civil(year, month, 1);
        first + i64::from((weekday + 7 - self::weekday(first)) % 7) + 7 * (n - 1)
    }

    fn last_weekday(year: i64, month: u32, weekday: u8) -> i64 {
        let last = days_from_civil(year, month + 1, 1) - 1;
        last - i64::from((self::weekday(last) + 7 - weekday) % 7)
    }

    /// Easter Sunday of the Gregorian calendar (the anonymous algorithm of 1876).
    fn easter(year: i64) -> i64 {
        let (a, b, c) = (year % 19, year / 100, year % 100);
        let (d, e) = (b / 4, b % 4);
        let g = (8 * b + 13) / 25;
        let h = (19 * a + b - d - g + 15) % 30;
        let (i, k) = (c / 4, c % 4);
        let l = (32 + 2 * e + 2 * i - h - k) % 7;
        let m = (a + 11 * h + 19 * l) / 433;
        let month = (h + l - 7 * m + 90) / 25;
        let date = (h + l - 7 * m + 33 * month + 19) % 32;
        days_from_civil(year, month as u32, date as u32)
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

    fn day_of(text: &str) -> i64 {
        at(&format!("{text}T12:00:00Z")).millis().div_euclid(DAY_MS)
    }

    /// The weekdays of `year` the `nyse` calendar is closed, and those it closes early.
    fn nyse_year(year: i64) -> (Vec<String>, Vec<String>) {
        let (mut closed, mut early) = (Vec::new(), Vec::new());
        for day in days_from_civil(year, 1, 1)..days_from_civil(year + 1, 1, 1) {
            let date = Timestamp::from_millis(day * DAY_MS).to_string()[..10].to_owned();
            match nyse::hours(day) {
                None if weekday(day) < 5 => closed.push(date),
                Some((_, close)) if close != 16 * 60 => early.push(date),
                _ => {}
            }
        }
        (closed, early)
    }

    #[test]
    fn dates_and_day_numbers_convert_both_ways() {
        for day in -800_000..800_000 {
            let (year, month, date) = civil(day);
            assert_eq!(days_from_civil(year, month, date), day, "{year}-{month}-{date}");
        }
        assert_eq!(civil(day_of("2026-12-02")), (2026, 12, 2));
        assert_eq!(civil(day_of("2024-02-29")), (2024, 2, 29));
        assert_eq!(weekday(day_of("2026-12-02")), 2, "a Wednesday");
    }

    /// The exchange's published calendars (NYSE Group, 2024-11-08: the holidays and early
    /// closes of 2025, 2026 and 2027).
    #[test]
    fn the_nyse_calendar_is_the_exchanges_published_one() {
        let dates = |list: &[&str]| list.iter().map(|date| (*date).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            nyse_year(2025),
            (
                dates(&[
                    "2025-01-01",
                    "2025-01-20",
                    "2025-02-17",
                    "2025-04-18",
                    "2025-05-26",
                    "2025-06-19",
                    "2025-07-04",
                    "2025-09-01",
                    "2025-11-27",
                    "2025-12-25"
                ]),
                dates(&["2025-07-03", "2025-11-28", "2025-12-24"])
            )
        );
        assert_eq!(
            nyse_year(2026),
            (
                dates(&[
                    "2026-01-01",
                    "2026-01-19",
                    "2026-02-16",
                    "2026-04-03",
                    "2026-05-25",
                    "2026-06-19",
                    "2026-07-03",
                    "2026-09-07",
                    "2026-11-26",
                    "2026-12-25"
                ]),
                dates(&["2026-11-27", "2026-12-24"])
            )
        );
        assert_eq!(
            nyse_year(2027),
            (
                dates(&[
                    "2027-01-01",
                    "2027-01-18",
                    "2027-02-15",
                    "2027-03-26",
                    "2027-05-31",
                    "2027-06-18",
                    "2027-07-05",
                    "2027-09-06",
                    "2027-11-25",
                    "2027-12-24"
                ]),
                dates(&["2027-11-26"])
            )
        );
        // New Year's Day 2022 and 2028 are Saturdays: the Friday before stays open.
        assert!(nyse::hours(day_of("2021-12-31")).is_some());
        assert!(nyse::hours(day_of("2027-12-31")).is_some());
        // Juneteenth is a holiday from 2022.
        assert!(nyse::hours(day_of("2021-06-18")).is_some());
        assert!(nyse::hours(day_of("2024-06-19")).is_none());
        // Good Friday follows Easter: 2024-03-31, 2038-04-25.
        assert!(nyse::hours(day_of("2024-03-29")).is_none());
        assert!(nyse::hours(day_of("2038-04-23")).is_none());
        // July 3 on a Monday closes early (2023); Christmas Eve on a Monday too (2018).
        assert_eq!(nyse::hours(day_of("2023-07-03")), Some((570, 780)));
        assert_eq!(nyse::hours(day_of("2018-12-24")), Some((570, 780)));
    }

    #[test]
    fn the_nyse_session_follows_new_yorks_clock() {
        let session = Session::parse("NYSE").unwrap();
        assert_eq!(session, Session::Nyse);
        assert_eq!(Session::parse(&session.to_string()), Ok(session), "what it prints reads back");
        let hours = |date: &str| {
            let (open, close) = session.hours_on(day_of(date)).unwrap();
            (Timestamp::from_millis(open).to_string(), Timestamp::from_millis(close).to_string())
        };
        // Daylight saving time began on Sunday 2026-03-08 and ended on Sunday 2026-11-01.
        assert_eq!(hours("2026-03-06"), ("2026-03-06T14:30:00.000Z".to_owned(), "2026-03-06T21:00:00.000Z".to_owned()));
        assert_eq!(hours("2026-03-09"), ("2026-03-09T13:30:00.000Z".to_owned(), "2026-03-09T20:00:00.000Z".to_owned()));
        assert_eq!(hours("2026-10-30"), ("2026-10-30T13:30:00.000Z".to_owned(), "2026-10-30T20:00:00.000Z".to_owned()));
        assert_eq!(hours("2026-11-02"), ("2026-11-02T14:30:00.000Z".to_owned(), "2026-11-02T21:00:00.000Z".to_owned()));
        assert_eq!(hours("2026-12-24").1, "2026-12-24T18:00:00.000Z", "Christmas Eve closes at 13:00");
        assert_eq!(hours("2025-07-03").1, "2025-07-03T17:00:00.000Z", "13:00 in summer");
        assert_eq!((session.utc_offset_minutes(day_of("2026-07-01")), session.utc_offset_minutes(day_of("2026-12-01"))), (-240, -300));
        assert_eq!(Session::Always.utc_offset_minutes(day_of("2026-07-01")), 0);

        assert_eq!(session.session_at(at("2026-12-24T17:59:59Z")), Some(day_of("2026-12-24")));
        assert_eq!(session.session_at(at("2026-12-24T18:00:00Z")), None, "closed early");
        assert_eq!(session.session_at(at("2026-12-25T15:00:00Z")), None, "Christmas");
        // Christmas Eve afternoon: the next session is Monday the 28th.
        let (open, close) = session.next_open_and_close(at("2026-12-24T19:00:00Z")).unwrap();
        assert_eq!((open.to_string().as_str(), close.to_string().as_str()), ("2026-12-28T14:30:00.000Z", "2026-12-28T21:00:00.000Z"));
        // Trades settle the next trading day.
        assert_eq!(session.settlement_day(day_of("2026-12-24")), day_of("2026-12-28"));
        assert_eq!(session.settlement_day(day_of("2026-11-25")), day_of("2026-11-27"));
        assert_eq!(Session::Always.settlement_day(day_of("2026-12-24")), day_of("2026-12-24"));
    }
}
