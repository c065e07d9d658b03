//! `GET /debug/tasks`, `inflight tasks` and the task dump on SIGUSR1.
//!
//! In the usual build, task dumps are not built in: every way in says exactly what to set
//! (`501`). The dumps themselves are tested in a build with them (`scripts/test-all.sh`
//! runs this file again with `RUSTFLAGS="--cfg tokio_unstable"` and `--all-features`).
#![cfg(unix)]

mod support;

use std::time::{Duration, Instant};

use inflight::admin::AdminServer;
use serde_json::Value;
use support::cli::{endpoints, inflight, start_demo};
use support::demo::Demo;

/// Sends SIGUSR1 to the demo and returns its stderr from the line starting with `from`
/// to the end, once `done` says it is complete.
fn signal_and_read(demo: &Demo, from: &str, done: impl Fn(&str) -> bool) -> String {
    let pid = demo.process.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-USR1", &pid])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -USR1 {pid}");
    let deadline = Instant::now() + support::DEADLINE;
    loop {
        let lines = demo.process.stderr();
        if let Some(start) = lines.iter().position(|line| line.starts_with(from)) {
            let section = lines[start..].join("\n");
            if done(&section) {
                return section;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no complete {from:?} section on the demo's stderr:\n{}",
            lines.join("\n")
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(not(all(tokio_unstable, feature = "taskdump")))]
mod without_task_dumps {
    use http::Method;
    use support::admin::start_admin;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_endpoint_names_exactly_what_to_set() {
        let (_handle, admin) = start_admin(AdminServer::new(support::table())).await;
        for path in [
            "/debug/tasks",
            "/debug/tasks?format=json",
            "/debug/tasks?format=text",
        ] {
            let message = admin.get(path).await.expect_error(501);
            assert_eq!(
                message,
                "task dumps are not built in: build the service with RUSTFLAGS=\"--cfg \
                 tokio_unstable\" and the `taskdump` feature of inflight (it turns on tokio's \
                 `taskdump` feature), on Linux on x86_64, aarch64, x86 or s390x",
                "{path}"
            );
        }
        let message = admin.get("/debug/tasks?format=svg").await.expect_error(400);
        assert!(
            message.contains("json") && message.contains("text"),
            "{message}"
        );
        let message = admin.get("/debug/tasks?seconds=1").await.expect_error(400);
        assert!(message.contains("\"seconds\""), "{message}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_read_token_comes_before_the_answer() {
        let (_handle, admin) =
            start_admin(AdminServer::new(support::table()).read_token("reader")).await;
        admin.get("/debug/tasks").await.expect_error(401);
        let answer = admin
            .send(
                Method::GET,
                "/debug/tasks",
                &[("authorization", "Bearer reader")],
                "",
            )
            .await;
        answer.expect_error(501);
    }

    #[test]
    fn inflight_tasks_reports_each_endpoint_and_fails_when_none_answered() {
        let (a, b) = (start_demo(&["--no-traffic"]), start_demo(&["--no-traffic"]));
        let list = endpoints(&[&a, &b]);
        let run = inflight(&["tasks", "--endpoints", &list]);
        run.expect_code(1)
            .expect_stderr("none of 2 endpoints answered with a task dump");
        for demo in [&a, &b] {
            run.expect_stderr(&format!(
                "inflight: {}: 501 task dumps are not built in: build the service with",
                demo.admin
            ));
        }

        let run = inflight(&["tasks", "--json", "--endpoints", &list]);
        run.expect_code(1);
        let json = run.json();
        assert_eq!(json["tasks"], 0);
        assert_eq!(json["groups"], Value::Array(Vec::new()));
        let errors = json["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 2, "{json}");
        for (error, demo) in errors.iter().zip([&a, &b]) {
            assert_eq!(error["endpoint"], demo.admin.to_string());
            let message = error["error"].as_str().expect("a message");
            assert!(message.contains("--cfg tokio_unstable"), "{message}");
        }
    }

    #[test]
    fn the_signal_dump_says_what_is_missing_when_asked_for_tasks() {
        let demo = start_demo(&["--no-traffic", "--task-dump-on-signal"]);
        let section = signal_and_read(&demo, "tokio tasks:", |_| true);
        assert!(
            section.starts_with(
                "tokio tasks: task dumps are not built in: build the service with RUSTFLAGS="
            ),
            "{section}"
        );
    }
}

#[cfg(all(tokio_unstable, feature = "taskdump"))]
mod with_task_dumps {
    use support::Gate;
    use support::admin::Http;

    use super::*;

    /// The line of the `.await` in `wait_for_the_gate`, where its tasks park. Frames name
    /// functions in full only with full debug info; file and line are there with
    /// `line-tables-only` too.
    const PARKED_AT: u32 = line!() + 3;

    async fn wait_for_the_gate(gate: Gate) {
        gate.wait().await;
    }

    fn parked_at() -> String {
        format!("tests/admin_tasks.rs:{PARKED_AT}:")
    }

    /// Runs `test` on a runtime of its own, next to the service's runtime.
    fn client<F: std::future::Future<Output = ()>>(test: F) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the test's runtime")
            .block_on(test);
    }

    async fn five_waiting_tasks_make_one_group(admin: &Http) {
        let dump = admin.get("/debug/tasks").await.expect(200);
        let groups = dump["groups"].as_array().expect("groups");
        let waiting: Vec<&Value> = groups
            .iter()
            .filter(|group| {
                group["frames"].as_array().is_some_and(|frames| {
                    frames
                        .iter()
                        .any(|f| f.as_str().is_some_and(|f| f.contains(&parked_at())))
                })
            })
            .collect();
        assert_eq!(waiting.len(), 1, "{dump:#}");
        assert_eq!(waiting[0]["count"], 5, "{dump:#}");
        assert!(dump["tasks"].as_u64() >= Some(5), "{dump:#}");
        assert_eq!(groups[0]["count"], 5, "most frequent first: {dump:#}");

        let text = admin.get("/debug/tasks?format=text").await;
        assert_eq!(text.status, 200);
        let text = text.text();
        assert!(text.contains("\n5 tasks:\n"), "{text}");
        assert!(text.contains(&parked_at()), "{text}");
    }

    #[test]
    fn tasks_parked_in_one_function_are_one_group_on_a_multi_thread_runtime() {
        let service = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("the service's runtime");
        let gate = Gate::new();
        for _ in 0..5 {
            service.spawn(wait_for_the_gate(gate.clone()));
        }
        let handle = AdminServer::new(support::table())
            .tokio_runtime(service.handle().clone())
            .bind("127.0.0.1:0")
            .expect("bind");
        client(async {
            five_waiting_tasks_make_one_group(&Http::new(handle.local_addr())).await;
        });
        gate.open();
        // Dropping waits for the workers; after a dump one can stay in tokio's trace
        // barrier at shutdown (see the guide), which is not what this test is about.
        service.shutdown_background();
    }

    #[test]
    fn tasks_parked_in_one_function_are_one_group_on_a_current_thread_runtime() {
        let service = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the service's runtime");
        let gate = Gate::new();
        let handle = {
            let _inside = service.enter();
            for _ in 0..5 {
                tokio::spawn(wait_for_the_gate(gate.clone()));
            }
            // bind() takes the runtime it is called in.
            AdminServer::new(support::table())
                .bind("127.0.0.1:0")
                .expect("bind")
        };
        let driver = {
            let gate = gate.clone();
            std::thread::spawn(move || service.block_on(gate.wait()))
        };
        client(async {
            five_waiting_tasks_make_one_group(&Http::new(handle.local_addr())).await;
        });
        gate.open();
        driver.join().expect("the service's thread");
    }

    #[test]
    fn without_a_runtime_the_endpoint_says_how_to_give_one() {
        let handle = AdminServer::new(support::table())
            .bind("127.0.0.1:0")
            .expect("bind");
        client(async {
            let message = Http::new(handle.local_addr())
                .get("/debug/tasks")
                .await
                .expect_error(501);
            assert!(message.contains("AdminServer::tokio_runtime"), "{message}");
        });
    }

    #[test]
    fn a_blocked_worker_times_the_dump_out_and_one_dump_runs_at_a_time() {
        let service = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("the service's runtime");
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (blocked, is_blocked) = std::sync::mpsc::channel::<()>();
        service.spawn(async move {
            let _ = blocked.send(());
            // A handler that blocks its worker: the dump waits for every worker.
            let _ = released.recv();
        });
        is_blocked.recv().expect("the worker blocks");
        let handle = AdminServer::new(support::table())
            .tokio_runtime(service.handle().clone())
            .task_dump_timeout(Duration::from_millis(300))
            .bind("127.0.0.1:0")
            .expect("bind");
        client(async {
            let admin = Http::new(handle.local_addr());
            let message = admin.get("/debug/tasks").await.expect_error(503);
            assert!(message.contains("did not finish within 300ms"), "{message}");
            let message = admin.get("/debug/tasks").await.expect_error(409);
            assert!(message.contains("already running"), "{message}");

            release.send(()).expect("release the worker");
            support::eventually("a dump once the worker is free", || async {
                (admin.get("/debug/tasks").await.status == 200).then_some(())
            })
            .await;
        });
        service.shutdown_background();
    }

    #[test]
    fn inflight_tasks_adds_up_identical_stacks_across_endpoints() {
        let (a, b) = (start_demo(&[]), start_demo(&[]));
        let run = inflight(&["tasks", "--json", "--endpoints", &endpoints(&[&a, &b])]);
        let json = run.json();
        run.expect_code(0);
        assert_eq!(json["errors"], Value::Array(Vec::new()), "{json:#}");
        let groups = json["groups"].as_array().expect("groups");
        // The two demos are one program: their traffic generators wait in the same place.
        let shared = groups
            .iter()
            .find(|group| {
                group["endpoints"]
                    .as_array()
                    .is_some_and(|at| at.len() == 2)
            })
            .unwrap_or_else(|| panic!("no stack both demos have: {json:#}"));
        let at = shared["endpoints"].as_array().expect("endpoints");
        let sum: u64 = at.iter().filter_map(|at| at["count"].as_u64()).sum();
        assert_eq!(shared["count"].as_u64(), Some(sum), "{json:#}");

        let text = inflight(&["tasks", "--endpoints", &endpoints(&[&a, &b])]);
        text.expect_code(0).expect_stdout("from 2 of 2 endpoints");
    }

    #[test]
    fn the_signal_dump_ends_with_the_task_dump_when_asked() {
        let demo = start_demo(&["--task-dump-on-signal"]);
        let section = signal_and_read(&demo, "tokio tasks:", |section| {
            section.contains("examples/demo/")
        });
        assert!(section.contains(" distinct stacks"), "{section}");
        assert!(
            section.lines().any(|line| line.ends_with(" tasks:")),
            "{section}"
        );
    }
}
