//! `GET /debug/pprof/profile`: CPU profiles of this test process, from its own admin
//! port, while a handler burns CPU in a named function.
//!
//! Needs Node, `chromium` and the browser scripts' packages for the flame graph's check
//! (`scripts/test-all.sh` installs them). `INFLIGHT_SCREENSHOT_DIR=docs cargo test
//! --all-features --test admin_pprof` also writes the README's screenshot,
//! `docs/flame.png`.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use inflight::admin::{AdminHandle, AdminServer};
use pprof::protos::Message;
use quick_xml::events::Event;
use support::admin::{Http, start_admin, wait_for_listed};
use support::cpu::{BURNER, burn_cpu_for_the_profile, running_profile};
use support::{browser, serve_tracked_router};

/// The sampler is one per process: the tests that profile take turns.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Stops the burning handler however the test ends, so the runtime can shut down.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A service with a handler that burns CPU until `stop`, and its admin port.
async fn burning_service(stop: Arc<AtomicBool>) -> (AdminHandle, Http) {
    let table = support::table();
    let router = Router::new()
        .route(
            "/burn",
            get(|State(stop): State<Arc<AtomicBool>>| async move {
                burn_cpu_for_the_profile(&stop).to_string()
            }),
        )
        .with_state(stop);
    let api = Http::new(serve_tracked_router(&table, router).await);
    let (handle, admin) = start_admin(AdminServer::new(table).profile_frequency(250)).await;
    let _burning = api.spawn_get("/burn");
    wait_for_listed(&admin, "direction=inbound", 1).await;
    (handle, admin)
}

/// Every frame name in a flame graph, after checking it is well-formed XML with an
/// `<svg>` root.
fn svg_texts(svg: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(svg);
    let mut root = None;
    let mut texts = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(element)) | Ok(Event::Empty(element)) => {
                root.get_or_insert_with(|| {
                    String::from_utf8_lossy(element.name().as_ref()).into_owned()
                });
            }
            Ok(Event::Text(text)) => texts.push(text.unescape().expect("text").into_owned()),
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(error) => panic!("the SVG is not well-formed XML: {error}"),
        }
    }
    assert_eq!(root.as_deref(), Some("svg"));
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_burning_function_is_in_every_format() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stop = Arc::new(AtomicBool::new(false));
    let _stop = StopOnDrop(stop.clone());
    let (_handle, admin) = burning_service(stop.clone()).await;

    let folded = admin
        .get("/debug/pprof/profile?seconds=2&format=folded")
        .await;
    assert_eq!(folded.status, 200, "{}", folded.text());
    assert_eq!(
        folded.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let folded = folded.text();
    let line = folded
        .lines()
        .find(|line| line.contains(BURNER))
        .unwrap_or_else(|| panic!("no {BURNER} in:\n{folded}"));
    // `thread;outer;...;inner count`, with the burner's callers before it.
    let (stack, count) = line.rsplit_once(' ').expect("a count");
    assert!(count.parse::<u64>().expect("a number") > 0, "{line}");
    let frames: Vec<&str> = stack.split(';').collect();
    let at = frames.iter().position(|f| f.contains(BURNER)).unwrap();
    assert!(at > 1, "{BURNER} has its callers before it: {line}");

    let pb = admin.get("/debug/pprof/profile?seconds=1").await;
    assert_eq!(pb.status, 200, "{}", pb.text());
    assert_eq!(pb.header("content-type"), Some("application/octet-stream"));
    let profile = pprof::protos::Profile::decode(pb.body.as_ref()).expect("pprof protobuf");
    assert!(!profile.sample.is_empty(), "no samples");
    assert!(
        profile.string_table.iter().any(|s| s.contains(BURNER)),
        "no {BURNER} among the profile's functions"
    );

    let svg = admin.get("/debug/pprof/profile?seconds=2&format=svg").await;
    stop.store(true, Ordering::Relaxed);
    assert_eq!(svg.status, 200, "{}", svg.text());
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    let svg = svg.text();
    let texts = svg_texts(&svg);
    assert!(
        texts.iter().any(|text| text.contains(BURNER)),
        "no {BURNER} frame in the flame graph"
    );

    // It renders in a browser, which finds the frame's text in it.
    let run_dir = tempfile::tempdir().expect("a run directory");
    let file = run_dir.path().join("flame.svg");
    std::fs::write(&file, &svg).expect("write the SVG");
    let mut env = vec![
        ("INFLIGHT_SVG", file.display().to_string()),
        ("INFLIGHT_FRAME", BURNER.to_owned()),
        ("INFLIGHT_RUN_DIR", run_dir.path().display().to_string()),
    ];
    if let Some(dir) = std::env::var_os("INFLIGHT_SCREENSHOT_DIR") {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        env.push(("INFLIGHT_SCREENSHOT_DIR", dir.display().to_string()));
    }
    let output = browser::run("flame.test.mjs", &env, Duration::from_secs(60), || {
        svg.chars().take(2000).collect()
    });
    println!("{output}");
    let png = std::fs::read(run_dir.path().join("flame.png")).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "flame.png is a PNG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_profile_at_a_time_and_health_answers_meanwhile() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (_handle, admin) = start_admin(AdminServer::new(support::table())).await;
    let first = running_profile(&admin, 3).await;

    let message = admin
        .get("/debug/pprof/profile?seconds=1&format=svg")
        .await
        .expect_error(409);
    assert_eq!(
        message,
        "a CPU profile is already running in this process; try again when it ends"
    );
    // The admin thread is free while a profile samples.
    admin.get("/healthz").await.expect(200);
    admin.get("/requests").await.expect(200);
    assert!(!first.is_finished(), "the profile ended before the checks");

    let first = first.await.expect("the first profile");
    assert_eq!(first.status, 200, "{}", first.text());
    // Its end lets the next one run.
    let next = admin
        .get("/debug/pprof/profile?seconds=1&format=folded")
        .await;
    assert_eq!(next.status, 200, "{}", next.text());
}

#[tokio::test]
async fn seconds_and_format_are_checked_and_a_token_is_needed() {
    let (_handle, admin) = start_admin(AdminServer::new(support::table()).read_token("r3ad")).await;
    let read: &[(&str, &str)] = &[("authorization", "Bearer r3ad")];
    for (query, expected) in [
        (
            "seconds=0",
            "seconds is a whole number from 1 to 60, not \"0\"",
        ),
        (
            "seconds=61",
            "seconds is a whole number from 1 to 60, not \"61\"",
        ),
        (
            "seconds=abc",
            "seconds is a whole number from 1 to 60, not \"abc\"",
        ),
        ("format=png", "format is pb, svg or folded, not \"png\""),
    ] {
        let path = format!("/debug/pprof/profile?{query}");
        let answer = admin
            .send(http::Method::GET, &path, read, bytes::Bytes::new())
            .await;
        assert_eq!(answer.expect_error(400), expected, "{query}");
    }
    let message = admin
        .get("/debug/pprof/profile?seconds=1")
        .await
        .expect_error(401);
    assert!(message.contains("bearer token is required"), "{message}");
    let wrong: &[(&str, &str)] = &[("authorization", "Bearer nope")];
    let answer = admin
        .send(
            http::Method::GET,
            "/debug/pprof/profile?seconds=1",
            wrong,
            bytes::Bytes::new(),
        )
        .await;
    answer.expect_error(401);
}
