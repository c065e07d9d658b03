//! CPU work a profile can see, and a profile known to be running.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use http::StatusCode;
use tokio::task::JoinHandle;

use super::DEADLINE;
use super::admin::{Answer, Http};

/// The frame the profile tests look for.
pub const BURNER: &str = "burn_cpu_for_the_profile";

/// Spins until `stop`, in a frame of its own that profiles name.
#[inline(never)]
pub fn burn_cpu_for_the_profile(stop: &AtomicBool) -> u64 {
    let mut x = 1u64;
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..10_000 {
            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    x
}

/// A thread burning CPU until dropped.
pub struct Burner {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl Burner {
    pub fn start() -> Burner {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || burn_cpu_for_the_profile(&stop)
        });
        Burner {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Burner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts a CPU profile of `seconds` at `admin` and returns once it runs (another one
/// then gets `409`), with the task that will have its answer.
///
/// The probe is a profile too: when it gets in first, the other one was refused, and is
/// started again.
pub async fn running_profile(admin: &Http, seconds: u64) -> JoinHandle<Answer> {
    let path = format!("/debug/pprof/profile?seconds={seconds}&format=folded");
    let deadline = Instant::now() + DEADLINE;
    let mut holder = admin.spawn_get(&path);
    loop {
        let probe = admin
            .get("/debug/pprof/profile?seconds=1&format=folded")
            .await;
        if probe.status == StatusCode::CONFLICT {
            return holder;
        }
        assert_eq!(probe.status, StatusCode::OK, "{}", probe.text());
        assert!(Instant::now() < deadline, "no profile ran");
        if holder.is_finished() {
            holder = admin.spawn_get(&path);
        }
    }
}
