//! A real tonic server and client on loopback, each with its own table, and a handler the
//! test drives: unary answers wait for a gate, streamed events come from the test.

use std::net::SocketAddr;

use bytes::Bytes;
use http::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use inflight::{Ending, InFlightClientLayer, InFlightLayer, Subscription, Table};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::{TcpListenerStream, UnboundedReceiverStream};
use tonic::body::Body;
use tonic::service::Routes;
use tonic::transport::{Endpoint, Server};
use tonic::{Request, Response, Status};
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

use crate::support::{BoxError, Gate, Slot, wait_for};

pub mod demo {
    include!("../../examples/tonic/demo.rs");
}

use demo::demo_client::DemoClient;
use demo::demo_server::{Demo, DemoServer};
use demo::{Event, GetReply, GetRequest, WatchRequest};

/// The generated client, over either transport.
pub type Caller = DemoClient<Transport>;
/// A concrete error (not a boxed one) keeps the generated client's futures `Send`.
pub type Transport = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, Status>;
pub type Events = mpsc::UnboundedSender<Result<Event, Status>>;

/// `Get` answers once the gate opens, with the status the request asks for if any;
/// `Watch` streams what the test sends, and ends when the test drops its sender.
pub struct Handler {
    gate: Gate,
    events: Slot<mpsc::UnboundedReceiver<Result<Event, Status>>>,
}

#[tonic::async_trait]
impl Demo for Handler {
    async fn get(&self, request: Request<GetRequest>) -> Result<Response<GetReply>, Status> {
        self.gate.wait().await;
        let request = request.into_inner();
        if request.fail_code != 0 {
            return Err(Status::new(request.fail_code.into(), request.fail_message));
        }
        Ok(Response::new(GetReply { value: request.key }))
    }

    type WatchStream = UnboundedReceiverStream<Result<Event, Status>>;

    async fn watch(
        &self,
        _request: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let events = self.events.take();
        Ok(Response::new(UnboundedReceiverStream::new(events)))
    }
}

/// Both sides of one test: the server's table and the client's, each subscribed to.
pub struct Setup {
    pub addr: SocketAddr,
    pub server: Table,
    pub server_ended: Subscription,
    pub client_table: Table,
    pub client_ended: Subscription,
    pub client: Caller,
    pub gate: Gate,
    pub events: Events,
}

/// The test's handler, ready to be served; the gate and the event sender drive it.
pub fn handler() -> (DemoServer<Handler>, Gate, Events) {
    let gate = Gate::new();
    let (events, rx) = mpsc::unbounded_channel();
    let handler = Handler {
        gate: gate.clone(),
        events: Slot::new(rx),
    };
    (DemoServer::new(handler), gate, events)
}

/// What serves the handler, behind `InFlightLayer`.
#[derive(Clone, Copy, Debug)]
pub enum Serve {
    /// tonic's own server, which ends a request at its `grpc-timeout`.
    Tonic,
    /// The handler's `Routes` on hyper-util's auto builder: nothing enforces a deadline.
    Hyper,
}

/// What carries the generated client's calls, behind `InFlightClientLayer`.
#[derive(Clone, Copy, Debug)]
pub enum Call {
    /// tonic's `Channel`, which ends a call at its `grpc-timeout`; it sends only paths,
    /// so the layer is given the target.
    Channel,
    /// hyper-util's client over HTTP/2, given the origin: nothing enforces a deadline.
    Hyper,
}

/// tonic's server and tonic's `Channel`.
pub async fn start() -> Setup {
    start_with(Serve::Tonic, Call::Channel).await
}

/// Serves a fresh handler and makes a client of it, each side with its own table.
pub async fn start_with(serve: Serve, call: Call) -> Setup {
    let server = crate::support::table();
    let (service, gate, events) = handler();
    let layer = InFlightLayer::with_table(server.clone());
    let addr = match serve {
        Serve::Tonic => {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("local addr");
            let router = Server::builder().layer(layer).add_service(service);
            tokio::spawn(router.serve_with_incoming(TcpListenerStream::new(listener)));
            addr
        }
        Serve::Hyper => {
            crate::support::serve_both_versions(layer.layer(Routes::new(service))).await
        }
    };
    let client_table = crate::support::table();
    Setup {
        addr,
        server_ended: server.subscribe(),
        server,
        client_ended: client_table.subscribe(),
        client: client(&client_table, addr, call),
        client_table,
        gate,
        events,
    }
}

impl Setup {
    /// Ends the handler's stream of events.
    pub fn end_events(&mut self) {
        self.events = mpsc::unbounded_channel().0;
    }

    /// Waits until both sides' requests have ended: how the server's ended, then the
    /// client's.
    pub async fn endings(&mut self) -> (Ended, Ended) {
        let server = one_ending(&mut self.server_ended, "the server's request").await;
        let client = one_ending(&mut self.client_ended, "the client's call").await;
        (server, client)
    }
}

/// How a request ended, with the gRPC status (code, message) it failed with, if any.
pub type Ended = (Ending, Option<(u32, Option<String>)>);

/// A tonic client of `addr` whose calls are tracked in `table`.
pub fn client(table: &Table, addr: SocketAddr, call: Call) -> Caller {
    let layer = InFlightClientLayer::with_table(table.clone());
    let origin: Uri = format!("http://{addr}").parse().expect("a valid URI");
    let service = match call {
        Call::Channel => {
            let channel = Endpoint::from(origin).connect_lazy();
            let target = addr.to_string().parse().expect("an authority");
            let channel = ServiceBuilder::new()
                .layer(layer.target(target))
                .service(channel);
            return DemoClient::new(boxed(channel));
        }
        Call::Hyper => {
            let client: Client<_, Body> = Client::builder(TokioExecutor::new())
                .http2_only(true)
                .build_http();
            boxed(layer.layer(client))
        }
    };
    DemoClient::with_origin(service, origin)
}

/// Erases the transport under the generated client.
fn boxed<S, B>(service: S) -> Transport
where
    S: Service<http::Request<Body>, Response = http::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    BoxCloneSyncService::new(
        service
            .map_response(|response| response.map(Body::new))
            .map_err(|error| Status::from_error(error.into())),
    )
}

/// Waits for the one request that ends on `ended`.
pub async fn one_ending(ended: &mut Subscription, what: &str) -> Ended {
    let mut seen = Vec::new();
    wait_for(&format!("{what} to end"), || {
        ended.drain(|requests| {
            seen.extend(requests.iter().map(|r| {
                let grpc = r.grpc_status().map(|status| (status.code, status.message));
                (r.ending(), grpc)
            }));
        });
        (!seen.is_empty()).then_some(())
    })
    .await;
    assert_eq!(seen.len(), 1, "one request ended on this side: {seen:?}");
    seen.remove(0)
}
