//! A service whose handler calls another service with reqwest: the call shows under the
//! request it was made for, which waits on it.
//!
//! ```text
//! cargo run --example reqwest --features reqwest    # prints the curl command to run
//! curl http://127.0.0.1:PORT/fetch &
//! kill -USR1 $(pgrep -n reqwest)
//! ```
//!
//! The dump shows `GET "/fetch"` `[awaiting 127.0.0.1:PORT]`, its reqwest call under it,
//! and the call's own request to `/slow`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use reqwest_middleware::ClientWithMiddleware;

async fn fetch(State((client, addr)): State<(ClientWithMiddleware, SocketAddr)>) -> String {
    let sent = client.get(format!("http://{addr}/slow")).send().await;
    match sent {
        Ok(response) => response.text().await.unwrap_or_else(|e| e.to_string()),
        Err(error) => error.to_string(),
    }
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "done\n"
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(inflight::reqwest::InFlightMiddleware::new())
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/fetch", get(fetch))
        .route("/slow", get(slow))
        .with_state((client, addr))
        .layer(inflight::InFlightLayer::new());
    #[cfg(unix)]
    inflight::dump_on_signal()?;
    eprintln!("try: curl http://{addr}/fetch");
    axum::serve(listener, app).await
}
