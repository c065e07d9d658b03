//! The admin port's web page in a real headless Chromium: two demo processes (the first
//! serves the page, the second has tokens and allows the first's origin), a third
//! endpoint where nothing listens, a chain of three services in this process (front calls
//! middle calls back, with real `traceparent` headers, each with its own table and admin
//! port) for the tree and the trace view, and `tests/web/page.test.mjs` driving the
//! browser through `playwright-core`.
//!
//! Needs Node, `chromium` and the script's packages (`npm ci` in `tests/web`);
//! `scripts/test-all.sh` installs them. `INFLIGHT_SCREENSHOT_DIR=docs cargo test --test
//! web_page` also writes the README's screenshot, `docs/web.png`.

#[path = "support/admin.rs"]
mod admin_support;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use admin_support::{Gate, Http, serve_tracked, start_admin, wait_for_listed};
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use inflight::admin::{AdminHandle, AdminServer, BuildInfo};
use inflight::{InFlightClient, InFlightClientLayer};
use tower::{Layer, ServiceExt};

/// How long a demo has to print its banner.
const DEADLINE: Duration = Duration::from_secs(20);
/// How long the browser script may run; it stops itself well before.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(240);
const READ_TOKEN: &str = "r34d-web-test";
const KILL_TOKEN: &str = "k1ll-web-test";
/// The example of the W3C recommendation, as OpenTelemetry services send it.
const KNOWN: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const KNOWN_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A child process killed when dropped, also when the test fails; collects its output.
struct Process {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Process {
    fn spawn(command: &mut Command) -> (Process, mpsc::Receiver<String>) {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let output = Arc::new(Mutex::new(String::new()));
        let (lines_tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        for (pipe, lines_tx) in [
            (Box::new(stdout) as Box<dyn Read + Send>, Some(lines_tx)),
            (Box::new(stderr), None),
        ] {
            let output = output.clone();
            // Keep draining, so the child never blocks on a full pipe.
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    output
                        .lock()
                        .expect("output")
                        .push_str(&format!("{line}\n"));
                    if let Some(lines_tx) = &lines_tx {
                        let _ = lines_tx.send(line);
                    }
                }
            });
        }
        (Process { child, output }, lines)
    }

    fn output(&self) -> String {
        self.output.lock().expect("output").clone()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A demo with its admin port on a free loopback port; its upstream answers after a
/// minute, so its requests stay in flight while the browser looks at them.
struct Demo {
    process: Process,
    admin: SocketAddr,
}

impl Demo {
    fn start(program: &Path, extra: &[&str]) -> Demo {
        let (process, lines) = Process::spawn(
            Command::new(program)
                .args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
                .args(["--upstream-delay", "60s", "--stuck-after", "off"])
                .args(extra),
        );
        let deadline = Instant::now() + DEADLINE;
        loop {
            let line = lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| {
                    panic!("the demo printed no admin address:\n{}", process.output())
                });
            if let ["admin", url, ..] = line.split_whitespace().collect::<Vec<_>>()[..] {
                let admin = url
                    .strip_prefix("http://")
                    .and_then(|addr| addr.parse().ok())
                    .unwrap_or_else(|| panic!("admin address in {line:?}"));
                return Demo { process, admin };
            }
        }
    }
}

/// A loopback port nothing listens on (it was free a moment ago).
fn unused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

#[derive(Clone)]
struct Next {
    client: InFlightClient<Client<HttpConnector, Empty<Bytes>>>,
    url: String,
}

/// Calls the next service with the same last path segment and reads its answer to the end.
async fn relay(State(next): State<Next>, UrlPath(name): UrlPath<String>) -> String {
    inflight::set_status("calling on");
    let request = http::Request::get(format!("{}/{name}", next.url))
        .body(Empty::new())
        .expect("valid request");
    match next.client.oneshot(request).await {
        Ok(response) => match response.into_body().collect().await {
            Ok(body) => String::from_utf8_lossy(&body.to_bytes()).into_owned(),
            Err(error) => format!("the body failed: {error}"),
        },
        Err(error) => format!("the call failed: {error}"),
    }
}

/// The end of the chain: `quick` answers at once, anything else waits for the gate.
async fn work(State(gate): State<Gate>, UrlPath(name): UrlPath<String>) -> String {
    if name != "quick" {
        inflight::set_status("crunching");
        gate.wait().await;
    }
    format!("worked on {name}")
}

/// front → middle → back, each tracked in a table of its own with an admin port that
/// allows `origin`. Returns the admin ports, front first.
struct Chain {
    front: Http,
    front_addr: SocketAddr,
    admins: Vec<(String, AdminHandle)>,
    _gate: Gate,
}

async fn chain(origin: &str) -> Chain {
    let gate = Gate::new();
    let mut admins = Vec::new();
    let admin = |table: &inflight::Table, name: &str| {
        AdminServer::new(table.clone())
            .build_info(BuildInfo::new(name, "1.0.0"))
            .host_name("chainhost")
            .allow_origin(origin)
            .stuck_after(None)
    };
    let back_table = admin_support::table();
    let back = serve_tracked(
        &back_table,
        Router::new()
            .route("/work/{name}", get(work))
            .with_state(gate.clone()),
    )
    .await;
    let mut next_url = format!("http://{back}/work");
    let mut tables = vec![("back", back_table)];
    let mut front = None;
    for (name, path) in [("middle", "/relay/{name}"), ("front", "/fetch/{name}")] {
        let table = admin_support::table();
        let next = Next {
            client: InFlightClientLayer::with_table(table.clone())
                .layer(Client::builder(TokioExecutor::new()).build_http()),
            url: next_url,
        };
        let addr = serve_tracked(
            &table,
            Router::new().route(path, get(relay)).with_state(next),
        )
        .await;
        next_url = format!("http://{addr}{}", path.trim_end_matches("/{name}"));
        front = Some(addr);
        tables.push((name, table));
    }
    for (name, table) in tables.into_iter().rev() {
        let (handle, _) = start_admin(admin(&table, name)).await;
        admins.push((name.to_owned(), handle));
    }
    let front = front.expect("a front service");
    Chain {
        front: Http::new(front),
        front_addr: front,
        admins,
        _gate: gate,
    }
}

/// Starts `GET path` on `addr` and leaves it in flight; it ends, however, with the test.
fn hold(addr: SocketAddr, path: &str, traceparent: Option<&str>) {
    let mut request = http::Request::get(format!("http://{addr}{path}"));
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    let request = request.body(Empty::<Bytes>::new()).expect("valid request");
    tokio::spawn(async move {
        let client = Client::builder(TokioExecutor::new()).build_http();
        let _ = client.request(request).await;
    });
}

fn run_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let dir =
        std::env::temp_dir().join(format!("inflight-web-page-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the run directory");
    dir
}

#[test]
fn web_page_watches_two_demos_and_an_unreachable_endpoint() {
    let web = repo().join("tests").join("web");
    assert!(
        web.join("node_modules").join("playwright-core").is_dir(),
        "tests/web has no node_modules: run `npm ci` there (scripts/test-all.sh does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "no Chromium at {chromium}: `apt-get install chromium chromium-driver` \
         (scripts/test-all.sh does), or set CHROMIUM"
    );

    let program = admin_support::demo_binary();
    let a = Demo::start(program, &[]);
    let origin = format!("http://{}", a.admin);
    let b = Demo::start(
        program,
        &[
            "--allow-origin",
            &origin,
            "--read-token",
            READ_TOKEN,
            "--kill-token",
            KILL_TOKEN,
        ],
    );
    let down = SocketAddr::from(([127, 0, 0, 1], unused_port()));
    let page = format!("{origin}/?endpoints={},{},{down}", a.admin, b.admin);
    let run_dir = run_dir();

    // The chain: a finished call and a held one in the known trace, a held one in a trace
    // of its own; then every hop of both held calls is in flight.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let chain = runtime.block_on(async {
        let chain = chain(&origin).await;
        let quick = chain
            .front
            .send(
                http::Method::GET,
                "/fetch/quick",
                &[("traceparent", KNOWN)],
                Bytes::new(),
            )
            .await;
        assert_eq!(quick.text(), "worked on quick");
        hold(chain.front_addr, "/fetch/held", Some(KNOWN));
        hold(chain.front_addr, "/fetch/other", None);
        for (count, (_, handle)) in [4, 4, 2].into_iter().zip(&chain.admins) {
            wait_for_listed(&Http::new(handle.local_addr()), "", count).await;
        }
        chain
    });
    let labels: Vec<String> = chain
        .admins
        .iter()
        .map(|(_, handle)| handle.local_addr().to_string())
        .collect();
    let chain_page = format!("{origin}/?endpoints={}", labels.join(","));

    let mut command = Command::new("node");
    command
        .arg("page.test.mjs")
        .current_dir(&web)
        .env("INFLIGHT_PAGE", &page)
        .env("INFLIGHT_A", a.admin.to_string())
        .env("INFLIGHT_B", b.admin.to_string())
        .env("INFLIGHT_DOWN", down.to_string())
        .env("INFLIGHT_B_READ_TOKEN", READ_TOKEN)
        .env("INFLIGHT_B_KILL_TOKEN", KILL_TOKEN)
        .env("INFLIGHT_RUN_DIR", &run_dir)
        .env("INFLIGHT_CHAIN_PAGE", &chain_page)
        .env("INFLIGHT_CHAIN", labels.join(","))
        .env("INFLIGHT_TRACE", KNOWN_TRACE)
        .env("CHROMIUM", &chromium);
    if let Some(dir) = std::env::var_os("INFLIGHT_SCREENSHOT_DIR") {
        command.env("INFLIGHT_SCREENSHOT_DIR", repo().join(dir));
    }
    let (mut script, _) = Process::spawn(&mut command);
    let deadline = Instant::now() + SCRIPT_DEADLINE;
    let status = loop {
        if let Some(status) = script.child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        thread::sleep(Duration::from_millis(100));
    };
    // The pipes close when node exits; give the readers a moment to take the last lines.
    thread::sleep(Duration::from_millis(200));
    let output = script.output();
    let demos = || {
        format!(
            "demo A ({}):\n{}\ndemo B ({}):\n{}",
            a.admin,
            a.process.output(),
            b.admin,
            b.process.output()
        )
    };
    match status {
        Some(status) if status.success() => println!("{output}"),
        Some(status) => panic!(
            "the browser test failed ({status}); page {page}\n{output}\n{}",
            demos()
        ),
        None => panic!(
            "the browser test took longer than {SCRIPT_DEADLINE:?}; page {page}\n{output}\n{}",
            demos()
        ),
    }
    let png = std::fs::read(run_dir.join("web.png")).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "web.png is a PNG");
    println!("screenshot: {}", run_dir.join("web.png").display());
}
