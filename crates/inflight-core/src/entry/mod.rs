//! One tracked request: the record the table keeps while the request is in flight.
//!
//! The layout is what the per-request cost and the memory target come down to. Fields
//! written on every request are plain atomics (one writer, so a load and a store, never a
//! locked instruction); everything that only some requests need (statuses set by the
//! handler, pending outbound calls, history, attributes) sits behind one per-entry mutex
//! that a plain request never takes. A URI of up to 62 bytes is stored inline, so a
//! request costs one allocation.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;
use std::task::Waker;

use http::{Method, StatusCode, Version};

use crate::clock::{self, Nanos};
use crate::grpc::GrpcStatus;
use crate::snapshot::Direction;
use crate::status::StatusText;
use crate::sync::Ordering::Relaxed;
use crate::sync::{AtomicU8, AtomicU16, AtomicU64, Mutex, MutexGuard};
use crate::trace::TraceContext;

mod control;
mod start;
mod uri;
mod view;

use start::initial_detail;
pub(crate) use start::{Start, Target};
pub(crate) use uri::method_of_code;
use uri::{MethodCode, UriText};
pub(crate) use view::{Line, View};

/// The most attributes one request keeps; later ones are ignored.
pub(crate) const MAX_ATTRIBUTES: usize = 32;

/// `head_at` of a response head whose time was not read (see `response_head_untimed`).
/// The clock never reads 1 (the anchor is taken well before any request).
const HEAD_UNTIMED: Nanos = 1;

/// A `control` bit beside the operator's (see `control.rs`): the handler named the
/// route, so reading it needs the detail's lock.
const ROUTE_SET: u8 = 0x80;

const BODY_NONE: u8 = 0;
const BODY_WAITING: u8 = 1;
const BODY_HANDED_OFF: u8 = 2;

pub(crate) struct Entry {
    /// Set by the table when it places the entry, before anyone else can see it (under
    /// the shard's lock, which publishes it): an atomic, so placing needs no `&mut`.
    id: AtomicU64,
    /// The inbound request this outbound call was made for, or 0.
    pub(crate) parent: u64,
    pub(crate) trace: TraceContext,
    pub(crate) start: Nanos,
    pub(crate) direction: Direction,
    version: Version,
    method: MethodCode,
    /// A gRPC call: its outcome is `grpc-status`, in trailers or trailers-only headers.
    pub(crate) grpc: bool,
    history_limit: u16,
    peer: Option<(IpAddr, u16)>,
    uri: UriText,
    #[cfg(feature = "axum")]
    matched_path: Option<axum::extract::MatchedPath>,
    /// Size of the request body when it announced an exact size.
    request_bytes: u64,
    response_bytes: AtomicU64,
    /// When the response head was produced (0: not yet).
    head_at: AtomicU64,
    /// When the response body last produced a frame (0: never).
    last_frame_at: AtomicU64,
    response_status: AtomicU16,
    body: AtomicU8,
    control: AtomicU8,
    /// The task polling the request's future or body, woken to terminate it.
    waker: Mutex<Option<Waker>>,
    detail: Mutex<Option<Box<Detail>>>,
}

/// The parts of an entry only some requests need.
#[derive(Default)]
struct Detail {
    user_status: Option<(Cow<'static, str>, Nanos)>,
    /// Outbound calls of this request still in flight, oldest first.
    awaiting: Vec<PendingCall>,
    history: VecDeque<Transition>,
    history_dropped: u64,
    attributes: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    route: Option<Cow<'static, str>>,
    /// Only for methods outside the standard set.
    method: Option<Method>,
    /// What the operator said when terminating or cancelling.
    control_message: Option<String>,
    /// Tasks waiting in `cancelled()`.
    cancel_waiters: Vec<Waker>,
    /// The caller's `tracestate`, passed on to outbound calls.
    tracestate: Option<Box<str>>,
    /// A gRPC call's failure (`grpc-status` not 0).
    grpc_status: Option<GrpcStatus>,
    /// When the caller stops waiting (`grpc-timeout`), or 0 for no deadline. Here, not
    /// in the entry: only gRPC calls have one, and they have a detail anyway (their route).
    deadline: Nanos,
}

pub(crate) struct PendingCall {
    pub(crate) child: u64,
    target: Arc<str>,
    since: Nanos,
}

#[derive(Clone)]
struct Transition {
    at: Nanos,
    status: StatusText,
}

impl Entry {
    #[inline]
    pub(crate) fn new(start: Start<'_>, now: Nanos) -> Entry {
        let method = MethodCode::of(start.method);
        let detail = initial_detail(start.method, method, start.timeout, now);
        Entry {
            // The table names the entry by where it puts it.
            id: AtomicU64::new(0),
            parent: start.parent,
            trace: start.trace,
            start: now,
            direction: start.direction,
            version: start.version,
            method,
            grpc: start.grpc,
            history_limit: start.history_limit,
            peer: start.peer.map(|addr| (addr.ip(), addr.port())),
            uri: UriText::of_target(start.target),
            #[cfg(feature = "axum")]
            matched_path: start.matched_path,
            request_bytes: start.request_bytes,
            response_bytes: AtomicU64::new(0),
            head_at: AtomicU64::new(0),
            last_frame_at: AtomicU64::new(0),
            response_status: AtomicU16::new(0),
            body: AtomicU8::new(BODY_NONE),
            control: AtomicU8::new(0),
            waker: Mutex::new(None),
            detail: Mutex::new(detail),
        }
    }

    /// The request's id (0 until the table placed it).
    #[inline]
    pub(crate) fn id(&self) -> u64 {
        self.id.load(Relaxed)
    }

    /// Names the entry; the table calls this under the shard's lock, before the entry is
    /// in a slot.
    #[inline]
    pub(crate) fn set_id(&self, id: u64) {
        self.id.store(id, Relaxed);
    }

    /// When the response head came out: 0 if it has not, `now` if it has but its time
    /// was not read (inbound: read at the first body poll that does not end the body).
    fn head_at(&self, now: Nanos) -> Nanos {
        match self.head_at.load(Relaxed) {
            HEAD_UNTIMED => now,
            at => at,
        }
    }

    /// The response head is out, its time not read yet: most responses end with their
    /// first body frame, and then nobody needs it.
    #[inline]
    pub(crate) fn response_head_untimed(&self, status: StatusCode) {
        self.response_status.store(status.as_u16(), Relaxed);
        self.head_at.store(HEAD_UNTIMED, Relaxed);
    }

    /// Whether the head's time was left for later.
    #[inline]
    pub(crate) fn head_untimed(&self) -> bool {
        self.head_at.load(Relaxed) == HEAD_UNTIMED
    }

    /// Reads the head's time now if it was left for later.
    #[inline]
    pub(crate) fn time_head(&self, now: Nanos) {
        if self.head_untimed() {
            self.head_at.store(now, Relaxed);
        }
    }

    fn detail(&self) -> MutexGuard<'_, Option<Box<Detail>>> {
        // Nothing panics while holding this lock, but never let poison turn into a panic.
        self.detail
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, detail: &mut Detail, status: StatusText, at: Nanos) {
        // Like snapshots, keep at least the newest transition: a limit of 0 means 1.
        if detail.history.len() >= usize::from(self.history_limit).max(1) {
            detail.history.pop_front();
            detail.history_dropped += 1;
        }
        detail.history.push_back(Transition { at, status });
    }

    pub(crate) fn set_status(&self, status: Cow<'static, str>) {
        let now = clock::now();
        let mut guard = self.detail();
        let detail = guard.get_or_insert_with(Box::default);
        detail.user_status = Some((status.clone(), now));
        self.push(detail, StatusText::User(status), now);
    }

    pub(crate) fn set_attribute(&self, key: Cow<'static, str>, value: Cow<'static, str>) {
        let mut guard = self.detail();
        let detail = guard.get_or_insert_with(Box::default);
        if let Some(slot) = detail.attributes.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else if detail.attributes.len() < MAX_ATTRIBUTES {
            detail.attributes.push((key, value));
        }
    }

    /// Keeps the caller's `tracestate` to pass on to outbound calls.
    pub(crate) fn set_tracestate(&self, tracestate: Box<str>) {
        self.detail().get_or_insert_with(Box::default).tracestate = Some(tracestate);
    }

    /// The caller's `tracestate`, if it sent one.
    pub(crate) fn tracestate(&self) -> Option<Box<str>> {
        self.detail().as_ref()?.tracestate.clone()
    }

    /// A gRPC call failed: kept for the record of how it ended.
    pub(crate) fn set_grpc_status(&self, status: GrpcStatus) {
        self.detail().get_or_insert_with(Box::default).grpc_status = Some(status);
    }

    /// The gRPC status the call failed with, if it did.
    pub(crate) fn grpc_status(&self) -> Option<GrpcStatus> {
        self.detail().as_ref()?.grpc_status.clone()
    }

    pub(crate) fn set_route(&self, route: Cow<'static, str>) {
        self.detail().get_or_insert_with(Box::default).route = Some(route);
        // Rare (a handler naming its route), so a locked instruction is fine here.
        self.control.fetch_or(ROUTE_SET, Relaxed);
    }

    /// An outbound call made while serving this request has started.
    pub(crate) fn child_started(&self, child: u64, target: Arc<str>, now: Nanos) {
        let mut guard = self.detail();
        let detail = guard.get_or_insert_with(Box::default);
        detail.awaiting.push(PendingCall {
            child,
            target: target.clone(),
            since: now,
        });
        self.push(detail, StatusText::Awaiting { target, more: 0 }, now);
    }

    /// An outbound call of this request has ended (its response body closed or dropped).
    pub(crate) fn child_finished(&self, child: u64, now: Nanos) {
        let mut guard = self.detail();
        let Some(detail) = guard.as_mut() else { return };
        let Some(index) = detail.awaiting.iter().position(|call| call.child == child) else {
            return;
        };
        detail.awaiting.remove(index);
        if detail.awaiting.is_empty() {
            let resumed = if self.head_at.load(Relaxed) != 0 {
                self.direction.body_status()
            } else if let Some((status, _)) = &detail.user_status {
                StatusText::User(status.clone())
            } else {
                self.direction.initial_status()
            };
            self.push(detail, resumed, now);
        }
    }

    /// The response head is out (inbound) or in (outbound). `now` is 0 when the request
    /// ends right away (no body).
    #[inline]
    pub(crate) fn response_head(&self, status: StatusCode, now: Nanos) {
        self.response_status.store(status.as_u16(), Relaxed);
        self.head_at.store(now, Relaxed);
    }

    /// The body is being polled and waits for its source.
    #[inline]
    pub(crate) fn body_waiting(&self) {
        if self.body.load(Relaxed) != BODY_WAITING {
            self.body.store(BODY_WAITING, Relaxed);
        }
    }

    /// The body produced a data frame of `len` bytes. Only the body's owner calls this,
    /// so a load and a store replace a locked add.
    #[inline]
    pub(crate) fn body_bytes(&self, len: u64) {
        let total = self.response_bytes.load(Relaxed);
        self.response_bytes.store(total.wrapping_add(len), Relaxed);
    }

    /// The body handed out a frame and more are to come.
    #[inline]
    pub(crate) fn body_handed_off(&self, now: Nanos) {
        self.last_frame_at.store(now, Relaxed);
        self.body.store(BODY_HANDED_OFF, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_stays_compact() {
        // One allocation per request holds all of this plus the Arc's two counters, a
        // 60-byte URI inline. The W3C trace context is 34 of these bytes; with axum's
        // `MatchedPath` (16 more) the entry is 240 bytes (see benches/README.md, memory).
        assert!(
            std::mem::size_of::<Entry>() <= 240,
            "Entry is {} bytes",
            std::mem::size_of::<Entry>()
        );
    }
}
