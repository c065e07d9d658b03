//! Which structure should hold the requests in flight? inflight's table beside a `DashMap`
//! and a `sharded_slab::Slab`, each used the way such a table would be: per request, an
//! `Arc` of an entry the size of inflight's put in at the start and taken out at the end.
//!
//! ```text
//! cargo bench --bench table             # criterion runs, then the paired summary and walks
//! cargo bench --bench table -- summary  # only the summary, the walks and the writer stall
//! ```
//!
//! Every variant serves the trivial service of `benches/overhead.rs` (call + body drain),
//! so "added ns" is what the bookkeeping adds to a request. The maps do the least a table
//! must (build the entry with one clock read and the URI copied, insert, remove); the
//! `inflight` variant is the whole layer (statuses, the current-request thread-local, the
//! body wrapper, two clock reads), so the comparison flatters the maps.

#[path = "table/maps.rs"]
mod maps;
mod support;
#[path = "table/walk.rs"]
mod walk;

use std::time::Duration;

use criterion::Criterion;

use maps::{DashTable, SlabTable};
use support::latency::{Latencies, clock};
use support::paired::{self, Runner};
use support::{hello, request};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    OneThread,
    TwoThreads,
    Oversubscribed,
}

impl Scenario {
    const ALL: [Scenario; 3] = [
        Scenario::OneThread,
        Scenario::TwoThreads,
        Scenario::Oversubscribed,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::OneThread => "one_thread",
            Scenario::TwoThreads => "two_threads",
            Scenario::Oversubscribed => "oversubscribed",
        }
    }

    /// `make` gives each thread its worker, which serves one request per call.
    fn runner<W: FnMut() + Send + 'static>(
        self,
        make: impl Fn() -> W + 'static,
        latencies: &Latencies,
    ) -> Runner {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        match self {
            Scenario::OneThread => paired::one_thread(make()),
            Scenario::TwoThreads => paired::on_threads(2, 2, make, None),
            Scenario::Oversubscribed => {
                paired::on_threads(4 * cores, cores, make, Some(latencies.clone()))
            }
        }
    }

    /// Bare first, each variant with its own structure; their latency histograms.
    fn variants(self) -> Vec<(&'static str, Runner, Latencies)> {
        let latencies: Vec<Latencies> = (0..4).map(|_| Latencies::default()).collect();
        let table = inflight::Table::new();
        let dash = DashTable::default();
        let slab = SlabTable::default();
        vec![
            self.runner(
                || {
                    let mut service = hello();
                    move || support::call_and_drain(&mut service, request("/hello?x=1"))
                },
                &latencies[0],
            ),
            self.runner(
                move || {
                    let mut service = support::tracked(&table);
                    move || support::call_and_drain(&mut service, request("/hello?x=1"))
                },
                &latencies[1],
            ),
            self.runner(
                move || {
                    let (dash, clock, mut service) = (dash.clone(), clock(), hello());
                    move || dash.request(&mut service, clock.raw(), request("/hello?x=1"))
                },
                &latencies[2],
            ),
            self.runner(
                move || {
                    let (slab, clock, mut service) = (slab.clone(), clock(), hello());
                    move || slab.request(&mut service, clock.raw(), request("/hello?x=1"))
                },
                &latencies[3],
            ),
        ]
        .into_iter()
        .zip(["bare", "inflight", "dashmap", "sharded_slab"])
        .zip(latencies)
        .map(|((runner, name), latencies)| (name, runner, latencies))
        .collect()
    }
}

fn criterion_runs(c: &mut Criterion, entries: usize) {
    for scenario in Scenario::ALL {
        let mut group = c.benchmark_group(scenario.name());
        group
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        for (name, mut runner, _) in scenario.variants() {
            group.bench_function(name, |b| b.iter_custom(&mut runner));
        }
        group.finish();
    }
    let mut group = c.benchmark_group(format!("walk_{entries}"));
    group.sample_size(10);
    let mut out = Vec::new();
    let dash = walk::dash_filled(entries);
    group.bench_function("dashmap", |b| b.iter(|| walk::walk_dash(&dash, &mut out)));
    drop(dash);
    let mut slab = walk::slab_filled(entries);
    group.bench_function("sharded_slab", |b| {
        b.iter(|| walk::walk_slab(&mut slab, &mut out))
    });
    drop(slab);
    let table = inflight::Table::new();
    let held = support::fill(&table, entries);
    group.bench_function("inflight_dump_text", |b| {
        b.iter(|| {
            out.clear();
            table.dump_text(&mut out).expect("writing to a Vec");
        })
    });
    drop(held);
    group.finish();
}

fn summary(rounds: usize, batch: u64) {
    paired::print_header(&format!(
        "paired summary: {rounds} rounds of {batch} requests per variant, order rotated; \
         oversubscribed: 4 threads per core"
    ));
    let mut oversubscribed = Vec::new();
    for scenario in Scenario::ALL {
        let mut variants = scenario.variants();
        let mut runners: Vec<&mut Runner> = variants.iter_mut().map(|v| &mut v.1).collect();
        paired::warm_up(&mut runners, batch);
        variants.iter().for_each(|v| v.2.reset());
        let mut runners: Vec<&mut Runner> = variants.iter_mut().map(|v| &mut v.1).collect();
        let lines = paired::rounds(&mut runners, rounds, batch);
        for ((name, _, latencies), line) in variants.iter().zip(lines) {
            paired::print_line(scenario.name(), name, &line);
            if scenario == Scenario::Oversubscribed {
                oversubscribed.push((*name, latencies.quantiles()));
            }
        }
    }
    println!();
    println!("oversubscribed: per-request latency in ns");
    println!(
        "{:<16} {:>11} {:>8} {:>8} {:>8} {:>12}",
        "variant", "requests", "p50", "p99", "p99.9", "max"
    );
    for (name, q) in oversubscribed {
        println!(
            "{:<16} {:>11} {:>8} {:>8} {:>8} {:>12}",
            name, q.count, q.p50, q.p99, q.p999, q.max
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filter = args.iter().find(|a| !a.starts_with('-'));
    let benchmarking = paired::benchmarking();
    // `cargo test --benches` only checks that everything runs.
    let entries = match benchmarking {
        true => paired::env_number("INFLIGHT_TABLE_ENTRIES", 1_000_000) as usize,
        false => 10_000,
    };

    if filter.is_none_or(|f| f != "summary") {
        let mut criterion = Criterion::default().configure_from_args();
        criterion_runs(&mut criterion, entries);
        criterion.final_summary();
    }

    if benchmarking && filter.is_none_or(|f| f == "summary") {
        let rounds = paired::env_number("INFLIGHT_BENCH_ROUNDS", 11);
        let batch = paired::env_number("INFLIGHT_BENCH_BATCH", 50_000);
        summary(rounds as usize, batch);
        let stall_rounds = paired::env_number("INFLIGHT_TABLE_STALL_ROUNDS", 2) as usize;
        let phase = Duration::from_millis(paired::env_number("INFLIGHT_TABLE_STALL_MS", 2_000));
        walk::report(entries, stall_rounds, phase);
    }
}
