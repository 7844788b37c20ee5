//! Timestamps: milliseconds since the Unix epoch, printed and parsed as ISO 8601 UTC
//! (`2025-04-02T10:30:00.123Z`), the form every event and API field uses.

use std::fmt;

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ISO 8601 timestamp (expected e.g. 2025-04-02T10:30:00.123Z): {0:?}")]
pub struct ParseTimestampError(pub String);

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Timestamp(pub i64);

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Days since the epoch of a proleptic Gregorian date, month 1 to 12 (Howard Hinnant's
/// algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date (year, month 1 to 12, day of month) `days` after the epoch.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Parses `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SS` with optional fraction (up to
    /// milliseconds are kept) and a `Z` or `±HH:MM` offset. Years 0000 to 9999.
    pub fn parse(text: &str) -> Result<Self, ParseTimestampError> {
        let error = || ParseTimestampError(text.to_owned());
        let bytes = text.as_bytes();
        let number = |range: std::ops::Range<usize>| -> Result<i64, ParseTimestampError> {
            let part = bytes.get(range).ok_or_else(error)?;
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return Err(error());
            }
            Ok(part.iter().fold(0_i64, |value, digit| value * 10 + i64::from(digit - b'0')))
        };
        let expect = |index: usize, wanted: u8| if bytes.get(index) == Some(&wanted) { Ok(()) } else { Err(error()) };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        expect(4, b'-')?;
        expect(7, b'-')?;
        if !(1..=12).contains(&month) || !(1..=days_in_month(year, month)).contains(&day) {
            return Err(error());
        }
        let mut millis = days_from_civil(year, month, day) * MILLIS_PER_DAY;
        if bytes.len() == 10 {
            return Ok(Self(millis));
        }
        if !matches!(bytes.get(10), Some(b'T' | b't' | b' ')) {
            return Err(error());
        }
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        expect(13, b':')?;
        expect(16, b':')?;
        if hour > 23 || minute > 59 || second > 59 {
            return Err(error());
        }
        millis += ((hour * 60 + minute) * 60 + second) * 1_000;
        let mut index = 19;
        if bytes.get(index) == Some(&b'.') {
            let start = index + 1;
            let mut end = start;
            while bytes.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            if end == start {
                return Err(error());
            }
            let digits = &bytes[start..end.min(start + 3)];
            let fraction = digits.iter().fold(0_i64, |value, digit| value * 10 + i64::from(digit - b'0'));
            millis += fraction * 10_i64.pow(3 - digits.len() as u32);
            index = end;
        }
        match bytes.get(index..) {
            Some(b"Z" | b"z") => Ok(Self(millis)),
            Some(&[sign @ (b'+' | b'-'), _, _, b':', _, _]) => {
                let (hours, minutes) = (number(index + 1..index + 3)?, number(index + 4..index + 6)?);
                if hours > 23 || minutes > 59 {
                    return Err(error());
                }
                let offset = (hours * 60 + minutes) * 60_000;
                Ok(Self(if sign == b'+' { millis - offset } else { millis + offset }))
            }
            _ => Err(error()),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MILLIS_PER_DAY);
        let in_day = self.0.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
        let (second, millis) = (in_day / 1_000 % 60, in_day % 1_000);
        write!(formatter, "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_iso_8601_utc_with_milliseconds() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp(1_743_589_800_123).to_string(), "2025-04-02T10:30:00.123Z");
        assert_eq!(Timestamp(951_782_400_000).to_string(), "2000-02-29T00:00:00.000Z");
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_the_forms_clients_send() {
        let expected = Timestamp(1_743_589_800_123);
        assert_eq!(Timestamp::parse("2025-04-02T10:30:00.123Z"), Ok(expected));
        assert_eq!(Timestamp::parse("2025-04-02T10:30:00.123456Z"), Ok(expected));
        assert_eq!(Timestamp::parse("2025-04-02T12:30:00.123+02:00"), Ok(expected));
        assert_eq!(Timestamp::parse("2025-04-02T05:30:00.123-05:00"), Ok(expected));
        assert_eq!(Timestamp::parse("2025-04-02T10:30:00Z"), Ok(Timestamp(1_743_589_800_000)));
        assert_eq!(Timestamp::parse("2025-04-02"), Ok(Timestamp(1_743_552_000_000)));
    }

    #[test]
    fn refuses_what_is_not_a_timestamp() {
        for bad in [
            "",
            "2025",
            "2025-13-01",
            "2025-02-30",
            "2023-02-29",
            "2025-04-02T24:00:00Z",
            "2025-04-02T10:30:00",
            "2025-04-02T10:30:00.Z",
            "2025-04-02T10:30Z",
            "yesterday",
            "2025-04-02T10:30:00+0200",
            "1743589800",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Timestamp::parse("2024-02-29").is_ok());
    }

    mod property_tests {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn display_round_trips(millis in -62_135_596_800_000_i64..253_402_300_799_999) {
                let timestamp = Timestamp(millis);
                prop_assert_eq!(Timestamp::parse(&timestamp.to_string()), Ok(timestamp));
            }
        }
    }
}
