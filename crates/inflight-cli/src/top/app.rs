//! The state of `inflight top` and what each key does to it. Nothing here touches the
//! terminal or the network, so it is tested directly.

use std::cmp::Ordering;
use std::time::Instant;

use inflight_wire::Request;

use super::forest;
pub(crate) use super::rows::{Column, EndpointState, Row};
use crate::endpoints::Endpoint;
use crate::tree::Listed;
use crate::upstreams::{self, Upstream};

/// What the table shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    /// The requests in flight.
    Requests,
    /// The outbound calls in flight, grouped by target.
    Upstreams,
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
    /// One call tree over all endpoints (else each request with its calls under it).
    pub(crate) tree: bool,
    pub(crate) view: View,
}

impl App {
    pub(crate) fn new(endpoints: &[Endpoint]) -> App {
        App {
            endpoints: endpoints
                .iter()
                .map(|endpoint| EndpointState::new(endpoint.clone()))
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
            tree: true,
            view: View::Requests,
        }
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
                    service: list.origin.service.clone(),
                    request: request.clone(),
                    depth: 0,
                    prefix: String::new(),
                    holding: false,
                    fetched_at: state.fetched_at,
                })
            })
            .collect();
        let order = |a: &Row, b: &Row| self.compare(a, b, now);
        self.rows = if self.tree {
            forest::tree_rows(all, &filter, order)
        } else {
            forest::flat_rows(all, &filter, order)
        };
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

    /// The order of the sort column, then oldest first.
    fn compare(&self, a: &Row, b: &Row, now: Instant) -> Ordering {
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
    }

    /// The outbound calls in flight at every endpoint, grouped by target.
    pub(crate) fn upstreams(&self) -> Vec<Upstream> {
        let items: Vec<Listed<'_>> = self
            .endpoints
            .iter()
            .filter_map(|state| state.result.as_ref().ok().map(|list| (state, list)))
            .flat_map(|(state, list)| {
                list.requests.iter().map(|request| Listed {
                    endpoint: &state.endpoint.name,
                    service: &list.origin.service,
                    request,
                })
            })
            .collect();
        upstreams::group(&items, upstreams::Order::Biggest)
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
        match (self.view, key) {
            (_, Key::Char('t')) => {
                self.tree = !self.tree;
                self.rebuild();
                return Effect::None;
            }
            (View::Requests, Key::Char('u')) => {
                self.view = View::Upstreams;
                return Effect::None;
            }
            (View::Upstreams, Key::Char('q')) => return Effect::Quit,
            // Nothing to select, kill or sort there: any other key goes back.
            (View::Upstreams, _) => {
                self.view = View::Requests;
                return Effect::None;
            }
            (View::Requests, _) => {}
        }
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

mod answers;
#[cfg(test)]
mod tests;
