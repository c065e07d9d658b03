//! `inflight web`: the web page served on this machine, reaching every endpoint through
//! this server, so watching many services needs no `--allow-origin` on any of them; and
//! `inflight link`, which prints a URL of such a page.
//!
//! The server is never an open proxy: it asks only the endpoints it was given (or
//! discovered), answers only to its own `Host` (a page on another site that resolves its
//! name to 127.0.0.1 gets nothing) and refuses requests that another site's page sent.

mod link;
mod page;
mod proxy;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::Failure;
use crate::client::Api;
use crate::endpoints::{Endpoint, Sources};

pub(crate) use link::{LinkArgs, link};

/// `inflight web`'s own flags; the endpoints, `--token` and `--timeout` are the global ones.
#[derive(clap::Args, Debug)]
pub(crate) struct WebArgs {
    /// Where to serve the page. Loopback unless --public is given too.
    #[arg(long, default_value = "127.0.0.1:7000", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// Allow a --listen address other machines can reach. Anyone who reaches it can then
    /// watch the endpoints, and kill requests with the --kill-token.
    #[arg(long)]
    public: bool,
    /// A name the page is reached by besides the --listen address (host or host:port);
    /// requests naming any other host are refused. Repeatable.
    #[arg(long = "host", value_name = "NAME")]
    hosts: Vec<String>,
    /// Bearer token for kills, sent with the page's kills (DELETE, POST) that carry no
    /// token of their own. --token is sent with the page's reads.
    #[arg(long, env = "INFLIGHT_KILL_TOKEN", hide_env_values = true)]
    kill_token: Option<String>,
    /// How often to ask --prometheus, --http-sd or --file-sd again; a reload of the page
    /// shows the endpoints found.
    #[arg(long, default_value = "30s", value_parser = crate::args::duration, value_name = "DURATION")]
    rediscover: Duration,
}

/// What every connection shares.
struct Server {
    api: Api,
    endpoints: RwLock<Vec<Endpoint>>,
    /// Sent with reads that carry no `Authorization` of their own.
    read_token: Option<String>,
    /// Sent with kills that carry no `Authorization` of their own.
    kill_token: Option<String>,
    /// The `Host` values this server answers to, lowercase.
    hosts: Vec<String>,
}

impl Server {
    fn endpoint(&self, name: &str) -> Option<Endpoint> {
        let endpoints = self.endpoints.read().unwrap_or_else(|e| e.into_inner());
        endpoints.iter().find(|e| e.name == name).cloned()
    }

    fn endpoint_count(&self) -> usize {
        self.endpoints
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

/// Serves the page and the endpoints under `/e/{host:port}/` until killed.
pub(crate) async fn serve(
    api: Api,
    sources: Sources,
    endpoints: Vec<Endpoint>,
    read_token: Option<String>,
    args: WebArgs,
) -> Result<(), Failure> {
    let ip = args.listen.ip();
    if !ip.is_loopback() && !args.public {
        return Err(Failure::Usage(format!(
            "--listen {}: not a loopback address; anyone reaching it could watch the endpoints \
             and kill requests. Add --public if that is meant",
            args.listen
        )));
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    if !ip.is_loopback() {
        eprintln!(
            "inflight: warning: serving on {addr}, which other machines may reach; whoever \
             reaches it can watch the endpoints{}",
            if args.kill_token.is_some() {
                " and kill requests"
            } else {
                ""
            }
        );
    }
    let hosts = own_hosts(addr, &args.hosts);
    let count = endpoints.len();
    let server = Arc::new(Server {
        api: api.clone(),
        endpoints: RwLock::new(endpoints),
        read_token,
        kill_token: args.kill_token,
        hosts,
    });
    if sources.discovers() {
        tokio::spawn(rediscover(server.clone(), sources, args.rediscover));
    }
    outln!("inflight web: http://{addr}/ watching {count} endpoints");
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait instead of spinning.
                eprintln!("inflight: cannot accept a connection: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let server = server.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let server = server.clone();
                async move { Ok::<_, Infallible>(handle(&server, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Asks the discovery sources again now and then; a source that fails keeps the last list.
async fn rediscover(server: Arc<Server>, sources: Sources, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        match sources.resolve(&server.api).await {
            Ok(endpoints) => {
                *server.endpoints.write().unwrap_or_else(|e| e.into_inner()) = endpoints;
            }
            Err(Failure::Usage(message) | Failure::Failed(message)) => {
                eprintln!("inflight: keeping the last endpoints: {message}");
            }
        }
    }
}

/// The `Host` values naming this server: its address, `localhost` when it is loopback,
/// and the names given with `--host` (with the port when they have none).
fn own_hosts(addr: SocketAddr, names: &[String]) -> Vec<String> {
    let port = addr.port();
    let mut hosts = vec![addr.to_string()];
    if addr.ip().is_loopback() {
        hosts.push(format!("localhost:{port}"));
    }
    for name in names {
        let name = name.trim().to_ascii_lowercase();
        if name
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            && !name.ends_with(']')
        {
            hosts.push(name);
        } else {
            hosts.push(format!("{name}:{port}"));
        }
    }
    hosts
}

async fn handle(server: &Server, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let uri = request.uri();
    if request.method() == Method::CONNECT || uri.scheme().is_some() || uri.authority().is_some() {
        return error(
            StatusCode::BAD_REQUEST,
            "only paths of this server are served, not other URLs".into(),
        );
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    let Some(host) = host.filter(|host| server.hosts.contains(host)) else {
        return error(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "this server answers to Host {} only (add a name with --host)",
                server.hosts.join(", ")
            ),
        );
    };
    // A page of another site may send a simple POST here without asking first; it would
    // carry the kill token. The browser names that page's origin.
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        if origin.as_bytes() != format!("http://{host}").as_bytes() {
            return error(
                StatusCode::FORBIDDEN,
                "requests from pages of other origins are refused".into(),
            );
        }
    }
    if request.uri().path().starts_with("/e/") {
        return proxy::forward(server, request).await;
    }
    page::serve(server, &host, request.method(), request.uri())
}

/// A JSON `{"error": message}` answer.
fn error(status: StatusCode, message: String) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "error": message }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_name_the_server() {
        let addr: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        assert_eq!(
            own_hosts(addr, &["Ops.example".into(), "ops:80".into()]),
            [
                "127.0.0.1:7000",
                "localhost:7000",
                "ops.example:7000",
                "ops:80"
            ]
        );
        let v6: SocketAddr = "[::1]:7000".parse().unwrap();
        assert_eq!(own_hosts(v6, &[]), ["[::1]:7000", "localhost:7000"]);
    }
}
