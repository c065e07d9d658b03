//! The slots of one shard: pages of slots, free slots in first-in first-out order per
//! page, the queue of ended requests for a subscription and the ring of kept records.
//! Everything here runs under the shard's lock, so nothing here allocates or frees.

use super::counts::{Counts, bump, direction_index, step_in_flight};
use super::finished::Ending;
use super::id::{GENERATION_MASK, Place};
use crate::clock::Nanos;
use crate::ended::Ring;
use crate::entry::Entry;
use crate::sync::Arc;

/// Slots of the first page; page `p` has `BASE << p`.
#[cfg(not(loom))]
const BASE: usize = 1024;
/// Pages per shard: `BASE * (2^11 - 1)` slots, just under the 2^21 an id can name.
pub(crate) const MAX_PAGES: usize = 11;
/// Slots visited per lock hold by readers: a few microseconds at most, so a request that
/// finds the lock taken waits little.
#[cfg(not(loom))]
const CHUNK: usize = 256;
/// No slot.
const NONE: u32 = u32::MAX;

/// Ended requests kept per shard until the subscriber takes them; more are counted and
/// dropped. A subscriber that drains every 5 ms keeps up with about 800k requests a
/// second per shard.
#[cfg(not(loom))]
pub(crate) const FINISHED_PER_SHARD: usize = 4096;

// Under `loom`, sizes small enough that a handful of requests fill a page, a reader lets
// go of the lock between slots, and the queue of ended requests overflows.
#[cfg(loom)]
const BASE: usize = 4;
#[cfg(loom)]
const CHUNK: usize = 2;
#[cfg(loom)]
pub(crate) const FINISHED_PER_SHARD: usize = 2;

/// What a request that ended leaves for the subscriber.
pub(crate) struct FinishedRaw {
    pub(crate) entry: Arc<Entry>,
    pub(crate) ending: Ending,
    pub(crate) ended_at: Nanos,
}

pub(crate) struct Slots {
    pages: [Option<Page>; MAX_PAGES],
    /// Bit `p`: page `p` has a free slot. New requests take the lowest such page, so the
    /// high pages of a burst empty out and can be given back.
    with_free: u16,
    /// Generation the slots of page `p` start at when it is allocated again, so a page
    /// given back and made anew never repeats an id.
    generation_floor: [u32; MAX_PAGES],
    /// Ended requests for the subscriber; room reserved when the subscription opens.
    pub(crate) finished: Vec<FinishedRaw>,
    /// Kept records of ended requests; made outside the lock when first needed.
    pub(crate) ring: Option<Ring>,
}

struct Page {
    slots: Box<[Slot]>,
    /// Free slots in first-in first-out order (offsets within the page).
    head: u32,
    tail: u32,
    free: u32,
    /// The highest generation any slot of this page reached.
    top_generation: u32,
}

pub(crate) struct Slot {
    entry: Option<Arc<Entry>>,
    generation: u32,
    next: u32,
}

/// A page allocated outside the lock, to be installed under it.
pub(crate) struct NewPage {
    number: usize,
    page: Page,
}

/// Why [`Slots::insert`] could not place an entry.
pub(crate) enum Full {
    /// Allocate page `number` starting at `generation` (outside the lock) and try again.
    NeedPage { number: usize, generation: u32 },
    /// Every page is in use and full.
    Exhausted,
}

/// What [`Slots::remove`] hands back, to be dropped outside the lock.
#[derive(Default)]
pub(crate) struct Removed {
    /// Whether the request was there (and is now gone).
    pub(crate) found: bool,
    pub(crate) entry: Option<Arc<Entry>>,
    pub(crate) page: Option<Box<[Slot]>>,
}

/// Slot index `index` lives in page `p` at `offset`.
#[inline]
fn locate(index: u32) -> (usize, usize) {
    let x = index as usize / BASE + 1;
    let page = (usize::BITS - 1 - x.leading_zeros()) as usize;
    (page, index as usize - BASE * ((1 << page) - 1))
}

#[inline]
fn first_index(page: usize) -> u32 {
    (BASE * ((1 << page) - 1)) as u32
}

impl NewPage {
    pub(crate) fn allocate(number: usize, generation: u32) -> NewPage {
        let len = BASE << number;
        let slots: Box<[Slot]> = (0..len)
            .map(|offset| Slot {
                entry: None,
                generation,
                next: if offset + 1 < len {
                    offset as u32 + 1
                } else {
                    NONE
                },
            })
            .collect();
        NewPage {
            number,
            page: Page {
                slots,
                head: 0,
                tail: len as u32 - 1,
                free: len as u32,
                top_generation: generation,
            },
        }
    }
}

impl Slots {
    pub(super) fn new() -> Slots {
        Slots {
            pages: Default::default(),
            with_free: 0,
            generation_floor: [0; MAX_PAGES],
            finished: Vec::new(),
            ring: None,
        }
    }

    /// Installs a page allocated outside the lock; hands it back if another request did
    /// first.
    pub(crate) fn install(&mut self, new: NewPage) -> Option<NewPage> {
        if self.pages[new.number].is_some() {
            return Some(new);
        }
        self.with_free |= 1 << new.number;
        self.pages[new.number] = Some(new.page);
        None
    }

    /// Puts `entry` in a free slot and names it with its place's id.
    #[inline]
    pub(crate) fn insert(
        &mut self,
        shard: usize,
        entry: &mut Arc<Entry>,
        counts: &Counts,
    ) -> Result<Place, Full> {
        if self.with_free == 0 {
            return Err(self.next_page());
        }
        let number = self.with_free.trailing_zeros() as usize;
        let Some(page) = self.pages[number].as_mut() else {
            self.with_free &= !(1 << number);
            return Err(self.next_page());
        };
        let offset = page.head;
        let Some(slot) = page.slots.get_mut(offset as usize) else {
            return Err(Full::Exhausted);
        };
        let place = Place {
            shard,
            slot: first_index(number) + offset,
            generation: slot.generation,
        };
        entry.set_id(place.id());
        let direction = entry.direction;
        page.head = slot.next;
        slot.next = NONE;
        slot.entry = Some(entry.clone());
        page.free -= 1;
        if page.free == 0 {
            page.tail = NONE;
            self.with_free &= !(1 << number);
        }
        let d = direction_index(direction);
        step_in_flight(&counts.in_flight[d], true);
        bump(&counts.totals[d][0]);
        Ok(place)
    }

    fn next_page(&self) -> Full {
        match self.pages.iter().position(Option::is_none) {
            Some(number) => Full::NeedPage {
                number,
                generation: self.generation_floor[number],
            },
            None => Full::Exhausted,
        }
    }

    /// The entry at `place`, if it is still the request `place` names.
    #[inline]
    pub(crate) fn get(&self, place: Place) -> Option<&Arc<Entry>> {
        let (number, offset) = locate(place.slot);
        let slot = self.pages.get(number)?.as_ref()?.slots.get(offset)?;
        if slot.generation != place.generation {
            return None;
        }
        slot.entry.as_ref()
    }

    /// Takes the request at `place` out of the table, if it is still there.
    #[inline]
    pub(crate) fn remove(
        &mut self,
        place: Place,
        ending: Ending,
        finished_at: Option<Nanos>,
        counts: &Counts,
    ) -> Removed {
        let mut removed = Removed::default();
        let (number, offset) = locate(place.slot);
        let Some(page) = self.pages.get_mut(number).and_then(Option::as_mut) else {
            return removed;
        };
        let Some(slot) = page.slots.get_mut(offset) else {
            return removed;
        };
        if slot.generation != place.generation {
            return removed;
        }
        let Some(entry) = slot.entry.take() else {
            return removed;
        };
        slot.generation = (slot.generation + 1) & GENERATION_MASK;
        page.top_generation = page.top_generation.max(slot.generation);
        // Last in line: a slot is reused only after every other free slot of its page.
        match page.slots.get_mut(page.tail as usize) {
            Some(tail) => tail.next = offset as u32,
            None => page.head = offset as u32,
        }
        page.tail = offset as u32;
        page.free += 1;
        let emptied = page.free as usize == page.slots.len();
        self.with_free |= 1 << number;

        removed.found = true;
        let d = direction_index(entry.direction);
        step_in_flight(&counts.in_flight[d], false);
        bump(&counts.totals[d][1 + ending as usize]);

        match finished_at {
            Some(ended_at) if self.finished.len() < self.finished.capacity() => {
                self.finished.push(FinishedRaw {
                    entry,
                    ending,
                    ended_at,
                });
            }
            Some(_) => {
                bump(&counts.finished_dropped);
                removed.entry = Some(entry);
            }
            None => removed.entry = Some(entry),
        }
        if emptied {
            removed.page = self.give_back_page(number);
        }
        removed
    }

    /// Takes an emptied page out when the pages below it have room to spare (half their
    /// slots free), so memory goes back after a burst without pages coming and going at
    /// the edge of one.
    fn give_back_page(&mut self, number: usize) -> Option<Box<[Slot]>> {
        if number == 0 {
            return None;
        }
        let (free_below, len_below) = self.pages[..number]
            .iter()
            .flatten()
            .fold((0, 0), |(free, len), page| {
                (free + page.free as usize, len + page.slots.len())
            });
        if free_below * 2 < len_below {
            return None;
        }
        let page = self.pages[number].take()?;
        self.with_free &= !(1 << number);
        self.generation_floor[number] = (page.top_generation + 1) & GENERATION_MASK;
        Some(page.slots)
    }

    /// Shows `visit` the entries of the slots from `from` on, for one chunk of slots or
    /// until `visit` says stop (false: that entry is shown again next time); returns where
    /// to go on, or `None` at the end.
    pub(crate) fn visit_chunk(
        &self,
        from: u32,
        mut visit: impl FnMut(&Arc<Entry>) -> bool,
    ) -> Option<u32> {
        let mut index = from;
        let mut visited = 0;
        loop {
            let (number, offset) = locate(index);
            let page = self.pages.get(number)?;
            let Some(page) = page else {
                // A page given back: go on with the next one.
                index = first_index(number + 1);
                continue;
            };
            for slot in &page.slots[offset..] {
                if visited == CHUNK {
                    return Some(index);
                }
                if let Some(entry) = &slot.entry
                    && !visit(entry)
                {
                    return Some(index);
                }
                visited += 1;
                index += 1;
            }
        }
    }

    /// Slots in the pages allocated now.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.pages
            .iter()
            .flatten()
            .map(|page| page.slots.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_indices_map_to_pages() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(1023), (0, 1023));
        assert_eq!(locate(1024), (1, 0));
        assert_eq!(locate(3071), (1, 2047));
        assert_eq!(locate(3072), (2, 0));
        for page in 0..MAX_PAGES {
            assert_eq!(locate(first_index(page)), (page, 0));
        }
        let last = first_index(MAX_PAGES) - 1;
        assert_eq!(locate(last).0, MAX_PAGES - 1);
        assert!(last < 1 << crate::table::id::SLOT_BITS);
    }
}
