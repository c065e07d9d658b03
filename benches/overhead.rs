//! What does tracking add to a request? Call + body drain of a trivial service, bare and
//! behind each layer, on one thread, on two threads at once, and with 100k requests
//! already in flight.
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
//! separate criterion runs.

mod support;

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use http::Response;
use http_body::Body;
use tower::{Layer, Service};

use support::{Req, call_and_drain, hello, request, start};

/// In flight during the "100k in flight" scenario.
const HELD: usize = 100_000;

/// Runs a batch of `n` requests and says how long it took (on the slower thread when
/// several run at once).
type Runner = Box<dyn FnMut(u64) -> Duration>;

/// One request: build it, call the service, drain the body.
#[inline]
fn one<S, B>(service: &mut S)
where
    S: Service<Req, Response = Response<B>>,
    B: Body,
{
    call_and_drain(service, request("/hello?x=1"));
}

fn one_thread<S, B>(mut service: S) -> Runner
where
    S: Service<Req, Response = Response<B>> + 'static,
    B: Body,
{
    Box::new(move |n| {
        let started = Instant::now();
        for _ in 0..n {
            one(&mut service);
        }
        started.elapsed()
    })
}

fn two_threads<S, B>(service: S) -> Runner
where
    S: Service<Req, Response = Response<B>> + Clone + Send + 'static,
    B: Body,
{
    Box::new(move |n| {
        let barrier = Barrier::new(2);
        std::thread::scope(|scope| {
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let mut service = service.clone();
                    let barrier = &barrier;
                    scope.spawn(move || {
                        barrier.wait();
                        let started = Instant::now();
                        for _ in 0..n {
                            one(&mut service);
                        }
                        started.elapsed()
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|thread| thread.join().expect("bench thread"))
                .max()
                .unwrap_or_default()
        })
    })
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    OneThread,
    TwoThreads,
    Held,
}

impl Scenario {
    const ALL: [Scenario; 3] = [Scenario::OneThread, Scenario::TwoThreads, Scenario::Held];

    fn name(self) -> &'static str {
        match self {
            Scenario::OneThread => "one_thread",
            Scenario::TwoThreads => "two_threads",
            Scenario::Held => "100k_in_flight",
        }
    }

    fn runner<S, B>(self, service: S) -> Runner
    where
        S: Service<Req, Response = Response<B>> + Clone + Send + 'static,
        B: Body + 'static,
    {
        match self {
            Scenario::OneThread => one_thread(service),
            Scenario::TwoThreads => two_threads(service),
            Scenario::Held => with_held(service),
        }
    }

    /// Every variant, each with its own table or counter, bare first.
    fn variants(self) -> Vec<(&'static str, Runner)> {
        let table = || inflight::Table::new();
        vec![
            ("bare", self.runner(hello())),
            (
                "inflight",
                self.runner(inflight::InFlightLayer::with_table(table()).layer(hello())),
            ),
            (
                "inflight_request_extension",
                self.runner(
                    inflight::InFlightLayer::with_table(table())
                        .request_extension(true)
                        .layer(hello()),
                ),
            ),
            (
                "tower_http_in_flight_requests",
                self.runner(
                    tower_http::metrics::InFlightRequestsLayer::pair()
                        .0
                        .layer(hello()),
                ),
            ),
            (
                "tower_http_trace",
                self.runner(tower_http::trace::TraceLayer::new_for_http().layer(hello())),
            ),
        ]
    }
}

fn criterion_runs(c: &mut Criterion) {
    for scenario in Scenario::ALL {
        let mut group = c.benchmark_group(scenario.name());
        group
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        for (name, mut runner) in scenario.variants() {
            bench(&mut group, name, &mut runner);
        }
        group.finish();
    }
}

fn bench(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, runner: &mut Runner) {
    group.bench_function(name, |b| b.iter_custom(&mut *runner));
}

/// Every variant of every scenario in the same rounds: median ns per request, and the
/// median over rounds of (variant − bare) measured in that round.
fn paired_summary(rounds: usize, batch: u64) {
    println!();
    println!("paired summary: {rounds} rounds of {batch} requests per variant, order rotated");
    println!(
        "{:<16} {:<30} {:>10} {:>10} {:>16}",
        "scenario", "variant", "ns/req", "added ns", "added ns p25-p75"
    );
    for scenario in Scenario::ALL {
        let mut variants = scenario.variants();
        // Warm up: fault in pages, fill slabs, settle clocks.
        for (_, runner) in variants.iter_mut() {
            runner(batch / 4);
        }
        let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); variants.len()];
        for round in 0..rounds {
            let count = variants.len();
            for k in 0..count {
                let index = (round + k) % count;
                let elapsed = (variants[index].1)(batch);
                times[index].push(elapsed.as_nanos() as f64 / batch as f64);
            }
        }
        for (index, (name, _)) in variants.iter().enumerate() {
            let mut added: Vec<f64> = times[index]
                .iter()
                .zip(&times[0])
                .map(|(variant, bare)| variant - bare)
                .collect();
            let mut own = times[index].clone();
            println!(
                "{:<16} {:<30} {:>10.1} {:>10.1} {:>7.1} .. {:>6.1}",
                scenario.name(),
                name,
                quantile(&mut own, 0.5),
                quantile(&mut added, 0.5),
                quantile(&mut added, 0.25),
                quantile(&mut added, 0.75),
            );
        }
    }
}

fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let index = ((values.len() - 1) as f64 * q).round() as usize;
    values[index]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let benchmarking = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    let filter = args.iter().find(|a| !a.starts_with('-'));

    if filter.is_none_or(|f| f != "summary") {
        let mut criterion = Criterion::default().configure_from_args();
        criterion_runs(&mut criterion);
        criterion.final_summary();
    }

    if benchmarking && filter.is_none_or(|f| f == "summary") {
        let rounds = env_number("INFLIGHT_BENCH_ROUNDS", 31);
        let batch = env_number("INFLIGHT_BENCH_BATCH", 100_000);
        paired_summary(rounds as usize, batch);
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
