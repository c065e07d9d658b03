//! The whole of each failed, terminated and dropped-early request (its status history,
//! attributes and operator's message), within a byte budget per shard: the oldest go
//! first. Only requests that end that way come here, each building its copy on its own
//! thread before it takes this lock.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::table::Finished;

pub(crate) struct Details {
    kept: VecDeque<(u64, Arc<Finished>, usize)>,
    bytes: usize,
    budget: usize,
}

impl Details {
    pub(crate) fn new(budget: usize) -> Details {
        Details {
            kept: VecDeque::new(),
            bytes: 0,
            budget,
        }
    }

    /// Keeps `finished`; hands back what no longer fits, to be freed outside the lock.
    pub(crate) fn push(&mut self, id: u64, finished: Arc<Finished>) -> Vec<Arc<Finished>> {
        let bytes = size_of(&finished);
        let mut evicted = Vec::new();
        if bytes > self.budget {
            evicted.push(finished);
            return evicted;
        }
        while self.bytes + bytes > self.budget {
            let Some((_, old, old_bytes)) = self.kept.pop_front() else {
                break;
            };
            self.bytes -= old_bytes;
            evicted.push(old);
        }
        self.bytes += bytes;
        self.kept.push_back((id, finished, bytes));
        evicted
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn copy_into(&self, out: &mut Vec<(u64, Arc<Finished>)>) {
        out.extend(self.kept.iter().map(|(id, f, _)| (*id, f.clone())));
    }
}

/// What a kept whole request holds on the heap, roughly: the copy itself and its texts.
pub(crate) fn size_of(finished: &Finished) -> usize {
    let entry = &finished.entry;
    std::mem::size_of::<Finished>()
        + 64
        + entry.uri.capacity()
        + entry.status.capacity()
        + entry.route.as_ref().map_or(0, String::capacity)
        + entry.control_message.as_ref().map_or(0, String::capacity)
        + entry
            .history
            .iter()
            .map(|change| std::mem::size_of_val(change) + change.status.capacity())
            .sum::<usize>()
        + entry
            .attributes
            .iter()
            .map(|(k, v)| 48 + k.capacity() + v.capacity())
            .sum::<usize>()
        + entry.children.capacity() * 8
        + finished
            .grpc_status
            .as_ref()
            .and_then(|status| status.message.as_ref())
            .map_or(0, String::capacity)
}
