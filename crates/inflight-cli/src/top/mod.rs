//! `inflight top`: a live table of every request in flight across the endpoints.
//!
//! The table is drawn on a thread of its own while the runtime polls the endpoints and
//! runs kills, so a slow endpoint never freezes the screen. Each endpoint's answer is
//! shown as it comes (see [`poll`]), so a slow endpoint never holds back the others.

mod app;
mod batch;
mod forest;
mod poll;
mod rows;
mod ui;

use std::io::{self, Stdout};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use inflight_wire::{Request, RequestList, RequestReply};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};
use tokio::sync::Notify;

use self::app::{Action, App, Effect, Key};
use crate::Failure;
use crate::client::Api;
use crate::commands::control;
use crate::endpoints::{Endpoint, Sources};

/// How `top` runs.
pub(crate) struct Options {
    /// How often every endpoint is asked.
    pub(crate) refresh: Duration,
    /// The discovery sources, asked again this often.
    pub(crate) rediscover: Option<(Sources, Duration)>,
    /// No screen: a line per refresh, for this many refreshes (or until killed).
    pub(crate) batch: Option<Option<u64>>,
}

/// What the network side tells the screen.
enum Update {
    /// A refresh starts: every endpoint that is not still busy is asked now.
    Round(Instant),
    /// One endpoint's answer to the poll sent at `asked`.
    Answer {
        endpoint: Endpoint,
        result: Result<RequestList, String>,
        asked: Instant,
        at: Instant,
    },
    /// Endpoints still busy with a poll sent at the given time, a refresh ago or more.
    Late(Vec<(Endpoint, Instant)>),
    /// The endpoints as found again.
    Endpoints(Vec<Endpoint>),
    History(Endpoint, u64, Box<Result<Request, String>>),
    Notice(String),
}

/// What the screen asks the network side to do.
enum Job {
    History(Endpoint, u64),
    Control {
        action: Action,
        endpoint: Endpoint,
        id: u64,
        message: Option<String>,
    },
}

pub(crate) async fn run(
    api: Api,
    endpoints: Vec<Endpoint>,
    options: Options,
) -> Result<(), Failure> {
    let (updates, screen) = mpsc::channel();
    let (jobs, mut work) = tokio::sync::mpsc::unbounded_channel();
    let poll_now = Arc::new(Notify::new());

    let poller = tokio::spawn(poll::run(
        api.clone(),
        endpoints.clone(),
        options.refresh,
        options.rediscover,
        updates.clone(),
        poll_now.clone(),
    ));
    if let Some(iterations) = options.batch {
        let batch = tokio::task::spawn_blocking(move || {
            batch::run(endpoints, options.refresh, iterations, &screen)
        });
        let result = batch.await;
        poller.abort();
        return match result {
            Ok(result) => result.map_err(Failure::Failed),
            Err(error) => Err(Failure::Failed(format!("top failed: {error}"))),
        };
    }
    let worker = tokio::spawn(async move {
        while let Some(job) = work.recv().await {
            let update = match job {
                Job::History(endpoint, id) => {
                    let reply = api
                        .get::<RequestReply>(&endpoint, &format!("/requests/{id}"))
                        .await;
                    Update::History(endpoint, id, Box::new(reply.map(|reply| reply.request)))
                }
                Job::Control {
                    action,
                    endpoint,
                    id,
                    message,
                } => {
                    let cancel = action == Action::Cancel;
                    let done = control(&api, &endpoint, id, cancel, message, None).await;
                    poll_now.notify_one();
                    Update::Notice(match done {
                        Ok(_) if cancel => format!("asked #{id} on {endpoint} to cancel"),
                        Ok(_) => format!("terminated #{id} on {endpoint}"),
                        Err(error) => error,
                    })
                }
            };
            if updates.send(update).is_err() {
                return;
            }
        }
    });

    let screen = tokio::task::spawn_blocking(move || show(&endpoints, &screen, &jobs));
    let result = screen.await;
    poller.abort();
    worker.abort();
    match result {
        Ok(result) => result.map_err(Failure::Failed),
        Err(error) => Err(Failure::Failed(format!("the screen failed: {error}"))),
    }
}

/// Puts the terminal back as it was, also when the screen code panics.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore();
    }
}

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, cursor::Show);
}

fn setup() -> Result<Terminal<CrosstermBackend<Stdout>>, String> {
    enable_raw_mode().map_err(|e| format!("top needs a terminal: {e}"))?;
    let mut stdout = io::stdout();
    if let Err(error) = execute!(stdout, EnterAlternateScreen, cursor::Hide) {
        restore();
        return Err(format!("top needs a terminal: {error}"));
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    Terminal::new(CrosstermBackend::new(stdout)).map_err(|e| {
        restore();
        format!("top needs a terminal: {e}")
    })
}

fn show(
    endpoints: &[Endpoint],
    updates: &mpsc::Receiver<Update>,
    jobs: &tokio::sync::mpsc::UnboundedSender<Job>,
) -> Result<(), String> {
    let mut terminal = setup()?;
    let _restore = Restore;
    let mut app = App::new(endpoints);
    loop {
        // Everything that came since the last frame, rows rebuilt once for all of it.
        let mut changed = false;
        while let Ok(update) = updates.try_recv() {
            match update {
                Update::Round(_) => {}
                Update::Answer {
                    endpoint,
                    result,
                    at,
                    ..
                } => {
                    app.record(&endpoint, result, at);
                    changed = true;
                }
                Update::Late(late) => {
                    for (endpoint, since) in late {
                        app.late(&endpoint, since);
                    }
                }
                Update::Endpoints(endpoints) => app.set_endpoints(&endpoints),
                Update::History(endpoint, id, detail) => app.history(&endpoint, id, *detail),
                Update::Notice(text) => app.notify(text),
            }
        }
        if changed {
            app.rebuild();
        }
        terminal
            .draw(|frame| ui::draw(frame, &mut app))
            .map_err(|e| format!("cannot draw: {e}"))?;
        // Redraw at least ten times a second, so ages tick.
        if !event::poll(Duration::from_millis(100)).map_err(|e| format!("cannot read keys: {e}"))? {
            continue;
        }
        let key = match event::read().map_err(|e| format!("cannot read keys: {e}"))? {
            Event::Key(key) if key.kind != KeyEventKind::Release => key,
            _ => continue,
        };
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Ok(());
        }
        let key = match key.code {
            KeyCode::Char(c) => Key::Char(c),
            KeyCode::Enter => Key::Enter,
            KeyCode::Esc => Key::Esc,
            KeyCode::Backspace => Key::Backspace,
            KeyCode::Up => Key::Up,
            KeyCode::Down => Key::Down,
            KeyCode::PageUp => Key::PageUp,
            KeyCode::PageDown => Key::PageDown,
            KeyCode::Home => Key::Home,
            KeyCode::End => Key::End,
            _ => continue,
        };
        match app.key(key) {
            Effect::None => {}
            Effect::Quit => return Ok(()),
            Effect::Fetch { endpoint, id } => {
                let _ = jobs.send(Job::History(endpoint, id));
            }
            Effect::Control {
                action,
                endpoint,
                id,
                message,
            } => {
                app.notify(format!(
                    "{} #{id} on {endpoint}...",
                    if action == Action::Terminate {
                        "terminating"
                    } else {
                        "cancelling"
                    }
                ));
                let _ = jobs.send(Job::Control {
                    action,
                    endpoint,
                    id,
                    message,
                });
            }
        }
    }
}
