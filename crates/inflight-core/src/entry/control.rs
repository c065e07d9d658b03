//! Terminate, cancel and forbid: what an operator asks of a request, and the request's
//! answer. Each is one atomic update of the control bits, so a request that forbids
//! cancelling is never terminated or cancelled once the forbid is in, and an operator's
//! request that got in first makes the forbid fail.

use crate::sync::Ordering::{AcqRel, Acquire};
use std::task::Waker;

use super::Entry;
use crate::clock;
use crate::status::StatusText;

/// `control` bits: an operator asked to terminate the request.
pub(super) const TERMINATE: u8 = 1;
/// An operator asked the handler to cancel.
pub(super) const CANCEL: u8 = 2;
/// The handler said it must not be cancelled or terminated.
pub(super) const FORBID_CANCEL: u8 = 4;

impl Entry {
    /// The second half of the waker handshake of a request's future or body, which
    /// checked [`terminated`](Entry::terminated) before polling its inner one and got
    /// `Pending`: remembers the task to wake on termination, then checks again. A
    /// termination that came in between finds no waker to wake, so the task wakes itself
    /// and sees it at its next poll.
    #[inline]
    pub(crate) fn park(&self, waker: &Waker) {
        self.register_waker(waker);
        if self.terminated() {
            waker.wake_by_ref();
        }
    }

    /// Remembers the task to wake when the request is terminated; cheap when the task is
    /// the same.
    ///
    /// Checking [`terminated`](Entry::terminated) right after, as [`park`](Entry::park)
    /// does, cannot miss a termination: `terminate` sets the bit before it takes the waker
    /// under this lock, so a waker stored after that take is stored after the bit is set.
    #[inline]
    pub(crate) fn register_waker(&self, waker: &Waker) {
        let mut slot = self
            .waker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match slot.as_ref() {
            Some(current) if current.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// Whether an operator asked to terminate the request.
    #[inline]
    pub(crate) fn terminated(&self) -> bool {
        self.control.load(Acquire) & TERMINATE != 0
    }

    pub(crate) fn cancel_requested(&self) -> bool {
        self.control.load(Acquire) & CANCEL != 0
    }

    pub(crate) fn cancel_forbidden(&self) -> bool {
        self.control.load(Acquire) & FORBID_CANCEL != 0
    }

    /// Forbids terminating and cancelling; false if an operator already did either.
    pub(crate) fn forbid_cancel(&self) -> bool {
        self.control
            .fetch_update(AcqRel, Acquire, |bits| {
                (bits & (TERMINATE | CANCEL) == 0).then_some(bits | FORBID_CANCEL)
            })
            .is_ok()
    }

    /// Sets `bit` unless the request forbade it; records `status` and the operator's
    /// message under the detail lock, so whoever sees the bit finds the message too.
    fn control(&self, bit: u8, status: StatusText, message: Option<String>) -> Option<Vec<Waker>> {
        let now = clock::now();
        let mut guard = self.detail();
        let set = self.control.fetch_update(AcqRel, Acquire, |bits| {
            (bits & FORBID_CANCEL == 0).then_some(bits | bit)
        });
        if set.is_err() {
            return None;
        }
        let detail = guard.get_or_insert_with(Box::default);
        if message.is_some() {
            detail.control_message = message;
        }
        self.push(detail, status, now);
        Some(if bit == CANCEL {
            std::mem::take(&mut detail.cancel_waiters)
        } else {
            Vec::new()
        })
    }

    /// What the operator said, if anything.
    pub(crate) fn control_message(&self) -> Option<String> {
        self.detail()
            .as_ref()
            .and_then(|d| d.control_message.clone())
    }

    /// Asks for the request to end now: its task is woken and the layer drops the
    /// request's future (or cuts its body). Returns false if cancelling is forbidden.
    pub(crate) fn terminate(&self, message: Option<String>) -> bool {
        if self
            .control(TERMINATE, StatusText::Terminating, message)
            .is_none()
        {
            return false;
        }
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// Asks the handler to cancel: `cancelled()` resolves. Returns false if forbidden.
    pub(crate) fn cancel(&self, message: Option<String>) -> bool {
        match self.control(CANCEL, StatusText::CancelRequested, message) {
            Some(waiters) => {
                waiters.into_iter().for_each(Waker::wake);
                true
            }
            None => false,
        }
    }

    /// Resolves once cancel is requested; registers `waker` otherwise.
    pub(crate) fn poll_cancelled(&self, waker: &Waker) -> bool {
        if self.cancel_requested() {
            return true;
        }
        let mut guard = self.detail();
        // Checked again under the lock `cancel` takes, so a wake-up cannot be missed.
        if self.cancel_requested() {
            return true;
        }
        let waiters = &mut guard.get_or_insert_with(Box::default).cancel_waiters;
        if !waiters.iter().any(|w| w.will_wake(waker)) {
            waiters.push(waker.clone());
        }
        false
    }

    /// The outbound calls of this request still in flight.
    pub(crate) fn children(&self) -> Vec<u64> {
        self.detail().as_ref().map_or_else(Vec::new, |d| {
            d.awaiting.iter().map(|call| call.child).collect()
        })
    }
}
