//! The demo's names for its services, all on loopback.

use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::Name;
use tower::Service;

/// Resolves the demo's service names to loopback, so URLs read like the story's.
#[derive(Clone, Copy)]
pub(crate) struct Loopback;

impl Service<Name> for Loopback {
    type Response = std::iter::Once<SocketAddr>;
    type Error = std::io::Error;
    type Future = Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        ready(match name.as_str() {
            "slownode" | "edge" | "api" | "store" => {
                Ok(std::iter::once(SocketAddr::from(([127, 0, 0, 1], 0))))
            }
            other => Err(std::io::Error::other(format!(
                "the demo only knows slownode, edge, api and store, not {other}"
            ))),
        })
    }
}
