//! `demo --chain`: three services as three processes, each calling the next.
//!
//! - `edge` (API `--listen`, default 127.0.0.1:3000; admin `--admin`, default
//!   127.0.0.1:9084) faces the internet: it starts its own trace for every request
//!   (`trust_incoming_trace(false)`), and its `GET /fetch/{n}` calls `api`;
//! - `api` (the next ports: 3001 and 9085) calls `store` for the blob;
//! - `store` (3002 and 9086) is the slow one: it waits `--upstream-delay` before it
//!   answers `GET /blob/{n}`.
//!
//! The first process is `edge`; it starts the other two as copies of itself with the
//! hidden flags `--chain-role NAME` and `--next ADDR`. They end when it does: each watches
//! its stdin, a pipe from `edge`, and exits when the pipe closes, even if `edge` was killed.
//! `inflight top --endpoints 127.0.0.1:9084,127.0.0.1:9085,127.0.0.1:9086` then shows each
//! request's hops as one tree, with the store's request marked as the one holding the
//! others up.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::Response;
use axum::routing::get;
use inflight::InFlightLayer;
use inflight::admin::AdminHandle;
use tokio::net::TcpListener;

use crate::{Options, TRAFFIC, Upstream, blob, fetch, start_admin, traffic};

/// Which service of the chain a process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Edge,
    Api,
    Store,
}

impl Role {
    pub(crate) fn parse(text: &str) -> Result<Role, String> {
        match text {
            "edge" => Ok(Role::Edge),
            "api" => Ok(Role::Api),
            "store" => Ok(Role::Store),
            other => Err(format!("--chain-role: {other:?} is not edge, api or store")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Role::Edge => "edge",
            Role::Api => "api",
            Role::Store => "store",
        }
    }

    /// The service this one calls, and the path it asks for.
    fn next(self) -> Option<(Role, &'static str)> {
        match self {
            Role::Edge => Some((Role::Api, "fetch")),
            Role::Api => Some((Role::Store, "blob")),
            Role::Store => None,
        }
    }

    /// Ports after the first service's: `api` takes the next, `store` the one after.
    fn offset(self) -> u16 {
        match self {
            Role::Edge => 0,
            Role::Api => 1,
            Role::Store => 2,
        }
    }
}

/// The ports of one service of the chain.
#[derive(Clone, Copy)]
struct Ports {
    listen: SocketAddr,
    admin: SocketAddr,
}

fn ports(options: &Options, role: Role) -> Result<Ports, String> {
    let shift = |addr: SocketAddr, flag: &str| {
        let port = addr.port();
        if port == 0 {
            return Err(format!(
                "{flag}: --chain needs a fixed port, not 0: the services find each other by port"
            ));
        }
        port.checked_add(role.offset())
            .map(|port| SocketAddr::new(addr.ip(), port))
            .ok_or_else(|| format!("{flag}: no room for three ports after {addr}"))
    };
    Ok(Ports {
        listen: shift(options.listen, "--listen")?,
        admin: shift(options.admin, "--admin")?,
    })
}

/// The processes `edge` started; killed when it stops, however it stops.
struct Children(Vec<(Role, Child)>);

impl Drop for Children {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `demo --chain`: starts `store` and `api` as child processes, then runs `edge` here.
pub(crate) async fn run(options: Options) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut children = Children(Vec::new());
    for role in [Role::Store, Role::Api] {
        let own = ports(&options, role)?;
        let mut command = Command::new(&exe);
        command
            .arg("--chain-role")
            .arg(role.name())
            .arg("--listen")
            .arg(own.listen.to_string())
            .arg("--admin")
            .arg(own.admin.to_string())
            .arg("--upstream-delay")
            .arg(format!("{}ms", options.upstream_delay.as_millis()))
            .arg("--stuck-after")
            .arg(options.stuck_after.map_or_else(
                || "off".to_owned(),
                |after| format!("{}ms", after.as_millis()),
            ));
        if let Some((next, _)) = role.next() {
            command
                .arg("--next")
                .arg(ports(&options, next)?.listen.to_string());
        }
        if let Some(token) = &options.read_token {
            command.arg("--read-token").arg(token);
        }
        if let Some(token) = &options.kill_token {
            command.arg("--kill-token").arg(token);
        }
        for origin in &options.origins {
            command.arg("--allow-origin").arg(origin);
        }
        let child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", role.name()))?;
        children.0.push((role, child));
    }

    let edge = ports(&options, Role::Edge)?;
    let next = ports(&options, Role::Api)?.listen;
    let (api_addr, admin, server) = serve(Role::Edge, &options, edge, Some(next)).await?;
    wait_until_listening(&mut children, &options).await?;

    let pid = std::process::id();
    println!("inflight demo --chain: three services, each calling the next");
    for (role, pid) in [(Role::Edge, pid)].into_iter().chain(
        children
            .0
            .iter()
            .rev()
            .map(|(role, child)| (*role, child.id())),
    ) {
        let own = ports(&options, role)?;
        let what = match role {
            Role::Edge => "GET /fetch/{n} -> api".to_owned(),
            Role::Api => "GET /fetch/{n} -> store".to_owned(),
            Role::Store => format!(
                "GET /blob/{{n}}, answers after {}",
                inflight::Elapsed(options.upstream_delay)
            ),
        };
        println!(
            "  {:<6} pid {pid:<7} http://{}  admin http://{}  {what}",
            role.name(),
            own.listen,
            own.admin
        );
    }
    if options.traffic {
        println!("  traffic {TRAFFIC} concurrent GET /fetch/{{n}} on edge");
        for worker in 0..TRAFFIC {
            tokio::spawn(traffic(api_addr, worker));
        }
    }
    let admins: Vec<String> = [Role::Edge, Role::Api, Role::Store]
        .iter()
        .map(|role| ports(&options, *role).map(|p| p.admin.to_string()))
        .collect::<Result<_, _>>()?;
    println!("watch them: inflight top --endpoints {}", admins.join(","));
    let _admin = admin;
    let outcome = server.await;
    drop(children);
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(format!("edge stopped: {error}")),
        Err(error) => Err(format!("edge failed: {error}")),
    }
}

/// What a started service prints on stdout once both its ports are bound.
const READY: &str = "ready";

/// Waits until `api` and `store` say they are ready, or says why one did not start. Each
/// prints [`READY`] once its ports are bound; its stdout closing first means it exited.
/// (Connecting to its ports would not tell: whatever else holds a port accepts too.)
async fn wait_until_listening(children: &mut Children, options: &Options) -> Result<(), String> {
    for (role, child) in &mut children.0 {
        let own = ports(options, *role)?;
        let stdout = child
            .stdout
            .take()
            .ok_or("a started service has no stdout")?;
        let said = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
                    .map(|_| line)
            }),
        )
        .await;
        match said {
            Ok(Ok(Ok(line))) if line.trim() == READY => {}
            Ok(_) => {
                let status = child
                    .wait()
                    .map_or_else(|e| e.to_string(), |status| status.to_string());
                return Err(format!(
                    "{} ({} / admin {}) exited with {status}; see its message above",
                    role.name(),
                    own.listen,
                    own.admin
                ));
            }
            Err(_) => return Err(format!("{} did not start within 30s", role.name())),
        }
    }
    Ok(())
}

/// `api` or `store`: a process `demo --chain` started. Prints [`READY`] on stdout once
/// its ports are bound, and nothing else; ends when its stdin (a pipe from `edge`) closes.
pub(crate) async fn run_role(role: Role, options: Options) -> Result<(), String> {
    std::thread::spawn(|| {
        // Read until end of file: `edge` went away, whatever way it ended.
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        std::process::exit(0);
    });
    let own = Ports {
        listen: options.listen,
        admin: options.admin,
    };
    if role.next().is_some() && options.next.is_none() {
        return Err(format!("{} needs --next ADDR", role.name()));
    }
    let (_addr, _admin, server) = serve(role, &options, own, options.next).await?;
    println!("{READY}");
    match server.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(format!("{} stopped: {error}", role.name())),
        Err(error) => Err(format!("{} failed: {error}", role.name())),
    }
}

type Server = tokio::task::JoinHandle<std::io::Result<()>>;

/// Starts one service of the chain: its API server and its admin port.
async fn serve(
    role: Role,
    options: &Options,
    own: Ports,
    next: Option<SocketAddr>,
) -> Result<(SocketAddr, AdminHandle, Server), String> {
    inflight::dump_on_signal().map_err(|e| format!("cannot install the signal dump: {e}"))?;
    let mut build = inflight::admin::build_info!();
    build.service = role.name().to_owned();
    let admin = start_admin(
        &Options {
            admin: own.admin,
            ..options.clone()
        },
        build,
    )?;
    let layer = match role {
        // The edge faces the internet: a trace id a client made up must not join its
        // requests to anything.
        Role::Edge => InFlightLayer::new().trust_incoming_trace(false),
        Role::Api | Role::Store => InFlightLayer::new(),
    };
    let app = match (role.next(), next) {
        (Some((next_role, path)), Some(next)) => Router::new()
            .route("/fetch/{n}", get(fetch))
            .with_state(Upstream::new(
                format!("http://{}:{}/{path}", next_role.name(), next.port()),
                match next_role {
                    Role::Api => "asking api",
                    _ => "asking store",
                },
            )),
        _ => Router::new()
            .route("/blob/{n}", get(slow_blob))
            .with_state(options.upstream_delay),
    }
    .route("/hello", get(|| async { "hello\n" }))
    .layer(layer);
    let listener = TcpListener::bind(own.listen)
        .await
        .map_err(|e| format!("{}: cannot listen on {}: {e}", role.name(), own.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    Ok((addr, admin, server))
}

/// `GET /blob/{n}` on `store`: the slow part.
async fn slow_blob(delay: State<Duration>, n: Path<String>) -> Response<Body> {
    inflight::set_status("reading blob");
    blob(delay, n).await
}
