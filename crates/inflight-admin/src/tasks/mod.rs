//! `GET /debug/tasks`: tokio's task dump of the service's runtime, identical stacks merged
//! with counts, most frequent first; and the same as a section of the signal dump.

mod aggregate;
mod capture;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::State;
use http::StatusCode;
use inflight_wire::{TaskDump, TaskGroup};
use serde::Deserialize;
use tokio::runtime::Handle;

use crate::access::Reader;
use crate::query::Params;
use crate::reply::{self, Failure, Reply};
use crate::state::State as Admin;

/// Takes one task dump at a time, bounded in time.
#[derive(Clone)]
pub(crate) struct TaskDumps {
    runtime: Option<Handle>,
    timeout: Duration,
    running: Arc<AtomicBool>,
}

/// Clears the running flag when the dump really ends, not when its caller gives up.
struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl TaskDumps {
    pub(crate) fn new(runtime: Option<Handle>, timeout: Duration) -> TaskDumps {
        TaskDumps {
            runtime,
            timeout,
            running: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The dump's groups and its task count. Runs on the admin runtime.
    pub(crate) async fn take(&self) -> Result<(usize, Vec<TaskGroup>), Failure> {
        if let Some(missing) = capture::UNSUPPORTED {
            return Err(Failure::new(StatusCode::NOT_IMPLEMENTED, missing));
        }
        let Some(runtime) = self.runtime.clone() else {
            return Err(Failure::new(
                StatusCode::NOT_IMPLEMENTED,
                "no tokio runtime to dump: bind the admin server from inside the service's \
                 runtime, or give it one with AdminServer::tokio_runtime(handle)",
            ));
        };
        if self.running.swap(true, Ordering::AcqRel) {
            return Err(Failure::new(
                StatusCode::CONFLICT,
                "a task dump is already running (one at a time; a dump that timed out runs \
                 until the service's runtime lets it end); try again later",
            ));
        }
        let running = Running(self.running.clone());
        let (done, result) = tokio::sync::oneshot::channel();
        // Its own task, so that the flag stays set while tokio still dumps after a timeout.
        tokio::spawn(async move {
            let traces = capture::traces(runtime).await;
            drop(running);
            let _ = done.send(traces);
        });
        let traces = match tokio::time::timeout(self.timeout, result).await {
            Ok(Ok(Ok(traces))) => traces,
            Ok(Ok(Err(message))) => {
                return Err(Failure::new(StatusCode::SERVICE_UNAVAILABLE, message));
            }
            Ok(Err(_)) => {
                return Err(Failure::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the task dump ended without an answer",
                ));
            }
            Err(_) => {
                return Err(Failure::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the task dump did not finish within {:?}: a worker thread of the \
                         service's runtime is probably blocked (tokio's dump waits for every \
                         worker); it goes on in the background, and answers 409 until it ends",
                        self.timeout
                    ),
                ));
            }
        };
        let tasks = traces.len();
        Ok((
            tasks,
            aggregate::aggregate(traces.iter().map(|t| aggregate::frames(t))),
        ))
    }

    /// The signal dump's section: the dump as text, taken on the admin runtime `admin`
    /// while the signal thread waits (at most the timeout, as the endpoint).
    pub(crate) fn write_section(&self, admin: &Handle, out: &mut dyn io::Write) -> io::Result<()> {
        let (done, result) = std::sync::mpsc::channel();
        let dumps = self.clone();
        admin.spawn(async move {
            let _ = done.send(dumps.take().await);
        });
        match result.recv() {
            Ok(Ok((tasks, groups))) => {
                writeln!(out, "tokio tasks:")?;
                out.write_all(aggregate::text(tasks, &groups).as_bytes())
            }
            Ok(Err(failure)) => writeln!(out, "tokio tasks: {}", failure.message),
            Err(_) => writeln!(out, "tokio tasks: the admin server has stopped"),
        }
    }
}

/// The query of `GET /debug/tasks`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TasksParams {
    #[serde(default)]
    format: Format,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Format {
    #[default]
    Json,
    Text,
}

pub(crate) async fn tasks(
    _: Reader,
    State(state): State<Arc<Admin>>,
    Params(params): Params<TasksParams>,
) -> Result<Reply, Failure> {
    let (tasks, groups) = state.task_dumps.take().await?;
    Ok(match params.format {
        Format::Text => reply::text(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            aggregate::text(tasks, &groups),
        ),
        Format::Json => {
            let mut dump = TaskDump::default();
            dump.origin = state.origin();
            dump.tasks = tasks;
            dump.groups = groups;
            reply::json(StatusCode::OK, &dump)
        }
    })
}
