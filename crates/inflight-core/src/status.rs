//! What a request is doing: automatic wait reasons and statuses set by handlers.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A status as the table stores it. Automatic wait reasons are variants, so setting them
/// never allocates; only user text and the target of an outbound call carry a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StatusText {
    /// Inbound: the service's future has not produced a response yet.
    InHandler,
    /// Inbound: the response head is out and the body is being produced.
    WritingBody,
    /// Inbound: the body handed hyper a frame and has not been asked for the next one.
    ClientNotReading,
    /// Outbound: the request is sent (or being sent), no response head yet.
    AwaitingHeaders,
    /// Outbound: the response head arrived and the body is being read.
    ReadingBody,
    /// Outbound: the body produced a frame and the caller has not asked for the next one.
    CallerNotReading,
    /// Inbound: outbound calls made while serving this request are pending; `target` is
    /// the oldest one's `host:port`, `more` how many others there are.
    Awaiting { target: Arc<str>, more: u32 },
    /// Set by the handler.
    User(Cow<'static, str>),
    /// An operator asked the handler to cancel.
    CancelRequested,
    /// An operator terminated the request; the layer is ending it.
    Terminating,
}

impl fmt::Display for StatusText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusText::InHandler => f.write_str("in handler"),
            StatusText::WritingBody => f.write_str("writing body"),
            StatusText::ClientNotReading => f.write_str("client not reading"),
            StatusText::AwaitingHeaders => f.write_str("awaiting headers"),
            StatusText::ReadingBody => f.write_str("reading body"),
            StatusText::CallerNotReading => f.write_str("caller not reading"),
            StatusText::Awaiting { target, more: 0 } => write!(f, "awaiting {target}"),
            StatusText::Awaiting { target, more } => write!(f, "awaiting {target} (+{more} more)"),
            StatusText::User(text) => f.write_str(text),
            StatusText::CancelRequested => f.write_str("cancel requested"),
            StatusText::Terminating => f.write_str("terminating"),
        }
    }
}
