//! The router: one route per endpoint with its methods, its CORS answers and its `405`,
//! and the small endpoints that serve text.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use http::{StatusCode, Uri};

use crate::AdminServer;
use crate::access::{self, Reader};
use crate::handlers;
use crate::health;
use crate::query::{NoParams, Params};
use crate::reply::{self, Failure, Reply, json};
use crate::state::State as Admin;
use crate::web;

type Shared = State<Arc<Admin>>;
type Endpoint = MethodRouter<Arc<Admin>>;

/// The page's files other than `/`, one path segment each.
const ASSET: &str = "/{name}";

/// The admin API and the page, for `state`'s settings.
pub(crate) fn router(state: Arc<Admin>) -> Router {
    let config = &state.config;
    let mut router = Router::new();
    for (path, allow, methods) in endpoints(config) {
        let methods = methods
            .fallback(move || async move { Failure::method_not_allowed(allow) })
            .layer(access::cors(config, allow))
            .layer(from_fn(move |request, next| {
                access::options(allow, request, next)
            }));
        // Outermost, so that other names are no endpoint for every method and OPTIONS.
        router = router.route(
            path,
            if path == ASSET {
                methods.layer(from_fn(only_assets))
            } else {
                methods
            },
        );
    }
    router.fallback(no_such_endpoint).with_state(state)
}

/// Each endpoint's path, the methods it allows, and its handlers.
fn endpoints(config: &AdminServer) -> Vec<(&'static str, &'static str, Endpoint)> {
    let read = "GET, HEAD";
    let mut endpoints = vec![
        ("/requests", read, get(handlers::list)),
        (
            "/requests/{id}",
            "GET, HEAD, DELETE",
            get(handlers::get).delete(handlers::terminate),
        ),
        ("/requests/{id}/cancel", "POST", post(handlers::cancel)),
        ("/traces/{id}", read, get(handlers::trace)),
        ("/recent", read, get(handlers::recent)),
        ("/profile", read, get(handlers::profile)),
        ("/healthz", read, get(healthz)),
        ("/dump", read, get(dump)),
        ("/debug/tasks", read, get(crate::tasks::tasks)),
        ("/openapi.json", read, get(openapi)),
        ("/debug/pprof/profile", read, get(crate::cpu::profile)),
        // The page holds no data: it needs no token, and asks each admin port for the
        // data with the tokens the user gives it. Its own query is for the page to read.
        ("/", read, get(page)),
        (ASSET, read, get(asset)),
    ];
    if config.metrics_endpoint.is_some() {
        endpoints.push(("/metrics", read, get(metrics)));
    }
    endpoints
}

async fn no_such_endpoint(uri: Uri) -> Failure {
    Failure::not_found(format!(
        "no such endpoint: {}; see /openapi.json",
        uri.path()
    ))
}

/// `/{name}` is an endpoint only for the page's files: other names are no endpoint, for
/// every method.
async fn only_assets(request: Request, next: Next) -> Response {
    if web::is_asset(request.uri().path().trim_start_matches('/')) {
        next.run(request).await
    } else {
        no_such_endpoint(request.uri().clone())
            .await
            .into_response()
    }
}

async fn page() -> Result<Reply, Failure> {
    web::asset("").ok_or_else(|| Failure::not_found("no such file: /"))
}

async fn asset(Params(NoParams {}): Params<NoParams>, uri: Uri) -> Result<Reply, Failure> {
    let path = uri.path();
    web::asset(path.trim_start_matches('/'))
        .ok_or_else(|| Failure::not_found(format!("no such file: {path}")))
}

async fn healthz(State(state): Shared, Params(NoParams {}): Params<NoParams>) -> Reply {
    let (busy, report) = health::report(
        &state.config,
        &state.health,
        state.started.elapsed(),
        state.origin(),
    );
    let status = if busy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    json(status, &report)
}

async fn dump(
    _: Reader,
    State(state): Shared,
    Params(NoParams {}): Params<NoParams>,
) -> Result<Reply, Failure> {
    let mut text = Vec::new();
    state
        .config
        .table
        .dump_text(&mut text)
        .map_err(|error| Failure::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()))?;
    Ok(reply::text(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        text,
    ))
}

async fn openapi(Params(NoParams {}): Params<NoParams>) -> Reply {
    reply::text(StatusCode::OK, "application/json", crate::OPENAPI)
}

async fn metrics(_: Reader, State(state): Shared, Params(NoParams {}): Params<NoParams>) -> Reply {
    let render = state
        .config
        .metrics_endpoint
        .as_ref()
        .map(|render| render());
    reply::text(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        render.unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use http::{HeaderValue, Method, header};
    use tower::ServiceExt;

    use super::*;

    async fn send(router: &Router, method: Method, path: &str, origin: &str) -> Response {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .body(axum::body::Body::empty())
            .unwrap();
        router.clone().oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn a_configured_star_is_no_wildcard() {
        let config = AdminServer::new(inflight_core::Table::builder().build())
            .allow_origin("*")
            .allow_origin("http://localhost:9084");
        let router = router(Arc::new(Admin::new(config)));
        let allowed = |reply: &Response| {
            reply
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .cloned()
        };

        let reply = send(&router, Method::GET, "/healthz", "http://elsewhere.example").await;
        assert_eq!(reply.status(), StatusCode::OK);
        assert_eq!(allowed(&reply), None);
        let reply = send(&router, Method::GET, "/healthz", "*").await;
        assert_eq!(allowed(&reply), None);
        let reply = send(&router, Method::OPTIONS, "/healthz", "*").await;
        assert_eq!(reply.status(), StatusCode::FORBIDDEN);

        let reply = send(
            &router,
            Method::OPTIONS,
            "/healthz",
            "http://localhost:9084",
        )
        .await;
        assert_eq!(reply.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            allowed(&reply),
            Some(HeaderValue::from_static("http://localhost:9084"))
        );
    }

    /// The router and openapi.json name the same paths and methods: a route missing
    /// from either fails here.
    #[test]
    fn the_description_names_every_route() {
        let config =
            AdminServer::new(inflight_core::Table::builder().build()).metrics_endpoint(String::new);
        let spec: serde_json::Value = serde_json::from_str(crate::OPENAPI).unwrap();
        let described = spec["paths"].as_object().unwrap();
        let methods = |path: &str| -> Vec<String> {
            let mut methods: Vec<String> = described[path]
                .as_object()
                .unwrap()
                .keys()
                .map(|m| m.to_uppercase())
                .collect();
            methods.sort();
            methods
        };
        let routes = endpoints(&config);
        for (path, allow, _) in &routes {
            if *path == ASSET {
                continue;
            }
            assert!(described.contains_key(*path), "{path} is not described");
            let mut allowed: Vec<String> = allow
                .split(", ")
                .filter(|m| *m != "HEAD")
                .map(str::to_owned)
                .collect();
            allowed.sort();
            assert_eq!(methods(path), allowed, "{path}");
        }
        for path in described.keys() {
            if routes.iter().any(|(route, _, _)| route == path) {
                continue;
            }
            // The page's files are the one route with a parameter the description lists
            // one by one.
            assert!(
                web::is_asset(&path[1..]),
                "{path} is described but not routed"
            );
            assert_eq!(methods(path), ["GET"], "{path}");
        }
    }
}
