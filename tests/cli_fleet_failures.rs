//! What goes wrong with a fleet: bad discovery sources (exit 1 saying what went wrong,
//! exit 2 for usage), and endpoints that die or accept and never answer while `ls` and
//! `top --batch` poll: they show as failing, the others still show, and nothing waits
//! for them past its time limit.

mod support;

use support::cli::{endpoint, inflight};
use support::fleet::{SdServer, demos, hanging_endpoint, listed_endpoints, names};
use support::{free_port, temp_dir};

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
    let dir = temp_dir("file-sd");
    let yaml = dir.path().join("broken.yml");
    std::fs::write(&yaml, "- targets: [unclosed\n").unwrap();
    let missing = dir.path().join("missing.json");

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
