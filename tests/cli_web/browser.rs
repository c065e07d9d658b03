//! The page served by `inflight web` in a real headless Chromium, over two demos that set
//! no `--allow-origin`, driven by `tests/web/fleet.test.mjs` through `playwright-core`.
//!
//! Needs Node, `chromium` and the script's packages (`npm ci` in `tests/web`);
//! `scripts/test-all.sh` installs them.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{KILL_TOKEN, READ_TOKEN, Web};
use crate::admin_support::ChildGuard;
use crate::cli_support::{HELD, endpoint, endpoints, inflight, start_demo, wait_for_traffic};

/// How long the browser script may run; it stops itself well before.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(180);
const FILTER: &str = "/fetch/";

#[tokio::test(flavor = "multi_thread")]
async fn the_page_watches_two_demos_that_allow_no_other_origin() {
    let web_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("web");
    assert!(
        web_dir
            .join("node_modules")
            .join("playwright-core")
            .is_dir(),
        "tests/web has no node_modules: run `npm ci` there (scripts/test-all.sh does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "no Chromium at {chromium}: `apt-get install chromium chromium-driver` \
         (scripts/test-all.sh does), or set CHROMIUM"
    );

    let a = start_demo(HELD);
    let b = start_demo(
        &[
            HELD,
            &["--read-token", READ_TOKEN, "--kill-token", KILL_TOKEN],
        ]
        .concat(),
    );
    let list = endpoints(&[&a, &b]);
    let web = Web::start(&[
        "--endpoints",
        &list,
        "--token",
        READ_TOKEN,
        "--kill-token",
        KILL_TOKEN,
    ]);
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

    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let run_dir =
        std::env::temp_dir().join(format!("inflight-web-fleet-{}-{nanos}", std::process::id()));
    let mut command = Command::new("node");
    command
        .arg("fleet.test.mjs")
        .current_dir(&web_dir)
        .env("INFLIGHT_WEB", &server)
        .env("INFLIGHT_A", endpoint(&a))
        .env("INFLIGHT_B", endpoint(&b))
        .env("INFLIGHT_B_READ_TOKEN", READ_TOKEN)
        .env("INFLIGHT_LINK_VIEW", &link_view)
        .env("INFLIGHT_FILTER", FILTER)
        .env("INFLIGHT_LINK_TRACE", &link_trace)
        .env("INFLIGHT_TRACE", &trace)
        .env("INFLIGHT_RUN_DIR", &run_dir)
        .env("CHROMIUM", &chromium)
        .stdout(Stdio::piped());
    let mut script = ChildGuard::spawn(command);
    let deadline = Instant::now() + SCRIPT_DEADLINE;
    let status = loop {
        if let Some(status) = script.child_mut().try_wait().expect("wait for node") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut output = String::new();
    if let Some(mut stdout) = script.child_mut().stdout.take() {
        let _ = stdout.read_to_string(&mut output);
    }
    // The stderr reader may still be taking the last lines; give it a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let errors = script.stderr().join("\n");
    match status {
        Some(status) if status.success() => println!("{output}"),
        Some(status) => panic!(
            "the browser test failed ({status}); server {server}\n{output}\n{errors}\n\
             inflight web:\n{}",
            web.process.stderr().join("\n")
        ),
        None => panic!("the browser test took longer than {SCRIPT_DEADLINE:?}\n{output}\n{errors}"),
    }
    assert!(output.contains("7 passed, 0 failed"), "{output}");
}
