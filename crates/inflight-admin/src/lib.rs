//! The admin port of `inflight`: the process table over HTTP, safe by default.
//!
//! The admin server runs on its own port and its own thread (a single-threaded tokio
//! runtime), so health checks and kills never queue behind a busy service, even one whose
//! worker threads are all stuck.
//!
//! ```no_run
//! # use inflight_admin as admin;
//! # fn main() -> std::io::Result<()> {
//! let admin = admin::AdminServer::new(inflight_core::global().clone())
//!     .kill_token("s3cret")
//!     .bind("127.0.0.1:9084")?;
//! println!("admin on http://{}", admin.local_addr());
//! // curl http://127.0.0.1:9084/requests
//! // curl -X DELETE -H 'authorization: Bearer s3cret' http://127.0.0.1:9084/requests/41
//! # Ok(())
//! # }
//! ```
//!
#![doc = include_str!("guide.md")]
//
// The guide is shared with the `inflight` crate's `inflight::admin` module.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code, unreachable_pub)]
#![warn(missing_docs, rust_2018_idioms, missing_debug_implementations)]

mod access;
mod collector;
mod control;
mod cpu;
mod handlers;
mod health;
#[cfg(feature = "metrics")]
mod metrics;
mod profile;
mod query;
mod recent;
mod reply;
mod routes;
mod server;
mod state;
mod tasks;
pub mod to_wire;
mod traces;
mod watchdog;
mod web;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use inflight_core::Table;

/// The OpenAPI 3 description of the admin API, as served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// What `/healthz` says the service is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildInfo {
    /// Service name; also in every list as `service`.
    pub service: String,
    /// Service version.
    pub version: String,
    /// The git commit the service was built from, if known.
    pub git_commit: Option<String>,
}

impl BuildInfo {
    /// Build info from explicit values.
    pub fn new(service: impl Into<String>, version: impl Into<String>) -> BuildInfo {
        BuildInfo {
            service: service.into(),
            version: version.into(),
            git_commit: None,
        }
    }

    /// The git commit the service was built from.
    pub fn git_commit(mut self, commit: impl Into<String>) -> BuildInfo {
        self.git_commit = Some(commit.into());
        self
    }
}

/// Build info of the crate that calls it: its name and version, and the git commit in
/// the `GIT_COMMIT` environment variable at build time (set it from a build script with
/// `cargo:rustc-env=GIT_COMMIT=...`).
#[macro_export]
macro_rules! build_info {
    () => {{
        let info = $crate::BuildInfo::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
        match option_env!("GIT_COMMIT") {
            Some(commit) if !commit.is_empty() => info.git_commit(commit),
            _ => info,
        }
    }};
}

/// How long `GET /debug/tasks` waits for tokio's task dump by default.
const DEFAULT_TASK_DUMP_TIMEOUT: Duration = Duration::from_secs(5);

type BusyCallback = Arc<dyn Fn(bool) + Send + Sync>;
type TextEndpoint = Arc<dyn Fn() -> String + Send + Sync>;

/// The settings of an admin server; [`bind`](AdminServer::bind) starts it.
#[derive(Clone)]
pub struct AdminServer {
    pub(crate) table: Table,
    pub(crate) read_token: Option<String>,
    pub(crate) kill_token: Option<String>,
    pub(crate) origins: Vec<String>,
    pub(crate) build: BuildInfo,
    pub(crate) host: String,
    pub(crate) busy_inbound_above: Option<usize>,
    pub(crate) busy_oldest_above: Option<Duration>,
    pub(crate) on_busy_change: Vec<BusyCallback>,
    pub(crate) stuck_after: Option<Duration>,
    pub(crate) default_grace: Duration,
    pub(crate) metrics_endpoint: Option<TextEndpoint>,
    pub(crate) profile_frequency: u32,
    pub(crate) tokio_runtime: Option<tokio::runtime::Handle>,
    pub(crate) task_dump_timeout: Duration,
    pub(crate) task_dump_on_signal: bool,
}

impl AdminServer {
    /// An admin server for `table` (usually `inflight::global().clone()`).
    pub fn new(table: Table) -> AdminServer {
        AdminServer {
            table,
            read_token: None,
            kill_token: None,
            origins: Vec::new(),
            build: BuildInfo::new(default_service_name(), "unknown"),
            host: host_name(),
            busy_inbound_above: None,
            busy_oldest_above: None,
            on_busy_change: Vec::new(),
            stuck_after: Some(Duration::from_secs(30)),
            default_grace: Duration::from_secs(5),
            metrics_endpoint: None,
            profile_frequency: cpu::DEFAULT_FREQUENCY,
            tokio_runtime: None,
            task_dump_timeout: DEFAULT_TASK_DUMP_TIMEOUT,
            task_dump_on_signal: false,
        }
    }

    /// Requires `Authorization: Bearer <token>` (this token or the kill token) on every
    /// endpoint but `/healthz`, `/openapi.json` and the web page's files.
    pub fn read_token(mut self, token: impl Into<String>) -> Self {
        self.read_token = Some(token.into());
        self
    }

    /// Requires `Authorization: Bearer <token>` to terminate or cancel requests. A read
    /// token is then not enough (`403`).
    pub fn kill_token(mut self, token: impl Into<String>) -> Self {
        self.kill_token = Some(token.into());
        self
    }

    /// Answers cross-origin requests (and their preflight) from this origin, e.g.
    /// `http://localhost:9084`, so one web page can watch many services.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.origins
            .push(origin.into().trim_end_matches('/').to_owned());
        self
    }

    /// What `/healthz` reports about the service (see [`build_info!`]).
    pub fn build_info(mut self, build: BuildInfo) -> Self {
        self.build = build;
        self
    }

    /// The host name in every answer (default: this machine's).
    pub fn host_name(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// `/healthz` says busy while more than `limit` inbound requests are in flight.
    pub fn busy_when_inbound_above(mut self, limit: usize) -> Self {
        self.busy_inbound_above = Some(limit);
        self
    }

    /// `/healthz` says busy while the oldest inbound request is older than `age`.
    pub fn busy_when_oldest_inbound_above(mut self, age: Duration) -> Self {
        self.busy_oldest_above = Some(age);
        self
    }

    /// Called with `true` when the service turns busy and `false` when it is free again,
    /// once per transition. Runs on the admin thread: keep it short.
    pub fn on_busy_change(mut self, callback: impl Fn(bool) + Send + Sync + 'static) -> Self {
        self.on_busy_change.push(Arc::new(callback));
        self
    }

    /// Writes one line to stderr when a request has been in flight this long and one
    /// more when it ends (default 30s; `None` turns the watchdog off).
    pub fn stuck_after(mut self, age: Option<Duration>) -> Self {
        self.stuck_after = age;
        self
    }

    /// How long a cancelled request has before it is terminated, when the cancel does
    /// not say (default 5s).
    pub fn default_grace(mut self, grace: Duration) -> Self {
        self.default_grace = grace;
        self
    }

    /// Serves `render()` as `text/plain` at `GET /metrics`, e.g. a Prometheus exporter's
    /// rendering.
    pub fn metrics_endpoint(mut self, render: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.metrics_endpoint = Some(Arc::new(render));
        self
    }

    /// How many times a second `GET /debug/pprof/profile` samples the process's stacks
    /// (default 99, bounded to 1..=1000). Each sample interrupts a running thread
    /// (`SIGPROF`) and walks its stack, so higher rates see more and cost more while a
    /// profile runs; nothing samples between profiles. Only used with the `pprof`
    /// feature.
    pub fn profile_frequency(mut self, hz: u32) -> Self {
        self.profile_frequency = cpu::bounded_frequency(hz);
        self
    }

    /// The tokio runtime whose tasks `GET /debug/tasks` dumps: the service's, not the
    /// admin server's own. By default [`bind`](AdminServer::bind) takes the runtime it is
    /// called in ([`Handle::try_current`](tokio::runtime::Handle::try_current)); call this
    /// when `bind` runs outside it, or to dump another runtime. See the guide's "Task
    /// dumps" for what a dump needs and costs.
    pub fn tokio_runtime(mut self, runtime: tokio::runtime::Handle) -> Self {
        self.tokio_runtime = Some(runtime);
        self
    }

    /// How long `GET /debug/tasks` waits for tokio's task dump before it answers `503`
    /// (default 5s). The dump waits for every worker thread of the runtime to reach the
    /// scheduler, so one blocked worker would otherwise hold it forever.
    pub fn task_dump_timeout(mut self, timeout: Duration) -> Self {
        self.task_dump_timeout = timeout;
        self
    }

    /// Adds the aggregated task dump to the dump on `SIGUSR1` (default off: a task dump
    /// pauses the runtime). Only where the signal dump is on
    /// (`inflight::dump_on_signal()`) and task dumps are built in; otherwise the section
    /// says what is missing. Stays for the life of the process, even after the admin
    /// server stops (then it says so).
    pub fn task_dump_on_signal(mut self, on: bool) -> Self {
        self.task_dump_on_signal = on;
        self
    }

    /// Binds `addr` and starts serving on a thread of its own.
    pub fn bind(mut self, addr: impl ToSocketAddrs) -> io::Result<AdminHandle> {
        if self.tokio_runtime.is_none() {
            self.tokio_runtime = tokio::runtime::Handle::try_current().ok();
        }
        server::start(self, addr)
    }
}

impl fmt::Debug for AdminServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminServer")
            .field("read_token", &self.read_token.as_ref().map(|_| ".."))
            .field("kill_token", &self.kill_token.as_ref().map(|_| ".."))
            .field("origins", &self.origins)
            .field("build", &self.build)
            .field("stuck_after", &self.stuck_after)
            .field("profile_frequency", &self.profile_frequency)
            .field("tokio_runtime", &self.tokio_runtime.as_ref().map(|_| ".."))
            .field("task_dump_timeout", &self.task_dump_timeout)
            .field("task_dump_on_signal", &self.task_dump_on_signal)
            .finish_non_exhaustive()
    }
}

/// A running admin server. Await it (or [`wait`](AdminHandle::wait)) to block until it
/// stops; [`shutdown`](AdminHandle::shutdown) stops it. Dropping the handle leaves the
/// server running for the life of the process.
pub struct AdminHandle {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    done: tokio::sync::oneshot::Receiver<io::Result<()>>,
}

impl AdminHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Asks the server to stop; await the handle to know it has.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }

    /// Blocks the calling thread until the server stops. Not for async code: await the
    /// handle there.
    pub fn wait(self) -> io::Result<()> {
        self.done
            .blocking_recv()
            .unwrap_or_else(|_| Err(io::Error::other("the admin server thread ended")))
    }
}

impl Future for AdminHandle {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.done).poll(cx).map(|done| {
            done.unwrap_or_else(|_| Err(io::Error::other("the admin server thread ended")))
        })
    }
}

impl fmt::Debug for AdminHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

fn default_service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
