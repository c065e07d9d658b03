//! How long does a look at the table take? `snapshot()` (with status history) and
//! `dump_text()` (the signal dump: snapshot without history, then text) of 10k, 100k and
//! 1M requests in flight.
//!
//! ```text
//! cargo bench --bench dump
//! ```
//!
//! The requests go through the real layer with 60-byte URIs, and their response bodies are
//! kept alive undrained, so each one stays in the table as a request writing its body.
//! How much a dump delays requests running at the same time is `benches/dump_stall.rs`.

mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode};
use inflight::Table;

fn dump(c: &mut Criterion) {
    let mut group = c.benchmark_group("dump");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    for (name, n, seconds) in [
        ("10k", 10_000, 3),
        ("100k", 100_000, 5),
        ("1M", 1_000_000, 10),
    ] {
        let table = Table::new();
        let bodies = support::fill(&table, n);
        group.measurement_time(Duration::from_secs(seconds));
        let mut out = Vec::new();
        group.bench_function(format!("dump_text/{name}"), |b| {
            b.iter(|| {
                out.clear();
                table.dump_text(&mut out).expect("writing to a Vec");
                black_box(out.len())
            })
        });
        group.bench_function(format!("snapshot/{name}"), |b| {
            b.iter(|| black_box(table.snapshot()))
        });
        drop(bodies);
        assert!(table.is_empty());
    }
    group.finish();
}

fn main() {
    assert_eq!(support::uri60(0).len(), 60);
    let mut criterion = Criterion::default().configure_from_args();
    dump(&mut criterion);
    criterion.final_summary();
}
