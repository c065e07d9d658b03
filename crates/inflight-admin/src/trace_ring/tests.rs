//! The ring's bounds and index, and its memory per kept request, counted by an allocator
//! that counts what the test's own thread allocates and frees.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use inflight_core::{InFlightLayer, Subscription, Table, TraceContext};
use tower::{Layer, ServiceExt};

use super::*;
use crate::families::Families;

thread_local! {
    /// Bytes asked for, net, by this thread.
    static REQUESTED: Cell<isize> = const { Cell::new(0) };
    /// What malloc set aside for them, net, by this thread.
    static USABLE: Cell<isize> = const { Cell::new(0) };
    /// Off while timing, so the counting does not add to the time.
    static COUNTING: Cell<bool> = const { Cell::new(true) };
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
unsafe extern "C" {
    fn malloc_usable_size(ptr: *mut std::ffi::c_void) -> usize;
}

/// What malloc set aside for a block of `size` bytes at `ptr`, with its 8-byte header.
#[allow(unsafe_code)]
fn usable(ptr: *mut u8, size: usize) -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let _ = size;
        // SAFETY: `ptr` is a live block from the system allocator (malloc on glibc).
        unsafe { malloc_usable_size(ptr.cast()) + 8 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = ptr;
        size
    }
}

fn count(ptr: *mut u8, size: usize, sign: isize) {
    if !COUNTING.try_with(Cell::get).unwrap_or(false) {
        return;
    }
    // A thread being torn down has no counters left; its blocks are not the ring's.
    let _ = REQUESTED.try_with(|bytes| bytes.set(bytes.get() + sign * size as isize));
    let _ = USABLE.try_with(|bytes| bytes.set(bytes.get() + sign * usable(ptr, size) as isize));
}

struct Counting;

// SAFETY: every call is forwarded to `System`; the counting only reads the blocks' sizes.
#[allow(unsafe_code)]
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
            count(ptr, layout.size(), 1);
        } else {
            count(new, new_size, 1);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn counted() -> (isize, isize) {
    (REQUESTED.with(Cell::get), USABLE.with(Cell::get))
}

/// Sends `count` requests through the layer, one trace each (or all of `trace`), the way a
/// typical service sees them: a short URL with a query and a route, two statuses of the
/// handler's own and an attribute.
fn requests(table: &Table, count: usize, trace: Option<TraceContext>) {
    send(table, count, trace, true);
}

/// Like [`requests`]; with `read` false the response is dropped unread.
fn send(table: &Table, count: usize, trace: Option<TraceContext>, read: bool) {
    let service = InFlightLayer::with_table(table.clone()).layer(tower::service_fn(
        |_request: http::Request<Full<Bytes>>| async {
            inflight_core::set_route("/api/orders/{id}");
            inflight_core::set_status("loading order");
            inflight_core::set_attr("customer", "c-4711");
            inflight_core::set_status("rendering");
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"{}"))))
        },
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for n in 0..count {
            let context = trace.unwrap_or_else(TraceContext::new_root);
            let request = http::Request::get(format!("/api/orders/{}?page=2", 100_000 + n))
                .header("traceparent", context.traceparent())
                .body(Full::new(Bytes::new()))
                .expect("a valid request");
            let response = service.clone().oneshot(request).await.expect("infallible");
            if read {
                let _ = response.into_body().collect().await;
            }
        }
    });
}

/// Drains into `ring`; returns the bytes (asked for, set aside) that recording kept.
fn record(
    ended: &mut Subscription,
    ring: &mut TraceRing,
    families: &mut Families,
) -> (isize, isize) {
    let mut grew = (0, 0);
    ended.drain(|batch| {
        let of: Vec<usize> = batch.iter().map(|r| families.of(r)).collect();
        let before = counted();
        ring.record(batch, &of);
        let after = counted();
        grew = (after.0 - before.0, after.1 - before.1);
    });
    grew
}

#[test]
fn keeps_the_newest_up_to_its_count_and_finds_them_by_trace() {
    let table = Table::new();
    let mut ended = table.subscribe();
    let mut ring = TraceRing::new(4, Duration::from_secs(3600));
    let mut families = Families::default();
    let mine = TraceContext::new_root();
    requests(&table, 3, Some(mine));
    requests(&table, 2, None);
    record(&mut ended, &mut ring, &mut families);
    assert_eq!(ring.len(), 4);
    // The first of the three is gone; the index no longer names it.
    let uris: Vec<String> = ring
        .of(mine.trace_id)
        .map(|hop| hop.to_wire(&families).request.uri)
        .collect();
    assert_eq!(
        uris,
        ["/api/orders/100001?page=2", "/api/orders/100002?page=2"]
    );
    requests(&table, 4, None);
    record(&mut ended, &mut ring, &mut families);
    assert_eq!(ring.of(mine.trace_id).count(), 0);
    assert_eq!(ring.index.len(), 4, "one trace each, nothing left behind");
    ring.expire(Instant::now() + Duration::from_secs(3600));
    assert_eq!(ring.len(), 0);
    assert!(ring.index.is_empty());
}

#[test]
fn completed_requests_are_kept_compact_and_the_others_whole() {
    let table = Table::new();
    let mut ended = table.subscribe();
    let mut ring = TraceRing::new(8, Duration::from_secs(3600));
    let mut families = Families::default();
    let trace = TraceContext::new_root();
    send(&table, 1, Some(trace), true);
    send(&table, 1, Some(trace), false);
    record(&mut ended, &mut ring, &mut families);
    let hops: Vec<&Hop> = ring.of(trace.trace_id).collect();
    assert!(matches!(hops[0], Hop::Compact(_)));
    assert!(matches!(hops[1], Hop::Whole(_)));
    let [compact, whole] = [hops[0].to_wire(&families), hops[1].to_wire(&families)];
    assert_eq!(compact.ending.as_str(), "completed");
    assert_eq!(whole.ending.as_str(), "dropped_early");
    for finished in [&compact, &whole] {
        let request = &finished.request;
        assert_eq!(request.trace_id, trace.trace_id.to_string());
        assert_eq!(request.parent_span_id, Some(trace.span_id.to_string()));
        assert_eq!(request.uri, "/api/orders/100000?page=2");
        assert_eq!(request.method, "GET");
        assert_eq!(request.response_status, Some(200));
    }
    // The whole copy keeps its status history; the compact one only its ending.
    let history = whole.request.history.as_ref().expect("a history");
    let statuses: Vec<&str> = history.iter().map(|t| t.status.as_str()).collect();
    assert_eq!(statuses[..3], ["in handler", "loading order", "rendering"]);
    assert_eq!(whole.request.status, *statuses.last().unwrap());
    assert!(history.windows(2).all(|w| w[0].offset_ms <= w[1].offset_ms));
    assert!(history[0].offset_ms >= 0.0);
    assert!(whole.request.elapsed_ms >= history.last().unwrap().offset_ms);
    assert_eq!(compact.request.history, None);
    assert_eq!(compact.request.status, "completed");
    assert_eq!(compact.request.route.as_deref(), Some("/api/orders/{id}"));
    // The whole copy keeps what the compact one leaves out.
    assert_eq!(whole.request.attributes["customer"], "c-4711");
    assert!(compact.request.attributes.is_empty());
}

#[test]
fn a_ring_of_none_copies_nothing() {
    let table = Table::new();
    let mut ended = table.subscribe();
    let mut ring = TraceRing::new(0, Duration::from_secs(3600));
    let mut families = Families::default();
    requests(&table, 10, None);
    let grew = record(&mut ended, &mut ring, &mut families);
    assert_eq!(grew, (0, 0));
    assert_eq!(ring.len(), 0);
}

/// The figure in the docs and `benches/README.md`: `cargo test -p inflight-admin --lib
/// bytes_per_kept_request -- --nocapture`.
#[test]
fn bytes_per_kept_request() {
    const KEPT: usize = 4096;
    let table = Table::new();
    let mut ended = table.subscribe();
    let mut ring = TraceRing::new(KEPT, Duration::from_secs(3600));
    let mut families = Families::default();
    let (mut requested, mut usable) = (0, 0);
    // In batches, so no shard's queue of ended requests fills between two drains.
    for _ in 0..KEPT / 512 {
        requests(&table, 512, None);
        let grew = record(&mut ended, &mut ring, &mut families);
        requested += grew.0;
        usable += grew.1;
    }
    assert_eq!(ring.len(), KEPT);
    let per = |bytes: isize| bytes as f64 / KEPT as f64;
    println!(
        "trace ring: {KEPT} requests kept, {:.0} bytes asked for per request, {:.0} set aside by malloc; {} B of which is the slot itself",
        per(requested),
        per(usable),
        std::mem::size_of::<Kept>()
    );
    // A full ring of the same requests costs no more: what leaves frees as much.
    requests(&table, 512, None);
    let steady = record(&mut ended, &mut ring, &mut families);
    println!(
        "trace ring: 512 more through a full ring: {} bytes asked for, net",
        steady.0
    );
    // What keeping costs the admin thread, printed only: a figure of a debug build says
    // little, so the README's comes from `--release`.
    // The quickest of several batches: the machine's other work only ever adds.
    let mut quickest = Duration::MAX;
    COUNTING.with(|on| on.set(false));
    for _ in 0..16 {
        requests(&table, 512, None);
        ended.drain(|batch| {
            let of: Vec<usize> = batch.iter().map(|r| families.of(r)).collect();
            let started = Instant::now();
            ring.record(batch, &of);
            quickest = quickest.min(started.elapsed());
        });
    }
    println!(
        "trace ring: {:.0} ns of the admin thread per request kept (through a full ring)",
        quickest.as_nanos() as f64 / 512.0
    );
    assert!(per(requested) > std::mem::size_of::<Kept>() as f64);
    assert!(per(usable) < 4096.0, "{} bytes per request", per(usable));
    assert!(steady.0.unsigned_abs() < 512 * 64, "{steady:?}");
}
