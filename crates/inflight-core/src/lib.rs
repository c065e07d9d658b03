//! The in-flight request table and the tower layers behind the
//! [`inflight`](https://docs.rs/inflight) crate; use that crate, which re-exports all of
//! this.
//!
//! `inflight` shows, at any moment and at almost no cost, which HTTP requests a service has
//! in flight, how long each has run, what it is doing and what it is waiting for.
//!
//! ```
//! # use inflight_core as inflight;
//! use axum::{Router, routing::get};
//!
//! # fn main() -> std::io::Result<()> {
//! let app: Router = Router::new()
//!     .route("/hello", get(|| async {
//!         inflight::set_status("saying hello");
//!         "hello"
//!     }))
//!     .layer(inflight::InFlightLayer::new());
//! # #[cfg(unix)]
//! inflight::dump_on_signal()?; // kill -USR1 <pid>, or ^T on macOS
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code, unreachable_pub)]
#![warn(missing_docs, rust_2018_idioms, missing_debug_implementations)]

mod body;
mod client;
mod clock;
mod current;
mod dump;
mod dump_section;
mod ended;
mod entry;
mod future;
mod grpc;
mod redact;
mod server;
#[cfg(feature = "signal")]
mod signal;
mod snapshot;
mod status;
mod sync;
mod table;
mod terminate;
pub mod trace;
mod work;

pub use body::TrackedBody;
pub use client::{InFlightClient, InFlightClientLayer};
#[cfg(feature = "axum")]
pub use current::NotTracked;
pub use current::{
    Cancelled, RequestHandle, WithRequest, cancelled, current, in_current_request, set_attr,
    set_route, set_status,
};
pub use dump::Elapsed;
pub use dump_section::add_dump_section;
pub use ended::{
    DURATION_BUCKETS, EndedStats, FamilyName, Kept, KeptRequest, SeriesStats, bucket_lower_bound,
    bucket_upper_bound,
};
pub use future::ResponseFuture;
pub use grpc::GrpcStatus;
pub use redact::DEFAULT_SENSITIVE_PARAMS;
pub use server::{InFlight, InFlightLayer};
#[cfg(feature = "signal")]
pub use signal::dump_on_signal;
pub use snapshot::{Direction, EntrySnapshot, Snapshot, StatusChange};
pub use table::{
    ControlError, Ending, Finished, FinishedRequest, Subscription, Table, TableBuilder, Totals,
    global,
};
pub use terminate::{TERMINATED_HEADER, Terminated};
pub use trace::{SpanId, TraceContext, TraceId};
pub use work::{Work, WorkBuilder, WorkGuard, work};
