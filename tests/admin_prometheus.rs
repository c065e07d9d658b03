//! A real Prometheus scrapes the demo's `/metrics` on its admin port and reports the same
//! number of inbound requests in flight as `/requests?direction=inbound` lists.

mod support;

use std::collections::HashSet;

use http::StatusCode;
use serde_json::Value;
use support::admin::wait_for_listed;
use support::demo::Demo;
use support::prometheus::{Job, Prometheus};

/// Requests the test holds in flight.
const HELD: usize = 3;

/// The TCP sockets process `pid` listens on, as `(address, ipv6)`, from `/proc`.
fn listening_sockets(pid: u32) -> Vec<(String, bool)> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read the process's fds")
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?;
            Some(inode.to_owned())
        })
        .collect();
    let mut sockets = Vec::new();
    for (table, ipv6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address, state 0A (LISTEN), inode
            if fields.len() > 9 && fields[3] == "0A" && inodes.contains(fields[9]) {
                sockets.push((fields[1].to_owned(), ipv6));
            }
        }
    }
    sockets
}

fn prometheus_value(answer: &Value) -> Option<f64> {
    assert_eq!(answer["status"], "success", "{answer}");
    let result = answer["data"]["result"].as_array()?;
    assert!(result.len() <= 1, "one series expected: {answer}");
    result.first()?["value"][1].as_str()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sees_the_requests_in_flight() {
    // Installed first: an install can take longer than the upstream holds requests.
    support::tools::prometheus();
    let demo = Demo::start(&["--no-traffic", "--upstream-delay", "60s"]);
    let (api, admin) = (demo.api_client(), demo.admin_client());
    let _held: Vec<_> = (0..HELD)
        .map(|n| api.spawn_get(&format!("/fetch/{n}")))
        .collect();
    wait_for_listed(&admin, "direction=inbound", HELD).await;

    // The demo exports the gauge itself.
    let gauge = format!("http_server_active_requests {HELD}");
    support::eventually("the gauge on /metrics", || async {
        let metrics = admin.get("/metrics").await;
        assert_eq!(metrics.status, StatusCode::OK);
        metrics
            .text()
            .lines()
            .any(|line| line == gauge)
            .then_some(())
    })
    .await;

    let prometheus = Prometheus::start(&[Job {
        name: "inflight-demo",
        targets: vec![demo.admin.to_string()],
    }])
    .await;
    let server = prometheus.http.clone();
    // Prometheus listens on loopback only.
    let sockets = listening_sockets(prometheus.id());
    assert!(!sockets.is_empty(), "Prometheus listens somewhere");
    for (address, ipv6) in &sockets {
        assert!(
            !ipv6 && address.starts_with("0100007F:"),
            "Prometheus listens on {address} (ipv6: {ipv6}), not 127.0.0.1: {sockets:?}"
        );
    }

    let value = support::eventually("Prometheus to have scraped the gauge", || {
        let server = server.clone();
        async move {
            let answer = server
                .get("/api/v1/query?query=http_server_active_requests")
                .await
                .expect(200);
            prometheus_value(&answer).filter(|value| *value == HELD as f64)
        }
    })
    .await;
    let listed = admin.get("/requests?direction=inbound").await.expect(200)["requests"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(value, listed as f64, "Prometheus and /requests disagree");
    assert_eq!(listed, HELD);

    // The series is the demo's, as scraped.
    let series = server
        .get("/api/v1/query?query=http_server_active_requests")
        .await
        .expect(200);
    let metric = &series["data"]["result"][0]["metric"];
    assert_eq!(metric["job"], "inflight-demo");
    assert_eq!(metric["instance"], demo.admin.to_string());
}
