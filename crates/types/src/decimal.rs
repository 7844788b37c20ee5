//! Fixed-point decimal newtypes: parsing from decimal strings and exact printing.

use std::fmt;

/// Decimal places of a [`Price`]: raw 1 means 0.0001.
pub const PRICE_DECIMALS: u32 = 4;
/// Decimal places of a [`Quantity`]: raw 1 means 0.0001 shares (fractional shares).
pub const QUANTITY_DECIMALS: u32 = 4;
/// Decimal places of [`Money`]; price x quantity lands exactly on this grid.
pub const MONEY_DECIMALS: u32 = PRICE_DECIMALS + QUANTITY_DECIMALS;

/// Why a decimal string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseDecimalError {
    #[error("empty number")]
    Empty,
    #[error("not a decimal number: {0:?}")]
    Syntax(String),
    #[error("{value:?} has more than {decimals} decimal places")]
    TooPrecise { value: String, decimals: u32 },
    #[error("{0:?} is out of range")]
    OutOfRange(String),
}

/// Parses `text` as a decimal with at most `decimals` places into a raw scaled integer.
fn parse_scaled(text: &str, decimals: u32) -> Result<i64, ParseDecimalError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ParseDecimalError::Empty);
    }
    let (negative, unsigned) = match trimmed.as_bytes()[0] {
        b'-' => (true, &trimmed[1..]),
        b'+' => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (unsigned, ""),
    };
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return Err(ParseDecimalError::Syntax(text.to_owned()));
    }
    let fraction_digits = fraction.trim_end_matches('0');
    if fraction_digits.len() > decimals as usize {
        return Err(ParseDecimalError::TooPrecise { value: text.to_owned(), decimals });
    }
    let out_of_range = || ParseDecimalError::OutOfRange(text.to_owned());
    let mut raw: i128 = 0;
    for byte in whole.bytes().chain(fraction_digits.bytes()) {
        raw = raw * 10 + i128::from(byte - b'0');
        if raw > i128::from(i64::MAX) {
            return Err(out_of_range());
        }
    }
    raw *= 10_i128.pow(decimals - fraction_digits.len() as u32);
    if negative {
        raw = -raw;
    }
    i64::try_from(raw).map_err(|_| out_of_range())
}

/// Writes a raw scaled integer as an exact decimal, trimming trailing zeros of the fraction.
fn format_scaled(raw: i64, decimals: u32, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
    let scale = 10_u64.pow(decimals);
    let magnitude = raw.unsigned_abs();
    let sign = if raw < 0 { "-" } else { "" };
    let whole = magnitude / scale;
    let fraction = magnitude % scale;
    if fraction == 0 {
        return write!(formatter, "{sign}{whole}");
    }
    let digits = format!("{fraction:0width$}", width = decimals as usize);
    write!(formatter, "{sign}{whole}.{}", digits.trim_end_matches('0'))
}

macro_rules! fixed_point {
    ($(#[$meta:meta])* $name:ident, $decimals:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(i64);

        impl $name {
            pub const ZERO: Self = Self(0);
            pub const DECIMALS: u32 = $decimals;
            /// Raw units per whole unit.
            pub const SCALE: i64 = 10_i64.pow($decimals);

            /// Wraps a raw scaled integer.
            pub const fn from_raw(raw: i64) -> Self {
                Self(raw)
            }

            /// The raw scaled integer.
            pub const fn raw(self) -> i64 {
                self.0
            }

            /// Whole units, for literals in tests and configuration.
            pub const fn from_units(units: i64) -> Self {
                Self(units * Self::SCALE)
            }

            /// Parses an exact decimal string; refuses more decimal places than the grid has.
            pub fn parse(text: &str) -> Result<Self, ParseDecimalError> {
                parse_scaled(text, $decimals).map(Self)
            }

            pub const fn is_positive(self) -> bool {
                self.0 > 0
            }

            pub fn checked_add(self, other: Self) -> Option<Self> {
                self.0.checked_add(other.0).map(Self)
            }

            pub fn checked_sub(self, other: Self) -> Option<Self> {
                self.0.checked_sub(other.0).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                format_scaled(self.0, $decimals, formatter)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, formatter)
            }
        }

        impl std::str::FromStr for $name {
            type Err = ParseDecimalError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text)
            }
        }
    };
}

fixed_point!(
    /// A price on the global 4-decimal grid; instruments narrow it with a tick size.
    Price,
    PRICE_DECIMALS
);
fixed_point!(
    /// A share quantity on the global 4-decimal grid; instruments narrow it with a lot size.
    Quantity,
    QUANTITY_DECIMALS
);
fixed_point!(
    /// Cash on the 8-decimal grid, so that price x quantity is always exact.
    Money,
    MONEY_DECIMALS
);

impl Money {
    /// One cent.
    pub const CENT: Self = Self::from_raw(10_i64.pow(MONEY_DECIMALS - 2));

    /// Whether this is a whole number of cents, as cash and money limits are given.
    pub const fn is_whole_cents(self) -> bool {
        self.raw() % Self::CENT.raw() == 0
    }
}

/// Exact `price * quantity`, or `None` when it does not fit in [`Money`].
pub fn notional(price: Price, quantity: Quantity) -> Option<Money> {
    let product = i128::from(price.raw()) * i128::from(quantity.raw());
    i64::try_from(product).ok().map(Money::from_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_cents() {
        for (text, whole) in [("0", true), ("12.34", true), ("-5.1", true), ("0.001", false), ("12.345", false), ("0.00000001", false)] {
            assert_eq!(Money::parse(text).unwrap().is_whole_cents(), whole, "{text}");
        }
    }

    #[test]
    fn parses_and_prints_exactly() {
        let price = Price::parse("150.75").unwrap();
        assert_eq!(price.raw(), 1_507_500);
        assert_eq!(price.to_string(), "150.75");
        assert_eq!(Price::parse("0.0001").unwrap().raw(), 1);
        assert_eq!(Price::parse("12").unwrap().to_string(), "12");
        assert_eq!(Price::parse("12.").unwrap().to_string(), "12");
        assert_eq!(Price::parse(".5").unwrap().to_string(), "0.5");
        assert_eq!(Price::parse("1.50000000").unwrap().raw(), 15_000);
        assert_eq!(Money::parse("-3.25").unwrap().to_string(), "-3.25");
    }

    #[test]
    fn refuses_bad_text() {
        assert_eq!(Price::parse(""), Err(ParseDecimalError::Empty));
        assert!(matches!(Price::parse("1.2.3"), Err(ParseDecimalError::Syntax(_))));
        assert!(matches!(Price::parse("1e5"), Err(ParseDecimalError::Syntax(_))));
        assert!(matches!(Price::parse("."), Err(ParseDecimalError::Syntax(_))));
        assert!(matches!(Price::parse("0.00001"), Err(ParseDecimalError::TooPrecise { .. })));
        assert!(matches!(Price::parse("99999999999999999999"), Err(ParseDecimalError::OutOfRange(_))));
    }

    #[test]
    fn notional_is_exact_and_checked() {
        let value = notional(Price::parse("150.75").unwrap(), Quantity::parse("2.5").unwrap());
        assert_eq!(value.unwrap().to_string(), "376.875");
        assert_eq!(notional(Price::from_raw(i64::MAX), Quantity::from_raw(2)), None);
    }

    mod property_tests {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn display_round_trips(raw in any::<i64>()) {
                let money = Money::from_raw(raw);
                prop_assert_eq!(Money::parse(&money.to_string()), Ok(money));
            }
        }
    }
}
