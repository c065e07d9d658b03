//! The JSON of the `inflight` admin API: what the admin port serves and the `inflight` CLI
//! reads, with nothing of the in-flight table behind it, so a client links serde and jiff
//! and no more.
//!
//! Times are RFC 3339 strings in UTC with milliseconds ([`Timestamp`]); durations are
//! milliseconds as numbers, measured at the answer's `server_time`, so clients compute
//! ages without trusting their own clock.
//!
//! # Closed sets are enums, and newer values still parse
//!
//! A request's [`Direction`], how it ended ([`Ending`]), a [`HealthState`] and a
//! [`ControlAction`] are enums whose JSON strings are those of the API (`inbound`,
//! `dropped_early`, `busy`, ...). Each is `#[non_exhaustive]` and has an `Unknown` variant
//! that any other string reads as, so a client built against this version keeps working
//! against a newer admin port that adds a value: it shows `unknown` where it cannot know
//! better, instead of failing to read the whole answer. A server never sends `unknown`.
//!
//! # Building values from another crate
//!
//! Every struct is `#[non_exhaustive]`, so a later version can add a field without
//! breaking anyone; that also forbids struct literals outside this crate. So every struct
//! is [`Default`], and a server fills one field by field:
//!
//! ```
//! use inflight_wire::{Direction, Request};
//!
//! let mut request = Request::default();
//! request.id = 41;
//! request.direction = Direction::Outbound;
//! request.method = "GET".into();
//! assert_eq!(request.direction.as_str(), "outbound");
//! ```
//!
//! The envelopes whose fields are all needed ([`RequestList`], [`RequestReply`],
//! [`ErrorBody`], ...) also have a `new` taking them all. A builder per struct would be
//! thirty setters saying what the fields already say.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code, unreachable_pub)]
#![warn(missing_docs, rust_2018_idioms)]

mod duration;
mod elapsed;
mod enums;
mod reports;
mod requests;
mod tasks;
mod time;
mod trace_id;

pub use duration::{ParseDurationError, parse_duration};
pub use elapsed::Elapsed;
pub use enums::{ControlAction, Direction, Ending, HealthState};
pub use reports::{
    FinishedRequest, FinishedWindow, HealthReport, ProfileReport, ProfileRoute, ProfileStatus,
    RecentBucket, RecentFamily, RecentReport, TraceReply,
};
pub use requests::{
    ControlReply, ErrorBody, Origin, Request, RequestList, RequestReply, Transition,
};
pub use tasks::{TaskDump, TaskGroup};
pub use time::{Timestamp, millis};
pub use trace_id::{ParseTraceIdError, TraceId};
