//! The soak test's parts: the seeded mix of request kinds ([`Plan`]), the servers
//! ([`servers`]), the clients ([`traffic`]) and the operator at the admin port
//! ([`operator`]).

pub mod operator;
pub mod servers;
pub mod traffic;

use std::time::Duration;

/// The seed of the mix: the same seed gives every request index the same plan.
pub const SEED: u64 = 0x50A4_1F11_6E7B_2024;

/// What one request does, and what the server and its upstream do with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The handler reads the upstream's whole body and answers with it.
    Ok,
    /// The handler passes the upstream's body through as it comes.
    Stream,
    /// The client drops the response future after a random short wait.
    AbortBeforeHead,
    /// The client drops the response body after some chunks.
    AbortMidBody,
    /// An HTTP/1.1 client on a raw TCP socket closes it at a random point.
    RawClose,
    /// The service returns `Err` (before or after its outbound call).
    HandlerError,
    /// The handler answers `500`.
    Status500,
    /// The handler panics: before its outbound call, while it is pending, or while it
    /// holds the upstream's unread body.
    Panic,
    /// The response body fails after some chunks.
    BodyError,
    /// The outbound call goes to a closed port and fails.
    UpstreamRefused,
    /// The upstream's body fails after some chunks.
    UpstreamCut,
    /// The client gives up on a slow upstream with `tokio::time::timeout`.
    Timeout,
    /// A slow request (slow upstream head or slow body), there for the operator to
    /// terminate or cancel; half of the handlers stop early when cancelled.
    Slow,
}

/// Share of each kind, in percent.
const MIX: [(Kind, u32); 13] = [
    (Kind::Ok, 36),
    (Kind::Stream, 10),
    (Kind::AbortBeforeHead, 6),
    (Kind::AbortMidBody, 8),
    (Kind::RawClose, 5),
    (Kind::HandlerError, 4),
    (Kind::Status500, 3),
    (Kind::Panic, 3),
    (Kind::BodyError, 3),
    (Kind::UpstreamRefused, 2),
    (Kind::UpstreamCut, 3),
    (Kind::Timeout, 5),
    (Kind::Slow, 12),
];

impl Kind {
    /// Every kind, in the order of the summary.
    pub fn all() -> impl Iterator<Item = Kind> {
        MIX.iter().map(|(kind, _)| *kind)
    }
}

/// How one request behaves, from the client through the handler to the upstream. The
/// client, the handler and the upstream each derive it from the request's index alone
/// (the index travels in the path), so a failing run repeats request for request.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub index: u64,
    pub kind: Kind,
    /// The client speaks HTTP/2 (h2c with prior knowledge), else HTTP/1.1.
    pub http2: bool,
    /// The handler's outbound call speaks HTTP/2.
    pub upstream_http2: bool,
    /// Chunks of the upstream's body.
    pub chunks: u32,
    /// How long the upstream waits before its response head.
    pub delay: Duration,
    /// How long the upstream waits between chunks.
    pub pace: Duration,
    /// Whether the handler gives up as soon as the operator asks it to cancel.
    pub cooperative: bool,
    /// Where the kind does its thing: chunks read before an abort, the stage of a raw
    /// close or of a panic, chunks sent before a body error.
    pub point: u32,
    /// How much of the request head a raw close sends before closing, in thousandths.
    pub per_mille: u32,
    /// How long the client waits before it aborts or times out.
    pub wait: Duration,
}

impl Plan {
    /// The plan of request number `index`.
    pub fn of(index: u64) -> Plan {
        let mut rng = fastrand::Rng::with_seed(SEED ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut roll = rng.u32(0..100);
        let kind = MIX
            .iter()
            .find(|(_, share)| {
                let hit = roll < *share;
                roll = roll.saturating_sub(*share);
                hit
            })
            .map_or(Kind::Ok, |(kind, _)| *kind);
        let mut plan = Plan {
            index,
            kind,
            http2: kind != Kind::RawClose && rng.bool(),
            upstream_http2: rng.bool(),
            chunks: rng.u32(1..=8),
            delay: Duration::ZERO,
            pace: Duration::ZERO,
            cooperative: false,
            point: 0,
            per_mille: rng.u32(1..1000),
            wait: Duration::ZERO,
        };
        let ms = Duration::from_millis;
        match kind {
            Kind::AbortBeforeHead => {
                plan.delay = ms(rng.u64(0..=10));
                plan.wait = Duration::from_micros(rng.u64(0..=3000));
            }
            Kind::AbortMidBody | Kind::RawClose => {
                plan.chunks = rng.u32(4..=16);
                plan.pace = ms(1);
                plan.point = if kind == Kind::RawClose {
                    rng.u32(0..4)
                } else {
                    rng.u32(1..plan.chunks)
                };
            }
            Kind::Panic => {
                plan.point = rng.u32(0..3);
                plan.delay = ms(20);
            }
            Kind::HandlerError => plan.point = rng.u32(0..2),
            Kind::BodyError => plan.point = rng.u32(0..=3),
            Kind::UpstreamCut => {
                plan.chunks = rng.u32(2..=8);
                plan.point = rng.u32(0..plan.chunks);
            }
            Kind::Timeout => {
                plan.delay = ms(rng.u64(30..=80));
                plan.wait = ms(rng.u64(5..=25));
            }
            Kind::Slow => {
                if rng.bool() {
                    plan.delay = ms(rng.u64(50..=300));
                } else {
                    plan.chunks = 20;
                    plan.pace = ms(10);
                }
                plan.cooperative = rng.bool();
            }
            Kind::Ok | Kind::Stream | Kind::Status500 | Kind::UpstreamRefused => {}
        }
        plan
    }

    /// Bytes of a whole `200` answer (but a cancelled handler's): the upstream's body.
    pub fn body_len(&self) -> usize {
        self.chunks as usize * servers::CHUNK.len()
    }

    /// The plan of the request at `path` if it is `{prefix}{index}`.
    pub fn from_path(path: &str, prefix: &str) -> Option<Plan> {
        path.strip_prefix(prefix)?.parse().ok().map(Plan::of)
    }
}
