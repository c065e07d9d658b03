//! Request ids: where an entry lives, and which use of that place it is.
//!
//! An id is `((generation << SLOT_BITS | slot) << SHARD_BITS | shard) + 1`, so the table
//! finds a request from its id in O(1), and a slot reused by a later request (its
//! generation bumped) is never mistaken for it. Ids stay below 2^53, so they survive a
//! JavaScript `Number` (the web page) unharmed.
//!
//! Slots are reused first-in first-out within a page, so a slot's generation grows by one
//! for every pass over its page (at least 1024 requests): an id repeats only after 2^26
//! such passes, more than 68 billion requests through one shard.

#[cfg(not(loom))]
use std::cell::Cell;
#[cfg(not(loom))]
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Bits of the shard index: at most 64 shards.
pub(crate) const SHARD_BITS: u32 = 6;
/// Bits of the slot index within a shard: at most 2M requests in flight per shard.
pub(crate) const SLOT_BITS: u32 = 21;
/// Bits of the generation: 53 bits in all.
pub(crate) const GENERATION_BITS: u32 = 26;

pub(crate) const MAX_SHARDS: usize = 1 << SHARD_BITS;
pub(crate) const GENERATION_MASK: u32 = (1 << GENERATION_BITS) - 1;

/// Where a request lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Place {
    pub(crate) shard: usize,
    pub(crate) slot: u32,
    pub(crate) generation: u32,
}

impl Place {
    pub(crate) fn id(self) -> u64 {
        let packed = (u64::from(self.generation & GENERATION_MASK) << SLOT_BITS
            | u64::from(self.slot))
            << SHARD_BITS
            | self.shard as u64;
        packed + 1
    }

    /// The place an id names, if it can name one.
    pub(crate) fn of(id: u64) -> Option<Place> {
        let packed = id.checked_sub(1)?;
        if packed >> (SHARD_BITS + SLOT_BITS + GENERATION_BITS) != 0 {
            return None;
        }
        Some(Place {
            shard: (packed & (MAX_SHARDS as u64 - 1)) as usize,
            slot: ((packed >> SHARD_BITS) & ((1 << SLOT_BITS) - 1)) as u32,
            generation: (packed >> (SHARD_BITS + SLOT_BITS)) as u32,
        })
    }
}

#[cfg(not(loom))]
static NEXT_THREAD_SEED: AtomicUsize = AtomicUsize::new(0);

#[cfg(not(loom))]
thread_local! {
    /// Which shard this thread uses first (modulo the shard count); `usize::MAX` until
    /// first use.
    static SEED: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's home shard number (before the modulo).
#[cfg(not(loom))]
#[inline]
pub(crate) fn thread_seed() -> usize {
    SEED.try_with(|seed| {
        let mut value = seed.get();
        if value == usize::MAX {
            value = NEXT_THREAD_SEED.fetch_add(1, Relaxed);
            seed.set(value);
        }
        value
    })
    .unwrap_or(0)
}

/// Under `loom` every thread starts at shard 0 (the same in every explored execution),
/// so threads meet on one shard and the way to the others is explored too.
#[cfg(loom)]
pub(crate) fn thread_seed() -> usize {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_stay_javascript_safe() {
        for place in [
            Place {
                shard: 0,
                slot: 0,
                generation: 0,
            },
            Place {
                shard: 63,
                // The highest slot a shard has (see `shard::MAX_PAGES`).
                slot: 1024 * ((1 << 11) - 1) - 1,
                generation: GENERATION_MASK,
            },
            Place {
                shard: 5,
                slot: 1234,
                generation: 77,
            },
        ] {
            let id = place.id();
            assert!(id > 0 && id < (1 << 53), "{id}");
            assert_eq!(Place::of(id), Some(place));
        }
        assert_eq!(Place::of(0), None);
        assert_eq!(Place::of(1 << 60), None);
    }
}
