//! What gRPC adds to an HTTP/2 request: a status that travels in trailers, and a deadline.
//!
//! A gRPC call is an HTTP/2 POST with `content-type: application/grpc`. It answers HTTP 200
//! even when it fails: the outcome is `grpc-status` in the trailers, or in the response
//! headers when the server answers with trailers only. A caller's deadline travels as a
//! `grpc-timeout` header.

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, HeaderName, Method, Version, header};

const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
const GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");

/// The gRPC status a failed call ended with: its `grpc-status` (not 0) and `grpc-message`.
///
/// A call or request that ends with one counts as [`Ending::Failed`](crate::Ending::Failed),
/// though its HTTP status is 200; read it with
/// [`FinishedRequest::grpc_status`](crate::FinishedRequest::grpc_status).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GrpcStatus {
    /// The status code: 1 (`CANCELLED`) to 16 (`UNAUTHENTICATED`); a code outside the
    /// known set is kept as sent.
    pub code: u32,
    /// The message, percent-decoded, if the peer sent one.
    pub message: Option<String>,
}

impl GrpcStatus {
    /// The code's name, as gRPC spells it (`UNAVAILABLE`), or `None` for a code outside
    /// the known set.
    pub fn code_name(&self) -> Option<&'static str> {
        const NAMES: [&str; 17] = [
            "OK",
            "CANCELLED",
            "UNKNOWN",
            "INVALID_ARGUMENT",
            "DEADLINE_EXCEEDED",
            "NOT_FOUND",
            "ALREADY_EXISTS",
            "PERMISSION_DENIED",
            "RESOURCE_EXHAUSTED",
            "FAILED_PRECONDITION",
            "ABORTED",
            "OUT_OF_RANGE",
            "UNIMPLEMENTED",
            "INTERNAL",
            "UNAVAILABLE",
            "DATA_LOSS",
            "UNAUTHENTICATED",
        ];
        NAMES.get(usize::try_from(self.code).ok()?).copied()
    }
}

impl fmt::Display for GrpcStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "grpc-status {}", self.code)?;
        if let Some(name) = self.code_name() {
            write!(f, " {name}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

/// Whether a request a server received is a gRPC call: an HTTP/2 POST with
/// `content-type: application/grpc`, alone or with a subtype (`application/grpc+proto`).
/// Other requests pay two comparisons, not a header lookup.
#[inline]
pub(crate) fn is_call(version: Version, method: &Method, headers: &HeaderMap) -> bool {
    version == Version::HTTP_2 && is_grpc_post(method, headers)
}

/// Whether a request a client is about to send is a gRPC call. Its version is not
/// checked: a request built by hand says HTTP/1.1 until an HTTP/2-only client sends it.
#[inline]
pub(crate) fn is_grpc_post(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::POST
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.as_bytes().strip_prefix(b"application/grpc"))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"+") || rest.starts_with(b";"))
}

/// The caller's `grpc-timeout` (`1*8DIGIT` and a unit of `H`, `M`, `S`, `m`, `u` or
/// `n`), or `None` when there is none or it is malformed: a bad header never fails the
/// request, it only leaves it without a deadline.
pub(crate) fn timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(GRPC_TIMEOUT)?.as_bytes();
    let (&unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let amount = digits
        .iter()
        .fold(0u64, |n, digit| n * 10 + u64::from(digit - b'0'));
    Some(match unit {
        b'H' => Duration::from_secs(amount.saturating_mul(3600)),
        b'M' => Duration::from_secs(amount.saturating_mul(60)),
        b'S' => Duration::from_secs(amount),
        b'm' => Duration::from_millis(amount),
        b'u' => Duration::from_micros(amount),
        b'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// The failure in a response's headers or trailers: `Some` when `grpc-status` is there and
/// not 0. A status that is not a number counts as `UNKNOWN` (2), as gRPC clients read it.
pub(crate) fn failure(headers: &HeaderMap) -> Option<GrpcStatus> {
    let status = headers.get(GRPC_STATUS)?;
    let code = std::str::from_utf8(status.as_bytes())
        .ok()
        .and_then(|code| code.trim().parse::<u32>().ok())
        .unwrap_or(2);
    if code == 0 {
        return None;
    }
    let message = headers.get(GRPC_MESSAGE).map(|message| {
        percent_encoding::percent_decode(message.as_bytes())
            .decode_utf8_lossy()
            .into_owned()
    });
    Some(GrpcStatus { code, message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    #[test]
    fn timeouts_in_every_unit() {
        let cases = [
            ("2H", Duration::from_secs(7200)),
            ("3M", Duration::from_secs(180)),
            ("1S", Duration::from_secs(1)),
            ("250m", Duration::from_millis(250)),
            ("99999999u", Duration::from_micros(99_999_999)),
            ("7n", Duration::from_nanos(7)),
        ];
        for (value, expected) in cases {
            assert_eq!(
                timeout(&headers(&[("grpc-timeout", value)])),
                Some(expected),
                "{value}"
            );
        }
    }

    #[test]
    fn malformed_timeouts_are_no_deadline() {
        for value in ["", "m", "100", "123456789m", "10s", "-5m", "1.5S", " 5m"] {
            let map = headers(&[("grpc-timeout", value)]);
            assert_eq!(timeout(&map), None, "{value:?}");
        }
        assert_eq!(timeout(&HeaderMap::new()), None);
    }

    #[test]
    fn status_zero_is_no_failure() {
        assert_eq!(failure(&headers(&[("grpc-status", "0")])), None);
        assert_eq!(failure(&HeaderMap::new()), None);
    }

    #[test]
    fn failures_keep_code_and_decoded_message() {
        let failed = failure(&headers(&[
            ("grpc-status", "14"),
            ("grpc-message", "db%20down%3A%20%E2%9C%97"),
        ]))
        .unwrap();
        assert_eq!(failed.code, 14);
        assert_eq!(failed.message.as_deref(), Some("db down: ✗"));
        assert_eq!(failed.code_name(), Some("UNAVAILABLE"));
        assert_eq!(failed.to_string(), "grpc-status 14 UNAVAILABLE: db down: ✗");
        let odd = failure(&headers(&[("grpc-status", "nope")])).unwrap();
        assert_eq!((odd.code, odd.message), (2, None));
        let unknown = failure(&headers(&[("grpc-status", "42")])).unwrap();
        assert_eq!(unknown.code_name(), None);
    }

    #[test]
    fn only_http2_posts_of_grpc_content_are_calls() {
        let grpc = headers(&[("content-type", "application/grpc+proto")]);
        assert!(is_call(Version::HTTP_2, &Method::POST, &grpc));
        assert!(!is_call(Version::HTTP_11, &Method::POST, &grpc));
        assert!(!is_call(Version::HTTP_2, &Method::GET, &grpc));
        let web = headers(&[("content-type", "application/grpc-web")]);
        assert!(!is_call(Version::HTTP_2, &Method::POST, &web));
    }
}
