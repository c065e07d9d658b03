//! What a terminated request's client gets: the [`Terminated`] record, the made-up
//! response used before the head is out, and the error that cuts a body after it.
//!
//! A cut response must never look complete, so the two cases differ:
//! - **Before the response head**, the layer answers in the service's place: a status of
//!   the layer's choosing (`503 Service Unavailable` unless configured), the operator's
//!   message in the [`TERMINATED_HEADER`] header, an empty body, and [`Terminated`] in the
//!   response extensions.
//! - **After the head**, the body's next poll returns an error whose source is a
//!   [`Terminated`]. hyper then closes an HTTP/1 connection without the last chunk (or
//!   short of `Content-Length`) and resets an HTTP/2 stream, so every client sees a failed
//!   transfer.

use std::error::Error as StdError;
use std::fmt;

use http::{HeaderValue, Response, StatusCode};

use crate::table::{Ending, Tracked};

/// The error type of the bodies the layers return: the inner body's error, or a
/// [`Terminated`] when an operator cut the body short.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// The header on a response the layer made up because an operator terminated the request.
///
/// Its value is the operator's message (control characters turned into spaces, other
/// characters outside printable ASCII into `?`, at most 256 bytes), or
/// `operator` when there was no message. The full message is in the [`Terminated`]
/// extension.
pub const TERMINATED_HEADER: &str = "inflight-terminated";

/// The longest operator message the [`TERMINATED_HEADER`] header carries, in bytes;
/// longer messages are cut, since proxies and clients limit the size of a header.
const HEADER_MESSAGE_MAX: usize = 256;

/// The status of the made-up response when the layer was given none:
/// `503 Service Unavailable`.
///
/// The request was dropped on the server's side, not refused for anything the client did,
/// and 503 says exactly that: clients, proxies and load balancers read it as "not your
/// fault, try again (maybe elsewhere)", and retry policies already treat it as retryable.
pub(crate) const DEFAULT_STATUS: StatusCode = StatusCode::SERVICE_UNAVAILABLE;

/// An operator terminated a request ([`Table::terminate`](crate::Table::terminate), or
/// `DELETE /requests/{id}` on the admin port).
///
/// It is found in three places:
/// - in the extensions of the response a layer made up because the request was terminated
///   before its response head was out. A caller of a client wrapped in
///   [`InFlightClientLayer`](crate::InFlightClientLayer) tells a terminated call from a
///   real error response with `response.extensions().get::<inflight::Terminated>()`;
/// - as the error a [`TrackedBody`](crate::TrackedBody) returns when the request was
///   terminated while its body was under way. The body's error type is
///   `Box<dyn Error + Send + Sync>`, so `error.downcast_ref::<inflight::Terminated>()`
///   tells the cut from a failure of the body itself;
/// - as the error of [`Work`](crate::Work), whose future was dropped when the work was
///   terminated.
///
/// One type serves all of them so that a caller has one thing to look for, whichever side of the
/// head the termination fell on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Terminated {
    /// The terminated request.
    pub id: u64,
    /// What the operator said, if anything.
    pub message: Option<String>,
}

impl Terminated {
    /// Ends `tracked` as terminated and says so.
    pub(crate) fn end(tracked: Tracked) -> Terminated {
        let id = tracked.id();
        let message = tracked
            .entry
            .as_ref()
            .and_then(|entry| entry.control_message());
        tracked.finish(Ending::Terminated);
        Terminated { id, message }
    }
}

impl fmt::Display for Terminated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request #{} terminated by an operator", self.id)?;
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl StdError for Terminated {}

/// Ends `tracked` as terminated and returns the error that cuts its body.
pub(crate) fn cut(tracked: Tracked) -> BoxError {
    Box::new(Terminated::end(tracked))
}

/// Ends `tracked` as terminated and makes up the response its client gets instead of the
/// service's: `status`, the [`TERMINATED_HEADER`] header, [`Terminated`] in the
/// extensions, and `body`, which the caller makes empty.
pub(crate) fn response<B>(tracked: Tracked, status: StatusCode, body: B) -> Response<B> {
    let terminated = Terminated::end(tracked);
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        TERMINATED_HEADER,
        header_value(terminated.message.as_deref()),
    );
    response.extensions_mut().insert(terminated);
    response
}

/// The operator's message as a header value that every client and proxy accepts.
fn header_value(message: Option<&str>) -> HeaderValue {
    let mut value = String::with_capacity(message.map_or(0, |m| m.len().min(HEADER_MESSAGE_MAX)));
    for c in message.unwrap_or_default().chars() {
        if value.len() == HEADER_MESSAGE_MAX {
            break;
        }
        // Line breaks and tabs become one space: the message stays on one readable line and
        // can never start a header of its own.
        let c = match c {
            ' '..='~' => c,
            c if c.is_whitespace() || c.is_control() => ' ',
            _ => '?',
        };
        if c == ' ' && (value.is_empty() || value.ends_with(' ')) {
            continue;
        }
        value.push(c);
    }
    let value = value.trim_end();
    if value.is_empty() {
        return HeaderValue::from_static("operator");
    }
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("operator"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(message: &str) -> String {
        header_value(Some(message))
            .to_str()
            .expect("printable ASCII")
            .to_owned()
    }

    #[test]
    fn no_message_says_operator() {
        assert_eq!(header_value(None), "operator");
        assert_eq!(header(""), "operator");
        assert_eq!(header(" \r\n\t "), "operator");
    }

    #[test]
    fn printable_messages_pass_unchanged() {
        assert_eq!(header("maintenance window"), "maintenance window");
        assert_eq!(
            header("stuck on slownode:8484 (see #ops)"),
            "stuck on slownode:8484 (see #ops)"
        );
    }

    #[test]
    fn line_breaks_cannot_start_a_header() {
        assert_eq!(
            header("disk full\r\nset-cookie: x=1"),
            "disk full set-cookie: x=1"
        );
        assert_eq!(header("\n  bye  \0 now\x7f"), "bye now");
    }

    #[test]
    fn characters_outside_ascii_become_question_marks() {
        assert_eq!(header("Wartung läuft ☕"), "Wartung l?uft ?");
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "x".repeat(10_000);
        assert_eq!(header(&long).len(), HEADER_MESSAGE_MAX);
        let wide = "é".repeat(10_000);
        assert_eq!(header(&wide), "?".repeat(HEADER_MESSAGE_MAX));
    }

    #[test]
    fn display_names_the_request_and_the_message() {
        let with = Terminated {
            id: 41,
            message: Some("maintenance".into()),
        };
        assert_eq!(
            with.to_string(),
            "request #41 terminated by an operator: maintenance"
        );
        let without = Terminated {
            id: 42,
            message: None,
        };
        assert_eq!(without.to_string(), "request #42 terminated by an operator");
    }
}
