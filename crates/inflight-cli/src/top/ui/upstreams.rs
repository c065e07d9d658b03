//! The upstreams view of `inflight top`.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TableRow, Table};

use super::age_style;
use crate::render::ms;
use crate::top::app::App;

/// The outbound calls in flight grouped by target, the target with the most first.
pub(super) fn draw_upstreams(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let groups = app.upstreams();
    let header = TableRow::new(["CALLS", "TARGET", "OLDEST", "SERVICES"].map(Cell::from))
        .style(Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED));
    let rows = groups.iter().map(|group| {
        let services: Vec<&str> = group.services.iter().map(String::as_str).collect();
        TableRow::new(vec![
            Cell::from(group.calls.to_string()),
            Cell::from(group.target.clone()),
            Cell::from(ms(group.oldest_ms)).style(age_style(Duration::from_secs_f64(
                group.oldest_ms.max(0.0) / 1000.0,
            ))),
            Cell::from(services.join(", ")),
        ])
    });
    let widths = [
        Constraint::Length(6),
        Constraint::Min(22),
        Constraint::Length(10),
        Constraint::Fill(1),
    ];
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(Block::new().borders(Borders::BOTTOM));
    frame.render_widget(table, area);
    if groups.is_empty() {
        let inner = Rect {
            y: area.y + 2,
            height: 1,
            ..area
        };
        frame.render_widget(
            Paragraph::new("no outbound calls in flight").style(Style::new().fg(Color::DarkGray)),
            inner,
        );
    }
}
