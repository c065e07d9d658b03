//! The admin server alone on an empty table: the smallest binary with the admin port,
//! for measuring what the admin crate adds to a build.
//!
//! `cargo run --release -p inflight-admin --example admin_only` then
//! `curl http://127.0.0.1:9084/requests`.

fn main() -> std::io::Result<()> {
    let table = inflight_core::Table::builder().build();
    let admin = inflight_admin::AdminServer::new(table).bind("127.0.0.1:9084")?;
    println!("admin on http://{}", admin.local_addr());
    admin.wait()
}
