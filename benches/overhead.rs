//! What does tracking add to a request? Call + body drain of a trivial service, bare and
//! behind each layer: on one thread, on two threads at once, with 100k requests already
//! in flight, oversubscribed (4 threads per core, each request timed), and on one thread
//! with every request carrying a caller's W3C `traceparent` (`traced_caller`: the layer
//! parses it and joins the trace instead of starting one). `work` runs a ready future
//! bare and as tracked work (`inflight::work`), on one thread.
//!
//! ```text
//! cargo bench --bench overhead             # criterion runs, then the paired summary
//! cargo bench --bench overhead -- summary  # only the paired summary
//! ```
//!
//! The requests are built the way hyper builds them (parsed URI, empty extensions), the
//! service answers at once, and the body is polled to its end with a no-op waker, so what
//! is measured is the layer and nothing else. The summary runs every variant in the same
//! rounds (order rotated each round) and reports the median of per-round differences
//! against the bare service, which holds up better on a noisy machine than differences of
//! separate criterion runs. With the admin port on, a `total` line per scenario adds to
//! the request path the admin thread's CPU over the rounds divided by every request served
//! in them. It ends with the admin thread's CPU per finished request and the targets,
//! measured against TraceLayer in the same run.
//!
//! `INFLIGHT_BENCH_SAVE=FILE` writes this run's added ns per variant;
//! `INFLIGHT_BENCH_BASELINE=FILE` (a file saved by a run before a change) adds the targets
//! that the layer alone is no worse than it was.

#[path = "overhead/admin.rs"]
mod admin;
mod support;
#[path = "overhead/targets.rs"]
mod targets;
#[path = "overhead/work.rs"]
mod work;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use http::Response;
use http_body::Body;
use tower::{Layer, Service};

use admin::Admin;
use support::latency::Latencies;
use support::paired::{self, Runner};
use support::{Req, call_and_drain, hello, request, start};

/// In flight during the "100k in flight" scenario.
const HELD: usize = 100_000;
/// Threads per core in the oversubscribed scenario.
const OVERSUBSCRIBED_PER_CORE: usize = 4;

/// One request: build it, call the service, drain the body.
#[inline]
fn one<S, B>(service: &mut S)
where
    S: Service<Req, Response = Response<B>>,
    B: Body,
{
    call_and_drain(service, request("/hello?x=1"));
}

/// One request from a caller that sends a `traceparent` (an instrumented service).
#[inline]
fn one_traced<S, B>(service: &mut S)
where
    S: Service<Req, Response = Response<B>>,
    B: Body,
{
    let mut req = request("/hello?x=1");
    req.headers_mut().insert(
        "traceparent",
        http::HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    );
    call_and_drain(service, req);
}

fn with_held<S, B>(mut service: S) -> Runner
where
    S: Service<Req, Response = Response<B>> + 'static,
    B: Body + 'static,
{
    let held: Vec<Response<B>> = (0..HELD)
        .map(|_| start(&mut service, request("/hello?x=1")))
        .collect();
    Box::new(move |n| {
        let started = Instant::now();
        for _ in 0..n {
            one(&mut service);
        }
        let elapsed = started.elapsed();
        black_box(&held);
        elapsed
    })
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    OneThread,
    TwoThreads,
    Held,
    Oversubscribed,
    TracedCaller,
    Work,
}

/// One variant of a scenario: its runner, and what it needs kept alive or read after.
struct Variant {
    name: &'static str,
    runner: Runner,
    /// Per-request latencies (oversubscribed only).
    latencies: Latencies,
    admin: Option<Admin>,
}

impl Scenario {
    const ALL: [Scenario; 6] = [
        Scenario::OneThread,
        Scenario::TwoThreads,
        Scenario::Held,
        Scenario::Oversubscribed,
        Scenario::TracedCaller,
        Scenario::Work,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::OneThread => "one_thread",
            Scenario::TwoThreads => "two_threads",
            Scenario::Held => "100k_in_flight",
            Scenario::Oversubscribed => "oversubscribed",
            Scenario::TracedCaller => "traced_caller",
            Scenario::Work => "work",
        }
    }

    /// Requests a runner finishes for a batch of `n`.
    fn requests(self, n: u64) -> u64 {
        match self {
            Scenario::OneThread | Scenario::Held | Scenario::TracedCaller | Scenario::Work => n,
            Scenario::TwoThreads => 2 * n,
            Scenario::Oversubscribed => n * cores() as u64,
        }
    }

    fn runner<S, B>(self, service: S, latencies: &Latencies) -> Runner
    where
        S: Service<Req, Response = Response<B>> + Clone + Send + 'static,
        B: Body + 'static,
    {
        if self == Scenario::Held {
            return with_held(service);
        }
        if self == Scenario::TracedCaller {
            let mut service = service;
            return paired::one_thread(move || one_traced(&mut service));
        }
        let worker = move || {
            let mut service = service.clone();
            move || one(&mut service)
        };
        match self {
            Scenario::OneThread | Scenario::Held | Scenario::TracedCaller | Scenario::Work => {
                paired::one_thread(worker())
            }
            Scenario::TwoThreads => paired::on_threads(2, 2, worker, None),
            Scenario::Oversubscribed => paired::on_threads(
                OVERSUBSCRIBED_PER_CORE * cores(),
                cores(),
                worker,
                Some(latencies.clone()),
            ),
        }
    }

    /// Every variant, each with its own table or counter, bare first.
    fn variants(self) -> Vec<Variant> {
        if self == Scenario::Work {
            return work::variants();
        }
        let variant = |name, runner: fn(Scenario, &Latencies) -> (Runner, Option<Admin>)| {
            let latencies = Latencies::default();
            let (runner, admin) = runner(self, &latencies);
            Variant {
                name,
                runner,
                latencies,
                admin,
            }
        };
        vec![
            variant("bare", |s, l| (s.runner(hello(), l), None)),
            variant("inflight", |s, l| {
                let layer = inflight::InFlightLayer::with_table(inflight::Table::new());
                (s.runner(layer.layer(hello()), l), None)
            }),
            variant("inflight_admin", |s, l| {
                let table = inflight::Table::new();
                let admin = Admin::bind(&table);
                let layer = inflight::InFlightLayer::with_table(table);
                (
                    admin.metered(s.runner(layer.layer(hello()), l)),
                    Some(admin),
                )
            }),
            variant("inflight_request_extension", |s, l| {
                let layer = inflight::InFlightLayer::with_table(inflight::Table::new())
                    .request_extension(true);
                (s.runner(layer.layer(hello()), l), None)
            }),
            variant("tower_http_in_flight_requests", |s, l| {
                let layer = tower_http::metrics::InFlightRequestsLayer::pair().0;
                (s.runner(layer.layer(hello()), l), None)
            }),
            variant("tower_http_trace", |s, l| {
                let layer = tower_http::trace::TraceLayer::new_for_http();
                (s.runner(layer.layer(hello()), l), None)
            }),
        ]
    }
}

fn criterion_runs(c: &mut Criterion) {
    for scenario in Scenario::ALL {
        let mut group = c.benchmark_group(scenario.name());
        group
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        for mut variant in scenario.variants() {
            group.bench_function(variant.name, |b| b.iter_custom(&mut variant.runner));
        }
        group.finish();
    }
}

/// Every variant of every scenario in the same rounds, then the admin thread's cost and
/// the targets.
fn paired_summary(rounds: usize, batch: u64) {
    let mut results = targets::Results::default();
    paired::print_header(&format!(
        "paired summary: {rounds} rounds of {batch} requests per variant, order rotated; \
         oversubscribed: {} threads on {} cores",
        OVERSUBSCRIBED_PER_CORE * cores(),
        cores()
    ));
    // `INFLIGHT_BENCH_SCENARIOS=one_thread,oversubscribed` runs only those.
    let only = std::env::var("INFLIGHT_BENCH_SCENARIOS").ok();
    for scenario in Scenario::ALL {
        if only
            .as_deref()
            .is_some_and(|only| !only.split(',').any(|name| name == scenario.name()))
        {
            continue;
        }
        let mut variants = scenario.variants();
        let mut runners: Vec<&mut Runner> = variants.iter_mut().map(|v| &mut v.runner).collect();
        paired::warm_up(&mut runners, batch);
        for variant in &variants {
            variant.latencies.reset();
            if let Some(admin) = &variant.admin {
                admin.reset_marks();
            }
        }
        let mut runners: Vec<&mut Runner> = variants.iter_mut().map(|v| &mut v.runner).collect();
        let lines = paired::rounds(&mut runners, rounds, batch);
        for (variant, line) in variants.iter().zip(&lines) {
            paired::print_line(scenario.name(), variant.name, line);
            results.lines.push((scenario.name(), variant.name, *line));
        }
        // The whole cost with the admin port on: the request path, plus the admin thread's
        // CPU over the rounds spread over every request the variant served in them.
        for (variant, line) in variants.iter().zip(&lines) {
            if let Some(admin) = &variant.admin {
                let total = admin.cpu_over_rounds().map(|(cpu, batches)| {
                    targets::Total::new(line, cpu, batches as u64 * scenario.requests(batch))
                });
                targets::print_total(scenario.name(), variant.name, total.as_ref());
                results.totals.push((scenario.name(), variant.name, total));
            }
        }
        if scenario == Scenario::Oversubscribed {
            for variant in &variants {
                results
                    .latencies
                    .push((variant.name, variant.latencies.quantiles()));
            }
        }
        for variant in variants.iter_mut() {
            if let Some(admin) = &variant.admin {
                let runner = &mut variant.runner;
                let cost = admin::measure(admin, || {
                    runner(batch);
                    scenario.requests(batch)
                });
                results.admin.push((scenario.name(), cost));
            }
        }
    }
    results.print();
    results.save();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filter = args.iter().find(|a| !a.starts_with('-'));

    if filter.is_none_or(|f| f != "summary") {
        let mut criterion = Criterion::default().configure_from_args();
        criterion_runs(&mut criterion);
        criterion.final_summary();
    }

    if paired::benchmarking() && filter.is_none_or(|f| f == "summary") {
        let rounds = paired::env_number("INFLIGHT_BENCH_ROUNDS", 31);
        let batch = paired::env_number("INFLIGHT_BENCH_BATCH", 100_000);
        paired_summary(rounds as usize, batch);
    }
}
