//! Paired rounds: every variant of a scenario runs in the same rounds, order rotated, and
//! is reported as the median of its per-round differences against the first variant (the
//! bare service). On a shared machine these differences hold up far better than the
//! difference of two separate runs.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use super::latency::Latencies;

/// Runs a batch of `n` requests (on each core's worth of threads) and says how long it
/// took.
pub type Runner = Box<dyn FnMut(u64) -> Duration>;

/// `request` in a loop on the calling thread.
pub fn one_thread(mut request: impl FnMut() + 'static) -> Runner {
    Box::new(move |n| {
        let started = Instant::now();
        for _ in 0..n {
            request();
        }
        started.elapsed()
    })
}

/// `threads` threads at once sharing the work of `cores` threads of `n` requests each:
/// each runs `n * cores / threads` requests, and the batch's time is the wall time from
/// the first thread's start to the last one's end. So with `cores` equal to the cores
/// there are, ns per request is what each core spends on one request, however many
/// threads share them. `make` gives each thread its worker (a service clone). With
/// `latencies`, each request is timed on its own and recorded there.
pub fn on_threads<W>(
    threads: usize,
    cores: usize,
    make: impl Fn() -> W + 'static,
    latencies: Option<Latencies>,
) -> Runner
where
    W: FnMut() + Send,
{
    Box::new(move |n| {
        let per_thread = (n * cores as u64 / threads as u64).max(1);
        let barrier = Barrier::new(threads);
        let spans: Vec<(Instant, Instant)> = std::thread::scope(|scope| {
            let running: Vec<_> = (0..threads)
                .map(|_| {
                    let mut worker = make();
                    let (barrier, latencies) = (&barrier, latencies.as_ref());
                    scope.spawn(move || {
                        barrier.wait();
                        let started = Instant::now();
                        match latencies {
                            None => (0..per_thread).for_each(|_| worker()),
                            Some(latencies) => latencies.time(per_thread, &mut worker),
                        }
                        (started, Instant::now())
                    })
                })
                .collect();
            running
                .into_iter()
                .map(|thread| thread.join().expect("bench thread"))
                .collect()
        });
        let first = spans.iter().map(|span| span.0).min().expect("threads ran");
        let last = spans.iter().map(|span| span.1).max().expect("threads ran");
        // Scaled back to `n` when `n * cores` does not divide evenly.
        (last - first).mul_f64(n as f64 * cores as f64 / (per_thread * threads as u64) as f64)
    })
}

/// One variant's line: median ns per request, and the median and quartiles of
/// (variant − first variant) over the rounds.
#[derive(Clone, Copy, Debug)]
pub struct Line {
    pub ns: f64,
    pub added: f64,
    pub added_p25: f64,
    pub added_p75: f64,
}

/// A quarter batch on every runner: faults in pages, fills slabs and pools, settles
/// clocks.
pub fn warm_up(runners: &mut [&mut Runner], batch: u64) {
    for runner in runners.iter_mut() {
        runner(batch / 4);
    }
}

/// Runs `rounds` rounds of `batch` requests on every runner, order rotated; returns one
/// line per runner, the first being the reference.
pub fn rounds(runners: &mut [&mut Runner], rounds: usize, batch: u64) -> Vec<Line> {
    let count = runners.len();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); count];
    for round in 0..rounds {
        for k in 0..count {
            let index = (round + k) % count;
            let elapsed = (runners[index])(batch);
            times[index].push(elapsed.as_nanos() as f64 / batch as f64);
        }
    }
    times
        .iter()
        .map(|own| {
            let mut added: Vec<f64> = own.iter().zip(&times[0]).map(|(v, b)| v - b).collect();
            Line {
                ns: quantile(&mut own.clone(), 0.5),
                added: quantile(&mut added, 0.5),
                added_p25: quantile(&mut added, 0.25),
                added_p75: quantile(&mut added, 0.75),
            }
        })
        .collect()
}

pub fn print_header(title: &str) {
    println!();
    println!("{title}");
    println!(
        "{:<16} {:<30} {:>10} {:>10} {:>16}",
        "scenario", "variant", "ns/req", "added ns", "added ns p25-p75"
    );
}

pub fn print_line(scenario: &str, variant: &str, line: &Line) {
    println!(
        "{:<16} {:<30} {:>10.1} {:>10.1} {:>7.1} .. {:>6.1}",
        scenario, variant, line.ns, line.added, line.added_p25, line.added_p75
    );
}

pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let index = ((values.len() - 1) as f64 * q).round() as usize;
    values[index]
}

/// A number from the environment, or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `cargo bench` passes `--bench`; `cargo test --benches` passes neither or `--test`.
pub fn benchmarking() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}
