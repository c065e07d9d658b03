//! Does a dump stall requests? One thread serves requests in a loop (call + body drain
//! through the layer) while another dumps a table of 1M requests in flight over and over;
//! the serving thread's per-request latency is compared with and without the dump running.
//!
//! ```text
//! cargo bench --bench dump_stall       # 9 runs of 3 rounds of 4 s per phase (about 4 min)
//! INFLIGHT_STALL_RUNS=3 INFLIGHT_STALL_ENTRIES=100000 INFLIGHT_STALL_ROUNDS=5 cargo bench --bench dump_stall
//! ```
//!
//! Each run starts from a fresh table. The end gives each run's longest writer stall
//! without a dump (the machine's own noise) beside the one while dumping, and the
//! verdict: in how many runs no writer stalled over 5 ms while dumping, and without.
//!
//! The 1M requests are put in flight from the serving thread itself, so they sit in the
//! shard it registers into: the dump walks the very shard the writer needs (the worst
//! case; a server's workers spread over several shards). Rounds alternate quiet and dump
//! phases, so both see the same background noise.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use inflight::Table;

/// A writer stall longer than this in any run misses the target.
const STALL_LIMIT: Duration = Duration::from_millis(5);

struct Options {
    runs: usize,
    entries: usize,
    rounds: usize,
    phase: Duration,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let benchmarking = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    if benchmarking {
        Options {
            runs: number("INFLIGHT_STALL_RUNS", 9) as usize,
            entries: number("INFLIGHT_STALL_ENTRIES", 1_000_000) as usize,
            rounds: number("INFLIGHT_STALL_ROUNDS", 3) as usize,
            phase: Duration::from_millis(number("INFLIGHT_STALL_PHASE_MS", 4_000)),
        }
    } else {
        // `cargo test --benches`: check that it runs, quickly.
        Options {
            runs: 1,
            entries: 10_000,
            rounds: 1,
            phase: Duration::from_millis(100),
        }
    }
}

/// Latencies of one kind of phase, in nanoseconds.
#[derive(Default)]
struct Latencies(Vec<u64>);

impl Latencies {
    fn report(&mut self, name: &str) -> (u64, u64) {
        let values = &mut self.0;
        values.sort_unstable();
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        let (p999, max) = (at(0.999), at(1.0));
        println!(
            "{name:<12} {:>10} {:>9} {:>9} {:>9} {:>10} {:>10}",
            values.len(),
            at(0.5),
            at(0.99),
            p999,
            at(0.9999),
            max
        );
        (p999, max)
    }
}

/// What one run measured, in ns.
struct Run {
    quiet_max: u64,
    busy_max: u64,
    p999_ratio: f64,
}

fn main() {
    let options = options();
    let runs: Vec<Run> = (1..=options.runs)
        .map(|number| {
            println!("\nrun {number} of {}", options.runs);
            run(&options)
        })
        .collect();
    println!();
    println!(
        "{:<5} {:>14} {:>14} {:>24}",
        "run", "max, no dump", "max, dumping", "p99.9 dumping / no dump"
    );
    for (number, run) in runs.iter().enumerate() {
        println!(
            "{:<5} {:>11.2} ms {:>11.2} ms {:>23.2}x",
            number + 1,
            run.quiet_max as f64 / 1e6,
            run.busy_max as f64 / 1e6,
            run.p999_ratio
        );
    }
    let limit = STALL_LIMIT.as_nanos() as u64;
    let within = |max: fn(&Run) -> u64| runs.iter().filter(|run| max(run) <= limit).count();
    let longest = |max: fn(&Run) -> u64| runs.iter().map(max).max().unwrap_or(0) as f64 / 1e6;
    let (dumping, quiet) = (within(|run| run.busy_max), within(|run| run.quiet_max));
    println!(
        "no writer stall over {} ms in {dumping} of {} runs while dumping (longest {:.2} ms): {}",
        STALL_LIMIT.as_millis(),
        runs.len(),
        longest(|run| run.busy_max),
        if dumping == runs.len() {
            "target met"
        } else {
            "target not met"
        }
    );
    // The machine's own pauses: what the same writer sees with no dump running.
    println!(
        "no writer stall over {} ms in {quiet} of {} runs without a dump (longest {:.2} ms)",
        STALL_LIMIT.as_millis(),
        runs.len(),
        longest(|run| run.quiet_max),
    );
}

/// One run: a fresh table of `entries` requests, then quiet and dump phases in turn.
fn run(options: &Options) -> Run {
    let table = Table::new();
    let held = support::fill(&table, options.entries);
    let mut service = support::tracked(&table);
    let uris: Vec<String> = (0..1024).map(support::uri60).collect();

    let dumping = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let dumps_done = AtomicU64::new(0);
    let dump_nanos = AtomicU64::new(0);
    let dump_max = AtomicU64::new(0);

    let mut quiet = Latencies::default();
    let mut busy = Latencies::default();

    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut out = Vec::new();
            while !stop.load(SeqCst) {
                if !dumping.load(SeqCst) {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                out.clear();
                let started = Instant::now();
                table.dump_text(&mut out).expect("writing to a Vec");
                let took = started.elapsed().as_nanos() as u64;
                dump_nanos.fetch_add(took, SeqCst);
                dump_max.fetch_max(took, SeqCst);
                dumps_done.fetch_add(1, SeqCst);
            }
        });

        let mut serve = |into: &mut Latencies| {
            let deadline = Instant::now() + options.phase;
            let mut i = 0usize;
            loop {
                let request = support::request(&uris[i % uris.len()]);
                let started = Instant::now();
                support::call_and_drain(&mut service, request);
                into.0.push(started.elapsed().as_nanos() as u64);
                i += 1;
                if i % 1024 == 0 && Instant::now() >= deadline {
                    break;
                }
            }
        };

        for _ in 0..options.rounds {
            serve(&mut quiet);
            dumping.store(true, SeqCst);
            // The dumper looks at the flag every millisecond: start measuring once it runs.
            std::thread::sleep(Duration::from_millis(3));
            serve(&mut busy);
            dumping.store(false, SeqCst);
            // Let the last dump finish before the next quiet phase.
            let last = dumps_done.load(SeqCst);
            while dumps_done.load(SeqCst) == last {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        stop.store(true, SeqCst);
    });

    let dumps = dumps_done.load(SeqCst).max(1);
    println!(
        "writer latency (ns) with {} requests in flight in the writer's shard, {} rounds of {:?} per phase",
        options.entries, options.rounds, options.phase
    );
    println!(
        "{:<12} {:>10} {:>9} {:>9} {:>9} {:>10} {:>10}",
        "phase", "requests", "p50", "p99", "p99.9", "p99.99", "max"
    );
    let (quiet_p999, quiet_max) = quiet.report("no dump");
    let (busy_p999, busy_max) = busy.report("dumping");
    println!(
        "dumps: {} of {} entries, mean {:.1} ms, max {:.1} ms",
        dumps_done.load(SeqCst),
        options.entries,
        dump_nanos.load(SeqCst) as f64 / dumps as f64 / 1e6,
        dump_max.load(SeqCst) as f64 / 1e6
    );
    let p999_ratio = busy_p999 as f64 / quiet_p999.max(1) as f64;
    println!(
        "p99.9 dumping / no dump: {p999_ratio:.2}x; max no dump {:.2} ms, dumping {:.2} ms",
        quiet_max as f64 / 1e6,
        busy_max as f64 / 1e6
    );
    drop(held);
    Run {
        quiet_max,
        busy_max,
        p999_ratio,
    }
}
