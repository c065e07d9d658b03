//! Helpers of the fleet tests: a service-discovery server answering what the test sets,
//! an endpoint that accepts connections and never answers, and `inflight top --batch`
//! read line by line while it runs.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::cli::{
    HELD, Run, SCREEN_DEADLINE, endpoint, inflight_binary, start_demo, wait_for_traffic,
};
use super::demo::{ChildGuard, Demo};

type Pages = Arc<Mutex<HashMap<String, (StatusCode, String)>>>;

/// An HTTP server on 127.0.0.1 answering each path with what the test set for it (404
/// otherwise), as a service-discovery endpoint or a stand-in for a broken Prometheus.
pub struct SdServer {
    pub addr: SocketAddr,
    pages: Pages,
}

impl SdServer {
    pub async fn start() -> SdServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let pages: Pages = Arc::default();
        let served = pages.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let pages = served.clone();
                let service = service_fn(move |request: Request<Incoming>| {
                    let page = pages
                        .lock()
                        .expect("pages lock")
                        .get(request.uri().path())
                        .cloned();
                    let (status, body) =
                        page.unwrap_or((StatusCode::NOT_FOUND, "not found".into()));
                    let response = Response::builder()
                        .status(status)
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Full::new(Bytes::from(body)))
                        .expect("response");
                    async move { Ok::<_, Infallible>(response) }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        SdServer { addr, pages }
    }

    /// Answers `path` with `status` and `body` from now on.
    pub fn set(&self, path: &str, status: u16, body: &str) {
        let status = StatusCode::from_u16(status).expect("a status code");
        self.pages
            .lock()
            .expect("pages lock")
            .insert(path.to_owned(), (status, body.to_owned()));
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Prometheus' service-discovery JSON: one group per `(targets, job)`.
pub fn sd_json(groups: &[(&[&str], Option<&str>)]) -> String {
    let groups: Vec<_> = groups
        .iter()
        .map(|(targets, job)| match job {
            Some(job) => json!({"targets": targets, "labels": {"job": job, "env": "test"}}),
            None => json!({"targets": targets}),
        })
        .collect();
    serde_json::to_string(&groups).expect("JSON")
}

/// A port on 127.0.0.1 that accepts connections and never answers on them, as a
/// service stuck hard (or a packet filter dropping the answers) looks.
pub async fn hanging_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr.to_string()
}

/// `inflight top --batch` running, its stdout read as it comes.
pub struct BatchTop {
    process: ChildGuard,
    lines: mpsc::Receiver<String>,
    /// Everything it printed so far, for failure messages.
    seen: Vec<String>,
    /// The refresh being read: its lines so far.
    current: String,
}

impl BatchTop {
    /// Starts `inflight top --batch ARGS`.
    pub fn start(args: &[&str]) -> BatchTop {
        let mut command = Command::new(inflight_binary());
        command
            .args(["top", "--batch"])
            .args(args)
            .env_remove("INFLIGHT_ENDPOINTS")
            .env_remove("INFLIGHT_TOKEN")
            .stdout(Stdio::piped());
        let mut process = ChildGuard::spawn(command);
        let stdout = process.child_mut().stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        BatchTop {
            process,
            lines,
            seen: Vec::new(),
            current: String::new(),
        }
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.process.stderr()
    }

    /// Reads refreshes (a `refresh N:` line and the failing endpoints under it) until
    /// one satisfies `probe`, for at most [`SCREEN_DEADLINE`]; returns it.
    pub fn wait_for(&mut self, what: &str, probe: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + SCREEN_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "gave up waiting for {what}; top printed:\n{}\nstderr:\n{}",
                    self.seen.join("\n"),
                    self.process.stderr().join("\n")
                )
            });
            self.seen.push(line.clone());
            // A refresh is complete when the next one starts.
            if line.starts_with("refresh ") && !self.current.is_empty() {
                let refresh = std::mem::replace(&mut self.current, format!("{line}\n"));
                if probe(&refresh) {
                    return refresh;
                }
            } else {
                self.current.push_str(&line);
                self.current.push('\n');
            }
        }
    }
}

/// `N` demos with their traffic in flight, held there by the 60 s upstream.
pub async fn demos<const N: usize>() -> [Demo; N] {
    let demos: [Demo; N] = std::array::from_fn(|_| start_demo(HELD));
    for demo in &demos {
        wait_for_traffic(demo).await;
    }
    demos
}

/// The requests of an `ls --json` run.
pub fn requests(run: &Run) -> Vec<Value> {
    run.json()["requests"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no requests array: {run}"))
}

/// The endpoints that have requests in an `ls --json` run.
pub fn listed_endpoints(run: &Run) -> BTreeSet<String> {
    requests(run)
        .iter()
        .filter_map(|r| r["endpoint"].as_str().map(str::to_owned))
        .collect()
}

/// Checks that no request is listed twice.
pub fn assert_each_once(run: &Run) {
    let all = requests(run);
    let unique: BTreeSet<(String, u64)> = all
        .iter()
        .filter_map(|r| Some((r["endpoint"].as_str()?.to_owned(), r["id"].as_u64()?)))
        .collect();
    assert_eq!(unique.len(), all.len(), "a request listed twice: {run}");
}

pub fn names(demos: &[&Demo]) -> BTreeSet<String> {
    demos.iter().map(|demo| endpoint(demo)).collect()
}
