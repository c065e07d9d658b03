//! The endpoints that read the table and what ended: one handler each, after its
//! extractors checked the token and read the query.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use http::StatusCode;
use inflight_core::EntrySnapshot;
use inflight_wire::{ProfileReport, RecentReport, RequestList, RequestReply};

use crate::access::{Killer, Reader};
use crate::control::{self, Control};
use crate::profile::Window;
use crate::query::{ListParams, NoParams, Params, ProfileParams, Sort, TerminateParams};
use crate::recent;
use crate::reply::{Failure, Reply, json};
use crate::state::{State as Admin, lock};
use crate::to_wire;
use crate::traces;

type Shared = State<Arc<Admin>>;

/// The `{id}` of a path; axum has percent-decoded it.
fn parse_id(path: Result<Path<String>, PathRejection>) -> Result<u64, Failure> {
    let Path(text) =
        path.map_err(|_| Failure::bad_request("a request id is a number, not valid UTF-8"))?;
    text.parse()
        .map_err(|_| Failure::bad_request(format!("a request id is a number, not {text:?}")))
}

pub(crate) async fn list(
    _: Reader,
    State(state): Shared,
    Params(query): Params<ListParams>,
) -> Reply {
    let table = &state.config.table;
    let snapshot = match query.min_age {
        Some(age) => table.snapshot_older_than(age),
        None => table.snapshot_summary(),
    };
    let status = query.status.map(|status| status.to_lowercase());
    let keep = |entry: &&EntrySnapshot| {
        query.direction.is_none_or(|d| entry.direction == d)
            && status
                .as_ref()
                .is_none_or(|s| entry.status.to_lowercase().contains(s))
            && query
                .route
                .as_ref()
                .is_none_or(|r| entry.route.as_ref() == Some(r))
            && query.trace.is_none_or(|t| t == Some(entry.trace_id))
    };
    let mut entries: Vec<&EntrySnapshot> = snapshot.entries.iter().filter(keep).collect();
    // The snapshot is oldest first; sorts are stable, so ties stay oldest first.
    match query.sort {
        Sort::Status => entries.sort_by(|a, b| a.status.cmp(&b.status)),
        Sort::Method => entries.sort_by(|a, b| a.method.as_str().cmp(b.method.as_str())),
        Sort::Age => {}
    }
    let requests = entries
        .into_iter()
        .take(query.limit)
        .map(|entry| to_wire::request(entry, false))
        .collect();
    json(StatusCode::OK, &RequestList::new(state.origin(), requests))
}

pub(crate) async fn get(
    _: Reader,
    State(state): Shared,
    Params(NoParams {}): Params<NoParams>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Reply, Failure> {
    let id = parse_id(id)?;
    let entry = state
        .config
        .table
        .get(id)
        .ok_or_else(|| Failure::not_found(format!("no request #{id} is in flight")))?;
    Ok(json(
        StatusCode::OK,
        &RequestReply::new(state.origin(), to_wire::request(&entry, true)),
    ))
}

pub(crate) async fn terminate(
    _: Killer,
    State(state): Shared,
    id: Result<Path<String>, PathRejection>,
    Params(query): Params<TerminateParams>,
    body: Body,
) -> Result<Reply, Failure> {
    let id = parse_id(id)?;
    control::terminate(&state, id, query, body).await
}

pub(crate) async fn cancel(
    _: Killer,
    State(state): Shared,
    id: Result<Path<String>, PathRejection>,
    Params(query): Params<Control>,
    body: Body,
) -> Result<Reply, Failure> {
    let id = parse_id(id)?;
    control::cancel(&state, id, query, body).await
}

pub(crate) async fn trace(
    _: Reader,
    State(state): Shared,
    Params(NoParams {}): Params<NoParams>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Reply, Failure> {
    let Path(id) = id.map_err(|_| {
        Failure::bad_request("a trace id is 32 hex digits, like 4bf92f3577b34da6a3ce929d0e0e4736")
    })?;
    traces::trace(&state, &id)
}

pub(crate) async fn recent(
    _: Reader,
    State(state): Shared,
    Params(NoParams {}): Params<NoParams>,
) -> Reply {
    let table = &state.config.table;
    let stats = table.ended_stats();
    let kept = table.kept();
    let mut report = RecentReport::new(
        state.origin(),
        table.finished_dropped(),
        recent::report(&stats, &kept),
    );
    report.ended = kept.ended;
    report.kept = kept.kept;
    json(StatusCode::OK, &report)
}

pub(crate) async fn profile(
    _: Reader,
    State(state): Shared,
    Params(query): Params<ProfileParams>,
) -> Reply {
    let table = &state.config.table;
    let stats = table.ended_stats();
    let kept = table.kept();
    let mut window = lock(&state.profile);
    let (routes, sampled) = window.report(&stats, &kept);
    let mut report = ProfileReport::new(
        state.origin(),
        window.window_start(),
        SystemTime::now()
            .duration_since(window.since())
            .unwrap_or_default()
            .as_secs_f64(),
        routes,
    );
    report.sampled = sampled;
    if query.reset {
        *window = Window::new(&stats);
    }
    json(StatusCode::OK, &report)
}
