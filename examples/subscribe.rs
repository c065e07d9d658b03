//! Your own consumer of ended requests: one log line per request that took over a second.
//!
//! ```text
//! cargo run --example subscribe
//! curl localhost:3000/sleep/1500     # "slow: #1 took 1.50…s" on stderr
//! ```
//!
//! Subscriptions of one table share its stream of ended requests, each request going to
//! one of them. Only a table with a subscription open pays for it: the admin port does not
//! subscribe (it reads the table's counts and kept records when asked), so what it shows
//! in `/recent` or `/metrics` may be all a service needs.

use std::time::Duration;

use axum::extract::Path;
use axum::{Router, routing::get};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = Router::new()
        .route(
            "/sleep/{ms}",
            get(|Path(ms): Path<u64>| async move {
                tokio::time::sleep(Duration::from_millis(ms.min(60_000))).await;
                "slept\n"
            }),
        )
        .layer(inflight::InFlightLayer::new());
    tokio::spawn(log_slow_requests());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("http://{}/sleep/1500", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn log_slow_requests() {
    const SLOW: Duration = Duration::from_secs(1);
    let mut ended = inflight::global().subscribe();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        ended.drain(|requests| {
            for slow in requests.iter().filter(|r| r.duration() > SLOW) {
                eprintln!("slow: #{} took {:?}", slow.id(), slow.duration());
            }
        });
    }
}
