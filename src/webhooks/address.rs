//! Where a webhook may go. A shop's token must not reach the operator's own network, so a URL
//! is checked when it is registered and again at every delivery:
//!
//! - HTTPS only; plain HTTP only to the hosts `webhooks.allow_http` names;
//! - no user name or password in the URL;
//! - no address, literal or resolved, in a range that is not the public internet: loopback,
//!   private (RFC 1918, IPv6 unique local), link-local, carrier-grade NAT, multicast,
//!   unspecified, reserved, documentation and benchmarking ranges, and the cloud metadata
//!   addresses (169.254.169.254, 100.100.100.200, fd00:ec2::254); IPv4 inside IPv6
//!   (mapped, compatible, NAT64, 6to4) is judged by its IPv4 address, Teredo is refused;
//!   `webhooks.allow_addresses` lets chosen ranges through.
//!
//! Every connection goes through [`GuardedResolver`], which resolves the name, checks every
//! address and hands the HTTP client only those: the request goes to the address that was
//! checked, so a name that resolves to a public address for the check and to a private one for
//! the connection (DNS rebinding) gets nowhere.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// What the config allows beyond the public internet over HTTPS.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Hosts that may be reached over plain HTTP (lower case).
    pub allow_http: Vec<String>,
    /// Ranges allowed although they are not public.
    pub allow: Vec<IpNet>,
}

impl Policy {
    /// The policy of the `[webhooks]` settings.
    pub fn of(s: &crate::config::webhooks::WebhookSettings) -> Policy {
        Policy {
            allow_http: s.allow_http.clone(),
            allow: s.allow_addresses.clone(),
        }
    }
}

/// Why a URL or address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not a URL.
    #[error("{0:?} is not a URL: {1}")]
    NotUrl(String, String),
    /// Not HTTPS (and not an allowed plain-HTTP host).
    #[error(
        "{0}: only https:// URLs are allowed (plain http only for the hosts webhooks.allow_http names)"
    )]
    Scheme(String),
    /// Credentials in the URL.
    #[error("the URL must not hold a user name or password")]
    Credentials,
    /// No host.
    #[error("the URL has no host")]
    NoHost,
    /// Too long.
    #[error("the URL is longer than 2048 characters")]
    TooLong,
    /// An address in a forbidden range.
    #[error(
        "{host} is {address}, a {range} address; webhooks go to the public internet only (webhooks.allow_addresses can allow it)"
    )]
    Address {
        /// The host as the URL names it.
        host: String,
        /// The address.
        address: IpAddr,
        /// Which range.
        range: &'static str,
    },
    /// The name does not resolve.
    #[error("{host} does not resolve: {error}")]
    Unresolvable {
        /// The host.
        host: String,
        /// Why.
        error: String,
    },
}

fn v4_range(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(match o {
        [169, 254, 169, 254] | [100, 100, 100, 200] => "cloud metadata",
        [0, ..] => "unspecified (0.0.0.0/8)",
        [10, ..] => "private (10.0.0.0/8)",
        [100, b, ..] if (64..128).contains(&b) => "carrier-grade NAT (100.64.0.0/10)",
        [127, ..] => "loopback",
        [169, 254, ..] => "link-local",
        [172, b, ..] if (16..32).contains(&b) => "private (172.16.0.0/12)",
        [192, 0, 0, _] => "IETF protocol (192.0.0.0/24)",
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => "documentation",
        [192, 168, ..] => "private (192.168.0.0/16)",
        [198, 18 | 19, ..] => "benchmarking (198.18.0.0/15)",
        [a, ..] if (224..240).contains(&a) => "multicast",
        [a, ..] if a >= 240 => "reserved (240.0.0.0/4)",
        _ => return None,
    })
}

/// The IPv4 address an IPv6 address carries, if it is one of the forms that do.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated; not :: or ::1).
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(tail(hi, lo)),
        [0, 0, 0, 0, 0, 0, hi, lo] if (hi, lo) > (0, 1) => Some(tail(hi, lo)),
        // 64:ff9b::a.b.c.d (NAT64).
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(tail(hi, lo)),
        // 2002:aabb:ccdd::/48 (6to4).
        [0x2002, hi, lo, ..] => Some(tail(hi, lo)),
        _ => None,
    }
}

fn v6_range(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(ip) {
        return v4_range(v4);
    }
    let s = ip.segments();
    Some(match s {
        _ if ip.is_unspecified() => "unspecified (::)",
        _ if ip.is_loopback() => "loopback",
        [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254] => "cloud metadata",
        [0x64, 0xff9b, 1, ..] => "NAT64 local-use (64:ff9b:1::/48)",
        [0x100, 0, 0, 0, ..] => "discard (100::/64)",
        [0x2001, 0, ..] => "Teredo (2001::/32)",
        [0x2001, 0xdb8, ..] => "documentation (2001:db8::/32)",
        [a, ..] if a & 0xfe00 == 0xfc00 => "unique local (fc00::/7)",
        [a, ..] if a & 0xffc0 == 0xfe80 => "link-local (fe80::/10)",
        [a, ..] if a & 0xffc0 == 0xfec0 => "site-local (fec0::/10)",
        [a, ..] if a & 0xff00 == 0xff00 => "multicast",
        [0, ..] => "reserved (::/8)",
        _ => return None,
    })
}

/// Which range that is not the public internet holds `ip`, if any.
pub fn forbidden_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_range(v4),
        IpAddr::V6(v6) => v6_range(v6),
    }
}

/// Checks one address against the policy; `host` names it in the refusal.
pub fn check_ip(host: &str, ip: IpAddr, policy: &Policy) -> Result<(), Refused> {
    let also = match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4),
        IpAddr::V4(_) => None,
    };
    let allowed = policy
        .allow
        .iter()
        .any(|n| n.contains(&ip) || also.is_some_and(|a| n.contains(&a)));
    match forbidden_range(ip) {
        Some(range) if !allowed => Err(Refused::Address {
            host: host.to_string(),
            address: ip,
            range,
        }),
        _ => Ok(()),
    }
}

/// A URL that passed the checks that need no lookup: scheme, credentials, literal addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL.
    pub url: reqwest::Url,
    /// Its host (without brackets).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The host is an address, not a name.
    pub literal: bool,
}

/// Checks what can be checked without a lookup.
pub fn check_url(url: &str, policy: &Policy) -> Result<Target, Refused> {
    if url.len() > 2048 {
        return Err(Refused::TooLong);
    }
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| Refused::NotUrl(url.chars().take(100).collect(), e.to_string()))?;
    let raw = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(Refused::NoHost)?;
    let host = raw
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let literal = host.parse::<IpAddr>().ok();
    match parsed.scheme() {
        "https" => {}
        "http" if policy.allow_http.contains(&host) => {}
        _ => return Err(Refused::Scheme(format!("{}://{host}", parsed.scheme()))),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Refused::Credentials);
    }
    if let Some(ip) = literal {
        check_ip(&host, ip, policy)?;
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    Ok(Target {
        url: parsed,
        host,
        port,
        literal: literal.is_some(),
    })
}

/// Resolves `host` and checks every address; refuses the host if any is forbidden.
pub async fn resolve(host: &str, port: u16, policy: &Policy) -> Result<Vec<SocketAddr>, Refused> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        check_ip(host, ip, policy)?;
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Refused::Unresolvable {
            host: host.to_string(),
            error: e.to_string(),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Refused::Unresolvable {
            host: host.to_string(),
            error: "no addresses".into(),
        });
    }
    for a in &addrs {
        check_ip(host, a.ip(), policy)?;
    }
    Ok(addrs)
}

/// Checks a URL completely, with a lookup of its host: at registration.
pub async fn check(url: &str, policy: &Policy) -> Result<Target, Refused> {
    let target = check_url(url, policy)?;
    if !target.literal {
        resolve(&target.host, target.port, policy).await?;
    }
    Ok(target)
}

/// The HTTP client's resolver: it hands out only addresses that passed the policy, so every
/// connection goes to an address that was checked.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<Policy>,
}

impl GuardedResolver {
    /// A resolver under `policy`.
    pub fn new(policy: Arc<Policy>) -> Self {
        GuardedResolver { policy }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = resolve(&host, 0, &policy)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_ranges_are_named_and_public_ones_pass() {
        for (a, range) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private (10.0.0.0/8)"),
            ("172.31.255.255", "private (172.16.0.0/12)"),
            ("192.168.1.1", "private (192.168.0.0/16)"),
            ("169.254.169.254", "cloud metadata"),
            ("169.254.1.1", "link-local"),
            ("100.64.0.1", "carrier-grade NAT (100.64.0.0/10)"),
            ("100.100.100.200", "cloud metadata"),
            ("0.0.0.0", "unspecified (0.0.0.0/8)"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved (240.0.0.0/4)"),
            ("198.18.0.1", "benchmarking (198.18.0.0/15)"),
            ("::1", "loopback"),
            ("::", "unspecified (::)"),
            ("fe80::1", "link-local (fe80::/10)"),
            ("fd12:3456::1", "unique local (fc00::/7)"),
            ("fd00:ec2::254", "cloud metadata"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "cloud metadata"),
            ("::10.0.0.1", "private (10.0.0.0/8)"),
            ("64:ff9b::a00:1", "private (10.0.0.0/8)"),
            ("2002:c0a8:0101::1", "private (192.168.0.0/16)"),
            ("2001:0:4136:e378::1", "Teredo (2001::/32)"),
            ("2001:db8::1", "documentation (2001:db8::/32)"),
        ] {
            assert_eq!(forbidden_range(ip(a)), Some(range), "{a}");
        }
        for a in [
            "93.184.216.34",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2a00:1450:4010::65",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(forbidden_range(ip(a)), None, "{a}");
        }
    }

    #[test]
    fn the_allow_list_lets_chosen_ranges_through_also_when_mapped() {
        let p = Policy {
            allow_http: vec![],
            allow: vec!["127.0.0.0/8".parse().unwrap()],
        };
        assert_eq!(check_ip("h", ip("127.0.0.1"), &p), Ok(()));
        assert_eq!(check_ip("h", ip("::ffff:127.0.0.9"), &p), Ok(()));
        let e = check_ip("h", ip("::1"), &p).unwrap_err();
        assert!(e.to_string().contains("::1, a loopback address"), "{e}");
        assert!(check_ip("h", ip("10.0.0.1"), &p).is_err());
    }

    #[test]
    fn urls_need_https_unless_the_host_is_allowed_plain() {
        let p = Policy::default();
        assert!(check_url("https://shop.example/hook", &p).is_ok());
        let e = check_url("http://shop.example/hook", &p).unwrap_err();
        assert!(matches!(e, Refused::Scheme(_)), "{e}");
        assert!(e.to_string().contains("only https://"), "{e}");
        assert!(matches!(
            check_url("ftp://shop.example/", &p),
            Err(Refused::Scheme(_))
        ));
        assert_eq!(
            check_url("https://u:p@shop.example/", &p),
            Err(Refused::Credentials)
        );
        assert!(matches!(
            check_url("not a url", &p),
            Err(Refused::NotUrl(..))
        ));
        assert!(matches!(
            check_url("https://10.0.0.5/x", &p),
            Err(Refused::Address { .. })
        ));
        assert!(matches!(
            check_url("https://[::ffff:7f00:1]/x", &p),
            Err(Refused::Address { .. })
        ));
        assert!(
            matches!(
                check_url("https://0x7f.1/x", &p),
                Err(Refused::Address { .. })
            ),
            "hex forms are addresses too"
        );
        let plain = Policy {
            allow_http: vec!["127.0.0.1".into()],
            allow: vec!["127.0.0.0/8".parse().unwrap()],
        };
        let t = check_url("http://127.0.0.1:8080/hook", &plain).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.literal),
            ("127.0.0.1", 8080, true)
        );
        assert!(matches!(
            check_url("http://127.0.0.2/", &plain),
            Err(Refused::Scheme(_))
        ));
    }

    #[tokio::test]
    async fn names_that_resolve_inside_are_refused_and_only_checked_addresses_are_used() {
        let p = Policy::default();
        let e = check("https://localhost/hook", &p).await.unwrap_err();
        assert!(matches!(e, Refused::Address { .. }), "{e}");
        assert!(e.to_string().starts_with("localhost is "), "{e}");
        let allowed = Policy {
            allow_http: vec![],
            allow: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        };
        let addrs = resolve("localhost", 443, &allowed).await.unwrap();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()));
        use reqwest::dns::Resolve;
        let r = GuardedResolver::new(Arc::new(Policy::default()));
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let err = match r.resolve(name).await {
            Ok(_) => panic!("resolved a loopback name"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("loopback"), "{err}");
    }
}
