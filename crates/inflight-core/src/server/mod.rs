//! Tracking of inbound requests: [`InFlightLayer`] and its service [`InFlight`].
//!
//! The layer holds the settings, the service puts each request in the table. What they
//! return, [`ResponseFuture`](crate::ResponseFuture) and
//! [`TrackedBody`](crate::TrackedBody), is shared with the client side, which tracks
//! requests the same way once they are in the table.

mod layer;
mod service;

pub use layer::InFlightLayer;
pub use service::InFlight;
