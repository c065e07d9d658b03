//! Fleets found without a hand-kept list: a real Prometheus scraping demo admin ports
//! (`--prometheus`, `--job`, a down target), HTTP and file service discovery
//! (`--http-sd`, `--file-sd` in JSON and YAML), duplicates across sources, and `top`
//! finding new targets while it runs. Bad sources and endpoints that die or hang are in
//! `cli_fleet_failures.rs`.

mod support;

use support::cli::{endpoint, inflight};
use support::fleet::{
    BatchTop, SdServer, assert_each_once, demos, listed_endpoints, names, requests, sd_json,
};
use support::prometheus::{Job, Prometheus};
use support::{free_port, temp_dir};

#[tokio::test(flavor = "multi_thread")]
async fn ls_finds_the_admin_ports_prometheus_scrapes() {
    // Installed first: an install can take longer than the demos hold requests.
    support::tools::prometheus();
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

    let dir = temp_dir("file-sd");
    let json = dir.path().join("fleet.json");
    std::fs::write(&json, &both).unwrap();
    let json = json.to_str().unwrap();
    let run = inflight(&["ls", "--json", "--file-sd", json, "--job", "db"]);
    run.expect_code(0);
    assert_eq!(listed_endpoints(&run), names(&[&b]), "{run}");

    let yaml = dir.path().join("fleet.yml");
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
async fn top_finds_new_targets_while_it_runs() {
    let [a, b] = demos::<2>().await;
    let (name_a, name_b) = (endpoint(&a), endpoint(&b));
    let dir = temp_dir("file-sd");
    let file = dir.path().join("fleet.json");
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
