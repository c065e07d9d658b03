//! The operator at the admin port: while the traffic runs, lists the requests in flight
//! over HTTP and terminates or cancels some of them, as a person at the web page would.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use http::StatusCode;
use tokio::task::JoinHandle;

use crate::support::admin::Http;

/// Pause between two looks at the table.
const PAUSE: Duration = Duration::from_millis(10);

/// What the operator did, by the admin port's answer.
#[derive(Clone, Copy, Debug, Default)]
pub struct Controls {
    /// `GET /requests` calls.
    pub lists: u64,
    /// `DELETE /requests/{id}` answered `202`: the request was found and terminated.
    pub terminated: u64,
    /// `DELETE /requests/{id}` answered `404`: it had ended in the meantime.
    pub terminate_missed: u64,
    /// `POST /requests/{id}/cancel` answered `202`.
    pub cancelled: u64,
    /// `POST /requests/{id}/cancel` answered `404`.
    pub cancel_missed: u64,
}

/// The operator, running until [`stop`](Operator::stop).
#[derive(Debug)]
pub struct Operator {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Controls>,
}

impl Operator {
    /// Starts picking requests (at least 20 ms old, so mostly the slow ones) from the
    /// admin port `admin`, with choices seeded by `seed`.
    pub fn start(admin: Http, seed: u64) -> Operator {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut controls = Controls::default();
            while !stopped.load(Relaxed) {
                let list = admin
                    .get("/requests?min_age=20ms&limit=50")
                    .await
                    .expect(200);
                controls.lists += 1;
                let ids: Vec<u64> = list["requests"]
                    .as_array()
                    .map(|requests| {
                        requests
                            .iter()
                            .filter_map(|request| request["id"].as_u64())
                            .collect()
                    })
                    .unwrap_or_default();
                for _ in 0..ids.len().min(2) {
                    let id = ids[rng.usize(..ids.len())];
                    if rng.bool() {
                        let answer = admin.delete(&format!("/requests/{id}?message=soak")).await;
                        count(
                            answer.status,
                            &mut controls.terminated,
                            &mut controls.terminate_missed,
                            || answer.text(),
                        );
                    } else {
                        let grace = rng.u32(20..=200);
                        let answer = admin
                            .post(&format!("/requests/{id}/cancel?grace={grace}ms"), "")
                            .await;
                        count(
                            answer.status,
                            &mut controls.cancelled,
                            &mut controls.cancel_missed,
                            || answer.text(),
                        );
                    }
                }
                tokio::time::sleep(PAUSE).await;
            }
            controls
        });
        Operator { stop, task }
    }

    /// Stops and says what the operator did.
    pub async fn stop(self) -> Controls {
        self.stop.store(true, Relaxed);
        self.task.await.expect("the operator panicked")
    }
}

fn count(status: StatusCode, done: &mut u64, missed: &mut u64, body: impl FnOnce() -> String) {
    match status {
        StatusCode::ACCEPTED => *done += 1,
        StatusCode::NOT_FOUND => *missed += 1,
        status => panic!("the admin port answered {status}: {}", body()),
    }
}
