//! See which HTTP requests a Rust service has in flight, how long each has run, what it is
//! doing and what it is waiting for.
//!
//! Add one layer to your server, one to your clients, and ask for a dump:
//!
//! ```
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
//!
//! Each dump line reads like `#41 servicing GET "/fetch/all" for 1m34.00s [awaiting
//! slownode:8484 for 1m33.98s]`: the request's id, method and URL, how long it has been in
//! flight, and what it is doing now and for how long.
//!
//! - [`InFlightLayer`] tracks inbound requests until their response body is over.
//! - [`InFlightClientLayer`] tracks outbound calls until the caller has read or dropped the
//!   response body; a call made while serving an inbound request is shown under it.
//! - [`set_status`], [`set_attr`] and [`current`] say what the current request is doing.
//! - [`work()`] tracks work that is not an HTTP request (a queue message being consumed)
//!   in the same table, with direction `work`; its outbound calls are its children.
//! - [`Table::snapshot`] and [`Table::dump_text`] read the table from anywhere.
//!
//! # Features
//! - `signal` (default): [`dump_on_signal`].
//! - `admin` (default): the [`admin`] port.
//! - `metrics`: request durations and in-flight counts through the `metrics` facade.
//! - `tracing`: the stuck-request watchdog also emits `tracing` events.
//! - `axum` (default): routes from axum's `MatchedPath`, peers from `ConnectInfo`, and
//!   [`RequestHandle`] as an extractor. Without it, a request has a route only when the
//!   handler sets one with [`set_route`] (or it is a gRPC call, routed by its method).
//! - `reqwest`: [`reqwest::InFlightMiddleware`] tracks the calls of a `reqwest` client
//!   built with `reqwest-middleware`.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code, unreachable_pub)]
#![warn(missing_docs, rust_2018_idioms)]

pub use inflight_core::*;

/// The JSON of the admin API, for clients of it: the `inflight-wire` crate, which a client
/// can also depend on alone.
#[cfg(feature = "admin")]
pub use inflight_wire as wire;
/// The duration syntax of the demo, the admin API and the CLI, from `inflight-wire`.
#[cfg(feature = "admin")]
pub use inflight_wire::{ParseDurationError, parse_duration};

#[cfg(feature = "admin")]
pub mod admin;

#[cfg(feature = "reqwest")]
pub mod reqwest;
