//! Queries, read by serde into one struct per endpoint; each struct denies unknown
//! parameters, and its fields check their values with the messages clients see.

use std::time::Duration;

use axum::extract::FromRequestParts;
use http::request::Parts;
use inflight_core::{Direction, TraceId};
use inflight_wire::parse_duration;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer};

use crate::reply::Failure;
use crate::traces;

/// Most requests one list returns.
pub(crate) const MAX_LIMIT: usize = 1_000_000;

/// The query of a request, read into `T`; a query `T` does not take is a `400` with a
/// JSON error that names the parameter.
#[derive(Debug)]
pub(crate) struct Params<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Failure> {
        parse(parts.uri.query()).map(Params)
    }
}

/// Reads `query` into `T`.
pub(crate) fn parse<T: DeserializeOwned>(query: Option<&str>) -> Result<T, Failure> {
    let query = query.unwrap_or("");
    // Form decoding turns bytes that are not UTF-8 into U+FFFD; a filter on such a value
    // would quietly match something else.
    if percent_encoding::percent_decode_str(query)
        .decode_utf8()
        .is_err()
    {
        return Err(Failure::bad_request("the query is not valid UTF-8"));
    }
    serde_urlencoded::from_str(query).map_err(|error| Failure::bad_request(message(&error)))
}

/// serde's words for an unknown or repeated field, in the API's words for a query.
fn message(error: &serde_urlencoded::de::Error) -> String {
    let text = error.to_string();
    let named = |prefix: &str| {
        let rest = text.strip_prefix(prefix)?;
        let (name, rest) = rest.split_once('`')?;
        Some((name.to_owned(), rest.to_owned()))
    };
    if let Some((name, rest)) = named("unknown field `") {
        let known = rest
            .trim_start_matches(", ")
            .trim_start_matches("expected one of ")
            .trim_start_matches("expected ")
            .replace('`', "")
            .replace(" or ", ", ");
        return if known == "there are no fields" {
            format!("unknown query parameter {name:?}: this endpoint takes none")
        } else {
            format!("unknown query parameter {name:?}; known: {known}")
        };
    }
    if let Some((name, _)) = named("duplicate field `") {
        return format!("query parameter {name:?} given twice");
    }
    text
}

/// The query of an endpoint that takes none.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoParams {}

/// How `GET /requests` orders its list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Sort {
    /// Oldest first, as the table lists them.
    #[default]
    Age,
    Status,
    Method,
}

/// The query of `GET /requests`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    #[serde(default, deserialize_with = "direction")]
    pub(crate) direction: Option<Direction>,
    #[serde(default, deserialize_with = "min_age")]
    pub(crate) min_age: Option<Duration>,
    pub(crate) status: Option<String>,
    pub(crate) route: Option<String>,
    /// `Some(None)` is the all-zero id: well formed, and it matches nothing.
    #[serde(default, deserialize_with = "trace")]
    pub(crate) trace: Option<Option<TraceId>>,
    #[serde(default, deserialize_with = "sort")]
    pub(crate) sort: Sort,
    #[serde(default = "max_limit", deserialize_with = "limit")]
    pub(crate) limit: usize,
}

/// The query of `GET /profile`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileParams {
    #[serde(default, deserialize_with = "boolean")]
    pub(crate) reset: bool,
}

/// The query of `DELETE /requests/{id}`: a cancel's `grace` is unknown here.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TerminateParams {
    pub(crate) message: Option<String>,
}

fn max_limit() -> usize {
    MAX_LIMIT
}

/// The value as text, and a check that turns it into `T` or an error message.
fn checked<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    check: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error> {
    let text = String::deserialize(deserializer)?;
    check(&text).map_err(de::Error::custom)
}

fn direction<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Direction>, D::Error> {
    checked(d, |value| match value {
        "inbound" | "in" => Ok(Some(Direction::Inbound)),
        "outbound" | "out" => Ok(Some(Direction::Outbound)),
        "work" => Ok(Some(Direction::Work)),
        _ => Err(format!(
            "direction is inbound, outbound or work, not {value:?}"
        )),
    })
}

fn min_age<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    checked(d, |value| {
        parse_duration(value)
            .map(Some)
            .map_err(|e| format!("min_age: {e}"))
    })
}

fn trace<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<TraceId>>, D::Error> {
    checked(d, |value| traces::parse_trace_id(value).map(Some))
}

fn sort<'de, D: Deserializer<'de>>(d: D) -> Result<Sort, D::Error> {
    checked(d, |value| match value {
        "age" => Ok(Sort::Age),
        "status" => Ok(Sort::Status),
        "method" => Ok(Sort::Method),
        _ => Err(format!("sort is age, status or method, not {value:?}")),
    })
}

fn limit<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    checked(d, |value| {
        value
            .parse()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| format!("limit is a number from 1 to {MAX_LIMIT}, not {value:?}"))
    })
}

fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    checked(d, |value| match value {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("reset must be true or false, not {value:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_unknown_and_repeated_parameters() {
        let error = |query| parse::<ListParams>(Some(query)).unwrap_err().message;
        assert_eq!(
            error("colour=red"),
            "unknown query parameter \"colour\"; known: direction, min_age, status, route, \
             trace, sort, limit"
        );
        assert_eq!(
            error("sort=age&sort=status"),
            "query parameter \"sort\" given twice"
        );
        assert_eq!(
            parse::<NoParams>(Some("v=2")).unwrap_err().message,
            "unknown query parameter \"v\": this endpoint takes none"
        );
        let params: ListParams = parse(Some("status=awaiting%20slow+node&limit=5")).unwrap();
        assert_eq!(params.status.as_deref(), Some("awaiting slow node"));
        assert_eq!(params.limit, 5);
    }
}
