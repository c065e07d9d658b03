//! Walking a full table, as a dump or snapshot does, and what that does to a writer.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use crate::maps::{DashTable, EntryLike, SlabTable};
use crate::support::latency::{Latencies, Quantiles};
use crate::support::{self, request, uri60};

/// `n` requests with 60-byte URIs in a `DashMap`, kept there.
pub fn dash_filled(n: usize) -> DashTable {
    let table = DashTable::default();
    for i in 0..n {
        let (_, entry) = table.insert(0, &request(&uri60(i)));
        drop(entry);
    }
    table
}

/// `n` requests with 60-byte URIs in a slab, kept there.
pub fn slab_filled(n: usize) -> SlabTable {
    let table = SlabTable::default();
    for i in 0..n {
        drop(table.insert(0, &request(&uri60(i))));
    }
    table
}

/// The walk a dump does on a `DashMap`: each entry's `Arc` copied out under its shard's
/// read lock, then each entry's id, method and URI copied into `out`.
pub fn walk_dash(table: &DashTable, out: &mut Vec<u8>) -> usize {
    let mut entries = Vec::with_capacity(table.map.len());
    entries.extend(table.map.iter().map(|e| e.value().clone()));
    write_lines(&entries, out)
}

/// The same walk on a slab. A `Slab` can only be iterated through `&mut`, with no
/// request running: a live table could not walk it at all.
pub fn walk_slab(table: &mut SlabTable, out: &mut Vec<u8>) -> usize {
    let slab = Arc::get_mut(&mut table.slab).expect("no other user of the slab");
    // A slab does not know its length: the Vec grows as it goes.
    let entries: Vec<Arc<EntryLike>> = slab.unique_iter().cloned().collect();
    write_lines(&entries, out)
}

fn write_lines(entries: &[Arc<EntryLike>], out: &mut Vec<u8>) -> usize {
    out.clear();
    for entry in entries {
        entry.write_line(out);
    }
    black_box(&out);
    entries.len()
}

/// A writer's latencies without and with a walker, and how the walks went.
pub struct Stall {
    pub quiet: Quantiles,
    pub walking: Quantiles,
    pub walks: u64,
    pub walk_mean: Duration,
}

/// One thread runs `write` in a loop, timing each call; another runs `walk` over and over
/// during every other phase of `phase`, for `rounds` rounds.
pub fn stall(
    rounds: usize,
    phase: Duration,
    walk: impl FnMut() + Send,
    mut write: impl FnMut(),
) -> Stall {
    let walking = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let walks = AtomicU64::new(0);
    let walk_nanos = AtomicU64::new(0);
    let (quiet, busy) = (Latencies::default(), Latencies::default());
    std::thread::scope(|scope| {
        let (walking, stop, walks, walk_nanos) = (&walking, &stop, &walks, &walk_nanos);
        let mut walk = walk;
        scope.spawn(move || {
            while !stop.load(SeqCst) {
                if !walking.load(SeqCst) {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                let started = Instant::now();
                walk();
                walk_nanos.fetch_add(started.elapsed().as_nanos() as u64, SeqCst);
                walks.fetch_add(1, SeqCst);
            }
        });
        let mut serve = |into: &Latencies| {
            let deadline = Instant::now() + phase;
            while Instant::now() < deadline {
                into.time(1024, &mut write);
            }
        };
        for _ in 0..rounds {
            serve(&quiet);
            walking.store(true, SeqCst);
            // The walker looks at the flag every millisecond: measure once it runs.
            std::thread::sleep(Duration::from_millis(3));
            serve(&busy);
            walking.store(false, SeqCst);
            let last = walks.load(SeqCst);
            while walks.load(SeqCst) == last {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        stop.store(true, SeqCst);
    });
    let count = walks.load(SeqCst);
    Stall {
        quiet: quiet.quantiles(),
        walking: busy.quantiles(),
        walks: count,
        walk_mean: Duration::from_nanos(walk_nanos.load(SeqCst) / count.max(1)),
    }
}

/// Walk times of each structure, and the writer stall under a walk for the `DashMap` and
/// for inflight's table (whose walk is its text dump).
pub fn report(entries: usize, rounds: usize, phase: Duration) {
    println!();
    println!("walking {entries} entries (best of 3)");
    let mut out = Vec::new();
    let best = |f: &mut dyn FnMut()| {
        (0..3)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed()
            })
            .min()
            .expect("three runs")
    };
    let dash = dash_filled(entries);
    let took = best(&mut || {
        walk_dash(&dash, &mut out);
    });
    println!(
        "{:<44} {:>8.1} ms",
        "dashmap: Arcs out, then lines",
        ms(took)
    );
    let mut slab = slab_filled(entries);
    let took = best(&mut || {
        walk_slab(&mut slab, &mut out);
    });
    println!(
        "{:<44} {:>8.1} ms",
        "sharded_slab: same, through &mut only",
        ms(took)
    );
    drop(slab);
    let table = inflight::Table::new();
    let held = support::fill(&table, entries);
    let took = best(&mut || {
        out.clear();
        table.dump_text(&mut out).expect("writing to a Vec");
    });
    println!(
        "{:<44} {:>8.1} ms",
        "inflight: dump_text (sorted, as text)",
        ms(took)
    );

    println!();
    println!(
        "writer latency (ns) with {entries} in flight, {rounds} rounds of {phase:?} without and with a walker"
    );
    println!(
        "{:<30} {:>10} {:>7} {:>7} {:>8} {:>11}",
        "map, phase", "requests", "p50", "p99", "p99.9", "max"
    );
    let mut service = support::hello();
    let clock = crate::support::latency::clock();
    let writer = dash.clone();
    let result = stall(
        rounds,
        phase,
        || {
            walk_dash(&dash, &mut Vec::new());
        },
        || writer.request(&mut service, clock.raw(), request("/hello?x=1")),
    );
    print_stall("dashmap", &result);
    drop((dash, writer));
    let mut service = support::tracked(&table);
    let result = stall(
        rounds,
        phase,
        || {
            table.dump_text(&mut Vec::new()).expect("writing to a Vec");
        },
        || support::call_and_drain(&mut service, request("/hello?x=1")),
    );
    print_stall("inflight (dump_text)", &result);
    drop(held);
}

fn print_stall(name: &str, stall: &Stall) {
    for (phase, q) in [("no walk", &stall.quiet), ("walking", &stall.walking)] {
        println!(
            "{:<30} {:>10} {:>7} {:>7} {:>8} {:>11}",
            format!("{name}, {phase}"),
            q.count,
            q.p50,
            q.p99,
            q.p999,
            q.max
        );
    }
    println!(
        "{:<30} longest writer stall while walking {:.2} ms ({} walks of {:.1} ms on average)",
        name,
        stall.walking.max as f64 / 1e6,
        stall.walks,
        ms(stall.walk_mean)
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
