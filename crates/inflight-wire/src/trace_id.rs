//! A trace id in its text form, as the API and `traceparent` write it.

use std::fmt;
use std::str::FromStr;

/// A W3C trace id: 32 lowercase hex digits, not all zero.
///
/// ```
/// use inflight_wire::TraceId;
///
/// let trace: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
/// assert_eq!(trace.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!("4BF92F3577B34DA6A3CE929D0E0E4736".parse::<TraceId>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(String);

impl TraceId {
    /// The 32 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a trace id did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseTraceIdError(());

impl fmt::Display for ParseTraceIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected 32 lowercase hex digits, not all zero")
    }
}

impl std::error::Error for ParseTraceIdError {}

impl FromStr for TraceId {
    type Err = ParseTraceIdError;

    fn from_str(text: &str) -> Result<TraceId, ParseTraceIdError> {
        let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
        let bytes = text.as_bytes();
        if bytes.len() == 32 && bytes.iter().all(hex) && bytes.iter().any(|b| *b != b'0') {
            Ok(TraceId(text.to_owned()))
        } else {
            Err(ParseTraceIdError(()))
        }
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({})", self.0)
    }
}

impl PartialEq<str> for TraceId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<String> for TraceId {
    fn eq(&self, other: &String) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_32_lowercase_hex_digits() {
        let text = "0af7651916cd43dd8448eb211c80319c";
        let trace: TraceId = text.parse().unwrap();
        assert_eq!(trace.as_str(), text);
        assert!(trace == *text);
    }

    #[test]
    fn rejects_others() {
        for bad in [
            "",
            "0af7651916cd43dd8448eb211c80319",
            "0af7651916cd43dd8448eb211c80319cc",
            "0AF7651916CD43DD8448EB211C80319C",
            "0af7651916cd43dd8448eb211c80319g",
            "00000000000000000000000000000000",
            "0af7651916cd43dd8448eb211c8031é",
        ] {
            assert_eq!(
                bad.parse::<TraceId>(),
                Err(ParseTraceIdError(())),
                "{bad:?}"
            );
        }
        assert_eq!(
            ParseTraceIdError(()).to_string(),
            "expected 32 lowercase hex digits, not all zero"
        );
    }
}
