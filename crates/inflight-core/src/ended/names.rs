//! Names of ended requests, numbered once per table: *families* (an inbound request's
//! route, an outbound call's `host:port`, work's name) and *series* (a family with a
//! method, a response status and an ending), the unit that counts and histograms are kept
//! for.
//!
//! Both are bounded: past [`MAX_FAMILIES`] a new name joins its direction's `(other)`
//! family, past [`MAX_SERIES`] a new series joins its direction's `(other)` series for its
//! ending. A request finds its numbers in a small cache of its own thread; only a name the
//! thread has not seen yet takes the table's lock.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::LocalKey;

use super::stats::Series;
use crate::snapshot::Direction;
use crate::table::Ending;

/// Families a table numbers; later names share their direction's `(other)`.
pub(crate) const MAX_FAMILIES: usize = 256;
/// Series a table keeps counts for; later ones share their direction's `(other)` series.
pub(crate) const MAX_SERIES: usize = 1024;
/// The name of the families and series that take what is over the bounds.
pub(crate) const OTHER: &str = "(other)";

const ENDINGS: usize = 5;

/// What a series is: its family, method, response status and ending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SeriesKey {
    pub(crate) family: u16,
    /// A [`MethodCode`](crate::entry) as a number; its last value is every other method.
    pub(crate) method: u8,
    /// 0 when no response head was produced.
    pub(crate) status: u16,
    pub(crate) ending: Ending,
}

impl SeriesKey {
    fn packed(self) -> u64 {
        u64::from(self.family) << 32
            | u64::from(self.method) << 24
            | u64::from(self.status) << 8
            | self.ending as u64
    }
}

/// The numbering of one table.
pub(crate) struct Names {
    /// A number no other table in this process has, so thread caches never mix tables.
    table: u64,
    families: Mutex<FamilyRegistry>,
    series: Mutex<SeriesRegistry>,
    /// Every series, by number: set once, never removed while the table lives, so a
    /// request reaches its series without a reference count.
    slots: Box<[OnceLock<Series>]>,
    /// Shards of the table: each series keeps one stripe per shard.
    shards: usize,
}

struct FamilyRegistry {
    names: Vec<Family>,
    index: HashMap<(Direction, bool, Arc<str>), u16>,
}

/// A family: its direction, whether its name is a route, and its name.
#[derive(Clone, Debug)]
pub(crate) struct Family {
    pub(crate) direction: Direction,
    pub(crate) routed: bool,
    pub(crate) name: Arc<str>,
}

struct SeriesRegistry {
    index: HashMap<SeriesKey, u16>,
    /// How many series are made.
    len: usize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn next_table_number() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The family number of `(other)` in `direction`: the first three families.
pub(crate) fn other_family(direction: Direction) -> u16 {
    direction as u16
}

impl Names {
    pub(crate) fn new(shards: usize) -> Names {
        let mut families = FamilyRegistry {
            names: Vec::new(),
            index: HashMap::new(),
        };
        for direction in Direction::ALL {
            let name: Arc<str> = Arc::from(OTHER);
            families.names.push(Family {
                direction,
                routed: false,
                name: name.clone(),
            });
            families
                .index
                .insert((direction, false, name), direction as u16);
        }
        Names {
            table: next_table_number(),
            families: Mutex::new(families),
            series: Mutex::new(SeriesRegistry {
                index: HashMap::new(),
                len: 0,
            }),
            slots: (0..MAX_SERIES).map(|_| OnceLock::new()).collect(),
            shards,
        }
    }

    /// The family of `name` in `direction`, numbered if new; `routed` says whether the
    /// name is a route.
    #[inline]
    pub(crate) fn family(&self, direction: Direction, routed: bool, name: &str) -> u16 {
        let hash = hash_of(self.table, direction, routed, name);
        through_cache(
            &FAMILY_CACHE,
            hash as usize % CACHE_SLOTS,
            |slot| {
                (slot.table == self.table
                    && slot.direction == direction
                    && slot.routed == routed
                    && *slot.name == *name)
                    .then_some(slot.family)
            },
            || {
                let family = self.family_slow(direction, routed, name);
                let slot = FamilySlot {
                    table: self.table,
                    direction,
                    routed,
                    name: name.into(),
                    family,
                };
                (family, slot)
            },
        )
    }

    #[cold]
    fn family_slow(&self, direction: Direction, routed: bool, name: &str) -> u16 {
        let mut registry = lock(&self.families);
        let name: Arc<str> = Arc::from(name);
        if let Some(family) = registry.index.get(&(direction, routed, name.clone())) {
            return *family;
        }
        if registry.names.len() >= MAX_FAMILIES {
            return other_family(direction);
        }
        let family = registry.names.len() as u16;
        registry.names.push(Family {
            direction,
            routed,
            name: name.clone(),
        });
        registry.index.insert((direction, routed, name), family);
        family
    }

    /// The series of `key`, made if new.
    #[inline]
    pub(crate) fn series(&self, direction: Direction, key: SeriesKey) -> &Series {
        let packed = key.packed();
        let slot = ((packed ^ self.table.rotate_left(17)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58)
            as usize;
        let number = through_cache(
            &SERIES_CACHE,
            slot,
            |entry| (entry.0 == self.table && entry.1 == packed).then_some(entry.2),
            || {
                let number = self.series_slow(direction, key);
                (number, (self.table, packed, number))
            },
        );
        // Numbers are handed out once their series is set, so this only reads.
        self.slots[usize::from(number)].get_or_init(|| Series::new(key, number, self.shards))
    }

    #[cold]
    fn series_slow(&self, direction: Direction, key: SeriesKey) -> u16 {
        let mut registry = lock(&self.series);
        if let Some(number) = registry.index.get(&key) {
            return *number;
        }
        // The last series are kept for what is over the bound, one per direction and
        // ending.
        let key = if registry.len >= MAX_SERIES - Direction::ALL.len() * ENDINGS {
            let other = SeriesKey {
                family: other_family(direction),
                method: u8::MAX,
                status: 0,
                ending: key.ending,
            };
            if let Some(number) = registry.index.get(&other) {
                return *number;
            }
            other
        } else {
            key
        };
        let number = registry.len as u16;
        let _ = self.slots[registry.len].set(Series::new(key, number, self.shards));
        registry.len += 1;
        registry.index.insert(key, number);
        number
    }

    /// Every family, numbered as in [`SeriesKey::family`].
    pub(crate) fn families(&self) -> Vec<Family> {
        lock(&self.families).names.clone()
    }

    /// Series `number`, if it is made.
    pub(crate) fn series_by_number(&self, number: u16) -> Option<&Series> {
        self.slots.get(usize::from(number))?.get()
    }

    /// Every series made so far.
    pub(crate) fn all_series(&self) -> impl Iterator<Item = &Series> {
        self.slots.iter().map_while(OnceLock::get)
    }
}

/// Entries of each thread's caches.
const CACHE_SLOTS: usize = 64;

struct FamilySlot {
    table: u64,
    direction: Direction,
    routed: bool,
    name: Box<str>,
    family: u16,
}

thread_local! {
    static FAMILY_CACHE: RefCell<Vec<Option<FamilySlot>>> = const { RefCell::new(Vec::new()) };
    static SERIES_CACHE: RefCell<Vec<Option<(u64, u64, u16)>>> =
        const { RefCell::new(Vec::new()) };
}

/// The value `hit` finds in slot `slot` of this thread's `cache`, or else the one `miss`
/// makes, kept in that slot for the next time.
#[inline]
fn through_cache<T: 'static, V>(
    cache: &'static LocalKey<RefCell<Vec<Option<T>>>>,
    slot: usize,
    hit: impl Fn(&T) -> Option<V>,
    miss: impl FnOnce() -> (V, T),
) -> V {
    let cached =
        cache.try_with(|cache| cache.try_borrow().ok()?.get(slot)?.as_ref().and_then(&hit));
    if let Ok(Some(value)) = cached {
        return value;
    }
    let (value, entry) = miss();
    let _ = cache.try_with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            if cache.is_empty() {
                cache.resize_with(CACHE_SLOTS, || None);
            }
            cache[slot] = Some(entry);
        }
    });
    value
}

fn hash_of(table: u64, direction: Direction, routed: bool, name: &str) -> u64 {
    let mut hasher = foldhash::fast::FixedState::with_seed(table).build_hasher();
    (direction as u8).hash(&mut hasher);
    routed.hash(&mut hasher);
    name.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(family: u16, status: u16) -> SeriesKey {
        SeriesKey {
            family,
            method: 0,
            status,
            ending: Ending::Completed,
        }
    }

    #[test]
    fn families_are_numbered_once_per_table_and_bounded() {
        let names = Names::new(2);
        let a = names.family(Direction::Inbound, true, "/a");
        assert_eq!(names.family(Direction::Inbound, true, "/a"), a);
        assert_ne!(names.family(Direction::Outbound, true, "/a"), a);
        let other = Names::new(2);
        // Another table numbers its own names; the thread's cache does not mix them.
        other.family(Direction::Inbound, true, "/x");
        assert_eq!(other.family(Direction::Inbound, true, "/a"), a + 1);
        for n in 0..MAX_FAMILIES * 2 {
            names.family(Direction::Inbound, true, &format!("/n{n}"));
        }
        assert_eq!(names.families().len(), MAX_FAMILIES);
        assert_eq!(
            names.family(Direction::Inbound, true, "/one-more"),
            other_family(Direction::Inbound)
        );
        assert_eq!(names.family(Direction::Inbound, true, "/a"), a);
    }

    #[test]
    fn series_are_bounded_with_one_other_per_direction_and_ending() {
        let names = Names::new(1);
        let first = names.series(Direction::Inbound, key(3, 200));
        assert!(std::ptr::eq(
            first,
            names.series(Direction::Inbound, key(3, 200))
        ));
        for status in 0..MAX_SERIES as u16 * 2 {
            names.series(Direction::Inbound, key(4, status));
        }
        assert!(names.all_series().count() <= MAX_SERIES);
        let over = names.series(Direction::Inbound, key(5, 1));
        assert_eq!(over.key().family, other_family(Direction::Inbound));
        assert_eq!(over.key().ending, Ending::Completed);
    }
}
