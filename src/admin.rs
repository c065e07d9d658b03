//! The admin port: the table over HTTP, terminate and cancel, recent requests, profiles,
//! traces, health, metrics and a web page (feature `admin`, on by default).
//!
//! The admin server runs on its own port and its own thread (a single-threaded tokio
//! runtime), so health checks and kills never queue behind a busy service, even one whose
//! worker threads are all stuck. Start it once, on the table the layers use:
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! let admin = inflight::admin::AdminServer::new(inflight::global().clone())
//!     .build_info(inflight::admin::build_info!())
//!     .kill_token("s3cret")
//!     .bind("127.0.0.1:9084")?;
//! println!("admin on http://{}", admin.local_addr());
//! // curl http://127.0.0.1:9084/requests
//! // curl -X DELETE -H 'authorization: Bearer s3cret' http://127.0.0.1:9084/requests/41
//! # Ok(())
//! # }
//! ```
//!
#![doc = include_str!("../crates/inflight-admin/src/guide.md")]

pub use inflight_admin::*;
