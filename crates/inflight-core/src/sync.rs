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

/// Writes an atomic that is not shared (`&mut`): `*get_mut() = value` with `std`, which
/// `loom`'s atomics spell `with_mut`.
pub(crate) trait SetUnshared<T> {
    fn set_unshared(&mut self, value: T);
}

macro_rules! set_unshared {
    ($($atomic:ty => $value:ty),*) => {$(
        impl SetUnshared<$value> for $atomic {
            #[inline]
            fn set_unshared(&mut self, value: $value) {
                #[cfg(not(loom))]
                {
                    *self.get_mut() = value;
                }
                #[cfg(loom)]
                self.with_mut(|v| *v = value);
            }
        }
    )*};
}

set_unshared!(AtomicU8 => u8, AtomicU16 => u16, AtomicU64 => u64);
