//! Reading an entry: its current status, its history, and owned snapshots.

use std::net::SocketAddr;

use http::{Method, StatusCode};

use super::{BODY_HANDED_OFF, Detail, Entry, PendingCall, Transition};
use crate::clock::{self, Nanos};
use crate::snapshot::{Direction, EntrySnapshot, StatusChange};
use crate::status::StatusText;
use crate::sync::Ordering::Relaxed;
use crate::trace::TraceId;

/// One line of the text dump, borrowed from the entry.
pub(crate) struct Line<'a> {
    pub(crate) id: u64,
    pub(crate) trace_id: TraceId,
    pub(crate) method: &'a str,
    /// Redacted.
    pub(crate) uri: &'a str,
    pub(crate) age: std::time::Duration,
    pub(crate) status: &'a StatusText,
    pub(crate) cancel_requested: bool,
    pub(crate) status_age: std::time::Duration,
    pub(crate) attributes: &'a [(
        std::borrow::Cow<'static, str>,
        std::borrow::Cow<'static, str>,
    )],
    pub(crate) children: &'a [PendingCall],
    /// Time to the caller's deadline, or past it (`true`).
    pub(crate) deadline: Option<(bool, std::time::Duration)>,
}

impl Entry {
    fn method(&self, detail: Option<&Detail>) -> Method {
        if self.direction == Direction::Work {
            return work_method();
        }
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

    /// The parts of this request's line of the text dump, handed to `f` while the
    /// entry's detail is locked (formatting lives in the `dump` module).
    pub(crate) fn with_line<R>(&self, view: &View<'_>, f: impl FnOnce(Line<'_>) -> R) -> R {
        let guard = self.detail();
        let detail = guard.as_deref();
        let (status, status_since) = self.status(detail, view.now, view.not_reading_after);
        let method = self.method(detail);
        let redacted = view.sensitive.uri(self.uri.as_str());
        f(Line {
            id: self.id(),
            trace_id: self.trace.trace_id,
            method: method.as_str(),
            uri: &redacted,
            age: clock::between(self.start, view.now),
            cancel_requested: self.cancel_requested() && status != StatusText::Terminating,
            status: &status,
            status_age: clock::between(status_since, view.now),
            attributes: detail.map_or(&[][..], |d| &d.attributes[..]),
            children: detail.map_or(&[][..], |d| &d.awaiting[..]),
            deadline: detail.filter(|d| d.deadline != 0).map(|d| {
                let past = view.now > d.deadline;
                let gap = if past {
                    clock::between(d.deadline, view.now)
                } else {
                    clock::between(view.now, d.deadline)
                };
                (past, gap)
            }),
        })
    }

    /// The status transitions of this request, oldest first, bounded by its history
    /// limit; and how many older ones were dropped.
    fn transitions(
        &self,
        detail: Option<&Detail>,
        now: Nanos,
        current: (&StatusText, Nanos),
    ) -> (Vec<Transition>, u64) {
        let (status, status_since) = current;
        let head_at = self.head_at(now);
        let mut history_dropped = 0;
        let limit = usize::from(self.history_limit).max(1);
        let mut changes: Vec<Transition> =
            Vec::with_capacity(3 + detail.map_or(0, |d| d.history.len()));
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
        if status_since > self.start && changes.last().is_none_or(|last| last.status != *status) {
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
        (changes, history_dropped)
    }

    /// Calls `f` with each status this request had and how long it had it, as of `now`
    /// (its end, for a finished request), without copying the entry.
    pub(crate) fn for_each_status(
        &self,
        now: Nanos,
        not_reading_after: Nanos,
        mut f: impl FnMut(&StatusText, Nanos),
    ) {
        let guard = self.detail();
        let detail = guard.as_deref();
        let (status, since) = self.status(detail, now, not_reading_after);
        if detail.is_none() {
            // Most requests: no history kept, at most three automatic statuses, nothing
            // to allocate.
            let head_at = self.head_at(now);
            let mut changes = [
                Some((self.start, self.direction.initial_status())),
                (head_at != 0).then(|| (head_at, self.direction.body_status())),
                (since > self.start).then_some((since, status)),
            ];
            changes.sort_by_key(|change| change.as_ref().map_or(Nanos::MAX, |c| c.0));
            let mut previous: Option<&(Nanos, StatusText)> = None;
            let mut pending: Option<&(Nanos, StatusText)> = None;
            for change in changes.iter().flatten() {
                if previous.is_some_and(|p| p.1 == change.1) {
                    continue;
                }
                if let Some(earlier) = pending {
                    f(&earlier.1, change.0.saturating_sub(earlier.0));
                }
                pending = Some(change);
                previous = Some(change);
            }
            if let Some(last) = pending {
                f(&last.1, now.saturating_sub(last.0));
            }
            return;
        }
        let (changes, _) = self.transitions(detail, now, (&status, since));
        for (i, change) in changes.iter().enumerate() {
            let until = changes.get(i + 1).map_or(now, |next| next.at);
            f(&change.status, until.saturating_sub(change.at));
        }
    }

    /// The route: set by the handler, or axum's `MatchedPath`.
    pub(crate) fn route(&self) -> Option<String> {
        self.with_route(|route| route.map(str::to_owned))
    }

    /// Calls `f` with the route, without copying it.
    pub(crate) fn with_route<R>(&self, f: impl FnOnce(Option<&str>) -> R) -> R {
        if self.control.load(Relaxed) & super::ROUTE_SET != 0 {
            let guard = self.detail();
            if let Some(route) = guard.as_ref().and_then(|d| d.route.as_deref()) {
                return f(Some(route));
            }
        }
        #[cfg(feature = "axum")]
        if let Some(path) = &self.matched_path {
            return f(Some(path.as_str()));
        }
        f(self.work_name())
    }

    /// Work's name, its route unless one was set: what `/recent` and `/profile` group by.
    fn work_name(&self) -> Option<&str> {
        (self.direction == Direction::Work).then(|| self.uri.as_str())
    }

    /// The method.
    pub(crate) fn http_method(&self) -> Method {
        if self.direction == Direction::Work {
            return work_method();
        }
        if let Some(method) = self.method.standard() {
            return method;
        }
        self.method(self.detail().as_deref())
    }

    /// The response status, once the response head exists.
    pub(crate) fn response_status(&self) -> Option<StatusCode> {
        match self.response_status.load(Relaxed) {
            0 => None,
            code => StatusCode::from_u16(code).ok(),
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
                Direction::Inbound | Direction::Work => (self.request_bytes, response),
                Direction::Outbound => (response, self.request_bytes),
            }
        };
        let mut history_out = Vec::new();
        let mut history_dropped = 0;
        if history {
            let (changes, dropped) = self.transitions(detail, now, (&status, status_since));
            history_dropped = dropped;
            history_out = changes
                .into_iter()
                .map(|change| StatusChange {
                    status: change.status.to_string(),
                    at: clock::wall(change.at),
                    offset: clock::between(self.start, change.at),
                })
                .collect();
        }
        let route = detail
            .and_then(|d| d.route.as_deref().map(str::to_owned))
            .or_else(|| self.work_name().map(str::to_owned));
        let deadline = detail.map(|d| d.deadline).filter(|at| *at != 0);
        #[cfg(feature = "axum")]
        let route = route.or_else(|| self.matched_path.as_ref().map(|p| p.as_str().to_owned()));
        let response_status = self.response_status();
        EntrySnapshot {
            id: self.id(),
            trace_id: self.trace.trace_id,
            span_id: self.trace.span_id,
            parent_span_id: self.trace.parent_span_id,
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
            deadline: deadline.map(|at| clock::between(self.start, at)),
            past_deadline: deadline.is_some_and(|at| now > at),
            // Only the table knows whether the parent is still there.
            orphan: false,
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
    pub(crate) fn redact(&self, raw: &str) -> String {
        self.sensitive.uri(raw).into_owned()
    }
}

/// The method work is listed with: it has none, and `WORK` reads as what it is in every
/// column made for methods. A short extension method is stored inline, so this does not
/// allocate.
pub(crate) fn work_method() -> Method {
    Method::from_bytes(b"WORK").unwrap_or(Method::GET)
}

#[cfg(test)]
mod tests;
