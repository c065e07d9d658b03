//! Holding requests in flight until the test lets them go.

use std::sync::Arc;

use tokio::sync::watch;

/// Holds requests until the test opens it; stays open after that.
#[derive(Clone, Debug)]
pub struct Gate {
    open: Arc<watch::Sender<bool>>,
}

impl Gate {
    pub fn new() -> Gate {
        Gate {
            open: Arc::new(watch::channel(false).0),
        }
    }

    pub async fn wait(&self) {
        let mut open = self.open.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = open.wait_for(|open| *open).await;
    }

    pub fn open(&self) {
        self.open.send_replace(true);
    }
}
