//! The stuck-request watchdog, read from the demo's stderr: exactly one `stuck` line per
//! request in flight longer than `--stuck-after`, and one `ended after` line when it
//! ends, whether on its own or terminated; quick requests get none.

mod support;

use std::time::Duration;

use http::StatusCode;
use support::admin::wait_for_listed;
use support::demo::Demo;

fn lines_about(lines: &[String], id: u64, what: &str) -> Vec<String> {
    let prefix = format!("inflight: request #{id} {what}");
    lines
        .iter()
        .filter(|line| line.starts_with(&prefix))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_stuck_line_per_stuck_request_and_one_when_it_ends() {
    let demo = Demo::start(&[
        "--no-traffic",
        "--upstream-delay",
        "60s",
        "--stuck-after",
        "1s",
    ]);
    let (api, admin) = (demo.api_client(), demo.admin_client());

    // A stream that ends on its own after about 4s, and a fetch stuck behind slownode.
    let stream_call = api.spawn_get("/stream?chunks=5&interval_ms=1000");
    let fetch_call = api.spawn_get("/fetch/7");
    let quick = api.get("/hello").await;
    assert_eq!(quick.status, StatusCode::OK);
    let inbound = wait_for_listed(&admin, "direction=inbound", 2).await;
    let outbound = wait_for_listed(&admin, "direction=outbound", 1).await;
    let id_of = |uri: &str| {
        inbound
            .iter()
            .find(|request| request["uri"] == uri)
            .and_then(|request| request["id"].as_u64())
            .unwrap_or_else(|| panic!("{uri} not in flight: {inbound:?}"))
    };
    let stream = id_of("/stream?chunks=5&interval_ms=1000");
    let fetch = id_of("/fetch/7");
    let child = outbound[0]["id"].as_u64().unwrap();
    assert_eq!(outbound[0]["parent"], fetch);

    support::eventually("a stuck line for each request", || async {
        let lines = demo.process.stderr();
        [stream, fetch, child]
            .iter()
            .all(|id| !lines_about(&lines, *id, "stuck:").is_empty())
            .then_some(())
    })
    .await;
    let lines = demo.process.stderr();
    let stuck = &lines_about(&lines, fetch, "stuck:")[0];
    assert!(
        stuck.starts_with(&format!(
            "inflight: request #{fetch} stuck: inbound GET \"/fetch/7\" in flight for "
        )),
        "{stuck}"
    );
    assert!(stuck.contains("[awaiting slownode:"), "{stuck}");
    assert!(stuck.contains(&format!("children: #{child}")), "{stuck}");
    // Ends with the trace id, the same for the request and its call.
    let trace = stuck.rsplit_once("; trace=").map(|(_, id)| id.to_owned());
    let trace = trace.unwrap_or_else(|| panic!("a trace id: {stuck}"));
    assert!(
        trace.len() == 32 && trace.chars().all(|c| c.is_ascii_hexdigit()),
        "{stuck}"
    );
    let stuck = &lines_about(&lines, child, "stuck:")[0];
    assert!(stuck.ends_with(&format!("; trace={trace}")), "{stuck}");
    assert!(
        stuck.contains("stuck: outbound GET \"http://slownode:") && stuck.contains("/blob/7\""),
        "{stuck}"
    );

    // The stream ends by itself; the fetch is terminated.
    let streamed = stream_call.await.expect("request task");
    assert_eq!(streamed.status, StatusCode::OK);
    assert_eq!(streamed.text().lines().count(), 5);
    admin
        .delete(&format!("/requests/{fetch}"))
        .await
        .expect(202);
    assert_eq!(
        fetch_call.await.expect("request task").status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    support::eventually("an ended line for each request", || async {
        let lines = demo.process.stderr();
        [stream, fetch, child]
            .iter()
            .all(|id| !lines_about(&lines, *id, "ended after").is_empty())
            .then_some(())
    })
    .await;
    // Two more scans of the watchdog must not repeat anything.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let lines = demo.process.stderr();
    for id in [stream, fetch, child] {
        assert_eq!(
            lines_about(&lines, id, "stuck:").len(),
            1,
            "#{id}:\n{}",
            lines.join("\n")
        );
        assert_eq!(
            lines_about(&lines, id, "ended after").len(),
            1,
            "#{id}:\n{}",
            lines.join("\n")
        );
    }
    let ended = &lines_about(&lines, stream, "ended after")[0];
    assert!(
        ended.contains("(completed, 200): GET \"/stream?chunks=5&interval_ms=1000\"; trace="),
        "{ended}"
    );
    let ended = &lines_about(&lines, fetch, "ended after")[0];
    assert!(
        ended.contains("(terminated")
            && ended.ends_with(&format!("GET \"/fetch/7\"; trace={trace}")),
        "{ended}"
    );
    assert!(
        !lines.iter().any(|line| line.contains("/hello")),
        "a quick request is never reported:\n{}",
        lines.join("\n")
    );
    assert!(
        !lines
            .iter()
            .any(|line| line.contains("no longer in flight")),
        "every end was seen:\n{}",
        lines.join("\n")
    );
}
