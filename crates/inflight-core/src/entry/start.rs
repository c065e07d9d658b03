//! What the layers know about a request when it starts, and the detail it starts with.

use std::net::SocketAddr;
use std::time::Duration;

use http::{Method, Uri, Version};

use super::Detail;
use super::uri::MethodCode;
use crate::clock::Nanos;
use crate::snapshot::Direction;
use crate::trace::TraceContext;

/// What a request is about: the URI of an HTTP request, or the name of a unit of work.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    Uri(&'a Uri),
    Name(&'a str),
}

/// What the layers know about a request when it starts.
pub(crate) struct Start<'a> {
    pub(crate) parent: u64,
    pub(crate) trace: TraceContext,
    pub(crate) direction: Direction,
    pub(crate) method: &'a Method,
    pub(crate) target: Target<'a>,
    pub(crate) version: Version,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) request_bytes: u64,
    #[cfg(feature = "axum")]
    pub(crate) matched_path: Option<axum::extract::MatchedPath>,
    pub(crate) history_limit: u16,
    /// A gRPC call (see [`crate::grpc::is_call`]).
    pub(crate) grpc: bool,
    /// How long the caller waits (`grpc-timeout`).
    pub(crate) timeout: Option<Duration>,
}

#[cfg(any(test, loom))]
impl<'a> Start<'a> {
    /// A plain inbound `GET uri` starting a trace: the request of the unit tests and the
    /// loom models.
    pub(crate) fn get(uri: &'a Uri, history_limit: u16) -> Start<'a> {
        Start {
            parent: 0,
            trace: TraceContext::new_root(),
            direction: Direction::Inbound,
            method: &Method::GET,
            target: Target::Uri(uri),
            version: Version::HTTP_11,
            peer: None,
            request_bytes: 0,
            #[cfg(feature = "axum")]
            matched_path: None,
            history_limit,
            grpc: false,
            timeout: None,
        }
    }
}

/// The detail a new request starts with: only for a method outside the standard set, or
/// a deadline.
pub(super) fn initial_detail(
    method: &Method,
    code: MethodCode,
    timeout: Option<Duration>,
    now: Nanos,
) -> Option<Box<Detail>> {
    if code != MethodCode::Other && timeout.is_none() {
        return None;
    }
    Some(Box::new(Detail {
        method: (code == MethodCode::Other).then(|| method.clone()),
        deadline: timeout.map_or(0, |timeout| {
            now.saturating_add(u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX))
        }),
        ..Detail::default()
    }))
}
