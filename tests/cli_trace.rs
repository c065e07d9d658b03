//! The `inflight` commands across services, over three chained services (`edge -> api ->
//! store`, each with a table and an admin port of its own) with requests held at the
//! store: `ls --tree` (text and JSON), `upstreams`, `trace`, `kill --trace`, the root's
//! termination ending the whole chain, and bad input (malformed and unknown trace ids, an
//! endpoint that is down).

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::chain::Chain;
use support::cli::{Run, inflight};
use support::{eventually, free_port};

/// How soon every request of a killed trace is gone from all three tables: what a kill
/// across services promises.
const KILLED_WITHIN: Duration = Duration::from_secs(1);

/// A trace id of this test's own.
fn new_trace(salt: u64) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    format!(
        "{:016x}{:016x}",
        nanos | 1,
        salt.wrapping_mul(0x9e37_79b9) | 1
    )
}

/// Polls the three tables until none lists a request of `trace`, for at most
/// [`KILLED_WITHIN`] from `since`.
async fn wait_until_gone(chain: &Chain, trace: &str, since: Instant) {
    loop {
        let left = chain.of_trace(trace).await;
        if left == [0, 0, 0] {
            return;
        }
        assert!(
            since.elapsed() < KILLED_WITHIN,
            "after {KILLED_WITHIN:?} the tables still list {left:?} requests of {trace}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The lines of `ls --tree` below the header.
fn tree_lines(run: &Run) -> Vec<&str> {
    run.stdout.lines().skip(1).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ls_tree_shows_one_chain_across_three_services_with_the_store_holding_up() {
    let chain = Chain::start().await;
    let trace = new_trace(1);
    let _held = chain.hold(1, &trace).await;
    let endpoints = chain.endpoints();

    let run = inflight(&["ls", "--tree", "--endpoints", &endpoints]);
    let text = run.ok();
    assert!(text.starts_with("REQUEST "), "{run}");
    let lines = tree_lines(&run);
    assert_eq!(lines.len(), 5, "one chain of five: {run}");
    let expected = [
        (&chain.edge, "in"),
        (&chain.edge, "out"),
        (&chain.api, "in"),
        (&chain.api, "out"),
        (&chain.store, "in"),
    ];
    for (depth, (line, (service, direction))) in lines.iter().zip(expected).enumerate() {
        let prefix = if depth == 0 {
            String::new()
        } else {
            format!("{}└─ ", "   ".repeat(depth - 1))
        };
        let head = format!("{prefix}{} #", service.endpoint());
        assert!(
            line.starts_with(&head),
            "{head:?} starts line {depth}: {run}"
        );
        let cells: Vec<&str> = line[head.len()..].split_whitespace().collect();
        assert_eq!(
            cells[1..3],
            [service.name, direction],
            "line {depth}: {run}"
        );
        assert!(line.contains("GET"), "{run}");
    }
    assert!(
        lines[4].contains("reading blob")
            && lines[4].contains("◀ holding up the chain: store for "),
        "the store's request is marked: {run}"
    );
    assert_eq!(
        lines.iter().filter(|line| line.contains('◀')).count(),
        1,
        "{run}"
    );

    // The same tree as JSON, nested.
    let run = inflight(&["ls", "--tree", "--json", "--endpoints", &endpoints]);
    run.expect_code(0);
    let json = run.json();
    let trees = json["trees"].as_array().expect("trees");
    assert_eq!(trees.len(), 1, "{run}");
    assert_eq!(json["errors"], Value::Array(vec![]), "{run}");
    let mut node = &trees[0];
    for (depth, (service, direction)) in expected.iter().enumerate() {
        assert_eq!(
            node["endpoint"],
            service.endpoint().as_str(),
            "{depth}: {run}"
        );
        assert_eq!(node["service"], service.name, "{depth}: {run}");
        assert_eq!(node["request"]["trace_id"], trace.as_str(), "{run}");
        let listed = if *direction == "in" {
            "inbound"
        } else {
            "outbound"
        };
        assert_eq!(node["request"]["direction"], listed, "{depth}: {run}");
        assert_eq!(node["holding_up"], depth == 4, "{depth}: {run}");
        let children = node["children"].as_array().expect("children");
        assert_eq!(children.len(), usize::from(depth < 4), "{depth}: {run}");
        if depth < 4 {
            node = &children[0];
        }
    }
    chain.gate.open();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstreams_groups_the_calls_in_flight_by_target() {
    let chain = Chain::start().await;
    let (one, two) = (new_trace(2), new_trace(3));
    let _first = chain.hold(1, &one).await;
    let _second = chain.hold(2, &two).await;
    let endpoints = chain.endpoints();

    let run = inflight(&["upstreams", "--endpoints", &endpoints]);
    let lines: Vec<&str> = run.ok().lines().collect();
    assert_eq!(lines.len(), 2, "{run}");
    for (callee, caller) in [(&chain.api, "edge"), (&chain.store, "api")] {
        let start = format!("2 -> {}, oldest ", callee.api);
        let end = format!(", 1 service ({caller})");
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with(&start) && line.ends_with(&end)),
            "{start:?}..{end:?}: {run}"
        );
    }

    let run = inflight(&["upstreams", "--json", "--oldest", "--endpoints", &endpoints]);
    run.expect_code(0);
    let groups = run.json()["upstreams"]
        .as_array()
        .cloned()
        .expect("upstreams");
    assert_eq!(groups.len(), 2, "{run}");
    let oldest: Vec<f64> = groups
        .iter()
        .filter_map(|group| group["oldest_ms"].as_f64())
        .collect();
    assert!(
        oldest.len() == 2 && oldest[0] >= oldest[1],
        "oldest first: {run}"
    );
    for group in &groups {
        assert_eq!(group["calls"], 2, "{run}");
        assert!(
            group["oldest_ms"].as_f64().is_some_and(|ms| ms > 0.0),
            "{run}"
        );
        assert_eq!(group["services"].as_array().map(Vec::len), Some(1), "{run}");
    }
    chain.gate.open();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_trace_ends_every_request_of_the_trace_at_every_endpoint() {
    let chain = Chain::start().await;
    let (doomed, spared) = (new_trace(4), new_trace(5));
    let answer = chain.hold(1, &doomed).await;
    let _other = chain.hold(2, &spared).await;
    let endpoints = chain.endpoints();

    let started = Instant::now();
    let run = inflight(&[
        "kill",
        "--trace",
        &doomed,
        "--message",
        "runaway",
        "--endpoints",
        &endpoints,
    ]);
    wait_until_gone(&chain, &doomed, started).await;
    run.expect_code(0);
    for service in chain.services() {
        let line = run
            .stdout
            .lines()
            .find(|line| line.starts_with(&format!("{} ({}): ", service.endpoint(), service.name)))
            .unwrap_or_else(|| panic!("a line for {}: {run}", service.name));
        // A request whose caller was terminated first may have ended meanwhile.
        assert!(
            line.contains("terminated #") || line.contains("had ended meanwhile"),
            "{run}"
        );
    }
    assert!(run.stdout.contains("terminated #"), "{run}");
    assert_eq!(
        chain.of_trace(&spared).await,
        [2, 2, 1],
        "the other trace is left"
    );
    let answer = answer.await.expect("the caller's task");
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.header(inflight::TERMINATED_HEADER), Some("runaway"));

    // Nothing of it is left: exit 1, as for `kill ENDPOINT ID` of an id that is gone.
    inflight(&["kill", "--trace", &doomed, "--endpoints", &endpoints])
        .expect_code(1)
        .expect_stderr(&format!(
            "no endpoint has a request of trace {doomed} in flight"
        ));
    chain.gate.open();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminating_the_root_ends_the_whole_chain() {
    let chain = Chain::start().await;
    let trace = new_trace(6);
    let answer = chain.hold(1, &trace).await;
    let root = chain
        .edge
        .listed()
        .await
        .iter()
        .find(|r| r["direction"] == "inbound" && r["trace_id"] == trace.as_str())
        .and_then(|r| r["id"].as_u64())
        .expect("the edge's request");

    let started = Instant::now();
    let run = inflight(&["kill", &chain.edge.endpoint(), &root.to_string()]);
    // Each service sees its caller go away: the api's and the store's requests end too.
    wait_until_gone(&chain, &trace, started).await;
    run.expect_code(0)
        .expect_stdout(&format!("terminated #{root} "));
    assert_eq!(answer.await.expect("the caller's task").status, 503);
    chain.gate.open();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_lists_the_hops_of_every_endpoint() {
    let chain = Chain::start().await;
    let trace = new_trace(7);
    let held = chain.hold(1, &trace).await;
    let endpoints = chain.endpoints();

    let run = inflight(&["trace", &trace, "--endpoints", &endpoints]);
    let text = run.ok();
    assert!(
        text.starts_with(&format!("trace {trace}: 5 hops at 3 of 3 endpoints\n")),
        "{run}"
    );
    let hops: Vec<&str> = text.lines().skip(2).collect();
    let expected = [
        ("edge", "request received", "client -> /fetch/{n}"),
        (
            "edge",
            "request sent",
            &*format!("edge -> {}", chain.api.api),
        ),
        ("api", "request received", "edge -> /fetch/{n}"),
        (
            "api",
            "request sent",
            &*format!("api -> {}", chain.store.api),
        ),
        ("store", "request received", "api -> /fetch/{n}"),
    ];
    assert_eq!(hops.len(), expected.len(), "{run}");
    for (hop, (service, kind, route)) in hops.iter().zip(expected) {
        for part in [&*format!("{service}@"), kind, route, "in flight for "] {
            assert!(hop.contains(part), "{part:?} in {hop:?}: {run}");
        }
    }

    // Once it ended, its replies too, from the ring of finished requests (which each
    // admin port fills a few milliseconds after the request ends).
    chain.gate.open();
    let answer = held.await.expect("the caller's task");
    assert_eq!(answer.status, 200, "{answer:?}");
    let (run, hops) = eventually("the ended hops in every service", || async {
        let run = inflight(&["trace", &trace, "--json", "--endpoints", &endpoints]);
        run.expect_code(0);
        let hops = run.json()["hops"].as_array().cloned().expect("hops");
        let replies = hops.iter().filter(|hop| hop["in_flight"] == false).count();
        (replies == hops.len() && hops.len() == 10).then_some((run, hops))
    })
    .await;
    let kinds: Vec<&str> = hops.iter().filter_map(|hop| hop["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "request received",
            "request sent",
            "request received",
            "request sent",
            "request received",
            "reply sent",
            "reply received",
            "reply sent",
            "reply received",
            "reply sent",
        ],
        "{run}"
    );
    assert!(hops.iter().all(|hop| hop["in_flight"] == false), "{run}");
    assert!(hops.iter().all(|hop| hop.get("error").is_none()), "{run}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_trace_ids_unknown_traces_and_an_endpoint_that_is_down() {
    let chain = Chain::start().await;
    let trace = new_trace(8);
    let _held = chain.hold(1, &trace).await;
    let endpoints = chain.endpoints();

    // Malformed ids are usage errors.
    for args in [
        &["trace", "xyz"][..],
        &["trace", "0000000000000000000000000000000"],
        &["trace", "00000000000000000000000000000000"],
        &["kill", "--trace", "4bf92f3577b34da6a3ce929d0e0e473g"],
        &["kill", "--trace", &trace, "127.0.0.1:1", "5"],
        &["kill"],
    ] {
        let mut args = args.to_vec();
        args.extend(["--endpoints", &endpoints]);
        inflight(&args).expect_code(2);
    }
    inflight(&["trace", "xyz", "--endpoints", &endpoints])
        .expect_code(2)
        .expect_stderr("a trace id is 32 hex digits");

    // A trace nowhere: an empty answer, not an error.
    let unknown = new_trace(9);
    inflight(&["trace", &unknown, "--endpoints", &endpoints])
        .expect_code(0)
        .expect_stdout(&format!("no endpoint knows trace {unknown}"));
    let run = inflight(&["trace", &unknown, "--json", "--endpoints", &endpoints]);
    run.expect_code(0);
    assert_eq!(run.json()["hops"], Value::Array(vec![]), "{run}");

    // An endpoint that is down fails the run; the others are still shown.
    let dead = format!("127.0.0.1:{}", free_port());
    let with_dead = format!("{endpoints},{dead}");
    let run = inflight(&["ls", "--tree", "--endpoints", &with_dead]);
    run.expect_code(1)
        .expect_stderr(&format!("{dead}: unreachable"))
        .expect_stderr("1 of 4 endpoints failed");
    assert_eq!(tree_lines(&run).len(), 5, "{run}");
    let run = inflight(&["ls", "--tree", "--json", "--endpoints", &with_dead]);
    run.expect_code(1);
    assert_eq!(run.json()["errors"][0]["endpoint"], dead.as_str(), "{run}");
    inflight(&["upstreams", "--endpoints", &with_dead])
        .expect_code(1)
        .expect_stdout(&format!("1 -> {}", chain.store.api))
        .expect_stderr(&format!("{dead}: unreachable"));
    inflight(&["trace", &trace, "--endpoints", &with_dead])
        .expect_code(1)
        .expect_stdout(&format!("trace {trace}: 5 hops at 3 of 4 endpoints"))
        .expect_stderr(&format!("{dead}: unreachable"));
    let run = inflight(&["kill", "--trace", &unknown, "--endpoints", &with_dead]);
    run.expect_code(1)
        .expect_stderr(&format!("{dead}: unreachable"));
    assert_eq!(
        chain.of_trace(&trace).await,
        [2, 2, 1],
        "nothing else was killed"
    );
    chain.gate.open();
}
