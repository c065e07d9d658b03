//! Who may do what: bearer tokens, and which web origins may ask.

use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::AdminServer;
use crate::reply::{Failure, Reply};

/// What an endpoint needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    /// Reading the table.
    Read,
    /// Terminating and cancelling.
    Kill,
}

pub(crate) fn check(config: &AdminServer, headers: &HeaderMap, need: Need) -> Result<(), Failure> {
    let presented = bearer(headers);
    let matches = |token: &Option<String>| matches!((token, presented), (Some(token), Some(presented)) if constant_time_eq(token, presented));
    let read_ok =
        config.read_token.is_none() || matches(&config.read_token) || matches(&config.kill_token);
    match need {
        Need::Read if read_ok => Ok(()),
        Need::Kill if config.kill_token.is_none() && read_ok => Ok(()),
        Need::Kill if matches(&config.kill_token) => Ok(()),
        Need::Kill if presented.is_some() && read_ok => Err(Failure::new(
            StatusCode::FORBIDDEN,
            "this token may read but not terminate or cancel; use the kill token",
        )),
        _ if presented.is_none() => Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "a bearer token is required: send Authorization: Bearer <token>",
        )),
        _ => Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "the bearer token is not valid",
        )),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Compares without stopping at the first difference, so timing tells nothing about the
/// token.
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

/// The request's `Origin`, if it is one the server answers.
fn allowed_origin<'a>(config: &AdminServer, headers: &'a HeaderMap) -> Option<&'a HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    config
        .origins
        .iter()
        .any(|allowed| allowed == text)
        .then_some(origin)
}

/// Adds CORS headers to an answer for an allowed origin.
pub(crate) fn add_cors(config: &AdminServer, request: &HeaderMap, reply: &mut Reply) {
    if let Some(origin) = allowed_origin(config, request) {
        let headers = reply.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// `OPTIONS`: the CORS preflight for allowed origins, or just the allowed methods, those of
/// the path (`allow`, e.g. `GET, HEAD`) and `OPTIONS`.
pub(crate) fn preflight(config: &AdminServer, request: &HeaderMap, allow: &str) -> Reply {
    let asks_cors = request.contains_key(header::ORIGIN);
    if asks_cors && allowed_origin(config, request).is_none() {
        return Failure::new(
            StatusCode::FORBIDDEN,
            "this origin is not allowed; start the admin server with allow_origin",
        )
        .into_reply();
    }
    let mut reply = crate::reply::text(StatusCode::NO_CONTENT, "text/plain", "");
    let methods = HeaderValue::from_str(&format!("{allow}, OPTIONS"))
        .unwrap_or_else(|_| HeaderValue::from_static("OPTIONS"));
    let headers = reply.headers_mut();
    headers.insert(header::ALLOW, methods.clone());
    if asks_cors {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    add_cors(config, request, &mut reply);
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_tokens() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
        assert!(!constant_time_eq("", "a"));
    }
}
