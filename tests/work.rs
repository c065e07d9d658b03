//! Work that is not an HTTP request (`inflight::work`) on the admin port, in the dump and
//! in the CLI: listed with direction `work`, its name, status and attributes; an outbound
//! call inside it is its child; it ends as completed, failed (panic), dropped early,
//! terminated (`DELETE`, the caller gets `Err(Terminated)`) or after a cancel (`POST
//! .../cancel` wakes `cancelled()`); `/recent` and `/profile` group it by name; work
//! awaited inside a handler names the request as its parent.

mod support;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use inflight::admin::AdminServer;
use inflight::{Table, Work};
use serde_json::Value;
use support::admin::{Http, serve_slow_upstream, start_admin, wait_for_listed};
use support::cli::inflight;
use tower::ServiceExt;

fn find<'a>(list: &'a Value, key: &str, direction: &str, name: &str) -> Option<&'a Value> {
    list[key]
        .as_array()?
        .iter()
        .find(|item| item["direction"] == direction && item["name"] == name)
}

async fn admin_for(table: &Table) -> (inflight::admin::AdminHandle, Http) {
    start_admin(AdminServer::new(table.clone())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_is_listed_with_its_call_and_terminated_from_the_admin_port() {
    let table = support::table();
    let (handle, admin) = admin_for(&table).await;
    let upstream = serve_slow_upstream(Duration::from_secs(60)).await;
    let client = support::tracked_client(&table);
    let running = tokio::spawn(
        Work::builder("consume orders/3")
            .table(table.clone())
            .attr("partition", "3")
            .run(async move {
                inflight::set_attr("offset", "1041");
                inflight::set_status("decoding");
                let call = client.oneshot(support::get(format!("http://{upstream}/charge")));
                let _ = call.await;
                "charged"
            }),
    );

    let listed = wait_for_listed(&admin, "direction=work", 1).await;
    let id = listed[0]["id"].as_u64().expect("id");
    let work = support::eventually("the work awaits its call", || async {
        let work = admin.get(&format!("/requests/{id}")).await.expect(200)["request"].take();
        (work["status"] == format!("awaiting {upstream}")).then_some(work)
    })
    .await;
    assert_eq!(work["direction"], "work");
    assert_eq!(work["method"], "WORK");
    assert_eq!(work["uri"], "consume orders/3");
    assert_eq!(work["route"], "consume orders/3");
    assert_eq!(
        work["attributes"],
        serde_json::json!({"partition": "3", "offset": "1041"})
    );
    let call = wait_for_listed(&admin, "direction=outbound", 1).await;
    assert_eq!(call[0]["parent"], id, "the call is the work's child");
    assert_eq!(call[0]["trace_id"], work["trace_id"]);
    let history: Vec<&str> = work["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|change| change["status"].as_str().expect("status"))
        .collect();
    assert_eq!(history[..2], ["working", "decoding"], "{work}");
    assert_eq!(work["children"], serde_json::json!([call[0]["id"]]));
    // Only the work, and `in`/`out` leave it out.
    assert_eq!(
        wait_for_listed(&admin, "direction=inbound", 0).await.len(),
        0
    );

    // The dump: a section of its own, the call under it.
    let mut out = Vec::new();
    table.dump_text(&mut out).expect("dump");
    let dump = String::from_utf8(out).expect("utf-8");
    assert!(
        dump.starts_with("inflight: 0 inbound, 1 outbound, 1 work in flight"),
        "{dump}"
    );
    let section = dump.split("\nwork:\n").nth(1).expect("a work section");
    let mut lines = section.lines();
    let line = lines.next().expect("the work's line");
    assert!(
        line.starts_with(&format!("  #{id} servicing WORK \"consume orders/3\" for ")),
        "{dump}"
    );
    assert!(line.contains(&format!("[awaiting {upstream}")), "{dump}");
    assert!(line.contains("{partition=3, offset=1041}"), "{dump}");
    let child = lines.next().expect("the call's line");
    assert!(
        child.starts_with(&format!(
            "    #{} servicing GET \"http://{upstream}/charge\"",
            call[0]["id"]
        )),
        "{dump}"
    );

    // The CLI, against the real admin port.
    let endpoint = handle.local_addr().to_string();
    let run = inflight(&["ls", "--endpoints", &endpoint, "--direction", "work"]);
    let listed = run.ok();
    let row = listed
        .lines()
        .find(|line| line.contains("consume orders/3"))
        .unwrap_or_else(|| panic!("no work row in {listed}"));
    assert!(row.contains(" work "), "{listed}");
    assert!(!listed.contains("/charge"), "{listed}");

    // Terminated: the work's future (and its call) is dropped, the caller gets Err.
    admin
        .delete(&format!("/requests/{id}?message=rebalancing"))
        .await
        .expect(202);
    let terminated = running
        .await
        .expect("work task")
        .expect_err("terminated work resolves Err");
    assert_eq!(terminated.id, id);
    assert_eq!(terminated.message.as_deref(), Some("rebalancing"));
    support::wait_for_table(&table, "the table to empty", |snapshot| {
        snapshot.entries.is_empty().then_some(())
    })
    .await;
    let recent = admin.get("/recent").await.expect(200);
    let family = find(&recent, "families", "work", "consume orders/3").expect("work family");
    assert_eq!(family["errors"][0]["ending"], "terminated", "{family}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_ends_completed_failed_or_dropped_and_is_grouped_by_name() {
    let table = support::table();
    let (_handle, admin) = admin_for(&table).await;
    for n in 0..3 {
        let done = Work::builder("reindex")
            .table(table.clone())
            .run(async move {
                inflight::set_status("scanning");
                tokio::time::sleep(Duration::from_millis(5)).await;
                n
            })
            .await;
        assert_eq!(done, Ok(n));
    }
    let rejected = Work::builder("reindex")
        .table(table.clone())
        .run(async { Err::<(), _>("bad shard") })
        .fail_on_err()
        .await;
    assert_eq!(rejected, Ok(Err("bad shard")));
    let panicked = tokio::spawn(
        Work::builder("explode")
            .table(table.clone())
            .run(async { panic!("corrupt message") }),
    )
    .await
    .expect_err("the panic reaches the task");
    assert!(panicked.is_panic());
    let gave_up = tokio::time::timeout(
        Duration::from_millis(20),
        Work::builder("stall")
            .table(table.clone())
            .run(std::future::pending::<()>()),
    )
    .await;
    assert!(gave_up.is_err(), "the timeout dropped the work");
    assert!(table.is_empty());
    let totals = table.totals_of(inflight::Direction::Work);
    assert_eq!(
        (
            totals.started,
            totals.completed,
            totals.failed,
            totals.dropped_early
        ),
        (6, 3, 2, 1)
    );

    let recent = support::eventually("all work in /recent", || async {
        let recent = admin.get("/recent").await.expect(200);
        let finished = |name| {
            find(&recent, "families", "work", name).map_or(0, |f| f["finished"].as_u64().unwrap())
        };
        (finished("reindex") == 4 && finished("explode") == 1 && finished("stall") == 1)
            .then_some(recent)
    })
    .await;
    let endings = |name| -> Vec<String> {
        find(&recent, "families", "work", name).expect("family")["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|error| error["ending"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(endings("reindex"), ["failed"]);
    assert_eq!(endings("explode"), ["failed"]);
    assert_eq!(endings("stall"), ["dropped_early"]);

    let profile = admin.get("/profile").await.expect(200);
    let reindex = find(&profile, "routes", "work", "reindex").expect("reindex in /profile");
    let scanning = reindex["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .find(|status| status["status"] == "scanning")
        .unwrap_or_else(|| panic!("no scanning in {reindex}"));
    assert_eq!(scanning["count"], 3);
    assert!(scanning["total_ms"].as_f64().unwrap() >= 15.0, "{scanning}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_from_the_admin_port_wakes_the_work() {
    let table = support::table();
    let (_handle, admin) = admin_for(&table).await;
    let running = tokio::spawn(
        Work::builder("drain queue")
            .table(table.clone())
            .run(async {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(60)) => "slept a minute",
                    _ = inflight::cancelled() => "stopped at a message boundary",
                }
            }),
    );
    let id = wait_for_listed(&admin, "direction=work", 1).await[0]["id"].clone();
    admin
        .post(&format!("/requests/{id}/cancel"), r#"{"grace": "30s"}"#)
        .await
        .expect(202);
    assert_eq!(
        running.await.expect("work task"),
        Ok("stopped at a message boundary")
    );
    let recent = admin.get("/recent").await.expect(200);
    let family = find(&recent, "families", "work", "drain queue").expect("family");
    assert_eq!(
        family["errors"],
        serde_json::json!([]),
        "completed: {family}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_awaited_in_a_handler_names_the_request_as_parent() {
    let table = support::table();
    let (_handle, admin) = admin_for(&table).await;
    let gate = support::Gate::new();
    let held = gate.clone();
    let work_table = table.clone();
    let router = Router::new().route(
        "/jobs",
        get(move || async move {
            Work::builder("render report")
                .table(work_table)
                .run(held.wait())
                .await
                .map_or("terminated", |()| "rendered")
        }),
    );
    let addr = support::serve_tracked_router(&table, router).await;
    let api = Http::new(addr);
    let call = api.spawn_get("/jobs");
    let work = wait_for_listed(&admin, "direction=work", 1).await;
    let request = wait_for_listed(&admin, "direction=inbound", 1).await;
    assert_eq!(work[0]["parent"], request[0]["id"]);
    assert_eq!(work[0]["trace_id"], request[0]["trace_id"]);
    assert_eq!(work[0]["parent_span_id"], request[0]["span_id"]);
    // The request keeps its own status: work is not an outbound call.
    assert_eq!(request[0]["status"], "in handler");
    gate.open();
    assert_eq!(call.await.expect("request task").text(), "rendered");
}
