//! The duration syntax shared by the demo, the admin API and the CLI: `250ms`, `5s`,
//! `1.5s`, `2m`, `1h30m`.

use std::fmt;
use std::time::Duration;

/// Why a duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseDurationError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for ParseDurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration {:?}: {}; write it like 250ms, 5s, 1.5s, 2m or 1h30m",
            self.input, self.reason
        )
    }
}

impl std::error::Error for ParseDurationError {}

/// Parses `250ms`, `5s`, `1.5s`, `2m`, `1h30m`, `100us` or `0`.
///
/// ```
/// # use inflight_core as inflight;
/// use std::time::Duration;
///
/// assert_eq!(inflight::parse_duration("1m30s").unwrap(), Duration::from_secs(90));
/// assert_eq!(inflight::parse_duration("250ms").unwrap(), Duration::from_millis(250));
/// assert!(inflight::parse_duration("soon").is_err());
/// ```
pub fn parse_duration(input: &str) -> Result<Duration, ParseDurationError> {
    let error = |reason| ParseDurationError {
        input: input.to_owned(),
        reason,
    };
    let text = input.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(error("it is empty"));
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| error("a number needs a unit (ms, s, m, h)"))?;
        if number_len == 0 {
            return Err(error("expected a number"));
        }
        let number: f64 = rest[..number_len]
            .parse()
            .map_err(|_| error("bad number"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            _ => return Err(error("unknown unit (use ms, s, m or h)")),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| error("out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2h03m04s"), Ok(Duration::from_secs(7384)));
        assert_eq!(parse_duration("100us"), Ok(Duration::from_micros(100)));
        assert_eq!(parse_duration(" 0 "), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects() {
        for bad in ["", "5", "s", "5x", "-1s", "1..2s", "1e400s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
        }
        assert!(
            parse_duration("5")
                .unwrap_err()
                .to_string()
                .contains("needs a unit")
        );
    }
}
