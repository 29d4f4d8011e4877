//! How often the order form may be tried: per client address (`page.form_rate` after a burst
//! of `page.form_burst`, an IPv6 address counted by its /64) and per order number of a shop,
//! from any address (`page.order_rate` after `page.order_burst`). Both are governor keyed
//! limiters; the key of an order is the shop and the order number as typed (trimmed, upper
//! case), whether or not such an order exists, so that being limited tells nothing.
//!
//! With the defaults (3 tries of an order at once, then 6 a day), guessing the last four
//! digits of one order's phone takes on average 5 000 tries: about two years, while a parcel
//! waits two weeks (the chance within 15 days is under 1 %). The per-address limit keeps one
//! address from sweeping many orders; an attacker with many addresses still has 3 tries in
//! 10 000 per order number, which is what four digits of a phone can give.
//!
//! governor's keyed limiters keep every key they have seen; keys quiet long enough to be back
//! at a full burst are dropped at most once a [`SWEEP`].

use crate::config::PageSettings;
use governor::DefaultKeyedRateLimiter;
use governor::clock::{Clock, DefaultClock};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often forgotten keys are swept out.
pub const SWEEP: Duration = Duration::from_secs(60);

/// Which limit held a try back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// The client address's.
    Address(Duration),
    /// The order number's.
    Order(Duration),
}

impl Held {
    /// How long to wait.
    pub fn wait(self) -> Duration {
        match self {
            Held::Address(d) | Held::Order(d) => d,
        }
    }

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Held::Address(_) => "address",
            Held::Order(_) => "order",
        }
    }
}

/// The form's limiters.
pub struct FormLimits {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_order: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    swept: Mutex<Instant>,
}

impl FormLimits {
    /// The limiters `[page]` describes.
    pub fn new(page: &PageSettings) -> Self {
        FormLimits {
            by_address: DefaultKeyedRateLimiter::keyed(
                page.form_rate.quota().allow_burst(page.form_burst),
            ),
            by_order: DefaultKeyedRateLimiter::keyed(
                page.order_rate.quota().allow_burst(page.order_burst),
            ),
            clock: DefaultClock::default(),
            swept: Mutex::new(Instant::now()),
        }
    }

    /// Takes one try of `order` in `shop` from `client` (already keyed by
    /// [`crate::api::throttle::key`]); the address is asked first, and an address over its
    /// limit costs the order nothing.
    pub fn check(&self, client: IpAddr, shop: &str, order: &str) -> Result<(), Held> {
        self.sweep();
        let now = self.clock.now();
        self.by_address
            .check_key(&client)
            .map_err(|n| Held::Address(n.wait_time_from(now)))?;
        let key = format!("{shop}\u{0}{}", order.trim().to_uppercase());
        self.by_order
            .check_key(&key)
            .map_err(|n| Held::Order(n.wait_time_from(now)))
    }

    /// Drops the states of quiet keys, at most once a [`SWEEP`].
    fn sweep(&self) {
        let Ok(mut last) = self.swept.try_lock() else {
            return;
        };
        if last.elapsed() < SWEEP {
            return;
        }
        *last = Instant::now();
        self.by_address.retain_recent();
        self.by_address.shrink_to_fit();
        self.by_order.retain_recent();
        self.by_order.shrink_to_fit();
        metrics::gauge!("parceld_page_limited_keys", "by" => "address")
            .set(self.by_address.len() as f64);
        metrics::gauge!("parceld_page_limited_keys", "by" => "order")
            .set(self.by_order.len() as f64);
    }

    /// How many keys (addresses, orders) it holds a state for.
    pub fn len(&self) -> (usize, usize) {
        (self.by_address.len(), self.by_order.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;

    fn limits(address: u32, order: u32) -> FormLimits {
        let mut page = crate::config::parse("", std::path::Path::new("t.toml"))
            .unwrap()
            .page;
        page.form_rate = crate::config::values::rate("1/h").unwrap();
        page.form_burst = NonZeroU32::new(address).unwrap();
        page.order_rate = crate::config::values::rate("1/d").unwrap();
        page.order_burst = NonZeroU32::new(order).unwrap();
        FormLimits::new(&page)
    }

    #[test]
    fn orders_are_limited_from_every_address_and_addresses_over_every_order() {
        let l = limits(100, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(l.check(a, "acme", "A-1").is_ok());
        assert!(
            l.check(b, "acme", " a-1 ").is_ok(),
            "the same order, spelt otherwise"
        );
        let held = l.check(b, "acme", "A-1").unwrap_err();
        assert!(matches!(held, Held::Order(_)), "{held:?}");
        assert!(held.wait() > Duration::from_secs(3600));
        assert!(l.check(a, "other", "A-1").is_ok(), "another shop's order");
        assert!(l.check(a, "acme", "A-2").is_ok());

        let l = limits(2, 100);
        assert!(l.check(a, "acme", "A-1").is_ok() && l.check(a, "acme", "A-2").is_ok());
        assert!(matches!(l.check(a, "acme", "A-3"), Err(Held::Address(_))));
        assert!(l.check(b, "acme", "A-3").is_ok(), "another address");
        assert_eq!(l.len(), (2, 3), "the held try cost A-3 nothing");
    }
}
