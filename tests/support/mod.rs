//! Helpers shared by the integration tests, in one tree: each test file says `mod
//! support;` and takes what it needs.
//!
//! Here: real servers on loopback ports, real clients, response bodies the tests drive
//! chunk by chunk, and waiting with a deadline. Below:
//! - [`admin`]: the admin port from a test;
//! - [`browser`]: the page in a real Chromium;
//! - [`build`]: the workspace's programs tests run as child processes;
//! - [`chain`]: three tracked services calling each other, each with an admin port;
//! - [`cli`]: runs of the `inflight` command, and tmux as a terminal;
//! - [`cpu`]: CPU work for the CPU-profile tests, and a profile known to run;
//! - [`demo`]: child processes, the demo among them;
//! - [`fleet`]: service discovery and `inflight top --batch` for the fleet tests;
//! - [`process`]: the test process itself (memory, signals, stderr);
//! - [`prometheus`]: a real Prometheus server;
//! - [`soak`]: the soak test's parts;
//! - [`tools`]: the outside programs tests drive.

// Each test file uses its own part of the tree.
#![allow(dead_code, unused_imports)]

pub mod admin;
pub mod browser;
pub mod build;
pub mod chain;
pub mod cli;
pub mod cpu;
pub mod demo;
pub mod fleet;
mod gate;
#[cfg(unix)]
pub mod process;
pub mod prometheus;
mod serve;
pub mod soak;
pub mod tools;

pub use gate::Gate;
pub use serve::{
    Seen, boxed, gated_upstream, recording_upstream, serve_axum, serve_both_versions, serve_hyper,
    serve_tracked, serve_tracked_router,
};

use std::collections::VecDeque;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{Method, Request};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use inflight::{InFlightClient, InFlightClientLayer, Snapshot, Table};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tower::Layer;

pub type BoxError = Box<dyn StdError + Send + Sync>;

/// How long a test waits for something that should happen soon.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A private table whose requests never turn `client not reading` / `caller not reading`
/// while a test looks at them, however slow the machine.
pub fn table() -> Table {
    Table::builder()
        .not_reading_after(Duration::from_secs(3600))
        .build()
}

/// Polls `probe` every 10 ms until it returns `Some`, for at most [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {DEADLINE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// [`eventually`] with a probe that does not wait.
pub async fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    eventually(what, || std::future::ready(probe())).await
}

/// Like [`wait_for`] on snapshots of `table`; the failure message shows the last one.
pub async fn wait_for_table<T>(
    table: &Table,
    what: &str,
    mut probe: impl FnMut(&Snapshot) -> Option<T>,
) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let snapshot = table.snapshot();
        if let Some(value) = probe(&snapshot) {
            return value;
        }
        if Instant::now() >= deadline {
            let mut dump = Vec::new();
            let _ = snapshot.write_text(&mut dump);
            panic!(
                "gave up after {DEADLINE:?} waiting for {what}; the table:\n{}",
                String::from_utf8_lossy(&dump)
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until `table` has no request in flight.
pub async fn wait_until_empty(table: &Table) {
    wait_for_table(table, "the table to empty", |snapshot| {
        snapshot.entries.is_empty().then_some(())
    })
    .await;
}

pub type PlainClient = Client<HttpConnector, Empty<Bytes>>;

/// An untracked HTTP/1 client.
pub fn client() -> PlainClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// An untracked client that speaks only HTTP/2, over plain TCP (h2c with prior knowledge).
pub fn h2_client() -> PlainClient {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

/// An untracked client with `TCP_NODELAY`, speaking HTTP/2 (prior knowledge) if `http2`,
/// else HTTP/1.1.
pub fn client_nodelay(http2: bool) -> PlainClient {
    let mut connector = HttpConnector::new();
    // Small writes must not wait for the peer's delayed ACK (40 ms on Linux).
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .http2_only(http2)
        .build(connector)
}

/// A client whose calls are tracked in `table`.
pub fn tracked_client(table: &Table) -> InFlightClient<PlainClient> {
    InFlightClientLayer::with_table(table.clone()).layer(client())
}

/// A bodiless request.
pub fn request(method: Method, uri: impl AsRef<str>) -> Request<Empty<Bytes>> {
    Request::builder()
        .method(method)
        .uri(uri.as_ref())
        .body(Empty::new())
        .expect("valid request")
}

/// `GET uri`.
pub fn get(uri: impl AsRef<str>) -> Request<Empty<Bytes>> {
    request(Method::GET, uri)
}

/// Reads frames from `body` until `len` bytes have arrived.
pub async fn read_bytes<B>(body: &mut B, len: usize) -> Bytes
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Debug,
{
    let mut out = BytesMut::new();
    while out.len() < len {
        let frame = body
            .frame()
            .await
            .expect("the body ended early")
            .expect("the body failed");
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
        }
    }
    assert_eq!(out.len(), len, "read more than expected");
    out.freeze()
}

/// Reads `body` to its end and returns what it had.
pub async fn read_to_end<B>(body: B) -> Bytes
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    body.collect().await.expect("the body failed").to_bytes()
}

/// Sends a raw HTTP/1.1 request head on a fresh connection.
pub async fn raw_request(addr: SocketAddr, method: &str, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream
}

/// Reads from `stream` until what has arrived contains `needle`; returns all of it.
pub async fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if String::from_utf8_lossy(&seen).contains(needle) {
            return String::from_utf8_lossy(&seen).into_owned();
        }
        let n = tokio::time::timeout(DEADLINE, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} after {DEADLINE:?}"))
            .expect("read");
        assert!(
            n > 0,
            "connection closed before {needle:?}: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
}

/// A response body fed by the test: each chunk sent on the channel is one data frame, and
/// the body ends when every sender is gone.
#[derive(Debug)]
pub struct ChannelBody {
    rx: mpsc::UnboundedReceiver<Bytes>,
}

impl ChannelBody {
    pub fn new() -> (mpsc::UnboundedSender<Bytes>, ChannelBody) {
        let (tx, rx) = mpsc::unbounded_channel();
        (tx, ChannelBody { rx })
    }
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.get_mut()
            .rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|data| Ok(Frame::data(data))))
    }
}

/// A body that hands out its chunks and then stays pending forever: it never says it is
/// over, as a stream of unknown length would not.
#[derive(Debug)]
pub struct ThenPending {
    chunks: VecDeque<Bytes>,
}

impl ThenPending {
    pub fn new<I: IntoIterator<Item = &'static str>>(chunks: I) -> ThenPending {
        ThenPending {
            chunks: chunks.into_iter().map(Bytes::from).collect(),
        }
    }
}

impl Body for ThenPending {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut().chunks.pop_front() {
            Some(chunk) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            None => Poll::Pending,
        }
    }
}

/// An endless body: one small chunk per tick.
#[derive(Debug)]
pub struct Ticker {
    interval: tokio::time::Interval,
    ticks: u64,
}

impl Ticker {
    pub fn every(period: Duration) -> Ticker {
        Ticker {
            interval: tokio::time::interval(period),
            ticks: 0,
        }
    }
}

impl Body for Ticker {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        ready!(this.interval.poll_tick(cx));
        this.ticks += 1;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(format!(
            "tick {}\n",
            this.ticks
        ))))))
    }
}

/// One value handed from the test to the single request that takes it.
#[derive(Debug)]
pub struct Slot<T> {
    value: Arc<Mutex<Option<T>>>,
}

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        Slot {
            value: self.value.clone(),
        }
    }
}

impl<T> Slot<T> {
    pub fn new(value: T) -> Slot<T> {
        Slot {
            value: Arc::new(Mutex::new(Some(value))),
        }
    }

    pub fn take(&self) -> T {
        self.value
            .lock()
            .expect("slot lock")
            .take()
            .expect("the slot was already taken: one request per slot")
    }
}

/// A loopback port that was free a moment ago: nobody listens on it.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local addr").port()
}

/// A directory removed when dropped, named after the test's `name`.
pub fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("inflight-{name}-"))
        .tempdir()
        .expect("create a temp dir")
}
