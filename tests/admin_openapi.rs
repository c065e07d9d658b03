//! `src/openapi.json` stays true to the server: every path and method the router answers
//! is described, every described one answers (not 404 or 405) on a live server, `Allow`
//! agrees with the description, and live answers of each endpoint have the documented
//! status, content type and fields. schemathesis (`admin_schemathesis.rs`) goes deeper.

mod support;

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use bytes::Bytes;
use http::{Method, StatusCode};
use inflight::admin::AdminServer;
use serde_json::Value;
use support::admin::{Answer, Http, start_admin, wait_for_listed};
use support::{Gate, serve_tracked_router};

/// The methods probed on every path. OPTIONS is left out: it is the CORS preflight,
/// answered on every path.
const METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::TRACE,
];

/// Paths probed besides the described ones: endpoints the description could miss, and
/// paths that are none.
const ALSO_PROBED: [&str; 12] = [
    "/metrics",
    "/",
    "/app.js",
    "/app.css",
    "/requests/{id}/history",
    "/requests/{id}/terminate",
    "/request",
    "/index.html",
    "/api",
    "/status",
    "/health",
    "/debug/pprof",
];

fn spec() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/inflight-admin/src/openapi.json"
    );
    let text = std::fs::read_to_string(path).expect("read openapi.json");
    assert_eq!(
        text,
        inflight::admin::OPENAPI,
        "the served description is the file"
    );
    serde_json::from_str(&text).expect("openapi.json is JSON")
}

/// The methods `spec` describes for `path`, upper case.
fn described(spec: &Value, path: &str) -> BTreeSet<String> {
    spec["paths"][path]
        .as_object()
        .map(|operations| {
            operations
                .keys()
                .filter(|key| {
                    [
                        "get", "put", "post", "delete", "options", "head", "patch", "trace",
                    ]
                    .contains(&key.as_str())
                })
                .map(|key| key.to_uppercase())
                .collect()
        })
        .unwrap_or_default()
}

/// Resolves a local `$ref`.
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("a local $ref");
            let target = spec
                .pointer(pointer)
                .unwrap_or_else(|| panic!("no {reference}"));
            resolve(spec, target)
        }
        None => schema,
    }
}

/// Checks `value` against the parts of OpenAPI 3.0 schemas this description uses.
fn validate(spec: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    if value.is_null() {
        if schema["nullable"] != true {
            errors.push(format!("{at}: null, but not nullable"));
        }
        return;
    }
    let fits = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some(other) => panic!("{at}: unknown type {other}"),
        None => true,
    };
    if !fits {
        errors.push(format!("{at}: {value} is not of type {}", schema["type"]));
        return;
    }
    if let Some(choices) = schema["enum"].as_array()
        && !choices.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {choices:?}"));
    }
    if let (Some(number), Some(minimum)) = (value.as_f64(), schema["minimum"].as_f64())
        && number < minimum
    {
        errors.push(format!("{at}: {number} < minimum {minimum}"));
    }
    if let (Some(number), Some(maximum)) = (value.as_f64(), schema["maximum"].as_f64())
        && number > maximum
    {
        errors.push(format!("{at}: {number} > maximum {maximum}"));
    }
    if schema["format"] == "date-time" {
        let text = value.as_str().unwrap_or_default();
        let shape_ok = text.len() == 24 && text.as_bytes()[10] == b'T' && text.ends_with('Z');
        if !shape_ok {
            errors.push(format!("{at}: {text:?} is not an RFC 3339 time"));
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().expect("required names are strings");
            if !object.contains_key(name) {
                errors.push(format!("{at}: required field {name:?} is missing"));
            }
        }
        let properties = schema["properties"].as_object();
        for (name, field) in object {
            let at = format!("{at}.{name}");
            match properties.and_then(|properties| properties.get(name)) {
                Some(field_schema) => validate(spec, field_schema, field, &at, errors),
                None => match &schema["additionalProperties"] {
                    Value::Bool(false) => errors.push(format!("{at}: not described")),
                    extra @ Value::Object(_) => validate(spec, extra, field, &at, errors),
                    _ => {}
                },
            }
        }
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            validate(spec, &schema["items"], item, &format!("{at}[{i}]"), errors);
        }
    }
}

/// Checks that `answer` to `method template` is documented: its status, its media type
/// and, for JSON, its body.
fn check_documented(spec: &Value, template: &str, method: &Method, answer: &Answer) -> usize {
    let operation = &spec["paths"][template][method.as_str().to_lowercase()];
    let what = format!("{method} {template} -> {}", answer.status);
    let response = &operation["responses"][answer.status.as_str()];
    assert!(
        response.is_object(),
        "{what} is not documented; body: {}",
        answer.text()
    );
    let media = answer
        .header("content-type")
        .and_then(|value| value.split(';').next())
        .unwrap_or_else(|| panic!("{what}: no content type"))
        .trim()
        .to_owned();
    let content = &response["content"][&media];
    assert!(
        content.is_object(),
        "{what}: content type {media} is not documented: {response}"
    );
    let schema = &content["schema"];
    let mut errors = Vec::new();
    if media == "application/json" {
        validate(spec, schema, &answer.json(), "$", &mut errors);
    } else {
        assert_eq!(resolve(spec, schema)["type"], "string", "{what}");
    }
    assert!(errors.is_empty(), "{what}:\n{}", errors.join("\n"));
    1
}

async fn held(State(gate): State<Gate>) -> &'static str {
    inflight::set_status("held");
    gate.wait().await;
    "released"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_description_matches_the_router_and_its_answers() {
    let spec = spec();
    assert_eq!(spec["openapi"], "3.0.3");
    let table = support::table();
    let gate = Gate::new();
    let router = Router::new()
        .route("/held", get(held))
        .route("/quick", get(|| async { "quick" }))
        .with_state(gate.clone());
    let api = Http::new(serve_tracked_router(&table, router).await);
    let (_handle, admin) = start_admin(
        AdminServer::new(table.clone())
            .busy_when_inbound_above(2)
            .metrics_endpoint(|| "inflight_test_metric 1\n".to_owned()),
    )
    .await;

    // Something finished for /recent and /profile, and three requests in flight: one to
    // read, one to terminate, one to cancel.
    assert_eq!(api.get("/quick").await.status, StatusCode::OK);
    let _calls: Vec<_> = (0..3).map(|_| api.spawn_get("/held")).collect();
    let listed = wait_for_listed(&admin, "direction=inbound", 3).await;
    let ids: Vec<u64> = listed.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    support::eventually("/recent to have the finished request", || async {
        let recent = admin.get("/recent").await.expect(200);
        (!recent["families"].as_array()?.is_empty()).then_some(())
    })
    .await;

    let spec_paths: BTreeSet<String> = spec["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    let mut templates = spec_paths.clone();
    templates.extend(ALSO_PROBED.iter().map(|path| (*path).to_owned()));
    let concrete = |template: &str, method: &Method| {
        let id = match *method {
            Method::DELETE => ids[1],
            Method::POST => ids[2],
            _ => ids[0],
        };
        let path = template.replace("{id}", &id.to_string());
        // A CPU profile answers after its window: the shortest keeps the held requests
        // below their deadline.
        if path == "/debug/pprof/profile" {
            path + "?seconds=1"
        } else {
            path
        }
    };

    let mut validated = 0;
    for template in &templates {
        let described = described(&spec, template);
        let mut answered = BTreeSet::new();
        for method in METHODS {
            let path = concrete(template, &method);
            let answer = admin.send(method.clone(), &path, &[], Bytes::new()).await;
            let what = format!("{method} {path}");
            match answer.status {
                // The ids are of requests in flight, so a 404 is always "no such endpoint".
                StatusCode::NOT_FOUND => {}
                StatusCode::METHOD_NOT_ALLOWED => {
                    if method != Method::HEAD {
                        answer.expect_error(405);
                    }
                    // Allow names what the description has.
                    let allow: BTreeSet<String> = answer
                        .header("allow")
                        .unwrap_or_else(|| panic!("{what}: 405 without Allow"))
                        .split(',')
                        .map(|method| method.trim().to_owned())
                        .filter(|method| method != "HEAD")
                        .collect();
                    assert_eq!(allow, described, "{what}: Allow and the description differ");
                }
                _ => {
                    // HEAD is GET without the body: described by the GET.
                    let as_described = if method == Method::HEAD {
                        "GET"
                    } else {
                        method.as_str()
                    };
                    assert!(
                        described.contains(as_described),
                        "{what} answers {} but is not described; body: {}",
                        answer.status,
                        answer.text()
                    );
                    answered.insert(as_described.to_owned());
                    if method != Method::HEAD {
                        validated += check_documented(&spec, template, &method, &answer);
                    }
                }
            }
        }
        assert_eq!(
            answered, described,
            "{template}: described methods that do not answer, or the reverse"
        );
        // OPTIONS names the same methods, or says there is no such endpoint.
        let options = admin
            .send(
                Method::OPTIONS,
                &concrete(template, &Method::GET),
                &[],
                Bytes::new(),
            )
            .await;
        if described.is_empty() {
            options.expect_error(404);
        } else {
            assert_eq!(options.status, StatusCode::NO_CONTENT, "OPTIONS {template}");
            let allow: BTreeSet<String> = options
                .header("allow")
                .unwrap_or_else(|| panic!("OPTIONS {template} without Allow"))
                .split(',')
                .map(|method| method.trim().to_owned())
                .filter(|method| method != "HEAD" && method != "OPTIONS")
                .collect();
            assert_eq!(allow, described, "OPTIONS {template}");
        }
    }
    assert!(
        validated >= spec_paths.len(),
        "{validated} answers validated"
    );

    // Error answers and the other documented statuses validate too.
    for (method, path, template) in [
        (Method::GET, "/requests?limit=0".to_owned(), "/requests"),
        (
            Method::GET,
            "/requests/987654321".to_owned(),
            "/requests/{id}",
        ),
        (Method::GET, "/requests/x".to_owned(), "/requests/{id}"),
        (
            Method::DELETE,
            "/requests/987654321".to_owned(),
            "/requests/{id}",
        ),
        (
            Method::POST,
            "/requests/987654321/cancel".to_owned(),
            "/requests/{id}/cancel",
        ),
        (
            Method::POST,
            "/requests/1/cancel?grace=x".to_owned(),
            "/requests/{id}/cancel",
        ),
        (Method::GET, "/profile?reset=x".to_owned(), "/profile"),
        (Method::GET, "/recent?x=1".to_owned(), "/recent"),
        (Method::GET, "/healthz?x=1".to_owned(), "/healthz"),
        (Method::GET, "/dump?x=1".to_owned(), "/dump"),
        (Method::GET, "/openapi.json?x=1".to_owned(), "/openapi.json"),
        (Method::GET, "/metrics?x=1".to_owned(), "/metrics"),
        (Method::GET, "/healthz".to_owned(), "/healthz"),
        (
            Method::GET,
            format!("/requests/{}", ids[0]),
            "/requests/{id}",
        ),
    ] {
        let answer = admin.send(method.clone(), &path, &[], Bytes::new()).await;
        assert!(spec_paths.contains(template), "{template} is described");
        check_documented(&spec, template, &method, &answer);
    }
    let big = format!(r#"{{"message": "{}"}}"#, "x".repeat(70_000));
    let answer = admin
        .send(Method::DELETE, &format!("/requests/{}", ids[0]), &[], big)
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    check_documented(&spec, "/requests/{id}", &Method::DELETE, &answer);
    gate.open();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guarded_operations_document_401_and_open_ones_need_no_token() {
    let spec = spec();
    let (_handle, admin) = start_admin(
        AdminServer::new(support::table())
            .read_token("reader")
            .kill_token("killer")
            .metrics_endpoint(String::new),
    )
    .await;
    let mut open = BTreeSet::new();
    for (template, operations) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let method: Method = method.to_uppercase().parse().expect("a method");
            let path = template.replace("{id}", "1");
            let answer = admin.send(method.clone(), &path, &[], Bytes::new()).await;
            let security = operation["security"]
                .as_array()
                .expect("security is explicit");
            let needs_no_token = security.iter().all(|requirement| {
                requirement
                    .as_object()
                    .is_some_and(|schemes| schemes.is_empty())
            });
            if answer.status == StatusCode::UNAUTHORIZED {
                assert!(
                    !needs_no_token,
                    "{method} {template} answers 401 but its security says no token"
                );
                check_documented(&spec, template, &method, &answer);
            } else {
                assert!(
                    needs_no_token,
                    "{method} {template} answered {} without a token but its security lists \
                     the bearer token",
                    answer.status
                );
                open.insert(template.clone());
            }
        }
    }
    assert!(
        open.contains("/healthz") && open.contains("/openapi.json"),
        "{open:?}"
    );
    assert!(!open.contains("/requests"), "{open:?}");
}
