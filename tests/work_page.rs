//! Work that is not an HTTP request on the admin port's web page, in a real headless
//! Chromium driven by `tests/web/work.test.mjs`: a work item held on its outbound call.
//!
//! Needs Node, `chromium` and the script's packages (`npm ci` in `tests/web`);
//! `scripts/test-all.sh` installs them.

mod support;

use std::time::Duration;

use inflight::Work;
use inflight::admin::AdminServer;
use support::admin::{serve_slow_upstream, start_admin, wait_for_listed};
use support::{browser, temp_dir};
use tower::ServiceExt;

const NAME: &str = "consume orders/3";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_work_with_its_call() {
    browser::chromium();
    let table = support::table();
    let (handle, admin) = start_admin(AdminServer::new(table.clone())).await;
    let upstream = serve_slow_upstream(Duration::from_secs(120)).await;
    let client = support::tracked_client(&table);
    let work = tokio::spawn(Work::builder(NAME).table(table.clone()).run(async move {
        inflight::set_status("decoding");
        let _ = client
            .oneshot(support::get(format!("http://{upstream}/charge")))
            .await;
    }));
    wait_for_listed(&admin, "direction=outbound", 1).await;

    let run_dir = temp_dir("work-page");
    let env = vec![
        ("INFLIGHT_PAGE", format!("http://{}/", handle.local_addr())),
        ("INFLIGHT_WORK_NAME", NAME.to_owned()),
        ("INFLIGHT_RUN_DIR", run_dir.path().display().to_string()),
    ];
    let output = tokio::task::spawn_blocking(move || {
        browser::run("work.test.mjs", &env, Duration::from_secs(120), String::new)
    })
    .await
    .expect("the browser run");
    println!("{output}");
    assert!(output.contains("4 passed, 0 failed"), "{output}");
    work.abort();
}
