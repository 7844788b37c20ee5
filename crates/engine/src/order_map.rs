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
