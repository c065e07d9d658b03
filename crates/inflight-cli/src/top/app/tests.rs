use std::collections::BTreeMap;

use inflight_core::wire::{Origin, RequestList};

use super::*;

fn request(
    id: u64,
    direction: &str,
    elapsed_ms: f64,
    status: &str,
    uri: &str,
    parent: Option<u64>,
) -> Request {
    Request {
        id,
        trace_id: format!("{id:032x}"),
        span_id: format!("{id:016x}"),
        parent_span_id: None,
        direction: direction.into(),
        method: "GET".into(),
        uri: uri.into(),
        version: "HTTP/1.1".into(),
        peer: None,
        route: None,
        started_at: String::new(),
        elapsed_ms,
        status: status.into(),
        status_elapsed_ms: elapsed_ms,
        history: None,
        history_dropped: 0,
        attributes: BTreeMap::new(),
        parent,
        children: Vec::new(),
        bytes_in: 0,
        bytes_out: 0,
        idle_ms: 0.0,
        response_status: None,
        cancel_requested: false,
        cancel_forbidden: false,
        control_message: None,
    }
}

fn list(requests: Vec<Request>) -> RequestList {
    RequestList {
        origin: Origin {
            server_time: String::new(),
            pid: 1,
            host: "h".into(),
            service: "s".into(),
        },
        requests,
    }
}

fn app() -> App {
    let a = Endpoint::parse("a:1").unwrap();
    let b = Endpoint::parse("b:2").unwrap();
    let mut app = App::new(&[a.clone(), b.clone()]);
    app.update(
        vec![
            (
                a,
                Ok(list(vec![
                    request(
                        1,
                        "inbound",
                        5_000.0,
                        "awaiting slownode:8484",
                        "/fetch/1",
                        None,
                    ),
                    request(
                        2,
                        "outbound",
                        4_900.0,
                        "awaiting headers",
                        "http://slownode:8484/blob/1",
                        Some(1),
                    ),
                    request(3, "inbound", 100.0, "writing body", "/stream", None),
                ])),
            ),
            (
                b,
                Ok(list(vec![request(
                    7,
                    "inbound",
                    9_000.0,
                    "in handler",
                    "/slow",
                    None,
                )])),
            ),
        ],
        Instant::now(),
    );
    app
}

fn ids(app: &App) -> Vec<(String, u64, u8)> {
    app.rows
        .iter()
        .map(|r| (r.endpoint.name.clone(), r.request.id, r.depth))
        .collect()
}

#[test]
fn oldest_first_with_children_under_parents() {
    let app = app();
    assert_eq!(
        ids(&app),
        [
            ("b:2".into(), 7, 0),
            ("a:1".into(), 1, 0),
            ("a:1".into(), 2, 1),
            ("a:1".into(), 3, 0)
        ]
    );
}

#[test]
fn sorts_by_keys_and_reverses() {
    let mut app = app();
    app.key(Key::Char('2')); // ID ascending
    assert_eq!(
        ids(&app).iter().map(|r| r.1).collect::<Vec<_>>(),
        [1, 2, 3, 7]
    );
    app.key(Key::Char('2')); // again: descending
    assert_eq!(
        ids(&app).iter().map(|r| r.1).collect::<Vec<_>>(),
        [7, 3, 1, 2]
    );
    app.key(Key::Char('r'));
    assert_eq!(
        ids(&app).iter().map(|r| r.1).collect::<Vec<_>>(),
        [1, 2, 3, 7]
    );
}

#[test]
fn filters_and_keeps_selection() {
    let mut app = app();
    app.key(Key::Down); // #1
    assert_eq!(app.selected_row().unwrap().request.id, 1);
    app.key(Key::Char('/'));
    for c in "stream".chars() {
        app.key(Key::Char(c));
    }
    app.key(Key::Enter);
    assert_eq!(ids(&app), [("a:1".into(), 3, 0)]);
    app.key(Key::Char('/'));
    app.key(Key::Esc);
    assert_eq!(app.rows.len(), 4);
}

#[test]
fn kill_asks_first_and_carries_the_message() {
    let mut app = app();
    assert_eq!(app.key(Key::Char('k')), Effect::None);
    assert!(matches!(app.mode, Mode::Confirm { id: 7, .. }));
    for c in "stuck".chars() {
        app.key(Key::Char(c));
    }
    let effect = app.key(Key::Enter);
    assert_eq!(
        effect,
        Effect::Control {
            action: Action::Terminate,
            endpoint: Endpoint::parse("b:2").unwrap(),
            id: 7,
            message: Some("stuck".into()),
        }
    );
    app.key(Key::Char('c'));
    assert_eq!(app.key(Key::Esc), Effect::None);
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn unreachable_endpoints_keep_the_others() {
    let mut app = app();
    app.update(
        vec![(
            Endpoint::parse("b:2").unwrap(),
            Err("b:2: unreachable".into()),
        )],
        Instant::now(),
    );
    assert_eq!(app.rows.len(), 3);
    assert!(app.endpoints[1].result.is_err());
}

#[test]
fn late_endpoints_fail_until_they_answer_and_rediscovery_keeps_known_ones() {
    let mut app = app();
    let b = Endpoint::parse("b:2").unwrap();
    let asked = Instant::now();
    app.late(&b, asked);
    let now = asked + std::time::Duration::from_millis(2_500);
    assert_eq!(
        app.endpoints[1].failing(now).as_deref(),
        Some("b:2: no answer for 2.50s")
    );
    // Its last rows stay while it is late.
    assert_eq!(app.rows.len(), 4);
    app.record(&b, Ok(list(Vec::new())), now);
    app.rebuild();
    assert_eq!(app.endpoints[1].failing(now), None);
    assert_eq!(app.rows.len(), 3);

    // Found again: a stays with its rows, b leaves, c waits for its first answer.
    let c = Endpoint::parse("c:3").unwrap();
    app.set_endpoints(&[c, Endpoint::parse("a:1").unwrap()]);
    assert_eq!(app.endpoints.len(), 2);
    assert_eq!(app.endpoints[0].endpoint.name, "c:3");
    assert!(app.endpoints[0].failing(now).is_some());
    assert_eq!(app.rows.len(), 3);
}
