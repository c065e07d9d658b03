//! What `inflight web` refuses: targets it was not given (a listener nobody may ask
//! counts its connections), other hosts and origins, bad flags; and `inflight link`.

use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http::Method;

use super::{Sentry, Web, error_of, raw};
use crate::support::admin::Http;
use crate::support::cli::{HELD, endpoint, inflight, start_demo};
use crate::support::eventually;

#[tokio::test(flavor = "multi_thread")]
async fn it_asks_no_one_but_its_endpoints() {
    let a = start_demo(HELD);
    let sentry = Sentry::start();
    let web = Web::start(&["--endpoints", &endpoint(&a), "--timeout", "2s"]);
    let own = web.addr.to_string();
    let (a, s) = (endpoint(&a), sentry.addr.to_string());
    let host = |target: &str| format!("GET {target} HTTP/1.1\r\nHost: {own}");

    // (request head, status, what the error says)
    let refusals = [
        (
            host(&format!("/e/{s}/requests")),
            404,
            "not one of the 1 endpoints",
        ),
        (host(&format!("/e/{s}/")), 404, "not one of"),
        (host(&format!("/e/{a}@{s}/requests")), 404, "not one of"),
        (
            host(&format!("/e/{a}/../../e/{s}/requests")),
            400,
            "segments",
        ),
        (
            host(&format!("/e/{a}/%2e%2e/%2e%2e/e/{s}/requests")),
            400,
            "encoded",
        ),
        (
            host(&format!("/e/{a}%2f..%2f..%2fe%2f{s}/requests")),
            400,
            "encoded",
        ),
        (host(&format!("/e/{a}//{s}/requests")), 400, "segments"),
        (host(&format!("/e/{a}/x\\..\\..\\{s}")), 400, "escaped"),
        (host(&format!("http://{s}/requests")), 400, "not other URLs"),
        (
            host(&format!("http://{own}/e/{a}/requests")),
            400,
            "not other URLs",
        ),
        (
            format!("CONNECT {s} HTTP/1.1\r\nHost: {s}"),
            400,
            "not other URLs",
        ),
        // DNS rebinding: a page of another name resolving to this address.
        (
            format!("GET /e/{a}/requests HTTP/1.1\r\nHost: {s}"),
            421,
            "answers to Host",
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: attacker.example:{}",
                web.addr.port()
            ),
            421,
            "answers to Host",
        ),
        (
            format!("GET /e/{a}/requests HTTP/1.1"),
            421,
            "answers to Host",
        ),
        // Another site's page posting here without asking first.
        (
            format!(
                "POST /e/{a}/requests/1/cancel HTTP/1.1\r\nHost: {own}\r\nOrigin: http://attacker.example\r\nContent-Length: 0"
            ),
            403,
            "other origins",
        ),
        (host("/nothing-here"), 404, "no such page file"),
    ];
    for (head, status, says) in &refusals {
        let (got, body) = raw(web.addr, head);
        assert_eq!(got, *status, "{head:?}: {body}");
        let message = error_of(&body);
        assert!(message.contains(says), "{head:?}: {message}");
    }
    // A method the admin API has no use for is not passed on either.
    let (got, body) = raw(
        web.addr,
        &format!("PUT /e/{a}/requests HTTP/1.1\r\nHost: {own}\r\nContent-Length: 0"),
    );
    assert_eq!(got, 405, "{body}");
    // A body beyond the bound is refused before anything is asked.
    let big = Http::new(web.addr)
        .send(
            Method::POST,
            &format!("/e/{a}/requests/1/cancel"),
            &[],
            vec![b'x'; 128 * 1024],
        )
        .await;
    assert_eq!(big.status, 413, "{}", big.text());

    // The sentry counts: one connection of the test's own is its first.
    TcpStream::connect(sentry.addr).expect("connect to the sentry");
    let accepted = eventually("the sentry to accept the test's connection", || async {
        let n = sentry.accepted.load(Ordering::SeqCst);
        (n > 0).then_some(n)
    })
    .await;
    assert_eq!(
        accepted, 1,
        "inflight web connected to a target it was not given"
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    let deadline = Instant::now() + Duration::from_secs(30);
    for (args, says) in [
        (&["web"][..], "no endpoints"),
        (
            &["web", "--endpoints", "a:1", "--listen", "0.0.0.0:0"][..],
            "--public",
        ),
        (
            &["web", "--endpoints", "a:1", "--listen", "not-an-address"][..],
            "invalid",
        ),
        (
            &["web", "--endpoints", "http://a:1/admin"][..],
            "not an endpoint",
        ),
        (
            &["web", "--endpoints", "a:1", "--rediscover", "soon"][..],
            "soon",
        ),
        (&["link", "--server", "ftp://x"][..], "not a URL"),
        (
            &["link", "--server", "http://h:7000/page"][..],
            "at the root",
        ),
        (
            &["link", "--server", "http://h:7000", "--trace", "xyz"][..],
            "32 hex digits",
        ),
        (
            &["link", "--server", "http://h:7000", "--tab", "nope"][..],
            "nope",
        ),
    ] {
        let run = inflight(args);
        run.expect_code(2).expect_stderr(says);
        assert!(Instant::now() < deadline, "the runs took too long");
    }
    // Listening elsewhere than loopback when asked: a warning says who may reach it.
    // It is written before the address on stdout, and read from stderr by a thread.
    let web = Web::start(&["--endpoints", "a:1", "--listen", "0.0.0.0:0", "--public"]);
    loop {
        let warned = web.process.stderr().join("\n");
        if warned.contains("warning: serving on 0.0.0.0:") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no warning on stderr: {warned:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn links_open_a_view_through_the_server() {
    let run = inflight(&[
        "link",
        "--server",
        "http://127.0.0.1:7000/",
        "--endpoints",
        "a:9084,b:9085",
        "--tab",
        "profile",
        "--filter",
        "GET /a b",
    ]);
    assert_eq!(
        run.ok(),
        "http://127.0.0.1:7000/?endpoints=127.0.0.1:7000/e/a:9084/,127.0.0.1:7000/e/b:9085/\
         &tab=profile&filter=GET%20/a%20b\n"
    );
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let run = inflight(&["link", "--server", "127.0.0.1:7000", "--trace", trace]);
    assert_eq!(run.ok(), format!("http://127.0.0.1:7000/?trace={trace}\n"));
}
