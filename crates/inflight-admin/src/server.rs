//! The admin server's thread, runtime and connections.

use std::io;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

use crate::state::State;
use crate::{AdminHandle, AdminServer, collector, routes};

/// Largest request head the admin server reads; bigger ones get `431`.
const MAX_HEAD: usize = 16 * 1024;

pub(crate) fn start(config: AdminServer, addr: impl ToSocketAddrs) -> io::Result<AdminHandle> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    if !local.ip().is_loopback() && config.read_token.is_none() {
        eprintln!(
            "inflight: the admin port {local} is reachable from other hosts and has no read token"
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (stop, stopped) = watch::channel(false);
    let (done_tx, done) = oneshot::channel();
    let state = Arc::new(State::new(config));
    if state.config.task_dump_on_signal {
        let (dumps, admin) = (state.task_dumps.clone(), runtime.handle().clone());
        inflight_core::add_dump_section(move |out| dumps.write_section(&admin, out));
    }
    std::thread::Builder::new()
        .name("inflight-admin".into())
        .spawn(move || {
            let result = runtime.block_on(serve(listener, state, stopped));
            let _ = done_tx.send(result);
        })?;
    Ok(AdminHandle {
        addr: local,
        stop,
        done,
    })
}

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<State>,
    mut stopped: watch::Receiver<bool>,
) -> io::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let collector = tokio::spawn(collector::run(state.clone()));
    let service = TowerToHyperService::new(routes::router(state));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .max_buf_size(MAX_HEAD)
        .max_headers(64);
    // Only `shutdown` stops the server: a dropped handle (the sender gone) leaves it
    // running for the life of the process, as `AdminHandle` promises.
    let stop = async move {
        if stopped.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: wait rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(TokioIo::new(stream), service.clone());
        tokio::spawn(async move {
            // A client that goes away mid-request is not the admin server's problem.
            let _ = connection.await;
        });
    }
    collector.abort();
    Ok(())
}
