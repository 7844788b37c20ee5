//! A hash map keyed by order id that keeps increasing ids in neighbouring buckets.
//!
//! The gateway hands out order ids in increasing order, and a deep book holds millions of
//! them. With a mixing hash every insert lands on a random cache line; here the bucket
//! comes from the id's own low bits, so consecutive inserts touch consecutive memory,
//! while the top bits (which hashbrown uses as a 7-bit tag to tell keys apart within a
//! group) are mixed. Any id pattern still works; only the speed depends on it.

use std::hash::{BuildHasherDefault, Hasher};

use tradecraft_types::OrderId;

/// Low bits kept from the id; the rest of the hash is mixed.
const ID_BITS: u64 = u64::MAX >> 7;

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct OrderIdHasher(u64);

impl Hasher for OrderIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    #[inline]
    fn write_u64(&mut self, id: u64) {
        let mixed = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = (mixed & !ID_BITS) | (id & ID_BITS);
    }
}

/// Map from order id; lookups only, never iterated into output.
#[allow(clippy::disallowed_types)] // a custom hasher needs the std map type itself
pub(crate) type OrderIdMap<V> = std::collections::HashMap<OrderId, V, BuildHasherDefault<OrderIdHasher>>;

pub(crate) fn with_capacity<V>(capacity: usize) -> OrderIdMap<V> {
    OrderIdMap::with_capacity_and_hasher(capacity, BuildHasherDefault::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash(id: u64) -> u64 {
        BuildHasherDefault::<OrderIdHasher>::default().hash_one(OrderId(id))
    }

    #[test]
    fn keeps_low_bits_and_mixes_the_tag() {
        assert_eq!(hash(12_345) & 0xffff, 12_345);
        assert_eq!(hash(12_346) & 0xffff, 12_346);
        assert_ne!(hash(12_345) >> 57, hash(12_346) >> 57);
        let mut hasher = OrderIdHasher::default();
        OrderId(7).hash(&mut hasher);
        assert_eq!(hasher.finish(), hash(7));
    }
}

/// Ids at most this far apart share the dense window (16 MiB of slots when full).
const WINDOW_IDS_MAX: u64 = 1 << 22;
const ABSENT: u32 = u32::MAX;

/// Order id -> slot. Ids inside a sliding window are addressed directly (an array read or
/// write: removing a filled maker is a plain store, not a hash probe into cold memory);
/// ids outside it live in an [`OrderIdMap`]. The gateway's increasing ids keep nearly
/// every id in the window, which slides forward as they grow; any other pattern still
/// works, through the map.
#[derive(Clone, Debug)]
pub(crate) struct OrderIndex {
    base: u64,
    window: Vec<u32>,
    /// Widest id span the window covers before it slides.
    window_ids_max: u64,
    overflow: OrderIdMap<u32>,
    /// Ids in `overflow` at or above `base`: the window may grow over them, and must then
    /// take them in. Zero in the common case, so growing never scans the map.
    overflow_ahead: usize,
    count: usize,
}

impl OrderIndex {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self::with_window(capacity, WINDOW_IDS_MAX)
    }

    fn with_window(capacity: usize, window_ids_max: u64) -> Self {
        let window_capacity = capacity.min(window_ids_max as usize);
        Self { base: 0, window: Vec::with_capacity(window_capacity), window_ids_max, overflow: with_capacity(0), overflow_ahead: 0, count: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    #[inline]
    fn offset(&self, id: OrderId) -> Option<usize> {
        let offset = id.0.wrapping_sub(self.base);
        (offset < self.window.len() as u64).then_some(offset as usize)
    }

    #[inline]
    pub(crate) fn get(&self, id: OrderId) -> Option<u32> {
        match self.offset(id) {
            Some(offset) => Some(self.window[offset]).filter(|&slot| slot != ABSENT),
            None => self.overflow.get(&id).copied(),
        }
    }

    #[inline]
    pub(crate) fn contains(&self, id: OrderId) -> bool {
        self.get(id).is_some()
    }

    /// Adds `id`; the caller has checked it is absent.
    #[inline]
    pub(crate) fn insert(&mut self, id: OrderId, slot: u32) {
        debug_assert!(!self.contains(id), "invariant: order ids are unique among open orders");
        assert!(slot != ABSENT, "invariant: slots fit below the absent marker");
        self.count += 1;
        if self.window.is_empty() && self.overflow.is_empty() {
            self.base = id.0;
        }
        if let Some(offset) = self.offset(id) {
            self.window[offset] = slot;
            return;
        }
        let ahead = id.0.wrapping_sub(self.base);
        if id.0 >= self.base && ahead >= self.window_ids_max && ahead < 2 * self.window_ids_max {
            self.slide_to(id.0 - self.window_ids_max / 2);
        }
        let ahead = id.0.wrapping_sub(self.base);
        if id.0 >= self.base && ahead < self.window_ids_max {
            let offset = match self.offset(id) {
                Some(offset) => offset,
                None => self.cover(id),
            };
            self.window[offset] = slot;
        } else {
            if id.0 >= self.base {
                self.overflow_ahead += 1;
            }
            self.overflow.insert(id, slot);
        }
    }

    /// Grows the window up to `id` and takes in the map's ids it now covers.
    fn cover(&mut self, id: OrderId) -> usize {
        let old_top = self.base + self.window.len() as u64;
        let offset = (id.0 - self.base) as usize;
        self.window.resize(offset + 1, ABSENT);
        if self.overflow_ahead > 0 {
            self.take_in(old_top, self.base + self.window.len() as u64);
        }
        offset
    }

    /// Moves the map's ids in `from..to` (inside the window) into the window.
    fn take_in(&mut self, from: u64, to: u64) {
        let inside: Vec<OrderId> = self.overflow.keys().copied().filter(|id| (from..to).contains(&id.0)).collect();
        for id in inside {
            if let Some(slot) = self.overflow.remove(&id) {
                self.window[(id.0 - self.base) as usize] = slot;
                self.overflow_ahead -= 1;
            }
        }
    }

    /// Moves the window to start at `base`: ids that fall behind go to the map, ids of the
    /// map that fall inside come into the window.
    fn slide_to(&mut self, base: u64) {
        let shift = (base - self.base) as usize;
        for (offset, &slot) in self.window.iter().enumerate().take(shift) {
            if slot != ABSENT {
                self.overflow.insert(OrderId(self.base + offset as u64), slot);
            }
        }
        self.window.drain(..shift.min(self.window.len()));
        self.base = base;
        self.overflow_ahead = self.overflow.keys().filter(|id| id.0 >= base).count();
        if self.overflow_ahead > 0 {
            self.take_in(base, base + self.window.len() as u64);
        }
    }

    #[inline]
    pub(crate) fn remove(&mut self, id: OrderId) -> Option<u32> {
        let removed = match self.offset(id) {
            Some(offset) => Some(std::mem::replace(&mut self.window[offset], ABSENT)).filter(|&slot| slot != ABSENT),
            None => {
                let removed = self.overflow.remove(&id);
                if removed.is_some() && id.0 >= self.base {
                    self.overflow_ahead -= 1;
                }
                removed
            }
        };
        if removed.is_some() {
            self.count -= 1;
        }
        removed
    }

    /// Every (id, slot); for checks, never for output order.
    pub(crate) fn entries(&self) -> Vec<(OrderId, u32)> {
        let window = self.window.iter().enumerate().filter(|(_, slot)| **slot != ABSENT);
        window.map(|(offset, &slot)| (OrderId(self.base + offset as u64), slot)).chain(self.overflow.iter().map(|(&id, &slot)| (id, slot))).collect()
    }
}

#[cfg(test)]
mod index_tests {
    use std::collections::BTreeMap;

    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The index behaves exactly like an ordinary map under any mix of sequential,
        /// backwards and far-away ids, including window slides.
        #[test]
        fn behaves_like_a_map(operations in proptest::collection::vec((0_u8..4, 0_u64..64, any::<u64>()), 1..400)) {
            // A small window, so slides happen all the time.
            let mut index = OrderIndex::with_window(8, 64);
            let mut model: BTreeMap<u64, u32> = BTreeMap::new();
            let mut next = 1_000_u64;
            for (step, (kind, small, any_id)) in operations.into_iter().enumerate() {
                let id = match kind {
                    0 => { next += 1 + small; next }
                    1 => next.saturating_sub(small * 3),
                    2 => next + 64 + small * 10,
                    _ => any_id,
                };
                let slot = step as u32;
                if let Some(expected) = model.remove(&id) {
                    prop_assert_eq!(index.remove(OrderId(id)), Some(expected));
                } else {
                    index.insert(OrderId(id), slot);
                    model.insert(id, slot);
                }
                prop_assert_eq!(index.len(), model.len());
                prop_assert_eq!(index.get(OrderId(id)), model.get(&id).copied());
            }
            let mut entries = index.entries();
            entries.sort_unstable();
            let expected: Vec<(OrderId, u32)> = model.into_iter().map(|(id, slot)| (OrderId(id), slot)).collect();
            prop_assert_eq!(entries, expected);
        }
    }
}
