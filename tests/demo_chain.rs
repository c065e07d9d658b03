//! `demo --chain`: three real processes, each calling the next with real `traceparent`
//! headers. One request's five entries (in and out at `edge`, in and out at `api`, in at
//! `store`) form one trace; terminating the root ends the whole chain.

mod support;

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::admin::Http;
use support::build::demo_binary;
use support::demo::ChildGuard;
use support::{DEADLINE, eventually};

/// A loopback port with the two after it free a moment ago, below Linux's ephemeral range
/// (32768 and up), where the client side of every connection the tests make would take
/// one at random.
fn three_free_ports() -> u16 {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id();
    for attempt in 0..2000u32 {
        let port = 10_000 + ((seed.wrapping_add(attempt.wrapping_mul(7919))) % 22_000) as u16;
        let taken: Vec<_> = (0..=2)
            .map_while(|offset| TcpListener::bind(("127.0.0.1", port + offset)).ok())
            .collect();
        if taken.len() == 3 {
            return port;
        }
    }
    panic!("no three free ports in a row on 127.0.0.1");
}

struct Chain {
    process: ChildGuard,
    /// edge, api, store.
    api: [SocketAddr; 3],
    admin: [Http; 3],
    /// The pids the demo printed: edge, api, store.
    pids: Vec<u32>,
}

/// Starts `demo --chain` on free ports, again on others if one was taken meanwhile.
fn start_chain(extra: &[&str]) -> Chain {
    for _ in 0..3 {
        if let Some(chain) = try_start_chain(extra) {
            return chain;
        }
    }
    panic!("demo --chain found its ports taken three times");
}

/// `None` when a port was taken between the check and the start.
fn try_start_chain(extra: &[&str]) -> Option<Chain> {
    let (listen, admin) = (three_free_ports(), three_free_ports());
    let mut command = Command::new(demo_binary());
    command
        .args(["--chain", "--no-traffic", "--upstream-delay", "60s"])
        .args(["--listen", &format!("127.0.0.1:{listen}")])
        .args(["--admin", &format!("127.0.0.1:{admin}")])
        .args(extra)
        .stdout(Stdio::piped());
    let mut process = ChildGuard::spawn(command);
    let rx = process.stdout_lines();
    let mut pids = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            if matches!(process.child_mut().try_wait(), Ok(Some(_))) {
                // It exited: let its last words reach the stderr reader.
                std::thread::sleep(Duration::from_millis(200));
            }
            let stderr = process.stderr().join("\n");
            if stderr.contains("Address already in use") {
                return None;
            }
            panic!("demo --chain did not start; stderr:\n{stderr}");
        };
        if let Some(pid) = line.split_whitespace().skip_while(|w| *w != "pid").nth(1) {
            pids.push(pid.parse().expect("a pid"));
        }
        if line.starts_with("watch them:") {
            break;
        }
    }
    let at = |base: u16, i: u16| SocketAddr::from(([127, 0, 0, 1], base + i));
    Some(Chain {
        process,
        api: [at(listen, 0), at(listen, 1), at(listen, 2)],
        admin: [0, 1, 2].map(|i| Http::new(at(admin, i))),
        pids,
    })
}

async fn requests(admin: &Http) -> (String, Vec<Value>) {
    let list = admin.get("/requests").await.expect(200);
    let service = list["service"].as_str().expect("service").to_owned();
    (
        service,
        list["requests"].as_array().expect("requests").clone(),
    )
}

fn one<'a>(requests: &'a [Value], direction: &str) -> &'a Value {
    let found: Vec<_> = requests
        .iter()
        .filter(|r| r["direction"] == direction)
        .collect();
    assert_eq!(found.len(), 1, "one {direction} request in {requests:?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_across_three_processes_and_killing_the_root_ends_the_chain() {
    let chain = start_chain(&[]);
    assert_eq!(chain.pids.len(), 3, "edge, api and store print their pids");
    // A real client, sending a trace id of its own: the edge does not trust it.
    let mut curl = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "30",
        ])
        .args([
            "-H",
            "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ])
        .arg(format!("http://{}/fetch/7", chain.api[0]))
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl runs");

    let lists = eventually("the request at all three services", || async {
        let mut lists = Vec::new();
        for (admin, expected) in chain.admin.iter().zip([2, 2, 1]) {
            let (service, list) = requests(admin).await;
            if list.len() != expected {
                return None;
            }
            lists.push((service, list));
        }
        Some(lists)
    })
    .await;
    let services: Vec<&str> = lists.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(services, ["edge", "api", "store"]);
    let (edge, api, store) = (&lists[0].1, &lists[1].1, &lists[2].1);
    let edge_in = one(edge, "inbound");
    let edge_out = one(edge, "outbound");
    let api_in = one(api, "inbound");
    let api_out = one(api, "outbound");
    let store_in = one(store, "inbound");

    let trace = edge_in["trace_id"].as_str().expect("trace id");
    assert_ne!(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
    for entry in [edge_out, api_in, api_out, store_in] {
        assert_eq!(entry["trace_id"], trace, "{entry}");
    }
    assert_eq!(edge_in["parent_span_id"], Value::Null);
    // Each hop's parent is the span before it, across process boundaries.
    let chain_of_spans = [edge_in, edge_out, api_in, api_out, store_in];
    for pair in chain_of_spans.windows(2) {
        assert_eq!(pair[1]["parent_span_id"], pair[0]["span_id"], "{pair:?}");
    }
    assert!(
        store_in["status"]
            .as_str()
            .unwrap()
            .starts_with("reading blob"),
        "{store_in}"
    );

    // Terminating the root at the edge ends the chain: each service sees its caller go.
    let root = edge_in["id"].as_u64().unwrap();
    let asked = Instant::now();
    chain.admin[0]
        .delete(&format!("/requests/{root}"))
        .await
        .expect(202);
    loop {
        let mut left = 0;
        for admin in &chain.admin {
            left += requests(admin).await.1.len();
        }
        if left == 0 {
            break;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "{left} requests still in flight 1s after terminating the root"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let output = tokio::task::spawn_blocking(move || {
        let mut code = String::new();
        use std::io::Read;
        curl.stdout
            .take()
            .unwrap()
            .read_to_string(&mut code)
            .unwrap();
        curl.wait().unwrap();
        code
    })
    .await
    .unwrap();
    assert_eq!(output, "503", "the client got the terminated request's 503");
    drop(chain.process);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_end_with_the_edge() {
    let mut chain = start_chain(&[]);
    chain
        .process
        .child_mut()
        .kill()
        .expect("kill the edge with SIGKILL");
    let _ = chain.process.child_mut().wait();
    for pid in &chain.pids[1..] {
        eventually("api and store to exit", || async {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Gone, or a zombie waiting for its (dead) parent's reaper.
            let state = stat.rsplit(") ").next().and_then(|s| s.chars().next());
            matches!(state, None | Some('Z') | Some('X')).then_some(())
        })
        .await;
    }
}

/// Runs `command` to its end, failing the test if it has not ended within [`DEADLINE`]
/// (a demo that started although it should not have would run forever).
fn run_within(command: &mut Command) -> std::process::Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the demo runs");
    let started = Instant::now();
    while child.try_wait().expect("the demo's status").is_none() {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let output = child.wait_with_output().expect("the demo's output");
            panic!(
                "the demo still ran after {DEADLINE:?}; stdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("the demo's output")
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let (listen, admin) = (three_free_ports(), three_free_ports());
    // Something else holds the port `api` wants.
    let _taken = TcpListener::bind(("127.0.0.1", listen + 1)).expect("bind");
    let output = run_within(
        Command::new(demo_binary())
            .args(["--chain", "--no-traffic"])
            .args(["--listen", &format!("127.0.0.1:{listen}")])
            .args(["--admin", &format!("127.0.0.1:{admin}")]),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("api: cannot listen on 127.0.0.1:{}", listen + 1)),
        "{stderr}"
    );

    let output =
        run_within(Command::new(demo_binary()).args(["--chain", "--listen", "127.0.0.1:0"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("--chain needs a fixed port"), "{stderr}");
}
