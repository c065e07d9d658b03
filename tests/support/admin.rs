//! Helpers of the admin-port tests: an HTTP client that returns whole answers, services
//! with requests held in flight, the demo as a child process, and the outside tools
//! (schemathesis, Prometheus) those tests drive.
//!
//! Test files include it with `#[path = "support/admin.rs"] mod admin_support;`; it needs
//! nothing from `support/mod.rs`.

// Each test file uses its own part of this module.
#![allow(dead_code)]

#[path = "build.rs"]
pub mod build;
// A test may include `support/mod.rs` too, which has its own copy.
#[allow(clippy::duplicate_mod)]
#[path = "gate.rs"]
mod gate;
// Each test file uses its own part of this module.
#[allow(unused_imports)]
pub use build::demo_binary;
#[allow(unused_imports)]
pub use gate::Gate;

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use inflight::Table;
use inflight::admin::{AdminHandle, AdminServer};
use serde_json::Value;
use tokio::net::TcpListener;

/// How long a test waits for something that should happen soon.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A private table whose requests never turn `client not reading` while a test looks.
pub fn table() -> Table {
    Table::builder()
        .not_reading_after(Duration::from_secs(3600))
        .build()
}

/// A whole HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; fails the test if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "not JSON ({error}): {} {:?}\n{}",
                self.status,
                self.headers,
                self.text()
            )
        })
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Checks the status and returns the JSON body.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self.json()
    }

    /// Checks that this is a JSON error `{"error": "..."}` with `status`; returns the text.
    pub fn expect_error(&self, status: u16) -> String {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "an error is JSON: {self:?}"
        );
        let json = self.json();
        let object = json.as_object().expect("an error is a JSON object");
        assert_eq!(object.len(), 1, "an error has one field: {json}");
        let message = object["error"].as_str().expect("error is a string");
        assert!(!message.is_empty(), "the error says something");
        message.to_owned()
    }
}

/// An HTTP/1 client for one server, returning whole answers.
#[derive(Clone, Debug)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Http {
    pub fn new(addr: SocketAddr) -> Http {
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: format!("http://{addr}"),
        }
    }

    /// Sends one request and reads the whole answer, within [`DEADLINE`].
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Answer {
        self.send_within(DEADLINE, method, path, headers, body)
            .await
    }

    /// Like [`send`](Http::send), waiting at most `deadline`.
    pub async fn send_within(
        &self,
        deadline: Duration,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body.into()))
            .expect("a valid request");
        let exchange = async {
            let response = self.client.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(deadline, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => panic!("{method} {path} failed: {error:?}"),
            Err(_) => panic!("{method} {path}: no answer within {deadline:?}"),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, &[], Bytes::new()).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, &[], Bytes::new()).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Answer {
        let headers: &[(&str, &str)] = if body.is_empty() {
            &[]
        } else {
            &[("content-type", "application/json")]
        };
        self.send(Method::POST, path, headers, body.to_owned())
            .await
    }

    /// Starts `GET path` on a task of its own; await the handle for the answer.
    pub fn spawn_get(&self, path: &str) -> tokio::task::JoinHandle<Answer> {
        let http = self.clone();
        let path = path.to_owned();
        tokio::spawn(async move { http.get(&path).await })
    }

    /// Starts a request on a task of its own.
    pub fn spawn(&self, method: Method, path: &str) -> tokio::task::JoinHandle<Answer> {
        let http = self.clone();
        let path = path.to_owned();
        tokio::spawn(async move { http.send(method, &path, &[], Bytes::new()).await })
    }
}

/// Polls `probe` every 20 ms until it returns `Some`, for at most [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {DEADLINE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the admin server at `admin` lists `count` requests (with `query`, e.g.
/// `direction=inbound`) and returns them.
pub async fn wait_for_listed(admin: &Http, query: &str, count: usize) -> Vec<Value> {
    eventually(&format!("{count} requests listed for ?{query}"), || async {
        let list = admin.get(&format!("/requests?{query}")).await.expect(200);
        let requests = list["requests"].as_array().cloned().unwrap_or_default();
        (requests.len() == count).then_some(requests)
    })
    .await
}

/// Serves `router` behind an `InFlightLayer` on `table`, on a fresh loopback port.
pub async fn serve_tracked(table: &Table, router: axum::Router) -> SocketAddr {
    let router = router.layer(inflight::InFlightLayer::with_table(table.clone()));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    addr
}

/// An untracked upstream that waits `delay` before answering any request with `upstream`.
pub async fn serve_slow_upstream(delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| async move {
                    tokio::time::sleep(delay).await;
                    Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                        Bytes::from_static(b"upstream"),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// Starts `server` on a fresh loopback port; returns its handle and a client for it.
///
/// The server subscribes to finished requests when it binds; asking `/recent` once makes
/// sure it answers before the test's requests start.
pub async fn start_admin(server: AdminServer) -> (AdminHandle, Http) {
    let handle = server.bind("127.0.0.1:0").expect("bind the admin port");
    let http = Http::new(handle.local_addr());
    // With a read token this is a 401 that drains nothing; the token tests do not look
    // at finished requests.
    let answer = http.get("/recent").await;
    assert!(
        answer.status == StatusCode::OK || answer.status == StatusCode::UNAUTHORIZED,
        "{answer:?}"
    );
    (handle, http)
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local addr").port()
}

/// A directory removed when dropped.
#[derive(Debug)]
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("inflight-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A child process killed and reaped when dropped, with its stderr collected line by
/// line.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl ChildGuard {
    /// Spawns `command` with stderr captured (and stdout too unless the caller set it).
    pub fn spawn(mut command: Command) -> ChildGuard {
        command.stdin(Stdio::null()).stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(pipe) = child.stderr.take() {
            let lines = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    lines.lock().expect("stderr lock").push(line);
                }
            });
        }
        ChildGuard { child, stderr }
    }

    /// What the child wrote to stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().expect("stderr lock").clone()
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the child is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo running as a child process on loopback ports of its own.
#[derive(Debug)]
pub struct Demo {
    pub process: ChildGuard,
    /// The API server.
    pub api: SocketAddr,
    /// The admin port.
    pub admin: SocketAddr,
}

impl Demo {
    /// Starts the demo with `args` (besides `--listen` and `--admin`) and waits until it
    /// says where it listens.
    pub fn start(args: &[&str]) -> Demo {
        let mut command = Command::new(demo_binary());
        command
            .args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped());
        let mut process = ChildGuard::spawn(command);
        let stdout = process.child_mut().stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Nobody may be listening any more; keep draining.
                let _ = tx.send(line);
            }
        });
        let address = |line: &str, label: &str| -> Option<SocketAddr> {
            let rest = line.trim_start().strip_prefix(label)?;
            let url = rest.trim_start().strip_prefix("http://")?;
            url.split_whitespace().next()?.parse().ok()
        };
        let (mut api, mut admin) = (None, None);
        let deadline = Instant::now() + DEADLINE;
        while api.is_none() || admin.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    api = api.or_else(|| address(&line, "api"));
                    admin = admin.or_else(|| address(&line, "admin"));
                }
                Err(_) => panic!(
                    "the demo did not say where it listens; stderr:\n{}",
                    process.stderr().join("\n")
                ),
            }
        }
        Demo {
            process,
            api: api.expect("api address"),
            admin: admin.expect("admin address"),
        }
    }

    /// A client for the demo's API server.
    pub fn api_client(&self) -> Http {
        Http::new(self.api)
    }

    /// A client for the demo's admin port.
    pub fn admin_client(&self) -> Http {
        Http::new(self.admin)
    }
}

/// Runs `program args` and says whether it ran and exited 0.
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The schemathesis version the tests use (scripts/test-all.sh installs the same).
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// The command that runs schemathesis. Tests install nothing: scripts/test-all.sh does,
/// and without it the test fails saying what to install.
pub fn schemathesis() -> Vec<String> {
    let candidates: [&[&str]; 2] = [&["schemathesis"], &["python3", "-m", "schemathesis.cli"]];
    let command = candidates
        .iter()
        .find(|command| {
            let mut args = command[1..].to_vec();
            args.push("--version");
            runs(command[0], &args)
        })
        .unwrap_or_else(|| {
            panic!(
                "schemathesis is missing: run scripts/test-all.sh, or \
                 `python3 -m pip install schemathesis=={SCHEMATHESIS_VERSION}`"
            )
        });
    command.iter().map(|part| (*part).to_owned()).collect()
}

/// The Prometheus server binary (Debian's `prometheus` package, which
/// scripts/test-all.sh installs).
pub fn prometheus() -> PathBuf {
    let program = ["prometheus", "/usr/bin/prometheus"]
        .into_iter()
        .find(|program| runs(program, &["--version"]))
        .unwrap_or_else(|| {
            panic!(
                "prometheus is missing: run scripts/test-all.sh, or \
                 `apt-get install --no-install-recommends prometheus`"
            )
        });
    PathBuf::from(program)
}
