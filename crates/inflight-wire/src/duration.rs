//! The duration syntax shared by the demo, the admin API and the CLI: `250ms`, `5s`,
//! `1.5s`, `2m`, `1h30m`.

use std::fmt;
use std::time::Duration;

use jiff::SignedDuration;
use jiff::fmt::friendly::SpanParser;

/// Why a duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseDurationError {
    input: String,
    reason: String,
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

static PARSER: SpanParser = SpanParser::new();

/// Parses `250ms`, `5s`, `1.5s`, `2m`, `1h30m`, `100us`, `1d` or `0`.
///
/// A duration is a number with a unit (`ns`, `us` or `µs`, `ms`, `s`, `m`, `h`, `d`), or
/// several written together, which add up: `1h30m`, and also `1.5h`, `30s1m`. Each
/// number may have a fraction. jiff reads each part, exactly: no floating point.
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(inflight_wire::parse_duration("1m30s").unwrap(), Duration::from_secs(90));
/// assert_eq!(inflight_wire::parse_duration("250ms").unwrap(), Duration::from_millis(250));
/// assert!(inflight_wire::parse_duration("soon").is_err());
/// ```
pub fn parse_duration(input: &str) -> Result<Duration, ParseDurationError> {
    let error = |reason: &str| ParseDurationError {
        input: input.to_owned(),
        reason: reason.to_owned(),
    };
    let text = input.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(error("it is empty"));
    }
    if text.starts_with(['-', '+']) {
        return Err(error("it has a sign; a duration here is never negative"));
    }
    // jiff's friendly format wants its units largest first, each once, and a fraction on
    // the last only; the API has always taken any order (its OpenAPI pattern says so). So
    // jiff reads one number and unit at a time, and the parts add up.
    let is_number = |c: char| c.is_ascii_digit() || c == '.';
    let mut total = SignedDuration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !is_number(c))
            .ok_or_else(|| error("a number needs a unit (ms, s, m, h)"))?;
        if number_len == 0 {
            return Err(error("expected a number"));
        }
        let (number, after) = rest.split_at(number_len);
        let unit_len = after.find(is_number).unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let part = part(number, unit).map_err(|reason| error(&reason))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| error("out of range"))?;
        rest = after;
    }
    Duration::try_from(total).map_err(|_| error("out of range"))
}

/// One number and its unit.
fn part(number: &str, unit: &str) -> Result<SignedDuration, String> {
    // jiff has no days in a duration (a calendar's day is not always 24 hours); here a day
    // is 24 hours, as it always was.
    let (unit, times) = match unit {
        "ns" | "us" | "µs" | "ms" | "s" | "m" | "h" => (unit, 1),
        "d" => ("h", 24),
        _ => return Err("unknown unit (use ms, s, m or h)".to_owned()),
    };
    if number.matches('.').count() > 1 || !number.contains(|c: char| c.is_ascii_digit()) {
        return Err("bad number".to_owned());
    }
    // `.5s` and `5.s` have always read as 0.5s and 5s; jiff wants digits on both sides.
    let number = number.strip_suffix('.').unwrap_or(number);
    // A duration holds whole nanoseconds: a fraction of one is dropped, not an error.
    let number = match unit {
        "ns" => number.split('.').next().unwrap_or(number),
        _ => number,
    };
    let number = if number.is_empty() { "0" } else { number };
    let zero = if number.starts_with('.') { "0" } else { "" };
    let part = PARSER
        .parse_duration(format!("{zero}{number}{unit}"))
        .map_err(|e| e.to_string())?;
    part.checked_mul(times)
        .ok_or_else(|| "out of range".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2h03m04s"), Ok(Duration::from_secs(7384)));
        assert_eq!(parse_duration("100us"), Ok(Duration::from_micros(100)));
        assert_eq!(parse_duration("100µs"), Ok(Duration::from_micros(100)));
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration(" 0 "), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1.5d"), Ok(Duration::from_secs(129_600)));
        // Any order, repeats and fractions anywhere: the parts add up.
        assert_eq!(parse_duration("30s1m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h30m"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5.s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("7.9ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration(".9ns1s"), Ok(Duration::from_secs(1)));
    }

    #[test]
    fn fractions_are_exact() {
        // Summing f64s gave 0.30000000000000004s here.
        assert_eq!(parse_duration("0.3s"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("0.000000001s"), Ok(Duration::from_nanos(1)));
    }

    #[test]
    fn rejects_with_a_reason() {
        let reason = |bad: &str| parse_duration(bad).unwrap_err().to_string();
        for bad in [
            "", "5", "s", "5x", "-1s", "1..2s", "1e400s", "soon", "1s-", ".s", "1.2.3ns",
            "2 months",
        ] {
            let message = reason(bad);
            assert!(
                message.starts_with(&format!("invalid duration {bad:?}: ")),
                "{message}"
            );
            assert!(message.ends_with("write it like 250ms, 5s, 1.5s, 2m or 1h30m"));
        }
        assert!(reason("").contains("it is empty"));
        assert!(reason("5").contains("needs a unit"));
        assert!(reason("-1s").contains("never negative"));
        assert!(
            reason("2 months").contains("month"),
            "{}",
            reason("2 months")
        );
    }
}
