//! A real tonic server and client on loopback, each with its own table, and a handler the
//! test drives: unary answers wait for a gate, streamed events come from the test.

use std::net::SocketAddr;

use inflight::{Ending, InFlightClient, InFlightClientLayer, InFlightLayer, Subscription, Table};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Request, Response, Status};
use tower::ServiceBuilder;

use crate::support::{Gate, Slot, wait_for};

pub mod demo {
    include!("../../examples/tonic/demo.rs");
}

use demo::demo_client::DemoClient;
use demo::demo_server::{Demo, DemoServer};
use demo::{Event, GetReply, GetRequest, WatchRequest};

pub type Client = DemoClient<InFlightClient<Channel>>;
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

    type WatchStream = ReceiverStream<Result<Event, Status>>;

    async fn watch(
        &self,
        _request: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let (forward, stream) = mpsc::channel(1);
        let mut events = self.events.take();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if forward.send(event).await.is_err() {
                    return; // the stream was dropped
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(stream)))
    }
}

/// Both sides of one test: the server's table and the client's, each subscribed to.
pub struct Setup {
    pub addr: SocketAddr,
    pub server: Table,
    pub server_ended: Subscription,
    pub client_table: Table,
    pub client_ended: Subscription,
    pub client: Client,
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

/// Serves the test's handler with tonic's own server, behind `InFlightLayer`.
pub async fn start() -> Setup {
    let server = crate::support::table();
    let (service, gate, events) = handler();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let router = Server::builder()
        .layer(InFlightLayer::with_table(server.clone()))
        .add_service(service);
    tokio::spawn(router.serve_with_incoming(TcpListenerStream::new(listener)));
    Setup::new(addr, server, gate, events)
}

impl Setup {
    pub fn new(addr: SocketAddr, server: Table, gate: Gate, events: Events) -> Setup {
        let client_table = crate::support::table();
        Setup {
            addr,
            server_ended: server.subscribe(),
            server,
            client_ended: client_table.subscribe(),
            client: client(&client_table, addr),
            client_table,
            gate,
            events,
        }
    }

    /// Ends the handler's stream of events.
    pub fn end_events(&mut self) {
        self.events = mpsc::unbounded_channel().0;
    }

    /// Waits until both sides' requests have ended, and returns how each ended.
    pub async fn endings(&mut self) -> (Ending, Ending) {
        let server = one_ending(&mut self.server_ended, "the server's request").await;
        let client = one_ending(&mut self.client_ended, "the client's call").await;
        (server.0, client.0)
    }
}

/// A tonic client of `addr` whose calls are tracked in `table`.
pub fn client(table: &Table, addr: SocketAddr) -> Client {
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .expect("a valid URI")
        .connect_lazy();
    let target = addr.to_string().parse().expect("an authority");
    let channel = ServiceBuilder::new()
        .layer(InFlightClientLayer::with_table(table.clone()).target(target))
        .service(channel);
    DemoClient::new(channel)
}

/// Waits for the one request that ends on `ended`: how it ended and its path.
pub async fn one_ending(ended: &mut Subscription, what: &str) -> (Ending, String) {
    let mut seen = Vec::new();
    wait_for(&format!("{what} to end"), || {
        ended.drain(|requests| {
            seen.extend(requests.iter().map(|r| (r.ending(), r.path().to_owned())));
        });
        seen.first().cloned()
    })
    .await;
    assert_eq!(seen.len(), 1, "one request ended on this side: {seen:?}");
    seen.remove(0)
}
