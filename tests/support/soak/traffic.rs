//! The soak's clients: workers that send the planned requests over HTTP/1.1 and h2c and
//! behave as each plan says, and the tally of what they saw.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use http::StatusCode;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Kind, Plan};
use crate::support::{self, PlainClient};

/// A request with no answer after this long is stuck: the run counts it and fails.
pub const STUCK: Duration = Duration::from_secs(60);

/// HTTP/2 connections the clients spread their streams over.
const HTTP2_CONNECTIONS: usize = 4;

/// What a client saw of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// A whole `200` response.
    Ok,
    /// A `200` that ended well but has less than the planned body: a cut that looks like
    /// a complete response.
    Short,
    /// A whole `200` saying the handler stopped when asked to cancel.
    Cancelled,
    /// The `503` of a request an operator terminated before its head.
    Terminated,
    /// Another whole response with this status.
    Status(u16),
    /// No response: the connection failed or was reset.
    Error,
    /// The response head came, then its body failed.
    BodyError,
    /// The client dropped the response future or body on purpose.
    Aborted,
    /// `tokio::time::timeout` fired.
    TimedOut,
    /// The client closed its raw socket on purpose.
    Closed,
    /// Nothing happened within [`STUCK`].
    Stuck,
}

impl Outcome {
    pub fn label(self) -> String {
        match self {
            Outcome::Ok => "ok".into(),
            Outcome::Short => "SHORT".into(),
            Outcome::Cancelled => "cancelled".into(),
            Outcome::Terminated => "terminated".into(),
            Outcome::Status(status) => status.to_string(),
            Outcome::Error => "error".into(),
            Outcome::BodyError => "body error".into(),
            Outcome::Aborted => "aborted".into(),
            Outcome::TimedOut => "timed out".into(),
            Outcome::Closed => "closed".into(),
            Outcome::Stuck => "STUCK".into(),
        }
    }
}

/// Requests by kind, protocol (`"h1"`, `"h2"`) and outcome.
pub type Tally = BTreeMap<(Kind, &'static str, Outcome), u64>;

/// Adds `more` to `tally`.
pub fn merge(tally: &mut Tally, more: Tally) {
    for (key, count) in more {
        *tally.entry(key).or_default() += count;
    }
}

/// Untracked clients of the front server.
#[derive(Clone, Debug)]
pub struct Clients {
    front: SocketAddr,
    http1: PlainClient,
    http2: Vec<PlainClient>,
}

impl Clients {
    pub fn new(front: SocketAddr) -> Clients {
        Clients {
            front,
            http1: support::client_nodelay(false),
            http2: (0..HTTP2_CONNECTIONS)
                .map(|_| support::client_nodelay(true))
                .collect(),
        }
    }

    /// Sends requests from `next` (shared by the workers, who take one index at a time) up
    /// to `end`, with `concurrency` workers.
    pub async fn run(&self, next: &Arc<AtomicU64>, end: u64, concurrency: usize) -> Tally {
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (clients, next) = (self.clone(), next.clone());
                tokio::spawn(async move {
                    let mut tally = Tally::new();
                    loop {
                        let index = next.fetch_add(1, Relaxed);
                        if index >= end {
                            return tally;
                        }
                        let plan = Plan::of(index);
                        let outcome = tokio::time::timeout(STUCK, clients.exchange(&plan))
                            .await
                            .unwrap_or(Outcome::Stuck);
                        let protocol = if plan.http2 { "h2" } else { "h1" };
                        *tally.entry((plan.kind, protocol, outcome)).or_default() += 1;
                    }
                })
            })
            .collect();
        let mut tally = Tally::new();
        for worker in workers {
            merge(&mut tally, worker.await.expect("a soak worker panicked"));
        }
        tally
    }

    async fn exchange(&self, plan: &Plan) -> Outcome {
        match plan.kind {
            Kind::RawClose => raw_close(self.front, plan).await,
            Kind::AbortBeforeHead => tokio::select! {
                outcome = self.read(plan, u32::MAX) => outcome,
                () = tokio::time::sleep(plan.wait) => Outcome::Aborted,
            },
            Kind::Timeout => tokio::time::timeout(plan.wait, self.read(plan, u32::MAX))
                .await
                .unwrap_or(Outcome::TimedOut),
            Kind::AbortMidBody => self.read(plan, plan.point).await,
            _ => self.read(plan, u32::MAX).await,
        }
    }

    /// Sends the request and reads at most `frames` frames of the response body, then
    /// drops it.
    async fn read(&self, plan: &Plan, frames: u32) -> Outcome {
        let client = if plan.http2 {
            &self.http2[plan.index as usize % self.http2.len()]
        } else {
            &self.http1
        };
        let uri = format!("http://{}/r/{}", self.front, plan.index);
        let Ok(response) = client.request(support::get(uri)).await else {
            return Outcome::Error;
        };
        let status = response.status();
        let terminated = response.headers().contains_key(inflight::TERMINATED_HEADER);
        let mut body = response.into_body();
        let mut first = Vec::new();
        let mut received = 0;
        for _ in 0..frames {
            match body.frame().await {
                None => {
                    return match status {
                        StatusCode::OK if first == b"cancelled" => Outcome::Cancelled,
                        StatusCode::OK if received < plan.body_len() => Outcome::Short,
                        StatusCode::OK => Outcome::Ok,
                        StatusCode::SERVICE_UNAVAILABLE if terminated => Outcome::Terminated,
                        status => Outcome::Status(status.as_u16()),
                    };
                }
                Some(Err(_)) => return Outcome::BodyError,
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        if first.is_empty() {
                            first.extend_from_slice(data);
                        }
                        received += data.len();
                    }
                }
            }
        }
        Outcome::Aborted
    }
}

/// An HTTP/1.1 request on a raw socket, closed at the plan's point: within the head, right
/// after it, after the response head, or after some of the response body.
async fn raw_close(front: SocketAddr, plan: &Plan) -> Outcome {
    // The server closes after the response, so reading to the end cannot wait forever on
    // a short answer (a terminated request's).
    let head = format!(
        "GET /r/{} HTTP/1.1\r\nhost: soak\r\nconnection: close\r\n\r\n",
        plan.index
    );
    let Ok(mut stream) = TcpStream::connect(front).await else {
        return Outcome::Error;
    };
    let _ = stream.set_nodelay(true);
    let sent = if plan.point == 0 {
        (head.len() * plan.per_mille as usize / 1000).clamp(1, head.len() - 1)
    } else {
        head.len()
    };
    if stream.write_all(&head.as_bytes()[..sent]).await.is_err() {
        return Outcome::Error;
    }
    // Past the response head by this many bytes: one chunk and its size line.
    let body_wanted = match plan.point {
        2 => Some(0),
        3 => Some(70),
        _ => None,
    };
    if let Some(body_wanted) = body_wanted {
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let head_end = seen
                .windows(4)
                .position(|window| window == b"\r\n\r\n")
                .map(|at| at + 4);
            if head_end.is_some_and(|end| seen.len() >= end + body_wanted) {
                break;
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    }
    Outcome::Closed
}
