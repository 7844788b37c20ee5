//! Key to partition, exactly as Kafka's Java client does it (murmur2, sign bit cleared),
//! so records land on the same partition whichever backend or client wrote them.

use crate::Partition;

fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    let mut h: u32 = SEED ^ length as u32;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    match tail.len() {
        3 => {
            h ^= u32::from(tail[2]) << 16;
            h ^= u32::from(tail[1]) << 8;
            h ^= u32::from(tail[0]);
            h = h.wrapping_mul(M);
        }
        2 => {
            h ^= u32::from(tail[1]) << 8;
            h ^= u32::from(tail[0]);
            h = h.wrapping_mul(M);
        }
        1 => {
            h ^= u32::from(tail[0]);
            h = h.wrapping_mul(M);
        }
        _ => {}
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of a record with `key` in a topic of `partitions` partitions; records
/// without a key go to partition 0 (deterministic, unlike Kafka's sticky default).
pub fn partition_for(key: Option<&[u8]>, partitions: u32) -> Partition {
    assert!(partitions > 0, "invariant: a topic has at least one partition");
    match key {
        Some(key) => ((murmur2(key) & 0x7fff_ffff) as u32) % partitions,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_kafka_java_client_murmur2() {
        // Reference values from Kafka's own UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21"), -973_932_308);
        assert_eq!(murmur2(b"foobar"), -790_332_482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985_981_536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1_486_304_829);
        assert_eq!(murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58_897_971);
        assert_eq!(murmur2(b"abc"), 479_470_107);
    }

    #[test]
    fn keys_spread_and_stay_put() {
        assert_eq!(partition_for(None, 8), 0);
        assert_eq!(partition_for(Some(b"user-1"), 8), partition_for(Some(b"user-1"), 8));
        let used: std::collections::BTreeSet<_> = (0..200).map(|index| partition_for(Some(format!("account-{index}").as_bytes()), 8)).collect();
        assert_eq!(used.len(), 8);
    }
}
