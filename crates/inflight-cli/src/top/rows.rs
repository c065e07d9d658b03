//! What `inflight top` shows: the columns, each endpoint's last answer, and one row per
//! request.

use std::time::{Duration, Instant};

use inflight_wire::{Request, RequestList};

use crate::endpoints::Endpoint;

/// The columns, in display order; the number keys 1-8 sort by them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Column {
    Host,
    Id,
    Dir,
    Age,
    InStatus,
    Status,
    Method,
    Url,
}

impl Column {
    pub(crate) const ALL: [Column; 8] = [
        Column::Host,
        Column::Id,
        Column::Dir,
        Column::Age,
        Column::InStatus,
        Column::Status,
        Column::Method,
        Column::Url,
    ];

    pub(crate) fn title(self) -> &'static str {
        match self {
            Column::Host => "HOST",
            Column::Id => "ID",
            Column::Dir => "DIR",
            Column::Age => "AGE",
            Column::InStatus => "IN STATUS",
            Column::Status => "STATUS",
            Column::Method => "METHOD",
            Column::Url => "URL / ROUTE",
        }
    }
}

/// What one endpoint answered last.
pub(crate) struct EndpointState {
    pub(crate) endpoint: Endpoint,
    pub(crate) result: Result<RequestList, String>,
    pub(crate) fetched_at: Instant,
    /// Since when a poll has gone unanswered, once it missed a refresh. Its last rows
    /// stay (their ages keep counting) until the answer or the time limit comes.
    pub(crate) late_since: Option<Instant>,
}

impl EndpointState {
    pub(crate) fn new(endpoint: Endpoint) -> EndpointState {
        EndpointState {
            endpoint,
            result: Err("not asked yet".into()),
            fetched_at: Instant::now(),
            late_since: None,
        }
    }

    /// Why the endpoint shows as failing, if it does: its error, or how long it has not
    /// answered.
    pub(crate) fn failing(&self, now: Instant) -> Option<String> {
        if let Some(since) = self.late_since {
            let waited = inflight_wire::Elapsed(now.saturating_duration_since(since));
            return Some(format!("{}: no answer for {waited}", self.endpoint));
        }
        self.result.as_ref().err().cloned()
    }
}

/// One line of the table.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub(crate) endpoint: Endpoint,
    /// The service behind the endpoint.
    pub(crate) service: String,
    pub(crate) request: Request,
    /// 1 for an outbound call shown under its parent; in the tree, the depth in it.
    pub(crate) depth: u8,
    /// In the tree: what is drawn before the id (`│  └─ `).
    pub(crate) prefix: String,
    /// In the tree: the deepest request of its chain, holding the others up.
    pub(crate) holding: bool,
    pub(crate) fetched_at: Instant,
}

impl Row {
    /// Age now: what the server said plus the time since it said it.
    pub(crate) fn age(&self, now: Instant) -> Duration {
        millis(self.request.elapsed_ms) + now.saturating_duration_since(self.fetched_at)
    }

    pub(crate) fn status_age(&self, now: Instant) -> Duration {
        millis(self.request.status_elapsed_ms) + now.saturating_duration_since(self.fetched_at)
    }

    /// The URL; the route when the URL is too long to read at a glance.
    pub(crate) fn target(&self) -> String {
        match &self.request.route {
            Some(route) if self.request.uri.len() > 40 => route.clone(),
            _ => self.request.uri.clone(),
        }
    }

    pub(crate) fn text(&self) -> String {
        let r = &self.request;
        let mut text = format!(
            "{} {} {} {} {} {} {}",
            self.service,
            self.endpoint.name,
            r.id,
            r.direction,
            crate::render::status(r),
            r.method,
            self.target()
        );
        for (key, value) in &r.attributes {
            text.push_str(&format!(" {key}={value}"));
        }
        text.to_lowercase()
    }
}

fn millis(ms: f64) -> Duration {
    Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}
