//! A request an operator terminates never looks served. While its body is under way, the
//! body ends with an error: curl exits with an error and a hyper client's body fails, over
//! HTTP/1.1 and HTTP/2. Before the head, the client gets the layer's status, the
//! operator's message in `inflight-terminated` and an empty body, and the layers around
//! `InFlightLayer` see `Terminated` in the extensions.

mod support;

use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use inflight::{InFlightLayer, TERMINATED_HEADER, Table, Terminated};
use support::{
    DEADLINE, PlainClient, Ticker, boxed, client, get, h2_client, read_to_end, serve_both_versions,
    wait_for_table, wait_until_empty,
};
use tokio::sync::mpsc;
use tower::{Layer, ServiceBuilder, service_fn};

/// A server whose one route streams a tick every 20 ms, forever.
async fn ticking_server(table: &Table) -> SocketAddr {
    let ticks = service_fn(|_req: http::Request<Incoming>| async {
        Ok::<_, Infallible>(Response::new(Ticker::every(Duration::from_millis(20))))
    });
    serve_both_versions(InFlightLayer::with_table(table.clone()).layer(boxed(ticks))).await
}

/// The id of the one request in `table`, once its body has started.
async fn body_under_way(table: &Table) -> u64 {
    wait_for_table(table, "a response body under way", |snapshot| {
        let entry = snapshot.entries.first()?;
        (entry.bytes_out > 0).then_some(entry.id)
    })
    .await
}

/// What curl printed (head and body) and how it exited.
struct Curl {
    printed: String,
    output: Output,
}

impl Curl {
    fn describe(&self) -> String {
        format!(
            "curl {}\nstdout: {}\nstderr: {}",
            self.output.status,
            self.printed,
            String::from_utf8_lossy(&self.output.stderr)
        )
    }
}

/// Reads `from` until what has arrived contains `needle`, or to its end.
fn read_until_seen(from: &mut impl Read, needle: &str, seen: &mut Vec<u8>) {
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(seen).contains(needle) {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// Runs curl on a ticking server and terminates its request once curl has printed the
/// head and a first tick.
async fn curl_cut_mid_body(version: &str) -> Curl {
    let table = support::table();
    let addr = ticking_server(&table).await;
    let mut curl = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--no-buffer",
            "--include",
            version,
        ])
        // A hang would end with curl's own time-out code, which the tests do not expect.
        .args(["--max-time", "30"])
        .arg(format!("http://{addr}/ticks"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("curl runs");
    let mut stdout = curl.stdout.take().expect("curl's stdout");
    let (mut stdout, mut seen) = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        read_until_seen(&mut stdout, "tick 1\n", &mut seen);
        (stdout, seen)
    })
    .await
    .expect("the reading task");
    assert!(
        String::from_utf8_lossy(&seen).contains("tick 1\n"),
        "curl printed no tick: {}",
        String::from_utf8_lossy(&seen)
    );
    let id = body_under_way(&table).await;
    table
        .terminate(id, Some("maintenance".into()))
        .expect("the request is listed");
    let curl = tokio::task::spawn_blocking(move || {
        let _ = stdout.read_to_end(&mut seen);
        let output = curl.wait_with_output().expect("curl's output");
        Curl {
            printed: String::from_utf8_lossy(&seen).into_owned(),
            output,
        }
    })
    .await
    .expect("the waiting task");
    wait_until_empty(&table).await;
    assert_eq!(table.totals().terminated, 1, "{:?}", table.totals());
    curl
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_fails_on_a_body_cut_over_http1() {
    let curl = curl_cut_mid_body("--http1.1").await;
    assert!(
        curl.printed.starts_with("HTTP/1.1 200"),
        "{}",
        curl.describe()
    );
    // CURLE_PARTIAL_FILE: the connection closed before the last chunk.
    assert_eq!(curl.output.status.code(), Some(18), "{}", curl.describe());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_fails_on_a_body_cut_over_http2() {
    let curl = curl_cut_mid_body("--http2-prior-knowledge").await;
    assert!(
        curl.printed.starts_with("HTTP/2 200"),
        "{}",
        curl.describe()
    );
    // CURLE_HTTP2_STREAM: the stream was reset.
    assert_eq!(curl.output.status.code(), Some(92), "{}", curl.describe());
}

/// Reads a ticking response with `client`, terminates it mid-body, and returns the error
/// its body ends with.
async fn hyper_cut_mid_body(client: PlainClient, version: Version) -> hyper::Error {
    let table = support::table();
    let addr = ticking_server(&table).await;
    let response = client
        .request(get(format!("http://{addr}/ticks")))
        .await
        .expect("response head");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), version);
    let mut body = response.into_body();
    let first = body
        .frame()
        .await
        .expect("a first frame")
        .expect("a good first frame");
    assert!(first.is_data(), "{first:?}");

    let id = body_under_way(&table).await;
    table.terminate(id, None).expect("the request is listed");
    let error = tokio::time::timeout(DEADLINE, async {
        loop {
            match body.frame().await {
                // Ticks sent before the cut.
                Some(Ok(frame)) => assert!(frame.is_data(), "{frame:?}"),
                Some(Err(error)) => return error,
                None => panic!("the body ended as if it were complete"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the body did not fail within {DEADLINE:?}"));
    wait_until_empty(&table).await;
    assert_eq!(table.totals().terminated, 1, "{:?}", table.totals());
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hyper_client_sees_a_body_cut_over_http1_fail() {
    let error = hyper_cut_mid_body(client(), Version::HTTP_11).await;
    // The connection closed where the next chunk should have begun.
    let io = std::error::Error::source(&error)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .unwrap_or_else(|| panic!("not an I/O error: {error:?}"));
    assert_eq!(io.kind(), std::io::ErrorKind::UnexpectedEof, "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hyper_client_sees_a_body_cut_over_http2_fail() {
    let error = hyper_cut_mid_body(h2_client(), Version::HTTP_2).await;
    // A reset stream, which hyper reports as an HTTP/2 error.
    let h2 = std::error::Error::source(&error)
        .and_then(|source| source.downcast_ref::<h2::Error>())
        .unwrap_or_else(|| panic!("not an HTTP/2 error: {error:?}"));
    assert!(h2.is_reset(), "{h2:?}");
}

/// What one request terminated before its head came to.
struct BeforeHead {
    id: u64,
    status: StatusCode,
    version: Version,
    header: Option<String>,
    body: Bytes,
    /// What the layer outside `InFlightLayer` found in the extensions.
    terminated: Option<Terminated>,
}

/// Sends a request to a handler that never answers, behind `layer`, with `client`, and
/// terminates it with `message`.
async fn terminate_before_head(
    layer: InFlightLayer,
    client: PlainClient,
    message: Option<&str>,
) -> BeforeHead {
    let table = layer.table().clone();
    // A body type without `Default`: the layer makes up its empty body without one.
    let never = service_fn(|_req: http::Request<Incoming>| {
        std::future::pending::<Result<Response<Ticker>, Infallible>>()
    });
    let (seen, mut extensions) = mpsc::unbounded_channel();
    let service = ServiceBuilder::new()
        .map_response(move |response: Response<_>| {
            let _ = seen.send(response.extensions().get::<Terminated>().cloned());
            response
        })
        .layer(layer)
        .service(never);
    let addr = serve_both_versions(service).await;
    let call = tokio::spawn(client.request(get(format!("http://{addr}/never"))));
    let id = wait_for_table(&table, "the request to be listed", |snapshot| {
        snapshot.entries.first().map(|entry| entry.id)
    })
    .await;
    table
        .terminate(id, message.map(str::to_owned))
        .expect("the request is listed");
    let response = tokio::time::timeout(DEADLINE, call)
        .await
        .unwrap_or_else(|_| panic!("no response within {DEADLINE:?} of the termination"))
        .expect("the request task")
        .expect("a response");
    let status = response.status();
    let version = response.version();
    let header = response
        .headers()
        .get(TERMINATED_HEADER)
        .map(|value| value.to_str().expect("a printable header").to_owned());
    let body = read_to_end(response.into_body()).await;
    let terminated = extensions
        .recv()
        .await
        .expect("the outer layer saw a response");
    wait_until_empty(&table).await;
    assert_eq!(table.totals().terminated, 1, "{:?}", table.totals());
    BeforeHead {
        id,
        status,
        version,
        header,
        body,
        terminated,
    }
}

fn assert_made_up(answer: &BeforeHead, status: StatusCode, header: &str, message: Option<&str>) {
    assert_eq!(answer.status, status);
    assert_eq!(answer.header.as_deref(), Some(header));
    assert!(answer.body.is_empty(), "{:?}", answer.body);
    let terminated = answer
        .terminated
        .as_ref()
        .expect("Terminated in the extensions");
    assert_eq!(terminated.id, answer.id);
    assert_eq!(terminated.message.as_deref(), message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_the_head_the_client_gets_503_by_default() {
    for (client, version) in [(client(), Version::HTTP_11), (h2_client(), Version::HTTP_2)] {
        let layer = InFlightLayer::with_table(support::table());
        let answer = terminate_before_head(layer, client, None).await;
        assert_eq!(answer.version, version);
        assert_made_up(&answer, StatusCode::SERVICE_UNAVAILABLE, "operator", None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_the_head_the_client_gets_the_configured_status_and_message() {
    let message = "maintenance: back at 10:00";
    for (client, version) in [(client(), Version::HTTP_11), (h2_client(), Version::HTTP_2)] {
        let layer =
            InFlightLayer::with_table(support::table()).terminated_status(StatusCode::BAD_GATEWAY);
        let answer = terminate_before_head(layer, client, Some(message)).await;
        assert_eq!(answer.version, version);
        assert_made_up(&answer, StatusCode::BAD_GATEWAY, message, Some(message));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_unfit_for_a_header_is_made_fit() {
    let message = "disk full\r\nset-cookie: x=1 ☕";
    for client in [client(), h2_client()] {
        let layer = InFlightLayer::with_table(support::table());
        let answer = terminate_before_head(layer, client, Some(message)).await;
        assert_made_up(
            &answer,
            StatusCode::SERVICE_UNAVAILABLE,
            "disk full set-cookie: x=1 ?",
            Some(message),
        );
    }
}
