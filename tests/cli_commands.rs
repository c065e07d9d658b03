//! The `inflight` command against real demo processes: `ls` (JSON, table, `--min-age`,
//! `--direction`) over two demos, `show`, `kill` and `kill --cancel` ending the right
//! request, `dump`, `recent`, `profile`, `link`, an unreachable endpoint, usage errors
//! (exit 2), unknown ids and tokens (exit 1), and endpoints from the environment or a
//! file.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cli::{
    HELD, Run, TRAFFIC, endpoint, endpoints, hold_request, inflight, inflight_with_env, listed,
    start_demo, wait_for_traffic,
};
use support::demo::Demo;
use support::{eventually, free_port, temp_dir};

/// Two demos with their traffic in flight, held there by the 60 s upstream.
async fn two_demos() -> (Demo, Demo) {
    let (a, b) = (start_demo(HELD), start_demo(HELD));
    wait_for_traffic(&a).await;
    wait_for_traffic(&b).await;
    (a, b)
}

/// The `requests` of an `ls --json` run.
fn requests(run: &Run) -> Vec<Value> {
    run.json()["requests"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no requests array: {run}"))
}

/// The `(endpoint, uri)` of the inbound `/fetch` requests in `requests`.
fn fetches(requests: &[Value]) -> BTreeSet<(String, String)> {
    requests
        .iter()
        .filter(|r| r["direction"] == "inbound")
        .filter_map(|r| {
            let uri = r["uri"].as_str().filter(|uri| uri.starts_with("/fetch/"))?;
            Some((r["endpoint"].as_str()?.to_owned(), uri.to_owned()))
        })
        .collect()
}

/// The ids `admin` lists now.
async fn ids(demo: &Demo) -> BTreeSet<u64> {
    listed(&demo.admin_client())
        .await
        .iter()
        .filter_map(|r| r["id"].as_u64())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn ls_lists_the_requests_of_both_endpoints() {
    let (a, b) = two_demos().await;
    let list = endpoints(&[&a, &b]);

    let run = inflight(&["ls", "--json", "--endpoints", &list]);
    run.expect_code(0);
    let all = requests(&run);
    let names: BTreeSet<&str> = all.iter().filter_map(|r| r["endpoint"].as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from([endpoint(&a).as_str(), endpoint(&b).as_str()]),
        "{run}"
    );
    for demo in [&a, &b] {
        let name = endpoint(demo);
        let mine = fetches(&all)
            .into_iter()
            .filter(|(endpoint, _)| *endpoint == name)
            .count();
        assert!(
            mine >= TRAFFIC,
            "{name} has its {TRAFFIC} /fetch requests listed: {run}"
        );
        assert!(
            all.iter().any(|r| r["endpoint"] == name.as_str()
                && r["direction"] == "outbound"
                && r["uri"].as_str().is_some_and(|u| u.contains("/blob/"))),
            "{name}'s calls to slownode are listed: {run}"
        );
    }
    assert_eq!(run.json()["errors"], Value::Array(vec![]), "{run}");
    let ages: Vec<f64> = all
        .iter()
        .filter_map(|r| r["elapsed_ms"].as_f64())
        .collect();
    assert!(
        ages.windows(2).all(|w| w[0] >= w[1]),
        "oldest first: {ages:?}"
    );

    // The table: a header, and a row per request with its host, id and URL.
    let run = inflight(&["ls", "--endpoints", &list]);
    let table = run.ok();
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    assert_eq!(
        header,
        [
            "HOST",
            "ID",
            "DIR",
            "AGE",
            "IN",
            "STATUS",
            "STATUS",
            "METHOD",
            "URL",
            "ATTRIBUTES"
        ],
        "{run}"
    );
    for demo in [&a, &b] {
        let name = endpoint(demo);
        let rows: Vec<&str> = table
            .lines()
            .filter(|line| line.starts_with(&format!("{name} ")))
            .collect();
        assert!(rows.len() >= 12, "{name}: 6 requests and 6 calls: {run}");
        assert!(
            rows.iter().any(|row| row.contains(" in ")
                && row.contains("/fetch/")
                && row.contains("awaiting slownode:")
                && row.contains("blob=")),
            "{name}: an inbound /fetch row with its status and attribute: {run}"
        );
        assert!(
            rows.iter()
                .any(|row| row.contains(" out ") && row.contains("awaiting headers")),
            "{name}: an outbound row: {run}"
        );
    }

    // --direction keeps one side.
    for (direction, expected) in [("out", "outbound"), ("in", "inbound")] {
        let run = inflight(&[
            "ls",
            "--json",
            "--direction",
            direction,
            "--endpoints",
            &list,
        ]);
        run.expect_code(0);
        let some = requests(&run);
        assert!(some.len() >= 12, "both demos' {expected} requests: {run}");
        assert!(
            some.iter().all(|r| r["direction"] == expected),
            "only {expected}: {run}"
        );
    }

    // --min-age: none is an hour old; with traffic some seconds old and a request of our
    // own just started, a few seconds keeps the traffic and leaves ours out.
    let run = inflight(&["ls", "--json", "--min-age", "1h", "--endpoints", &list]);
    assert_eq!(requests(&run), Vec::<Value>::new(), "{run}");
    let table = inflight(&["ls", "--min-age", "1h", "--endpoints", &list]);
    assert_eq!(table.ok().lines().count(), 1, "the header alone: {table}");
    eventually("the traffic to be 6s old", || async {
        let run = inflight(&["ls", "--json", "--min-age", "6s", "--endpoints", &list]);
        (fetches(&requests(&run)).len() >= 2 * TRAFFIC).then_some(())
    })
    .await;
    let young = hold_request(&a, 4242).await;
    let run = inflight(&["ls", "--json", "--min-age", "4s", "--endpoints", &list]);
    let old = requests(&run);
    assert!(fetches(&old).len() >= 2 * TRAFFIC, "the traffic: {run}");
    assert!(
        old.iter()
            .all(|r| r["elapsed_ms"].as_f64().is_some_and(|ms| ms >= 4000.0)),
        "only requests at least 4s old: {run}"
    );
    assert!(
        !old.iter()
            .any(|r| r["id"] == young.id && r["endpoint"] == endpoint(&a).as_str()),
        "not the young one: {run}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn show_prints_a_request_with_its_history() {
    let demo = start_demo(HELD);
    let held = hold_request(&demo, 4242).await;
    let name = endpoint(&demo);
    let run = inflight(&["show", &name, &held.id.to_string()]);
    let text = run.ok();
    assert!(
        text.starts_with(&format!(
            "#{} inbound GET \"/fetch/4242\" on {name}\n",
            held.id
        )),
        "{run}"
    );
    for expected in [
        "  status      awaiting slownode:",
        "  route       /fetch/{n}",
        "  attributes  blob=4242",
        &format!("  children    #{}", held.child),
        "  history:\n",
    ] {
        assert!(text.contains(expected), "{expected:?} in {run}");
    }
    // The history, oldest first: the layer's status, the handler's, the automatic wait.
    let history: Vec<&str> = text
        .split("  history:\n")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .map(|line| line.trim().split_once(' ').map_or("", |(_, s)| s.trim()))
        .collect();
    assert_eq!(history.first(), Some(&"in handler"), "{run}");
    assert!(history.contains(&"fetching blob"), "{run}");
    assert!(
        history
            .last()
            .is_some_and(|s| s.starts_with("awaiting slownode:")),
        "{run}"
    );

    // The outbound call too.
    let run = inflight(&["show", &name, &held.child.to_string()]);
    run.expect_stdout(&format!("#{} outbound GET \"http://slownode:", held.child))
        .expect_stdout(&format!("  parent      #{}", held.id))
        .expect_stdout("awaiting headers");
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_terminates_the_request_and_its_caller_gets_503() {
    let (a, b) = two_demos().await;
    let held = hold_request(&a, 4242).await;
    let others_a: BTreeSet<u64> = ids(&a)
        .await
        .into_iter()
        .filter(|id| ![held.id, held.child].contains(id))
        .collect();
    let others_b = ids(&b).await;

    let run = inflight(&[
        "kill",
        &endpoint(&a),
        &held.id.to_string(),
        "--message",
        "stuck on slownode",
    ]);
    run.expect_code(0)
        .expect_stdout(&format!("terminated #{} (GET \"/fetch/4242\"", held.id))
        .expect_stdout(&format!("on {}", endpoint(&a)));

    let answer = tokio::time::timeout(Duration::from_secs(10), held.answer)
        .await
        .expect("the caller got an answer at once")
        .expect("the request task");
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(
        answer.header(inflight::TERMINATED_HEADER),
        Some("stuck on slownode"),
        "the caller reads the message: {answer:?}"
    );
    assert!(answer.body.is_empty(), "{answer:?}");
    eventually(
        "the killed request and its call to leave the table",
        || async {
            let now = ids(&a).await;
            (!now.contains(&held.id) && !now.contains(&held.child)).then_some(())
        },
    )
    .await;
    let now = ids(&a).await;
    assert!(
        others_a.is_subset(&now),
        "the other requests remain: {others_a:?} vs {now:?}"
    );
    let now = ids(&b).await;
    assert!(
        others_b.is_subset(&now),
        "the other demo is untouched: {others_b:?} vs {now:?}"
    );
    // Killing it again: it is gone.
    inflight(&["kill", &endpoint(&a), &held.id.to_string()])
        .expect_code(1)
        .expect_stderr(&format!("404 no request #{} is in flight", held.id));
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_cancel_ends_the_request_after_the_grace() {
    let demo = start_demo(HELD);
    let held = hold_request(&demo, 7).await;
    let started = Instant::now();
    let run = inflight(&[
        "kill",
        &endpoint(&demo),
        &held.id.to_string(),
        "--cancel",
        "--grace",
        "300ms",
        "--message",
        "please stop",
    ]);
    run.expect_code(0)
        .expect_stdout(&format!("asked #{} (GET \"/fetch/7\"", held.id))
        .expect_stdout("to cancel")
        .expect_stdout("terminated if still there in 0.30s");
    // The demo's handler does not watch for cancellation, so the grace runs out.
    let answer = tokio::time::timeout(Duration::from_secs(10), held.answer)
        .await
        .expect("the caller got an answer soon after the grace")
        .expect("the request task");
    let took = started.elapsed();
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(
        took >= Duration::from_millis(300),
        "ended after the grace, not before: {took:?}"
    );
    let gone = ids(&demo).await;
    assert!(!gone.contains(&held.id), "{gone:?}");
    // `recent` remembers how it ended.
    inflight(&["recent", &endpoint(&demo)])
        .expect_code(0)
        .expect_stdout("terminated")
        .expect_stdout("/fetch/7");
}

#[tokio::test(flavor = "multi_thread")]
async fn dump_recent_profile_and_link() {
    let (a, b) = two_demos().await;
    let list = endpoints(&[&a, &b]);
    // Something finished, for recent and profile.
    let hello = a.api_client().get("/hello").await;
    assert_eq!(hello.status, 200);
    eventually("/hello to be recorded", || async {
        inflight(&["recent", &endpoint(&a)])
            .stdout
            .contains("inbound /hello")
            .then_some(())
    })
    .await;

    let run = inflight(&["dump", "--endpoints", &list]);
    let text = run.ok();
    for demo in [&a, &b] {
        let banner = format!("== {}\n", endpoint(demo));
        let section = text
            .split(&banner)
            .nth(1)
            .unwrap_or_else(|| panic!("{banner:?} in {run}"));
        let first = section.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("inflight: ")
                && first.contains(" inbound, ")
                && first.contains(&format!("(pid {}", demo.process.id())),
            "the dump's first line: {run}"
        );
        assert!(section.contains("servicing GET \"/fetch/"), "{run}");
    }
    // One endpoint given after `dump`: no banner.
    let one = inflight(&["dump", &endpoint(&b)]);
    assert!(one.ok().starts_with("inflight: "), "{one}");

    let run = inflight(&["recent", &endpoint(&a)]);
    run.expect_code(0)
        .expect_stdout("inbound /hello")
        .expect_stdout("BUCKET  COUNT  LATEST (newest first)");

    let run = inflight(&["profile", &endpoint(&a)]);
    let text = run.ok();
    assert!(
        text.starts_with(&format!("time spent on {} since ", endpoint(&a))),
        "{run}"
    );
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|header| header.split_whitespace().collect::<Vec<_>>()
                == [
                    "ROUTE", "STATUS", "COUNT", "TOTAL", "MEAN", "P50", "P95", "P99", "MAX"
                ]),
        "{run}"
    );
    assert!(text.contains("inbound /hello"), "{run}");
    assert!(text.contains("in handler"), "{run}");

    let run = inflight(&["link", "--endpoints", &list]);
    assert_eq!(
        run.ok(),
        format!("http://{}/?endpoints={list}\n", endpoint(&a))
    );
    let run = inflight(&["link", "--endpoints", &list, "--base", "http://ops:8080/"]);
    assert_eq!(run.ok(), format!("http://ops:8080/?endpoints={list}\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_endpoint_fails_the_run_but_the_others_are_listed() {
    let (a, b) = two_demos().await;
    let dead = format!("127.0.0.1:{}", free_port());
    let list = format!("{},{dead}", endpoints(&[&a, &b]));

    let run = inflight(&["ls", "--json", "--endpoints", &list]);
    run.expect_code(1)
        .expect_stderr(&format!("inflight: {dead}: unreachable"))
        .expect_stderr("1 of 3 endpoints failed");
    let seen: BTreeSet<String> = fetches(&requests(&run))
        .into_iter()
        .map(|(endpoint, _)| endpoint)
        .collect();
    assert_eq!(seen, BTreeSet::from([endpoint(&a), endpoint(&b)]), "{run}");
    assert_eq!(run.json()["errors"][0]["endpoint"], dead.as_str(), "{run}");

    let run = inflight(&["ls", "--endpoints", &list]);
    run.expect_code(1)
        .expect_stderr(&format!("{dead}: unreachable"))
        .expect_stdout(&format!("{} ", endpoint(&a)))
        .expect_stdout(&format!("{} ", endpoint(&b)));

    let run = inflight(&["dump", "--endpoints", &list]);
    run.expect_code(1)
        .expect_stderr(&format!("{dead}: unreachable"))
        .expect_stdout(&format!("== {}\ninflight: ", endpoint(&b)));
    inflight(&["show", &dead, "1"])
        .expect_code(1)
        .expect_stderr(&format!("{dead}: unreachable"));
}

#[test]
fn bad_arguments_are_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["ls", "--endpoints", "127.0.0.1:9", "--bogus"], "--bogus"),
        (&["frobnicate"], "frobnicate"),
        (
            &["ls", "--endpoints", "127.0.0.1:9", "--min-age", "soon"],
            "invalid duration \"soon\"",
        ),
        (
            &["top", "--endpoints", "127.0.0.1:9", "--refresh", "0x"],
            "--refresh",
        ),
        (&["kill", "127.0.0.1:9"], "<ID>"),
        (&["kill", "127.0.0.1:9", "seven"], "seven"),
        (&["kill", "127.0.0.1:9", "7", "--grace", "1s"], "--cancel"),
        (
            &["ls", "--endpoints", "127.0.0.1:9", "--direction", "up"],
            "up",
        ),
        (&["ls"], "no endpoints"),
        (&["top"], "no endpoints"),
        (&["link"], "no endpoints"),
        (&["ls", "--endpoints", " , "], "no endpoints"),
        (
            &["ls", "--endpoints", "https://127.0.0.1:9084"],
            "https is not supported",
        ),
        (
            &["show", "https://127.0.0.1:9084", "1"],
            "https is not supported",
        ),
        (&["ls", "--endpoints", "host/path"], "is not an endpoint"),
        (
            &["ls", "--endpoints-file", "/nonexistent/endpoints"],
            "cannot read /nonexistent/endpoints",
        ),
    ];
    for (args, message) in cases {
        let run = inflight(args);
        run.expect_code(2).expect_stderr(message);
        assert!(run.stdout.is_empty(), "nothing on stdout: {run}");
    }
    // Help and version are not errors.
    inflight(&["--help"])
        .expect_code(0)
        .expect_stdout("Usage: inflight");
    inflight(&["--version"])
        .expect_code(0)
        .expect_stdout("inflight ");
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_of_an_unknown_id_exits_1_with_the_admin_message() {
    let demo = start_demo(&["--no-traffic", "--stuck-after", "off"]);
    for args in [
        &["kill", &endpoint(&demo), "999999"][..],
        &["kill", &endpoint(&demo), "999999", "--cancel"],
        &["show", &endpoint(&demo), "999999"],
    ] {
        let run = inflight(args);
        run.expect_code(1).expect_stderr(&format!(
            "inflight: {}: 404 no request #999999 is in flight",
            endpoint(&demo)
        ));
        assert!(run.stdout.is_empty(), "{run}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_needs_the_kill_token() {
    let mut args = HELD.to_vec();
    args.extend(["--kill-token", "k1ll"]);
    let demo = start_demo(&args);
    let held = hold_request(&demo, 99).await;
    let (name, id) = (endpoint(&demo), held.id.to_string());

    // Reading needs no token here.
    inflight(&["show", &name, &id]).expect_code(0);
    let run = inflight(&["kill", &name, &id]);
    run.expect_code(1)
        .expect_stderr(&format!("inflight: {name}: 401 "))
        .expect_stderr("give --token or INFLIGHT_TOKEN");
    inflight(&["kill", &name, &id, "--token", "wrong"])
        .expect_code(1)
        .expect_stderr(&format!("{name}: 403 "))
        .expect_stderr("use the kill token");
    assert!(ids(&demo).await.contains(&held.id), "still in flight");

    inflight_with_env(&["kill", &name, &id], &[("INFLIGHT_TOKEN", "k1ll")])
        .expect_code(0)
        .expect_stdout(&format!("terminated #{id}"));
    let answer = held.answer.await.expect("the request task");
    assert_eq!(answer.status, 503, "{answer:?}");

    let other = hold_request(&demo, 100).await;
    inflight(&["kill", &name, &other.id.to_string(), "--token", "k1ll"])
        .expect_code(0)
        .expect_stdout(&format!("terminated #{}", other.id));
    assert_eq!(other.answer.await.expect("the request task").status, 503);
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_come_from_the_environment_or_a_file() {
    let (a, b) = two_demos().await;
    let both = BTreeSet::from([endpoint(&a), endpoint(&b)]);
    let seen = |run: &Run| -> BTreeSet<String> {
        run.expect_code(0);
        fetches(&requests(run))
            .into_iter()
            .map(|(endpoint, _)| endpoint)
            .collect()
    };

    let run = inflight_with_env(
        &["ls", "--json"],
        &[("INFLIGHT_ENDPOINTS", &endpoints(&[&a, &b]))],
    );
    assert_eq!(seen(&run), both, "{run}");

    let dir = temp_dir("cli-endpoints");
    let file = dir.path().join("endpoints");
    std::fs::write(
        &file,
        format!(
            "# the fleet\n{}\n\nhttp://{}/   # the second, as a URL\n{}\n",
            endpoint(&a),
            endpoint(&b),
            endpoint(&a)
        ),
    )
    .expect("write the endpoints file");
    let file = file.to_str().expect("a UTF-8 path");
    let run = inflight(&["ls", "--json", "--endpoints-file", file]);
    assert_eq!(seen(&run), both, "{run}");
    // Listed twice in the file, asked once.
    let run = inflight(&["dump", "--endpoints-file", file]);
    assert_eq!(run.ok().matches("== ").count(), 2, "{run}");

    // --endpoints wins over the environment.
    let run = inflight_with_env(
        &["ls", "--json", "--endpoints", &endpoint(&b)],
        &[("INFLIGHT_ENDPOINTS", &endpoint(&a))],
    );
    assert_eq!(seen(&run), BTreeSet::from([endpoint(&b)]), "{run}");
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // `true` exits at once; by the time `inflight` writes, nobody reads the pipe.
    let script = format!(
        "{{ sleep 0.5; '{}' link --endpoints 127.0.0.1:9; }} | true; echo \"exit ${{PIPESTATUS[0]}}\"",
        support::cli::inflight_binary().display()
    );
    let output = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("run bash");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.is_empty(), "no panic, no message: {stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "exit 0\n");
}
