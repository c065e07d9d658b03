//! The boxes over the table: the confirmation of a kill, and a request's history.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::commands::describe;
use crate::top::app::{Action, App, Mode};

/// A box in the middle of the screen.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

pub(super) fn draw_confirm(frame: &mut Frame<'_>, app: &App) {
    let Mode::Confirm {
        action,
        endpoint,
        id,
        message,
    } = &app.mode
    else {
        return;
    };
    let (verb, what) = match action {
        Action::Terminate => ("Terminate", "its client gets 503 now"),
        Action::Cancel => ("Cancel", "its handler is asked to stop"),
    };
    let target = app
        .rows
        .iter()
        .find(|r| r.endpoint == *endpoint && r.request.id == *id)
        .map(|r| format!("{} {}", r.request.method, r.request.uri))
        .unwrap_or_default();
    let area = centered(frame.area(), 70, 7);
    let text = vec![
        Line::from(format!("{verb} #{id} on {endpoint}? ({what})")),
        Line::from(Span::styled(target, Style::new().fg(Color::DarkGray))),
        Line::from(vec![
            Span::raw("message: "),
            Span::styled(message.clone(), Style::new().fg(Color::Cyan)),
            Span::styled("▏", Style::new().fg(Color::Cyan)),
        ]),
        Line::from(""),
        Line::from("enter: yes    esc: no"),
    ];
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(text).block(
            Block::new()
                .borders(Borders::ALL)
                .title(format!(" {verb} "))
                .border_style(Style::new().fg(Color::Red)),
        ),
        area,
    );
}

pub(super) fn draw_history(frame: &mut Frame<'_>, app: &App) {
    let Mode::History {
        endpoint,
        id,
        detail,
    } = &app.mode
    else {
        return;
    };
    let text = match detail.as_deref() {
        None => format!("asking {endpoint} for #{id}..."),
        Some(Ok(request)) => describe(endpoint, request),
        Some(Err(error)) => error.clone(),
    };
    let full = frame.area();
    let area = centered(
        full,
        full.width.saturating_sub(4).max(20),
        full.height.saturating_sub(2).max(5),
    );
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: false }).block(
            Block::new()
                .borders(Borders::ALL)
                .title(format!(" #{id} on {endpoint} — esc to close ")),
        ),
        area,
    );
}
