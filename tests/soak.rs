//! Soak: hundreds of thousands of requests over HTTP/1.1 and h2c through a tracked server
//! whose handler makes one tracked outbound call each, with the admin port on, while
//! clients abort, time out and close their sockets, handlers fail and panic, an operator
//! terminates and cancels requests over the admin port, and 1,000 SIGUSR1 ask for dumps.
//! Afterwards the table is empty, its totals balance in each direction, it saw exactly the
//! requests the server accepted and the calls the handlers made, and memory is back near
//! where it was after the warm-up.
//!
//! `INFLIGHT_SOAK_REQUESTS` sets how many requests (default 200,000). A long run by hand:
//! `INFLIGHT_SOAK_REQUESTS=10000000 cargo test --release --test soak -- --nocapture`.
#![cfg(unix)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use inflight::admin::AdminServer;
use inflight::{Direction, Table, Totals};
use support::process::{StderrToFile, resident_bytes};
use support::soak::operator::{Controls, Operator};
use support::soak::servers::{Counters, serve_front, serve_upstream};
use support::soak::traffic::{Clients, Outcome, Tally, merge};
use support::soak::{Kind, SEED};

/// Requests of a run unless `INFLIGHT_SOAK_REQUESTS` says otherwise.
const DEFAULT_REQUESTS: u64 = 200_000;
/// Requests in flight from the clients at any time.
const CONCURRENCY: usize = 48;
/// Requests before the memory baseline is taken (a tenth of the run if that is less):
/// enough to fill the connection pools, the admin port's recent ring and profiles, and
/// the allocator's caches.
const WARM_UP: u64 = 20_000;
/// SIGUSR1 signals of the burst.
const SIGNALS: usize = 1_000;
/// How much resident memory may grow between the end of the warm-up and the end of the
/// run. Measured over 200k runs (glibc malloc): +0.0 to +1.6 MiB in debug builds (from
/// 38.6–39.6 MiB), +1.0 MiB in release (from 35.4 MiB); +1.0 to +1.7 MiB over 5k–20k runs,
/// whose warm-ups are shorter (benches/README.md, "Soak"). 16 MiB leaves room for allocator fragmentation and for the connection
/// pools' high-water mark, and still fails on a leak of 100 bytes per request in the
/// default run, or of 2 bytes per request in a run of 10M.
const RSS_MARGIN: u64 = 16 << 20;
/// How long the table may take to empty once the clients are done: the slowest planned
/// request takes well under a second, a cancel escalates after at most 200 ms.
const SETTLE: Duration = Duration::from_secs(30);

fn requests() -> u64 {
    match std::env::var("INFLIGHT_SOAK_REQUESTS") {
        Ok(text) => text
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("INFLIGHT_SOAK_REQUESTS={text:?} is not a count")),
        Err(_) => DEFAULT_REQUESTS,
    }
}

/// Waits (at most [`SETTLE`]) until the table is empty; returns what is left.
async fn settle(table: &Table) -> usize {
    let deadline = Instant::now() + SETTLE;
    while !table.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    table.len()
}

/// Whether a line of stderr is part of a dump.
fn dump_line(line: &str) -> bool {
    line.starts_with("inflight:")
        || line.starts_with("inbound:")
        || line.starts_with("outbound:")
        || line.starts_with(' ')
        || line.is_empty()
}

/// Once the clients are past request `at`, sends this process [`SIGNALS`] SIGUSR1 and
/// waits until a dump shows up on stderr (sent to `stderr`).
async fn signal_burst(next: Arc<AtomicU64>, at: u64, stderr: Arc<StderrToFile>) {
    while next.load(Relaxed) < at {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::task::spawn_blocking(|| support::process::signal_self(libc::SIGUSR1, SIGNALS))
        .await
        .expect("the signalling thread");
    support::wait_for("a dump on stderr after the SIGUSR1 burst", || {
        stderr
            .written()
            .lines()
            .any(|line| line.starts_with("inflight:"))
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak() {
    let total = requests();
    let warm_up = (total / 10).min(WARM_UP);
    support::process::quiet_expected_panics();
    let table = support::table();
    table.dump_on_signal().expect("dump on SIGUSR1");
    let front = serve_front(&table, serve_upstream().await).await;
    let admin_server = AdminServer::new(table.clone()).default_grace(Duration::from_millis(100));
    let (_admin, admin) = support::admin::start_admin(admin_server).await;
    let operator = Operator::start(admin, SEED);
    let clients = Clients::new(front.addr);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();

    let mut tally = clients.run(&next, warm_up, CONCURRENCY).await;
    let left_after_warm_up = settle(&table).await;
    let rss_warm = resident_bytes();
    let warm_elapsed = started.elapsed();

    // The dumps go to a file: each lists the requests in flight, thousands of lines.
    let stderr_path =
        std::env::temp_dir().join(format!("inflight-soak-stderr-{}.txt", std::process::id()));
    let stderr = Arc::new(StderrToFile::new(&stderr_path, dump_line).expect("redirect stderr"));
    next.store(warm_up, Relaxed);
    let burst = tokio::spawn(signal_burst(
        next.clone(),
        warm_up + (total - warm_up) / 2,
        stderr.clone(),
    ));
    merge(&mut tally, clients.run(&next, total, CONCURRENCY).await);
    let elapsed = started.elapsed();
    burst.await.expect("the signal burst");
    let controls = operator.stop().await;
    let left = settle(&table).await;
    let rss_end = resident_bytes();
    let dumps = stderr
        .written()
        .lines()
        .filter(|line| line.starts_with("inflight:"))
        .count();
    drop(stderr);

    let inbound = table.totals_of(Direction::Inbound);
    let outbound = table.totals_of(Direction::Outbound);
    let report = Report {
        total,
        tally: &tally,
        counters: &front.counters,
        controls,
        inbound,
        outbound,
        dumps,
        rss: (rss_warm, rss_end),
        elapsed: (warm_elapsed, elapsed),
    };
    report.print();

    assert_eq!(
        left_after_warm_up, 0,
        "the table did not empty after the warm-up"
    );
    assert_eq!(left, 0, "the table did not empty within {SETTLE:?}");
    assert_eq!(table.len(), 0);
    assert_eq!(
        inbound.started,
        ended(&inbound),
        "inbound totals do not balance: {inbound:?}"
    );
    assert_eq!(
        outbound.started,
        ended(&outbound),
        "outbound totals do not balance: {outbound:?}"
    );
    let counters = &front.counters;
    let accepted = counters.accepted.load(Relaxed);
    let reached = counters.reached.load(Relaxed);
    assert_eq!(
        inbound.started, accepted,
        "inbound started vs requests the server accepted"
    );
    assert!(
        accepted >= reached,
        "more requests reached the handler ({reached}) than the server accepted ({accepted})"
    );
    let outbound_calls = counters.outbound_calls.load(Relaxed);
    assert_eq!(
        outbound.started, outbound_calls,
        "outbound started vs calls the handlers made"
    );
    let sent: u64 = tally.values().sum();
    assert_eq!(sent, total, "every planned request was sent");
    let stuck: u64 = tally
        .iter()
        .filter(|((_, _, outcome), _)| *outcome == Outcome::Stuck)
        .map(|(_, count)| count)
        .sum();
    assert_eq!(
        stuck,
        0,
        "requests had no answer within {:?}",
        support::soak::traffic::STUCK
    );
    let short: u64 = tally
        .iter()
        .filter(|((_, _, outcome), _)| *outcome == Outcome::Short)
        .map(|(_, count)| count)
        .sum();
    assert_eq!(
        short, 0,
        "responses cut by a terminate looked complete to their clients"
    );
    assert!(dumps > 0, "no dump after {SIGNALS} SIGUSR1");
    assert!(
        controls.terminated > 0 && controls.cancelled > 0,
        "the operator terminated and cancelled nothing: {controls:?}"
    );
    if let (Some(warm), Some(end)) = (rss_warm, rss_end) {
        assert!(
            end <= warm + RSS_MARGIN,
            "resident memory grew from {} MiB after the warm-up to {} MiB (margin {} MiB)",
            warm >> 20,
            end >> 20,
            RSS_MARGIN >> 20
        );
    }
}

/// Requests that ended, in every way a request can end.
fn ended(totals: &Totals) -> u64 {
    totals.completed + totals.failed + totals.body_failed + totals.dropped_early + totals.terminated
}

/// Everything the run measured, for the summary.
struct Report<'a> {
    total: u64,
    tally: &'a Tally,
    counters: &'a Counters,
    controls: Controls,
    inbound: Totals,
    outbound: Totals,
    dumps: usize,
    rss: (Option<u64>, Option<u64>),
    elapsed: (Duration, Duration),
}

impl Report<'_> {
    fn print(&self) {
        let (warm_elapsed, elapsed) = self.elapsed;
        println!(
            "soak: {} requests in {:.1}s ({:.0}/s), {CONCURRENCY} at a time, seed {SEED:#x}",
            self.total,
            elapsed.as_secs_f64(),
            self.total as f64 / elapsed.as_secs_f64()
        );
        let mut protocols: BTreeMap<&str, u64> = BTreeMap::new();
        let mut kinds: BTreeMap<Kind, BTreeMap<String, u64>> = BTreeMap::new();
        for ((kind, protocol, outcome), count) in self.tally {
            *protocols.entry(protocol).or_default() += count;
            *kinds
                .entry(*kind)
                .or_default()
                .entry(outcome.label())
                .or_default() += count;
        }
        println!("  by protocol: {protocols:?}");
        for kind in Kind::all() {
            let outcomes = kinds.remove(&kind).unwrap_or_default();
            let count: u64 = outcomes.values().sum();
            println!("  {:<16} {count:>9}  {outcomes:?}", format!("{kind:?}"));
        }
        let c = self.counters;
        println!(
            "  server: {} accepted, {} reached the handler, {} outbound calls, {} handlers \
             stopped on cancel, {} upstream errors outside the plan (terminated calls among them)",
            c.accepted.load(Relaxed),
            c.reached.load(Relaxed),
            c.outbound_calls.load(Relaxed),
            c.cancelled.load(Relaxed),
            c.unexpected_upstream_errors.load(Relaxed)
        );
        let short: u64 = self
            .tally
            .iter()
            .filter(|((_, _, outcome), _)| *outcome == Outcome::Short)
            .map(|(_, count)| count)
            .sum();
        println!(
            "  cut responses that looked complete (SHORT: a 200 with less than its body): {short}"
        );
        println!("  admin: {:?}", self.controls);
        println!("  SIGUSR1: {SIGNALS} sent, {} dumps written", self.dumps);
        for (name, t) in [("inbound", &self.inbound), ("outbound", &self.outbound)] {
            println!(
                "  {name:<8} started {} = completed {} + failed {} + body_failed {} + \
                 dropped_early {} + terminated {} ({})",
                t.started,
                t.completed,
                t.failed,
                t.body_failed,
                t.dropped_early,
                t.terminated,
                if t.started == ended(t) {
                    "balanced"
                } else {
                    "NOT BALANCED"
                }
            );
        }
        let mib = |bytes: Option<u64>| {
            bytes.map_or("n/a".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0))
        };
        println!(
            "  RSS: {} after the warm-up ({:.1}s), {} at the end (margin {} MiB)",
            mib(self.rss.0),
            warm_elapsed.as_secs_f64(),
            mib(self.rss.1),
            RSS_MARGIN >> 20
        );
    }
}
