//! Who may use the admin port: read and kill bearer tokens (401 without one, 403 when a
//! read token tries to kill, open `/healthz` and `/openapi.json`), and CORS only for the
//! configured origins, echoed and never `*`.

mod support;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http::{Method, StatusCode};
use inflight::admin::AdminServer;
use support::admin::{Answer, Http, start_admin, wait_for_listed};
use support::serve_tracked_router;

const READ: &str = "Bearer reader-token";
const KILL: &str = "Bearer killer-token";
const ALLOWED: &str = "http://localhost:9084";

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(60)).await;
    "slept a minute"
}

/// A service with slow requests and an admin port with both tokens and two origins.
async fn guarded() -> (Http, Http, inflight::admin::AdminHandle) {
    let table = support::table();
    let api =
        Http::new(serve_tracked_router(&table, Router::new().route("/slow", get(slow))).await);
    let (handle, admin) = start_admin(
        AdminServer::new(table)
            .read_token("reader-token")
            .kill_token("killer-token")
            .allow_origin(ALLOWED)
            .allow_origin("https://dash.example/"),
    )
    .await;
    (api, admin, handle)
}

async fn with(admin: &Http, method: Method, path: &str, headers: &[(&str, &str)]) -> Answer {
    admin.send(method, path, headers, Bytes::new()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_guard_reading_and_killing() {
    let (api, admin, _handle) = guarded().await;
    let read = [("authorization", READ)];
    let kill = [("authorization", KILL)];
    let _first = api.spawn_get("/slow");
    let _second = api.spawn_get("/slow");
    let listed = support::eventually("two requests in flight", || async {
        let list = with(&admin, Method::GET, "/requests", &read)
            .await
            .expect(200);
        let requests = list["requests"].as_array()?.clone();
        (requests.len() == 2).then_some(requests)
    })
    .await;
    let (first, second) = (
        listed[0]["id"].as_u64().unwrap(),
        listed[1]["id"].as_u64().unwrap(),
    );
    let one = format!("/requests/{first}");
    let cancel = format!("/requests/{second}/cancel");

    // No token: 401 with a JSON error, on every guarded endpoint.
    for path in ["/requests", one.as_str(), "/recent", "/profile", "/dump"] {
        let message = admin.get(path).await.expect_error(401);
        assert!(message.contains("bearer token is required"), "{message}");
    }
    admin.delete(&one).await.expect_error(401);
    admin.post(&cancel, "").await.expect_error(401);
    // A wrong token, or another scheme, is no better.
    for bad in [
        "Bearer nope",
        "Bearer reader-token-and-more",
        "Basic cmVhZGVyOnRva2Vu",
    ] {
        let answer = with(&admin, Method::GET, "/requests", &[("authorization", bad)]).await;
        answer.expect_error(401);
    }

    // The read token reads (in any case of the scheme) ...
    for path in ["/requests", one.as_str(), "/recent", "/profile", "/dump"] {
        let answer = with(&admin, Method::GET, path, &read).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
    }
    let lower = [("authorization", "bearer reader-token")];
    with(&admin, Method::GET, "/requests", &lower)
        .await
        .expect(200);
    // ... but may not kill.
    let message = with(&admin, Method::DELETE, &one, &read)
        .await
        .expect_error(403);
    assert!(message.contains("kill token"), "{message}");
    with(&admin, Method::POST, &cancel, &read)
        .await
        .expect_error(403);
    assert_eq!(wait_for_listed_with(&admin, &read, 2).await, 2);

    // The kill token reads and kills.
    with(&admin, Method::GET, "/requests", &kill)
        .await
        .expect(200);
    let reply = with(&admin, Method::DELETE, &one, &kill).await.expect(202);
    assert_eq!(reply["action"], "terminate");
    let reply = with(&admin, Method::POST, &cancel, &kill).await.expect(202);
    assert_eq!(reply["action"], "cancel");

    // Health checks and the description stay open.
    let health = admin.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text());
    assert_eq!(health.json()["state"], "free");
    let openapi = admin.get("/openapi.json").await;
    assert_eq!(openapi.status, StatusCode::OK);
    assert_eq!(openapi.text(), inflight::admin::OPENAPI);
}

/// How many requests the guarded server lists, once it lists `count`.
async fn wait_for_listed_with(admin: &Http, read: &[(&str, &str)], count: usize) -> usize {
    support::eventually("the listed count", || async {
        let list = with(admin, Method::GET, "/requests", read)
            .await
            .expect(200);
        let len = list["requests"].as_array()?.len();
        (len == count).then_some(len)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_token_alone_leaves_reading_open() {
    let table = support::table();
    let api =
        Http::new(serve_tracked_router(&table, Router::new().route("/slow", get(slow))).await);
    let (_handle, admin) = start_admin(AdminServer::new(table).kill_token("killer-token")).await;
    let _call = api.spawn_get("/slow");
    let listed = wait_for_listed(&admin, "", 1).await;
    let path = format!("/requests/{}", listed[0]["id"]);
    admin.get(&path).await.expect(200);
    assert_eq!(admin.get("/dump").await.status, StatusCode::OK);
    admin.delete(&path).await.expect_error(401);
    with(&admin, Method::DELETE, &path, &[("authorization", KILL)])
        .await
        .expect(202);
    wait_for_listed(&admin, "", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_configured_origins_only() {
    let (_api, admin, _handle) = guarded().await;
    let preflight_to = |path: &'static str, method: &'static str, origin: &'static str| {
        let admin = admin.clone();
        async move {
            with(
                &admin,
                Method::OPTIONS,
                path,
                &[
                    ("origin", origin),
                    ("access-control-request-method", method),
                    ("access-control-request-headers", "authorization"),
                ],
            )
            .await
        }
    };
    let preflight = |origin| preflight_to("/requests/1", "DELETE", origin);

    // Preflight from allowed origins: the origin echoed, the path's methods and the
    // headers allowed, no token needed (browsers send none on a preflight).
    for origin in [ALLOWED, "https://dash.example"] {
        for (path, method, methods) in [
            ("/requests/1", "DELETE", "GET, HEAD, DELETE, OPTIONS"),
            ("/requests/1/cancel", "POST", "POST, OPTIONS"),
            ("/requests", "GET", "GET, HEAD, OPTIONS"),
        ] {
            let answer = preflight_to(path, method, origin).await;
            assert_eq!(answer.status, StatusCode::NO_CONTENT, "{answer:?}");
            assert_eq!(answer.header("access-control-allow-origin"), Some(origin));
            // The same methods in both; a list header's spaces after commas are optional.
            let listed = |name| {
                let value = answer.header(name).unwrap_or_else(|| panic!("no {name}"));
                value
                    .split(',')
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            assert_eq!(listed("access-control-allow-methods"), methods);
            assert_eq!(answer.header("allow"), Some(methods));
            let headers = answer
                .header("access-control-allow-headers")
                .expect("allowed headers")
                .to_ascii_lowercase();
            assert!(headers.contains("authorization"), "{headers}");
            // Header names are case-insensitive, in Vary too.
            let vary = answer.header("vary").map(str::to_ascii_lowercase);
            assert_eq!(vary.as_deref(), Some("origin"));
        }
    }
    // No preflight for what is no endpoint.
    let answer = preflight_to("/nope", "GET", ALLOWED).await;
    answer.expect_error(404);

    // Other origins: 403 with a JSON error and no CORS headers.
    for origin in [
        "http://evil.example",
        "http://localhost:9085",
        "http://localhost:9084.evil.example",
        "https://localhost:9084",
        "null",
    ] {
        let answer = preflight(origin).await;
        answer.expect_error(403);
        assert_eq!(
            answer.header("access-control-allow-origin"),
            None,
            "{origin}"
        );
        assert_eq!(
            answer.header("access-control-allow-methods"),
            None,
            "{origin}"
        );
    }

    // Simple requests: allowed origins see the answer (errors too), others do not.
    let read = ("authorization", READ);
    for path in ["/requests", "/healthz", "/recent"] {
        let answer = with(&admin, Method::GET, path, &[read, ("origin", ALLOWED)]).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("access-control-allow-origin"), Some(ALLOWED));
        let answer = with(
            &admin,
            Method::GET,
            path,
            &[read, ("origin", "http://evil.example")],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("access-control-allow-origin"), None);
        let answer = with(&admin, Method::GET, path, &[read]).await;
        assert_eq!(answer.header("access-control-allow-origin"), None);
    }
    let unauthorized = with(&admin, Method::GET, "/requests", &[("origin", ALLOWED)]).await;
    unauthorized.expect_error(401);
    assert_eq!(
        unauthorized.header("access-control-allow-origin"),
        Some(ALLOWED)
    );
    // Never a wildcard, whatever is asked.
    let star = with(&admin, Method::GET, "/healthz", &[("origin", "*")]).await;
    assert_eq!(star.header("access-control-allow-origin"), None);
}
