//! The state of `inflight top` and what each key does to it. Nothing here touches the
//! terminal or the network, so it is tested directly.

use std::time::{Duration, Instant};

use inflight_core::wire::{Request, RequestList};

use crate::endpoints::Endpoint;

/// The columns, in display order; the number keys 1-8 sort by them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Column {
    Host,
    Id,
    Dir,
    Age,
    InStatus,
    Status,
    Method,
    Url,
}

impl Column {
    pub(crate) const ALL: [Column; 8] = [
        Column::Host,
        Column::Id,
        Column::Dir,
        Column::Age,
        Column::InStatus,
        Column::Status,
        Column::Method,
        Column::Url,
    ];

    pub(crate) fn title(self) -> &'static str {
        match self {
            Column::Host => "HOST",
            Column::Id => "ID",
            Column::Dir => "DIR",
            Column::Age => "AGE",
            Column::InStatus => "IN STATUS",
            Column::Status => "STATUS",
            Column::Method => "METHOD",
            Column::Url => "URL / ROUTE",
        }
    }
}

/// What one endpoint answered last.
pub(crate) struct EndpointState {
    pub(crate) endpoint: Endpoint,
    pub(crate) result: Result<RequestList, String>,
    pub(crate) fetched_at: Instant,
}

/// One line of the table.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub(crate) endpoint: Endpoint,
    pub(crate) request: Request,
    /// 1 for an outbound call shown under its parent.
    pub(crate) depth: u8,
    pub(crate) fetched_at: Instant,
}

impl Row {
    /// Age now: what the server said plus the time since it said it.
    pub(crate) fn age(&self, now: Instant) -> Duration {
        millis(self.request.elapsed_ms) + now.saturating_duration_since(self.fetched_at)
    }

    pub(crate) fn status_age(&self, now: Instant) -> Duration {
        millis(self.request.status_elapsed_ms) + now.saturating_duration_since(self.fetched_at)
    }

    /// The URL; the route when the URL is too long to read at a glance.
    pub(crate) fn target(&self) -> String {
        match &self.request.route {
            Some(route) if self.request.uri.len() > 40 => route.clone(),
            _ => self.request.uri.clone(),
        }
    }

    fn text(&self) -> String {
        let r = &self.request;
        let mut text = format!(
            "{} {} {} {} {} {}",
            self.endpoint.name,
            r.id,
            r.direction,
            r.status,
            r.method,
            self.target()
        );
        for (key, value) in &r.attributes {
            text.push_str(&format!(" {key}={value}"));
        }
        text.to_lowercase()
    }
}

fn millis(ms: f64) -> Duration {
    Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

/// Terminate or cancel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Terminate,
    Cancel,
}

/// What the keyboard is doing.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Mode {
    Normal,
    /// Typing a filter.
    Filter,
    /// Asking before a terminate or cancel; `message` is being typed.
    Confirm {
        action: Action,
        endpoint: Endpoint,
        id: u64,
        message: String,
    },
    /// The history pane of one request (`None` while it loads).
    History {
        endpoint: Endpoint,
        id: u64,
        detail: Option<Box<Result<Request, String>>>,
    },
}

/// What the app wants done after a key.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Effect {
    None,
    Quit,
    Fetch {
        endpoint: Endpoint,
        id: u64,
    },
    Control {
        action: Action,
        endpoint: Endpoint,
        id: u64,
        message: Option<String>,
    },
}

/// A key, as far as the app is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    Char(char),
    Enter,
    Esc,
    Backspace,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
}

pub(crate) struct App {
    pub(crate) endpoints: Vec<EndpointState>,
    pub(crate) rows: Vec<Row>,
    pub(crate) sort: Column,
    pub(crate) descending: bool,
    pub(crate) filter: String,
    pub(crate) mode: Mode,
    pub(crate) selected: usize,
    /// The selected request, kept across refreshes.
    selected_key: Option<(String, u64)>,
    /// A line for the status bar, with when it was set.
    pub(crate) notice: Option<(String, Instant)>,
    /// Rows that fit on screen, for page up/down.
    pub(crate) page: usize,
}

impl App {
    pub(crate) fn new(endpoints: &[Endpoint]) -> App {
        App {
            endpoints: endpoints
                .iter()
                .map(|endpoint| EndpointState {
                    endpoint: endpoint.clone(),
                    result: Err("not asked yet".into()),
                    fetched_at: Instant::now(),
                })
                .collect(),
            rows: Vec::new(),
            sort: Column::Age,
            descending: true,
            filter: String::new(),
            mode: Mode::Normal,
            selected: 0,
            selected_key: None,
            notice: None,
            page: 10,
        }
    }

    /// New answers from the endpoints.
    pub(crate) fn update(
        &mut self,
        answers: Vec<(Endpoint, Result<RequestList, String>)>,
        at: Instant,
    ) {
        for (endpoint, result) in answers {
            if let Some(state) = self.endpoints.iter_mut().find(|s| s.endpoint == endpoint) {
                state.result = result;
                state.fetched_at = at;
            }
        }
        self.rebuild();
    }

    pub(crate) fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.selected)
    }

    /// Sorts, filters and nests the rows again, keeping the selection on the same request.
    pub(crate) fn rebuild(&mut self) {
        let now = Instant::now();
        let filter = self.filter.to_lowercase();
        let all: Vec<Row> = self
            .endpoints
            .iter()
            .filter_map(|state| state.result.as_ref().ok().map(|list| (state, list)))
            .flat_map(|(state, list)| {
                list.requests.iter().map(move |request| Row {
                    endpoint: state.endpoint.clone(),
                    request: request.clone(),
                    depth: 0,
                    fetched_at: state.fetched_at,
                })
            })
            .filter(|row| filter.is_empty() || row.text().contains(&filter))
            .collect();
        let is_child_shown = |row: &Row| {
            row.request.parent.is_some_and(|parent| {
                all.iter()
                    .any(|other| other.endpoint == row.endpoint && other.request.id == parent)
            })
        };
        let (children, mut top): (Vec<Row>, Vec<Row>) =
            all.iter().cloned().partition(is_child_shown);
        self.sort_rows(&mut top, now);
        let mut rows = Vec::with_capacity(all.len());
        for parent in top {
            let mut mine: Vec<Row> = children
                .iter()
                .filter(|c| {
                    c.endpoint == parent.endpoint && c.request.parent == Some(parent.request.id)
                })
                .cloned()
                .map(|mut c| {
                    c.depth = 1;
                    c
                })
                .collect();
            mine.sort_by(|a, b| b.request.elapsed_ms.total_cmp(&a.request.elapsed_ms));
            rows.push(parent);
            rows.extend(mine);
        }
        self.rows = rows;
        self.selected = self
            .selected_key
            .as_ref()
            .and_then(|(endpoint, id)| {
                self.rows
                    .iter()
                    .position(|row| row.endpoint.name == *endpoint && row.request.id == *id)
            })
            .unwrap_or_else(|| self.selected.min(self.rows.len().saturating_sub(1)));
        self.remember_selection();
    }

    fn sort_rows(&self, rows: &mut [Row], now: Instant) {
        rows.sort_by(|a, b| {
            let order = match self.sort {
                Column::Host => a.endpoint.name.cmp(&b.endpoint.name),
                Column::Id => a.request.id.cmp(&b.request.id),
                Column::Dir => a.request.direction.cmp(&b.request.direction),
                Column::Age => a.age(now).cmp(&b.age(now)),
                Column::InStatus => a.status_age(now).cmp(&b.status_age(now)),
                Column::Status => a.request.status.cmp(&b.request.status),
                Column::Method => a.request.method.cmp(&b.request.method),
                Column::Url => a.target().cmp(&b.target()),
            };
            let order = order.then_with(|| b.request.elapsed_ms.total_cmp(&a.request.elapsed_ms));
            if self.descending {
                order.reverse()
            } else {
                order
            }
        });
    }

    fn remember_selection(&mut self) {
        self.selected_key = self
            .rows
            .get(self.selected)
            .map(|row| (row.endpoint.name.clone(), row.request.id));
    }

    fn select(&mut self, index: usize) {
        self.selected = index.min(self.rows.len().saturating_sub(1));
        self.remember_selection();
    }

    pub(crate) fn notify(&mut self, text: impl Into<String>) {
        self.notice = Some((text.into(), Instant::now()));
    }

    /// Handles one key.
    pub(crate) fn key(&mut self, key: Key) -> Effect {
        match self.mode.clone() {
            Mode::Normal => self.normal_key(key),
            Mode::Filter => {
                match key {
                    Key::Enter => self.mode = Mode::Normal,
                    Key::Esc => {
                        self.filter.clear();
                        self.mode = Mode::Normal;
                    }
                    Key::Backspace => {
                        self.filter.pop();
                    }
                    Key::Char(c) => self.filter.push(c),
                    _ => {}
                }
                self.rebuild();
                Effect::None
            }
            Mode::Confirm {
                action,
                endpoint,
                id,
                mut message,
            } => match key {
                Key::Enter => {
                    self.mode = Mode::Normal;
                    Effect::Control {
                        action,
                        endpoint,
                        id,
                        message: (!message.trim().is_empty()).then(|| message.trim().to_owned()),
                    }
                }
                Key::Esc => {
                    self.mode = Mode::Normal;
                    self.notify("not done");
                    Effect::None
                }
                Key::Backspace | Key::Char(_) => {
                    match key {
                        Key::Char(c) => message.push(c),
                        _ => {
                            message.pop();
                        }
                    }
                    self.mode = Mode::Confirm {
                        action,
                        endpoint,
                        id,
                        message,
                    };
                    Effect::None
                }
                _ => Effect::None,
            },
            Mode::History { .. } => {
                if matches!(key, Key::Esc | Key::Enter | Key::Char('q')) {
                    self.mode = Mode::Normal;
                }
                Effect::None
            }
        }
    }

    fn normal_key(&mut self, key: Key) -> Effect {
        match key {
            Key::Char('q') | Key::Esc => return Effect::Quit,
            Key::Up => self.select(self.selected.saturating_sub(1)),
            Key::Down => self.select(self.selected + 1),
            Key::PageUp => self.select(self.selected.saturating_sub(self.page)),
            Key::PageDown => self.select(self.selected + self.page),
            Key::Home => self.select(0),
            Key::End => self.select(usize::MAX),
            Key::Char('/') => self.mode = Mode::Filter,
            Key::Char('r') => {
                self.descending = !self.descending;
                self.rebuild();
            }
            Key::Char(digit @ '1'..='8') => {
                let column = Column::ALL[digit as usize - '1' as usize];
                if self.sort == column {
                    self.descending = !self.descending;
                } else {
                    self.sort = column;
                    // Ages read best longest first; text columns A to Z.
                    self.descending = matches!(column, Column::Age | Column::InStatus);
                }
                self.rebuild();
            }
            Key::Enter => {
                if let Some(row) = self.selected_row() {
                    let (endpoint, id) = (row.endpoint.clone(), row.request.id);
                    self.mode = Mode::History {
                        endpoint: endpoint.clone(),
                        id,
                        detail: None,
                    };
                    return Effect::Fetch { endpoint, id };
                }
            }
            Key::Char(c @ ('k' | 'c')) => {
                if let Some(row) = self.selected_row() {
                    self.mode = Mode::Confirm {
                        action: if c == 'k' {
                            Action::Terminate
                        } else {
                            Action::Cancel
                        },
                        endpoint: row.endpoint.clone(),
                        id: row.request.id,
                        message: String::new(),
                    };
                }
            }
            _ => {}
        }
        Effect::None
    }

    /// The request details asked for with Enter arrived.
    pub(crate) fn history(
        &mut self,
        endpoint: &Endpoint,
        id: u64,
        detail: Result<Request, String>,
    ) {
        if let Mode::History {
            endpoint: shown,
            id: shown_id,
            detail: slot,
        } = &mut self.mode
            && shown == endpoint
            && *shown_id == id
        {
            *slot = Some(Box::new(detail));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use inflight_core::wire::Origin;

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
}
