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
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use http::{Method, StatusCode, Uri, Version};

use crate::clock::{self, Nanos};
use crate::snapshot::{Direction, EntrySnapshot, StatusChange};
use crate::status::StatusText;

/// The most attributes one request keeps; later ones are ignored.
pub(crate) const MAX_ATTRIBUTES: usize = 32;

/// `control` bits: an operator asked to terminate the request.
const TERMINATE: u8 = 1;
/// An operator asked the handler to cancel.
const CANCEL: u8 = 2;
/// The handler said it must not be cancelled or terminated.
const FORBID_CANCEL: u8 = 4;

/// `head_at` of a response head whose time was not read (see `response_head_untimed`).
/// The clock never reads 1 (the anchor is taken well before any request).
const HEAD_UNTIMED: Nanos = 1;

const BODY_NONE: u8 = 0;
const BODY_WAITING: u8 = 1;
const BODY_HANDED_OFF: u8 = 2;

pub(crate) struct Entry {
    pub(crate) id: u64,
    /// The inbound request this outbound call was made for, or 0.
    pub(crate) parent: u64,
    pub(crate) start: Nanos,
    pub(crate) direction: Direction,
    version: Version,
    method: MethodCode,
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
}

struct PendingCall {
    child: u64,
    target: Arc<str>,
    since: Nanos,
}

#[derive(Clone)]
struct Transition {
    at: Nanos,
    status: StatusText,
}

/// What the layers know about a request when it starts.
pub(crate) struct Start<'a> {
    pub(crate) id: u64,
    pub(crate) parent: u64,
    pub(crate) direction: Direction,
    pub(crate) method: &'a Method,
    pub(crate) uri: &'a Uri,
    pub(crate) version: Version,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) request_bytes: u64,
    #[cfg(feature = "axum")]
    pub(crate) matched_path: Option<axum::extract::MatchedPath>,
    pub(crate) history_limit: u16,
}

impl Entry {
    #[inline]
    pub(crate) fn new(start: Start<'_>, now: Nanos) -> Entry {
        let method = MethodCode::of(start.method);
        let detail = (method == MethodCode::Other).then(|| {
            Box::new(Detail {
                method: Some(start.method.clone()),
                ..Detail::default()
            })
        });
        Entry {
            id: start.id,
            parent: start.parent,
            start: now,
            direction: start.direction,
            version: start.version,
            method,
            history_limit: start.history_limit,
            peer: start.peer.map(|addr| (addr.ip(), addr.port())),
            uri: UriText::of(start.uri),
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

    /// Makes a spare entry (of an ended request, referred to by nothing else) the entry of
    /// a new request, field by field, without building a whole new one and copying it.
    #[inline]
    pub(crate) fn reset(&mut self, start: Start<'_>, now: Nanos) {
        let method = MethodCode::of(start.method);
        self.id = start.id;
        self.parent = start.parent;
        self.start = now;
        self.direction = start.direction;
        self.version = start.version;
        self.method = method;
        self.history_limit = start.history_limit;
        self.peer = start.peer.map(|addr| (addr.ip(), addr.port()));
        self.uri.assign(start.uri);
        #[cfg(feature = "axum")]
        {
            self.matched_path = start.matched_path;
        }
        self.request_bytes = start.request_bytes;
        *self.response_bytes.get_mut() = 0;
        *self.head_at.get_mut() = 0;
        *self.last_frame_at.get_mut() = 0;
        *self.response_status.get_mut() = 0;
        *self.body.get_mut() = BODY_NONE;
        *self.control.get_mut() = 0;
        let waker = self
            .waker
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if waker.is_some() {
            *waker = None;
        }
        let detail = self
            .detail
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if detail.is_some() || method == MethodCode::Other {
            *detail = (method == MethodCode::Other).then(|| {
                Box::new(Detail {
                    method: Some(start.method.clone()),
                    ..Detail::default()
                })
            });
        }
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

    pub(crate) fn set_route(&self, route: Cow<'static, str>) {
        self.detail().get_or_insert_with(Box::default).route = Some(route);
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

    /// Remembers the task to wake when the request is terminated. Called when the
    /// request's future or body returns `Pending`; cheap when the task is the same.
    #[inline]
    pub(crate) fn register_waker(&self, waker: &Waker) {
        let mut slot = self
            .waker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match slot.as_ref() {
            Some(current) if current.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// Whether an operator asked to terminate the request.
    #[inline]
    pub(crate) fn terminated(&self) -> bool {
        self.control.load(Relaxed) & TERMINATE != 0
    }

    pub(crate) fn cancel_requested(&self) -> bool {
        self.control.load(Relaxed) & CANCEL != 0
    }

    pub(crate) fn cancel_forbidden(&self) -> bool {
        self.control.load(Relaxed) & FORBID_CANCEL != 0
    }

    pub(crate) fn forbid_cancel(&self) {
        self.control.fetch_or(FORBID_CANCEL, Relaxed);
    }

    /// What the operator said, if anything.
    pub(crate) fn control_message(&self) -> Option<String> {
        self.detail()
            .as_ref()
            .and_then(|d| d.control_message.clone())
    }

    /// Asks for the request to end now: its task is woken and the layer drops the
    /// request's future (or cuts its body). Returns false if cancelling is forbidden.
    pub(crate) fn terminate(&self, message: Option<String>) -> bool {
        if self.cancel_forbidden() {
            return false;
        }
        let now = clock::now();
        {
            let mut guard = self.detail();
            let detail = guard.get_or_insert_with(Box::default);
            if message.is_some() {
                detail.control_message = message;
            }
            self.push(detail, StatusText::Terminating, now);
        }
        self.control.fetch_or(TERMINATE, Relaxed);
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// Asks the handler to cancel: `cancelled()` resolves. Returns false if forbidden.
    pub(crate) fn cancel(&self, message: Option<String>) -> bool {
        if self.cancel_forbidden() {
            return false;
        }
        let now = clock::now();
        let waiters = {
            let mut guard = self.detail();
            let detail = guard.get_or_insert_with(Box::default);
            if message.is_some() {
                detail.control_message = message;
            }
            self.push(detail, StatusText::CancelRequested, now);
            self.control.fetch_or(CANCEL, Relaxed);
            std::mem::take(&mut detail.cancel_waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
        true
    }

    /// Resolves once cancel is requested; registers `waker` otherwise.
    pub(crate) fn poll_cancelled(&self, waker: &Waker) -> bool {
        if self.cancel_requested() {
            return true;
        }
        let mut guard = self.detail();
        // Checked again under the lock `cancel` takes, so a wake-up cannot be missed.
        if self.cancel_requested() {
            return true;
        }
        let waiters = &mut guard.get_or_insert_with(Box::default).cancel_waiters;
        if !waiters.iter().any(|w| w.will_wake(waker)) {
            waiters.push(waker.clone());
        }
        false
    }

    /// The outbound calls of this request still in flight.
    pub(crate) fn children(&self) -> Vec<u64> {
        self.detail().as_ref().map_or_else(Vec::new, |d| {
            d.awaiting.iter().map(|call| call.child).collect()
        })
    }

    fn method(&self, detail: Option<&Detail>) -> Method {
        match (
            self.method.standard(),
            detail.and_then(|d| d.method.clone()),
        ) {
            (Some(method), _) => method,
            (None, Some(method)) => method,
            (None, None) => Method::GET,
        }
    }

    /// The current status and when it began.
    fn status(
        &self,
        detail: Option<&Detail>,
        now: Nanos,
        not_reading_after: Nanos,
    ) -> (StatusText, Nanos) {
        if self.terminated()
            && let Some(change) = detail.and_then(|d| {
                d.history
                    .iter()
                    .rev()
                    .find(|t| t.status == StatusText::Terminating)
            })
        {
            return (StatusText::Terminating, change.at);
        }
        let head_at = self.head_at(now);
        if head_at != 0 {
            if self.body.load(Relaxed) == BODY_HANDED_OFF {
                let last = self.last_frame_at.load(Relaxed);
                if now.saturating_sub(last) >= not_reading_after {
                    return (self.direction.not_reading_status(), last);
                }
            }
            if let Some(detail) = detail {
                if let Some((status, at)) = &detail.user_status
                    && *at >= head_at
                {
                    return (StatusText::User(status.clone()), *at);
                }
                if let Some(awaiting) = awaiting(detail) {
                    return awaiting;
                }
            }
            return (self.direction.body_status(), head_at);
        }
        if let Some(detail) = detail {
            if let Some(awaiting) = awaiting(detail) {
                return awaiting;
            }
            if let Some((status, at)) = &detail.user_status {
                return (StatusText::User(status.clone()), *at);
            }
        }
        (self.direction.initial_status(), self.start)
    }

    /// Writes this request's line of the text dump; returns its outbound calls in flight
    /// when `children` is asked for.
    pub(crate) fn dump_line(&self, buf: &mut String, view: &View<'_>, children: bool) -> Vec<u64> {
        let guard = self.detail();
        let detail = guard.as_deref();
        let (status, status_since) = self.status(detail, view.now, view.not_reading_after);
        let cancel = self.cancel_requested() && status != StatusText::Terminating;
        let method = self.method(detail);
        crate::dump::write_line(
            buf,
            self.id,
            method.as_str(),
            &view.sensitive.uri(self.uri.as_str()),
            clock::between(self.start, view.now),
            |out| {
                status.write_to(out)?;
                if cancel {
                    out.push_str(" (cancel requested)");
                }
                Ok(())
            },
            clock::between(status_since, view.now),
            detail
                .into_iter()
                .flat_map(|d| d.attributes.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))),
        );
        match detail {
            Some(detail) if children => detail.awaiting.iter().map(|call| call.child).collect(),
            _ => Vec::new(),
        }
    }

    /// Owned data for a snapshot. `history` is skipped for the text dump.
    pub(crate) fn snapshot(&self, view: &View<'_>, history: bool) -> EntrySnapshot {
        let now = view.now;
        let guard = self.detail();
        let detail = guard.as_deref();
        let (status, status_since) = self.status(detail, now, view.not_reading_after);
        let head_at = self.head_at(now);
        let last_frame_at = self.last_frame_at.load(Relaxed);
        let last_activity = last_frame_at.max(head_at).max(self.start);
        let (bytes_in, bytes_out) = {
            let response = self.response_bytes.load(Relaxed);
            match self.direction {
                Direction::Inbound => (self.request_bytes, response),
                Direction::Outbound => (response, self.request_bytes),
            }
        };
        let mut history_out = Vec::new();
        let mut history_dropped = 0;
        if history {
            let limit = usize::from(self.history_limit).max(1);
            let mut changes: Vec<Transition> =
                Vec::with_capacity(2 + detail.map_or(0, |d| d.history.len()));
            changes.push(Transition {
                at: self.start,
                status: self.direction.initial_status(),
            });
            if let Some(detail) = detail {
                changes.extend(detail.history.iter().cloned());
                history_dropped = detail.history_dropped;
            }
            if head_at != 0 {
                changes.push(Transition {
                    at: head_at,
                    status: self.direction.body_status(),
                });
            }
            if status_since > self.start && changes.last().is_none_or(|last| last.status != status)
            {
                changes.push(Transition {
                    at: status_since,
                    status: status.clone(),
                });
            }
            changes.sort_by_key(|change| change.at);
            // A status set again while in force is not a transition.
            changes.dedup_by(|later, earlier| later.status == earlier.status);
            if changes.len() > limit {
                let excess = changes.len() - limit;
                history_dropped += excess as u64;
                changes.drain(..excess);
            }
            history_out = changes
                .into_iter()
                .map(|change| StatusChange {
                    status: change.status.to_string(),
                    at: clock::wall(change.at),
                    offset: clock::between(self.start, change.at),
                })
                .collect();
        }
        let route = detail.and_then(|d| d.route.as_deref().map(str::to_owned));
        #[cfg(feature = "axum")]
        let route = route.or_else(|| self.matched_path.as_ref().map(|p| p.as_str().to_owned()));
        let response_status = match self.response_status.load(Relaxed) {
            0 => None,
            code => StatusCode::from_u16(code).ok(),
        };
        EntrySnapshot {
            id: self.id,
            direction: self.direction,
            method: self.method(detail),
            uri: view.redact(self.uri.as_str()),
            version: self.version,
            peer: self.peer.map(|(ip, port)| SocketAddr::new(ip, port)),
            route,
            started_at: clock::wall(self.start),
            age: clock::between(self.start, now),
            status: if self.cancel_requested() && status != StatusText::Terminating {
                format!("{status} (cancel requested)")
            } else {
                status.to_string()
            },
            status_age: clock::between(status_since, now),
            history: history_out,
            history_dropped,
            attributes: detail.map_or_else(Vec::new, |d| {
                d.attributes
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
            parent: (self.parent != 0).then_some(self.parent),
            children: detail.map_or_else(Vec::new, |d| {
                d.awaiting.iter().map(|call| call.child).collect()
            }),
            bytes_in,
            bytes_out,
            idle: clock::between(last_activity, now),
            response_status,
            cancel_requested: self.cancel_requested(),
            cancel_forbidden: self.cancel_forbidden(),
            control_message: detail.and_then(|d| d.control_message.clone()),
        }
    }
}

fn awaiting(detail: &Detail) -> Option<(StatusText, Nanos)> {
    let first = detail.awaiting.first()?;
    let more = u32::try_from(detail.awaiting.len() - 1).unwrap_or(u32::MAX);
    Some((
        StatusText::Awaiting {
            target: first.target.clone(),
            more,
        },
        first.since,
    ))
}

/// What a snapshot needs besides the entry: the time it is taken and the table's settings.
pub(crate) struct View<'a> {
    pub(crate) now: Nanos,
    pub(crate) not_reading_after: Nanos,
    pub(crate) sensitive: &'a crate::redact::Redaction,
}

impl View<'_> {
    fn redact(&self, raw: &str) -> String {
        self.sensitive.uri(raw).into_owned()
    }
}

impl Direction {
    fn initial_status(self) -> StatusText {
        match self {
            Direction::Inbound => StatusText::InHandler,
            Direction::Outbound => StatusText::AwaitingHeaders,
        }
    }

    fn body_status(self) -> StatusText {
        match self {
            Direction::Inbound => StatusText::WritingBody,
            Direction::Outbound => StatusText::ReadingBody,
        }
    }

    fn not_reading_status(self) -> StatusText {
        match self {
            Direction::Inbound => StatusText::ClientNotReading,
            Direction::Outbound => StatusText::CallerNotReading,
        }
    }
}

/// A standard method in one byte.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum MethodCode {
    Get,
    Post,
    Put,
    Delete,
    Head,
    Options,
    Patch,
    Trace,
    Connect,
    Other,
}

impl MethodCode {
    #[inline]
    fn of(method: &Method) -> MethodCode {
        // Most requests are GETs; the rest by name (a table of `Method` constants would be
        // built on the stack at every call).
        if *method == Method::GET {
            return MethodCode::Get;
        }
        match method.as_str() {
            "POST" => MethodCode::Post,
            "PUT" => MethodCode::Put,
            "DELETE" => MethodCode::Delete,
            "HEAD" => MethodCode::Head,
            "OPTIONS" => MethodCode::Options,
            "PATCH" => MethodCode::Patch,
            "TRACE" => MethodCode::Trace,
            "CONNECT" => MethodCode::Connect,
            _ => MethodCode::Other,
        }
    }

    fn standard(self) -> Option<Method> {
        Some(match self {
            MethodCode::Get => Method::GET,
            MethodCode::Post => Method::POST,
            MethodCode::Put => Method::PUT,
            MethodCode::Delete => Method::DELETE,
            MethodCode::Head => Method::HEAD,
            MethodCode::Options => Method::OPTIONS,
            MethodCode::Patch => Method::PATCH,
            MethodCode::Trace => Method::TRACE,
            MethodCode::Connect => Method::CONNECT,
            MethodCode::Other => return None,
        })
    }
}

const INLINE_URI: usize = 62;

/// The request target as received (inbound) or sent (outbound), unredacted: redaction
/// happens when a snapshot is taken, off the request path.
enum UriText {
    Inline { len: u8, bytes: [u8; INLINE_URI] },
    Heap(Box<str>),
}

impl UriText {
    /// Stores `uri` here, reusing the inline buffer where it can.
    #[inline]
    fn assign(&mut self, uri: &Uri) {
        if uri.authority().is_none() {
            let tail = uri
                .path_and_query()
                .map_or_else(|| uri.path(), |pq| pq.as_str());
            if let (true, UriText::Inline { len, bytes }) = (tail.len() <= INLINE_URI, &mut *self) {
                bytes[..tail.len()].copy_from_slice(tail.as_bytes());
                *len = tail.len() as u8;
                return;
            }
        }
        *self = UriText::of(uri);
    }

    #[inline]
    fn of(uri: &Uri) -> UriText {
        let tail = uri
            .path_and_query()
            .map_or_else(|| uri.path(), |pq| pq.as_str());
        if uri.authority().is_none() {
            // Origin-form, what a server sees: one copy, no joining.
            return UriText::from_str(tail);
        }
        match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => {
                UriText::from_parts(&[scheme, "://", authority.as_str(), tail])
            }
            // CONNECT's authority-form.
            (None, Some(authority)) if uri.path_and_query().is_none() => {
                UriText::from_parts(&[authority.as_str()])
            }
            _ => UriText::from_parts(&[tail]),
        }
    }

    #[inline]
    fn from_str(text: &str) -> UriText {
        if text.len() <= INLINE_URI {
            let mut bytes = [0u8; INLINE_URI];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            UriText::Inline {
                len: text.len() as u8,
                bytes,
            }
        } else {
            UriText::Heap(text.into())
        }
    }

    fn from_parts(parts: &[&str]) -> UriText {
        let len: usize = parts.iter().map(|part| part.len()).sum();
        if len <= INLINE_URI {
            let mut bytes = [0u8; INLINE_URI];
            let mut at = 0;
            for part in parts {
                bytes[at..at + part.len()].copy_from_slice(part.as_bytes());
                at += part.len();
            }
            UriText::Inline {
                len: len as u8,
                bytes,
            }
        } else {
            UriText::Heap(parts.concat().into_boxed_str())
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // Whole `&str`s were copied in, so this is valid UTF-8.
            UriText::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or("")
            }
            UriText::Heap(text) => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_stays_compact() {
        // One allocation per request holds all of this plus the Arc's two counters; with a
        // 60-byte URI the whole cost per entry must stay under 256 bytes (see benches/).
        assert!(
            std::mem::size_of::<Entry>() <= 224,
            "Entry is {} bytes",
            std::mem::size_of::<Entry>()
        );
    }

    #[test]
    fn uri_text_round_trips() {
        for raw in [
            "/",
            "/fetch/1?x=2",
            "http://slownode:8484/blob/x",
            "http://example.com/a/very/long/path/that/does/not/fit/inline/at/all/because/it/is/long",
        ] {
            let uri: Uri = raw.parse().unwrap();
            assert_eq!(UriText::of(&uri).as_str(), raw);
        }
        let connect = Uri::from_static("example.com:443");
        assert_eq!(UriText::of(&connect).as_str(), "example.com:443");
    }

    #[test]
    fn method_codes_round_trip() {
        for method in [
            Method::GET,
            Method::POST,
            Method::HEAD,
            Method::CONNECT,
            Method::PATCH,
        ] {
            assert_eq!(MethodCode::of(&method).standard(), Some(method));
        }
        let custom = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(MethodCode::of(&custom), MethodCode::Other);
    }
}
