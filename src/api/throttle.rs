//! How fast one client may call the shops' listener's routes that take no token: the
//! unsubscribe pages (`/u/…`), the tracking page (`/t/…`), the SMS gateways' callbacks (`/v1/callbacks/…`), 17TRACK's
//! webhook, `GET /v1/health`, the import template and `/robots.txt`. Routes with a token are not limited here
//! (a shop is known by its token), nor is the control socket (it is never wrapped).
//!
//! One keyed governor limiter (`api.public_rate`, with a burst of `api.public_burst`) holds a
//! state per client address: an IPv4 address, or an IPv6 address's /64, since one IPv6 host
//! commonly has a whole /64 to choose from. Behind a proxy listed in `api.trusted_proxies`,
//! the client is the last address in `X-Forwarded-For` that is not such a proxy. A request over
//! the limit is answered 429 with `Retry-After` and a JSON error.
//!
//! governor's keyed limiters keep every key they have seen; the states of addresses that have
//! been quiet for long enough to be back at a full burst are dropped at most once a [`SWEEP`].

use super::error::ApiError;
use crate::config::ApiSettings;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use governor::DefaultKeyedRateLimiter;
use governor::clock::{Clock, DefaultClock};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often forgotten addresses are swept out of the limiter.
pub const SWEEP: Duration = Duration::from_secs(60);

/// The limiter of the routes without a token.
pub struct Throttle {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    trusted: Vec<IpAddr>,
    swept: Mutex<Instant>,
}

/// What a limited route is, for the metric's label.
pub fn route_class(path: &str) -> Option<&'static str> {
    if path.starts_with("/u/") {
        Some("unsubscribe")
    } else if path.starts_with("/t/") {
        Some("tracking")
    } else if path.starts_with("/v1/callbacks/") {
        Some("callback")
    } else if path == "/v1/webhooks/17track" {
        Some("webhook")
    } else if path == "/v1/health" {
        Some("health")
    } else if path == "/v1/import-template.xlsx" {
        Some("template")
    } else if path == "/robots.txt" {
        Some("robots")
    } else {
        None
    }
}

/// The key an address is limited by: IPv4 as it is (also when mapped into IPv6), IPv6 by /64.
pub fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl Throttle {
    /// The limiter `api.public_rate` and `api.public_burst` describe.
    pub fn new(api: &ApiSettings) -> Self {
        let quota = api.public_rate.quota().allow_burst(api.public_burst);
        Throttle {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            clock: DefaultClock::default(),
            trusted: api.trusted_proxies.clone(),
            swept: Mutex::new(Instant::now()),
        }
    }

    /// The client a request comes from: the peer, or, when the peer is a trusted proxy, the
    /// last address of `X-Forwarded-For` that is not a trusted proxy.
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.trusted.contains(&peer) {
            return peer;
        }
        forwarded_for
            .into_iter()
            .flat_map(|h| h.rsplit(','))
            .map(str::trim)
            .map_while(|a| a.parse::<IpAddr>().ok())
            .find(|a| !self.trusted.contains(a))
            .unwrap_or(peer)
    }

    /// Takes one call of `client`; `Err` with how long to wait if it is over the limit.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.sweep();
        self.limiter
            .check_key(&key(client))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Drops the states of quiet addresses, at most once a [`SWEEP`]; another caller sweeping
    /// at the same moment is not waited for.
    fn sweep(&self) {
        let Ok(mut last) = self.swept.try_lock() else {
            return;
        };
        if last.elapsed() < SWEEP {
            return;
        }
        *last = Instant::now();
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        metrics::gauge!("parceld_api_limited_addresses").set(self.limiter.len() as f64);
    }

    /// How many addresses it holds a state for.
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    /// Whether it holds no state.
    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }
}

/// The middleware of the shops' listener: limits the routes without a token.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let throttle = req.app_data::<web::Data<Throttle>>().cloned();
    let (Some(throttle), Some(class)) = (throttle, route_class(req.path())) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let client = throttle.client(peer, forwarded);
    match throttle.check(client) {
        Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
        Err(wait) => {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let secs = secs.max(1);
            metrics::counter!("parceld_api_limited_total", "route" => class).increment(1);
            tracing::debug!(route = class, client = %key(client), retry_after = secs, "Too many requests without a token");
            let mut resp = ApiError::too_many_requests(format!(
                "too many requests from this address; try again in {secs} s (api.public_rate)"
            ))
            .error_response();
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
            Ok(req.into_response(resp).map_into_right_body())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(burst: u32, trusted: &[&str]) -> Throttle {
        let mut api = crate::config::parse("", std::path::Path::new("t.toml"))
            .unwrap()
            .api;
        api.public_rate = crate::config::values::rate("1/h").unwrap();
        api.public_burst = std::num::NonZeroU32::new(burst).unwrap();
        api.trusted_proxies = trusted.iter().map(|t| t.parse().unwrap()).collect();
        Throttle::new(&api)
    }

    #[test]
    fn each_address_has_its_own_burst_and_ipv6_counts_by_64() {
        let t = throttle(2, &[]);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(t.check(a).is_ok() && t.check(a).is_ok());
        let wait = t.check(a).unwrap_err();
        assert!(wait > Duration::from_secs(1_000), "{wait:?}");
        assert!(t.check(b).is_ok(), "another address is not held back");
        let v6a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let v6c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(t.check(v6a).is_ok() && t.check(v6b).is_ok());
        assert!(t.check(v6a).is_err(), "the same /64");
        assert!(t.check(v6c).is_ok(), "another /64");
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert!(
            t.check(mapped).is_err(),
            "IPv4 mapped into IPv6 is the IPv4 address"
        );
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let t = throttle(1, &["127.0.0.1", "10.0.0.2"]);
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let stranger: IpAddr = "198.51.100.7".parse().unwrap();
        let client: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(t.client(stranger, Some("203.0.113.5")), stranger);
        assert_eq!(t.client(proxy, Some("203.0.113.5")), client);
        assert_eq!(
            t.client(proxy, Some("1.2.3.4, 203.0.113.5, 10.0.0.2")),
            client,
            "the last address no trusted proxy added"
        );
        assert_eq!(t.client(proxy, Some("garbage")), proxy);
        assert_eq!(t.client(proxy, None), proxy);
    }

    #[test]
    fn only_the_routes_without_a_token_are_limited() {
        assert_eq!(route_class("/u/acme/T/sms/1/sig"), Some("unsubscribe"));
        assert_eq!(route_class("/t/K7pQ2xWm9Z"), Some("tracking"));
        assert_eq!(route_class("/t/acme"), Some("tracking"));
        assert_eq!(route_class("/v1/callbacks/sms/smsru/tok"), Some("callback"));
        assert_eq!(route_class("/v1/webhooks/17track"), Some("webhook"));
        assert_eq!(route_class("/v1/health"), Some("health"));
        assert_eq!(route_class("/v1/import-template.xlsx"), Some("template"));
        assert_eq!(route_class("/robots.txt"), Some("robots"));
        assert_eq!(route_class("/v1/shops/acme/parcels"), None);
        assert_eq!(route_class("/v1/shops/acme/parcels/import"), None);
    }
}
