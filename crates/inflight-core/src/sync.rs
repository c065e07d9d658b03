//! The synchronization types of the table and its entries: `std`'s, or `loom`'s when the
//! crate is built with `--cfg loom` so that `loom` can explore every interleaving of the
//! table's threads (see `table/loom/`).

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU16, AtomicU64, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicU16, AtomicU64, AtomicUsize};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

pub(crate) use std::sync::atomic::Ordering;
