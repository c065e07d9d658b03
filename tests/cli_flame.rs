//! `inflight flame`: CPU profiles of this test process through its own admin port, and
//! the CLI's messages when there is none to take.

mod support;

use std::net::TcpListener;

use inflight::admin::AdminServer;
use support::admin::start_admin;
use support::cli::{inflight, inflight_with_env};
use support::cpu::{BURNER, Burner, running_profile};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flame_writes_the_profile_and_says_what_failed() {
    let (handle, admin) = start_admin(AdminServer::new(support::table())).await;
    let endpoint = handle.local_addr().to_string();
    let _burner = Burner::start();

    // Folded stacks to stdout, with the burning function in them.
    let run = tokio::task::spawn_blocking({
        let endpoint = endpoint.clone();
        move || {
            inflight(&[
                "flame",
                "--endpoint",
                &endpoint,
                "--seconds",
                "1",
                "--format",
                "folded",
            ])
        }
    })
    .await
    .unwrap();
    let folded = run.ok();
    assert!(folded.lines().any(|line| line.contains(BURNER)), "{folded}");

    // A flame graph to a file, its format from the name.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flame.svg");
    let file_arg = file.display().to_string();
    let run = tokio::task::spawn_blocking({
        let endpoint = endpoint.clone();
        move || {
            inflight(&[
                "flame",
                "--endpoint",
                &endpoint,
                "--seconds",
                "1",
                "-o",
                &file_arg,
            ])
        }
    })
    .await
    .unwrap();
    run.ok();
    let svg = std::fs::read_to_string(&file).expect("flame.svg");
    assert!(svg.contains("<svg"), "{}", &svg[..svg.len().min(300)]);
    assert!(svg.contains(BURNER), "no {BURNER} in the flame graph");

    // A profile already running: 409, said plainly, exit 1.
    let first = running_profile(&admin, 3).await;
    let run = tokio::task::spawn_blocking({
        let endpoint = endpoint.clone();
        move || inflight(&["flame", "--endpoint", &endpoint, "--seconds", "1"])
    })
    .await
    .unwrap();
    run.expect_code(1).expect_stderr(&format!(
        "inflight: {endpoint}: 409 a CPU profile is already running in this process; \
         try again when it ends"
    ));
    assert!(!first.is_finished(), "the profile ended before the check");
    first.await.unwrap();
}

#[tokio::test]
async fn flame_needs_the_token_and_a_port_that_answers() {
    let (handle, _admin) = start_admin(AdminServer::new(support::table()).read_token("r3ad")).await;
    let endpoint = handle.local_addr().to_string();
    let run = tokio::task::spawn_blocking({
        let endpoint = endpoint.clone();
        move || inflight(&["flame", "--endpoint", &endpoint, "--seconds", "1"])
    })
    .await
    .unwrap();
    run.expect_code(1).expect_stderr(&format!(
        "inflight: {endpoint}: 401 a bearer token is required: send Authorization: Bearer \
         <token> (give --token or INFLIGHT_TOKEN)"
    ));
    let run = tokio::task::spawn_blocking({
        let endpoint = endpoint.clone();
        move || {
            inflight_with_env(
                &[
                    "flame",
                    "--endpoint",
                    &endpoint,
                    "--seconds",
                    "1",
                    "--format",
                    "folded",
                ],
                &[("INFLIGHT_TOKEN", "r3ad")],
            )
        }
    })
    .await
    .unwrap();
    run.ok();

    // Nothing listens there.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let run = inflight(&["flame", "--endpoint", &closed, "--seconds", "1"]);
    run.expect_code(1)
        .expect_stderr(&format!("inflight: {closed}: unreachable"));

    // Out of range: a usage error before anything is asked.
    inflight(&["flame", "--endpoint", &endpoint, "--seconds", "61"])
        .expect_code(2)
        .expect_stderr("61 is not in 1..=60");
}
