//! A trace id in its text form, as the API and `traceparent` write it.

use std::fmt;
use std::str::FromStr;

/// A W3C trace id: 32 lowercase hex digits, not all zero.
///
/// It parses from uppercase too, and with spaces around, as a user may paste it; it is
/// always written in lowercase, as the API and `traceparent` write it.
///
/// ```
/// use inflight_wire::TraceId;
///
/// let trace: TraceId = " 4BF92F3577B34DA6A3CE929D0E0E4736".parse().unwrap();
/// assert_eq!(trace.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!("4bf92f3577b34da6".parse::<TraceId>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId([u8; 32]);

impl TraceId {
    /// The 32 hex digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits get in (see `from_str`).
        std::str::from_utf8(&self.0).unwrap_or("")
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
        let mut digits: [u8; 32] = text
            .trim()
            .as_bytes()
            .try_into()
            .map_err(|_| ParseTraceIdError(()))?;
        digits.make_ascii_lowercase();
        let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
        if digits.iter().all(hex) && digits.iter().any(|b| *b != b'0') {
            Ok(TraceId(digits))
        } else {
            Err(ParseTraceIdError(()))
        }
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({})", self.as_str())
    }
}

impl PartialEq<str> for TraceId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<String> for TraceId {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
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
        let pasted: TraceId = " 0AF7651916CD43DD8448EB211C80319C\n".parse().unwrap();
        assert_eq!(pasted, trace);
    }

    #[test]
    fn rejects_others() {
        for bad in [
            "",
            "0af7651916cd43dd8448eb211c80319",
            "0af7651916cd43dd8448eb211c80319cc",
            "0af7651916cd43dd 8448eb211c80319c",
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
