//! What clients get wrong: malformed paths, bad query values, unknown parameters, bad and
//! wrong-shaped JSON bodies, bodies over 64 KiB, huge headers and wrong methods all get a
//! 4xx, a JSON `{"error": ...}` (but hyper's own 431), and the server keeps answering.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use inflight::admin::AdminServer;
use support::DEADLINE;
use support::admin::{Http, start_admin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn admin() -> (inflight::admin::AdminHandle, Http) {
    start_admin(AdminServer::new(support::table())).await
}

/// Checks that `answer` is a 4xx JSON error with `status` whose message contains `says`.
fn assert_rejected(what: &str, answer: &support::admin::Answer, status: u16, says: &str) {
    assert_eq!(
        answer.status.as_u16(),
        status,
        "{what}: unexpected status; body: {}",
        answer.text()
    );
    let message = answer.expect_error(status);
    assert!(
        message.to_lowercase().contains(&says.to_lowercase()),
        "{what}: the error should mention {says:?}: {message}"
    );
}

async fn still_answers(admin: &Http) {
    let health = admin.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text());
    assert_eq!(health.json()["state"], "free");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_query_values_are_400() {
    let (_handle, admin) = admin().await;
    for (query, says) in [
        ("min_age=soon", "min_age"),
        ("min_age=", "min_age"),
        ("min_age=-1s", "min_age"),
        ("min_age=5", "needs a unit"),
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("limit=1000001", "limit"),
        ("limit=1.5", "limit"),
        ("sort=size", "sort"),
        ("sort=", "sort"),
        ("direction=up", "direction"),
        ("direction=", "direction"),
        ("colour=red", "unknown query parameter \"colour\""),
        ("limit=1&verbose", "unknown query parameter \"verbose\""),
        ("direction=in&direction=out", "given twice"),
        ("status=%ff", "UTF-8"),
    ] {
        let answer = admin.get(&format!("/requests?{query}")).await;
        assert_rejected(query, &answer, 400, says);
    }
    for (path, says) in [
        ("/recent?limit=1", "takes none"),
        ("/healthz?verbose=1", "takes none"),
        ("/dump?format=json", "takes none"),
        ("/openapi.json?v=2", "takes none"),
        ("/requests/1?history=false", "takes none"),
        ("/profile?reset=maybe", "reset"),
        ("/profile?reset=", "reset"),
        ("/profile?reset=true&reset=false", "given twice"),
        ("/profile?since=1h", "unknown query parameter"),
        ("/requests/1?grace=1s", "takes none"),
    ] {
        let answer = admin.get(path).await;
        assert_rejected(path, &answer, 400, says);
    }
    // A parameter of another endpoint is unknown here.
    let answer = admin.delete("/requests/1?grace=1s").await;
    assert_rejected("grace on DELETE", &answer, 400, "unknown query parameter");
    let answer = admin.post("/requests/1/cancel?grace=soon", "").await;
    assert_rejected("grace=soon", &answer, 400, "grace");
    // Longer than 1h is cut to 1h, not refused: this one gets as far as the lookup.
    let answer = admin.post("/requests/1/cancel?grace=2h", "").await;
    assert_rejected("grace=2h", &answer, 404, "no request #1");
    // A message over 1024 characters is refused wherever it is.
    let long = "x".repeat(1025);
    let answer = admin
        .send(
            Method::POST,
            &format!("/requests/1/cancel?message={long}"),
            &[("content-type", "application/json")],
            r#"{"message": "short"}"#,
        )
        .await;
    assert_rejected(
        "a long message in the query",
        &answer,
        400,
        "longer than 1024",
    );
    let answer = admin
        .send(
            Method::DELETE,
            "/requests/1?message=fine",
            &[("content-type", "application/json")],
            format!(r#"{{"message": "{long}"}}"#),
        )
        .await;
    assert_rejected(
        "a long message in the body",
        &answer,
        400,
        "longer than 1024",
    );
    // So is a bad grace, even when the body has a good one.
    let answer = admin
        .post("/requests/1/cancel?grace=soon", r#"{"grace": "1s"}"#)
        .await;
    assert_rejected("grace=soon with a body grace", &answer, 400, "grace");
    still_answers(&admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_paths_are_404_or_400() {
    let (_handle, admin) = admin().await;
    for path in [
        "/nope",
        "/requests/1/2",
        "/requests/1/cancel/now",
        "/requests/1/cancels",
        "/recent/inbound",
        "/healthz/ready",
        "/openapi.yaml",
        "/metrics",
        "/requests.json",
        "/%2e%2e/requests",
    ] {
        let answer = admin.get(path).await;
        assert_rejected(path, &answer, 404, "no such endpoint");
    }
    for path in ["/requests/%ff", "/requests/one", "/requests/1e3/cancel"] {
        let method = if path.ends_with("cancel") {
            Method::POST
        } else {
            Method::GET
        };
        let answer = admin.send(method, path, &[], Bytes::new()).await;
        assert_rejected(path, &answer, 400, "a request id is a number");
    }
    still_answers(&admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_wrong_shaped_bodies_are_400() {
    let (_handle, admin) = admin().await;
    let json = [("content-type", "application/json")];
    let long = format!(r#"{{"message": "{}"}}"#, "x".repeat(1025));
    let cases: Vec<(Method, &str, String, &str)> = vec![
        (
            Method::DELETE,
            "/requests/1",
            r#"{"message":"#.into(),
            "not the JSON expected",
        ),
        (
            Method::DELETE,
            "/requests/1",
            "not json".into(),
            "not the JSON expected",
        ),
        (
            Method::DELETE,
            "/requests/1",
            "[1, 2]".into(),
            "not the JSON expected",
        ),
        // An array of the fields in order is no object either, even when serde could
        // read one from it.
        (
            Method::DELETE,
            "/requests/1",
            "[]".into(),
            "must be an object",
        ),
        (
            Method::DELETE,
            "/requests/1",
            r#"["stop"]"#.into(),
            "must be an object",
        ),
        (
            Method::DELETE,
            "/requests/1",
            r#""stop""#.into(),
            "not the JSON expected",
        ),
        (
            Method::DELETE,
            "/requests/1",
            "null".into(),
            "not the JSON expected",
        ),
        (
            Method::DELETE,
            "/requests/1",
            r#"{"message": 5}"#.into(),
            "not the JSON expected",
        ),
        (
            Method::DELETE,
            "/requests/1",
            r#"{"mesage": "typo"}"#.into(),
            "unknown field",
        ),
        (
            Method::DELETE,
            "/requests/1",
            r#"{"message": null}"#.into(),
            "not the JSON expected",
        ),
        (
            Method::POST,
            "/requests/1/cancel",
            r#"{"grace": null}"#.into(),
            "not the JSON expected",
        ),
        (
            Method::DELETE,
            "/requests/1",
            r#"{"grace": "1s"}"#.into(),
            "only applies to a cancel",
        ),
        (
            Method::DELETE,
            "/requests/1",
            long.clone(),
            "longer than 1024",
        ),
        (
            Method::POST,
            "/requests/1/cancel",
            "{".into(),
            "not the JSON expected",
        ),
        (
            Method::POST,
            "/requests/1/cancel",
            r#"{"grace": 5}"#.into(),
            "not the JSON expected",
        ),
        (
            Method::POST,
            "/requests/1/cancel",
            r#"{"grace": "soon"}"#.into(),
            "grace",
        ),
        (
            Method::POST,
            "/requests/1/cancel",
            r#"{"grace": "-1s"}"#.into(),
            "grace",
        ),
        (
            Method::POST,
            "/requests/1/cancel",
            r#"{"force": true}"#.into(),
            "unknown field",
        ),
        (Method::POST, "/requests/1/cancel", long, "longer than 1024"),
        (
            Method::POST,
            "/requests/1/cancel",
            "\u{feff}{}".into(),
            "not the JSON expected",
        ),
    ];
    for (method, path, body, says) in cases {
        let what = format!("{method} {path} {body:.40}");
        let answer = admin.send(method, path, &json, body).await;
        assert_rejected(&what, &answer, 400, says);
    }
    // A well-formed body gets past parsing: the request is simply not there.
    let answer = admin
        .send(
            Method::DELETE,
            "/requests/1",
            &json,
            r#"{"message": "fine"}"#,
        )
        .await;
    assert_rejected("a good body", &answer, 404, "no request #1");
    still_answers(&admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_64_kib_are_413() {
    let (_handle, admin) = admin().await;
    let json = [("content-type", "application/json")];
    let big = format!(r#"{{"message": "{}"}}"#, "x".repeat(64 * 1024));
    for (method, path) in [
        (Method::DELETE, "/requests/1"),
        (Method::POST, "/requests/1/cancel"),
    ] {
        let answer = admin.send(method, path, &json, big.clone()).await;
        assert_rejected(path, &answer, 413, "larger than 65536 bytes");
    }
    // Exactly 64 KiB is read (and then found too long a message).
    let mut exact = format!(r#"{{"message": "{}"}}"#, "x".repeat(64 * 1024));
    exact.truncate(64 * 1024 - 2);
    exact.push_str("\"}");
    assert_eq!(exact.len(), 64 * 1024);
    let answer = admin
        .send(Method::DELETE, "/requests/1", &json, exact)
        .await;
    assert_rejected("64 KiB", &answer, 400, "longer than 1024");
    still_answers(&admin).await;
}

/// Sends `request` on a fresh connection and reads until the server closes it or has
/// answered with a complete head and `content-length` body.
async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may answer before it read everything; a failed write is fine then.
    let _ = stream.write_all(request).await;
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
            let text = String::from_utf8_lossy(&seen);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
        }
    };
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("an answer in time");
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_headers_are_431_from_hyper() {
    let (handle, admin) = admin().await;
    let addr = handle.local_addr();
    let huge = format!(
        "GET /requests HTTP/1.1\r\nhost: x\r\nx-filler: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    let answer = raw_exchange(addr, huge.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 431 "),
        "a 20 KiB header: {answer:.200}"
    );
    let mut many = String::from("GET /requests HTTP/1.1\r\nhost: x\r\n");
    for i in 0..100 {
        many.push_str(&format!("x-header-{i}: {i}\r\n"));
    }
    many.push_str("\r\n");
    let answer = raw_exchange(addr, many.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 431 "),
        "100 headers: {answer:.200}"
    );
    // Raw requests the router sees: JSON errors.
    let answer = raw_exchange(
        addr,
        b"GET /requests?%zz=1 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("{\"error\":"), "{answer}");
    still_answers(&admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_are_405_with_allow() {
    let (_handle, admin) = admin().await;
    for (method, path, allow) in [
        (Method::PUT, "/requests", "GET, HEAD"),
        (Method::POST, "/requests", "GET, HEAD"),
        (Method::DELETE, "/requests", "GET, HEAD"),
        (Method::POST, "/requests/1", "GET, HEAD, DELETE"),
        (Method::PATCH, "/requests/1", "GET, HEAD, DELETE"),
        (Method::GET, "/requests/1/cancel", "POST"),
        (Method::DELETE, "/requests/1/cancel", "POST"),
        (Method::DELETE, "/recent", "GET, HEAD"),
        (Method::POST, "/profile", "GET, HEAD"),
        (Method::PUT, "/healthz", "GET, HEAD"),
        (Method::PATCH, "/dump", "GET, HEAD"),
        (Method::POST, "/openapi.json", "GET, HEAD"),
        (Method::TRACE, "/requests", "GET, HEAD"),
    ] {
        let what = format!("{method} {path}");
        let answer = admin.send(method, path, &[], Bytes::new()).await;
        assert_rejected(&what, &answer, 405, "method not allowed");
        assert_eq!(answer.header("allow"), Some(allow), "{what}");
    }
    still_answers(&admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_answering_on_the_same_connection() {
    // One keep-alive connection through a series of bad requests.
    let (handle, _admin) = admin().await;
    let mut stream = TcpStream::connect(handle.local_addr())
        .await
        .expect("connect");
    let requests = [
        "GET /requests?limit=0 HTTP/1.1\r\nhost: x\r\n\r\n",
        "PUT /requests HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n",
        "DELETE /requests/1 HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\n\r\n{",
        "GET /nope HTTP/1.1\r\nhost: x\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n",
    ];
    let expected = ["400", "405", "400", "404", "200"];
    for (request, status) in requests.iter().zip(expected) {
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        let head_and_body = async {
            loop {
                let n = stream.read(&mut buf).await.expect("read");
                assert!(n > 0, "the server closed the connection after {request:?}");
                seen.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&seen).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length: usize = head
                        .lines()
                        .find_map(|line| line.strip_prefix("content-length: "))
                        .and_then(|value| value.parse().ok())
                        .expect("content-length");
                    if body.len() >= length {
                        return text;
                    }
                }
            }
        };
        let text = tokio::time::timeout(Duration::from_secs(10), head_and_body)
            .await
            .expect("an answer");
        assert!(
            text.starts_with(&format!("HTTP/1.1 {status} ")),
            "{request:?}: {text}"
        );
        assert!(text.contains("content-type: application/json"), "{text}");
    }
}
