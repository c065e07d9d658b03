//! `inflight web` against real demo processes: the page's calls passed on to the
//! configured endpoints with the right token, and never to anything else (a listener
//! that must never be asked counts its connections); `/` leading to the page over every
//! endpoint; bad flags (`cli_web/refusals.rs`); the page itself in Chromium
//! (`cli_web/browser.rs`).

#[path = "cli_web/browser.rs"]
mod browser;
#[path = "cli_web/refusals.rs"]
mod refusals;
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use support::admin::{Answer, Http};
use support::cli::{HELD, HOLD_DEADLINE, endpoint, endpoints, inflight_binary, start_demo};
use support::demo::{ChildGuard, Demo};
use support::{eventually, temp_dir};
use tokio::task::JoinHandle;

const READ_TOKEN: &str = "r34d-cli-web";
const KILL_TOKEN: &str = "k1ll-cli-web";

/// `inflight web` (on a free loopback port unless `args` say where), killed when dropped.
struct Web {
    process: ChildGuard,
    addr: SocketAddr,
}

impl Web {
    fn start(args: &[&str]) -> Web {
        let mut command = Command::new(inflight_binary());
        command
            .arg("web")
            .args(args)
            .env_remove("INFLIGHT_ENDPOINTS")
            .env_remove("INFLIGHT_TOKEN")
            .env_remove("INFLIGHT_KILL_TOKEN")
            .stdout(Stdio::piped());
        if !args.contains(&"--listen") {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        let mut process = ChildGuard::spawn(command);
        let stdout = process.child_mut().stdout.take().expect("piped stdout");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("read inflight web's first line");
        let addr = first
            .split_whitespace()
            .find_map(|word| word.strip_prefix("http://"))
            .and_then(|url| url.trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "inflight web said no address: {first:?}; stderr:\n{}",
                    process.stderr().join("\n")
                )
            });
        Web { process, addr }
    }

    fn http(&self) -> Http {
        Http::new(self.addr)
    }
}

/// A listener nothing may ask: counts the connections it accepts.
struct Sentry {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl Sentry {
    fn start() -> Sentry {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the sentry");
        let addr = listener.local_addr().expect("sentry address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                count.fetch_add(1, Ordering::SeqCst);
                // Held open, unanswered, until the test ends.
                std::mem::forget(stream);
            }
        });
        Sentry { addr, accepted }
    }
}

/// Sends `head` (a request line and headers) as it is and returns the status and body.
fn raw(addr: SocketAddr, head: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    stream
        .write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes())
        .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

/// Starts `GET /fetch/{n}` on `demo` (held by its upstream) and waits until `web` lists it
/// at the demo; its id and its answer, once it ends.
async fn hold(demo: &Demo, web: &Http, n: u64) -> (u64, JoinHandle<Answer>) {
    let api = demo.api_client();
    let path = format!("/fetch/{n}");
    let sent = path.clone();
    let answer = tokio::spawn(async move {
        api.send_within(HOLD_DEADLINE, Method::GET, &sent, &[], Bytes::new())
            .await
    });
    let listing = format!("/e/{}/requests?direction=inbound", endpoint(demo));
    let id = eventually(&format!("{path} to be listed"), || async {
        let listed = web.get(&listing).await.expect(200);
        listed["requests"]
            .as_array()?
            .iter()
            .find(|r| r["uri"] == path.as_str())?["id"]
            .as_u64()
    })
    .await;
    (id, answer)
}

/// The `{"error"}` message of a JSON error body.
fn error_of(body: &str) -> String {
    let value: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
    value["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {body}"))
        .to_owned()
}

/// Demo A without tokens, demo B with a read and a kill token, and `inflight web` over
/// both, holding B's tokens.
fn two_demos_behind_web() -> (Demo, Demo, Web) {
    let a = start_demo(HELD);
    let b = start_demo(
        &[
            HELD,
            &["--read-token", READ_TOKEN, "--kill-token", KILL_TOKEN],
        ]
        .concat(),
    );
    let web = Web::start(&[
        "--endpoints",
        &endpoints(&[&a, &b]),
        "--token",
        READ_TOKEN,
        "--kill-token",
        KILL_TOKEN,
    ]);
    (a, b, web)
}

/// Checks that the server's `/` leads to the page over `demos`, each through the server.
async fn assert_root_leads_to(web: &Web, demos: &[&Demo]) {
    let root = web.http().get("/").await;
    assert_eq!(root.status, 302, "{}", root.text());
    let own = web.addr;
    let through: Vec<String> = demos
        .iter()
        .map(|demo| format!("{own}/e/{}/", endpoint(demo)))
        .collect();
    assert_eq!(
        root.header("location"),
        Some(format!("/?endpoints={}", through.join(",")).as_str()),
        "{}",
        root.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_reaches_two_demos_with_their_tokens() {
    let (a, b, web) = two_demos_behind_web();
    let http = web.http();

    // `/` leads to the page over both endpoints, through this server.
    assert_root_leads_to(&web, &[&a, &b]).await;
    let own = web.addr;
    let page = http
        .get(&format!("/?endpoints={own}/e/{}/", endpoint(&a)))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("<script type=\"module\""),
        "{}",
        page.text()
    );
    let policy = page.header("content-security-policy").expect("a policy");
    assert!(policy.contains("connect-src 'self'"), "{policy}");

    // Both list their requests; B's read token is the one configured.
    for demo in [&a, &b] {
        let listed = http.get(&format!("/e/{}/requests", endpoint(demo))).await;
        let listed = listed.expect(200);
        assert!(listed["requests"].is_array(), "{listed}");
        assert_eq!(listed["pid"].as_u64(), Some(u64::from(demo.process.id())));
    }
    // The query is passed on: only inbound requests.
    let inbound = http
        .get(&format!("/e/{}/requests?direction=inbound", endpoint(&b)))
        .await
        .expect(200);
    let requests = inbound["requests"].as_array().expect("requests");
    assert!(
        requests.iter().all(|r| r["direction"] == "inbound"),
        "{inbound}"
    );

    // The browser's own token wins over the configured one.
    let wrong = http
        .send(
            Method::GET,
            &format!("/e/{}/requests", endpoint(&b)),
            &[("authorization", "Bearer not-the-token")],
            Bytes::new(),
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text());

    // A kill goes with the kill token and ends the request.
    let (id, answer) = hold(&b, &http, 4242).await;
    let killed = http
        .delete(&format!(
            "/e/{}/requests/{id}?message=from%20the%20page",
            endpoint(&b)
        ))
        .await;
    killed.expect(202);
    let answer = answer.await.expect("the held request's answer");
    assert!(
        answer.status.is_server_error(),
        "{} {}",
        answer.status,
        answer.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_configured_tokens_the_browsers_token_is_passed_on() {
    let b = start_demo(
        &[
            HELD,
            &["--read-token", READ_TOKEN, "--kill-token", KILL_TOKEN],
        ]
        .concat(),
    );
    let web = Web::start(&["--endpoints", &endpoint(&b), "--token", READ_TOKEN]);
    let http = web.http();
    let path = format!("/e/{}/requests", endpoint(&b));
    let bare = Web::start(&["--endpoints", &endpoint(&b)]);
    bare.http().get(&path).await.expect_error(401);
    let bearer = format!("Bearer {READ_TOKEN}");
    let with = bare
        .http()
        .send(
            Method::GET,
            &path,
            &[("authorization", &bearer)],
            Bytes::new(),
        )
        .await;
    assert_eq!(with.status, 200, "{}", with.text());

    // A read token is not sent with kills: no --kill-token, no kill.
    let (id, _answer) = hold(&b, &http, 77).await;
    http.delete(&format!("{path}/{id}")).await.expect_error(401);
    let still = http.get(&format!("{path}/{id}")).await;
    assert_eq!(still.status, 200, "{}", still.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_found_by_file_discovery_are_reached_and_found_again() {
    let a = start_demo(HELD);
    let b = start_demo(HELD);
    let dir = temp_dir("cli-web-sd");
    let file = dir.path().join("targets.json");
    let targets = |list: &[&Demo]| {
        let targets: Vec<String> = list.iter().map(|demo| endpoint(demo)).collect();
        serde_json::json!([{ "targets": targets, "labels": { "job": "api" } }]).to_string()
    };
    std::fs::write(&file, targets(&[&a])).expect("write the targets");
    let web = Web::start(&[
        "--file-sd",
        file.to_str().expect("a UTF-8 path"),
        "--job",
        "api",
        "--rediscover",
        "100ms",
    ]);
    let http = web.http();
    let (a_path, b_path) = (
        format!("/e/{}/requests", endpoint(&a)),
        format!("/e/{}/requests", endpoint(&b)),
    );
    http.get(&a_path).await.expect(200);
    http.get(&b_path).await.expect_error(404);

    // B joins the file: it is asked, and `/` leads to the page over both.
    std::fs::write(&file, targets(&[&a, &b])).expect("rewrite the targets");
    eventually("B to be found", || async {
        (http.get(&b_path).await.status == 200).then_some(())
    })
    .await;
    assert_root_leads_to(&web, &[&a, &b]).await;
}
