//! The inflight demo: a service stuck behind a slow upstream, and the dump that shows it.
//!
//! One process runs three things on loopback:
//! - `slownode`, an upstream that waits `--upstream-delay` (default 5s) before it answers
//!   `GET /blob/{n}`, then streams the blob slowly;
//! - the API server on `--listen` (default 127.0.0.1:3000), tracked by `InFlightLayer`,
//!   whose `GET /fetch/{n}` fetches `/blob/{n}` from slownode through a client tracked by
//!   `InFlightClientLayer` and streams it back;
//! - a traffic generator keeping 6 `/fetch` requests in flight (`--no-traffic` to stop it).
//!
//! Run it with `cargo run --release --example demo`, then `kill -USR1 <pid>` (^T on macOS
//! and the BSDs) to see every request in flight and what it waits for, or ask the admin
//! port (`--admin`, default 127.0.0.1:9084): `curl localhost:9084/requests`.
//!
//! With `--chain`, three services run as three processes, each calling the next, and one
//! W3C trace ties a request's hops together across them: see `chain.rs`.

mod chain;
mod loopback;

use loopback::Loopback;
mod slow_stream;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use futures_util::stream;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use inflight::admin::{AdminHandle, AdminServer};
use inflight::{InFlightClient, InFlightClientLayer, InFlightLayer};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use tokio::net::TcpListener;
use tower::{ServiceBuilder, ServiceExt};

const USAGE: &str = "\
usage: demo [--chain] [--listen ADDR] [--admin ADDR] [--upstream-delay DURATION]
            [--no-traffic] [--read-token TOKEN] [--kill-token TOKEN]
            [--stuck-after DURATION|off] [--allow-origin ORIGIN]...
            [--task-dump-on-signal]

  --chain                    three services as three processes: edge -> api -> store
                             (slow); each takes the ports after the one before it
  --listen ADDR              where the API server listens (default 127.0.0.1:3000)
  --admin ADDR               where the admin port listens (default 127.0.0.1:9084)
  --upstream-delay DURATION  how long slownode waits before answering (default 5s)
  --no-traffic               do not start the traffic generator
  --read-token TOKEN         bearer token required to read the admin port
  --kill-token TOKEN         bearer token required to terminate or cancel requests
  --stuck-after DURATION     report requests in flight this long on stderr (default 30s)
  --allow-origin ORIGIN      let a web page from ORIGIN call the admin port
  --task-dump-on-signal      end the SIGUSR1 dump with tokio's task dump (needs a build
                             with task dumps: see the admin guide)
";

/// Concurrent requests of the traffic generator, like the cbfs client of the story.
const TRAFFIC: usize = 6;

#[derive(Clone)]
struct Options {
    listen: SocketAddr,
    admin: SocketAddr,
    upstream_delay: Duration,
    traffic: bool,
    read_token: Option<String>,
    kill_token: Option<String>,
    stuck_after: Option<Duration>,
    origins: Vec<String>,
    task_dump_on_signal: bool,
    chain: bool,
    /// Set by `--chain` in the processes it starts: which service this one is, and where
    /// the next one listens.
    role: Option<chain::Role>,
    next: Option<SocketAddr>,
}

fn parse_addr(flag: &str, text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| format!("{flag}: {text:?} is not an address like 127.0.0.1:3000"))
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
        admin: SocketAddr::from(([127, 0, 0, 1], 9084)),
        upstream_delay: Duration::from_secs(5),
        traffic: true,
        read_token: None,
        kill_token: None,
        stuck_after: Some(Duration::from_secs(30)),
        origins: Vec::new(),
        task_dump_on_signal: false,
        chain: false,
        role: None,
        next: None,
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--listen" => options.listen = parse_addr("--listen", &value("--listen")?)?,
            "--admin" => options.admin = parse_addr("--admin", &value("--admin")?)?,
            "--read-token" => options.read_token = Some(value("--read-token")?),
            "--kill-token" => options.kill_token = Some(value("--kill-token")?),
            "--allow-origin" => options.origins.push(value("--allow-origin")?),
            "--stuck-after" => {
                let text = value("--stuck-after")?;
                options.stuck_after = match text.as_str() {
                    "off" => None,
                    _ => Some(
                        inflight::parse_duration(&text)
                            .map_err(|e| format!("--stuck-after: {e}"))?,
                    ),
                };
            }
            "--upstream-delay" => {
                let text = value("--upstream-delay")?;
                options.upstream_delay = inflight::parse_duration(&text)
                    .map_err(|e| format!("--upstream-delay: {e}"))?;
            }
            "--no-traffic" => options.traffic = false,
            "--task-dump-on-signal" => options.task_dump_on_signal = true,
            "--chain" => options.chain = true,
            "--chain-role" => options.role = Some(chain::Role::parse(&value("--chain-role")?)?),
            "--next" => options.next = Some(parse_addr("--next", &value("--next")?)?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) if message.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("demo: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("demo: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match options.role {
            Some(role) => chain::run_role(role, options).await,
            None if options.chain => chain::run(options).await,
            None => run(options).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("demo: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), String> {
    inflight::dump_on_signal().map_err(|e| format!("cannot install the signal dump: {e}"))?;

    let admin = start_admin(&options, inflight::admin::build_info!())?;

    let slownode = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| format!("cannot start slownode: {e}"))?;
    let slownode_port = slownode.local_addr().map_err(|e| e.to_string())?.port();
    let upstream = Router::new()
        .route("/blob/{n}", get(blob))
        .with_state(options.upstream_delay);
    tokio::spawn(async move { axum::serve(slownode, upstream).await });

    let api = TcpListener::bind(options.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let api_addr = api.local_addr().map_err(|e| e.to_string())?;
    let app = Router::new()
        .route("/fetch/{n}", get(fetch))
        .route("/stream", get(slow_stream::slow_stream))
        .route("/hello", get(|| async { "hello\n" }))
        .with_state(Upstream::new(
            format!("http://slownode:{slownode_port}/blob"),
            "fetching blob",
        ))
        .layer(InFlightLayer::new());
    let server = tokio::spawn(async move {
        axum::serve(api, app.into_make_service_with_connect_info::<SocketAddr>()).await
    });

    let pid = std::process::id();
    println!("inflight demo, pid {pid}");
    println!(
        "  api       http://{api_addr}  GET /fetch/{{n}}  /stream?chunks=N&interval_ms=M  /hello"
    );
    println!(
        "  slownode  http://slownode:{slownode_port} (127.0.0.1), answers after {}",
        inflight::Elapsed(options.upstream_delay)
    );
    println!(
        "  admin     http://{}  GET /requests /recent /profile /healthz /metrics, DELETE /requests/{{id}}",
        admin.local_addr()
    );
    if options.traffic {
        println!("  traffic   {TRAFFIC} concurrent GET /fetch/{{n}}");
        for worker in 0..TRAFFIC {
            tokio::spawn(traffic(api_addr, worker));
        }
    }
    println!("dump the requests in flight: kill -USR1 {pid}   (or ^T on macOS/BSD)");
    println!("list them: curl http://{}/requests", admin.local_addr());

    match server.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(format!("the API server stopped: {error}")),
        Err(error) => Err(format!("the API server failed: {error}")),
    }
}

/// The admin port, with a Prometheus `/metrics` of this process.
fn start_admin(
    options: &Options,
    build: inflight::admin::BuildInfo,
) -> Result<AdminHandle, String> {
    let prometheus = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("duration".into()),
            &[
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ],
        )
        .and_then(|builder| builder.install_recorder())
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    let upkeep = prometheus.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    let mut admin = AdminServer::new(inflight::global().clone())
        .build_info(build)
        .stuck_after(options.stuck_after)
        .metrics_endpoint(move || prometheus.render())
        .task_dump_on_signal(options.task_dump_on_signal);
    if let Some(token) = &options.read_token {
        admin = admin.read_token(token);
    }
    if let Some(token) = &options.kill_token {
        admin = admin.kill_token(token);
    }
    for origin in &options.origins {
        admin = admin.allow_origin(origin);
    }
    admin
        .bind(options.admin)
        .map_err(|e| format!("cannot start the admin port on {}: {e}", options.admin))
}

/// slownode's `GET /blob/{n}`: waits, then streams 8 chunks of 4 KiB over about a second.
async fn blob(State(delay): State<Duration>, Path(n): Path<String>) -> Response<Body> {
    tokio::time::sleep(delay).await;
    let chunks = stream::unfold(0u32, move |sent| {
        let n = n.clone();
        async move {
            if sent == 8 {
                return None;
            }
            if sent > 0 {
                tokio::time::sleep(Duration::from_millis(125)).await;
            }
            let mut chunk = format!("blob {n} chunk {sent}\n").into_bytes();
            chunk.resize(4096, b'.');
            Some((Ok::<_, Infallible>(Bytes::from(chunk)), sent + 1))
        }
    });
    Response::new(Body::from_stream(chunks))
}

type UpstreamClient = InFlightClient<Client<HttpConnector<Loopback>, Empty<Bytes>>>;

/// How a service calls the one behind it (the API server calls slownode; in `--chain`,
/// edge calls api and api calls store), through a client tracked by
/// `InFlightClientLayer`.
#[derive(Clone)]
struct Upstream {
    client: UpstreamClient,
    /// `http://slownode:43913/blob`: `/{n}` is added.
    base: String,
    /// What the request is doing while it waits.
    status: &'static str,
}

impl Upstream {
    fn new(base: String, status: &'static str) -> Upstream {
        let client =
            Client::builder(TokioExecutor::new()).build(HttpConnector::new_with_resolver(Loopback));
        Upstream {
            client: ServiceBuilder::new()
                .layer(InFlightClientLayer::new())
                .service(client),
            base,
            status,
        }
    }
}

fn bad_request(message: String) -> Response<Body> {
    (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response()
}

/// `GET /fetch/{n}`: fetches `{base}/{n}` from the upstream (slownode's `/blob/{n}`) and
/// streams it back.
async fn fetch(State(upstream): State<Upstream>, Path(n): Path<String>) -> Response<Body> {
    let Ok(n) = n.parse::<u64>() else {
        return bad_request(format!("/fetch/{{n}}: n must be a number, not {n:?}"));
    };
    // Statuses name what the request does; ids go in attributes, so profiles stay
    // readable.
    inflight::set_status(upstream.status);
    inflight::set_attr("blob", n.to_string());
    let request = Request::get(format!("{}/{n}", upstream.base))
        .body(Empty::new())
        .expect("a URI built from a number and an address is valid");
    match upstream.client.oneshot(request).await {
        Ok(response) => {
            inflight::set_status("relaying blob");
            let (parts, body) = response.into_parts();
            Response::from_parts(parts, Body::new(body))
        }
        Err(error) => (
            StatusCode::BAD_GATEWAY,
            format!("{} failed: {error}\n", upstream.base),
        )
            .into_response(),
    }
}

/// One worker of the traffic generator: fetches blobs one after the other, forever.
async fn traffic(api: SocketAddr, worker: usize) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    for round in 0u64.. {
        let n = round * TRAFFIC as u64 + worker as u64;
        let request = Request::get(format!("http://{api}/fetch/{n}"))
            .body(Empty::new())
            .expect("a URI built from an address and a number is valid");
        let finished = match client.request(request).await {
            Ok(response) => response.into_body().collect().await.is_ok(),
            Err(_) => false,
        };
        if !finished {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
