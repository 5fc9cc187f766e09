//! Attempts per address: a fixed window a minute long, kept in memory.
//! Several server processes each keep their own (the lockout after five
//! failures is in the database, shared by all of them).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The default: enough for a family's typing mistakes, far too few to
/// guess passwords.
pub const ATTEMPTS_PER_MINUTE: u32 = 20;

pub struct Limiter {
    max: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Limiter {
    pub fn per_minute(max: u32) -> Self {
        Limiter {
            max,
            window: Duration::from_secs(60),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `addr`; false if it is one too many. An IPv6
    /// address counts with its /64, which one household or host is given.
    pub fn allow(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
            v4 => v4,
        };
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = seen.entry(addr).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_allowance_and_no_more() {
        let l = Limiter::per_minute(3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let got: Vec<bool> = (0..4).map(|_| l.allow(a)).collect();
        assert_eq!(got, [true, true, true, false]);
        assert!(l.allow(b), "another address has its own allowance");
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        let l = Limiter::per_minute(1);
        assert!(l.allow(v6("2001:db8:1:2::1")));
        assert!(!l.allow(v6("2001:db8:1:2::ffff")), "the same /64");
        assert!(l.allow(v6("2001:db8:1:3::1")), "another /64");
    }
}
