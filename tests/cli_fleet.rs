//! Fleets found without a hand-kept list, and polling that a bad endpoint never holds
//! up: a real Prometheus scraping demo admin ports (`--prometheus`, `--job`, a down
//! target), HTTP and file service discovery (`--http-sd`, `--file-sd` in JSON and YAML),
//! duplicates across sources, bad sources (exit 1 with what went wrong, exit 2 for
//! usage), endpoints that die or hang while `ls` and `top --batch` poll, and `top`
//! finding new targets while it runs.

#[path = "support/admin.rs"]
mod admin_support;
#[path = "support/cli.rs"]
mod cli_support;
#[path = "support/fleet.rs"]
mod fleet_support;
#[path = "support/prometheus.rs"]
mod prometheus_support;

use std::collections::BTreeSet;

use admin_support::{Demo, TempDir, free_port};
use cli_support::{HELD, Run, endpoint, inflight, start_demo, wait_for_traffic};
use fleet_support::{BatchTop, SdServer, hanging_endpoint, sd_json};
use prometheus_support::{Job, Prometheus};
use serde_json::Value;

async fn demos<const N: usize>() -> [Demo; N] {
    let demos: [Demo; N] = std::array::from_fn(|_| start_demo(HELD));
    for demo in &demos {
        wait_for_traffic(demo).await;
    }
    demos
}

/// The requests of an `ls --json` run.
fn requests(run: &Run) -> Vec<Value> {
    run.json()["requests"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no requests array: {run}"))
}

/// The endpoints that have requests in an `ls --json` run.
fn listed_endpoints(run: &Run) -> BTreeSet<String> {
    requests(run)
        .iter()
        .filter_map(|r| r["endpoint"].as_str().map(str::to_owned))
        .collect()
}

/// Checks that no request is listed twice.
fn assert_each_once(run: &Run) {
    let all = requests(run);
    let unique: BTreeSet<(String, u64)> = all
        .iter()
        .filter_map(|r| Some((r["endpoint"].as_str()?.to_owned(), r["id"].as_u64()?)))
        .collect();
    assert_eq!(unique.len(), all.len(), "a request listed twice: {run}");
}

fn names(demos: &[&Demo]) -> BTreeSet<String> {
    demos.iter().map(|demo| endpoint(demo)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn ls_finds_the_admin_ports_prometheus_scrapes() {
    // Installed first: an install can take longer than the demos hold requests.
    admin_support::prometheus();
    let [a, b, c] = demos::<3>().await;
    let down = format!("127.0.0.1:{}", free_port());
    let prometheus = Prometheus::start(&[
        Job {
            name: "api",
            targets: vec![endpoint(&a), endpoint(&b), down.clone()],
        },
        Job {
            name: "db",
            targets: vec![endpoint(&c)],
        },
    ])
    .await;
    prometheus.active_targets(4).await;
    let url = prometheus.url();

    // The api job: both demos' requests, the down target failing, the db job left out.
    let run = inflight(&["ls", "--json", "--prometheus", &url, "--job", "api"]);
    run.expect_code(1)
        .expect_stderr(&format!("inflight: {down}: unreachable"))
        .expect_stderr("1 of 3 endpoints failed");
    assert_eq!(listed_endpoints(&run), names(&[&a, &b]), "{run}");
    assert!(
        requests(&run).iter().all(|r| r["job"] == "api"),
        "each request names its job: {run}"
    );
    assert_eq!(run.json()["errors"][0]["endpoint"], down.as_str(), "{run}");

    // Every job without --job.
    let run = inflight(&["ls", "--json", "--prometheus", &url]);
    run.expect_code(1);
    assert_eq!(listed_endpoints(&run), names(&[&a, &b, &c]), "{run}");
    assert!(
        requests(&run)
            .iter()
            .filter(|r| r["endpoint"] == endpoint(&c).as_str())
            .all(|r| r["job"] == "db"),
        "{run}"
    );

    // The table gets a JOB column.
    let run = inflight(&["ls", "--prometheus", &url, "--job", "db"]);
    let table = run.ok();
    let mut lines = table.lines();
    assert!(
        lines
            .next()
            .is_some_and(|header| header.starts_with("HOST") && header.contains(" JOB ")),
        "{run}"
    );
    let rows: Vec<&str> = lines.collect();
    assert!(!rows.is_empty(), "{run}");
    for row in rows {
        assert!(
            row.starts_with(&format!("{} ", endpoint(&c))) && row.contains(" db "),
            "{row:?} in {run}"
        );
    }

    // With --endpoints naming one of them too: each request once.
    let run = inflight(&[
        "ls",
        "--json",
        "--prometheus",
        &url,
        "--job",
        "db",
        "--endpoints",
        &endpoint(&c),
    ]);
    run.expect_code(0);
    assert_eq!(listed_endpoints(&run), names(&[&c]), "{run}");
    assert_each_once(&run);

    // A job Prometheus does not have.
    inflight(&["ls", "--prometheus", &url, "--job", "web"])
        .expect_code(1)
        .expect_stderr(&format!(
            "inflight: --prometheus {url}: no active target of job \"web\" (its jobs: api, db)"
        ));
}

#[tokio::test(flavor = "multi_thread")]
async fn http_and_file_service_discovery() {
    let [a, b] = demos::<2>().await;
    let (name_a, name_b) = (endpoint(&a), endpoint(&b));
    let sd = SdServer::start().await;
    let both = sd_json(&[(&[&name_a], Some("api")), (&[&name_b], Some("db"))]);
    sd.set("/targets", 200, &both);

    let run = inflight(&[
        "ls",
        "--json",
        "--http-sd",
        &sd.url("/targets"),
        "--job",
        "api",
    ]);
    run.expect_code(0);
    assert_eq!(listed_endpoints(&run), names(&[&a]), "{run}");
    let run = inflight(&["ls", "--json", "--http-sd", &sd.url("/targets")]);
    run.expect_code(0);
    assert_eq!(listed_endpoints(&run), names(&[&a, &b]), "{run}");

    let dir = TempDir::new("file-sd");
    let json = dir.path.join("fleet.json");
    std::fs::write(&json, &both).unwrap();
    let json = json.to_str().unwrap();
    let run = inflight(&["ls", "--json", "--file-sd", json, "--job", "db"]);
    run.expect_code(0);
    assert_eq!(listed_endpoints(&run), names(&[&b]), "{run}");

    let yaml = dir.path.join("fleet.yml");
    std::fs::write(
        &yaml,
        format!("# the api servers\n- targets:\n    - {name_a}\n  labels:\n    job: api\n"),
    )
    .unwrap();
    let run = inflight(&["ls", "--json", "--file-sd", yaml.to_str().unwrap()]);
    run.expect_code(0);
    assert_eq!(listed_endpoints(&run), names(&[&a]), "{run}");

    // Every source at once, each naming a: its requests once.
    let run = inflight(&[
        "ls",
        "--json",
        "--endpoints",
        &name_a,
        "--http-sd",
        &sd.url("/targets"),
        "--file-sd",
        json,
    ]);
    run.expect_code(0);
    assert_eq!(listed_endpoints(&run), names(&[&a, &b]), "{run}");
    assert_each_once(&run);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_sources_are_clear_errors() {
    let sd = SdServer::start().await;
    sd.set("/garbage", 200, "<html>not JSON</html>");
    sd.set("/shape", 200, r#"{"targets": ["127.0.0.1:9084"]}"#);
    sd.set("/bad-target", 200, r#"[{"targets": ["no host here/x"]}]"#);
    sd.set("/empty", 200, "[]");
    sd.set("/prom/api/v1/targets", 200, "<html>not JSON</html>");
    sd.set(
        "/prom-empty/api/v1/targets",
        200,
        r#"{"status": "success", "data": {"activeTargets": [], "droppedTargets": []}}"#,
    );
    sd.set(
        "/prom-error/api/v1/targets",
        400,
        r#"{"status": "error", "errorType": "bad_data", "error": "invalid state"}"#,
    );
    let dead = format!("http://127.0.0.1:{}", free_port());
    let dir = TempDir::new("file-sd");
    let yaml = dir.path.join("broken.yml");
    std::fs::write(&yaml, "- targets: [unclosed\n").unwrap();
    let missing = dir.path.join("missing.json");

    let cases: Vec<(Vec<String>, i32, String)> = vec![
        (
            vec!["--prometheus".into(), dead.clone()],
            1,
            format!("--prometheus {dead}: unreachable"),
        ),
        (
            vec!["--prometheus".into(), sd.url("")],
            1,
            "404 not found; is this a Prometheus server?".into(),
        ),
        (
            vec!["--prometheus".into(), sd.url("/prom")],
            1,
            "not an answer of Prometheus' targets API".into(),
        ),
        (
            vec!["--prometheus".into(), sd.url("/prom-empty")],
            1,
            "no active targets".into(),
        ),
        (
            vec!["--prometheus".into(), sd.url("/prom-error")],
            1,
            "400 invalid state".into(),
        ),
        (
            vec!["--http-sd".into(), dead.clone()],
            1,
            format!("--http-sd {dead}: unreachable"),
        ),
        (
            vec!["--http-sd".into(), sd.url("/garbage")],
            1,
            "not service-discovery JSON like".into(),
        ),
        (
            vec!["--http-sd".into(), sd.url("/shape")],
            1,
            "expected a sequence".into(),
        ),
        (
            vec!["--http-sd".into(), sd.url("/bad-target")],
            1,
            "group 1: \"no host here/x\" is not an endpoint".into(),
        ),
        (
            vec!["--http-sd".into(), sd.url("/empty")],
            1,
            "no targets".into(),
        ),
        (
            vec!["--http-sd".into(), sd.url("/nowhere")],
            1,
            "404 not found".into(),
        ),
        (
            vec!["--file-sd".into(), missing.display().to_string()],
            1,
            "cannot read it".into(),
        ),
        (
            vec!["--file-sd".into(), yaml.display().to_string()],
            1,
            "not service-discovery YAML".into(),
        ),
        (
            vec!["--prometheus".into(), "https://prometheus:9090".into()],
            2,
            "https is not supported".into(),
        ),
        (
            vec!["--http-sd".into(), "not a url".into()],
            2,
            "is not a URL like http://host:9090".into(),
        ),
        (
            vec![
                "--endpoints".into(),
                "127.0.0.1:9".into(),
                "--job".into(),
                "api".into(),
            ],
            2,
            "--job picks targets found by --prometheus, --http-sd or --file-sd".into(),
        ),
    ];
    for (args, code, message) in cases {
        let mut all = vec!["ls"];
        all.extend(args.iter().map(String::as_str));
        let run = inflight(&all);
        run.expect_code(code).expect_stderr(&message);
        assert!(run.stdout.is_empty(), "nothing listed: {run}");
        assert!(!run.stderr.contains("panicked"), "{run}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_that_die_or_hang_show_as_failing_and_the_others_still_show() {
    let [a, b] = demos::<2>().await;
    let (name_a, name_b) = (endpoint(&a), endpoint(&b));
    let hang = hanging_endpoint().await;
    let list = format!("{name_a},{name_b},{hang}");

    let run = inflight(&["ls", "--json", "--timeout", "2s", "--endpoints", &list]);
    run.expect_code(1)
        .expect_stderr(&format!("inflight: {hang}: no answer within 2.00s"))
        .expect_stderr("1 of 3 endpoints failed");
    assert_eq!(listed_endpoints(&run), names(&[&a, &b]), "{run}");

    // b dies between two runs.
    drop(b);
    let run = inflight(&["ls", "--json", "--timeout", "2s", "--endpoints", &list]);
    run.expect_code(1)
        .expect_stderr(&format!("inflight: {name_b}: unreachable"))
        .expect_stderr(&format!("inflight: {hang}: no answer within 2.00s"))
        .expect_stderr("2 of 3 endpoints failed");
    assert_eq!(listed_endpoints(&run), names(&[&a]), "{run}");

    // top keeps refreshing while the hanging poll runs on to its 60 s limit: the four
    // refreshes end long before it, each with the dead and the hanging endpoint failing.
    let run = inflight(&[
        "top",
        "--batch",
        "--iterations",
        "4",
        "--refresh",
        "500ms",
        "--timeout",
        "60s",
        "--endpoints",
        &list,
    ]);
    let out = run.ok();
    let refreshes: Vec<&str> = out.split("refresh ").skip(1).collect();
    assert_eq!(refreshes.len(), 4, "{run}");
    for refresh in &refreshes {
        assert!(refresh.contains(": 3 endpoints, "), "{run}");
        assert!(
            refresh.contains(&format!("\n  {hang} ✗ no answer ")),
            "{run}"
        );
        assert!(
            !refresh.contains(&format!("{name_a} ✗"))
                || refresh.contains(&format!("{name_a} ✗ no answer")),
            "a fails only by being slow: {run}"
        );
    }
    assert!(
        refreshes
            .iter()
            .any(|r| r.contains(&format!("{name_b} ✗ unreachable"))),
        "{run}"
    );
    assert!(
        refreshes
            .iter()
            .any(|r| r.contains(" 1 answered ") && !r.contains(&format!("{name_a} ✗"))),
        "a answered while the others failed: {run}"
    );
    assert!(
        refreshes[3].contains(&format!("{hang} ✗ no answer for ")),
        "the hanging poll is still out at the end: {run}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn top_finds_new_targets_while_it_runs() {
    let [a, b] = demos::<2>().await;
    let (name_a, name_b) = (endpoint(&a), endpoint(&b));
    let dir = TempDir::new("file-sd");
    let file = dir.path.join("fleet.json");
    std::fs::write(&file, sd_json(&[(&[&name_a], Some("api"))])).unwrap();

    let mut top = BatchTop::start(&[
        "--refresh",
        "250ms",
        "--rediscover",
        "500ms",
        "--file-sd",
        file.to_str().unwrap(),
    ]);
    top.wait_for("a alone, answering", |r| {
        r.contains(": 1 endpoints, 1 answered ")
    });
    std::fs::write(
        &file,
        sd_json(&[(&[&name_a], Some("api")), (&[&name_b], Some("api"))]),
    )
    .unwrap();
    top.wait_for("b found and answering", |r| {
        r.contains(": 2 endpoints, 2 answered ")
    });
    // A file that breaks keeps the endpoints found before, and says so.
    std::fs::write(&file, "[{").unwrap();
    let noticed = |top: &BatchTop| {
        top.stderr().iter().any(|line| {
            line.starts_with("inflight: cannot discover the endpoints again, keeping 2: --file-sd ")
        })
    };
    for _ in 0..40 {
        if noticed(&top) {
            break;
        }
        top.wait_for("a refresh", |_| true);
    }
    assert!(noticed(&top), "{:?}", top.stderr());
    let refresh = top.wait_for("a refresh after the notice", |_| true);
    assert!(refresh.contains(": 2 endpoints, "), "{refresh}");
    std::fs::write(&file, sd_json(&[(&[&name_b], Some("api"))])).unwrap();
    top.wait_for("a gone", |r| r.contains(": 1 endpoints, 1 answered "));
}
