//! A fleet on one machine, for measuring how many admin ports one `inflight top` keeps
//! fresh: one process serving `--ports` admin ports on 127.0.0.1, all over one table
//! that holds `--requests` inbound requests in flight, each awaiting an outbound call of
//! its own (as in the demo), and a Prometheus file service-discovery file listing the
//! ports for `inflight --file-sd`. `benches/fleet.sh` drives it.
//!
//! ```text
//! cargo run --release --example fleet -- --ports 200 --requests 10 --sd /tmp/fleet.json
//! inflight top --file-sd /tmp/fleet.json
//! ```

use std::convert::Infallible;
use std::future::pending;
use std::process::ExitCode;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Empty;
use inflight::admin::AdminServer;
use inflight::{InFlightClientLayer, InFlightLayer, Table};
use tower::{Layer, ServiceExt, service_fn};

const USAGE: &str = "\
usage: fleet [--ports N] [--requests N] [--sd FILE]

  --ports N     admin ports to serve on 127.0.0.1 (default 200), each on a thread
  --requests N  inbound requests held in flight, each with an outbound call, listed
                by every port (default 10)
  --sd FILE     where to write the service-discovery JSON (default fleet-sd.json)

Runs until killed.
";

struct Options {
    ports: usize,
    requests: usize,
    sd: String,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        ports: 200,
        requests: 10,
        sd: "fleet-sd.json".into(),
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--ports" | "--requests" => {
                let text = value()?;
                let number = text
                    .parse()
                    .map_err(|_| format!("{flag}: {text:?} is not a number"))?;
                if flag == "--ports" {
                    options.ports = number;
                } else {
                    options.requests = number;
                }
            }
            "--sd" => options.sd = value()?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) if message.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("fleet: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let table = Table::new();
    // Requests that never end, called without a server: each handler calls an upstream
    // that never answers.
    let upstream = InFlightClientLayer::with_table(table.clone()).layer(service_fn(
        |_: Request<Empty<Bytes>>| async {
            pending::<()>().await;
            Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
        },
    ));
    let service = InFlightLayer::with_table(table.clone()).layer(service_fn(
        move |request: Request<Empty<Bytes>>| {
            let upstream = upstream.clone();
            async move {
                let blob = format!("http://slownode:8484/blob{}", request.uri().path());
                let call = Request::get(blob).body(Empty::new()).expect("a request");
                upstream.oneshot(call).await
            }
        },
    ));
    for n in 0..options.requests {
        let request = Request::get(format!("/orders/{n}?customer=c{}", n % 7))
            .body(Empty::new())
            .expect("a request");
        tokio::spawn(service.clone().oneshot(request));
    }
    tokio::task::yield_now().await;

    let mut targets = Vec::with_capacity(options.ports);
    let mut handles = Vec::with_capacity(options.ports);
    for _ in 0..options.ports {
        let admin = AdminServer::new(table.clone()).stuck_after(None);
        match admin.bind("127.0.0.1:0") {
            Ok(handle) => {
                targets.push(format!("\"{}\"", handle.local_addr()));
                handles.push(handle);
            }
            Err(error) => {
                eprintln!("fleet: cannot bind an admin port: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let sd = format!(
        "[{{\"targets\": [{}], \"labels\": {{\"job\": \"fleet\"}}}}]\n",
        targets.join(", ")
    );
    if let Err(error) = std::fs::write(&options.sd, sd) {
        eprintln!("fleet: cannot write {}: {error}", options.sd);
        return ExitCode::FAILURE;
    }
    println!(
        "fleet: {} admin ports with {} requests in flight each (inbound and outbound), listed in {}",
        handles.len(),
        table.len(),
        options.sd
    );
    pending::<()>().await;
    ExitCode::SUCCESS
}
