//! What a request is doing: automatic wait reasons and statuses set by handlers.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::snapshot::Direction;

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
    /// Work: its future has not completed yet.
    Working,
    /// Set by the handler.
    User(Cow<'static, str>),
    /// An operator asked the handler to cancel.
    CancelRequested,
    /// An operator terminated the request; the layer is ending it.
    Terminating,
}

impl StatusText {
    /// Writes the status with plain string writes, which a dump of a million lines feels.
    pub(crate) fn write_to(&self, out: &mut impl fmt::Write) -> fmt::Result {
        out.write_str(match self {
            StatusText::InHandler => "in handler",
            StatusText::WritingBody => "writing body",
            StatusText::ClientNotReading => "client not reading",
            StatusText::AwaitingHeaders => "awaiting headers",
            StatusText::ReadingBody => "reading body",
            StatusText::CallerNotReading => "caller not reading",
            StatusText::Working => "working",
            StatusText::CancelRequested => "cancel requested",
            StatusText::Terminating => "terminating",
            StatusText::User(text) => text,
            StatusText::Awaiting { target, more } => {
                out.write_str("awaiting ")?;
                out.write_str(target)?;
                if *more > 0 {
                    write!(out, " (+{more} more)")?;
                }
                return Ok(());
            }
        })
    }
}

impl fmt::Display for StatusText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

/// The automatic statuses of each direction.
impl Direction {
    pub(crate) fn initial_status(self) -> StatusText {
        match self {
            Direction::Inbound => StatusText::InHandler,
            Direction::Outbound => StatusText::AwaitingHeaders,
            Direction::Work => StatusText::Working,
        }
    }

    pub(crate) fn body_status(self) -> StatusText {
        match self {
            Direction::Inbound => StatusText::WritingBody,
            Direction::Outbound => StatusText::ReadingBody,
            // Work has no response head, so no body.
            Direction::Work => StatusText::Working,
        }
    }

    pub(crate) fn not_reading_status(self) -> StatusText {
        match self {
            Direction::Inbound => StatusText::ClientNotReading,
            Direction::Outbound => StatusText::CallerNotReading,
            Direction::Work => StatusText::Working,
        }
    }
}
