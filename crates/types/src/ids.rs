//! Identifiers and small inline strings: symbols, accounts, orders, trades, client order ids.

use std::fmt;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("symbol must be 1 to {max} characters of A-Z, 0-9, '.', '-' or '_': {text:?}")]
    Symbol { text: String, max: usize },
    #[error("client order id must be 1 to {max} printable ASCII characters: {text:?}")]
    ClientOrderId { text: String, max: usize },
}

macro_rules! numeric_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "{}", self.0)
            }
        }
    };
}

numeric_id!(
    /// A trading account (cash or house).
    AccountId
);
numeric_id!(
    /// An order, assigned by the gateway before the order reaches the engine.
    OrderId
);
numeric_id!(
    /// A trade (one fill between a maker and a taker), assigned by the engine in sequence.
    TradeId
);
numeric_id!(
    /// A deposit or withdrawal, which is applied at most once.
    TransactionId
);

/// Buy or sell.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub const fn opposite(self) -> Self {
        match self {
            Self::Buy => Self::Sell,
            Self::Sell => Self::Buy,
        }
    }

    /// The wire spelling of seed 000: `BUY` or `SELL`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "BUY",
            Self::Sell => "SELL",
        }
    }
}

/// A fixed-capacity ASCII string stored inline, so ids stay `Copy` and allocation-free.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct InlineText<const N: usize> {
    length: u8,
    bytes: [u8; N],
}

impl<const N: usize> InlineText<N> {
    fn new(text: &str, allowed: impl Fn(u8) -> bool) -> Option<Self> {
        let source = text.as_bytes();
        if source.is_empty() || source.len() > N || !source.iter().all(|&byte| allowed(byte)) {
            return None;
        }
        let mut bytes = [0_u8; N];
        bytes[..source.len()].copy_from_slice(source);
        Some(Self { length: source.len() as u8, bytes })
    }

    fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored, so this cannot fail.
        std::str::from_utf8(&self.bytes[..usize::from(self.length)]).unwrap_or_default()
    }
}

/// An instrument symbol such as `MOCKAAPL`: upper-case letters, digits, '.', '-', '_'.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Symbol(InlineText<{ Symbol::MAX_LENGTH }>);

impl Symbol {
    pub const MAX_LENGTH: usize = 15;

    pub fn new(text: &str) -> Result<Self, IdError> {
        let allowed = |byte: u8| byte.is_ascii_uppercase() || byte.is_ascii_digit() || b".-_".contains(&byte);
        InlineText::new(text, allowed).map(Self).ok_or_else(|| IdError::Symbol { text: text.to_owned(), max: Self::MAX_LENGTH })
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A client's own id for an order, unique among that account's open orders. Held on the
/// heap: most orders have none, and an inline 128 bytes would grow every command and event
/// that can carry one (`Option` of this is one pointer and a length).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientOrderId(Box<str>);

impl ClientOrderId {
    /// Alpaca's longest.
    pub const MAX_LENGTH: usize = 128;

    pub fn new(text: &str) -> Result<Self, IdError> {
        if text.is_empty() || text.len() > Self::MAX_LENGTH || !text.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(IdError::ClientOrderId { text: text.to_owned(), max: Self::MAX_LENGTH });
        }
        Ok(Self(text.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientOrderId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl fmt::Debug for ClientOrderId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:?}", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_checked() {
        assert_eq!(Symbol::new("MOCKAAPL").unwrap().as_str(), "MOCKAAPL");
        assert_eq!(Symbol::new("BRK.B").unwrap().to_string(), "BRK.B");
        assert!(Symbol::new("").is_err());
        assert!(Symbol::new("aapl").is_err());
        assert!(Symbol::new("ABCDEFGHIJKLMNOP").is_err());
    }

    #[test]
    fn client_order_ids_are_checked() {
        assert_eq!(ClientOrderId::new("bot-7/42").unwrap().as_str(), "bot-7/42");
        assert!(ClientOrderId::new("has space").is_err());
        assert!(ClientOrderId::new(&"x".repeat(129)).is_err());
        assert_eq!(ClientOrderId::new(&"x".repeat(128)).unwrap().as_str().len(), 128);
    }
}
