//! Three tracked services calling each other in a chain, `edge -> api -> store`, each
//! with a table and an admin port of its own, in the test's process: `GET /fetch/{n}` on
//! the edge goes through all three and is held at the store until the gate opens.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use inflight::admin::{AdminHandle, AdminServer, BuildInfo};
use inflight::{InFlightClient, InFlightClientLayer, Table};
use serde_json::Value;
use tokio::task::JoinHandle;
use tower::{Layer, ServiceExt};

use super::admin::{Answer, Http, start_admin};
use super::{Gate, eventually, serve_tracked_router, table};

/// How long a request held at the store may wait for its answer: longer than any test.
pub const HOLD: Duration = Duration::from_secs(90);

/// One service of the chain.
pub struct Service {
    pub name: &'static str,
    pub api: SocketAddr,
    pub admin: Http,
    pub admin_addr: SocketAddr,
    pub table: Table,
    _handle: AdminHandle,
}

impl Service {
    /// Its admin port as the CLI names it.
    pub fn endpoint(&self) -> String {
        self.admin_addr.to_string()
    }

    /// The requests its admin port lists now.
    pub async fn listed(&self) -> Vec<Value> {
        self.admin.get("/requests").await.expect(200)["requests"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// `edge -> api -> store`.
pub struct Chain {
    pub edge: Service,
    pub api: Service,
    pub store: Service,
    /// Holds requests at the store.
    pub gate: Gate,
}

#[derive(Clone)]
struct Next {
    client: InFlightClient<Client<HttpConnector, Empty<Bytes>>>,
    next: SocketAddr,
}

/// Calls the next service and answers with its status and body.
async fn forward(State(next): State<Next>, Path(n): Path<u64>) -> (StatusCode, String) {
    let request = http::Request::get(format!("http://{}/fetch/{n}", next.next))
        .body(Empty::new())
        .expect("a valid request");
    match next.client.oneshot(request).await {
        Ok(response) => {
            let status = response.status();
            let body = match response.into_body().collect().await {
                Ok(body) => String::from_utf8_lossy(&body.to_bytes()).into_owned(),
                Err(error) => format!("the body broke off: {error}"),
            };
            (status, body)
        }
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()),
    }
}

async fn service(name: &'static str, router: Router, table: Table) -> Service {
    let api = serve_tracked_router(&table, router).await;
    let (handle, admin) = start_admin(
        AdminServer::new(table.clone())
            .build_info(BuildInfo::new(name, "1.0.0"))
            .stuck_after(None),
    )
    .await;
    Service {
        name,
        api,
        admin,
        admin_addr: handle.local_addr(),
        table,
        _handle: handle,
    }
}

async fn forwarding(name: &'static str, next: SocketAddr) -> Service {
    let table = table();
    let client = InFlightClientLayer::with_table(table.clone())
        .layer(Client::builder(TokioExecutor::new()).build_http());
    let router = Router::new()
        .route("/fetch/{n}", get(forward))
        .with_state(Next { client, next });
    service(name, router, table).await
}

impl Chain {
    /// Starts the three services, the store first.
    pub async fn start() -> Chain {
        let gate = Gate::new();
        let held = gate.clone();
        let router = Router::new().route(
            "/fetch/{n}",
            get(move |Path(n): Path<u64>| {
                let gate = held.clone();
                async move {
                    inflight::set_status("reading blob");
                    gate.wait().await;
                    format!("blob {n}")
                }
            }),
        );
        let store = service("store", router, table()).await;
        let api = forwarding("api", store.api).await;
        let edge = forwarding("edge", api.api).await;
        Chain {
            edge,
            api,
            store,
            gate,
        }
    }

    /// The three services, edge first.
    pub fn services(&self) -> [&Service; 3] {
        [&self.edge, &self.api, &self.store]
    }

    /// The `--endpoints` list of the three admin ports.
    pub fn endpoints(&self) -> String {
        self.services()
            .iter()
            .map(|service| service.endpoint())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Sends `GET /fetch/{n}` to the edge in trace `trace` and waits until it is held at
    /// the store, with its five requests listed (in, out, in, out, in).
    pub async fn hold(&self, n: u64, trace: &str) -> JoinHandle<Answer> {
        let edge = Http::new(self.edge.api);
        let traceparent = format!("00-{trace}-00f067aa0ba902b7-01");
        let answer = tokio::spawn(async move {
            edge.send_within(
                HOLD,
                Method::GET,
                &format!("/fetch/{n}"),
                &[("traceparent", &traceparent)],
                Bytes::new(),
            )
            .await
        });
        eventually(&format!("/fetch/{n} held at the store"), || async {
            let mut counts = Vec::new();
            for service in self.services() {
                let mine = service
                    .listed()
                    .await
                    .iter()
                    .filter(|r| r["trace_id"] == trace)
                    .count();
                counts.push(mine);
            }
            (counts == [2, 2, 1]).then_some(())
        })
        .await;
        answer
    }

    /// The requests of `trace` each service lists now, edge first.
    pub async fn of_trace(&self, trace: &str) -> [usize; 3] {
        let mut counts = [0; 3];
        for (count, service) in counts.iter_mut().zip(self.services()) {
            *count = service
                .listed()
                .await
                .iter()
                .filter(|r| r["trace_id"] == trace)
                .count();
        }
        counts
    }
}
