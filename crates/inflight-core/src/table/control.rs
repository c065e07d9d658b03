//! Terminate and cancel, by id: one shard lock to find the request, then the entry's own
//! atomic control bits.

use super::Table;
use super::finished::ControlError;
use crate::snapshot::EntrySnapshot;

impl Table {
    /// Terminates a request: its future is dropped at once and, for an inbound request,
    /// the client gets a made-up response saying an operator terminated it (with
    /// `message`). An outbound call resolves for its caller as a made-up response
    /// carrying [`Terminated`](crate::Terminated) in its extensions, so the client's
    /// error type stays what it was. Outbound calls of a terminated inbound request are
    /// terminated with it. If the response head is already out, the body ends with an
    /// error, so the cut never looks like a complete response.
    ///
    /// Returns the request as it was.
    pub fn terminate(
        &self,
        id: u64,
        message: Option<String>,
    ) -> Result<EntrySnapshot, ControlError> {
        let entry = self.find(id).ok_or(ControlError::NotFound(id))?;
        let before = entry.snapshot(&self.view(), true);
        if !entry.terminate(message.clone()) {
            return Err(ControlError::Forbidden(Box::new(before)));
        }
        for child in entry.children() {
            if let Some(child) = self.find(child) {
                child.terminate(message.clone());
            }
        }
        Ok(before)
    }

    /// Asks a request to cancel: [`cancelled`](crate::cancelled) resolves in its handler
    /// and its status says so. What happens next is up to the handler; the admin server
    /// terminates it after a grace period if it is still there.
    ///
    /// Returns the request as it was.
    pub fn cancel(&self, id: u64, message: Option<String>) -> Result<EntrySnapshot, ControlError> {
        let entry = self.find(id).ok_or(ControlError::NotFound(id))?;
        let before = entry.snapshot(&self.view(), true);
        if !entry.cancel(message) {
            return Err(ControlError::Forbidden(Box::new(before)));
        }
        Ok(before)
    }

    /// Slots allocated over all shards (pages in use).
    #[cfg(test)]
    pub(crate) fn slot_capacity(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|shard| shard.lock().capacity())
            .sum()
    }
}
