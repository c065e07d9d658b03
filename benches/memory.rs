//! How much memory does one request in flight cost? Counts what the table keeps: requests
//! go through the layer, the request is dropped by the service as usual, and only the
//! response body is held (in a vector allocated beforehand, so it is not counted).
//!
//! ```text
//! cargo bench --bench memory
//! ```
//!
//! A counting global allocator reports the bytes asked for, and on glibc also what malloc
//! really set aside (`malloc_usable_size` plus the 8-byte chunk header).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use inflight::Table;

static REQUESTED: AtomicIsize = AtomicIsize::new(0);
static USABLE: AtomicIsize = AtomicIsize::new(0);
static CHUNKS: AtomicIsize = AtomicIsize::new(0);

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    fn malloc_usable_size(ptr: *mut std::ffi::c_void) -> usize;
}

/// What malloc set aside for a block of `size` bytes at `ptr`.
fn usable(ptr: *mut u8, size: usize) -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let _ = size;
        // SAFETY: `ptr` is a live block from the system allocator (malloc on glibc).
        unsafe { malloc_usable_size(ptr.cast()) }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = ptr;
        size
    }
}

fn count(ptr: *mut u8, size: usize, sign: isize) {
    REQUESTED.fetch_add(sign * size as isize, Relaxed);
    USABLE.fetch_add(sign * usable(ptr, size) as isize, Relaxed);
    CHUNKS.fetch_add(sign, Relaxed);
}

struct Counting;

// SAFETY: every call is forwarded to `System`; the counting only reads the blocks' sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(ptr, layout.size(), 1);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(ptr, layout.size(), 1);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(ptr, layout.size(), -1);
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(ptr, layout.size(), -1);
        // SAFETY: forwarded as is.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if new.is_null() {
            // The old block is still there.
            count(ptr, layout.size(), 1);
        } else {
            count(new, new_size, 1);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[derive(Clone, Copy)]
struct Counters {
    requested: isize,
    usable: isize,
    chunks: isize,
}

fn counters() -> Counters {
    Counters {
        requested: REQUESTED.load(Relaxed),
        usable: USABLE.load(Relaxed),
        chunks: CHUNKS.load(Relaxed),
    }
}

/// Bytes per request that the table keeps for `n` requests with targets from `uri`.
fn measure(name: &str, n: usize, uri: impl Fn(usize) -> String) {
    let table = Table::new();
    let mut service = support::tracked(&table);
    let uris: Vec<String> = (0..n).map(&uri).collect();
    let mut bodies = Vec::with_capacity(n);
    let before = counters();
    for uri in &uris {
        let response = support::start(&mut service, support::request(uri));
        bodies.push(response.into_body());
    }
    let after = counters();
    assert_eq!(table.len(), n);
    let per = |value: isize| value as f64 / n as f64;
    let requested = per(after.requested - before.requested);
    let usable = per(after.usable - before.usable);
    let chunks = per(after.chunks - before.chunks);
    // glibc puts an 8-byte size header in front of every chunk.
    let footprint = usable + 8.0 * chunks;
    println!(
        "{name:<28} {:>10} {:>10.1} {:>10.1} {:>12.1} {:>8.3}",
        uri(0).len(),
        requested,
        usable,
        footprint,
        chunks
    );
    drop(bodies);
    assert!(table.is_empty());
}

/// Bytes per kept record of a completed request: `n` requests end and are all kept, in a
/// table that keeps `n` records. What the table holds afterwards, less what it held
/// with none ended, per request.
fn measure_kept(n: usize) {
    // The requests all end on this thread, so in one of the eight shards: room for all of
    // them there.
    let table = Table::builder()
        .shards(8)
        .kept_records(n * 8)
        .keep_fraction(1.0)
        .build();
    let mut service = support::tracked(&table);
    let uris: Vec<String> = (0..n).map(support::uri60).collect();
    let before = counters();
    for uri in &uris {
        support::call_and_drain(&mut service, support::request(uri));
    }
    let after = counters();
    let kept = table.kept_counts();
    assert_eq!(kept.ended, n as u64);
    assert_eq!(kept.kept, n as u64);
    let per = |value: isize| value as f64 / n as f64;
    assert_eq!(kept.held, n);
    println!(
        "kept records, {n} completed requests, all held: {:.1} bytes requested, {:.1} with \
         malloc's headers, per record",
        per(after.requested - before.requested),
        per(after.usable - before.usable + 8 * (after.chunks - before.chunks)),
    );
}

fn main() {
    let n = 100_000;
    println!("bytes per request in flight, {n} requests");
    println!(
        "{:<28} {:>10} {:>10} {:>10} {:>12} {:>8}",
        "uri", "uri bytes", "requested", "usable", "with header", "blocks"
    );
    measure("60-byte path and query", n, support::uri60);
    measure("1-byte path", n, |_| "/".to_owned());
    measure("100-byte path and query", n, |i| {
        format!(
            "{}&filter=created-after-2024&v=12345678901",
            support::uri60(i)
        )
    });
    measure_kept(n);
}
