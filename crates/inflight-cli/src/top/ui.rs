//! Drawing `inflight top`.

use std::time::{Duration, Instant};

use inflight_wire::{Direction, Elapsed};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TableRow, Table, TableState};

mod popups;
mod upstreams;

use super::app::{App, Column, EndpointState, Mode, View};
use crate::commands::attributes;

/// Ages from which a request is shown in yellow, then red.
const WARN_AFTER: Duration = Duration::from_secs(5);
const ALERT_AFTER: Duration = Duration::from_secs(30);
/// Notices stay this long in the status bar.
const NOTICE_FOR: Duration = Duration::from_secs(8);

fn age_style(age: Duration) -> Style {
    if age >= ALERT_AFTER {
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
    } else if age >= WARN_AFTER {
        Style::new().fg(Color::Yellow)
    } else {
        Style::new()
    }
}

pub(crate) fn draw(frame: &mut Frame<'_>, app: &mut App) {
    let [title, table, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_title(frame, app, title);
    match app.view {
        View::Requests => draw_table(frame, app, table),
        View::Upstreams => upstreams::draw_upstreams(frame, app, table),
    }
    draw_status(frame, app, status);
    draw_footer(frame, app, footer);
    match &app.mode {
        Mode::Confirm { .. } => popups::draw_confirm(frame, app),
        Mode::History { .. } => popups::draw_history(frame, app),
        _ => {}
    }
}

fn draw_title(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let count = |direction: Direction| {
        app.rows
            .iter()
            .filter(|r| r.request.direction == direction)
            .count()
    };
    let (inbound, work) = (count(Direction::Inbound), count(Direction::Work));
    let work = if work > 0 {
        format!(", {work} work")
    } else {
        String::new()
    };
    let mut spans = vec![Span::styled(
        "inflight top",
        Style::new().add_modifier(Modifier::BOLD),
    )];
    // The filter before the counts: on a narrow terminal the end of the line is cut, and
    // what is being typed must stay in sight.
    if !app.filter.is_empty() || app.mode == Mode::Filter {
        spans.push(Span::raw("  filter: "));
        spans.push(Span::styled(
            app.filter.clone(),
            Style::new().fg(Color::Cyan),
        ));
        if app.mode == Mode::Filter {
            spans.push(Span::styled("▏", Style::new().fg(Color::Cyan)));
        }
    }
    spans.push(Span::raw(format!(
        "  {} endpoints  {} requests ({inbound} in, {} out{work})  sort: {} {}  {}",
        app.endpoints.len(),
        app.rows.len(),
        count(Direction::Outbound),
        app.sort.title(),
        if app.descending { "↓" } else { "↑" },
        if app.tree { "tree" } else { "flat" },
    )));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_table(frame: &mut Frame<'_>, app: &mut App, area: Rect) {
    let now = Instant::now();
    app.page = usize::from(area.height.saturating_sub(2)).max(1);
    let wide = area.width >= 120;
    let mut titles: Vec<String> = Column::ALL
        .iter()
        .map(|column| {
            let mark = match (*column == app.sort, app.descending) {
                (false, _) => "",
                (true, true) => "↓",
                (true, false) => "↑",
            };
            let title = match column {
                Column::InStatus if !wide => "IN ST",
                other => other.title(),
            };
            format!("{title}{mark}")
        })
        .collect();
    if wide {
        titles.push("ATTRIBUTES".into());
    }
    let header = TableRow::new(titles.into_iter().map(Cell::from))
        .style(Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED));
    let names: Vec<&str> = app
        .endpoints
        .iter()
        .map(|s| s.endpoint.name.as_str())
        .collect();
    let common = common_host(&names);
    // Only the rows on screen are built, scrolled as the table would scroll them (the
    // selection on the last line once it goes past the first page): with a fleet of
    // endpoints there are tens of thousands of rows, and the screen is drawn ten times a
    // second.
    let start = (app.selected + 1).saturating_sub(app.page);
    let tree = app.tree;
    // The service's name before its port when the rows on screen are of several services:
    // in a tree over them, which one a request is in matters more than where it listens.
    let mut visible = app.rows.iter().skip(start).take(app.page);
    let first_service = visible.next().map(|row| row.service.as_str());
    let several = visible.any(|row| Some(row.service.as_str()) != first_service);
    let host_text = |row: &super::app::Row| {
        let host = host_label(&row.endpoint.name, common, wide);
        if !several || row.service.is_empty() || row.service == row.endpoint.name {
            host
        } else {
            format!("{} {host}", row.service)
        }
    };
    let id_text = |row: &super::app::Row| {
        if tree {
            let mark = if row.holding { " ◀" } else { "" };
            format!("{}{}{mark}", row.prefix, row.request.id)
        } else {
            let indent = if row.depth > 0 { "└ " } else { "" };
            format!("{indent}{}", row.request.id)
        }
    };
    let id_width = app
        .rows
        .iter()
        .skip(start)
        .take(app.page)
        .map(|row| id_text(row).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(6, if wide { 40 } else { 24 }) as u16;
    let rows = app.rows.iter().skip(start).take(app.page).map(|row| {
        let r = &row.request;
        let age = row.age(now);
        // The leaf holding its chain up stands out.
        let id_style = if row.holding && tree {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        let mut cells = vec![
            Cell::from(host_text(row)),
            Cell::from(id_text(row)).style(id_style),
            Cell::from(crate::render::direction(r)),
            Cell::from(Elapsed(age).to_string()).style(age_style(age)),
            Cell::from(Elapsed(row.status_age(now)).to_string()),
            Cell::from(crate::render::status(r)).style(
                if r.cancel_requested || r.status.starts_with("terminating") {
                    Style::new().fg(Color::Magenta)
                } else if crate::render::unwaited(r) {
                    Style::new().fg(Color::Red)
                } else {
                    Style::new()
                },
            ),
            Cell::from(r.method.clone()),
            Cell::from(row.target()),
        ];
        if wide {
            cells.push(Cell::from(attributes(r)));
        }
        TableRow::new(cells)
    });
    let host_width = app
        .rows
        .iter()
        .skip(start)
        .take(app.page)
        .map(|row| host_text(row).chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, if wide { 28 } else { 16 }) as u16;
    let mut widths = vec![
        Constraint::Length(host_width),
        Constraint::Length(id_width),
        Constraint::Length(3),
        Constraint::Length(8),
        Constraint::Length(if wide { 9 } else { 8 }),
        Constraint::Length(if wide { 24 } else { 18 }),
        Constraint::Length(6),
        // The URL says most about a request: on a wide terminal it gets three quarters of
        // the room left and the attributes the rest, rather than the URL what is left.
        if wide {
            Constraint::Fill(3)
        } else {
            Constraint::Min(8)
        },
    ];
    if wide {
        widths.push(Constraint::Fill(1));
    }
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(
            Style::new()
                .bg(Color::DarkGray)
                .add_modifier(Modifier::BOLD),
        )
        .block(Block::new().borders(Borders::BOTTOM));
    let mut state =
        TableState::default().with_selected((!app.rows.is_empty()).then_some(app.selected - start));
    frame.render_stateful_widget(table, area, &mut state);
    if app.rows.is_empty() {
        let text = if app.filter.is_empty() {
            "no requests in flight"
        } else {
            "no request matches the filter"
        };
        let inner = Rect {
            y: area.y + 2,
            height: 1,
            ..area
        };
        frame.render_widget(
            Paragraph::new(text).style(Style::new().fg(Color::DarkGray)),
            inner,
        );
    }
}

/// The host every endpoint shares, when there are several and they differ only by port.
fn common_host<'a>(names: &[&'a str]) -> Option<&'a str> {
    let host = |name: &'a str| name.rsplit_once(':').map_or(name, |(host, _)| host);
    let first = host(names.first()?);
    (names.len() > 1 && names.iter().all(|name| host(name) == first)).then_some(first)
}

/// What the HOST column shows: on a narrow terminal, endpoints on one host show as `:port`.
fn host_label(name: &str, common: Option<&str>, wide: bool) -> String {
    match common {
        Some(host) if !wide => name.strip_prefix(host).unwrap_or(name).to_owned(),
        _ => name.to_owned(),
    }
}

fn draw_status(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let mut spans = Vec::new();
    if let Some((notice, at)) = &app.notice
        && at.elapsed() < NOTICE_FOR
    {
        spans.push(Span::styled(
            format!("{notice}  "),
            Style::new().fg(Color::Cyan),
        ));
    }
    // Failing endpoints first: a narrow terminal cuts the end of the bar, and with many
    // endpoints the one that fails would be out of sight.
    let now = Instant::now();
    let states: Vec<(&EndpointState, Option<String>)> = app
        .endpoints
        .iter()
        .map(|state| (state, state.failing(now)))
        .collect();
    let failing_first = states
        .iter()
        .filter(|(_, failing)| failing.is_some())
        .chain(states.iter().filter(|(_, failing)| failing.is_none()));
    let mut used = spans.iter().map(Span::width).sum::<usize>();
    for (i, (state, failing)) in failing_first.enumerate() {
        // The rest would be cut anyway; a fleet has a thousand of them.
        if used >= usize::from(area.width) {
            break;
        }
        let before = spans.len();
        if i > 0 {
            spans.push(Span::raw(" · "));
        }
        match (failing, &state.result) {
            (None, Ok(list)) => spans.push(Span::styled(
                format!("{} ok ({})", state.endpoint, list.requests.len()),
                Style::new().fg(Color::Green),
            )),
            (Some(error), _) | (None, Err(error)) => {
                let reason = error
                    .strip_prefix(&format!("{}: ", state.endpoint))
                    .unwrap_or(error);
                // The details are for `inflight ls`; the bar only has room for the gist.
                let reason = reason.split(" (").next().unwrap_or(reason);
                spans.push(Span::styled(
                    format!("{} ✗ {reason}", state.endpoint),
                    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                ));
            }
        }
        used += spans[before..].iter().map(Span::width).sum::<usize>();
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_footer(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let keys: &[(&str, &str)] = match app.mode {
        Mode::Filter => &[("type", "filter"), ("enter", "keep"), ("esc", "clear")],
        Mode::Confirm { .. } => &[("type", "message"), ("enter", "yes"), ("esc", "no")],
        Mode::History { .. } => &[("esc", "close")],
        Mode::Normal if app.view == View::Upstreams => &[("u", "requests"), ("q", "quit")],
        // At 80 columns every key fits, one space apart.
        Mode::Normal => &[
            ("1-8", "sort"),
            ("r", "reverse"),
            ("/", "filter"),
            ("⏎", "history"),
            ("k", "kill"),
            ("c", "cancel"),
            ("t", if app.tree { "flat" } else { "tree" }),
            ("u", "upstreams"),
            ("q", "quit"),
        ],
    };
    let mut spans = Vec::new();
    for (key, what) in keys {
        spans.push(Span::styled(
            key.to_string(),
            Style::new().add_modifier(Modifier::REVERSED),
        ));
        spans.push(Span::raw(format!(" {what} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_host_labels() {
        let same = ["127.0.0.1:9084", "127.0.0.1:9085"];
        assert_eq!(common_host(&same), Some("127.0.0.1"));
        assert_eq!(host_label(same[0], common_host(&same), false), ":9084");
        assert_eq!(
            host_label(same[0], common_host(&same), true),
            "127.0.0.1:9084"
        );
        assert_eq!(common_host(&["a:1", "b:1"]), None);
        assert_eq!(common_host(&["a:1"]), None);
    }
}
