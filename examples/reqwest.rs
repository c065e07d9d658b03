//! A service whose handler calls another service with reqwest: the call shows under the
//! request it was made for, which waits on it.
//!
//! ```text
//! cargo run --example reqwest --features reqwest
//! curl localhost:3000/fetch &
//! kill -USR1 $(pgrep -n reqwest)
//! ```
//!
//! The dump shows `GET "/fetch"` `[awaiting 127.0.0.1:3000]`, its reqwest call under it,
//! and the call's own request to `/slow`.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};

async fn fetch(State(client): State<ClientWithMiddleware>) -> String {
    let sent = client.get("http://127.0.0.1:3000/slow").send().await;
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
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(inflight::reqwest::InFlightMiddleware::new())
        .build();
    let app = Router::new()
        .route("/fetch", get(fetch))
        .route("/slow", get(slow))
        .with_state(client)
        .layer(inflight::InFlightLayer::new());
    #[cfg(unix)]
    inflight::dump_on_signal()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await
}
