//! The `work` scenario: a unit of work (`inflight::work` around a future that is ready at
//! once) against the bare future, on one thread, in the same rounds. What it adds is the
//! work's start and end: an id, a clock read, a slot taken and released, the current
//! request set around the poll.

use std::future::{Future, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Waker};

use crate::Variant;
use crate::admin::Admin;
use crate::support::latency::Latencies;
use crate::support::paired::{self, Runner};

/// Polls `future` once with a no-op waker.
#[inline]
fn poll_once<F: Future>(future: F) {
    let mut future = pin!(future);
    let _ = black_box(
        future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop())),
    );
}

/// Bare first, then work in the global table (what `inflight::work` costs), then work in
/// a private table with the admin port reading it (the builder takes the table by value,
/// so this also pays a clone of the handle).
pub(crate) fn variants() -> Vec<Variant> {
    let variant = |name, runner: Runner, admin: Option<Admin>| Variant {
        name,
        runner,
        latencies: Latencies::default(),
        admin,
    };
    let table = inflight::Table::new();
    let admin = Admin::bind(&table);
    vec![
        variant(
            "bare",
            paired::one_thread(|| poll_once(ready(black_box(1u64)))),
            None,
        ),
        variant(
            "work",
            paired::one_thread(|| {
                poll_once(inflight::work("consume orders/3", ready(black_box(1u64))))
            }),
            None,
        ),
        variant(
            "work_admin",
            admin.metered(paired::one_thread(move || {
                poll_once(
                    inflight::Work::builder("consume orders/3")
                        .table(table.clone())
                        .run(ready(black_box(1u64))),
                )
            })),
            Some(admin),
        ),
    ]
}
