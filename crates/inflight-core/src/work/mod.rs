//! Tracked work that is not an HTTP request: [`work`](crate::work()), [`WorkBuilder`] and
//! [`WorkGuard`].

use std::borrow::Cow;
use std::fmt;
use std::future::Future;

use http::{Method, Version};

use crate::current::current_entry;
use crate::entry::{Start, Target};
use crate::snapshot::Direction;
use crate::table::Table;
use crate::trace::TraceContext;

mod future;
mod guard;
#[cfg(test)]
mod tests;

pub use future::Work;
pub use guard::WorkGuard;

/// Runs `future` as tracked work named `name` in the [`global`](crate::global) table.
///
/// The name is what the work is listed as (`consume orders/3`); keep its variety small,
/// since `/recent` and `/profile` group by it. `work(name, f).await` is
/// `Ok(f.await)`, or `Err(Terminated)` when an operator terminated the work. The entry
/// starts when the returned future is first polled, not when it is made.
///
/// A queue consumer, a batch job, a scheduled task: each unit of work runs as an entry of
/// the table with direction [`work`](crate::Direction::Work), its name in place of a URI
/// and as its route (so `/recent` and `/profile` group work by name). While its future is
/// polled it is the current request, so [`set_status`](crate::set_status),
/// [`set_attr`](crate::set_attr) and [`cancelled`](crate::cancelled) act on it, and the
/// outbound calls it makes through [`InFlightClientLayer`](crate::InFlightClientLayer) are
/// its children.
///
/// ```
/// # use inflight_core as inflight;
/// # async fn handle(_: u32) {}
/// # async fn consume(partition: u32, message: u32) {
/// let handled = inflight::work(format!("consume orders/{partition}"), async {
///     inflight::set_status("writing to db");
///     handle(message).await
/// })
/// .await;
/// if let Err(terminated) = handled {
///     eprintln!("{terminated}");
/// }
/// # }
/// ```
///
/// # How work ends
/// - **completed** when the future completes (whatever its output; with
///   [`Work::fail_on_err`], an `Err` output ends it as failed);
/// - **failed** when polling the future panics: the entry ends and is counted, then the
///   panic goes on to the caller;
/// - **dropped early** when the [`Work`] future is dropped before the end (its owner gave
///   up on it: a `select!` took another branch, a timeout fired, the task was aborted);
/// - **terminated** when an operator terminates it
///   ([`Table::terminate`](crate::Table::terminate), `DELETE /requests/{id}`): the inner
///   future is dropped at once and `Work` resolves to `Err(`[`Terminated`]`)`, the way
///   `tokio::time::timeout` resolves to `Err(Elapsed)`.
///
/// # Traces and parents
/// Work starts a new W3C trace, or continues the one given to
/// [`WorkBuilder::trace`] (a trace context carried in the message, say). Work started
/// while an inbound request is the current one (awaited inside a handler) joins that
/// request's trace and names it as its [`parent`](crate::EntrySnapshot::parent); it is
/// still listed as work of its own, and does not change the request's status. Work
/// spawned onto another task is not inside the request unless wrapped with
/// [`in_current_request`](crate::in_current_request).
///
/// [`Terminated`]: crate::Terminated
pub fn work<F: Future>(name: impl Into<Cow<'static, str>>, future: F) -> Work<F> {
    WorkBuilder::new(name).run(future)
}

/// Work with a table, attributes or a trace of its own: `Work::builder(name)`.
///
/// ```
/// # use inflight_core as inflight;
/// # async fn example() {
/// let table = inflight::Table::new();
/// let done = inflight::Work::builder("reindex")
///     .table(table.clone())
///     .attr("shard", "7")
///     .run(async { 42 })
///     .await;
/// assert_eq!(done, Ok(42));
/// # }
/// ```
#[must_use = "a WorkBuilder does nothing until `run` is called"]
pub struct WorkBuilder {
    name: Cow<'static, str>,
    table: Option<Table>,
    attributes: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    trace: Option<TraceContext>,
}

impl WorkBuilder {
    /// Work named `name`, in the global table.
    pub fn new(name: impl Into<Cow<'static, str>>) -> WorkBuilder {
        WorkBuilder {
            name: name.into(),
            table: None,
            attributes: Vec::new(),
            trace: None,
        }
    }

    /// Tracks the work in `table` instead of the global one (as
    /// [`InFlightLayer::with_table`](crate::InFlightLayer::with_table) does for requests).
    pub fn table(mut self, table: Table) -> WorkBuilder {
        self.table = Some(table);
        self
    }

    /// An attribute the work starts with (like [`set_attr`](crate::set_attr) inside it).
    pub fn attr(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> WorkBuilder {
        self.attributes.push((key.into(), value.into()));
        self
    }

    /// Continues `caller`'s trace: the work is a new span under it. Without it, work
    /// inside an inbound request joins the request's trace, and other work starts one.
    pub fn trace(mut self, caller: TraceContext) -> WorkBuilder {
        self.trace = Some(caller);
        self
    }

    /// Runs `future` as this work.
    pub fn run<F: Future>(self, future: F) -> Work<F> {
        Work::new(self, future)
    }

    /// Starts the work now, as a [`WorkGuard`] that ends it when dropped.
    pub fn start(self) -> WorkGuard {
        WorkGuard::new(self.register())
    }

    /// Puts the work in its table; `Work` calls this at its first poll.
    fn register(self) -> crate::table::Tracked {
        let table = self.table.as_ref().unwrap_or_else(|| crate::global());
        let parent = current_entry().filter(|entry| entry.direction.has_children());
        let trace = match (&self.trace, &parent) {
            (Some(caller), _) => caller.child(),
            (None, Some(parent)) => parent.trace.child(),
            (None, None) => TraceContext::new_root(),
        };
        let tracked = table.register(Start {
            parent: parent.as_ref().map_or(0, |entry| entry.id()),
            trace,
            direction: Direction::Work,
            method: &Method::GET,
            target: Target::Name(&self.name),
            version: Version::HTTP_11,
            peer: None,
            request_bytes: 0,
            #[cfg(feature = "axum")]
            matched_path: None,
            history_limit: table.history_limit(),
            grpc: false,
            timeout: None,
        });
        if let Some(entry) = &tracked.entry {
            for (key, value) in self.attributes {
                entry.set_attribute(key, value);
            }
        }
        tracked
    }
}

impl fmt::Debug for WorkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkBuilder")
            .field("name", &self.name)
            .field("attributes", &self.attributes)
            .field("trace", &self.trace)
            .finish_non_exhaustive()
    }
}
