//! The endpoints.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::SystemTime;

use http::{HeaderMap, Method, Request, StatusCode, header};
use hyper::body::Incoming;
use inflight_core::{Direction, EntrySnapshot};
use inflight_wire::{ProfileReport, RecentReport, RequestList, RequestReply, parse_duration};

use crate::access::{self, Need};
use crate::control;
use crate::health;
use crate::profile::Profile;
use crate::reply::{self, Failure, Reply, json, parse_bool, query_pairs};
use crate::state::{State, lock};
use crate::to_wire;
use crate::traces;
use crate::web;

/// Most requests one list returns.
const MAX_LIMIT: usize = 1_000_000;

pub(crate) async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut reply = route(&state, req).await.unwrap_or_else(Failure::into_reply);
    if let Some(origin) = origin {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, origin);
        access::add_cors(&state.config, &headers, &mut reply);
    }
    Ok(reply)
}

async fn route(state: &State, req: Request<Incoming>) -> Result<Reply, Failure> {
    if req.method() == Method::OPTIONS {
        let headers = req.headers().clone();
        // No endpoint takes OPTIONS, so each path's 405 names the methods it allows.
        return match endpoint(state, req).await {
            Err(failure) if failure.status == StatusCode::METHOD_NOT_ALLOWED => Ok(
                access::preflight(&state.config, &headers, failure.allow.unwrap_or_default()),
            ),
            other => other,
        };
    }
    endpoint(state, req).await
}

async fn endpoint(state: &State, req: Request<Incoming>) -> Result<Reply, Failure> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let query = query.as_deref();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let read = matches!(method, Method::GET | Method::HEAD);
    let check = |need| access::check(&state.config, req.headers(), need);
    match segments.as_slice() {
        ["requests"] if read => {
            check(Need::Read)?;
            list(state, query)
        }
        ["requests"] => Err(Failure::method_not_allowed("GET, HEAD")),
        ["requests", id] if read => {
            check(Need::Read)?;
            query_pairs(query, &[])?;
            get(state, parse_id(id)?)
        }
        ["requests", id] if method == Method::DELETE => {
            check(Need::Kill)?;
            let id = parse_id(id)?;
            control::terminate(state, id, query, req.into_body()).await
        }
        ["requests", _] => Err(Failure::method_not_allowed("GET, HEAD, DELETE")),
        ["requests", id, "cancel"] if method == Method::POST => {
            check(Need::Kill)?;
            let id = parse_id(id)?;
            control::cancel(state, id, query, req.into_body()).await
        }
        ["requests", _, "cancel"] => Err(Failure::method_not_allowed("POST")),
        ["traces", id] if read => {
            check(Need::Read)?;
            query_pairs(query, &[])?;
            traces::trace(state, id)
        }
        ["traces", _] => Err(Failure::method_not_allowed("GET, HEAD")),
        ["recent"] if read => {
            check(Need::Read)?;
            query_pairs(query, &[])?;
            Ok(recent(state))
        }
        ["profile"] if read => {
            check(Need::Read)?;
            profile(state, query)
        }
        ["healthz"] if read => {
            query_pairs(query, &[])?;
            let (busy, report) = health::report(
                &state.config,
                &state.health,
                state.started.elapsed(),
                state.origin(),
            );
            let status = if busy {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            };
            Ok(json(status, &report))
        }
        ["dump"] if read => {
            check(Need::Read)?;
            query_pairs(query, &[])?;
            let mut text = Vec::new();
            state.config.table.dump_text(&mut text).map_err(|error| {
                Failure::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
            })?;
            Ok(reply::text(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                text,
            ))
        }
        ["openapi.json"] if read => {
            query_pairs(query, &[])?;
            Ok(reply::text(
                StatusCode::OK,
                "application/json",
                crate::OPENAPI,
            ))
        }
        ["metrics"] if read && state.config.metrics_endpoint.is_some() => {
            check(Need::Read)?;
            query_pairs(query, &[])?;
            let render = state
                .config
                .metrics_endpoint
                .as_ref()
                .map(|render| render());
            Ok(reply::text(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                render.unwrap_or_default(),
            ))
        }
        // The page holds no data: it needs no token, and asks each admin port for the
        // data with the tokens the user gives it. Its own query is for the page to read.
        [name] if read && web::is_asset(name) => {
            if !name.is_empty() {
                query_pairs(query, &[])?;
            }
            web::asset(name).ok_or_else(|| Failure::not_found(format!("no such file: {path}")))
        }
        [name] if web::is_asset(name) => Err(Failure::method_not_allowed("GET, HEAD")),
        ["recent" | "profile" | "healthz" | "dump" | "openapi.json"] => {
            Err(Failure::method_not_allowed("GET, HEAD"))
        }
        ["metrics"] if state.config.metrics_endpoint.is_some() => {
            Err(Failure::method_not_allowed("GET, HEAD"))
        }
        _ => Err(Failure::not_found(format!(
            "no such endpoint: {path}; see /openapi.json"
        ))),
    }
}

fn parse_id(text: &str) -> Result<u64, Failure> {
    text.parse()
        .map_err(|_| Failure::bad_request(format!("a request id is a number, not {text:?}")))
}

fn list(state: &State, query: Option<&str>) -> Result<Reply, Failure> {
    let mut direction = None;
    let mut min_age = None;
    let mut status = None;
    let mut route = None;
    let mut trace = None;
    let mut sort = "age";
    let mut limit = MAX_LIMIT;
    let pairs = query_pairs(
        query,
        &[
            "direction",
            "min_age",
            "status",
            "route",
            "trace",
            "sort",
            "limit",
        ],
    )?;
    for (name, value) in &pairs {
        match name.as_str() {
            "direction" => {
                direction = Some(match value.as_str() {
                    "inbound" | "in" => Direction::Inbound,
                    "outbound" | "out" => Direction::Outbound,
                    _ => {
                        return Err(Failure::bad_request(format!(
                            "direction is inbound or outbound, not {value:?}"
                        )));
                    }
                });
            }
            "min_age" => {
                min_age = Some(
                    parse_duration(value)
                        .map_err(|e| Failure::bad_request(format!("min_age: {e}")))?,
                );
            }
            "status" => status = Some(value.to_lowercase()),
            "route" => route = Some(value.clone()),
            // The all-zero id is well formed and matches nothing.
            "trace" => trace = Some(traces::parse_trace_id(value)?),
            "sort" => {
                sort = match value.as_str() {
                    "age" => "age",
                    "status" => "status",
                    "method" => "method",
                    _ => {
                        return Err(Failure::bad_request(format!(
                            "sort is age, status or method, not {value:?}"
                        )));
                    }
                };
            }
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        Failure::bad_request(format!(
                            "limit is a number from 1 to {MAX_LIMIT}, not {value:?}"
                        ))
                    })?;
            }
            _ => {}
        }
    }
    let table = &state.config.table;
    let snapshot = match min_age {
        Some(age) => table.snapshot_older_than(age),
        None => table.snapshot_summary(),
    };
    let keep = |entry: &&EntrySnapshot| {
        direction.is_none_or(|d| entry.direction == d)
            && status
                .as_ref()
                .is_none_or(|s| entry.status.to_lowercase().contains(s))
            && route
                .as_ref()
                .is_none_or(|r| entry.route.as_ref() == Some(r))
            && trace.is_none_or(|t| t == Some(entry.trace_id))
    };
    let mut entries: Vec<&EntrySnapshot> = snapshot.entries.iter().filter(keep).collect();
    // The snapshot is oldest first; sorts are stable, so ties stay oldest first.
    match sort {
        "status" => entries.sort_by(|a, b| a.status.cmp(&b.status)),
        "method" => entries.sort_by(|a, b| a.method.as_str().cmp(b.method.as_str())),
        _ => {}
    }
    let requests = entries
        .into_iter()
        .take(limit)
        .map(|entry| to_wire::request(entry, false))
        .collect();
    Ok(json(
        StatusCode::OK,
        &RequestList::new(state.origin(), requests),
    ))
}

fn get(state: &State, id: u64) -> Result<Reply, Failure> {
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

fn recent(state: &State) -> Reply {
    // Fresh data: what ended since the last drain is included.
    state.drain();
    let families = {
        let aggregates = lock(&state.aggregates);
        aggregates.recent.report(&aggregates.families)
    };
    json(
        StatusCode::OK,
        &RecentReport::new(
            state.origin(),
            state.config.table.finished_dropped(),
            families,
        ),
    )
}

fn profile(state: &State, query: Option<&str>) -> Result<Reply, Failure> {
    let mut reset = false;
    for (name, value) in query_pairs(query, &["reset"])? {
        if name == "reset" {
            reset = parse_bool("reset", &value)?;
        }
    }
    state.drain();
    let mut aggregates = lock(&state.aggregates);
    let aggregates = &mut *aggregates;
    let profile = &mut aggregates.profile;
    let report = ProfileReport::new(
        state.origin(),
        profile.window_start(),
        SystemTime::now()
            .duration_since(profile.since())
            .unwrap_or_default()
            .as_secs_f64(),
        profile.report(&aggregates.families),
    );
    if reset {
        *profile = Profile::new();
    }
    Ok(json(StatusCode::OK, &report))
}
