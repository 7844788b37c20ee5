//! Rate limits: a token bucket per caller (user or API key) and one per client IP. A
//! request that finds its bucket empty gets 429 with `Retry-After`. The operator's admin
//! key is exempt (it runs load tests and tooling).

use std::collections::HashMap;
use std::sync::Mutex;

/// Requests per second and burst, per caller and per IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub per_caller_per_s: u32,
    pub per_caller_burst: u32,
    pub per_ip_per_s: u32,
    pub per_ip_burst: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self { per_caller_per_s: 50, per_caller_burst: 100, per_ip_per_s: 200, per_ip_burst: 400 }
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Thousandths of a request.
    milli_tokens: u64,
    updated_ms: i64,
}

/// Buckets beyond which full ones are forgotten.
const BUCKETS_MAX: usize = 100_000;

#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self { limits, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from each named bucket (caller, then IP); on refusal, the
    /// seconds until a request would pass. Nothing is taken when refused.
    pub fn take(&self, caller: Option<&str>, ip: Option<&str>, now_ms: i64) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        let wanted: Vec<(String, u32, u32)> = caller
            .map(|caller| (format!("caller:{caller}"), self.limits.per_caller_per_s, self.limits.per_caller_burst))
            .into_iter()
            .chain(ip.map(|ip| (format!("ip:{ip}"), self.limits.per_ip_per_s, self.limits.per_ip_burst)))
            .collect();
        let mut refills = Vec::with_capacity(wanted.len());
        for (key, rate, burst) in &wanted {
            let capacity = u64::from(*burst) * 1_000;
            let bucket = buckets.get(key).copied().unwrap_or(Bucket { milli_tokens: capacity, updated_ms: now_ms });
            let elapsed = u64::try_from(now_ms - bucket.updated_ms).unwrap_or(0);
            let tokens = (bucket.milli_tokens + elapsed * u64::from(*rate)).min(capacity);
            if tokens < 1_000 {
                let missing = 1_000 - tokens;
                return Err(missing.div_ceil(u64::from((*rate).max(1))).div_ceil(1_000).max(1));
            }
            refills.push((key.clone(), tokens - 1_000));
        }
        if buckets.len() > BUCKETS_MAX {
            let limits = self.limits;
            let full = u64::from(limits.per_caller_burst.min(limits.per_ip_burst)) * 1_000;
            buckets.retain(|_, bucket| bucket.milli_tokens < full);
        }
        for (key, milli_tokens) in refills {
            buckets.insert(key, Bucket { milli_tokens, updated_ms: now_ms });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_drain_refill_and_say_when_to_retry() {
        let limiter = RateLimiter::new(RateLimits { per_caller_per_s: 2, per_caller_burst: 3, per_ip_per_s: 1, per_ip_burst: 5 });
        for _ in 0..3 {
            assert_eq!(limiter.take(Some("u1"), Some("1.2.3.4"), 0), Ok(()));
        }
        assert_eq!(limiter.take(Some("u1"), Some("1.2.3.4"), 0), Err(1), "the caller's burst is spent");
        assert_eq!(limiter.take(Some("u2"), Some("1.2.3.4"), 0), Ok(()), "another caller has its own bucket");
        assert_eq!(limiter.take(Some("u1"), Some("1.2.3.4"), 500), Ok(()), "half a second refills one at 2/s");
        assert_eq!(limiter.take(None, Some("1.2.3.4"), 500), Err(1), "the IP has 5 at 1/s: 4 taken, half a token back");
        assert_eq!(limiter.take(None, Some("5.6.7.8"), 500), Ok(()));
    }
}
