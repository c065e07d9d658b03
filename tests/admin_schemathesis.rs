//! schemathesis against the demo's `/openapi.json`: generated requests, valid and not,
//! to every operation while real traffic is in flight, and sequences that follow the
//! description's links from the list to real request ids (stateful phase); no 5xx, every
//! answer as described, invalid input refused and valid input taken.

mod support;

use std::process::{Command, Stdio};
use std::time::Instant;

use support::admin::wait_for_listed;
use support::demo::Demo;
use support::temp_dir;

/// Generated cases per operation and phase: enough to find what is wrong, bounded so the
/// run takes seconds.
const MAX_EXAMPLES: &str = "30";

#[test]
fn schemathesis_finds_nothing_wrong() {
    let schemathesis = support::tools::schemathesis();
    // Requests come and go every second, so lists, details and /recent have content.
    let demo = Demo::start(&["--upstream-delay", "1s", "--stuck-after", "off"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        wait_for_listed(&demo.admin_client(), "direction=inbound", 6).await;
    });

    // schemathesis writes its caches to the working directory.
    let work = temp_dir("schemathesis");
    // The demo is built without task dumps, so /debug/tasks answers its documented 501
    // (tests/admin_tasks.rs checks its message); any other 5xx is still a failure.
    std::fs::write(
        work.path().join("schemathesis.toml"),
        "[[operations]]\n\
         include-path = \"/debug/tasks\"\n\
         checks.not_a_server_error.expected-statuses = [\"2xx\", \"3xx\", \"4xx\", \"501\"]\n",
    )
    .expect("write schemathesis.toml");
    let url = format!("http://{}/openapi.json", demo.admin);
    let started = Instant::now();
    let output = Command::new(&schemathesis[0])
        .args(&schemathesis[1..])
        .args([
            "run",
            &url,
            "--checks",
            "all",
            "--max-examples",
            MAX_EXAMPLES,
            "--request-timeout",
            "10",
            "--generation-database",
            "none",
            "--no-color",
            // A CPU profile holds its request for up to a minute and runs one at a time:
            // thirty of them would take half an hour. tests/admin_pprof.rs covers it.
            "--exclude-operation-id",
            "cpuProfile",
        ])
        .current_dir(work.path())
        .stdin(Stdio::null())
        .output()
        .expect("run schemathesis");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis failed ({}) after {:?}:\n{report}\ndemo stderr:\n{}",
        output.status,
        started.elapsed(),
        demo.process.stderr().join("\n")
    );
    // It tested every operation of the description but the one serving it, which
    // schemathesis leaves out, and the CPU profile.
    let count = |label: &str| {
        report
            .lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .map(|rest| rest.trim().to_owned())
            .unwrap_or_else(|| panic!("no {label:?} line:\n{report}"))
    };
    let operations = serde_json::from_str::<serde_json::Value>(inflight::admin::OPENAPI)
        .expect("openapi.json")["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|path| path.as_object().map_or(0, |operations| operations.len()))
        .sum::<usize>();
    let total = operations - 1;
    let expected = total - 1;
    assert_eq!(
        count("Selected:"),
        format!("{expected}/{total}"),
        "{report}"
    );
    assert_eq!(count("Tested:"), expected.to_string(), "{report}");
}
