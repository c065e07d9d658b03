//! The `inflight_admin` variant's admin server, the metrics recorder a user would install
//! with it, and the admin thread's CPU time.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use inflight::Table;
use inflight::admin::{AdminHandle, AdminServer};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::support::paired::Runner;

/// The name the admin server gives its thread (`crates/inflight-admin/src/server.rs`).
const ADMIN_THREAD: &str = "inflight-admin";

/// An admin server bound on a variant's table, stopped when the variant is dropped.
pub struct Admin {
    handle: Option<AdminHandle>,
    /// The admin thread's id, when it could be told from the others.
    tid: Option<u32>,
    table: Table,
    /// The admin thread's CPU time (ns) when each batch of a metered runner started.
    marks: Arc<Mutex<Vec<u64>>>,
}

impl Admin {
    /// Binds an admin server on `table`, as a service would, with the recorder installed.
    pub fn bind(table: &Table) -> Admin {
        drop(recorder()); // Installed before the first request.
        let before = admin_threads();
        let handle = AdminServer::new(table.clone())
            .bind("127.0.0.1:0")
            .expect("binding the admin server on 127.0.0.1:0");
        // The new thread names itself once it runs: wait for it.
        let deadline = Instant::now() + Duration::from_secs(2);
        let tid = loop {
            let new: Vec<u32> = admin_threads().difference(&before).copied().collect();
            match new[..] {
                [tid] => break Some(tid),
                _ if Instant::now() >= deadline => break None,
                _ => std::thread::sleep(Duration::from_millis(1)),
            }
        };
        Admin {
            handle: Some(handle),
            tid,
            table: table.clone(),
            marks: Arc::default(),
        }
    }

    /// `runner`, reading the admin thread's CPU time as each batch starts, so that
    /// [`Admin::cpu_over_rounds`] can say what the thread spent since the first one.
    pub fn metered(&self, mut runner: Runner) -> Runner {
        let (tid, marks) = (self.tid, self.marks.clone());
        Box::new(move |n| {
            if let Some(ns) = tid.and_then(thread_cpu_ns) {
                lock(&marks).push(ns);
            }
            runner(n)
        })
    }

    /// Forgets the batches metered so far (the warm-up's).
    pub fn reset_marks(&self) {
        lock(&self.marks).clear();
    }

    /// The admin thread's CPU time (ns) from the start of the first batch metered since
    /// [`Admin::reset_marks`] until it has drained what the last one left (four drain
    /// periods after it), and how many batches that covers. Taken over all the rounds
    /// rather than round by round: the thread drains up to 50 ms after a request ends,
    /// so a round's requests are often aggregated in the next one.
    pub fn cpu_over_rounds(&self) -> Option<(u64, usize)> {
        std::thread::sleep(Duration::from_millis(200));
        let end = self.cpu_ns()?;
        let marks = lock(&self.marks);
        Some((end.saturating_sub(*marks.first()?), marks.len()))
    }

    /// CPU time the admin thread has used so far, in ns.
    pub fn cpu_ns(&self) -> Option<u64> {
        thread_cpu_ns(self.tid?)
    }
}

impl Drop for Admin {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.shutdown();
            let _ = handle.wait();
        }
    }
}

/// Threads of this process named like the admin server's.
fn admin_threads() -> HashSet<u32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return HashSet::new();
    };
    tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            (comm.trim_end() == ADMIN_THREAD).then_some(())?;
            task.file_name().to_str()?.parse().ok()
        })
        .collect()
}

/// A thread's CPU time in ns: the first field of its `schedstat`.
pub fn thread_cpu_ns(tid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// The Prometheus recorder, installed once per process. A thread runs its upkeep every
/// second as a service would (without it, histogram samples pile up); whoever holds the
/// guard holds the upkeep off.
pub fn recorder() -> MutexGuard<'static, PrometheusHandle> {
    static RECORDER: OnceLock<Mutex<PrometheusHandle>> = OnceLock::new();
    let recorder = RECORDER.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .install_recorder()
            .expect("installing the Prometheus recorder");
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                    if let Some(recorder) = RECORDER.get() {
                        lock(recorder).run_upkeep();
                    }
                }
            })
            .expect("starting the upkeep thread");
        Mutex::new(handle)
    });
    lock(recorder)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the admin thread and the recorder's upkeep cost per finished request.
#[derive(Clone, Copy, Debug)]
pub struct AdminCost {
    pub requests: u64,
    /// Requests that ended while measured, less those a subscription of the table had no
    /// room for (none: the admin server holds no subscription, each request records
    /// itself as it ends).
    pub aggregated: u64,
    /// Admin thread CPU over the batch and the second after it, per request.
    pub admin_ns: f64,
    /// Admin thread CPU per second when no request runs.
    pub idle_ns_per_s: f64,
    /// One upkeep of the recorder after the batch, per request.
    pub upkeep_ns: f64,
}

/// Runs `batch` through `run` (which says how many requests it finished) for at least a
/// second, waits for the admin thread to drain them, and reads what that cost its thread.
pub fn measure(admin: &Admin, mut run: impl FnMut() -> u64) -> Option<AdminCost> {
    let recorder = recorder();
    recorder.run_upkeep();
    // Let the admin thread finish what earlier batches started.
    std::thread::sleep(Duration::from_millis(200));
    let idle_before = (admin.cpu_ns()?, Instant::now());
    std::thread::sleep(Duration::from_millis(500));
    let before = admin.cpu_ns()?;
    let dropped_before = admin.table.finished_dropped();
    let idle_ns_per_s = (before - idle_before.0) as f64 / idle_before.1.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut requests = 0;
    while requests == 0 || started.elapsed() < Duration::from_secs(1) {
        requests += run();
    }
    // Whatever the admin thread does after a batch (its timers) is counted too.
    std::thread::sleep(Duration::from_millis(200));
    let after = admin.cpu_ns()?;
    let aggregated = requests.saturating_sub(admin.table.finished_dropped() - dropped_before);
    let upkeep = Instant::now();
    recorder.run_upkeep();
    let upkeep = upkeep.elapsed();
    Some(AdminCost {
        requests,
        aggregated,
        admin_ns: (after - before) as f64 / aggregated.max(1) as f64,
        idle_ns_per_s,
        upkeep_ns: upkeep.as_nanos() as f64 / requests as f64,
    })
}
