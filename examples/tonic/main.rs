//! tonic on both sides: a gRPC server behind `InFlightLayer`, whose handler calls another
//! gRPC server through a tonic client whose `Channel` is wrapped with
//! `InFlightClientLayer`. The call shows under the request it was made for, named
//! `http://127.0.0.1:PORT/demo.Demo/Get`, and the request shows `awaiting 127.0.0.1:PORT`.
//!
//! ```text
//! cargo run --example tonic      # calls itself every few seconds
//! kill -USR1 $(pgrep -n tonic)
//! ```
//!
//! `demo.rs` is generated from `demo.proto` (tests/tonic_codegen.rs keeps it current).

use std::net::SocketAddr;
use std::time::Duration;

use inflight::{InFlightClient, InFlightClientLayer, InFlightLayer};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Request, Response, Status};
use tower::ServiceBuilder;

mod demo {
    include!("demo.rs");
}

use demo::demo_client::DemoClient;
use demo::demo_server::{Demo, DemoServer};
use demo::{Event, GetReply, GetRequest, WatchRequest};

/// A tonic client whose calls are tracked.
type Client = DemoClient<InFlightClient<Channel>>;

/// Answers by itself, or, with an upstream, by asking it.
struct Service {
    upstream: Option<Client>,
}

#[tonic::async_trait]
impl Demo for Service {
    async fn get(&self, request: Request<GetRequest>) -> Result<Response<GetReply>, Status> {
        if let Some(upstream) = &self.upstream {
            // Made while serving this request, so the call is listed as its child.
            return upstream.clone().get(request.into_inner()).await;
        }
        let request = request.into_inner();
        inflight::set_status("looking up");
        tokio::time::sleep(Duration::from_millis(request.delay_ms)).await;
        if request.fail_code != 0 {
            return Err(Status::new(request.fail_code.into(), request.fail_message));
        }
        Ok(Response::new(GetReply { value: request.key }))
    }

    type WatchStream = ReceiverStream<Result<Event, Status>>;

    async fn watch(
        &self,
        request: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let request = request.into_inner();
        let (events, stream) = mpsc::channel(1);
        tokio::spawn(async move {
            for seq in 0..request.count {
                tokio::time::sleep(Duration::from_millis(request.interval_ms)).await;
                if events.send(Ok(Event { seq })).await.is_err() {
                    return; // the caller went away
                }
            }
            if request.fail_code != 0 {
                let status = Status::new(request.fail_code.into(), request.fail_message);
                let _ = events.send(Err(status)).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(stream)))
    }
}

/// Serves `service` on a fresh loopback port, every request tracked.
async fn serve(service: Service) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = Server::builder()
        .layer(InFlightLayer::new())
        .add_service(DemoServer::new(service));
    tokio::spawn(server.serve_with_incoming(TcpListenerStream::new(listener)));
    Ok(addr)
}

/// A client of `store` whose calls are tracked. tonic's requests carry only a path (the
/// `Channel` adds the address), so the layer is told the target.
fn client(store: SocketAddr) -> Result<Client, Box<dyn std::error::Error>> {
    let channel = Endpoint::from_shared(format!("http://{store}"))?.connect_lazy();
    let channel = ServiceBuilder::new()
        .layer(InFlightClientLayer::new().target(store.to_string().parse()?))
        .service(channel);
    Ok(DemoClient::new(channel))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = serve(Service { upstream: None }).await?;
    let api = serve(Service {
        upstream: Some(client(store)?),
    })
    .await?;
    #[cfg(unix)]
    inflight::dump_on_signal()?;
    eprintln!(
        "api on {api}, store on {store}; kill -USR1 {}",
        std::process::id()
    );

    // A caller of its own, so there is always something in flight.
    let mut caller =
        DemoClient::new(Endpoint::from_shared(format!("http://{api}"))?.connect_lazy());
    loop {
        let request = GetRequest {
            key: "answer".into(),
            delay_ms: 3000,
            ..GetRequest::default()
        };
        let reply = caller.get(request).await?;
        eprintln!("got {:?}", reply.into_inner().value);
    }
}
