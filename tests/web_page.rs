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

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

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
use support::admin::{Http, start_admin, wait_for_listed};
use support::cli::HELD;
use support::demo::Demo;
use support::{Gate, browser, serve_tracked_router};
use tower::{Layer, ServiceExt};

/// How long the browser script may run; it stops itself well before.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(240);
const READ_TOKEN: &str = "r34d-web-test";
const KILL_TOKEN: &str = "k1ll-web-test";
/// The example of the W3C recommendation, as OpenTelemetry services send it.
const KNOWN: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const KNOWN_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

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
    let back_table = support::table();
    let back = serve_tracked_router(
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
        let table = support::table();
        let next = Next {
            client: InFlightClientLayer::with_table(table.clone())
                .layer(Client::builder(TokioExecutor::new()).build_http()),
            url: next_url,
        };
        let addr = serve_tracked_router(
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

#[test]
fn web_page_watches_two_demos_and_an_unreachable_endpoint() {
    let a = Demo::start(HELD);
    let origin = format!("http://{}", a.admin);
    let b = Demo::start(
        &[
            HELD,
            &[
                "--allow-origin",
                &origin,
                "--read-token",
                READ_TOKEN,
                "--kill-token",
                KILL_TOKEN,
            ],
        ]
        .concat(),
    );
    let down = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    let page = format!("{origin}/?endpoints={},{},{down}", a.admin, b.admin);
    let run_dir = support::temp_dir("web-page");

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

    let mut env = vec![
        ("INFLIGHT_PAGE", page.clone()),
        ("INFLIGHT_A", a.admin.to_string()),
        ("INFLIGHT_B", b.admin.to_string()),
        ("INFLIGHT_DOWN", down.to_string()),
        ("INFLIGHT_B_READ_TOKEN", READ_TOKEN.to_owned()),
        ("INFLIGHT_B_KILL_TOKEN", KILL_TOKEN.to_owned()),
        ("INFLIGHT_RUN_DIR", run_dir.path().display().to_string()),
        ("INFLIGHT_CHAIN_PAGE", chain_page),
        ("INFLIGHT_CHAIN", labels.join(",")),
        ("INFLIGHT_TRACE", KNOWN_TRACE.to_owned()),
    ];
    if let Some(dir) = std::env::var_os("INFLIGHT_SCREENSHOT_DIR") {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        env.push(("INFLIGHT_SCREENSHOT_DIR", dir.display().to_string()));
    }
    let output = browser::run("page.test.mjs", &env, SCRIPT_DEADLINE, || {
        format!(
            "page {page}\ndemo A ({}):\n{}\ndemo B ({}):\n{}",
            a.admin,
            a.process.stderr().join("\n"),
            b.admin,
            b.process.stderr().join("\n")
        )
    });
    println!("{output}");
    let png = std::fs::read(run_dir.path().join("web.png")).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "web.png is a PNG");
}
