//! A hello-world hyper server for load tests: the same server with no layer, with
//! `InFlightLayer`, or with one of tower-http's layers, so `benches/wrk.sh` can compare
//! their throughput. `--admin` adds what a service following the README runs beside the
//! layer: the admin port on the global table, with a Prometheus recorder installed.
//!
//! ```text
//! cargo run --release --example bench_server -- --listen 127.0.0.1:8080 --layer inflight
//! cargo run --release --example bench_server -- --layer inflight --admin 127.0.0.1:0
//! wrk -t1 -c32 -d10s http://127.0.0.1:8080/hello
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use inflight::admin::{AdminHandle, AdminServer};
use metrics_exporter_prometheus::PrometheusBuilder;
use tokio::net::TcpListener;
use tower::{Layer, Service, service_fn};

const USAGE: &str = "\
usage: bench_server [--listen ADDR] [--threads N] [--layer LAYER] [--admin ADDR]

  --listen ADDR   where to listen (default 127.0.0.1:8080)
  --threads N     tokio worker threads (default 1)
  --layer LAYER   none | inflight | tower-http-inflight | trace (default none)
  --admin ADDR    also serve the admin port of the global table there (port 0: any),
                  with a Prometheus recorder installed and its /metrics

Every path answers 200 with \"hello\\n\".
";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    None,
    InFlight,
    TowerHttpInFlight,
    Trace,
}

struct Options {
    listen: SocketAddr,
    threads: usize,
    layer: Which,
    admin: Option<SocketAddr>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        threads: 1,
        layer: Which::None,
        admin: None,
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
            "--listen" => {
                let text = value("--listen")?;
                options.listen = text.parse().map_err(|_| {
                    format!("--listen: {text:?} is not an address like 127.0.0.1:8080")
                })?;
            }
            "--threads" => {
                let text = value("--threads")?;
                options.threads = match text.parse() {
                    Ok(threads) if threads > 0 => threads,
                    _ => return Err(format!("--threads: {text:?} is not a positive number")),
                };
            }
            "--layer" => {
                let text = value("--layer")?;
                options.layer = match text.as_str() {
                    "none" => Which::None,
                    "inflight" => Which::InFlight,
                    "tower-http-inflight" => Which::TowerHttpInFlight,
                    "trace" => Which::Trace,
                    _ => {
                        return Err(format!(
                            "--layer: {text:?} is not one of none, inflight, tower-http-inflight, trace"
                        ));
                    }
                };
            }
            "--admin" => {
                let text = value("--admin")?;
                options.admin = Some(text.parse().map_err(|_| {
                    format!("--admin: {text:?} is not an address like 127.0.0.1:9084")
                })?);
            }
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
            eprintln!("bench_server: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bench_server: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench_server: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The admin port on the global table, as a service following the README starts it:
/// metrics recorded through a Prometheus recorder, rendered at `/metrics`.
fn start_admin(addr: SocketAddr) -> Result<AdminHandle, String> {
    let prometheus = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    let upkeep = prometheus.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    let admin = AdminServer::new(inflight::global().clone())
        .metrics_endpoint(move || prometheus.render())
        .bind(addr)
        .map_err(|e| format!("cannot start the admin port on {addr}: {e}"))?;
    eprintln!("bench_server: admin port on http://{}", admin.local_addr());
    Ok(admin)
}

async fn run(options: Options) -> Result<(), String> {
    // Kept for the life of the server (dropping the handle would not stop it anyway).
    let _admin = options.admin.map(start_admin).transpose()?;
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!(
        "bench_server: listening on http://{local} with layer {:?}, {} worker thread(s)",
        options.layer, options.threads
    );
    let hello = service_fn(|_request: Request<Incoming>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello\n"))))
    });
    match options.layer {
        Which::None => serve(listener, hello).await,
        Which::InFlight => serve(listener, inflight::InFlightLayer::new().layer(hello)).await,
        Which::TowerHttpInFlight => {
            let (layer, counter) = tower_http::metrics::InFlightRequestsLayer::pair();
            // The counter is what a real server would read; keep it alive for the run.
            let _counter = counter;
            serve(listener, layer.layer(hello)).await
        }
        Which::Trace => {
            serve(
                listener,
                tower_http::trace::TraceLayer::new_for_http().layer(hello),
            )
            .await
        }
    }
}

/// Accepts connections forever, one task per connection, HTTP/1 with keep-alive.
async fn serve<S, B>(listener: TcpListener, service: S) -> Result<(), String>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: keep serving the connections we have.
            Err(error) => {
                eprintln!("bench_server: accept failed: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
