//! Tracking of outbound requests: [`InFlightClientLayer`] and its service
//! [`InFlightClient`].
//!
//! The layer holds the settings, the service puts each call in the table. What they
//! return, [`ResponseFuture`](crate::ResponseFuture) and
//! [`TrackedBody`](crate::TrackedBody), is shared with the server side; on this side
//! polling does not make the call the current request.

mod layer;
mod service;

pub use layer::InFlightClientLayer;
pub use service::InFlightClient;
