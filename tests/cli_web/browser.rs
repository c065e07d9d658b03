//! The page served by `inflight web` in a real headless Chromium, over two demos that set
//! no `--allow-origin`, driven by `tests/web/fleet.test.mjs` through `playwright-core`.
//!
//! Needs Node, `chromium` and the script's packages (`npm ci` in `tests/web`);
//! `scripts/test-all.sh` installs them.

use std::time::Duration;

use super::{READ_TOKEN, two_demos_behind_web};
use crate::support::cli::{endpoint, endpoints, inflight, wait_for_traffic};
use crate::support::{browser, temp_dir};

/// How long the browser script may run; it stops itself well before.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(180);
const FILTER: &str = "/fetch/";

#[tokio::test(flavor = "multi_thread")]
async fn the_page_watches_two_demos_that_allow_no_other_origin() {
    // Fails naming the install command before anything starts.
    browser::chromium();
    let (a, b, web) = two_demos_behind_web();
    let list = endpoints(&[&a, &b]);
    let server = format!("http://{}", web.addr);
    // A trace in flight at A (the demo's traffic, held for a minute).
    let trace = wait_for_traffic(&a)
        .await
        .iter()
        .find(|r| r["direction"] == "inbound")
        .and_then(|r| r["trace_id"].as_str().map(str::to_owned))
        .expect("a traced request at A");
    let link_view = inflight(&[
        "link",
        "--server",
        &server,
        "--endpoints",
        &list,
        "--tab",
        "profile",
        "--filter",
        FILTER,
    ])
    .ok()
    .trim()
    .to_owned();
    let link_trace = inflight(&["link", "--server", &server, "--trace", &trace])
        .ok()
        .trim()
        .to_owned();

    let run_dir = temp_dir("web-fleet");
    let env = vec![
        ("INFLIGHT_WEB", server.clone()),
        ("INFLIGHT_A", endpoint(&a)),
        ("INFLIGHT_B", endpoint(&b)),
        ("INFLIGHT_B_READ_TOKEN", READ_TOKEN.to_owned()),
        ("INFLIGHT_LINK_VIEW", link_view),
        ("INFLIGHT_FILTER", FILTER.to_owned()),
        ("INFLIGHT_LINK_TRACE", link_trace),
        ("INFLIGHT_TRACE", trace),
        ("INFLIGHT_RUN_DIR", run_dir.path().display().to_string()),
    ];
    let output = tokio::task::spawn_blocking(move || {
        browser::run("fleet.test.mjs", &env, SCRIPT_DEADLINE, || {
            format!(
                "server {server}\ninflight web:\n{}\ndemo B:\n{}",
                web.process.stderr().join("\n"),
                b.process.stderr().join("\n")
            )
        })
    })
    .await
    .expect("the browser run");
    println!("{output}");
    assert!(output.contains("7 passed, 0 failed"), "{output}");
}
