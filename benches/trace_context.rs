//! What the W3C trace context costs each request: reading a caller's `traceparent`,
//! making ids, and writing the header an outbound call sends.
//!
//! ```text
//! cargo bench --bench trace_context
//! ```
//!
//! The per-request total is also in `overhead` (every request starts a trace there, and
//! the `traced_caller` scenario joins a caller's); these are its parts.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use inflight::TraceContext;

const KNOWN: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn parts(c: &mut Criterion) {
    let mut group = c.benchmark_group("trace_context");
    group.bench_function("parse_traceparent", |b| {
        b.iter(|| TraceContext::parse_traceparent(black_box(KNOWN.as_bytes())))
    });
    group.bench_function("parse_malformed", |b| {
        let bad = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x";
        b.iter(|| TraceContext::parse_traceparent(black_box(bad.as_bytes())))
    });
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", HeaderValue::from_static(KNOWN));
    headers.insert("user-agent", HeaderValue::from_static("curl/8.5.0"));
    headers.insert("accept", HeaderValue::from_static("*/*"));
    group.bench_function("from_headers", |b| {
        b.iter(|| TraceContext::from_headers(black_box(&headers)))
    });
    let empty = HeaderMap::new();
    group.bench_function("from_headers_absent", |b| {
        b.iter(|| TraceContext::from_headers(black_box(&empty)))
    });
    group.bench_function("new_root", |b| b.iter(TraceContext::new_root));
    let root = TraceContext::new_root();
    group.bench_function("child", |b| b.iter(|| black_box(&root).child()));
    group.bench_function("traceparent_header", |b| {
        b.iter(|| black_box(&root).traceparent())
    });
    group.finish();
}

criterion_group!(benches, parts);
criterion_main!(benches);
