//! Requests per second per caller: a token bucket per key (the token's name, or the
//! peer IP without one). Loopback callers are not limited: a local process can stop
//! the server anyway, and the hook and benchmarks run there.

use std::time::Instant;

use dashmap::DashMap;

/// Buckets kept before idle ones are swept.
const SWEEP_AT: usize = 10_000;

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A token-bucket limiter.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: DashMap<String, Bucket>,
}

impl RateLimiter {
    /// `per_second` sustained, `burst` at once; `per_second == 0` turns it off.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: DashMap::new(),
        }
    }

    /// Whether limiting is on.
    pub fn enabled(&self) -> bool {
        self.per_second > 0.0
    }

    /// Takes one request for `key`; `Err(seconds)` says how long until one is allowed.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        if !self.enabled() {
            return Ok(());
        }
        let now = Instant::now();
        if self.buckets.len() > SWEEP_AT {
            let burst = self.burst;
            let rate = self.per_second;
            self.buckets
                .retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < burst);
        }
        let mut bucket = self.buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let refill = now.duration_since(bucket.last).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let limiter = RateLimiter::new(1, 3);
        for _ in 0..3 {
            assert!(limiter.check("a").is_ok());
        }
        assert_eq!(limiter.check("a"), Err(1));
        assert!(limiter.check("b").is_ok(), "keys are independent");
        assert!(RateLimiter::new(0, 0).check("a").is_ok(), "0 turns it off");
    }
}
