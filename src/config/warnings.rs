//! Settings that are valid but probably not what the operator meant: the daemon logs each as a
//! WARN line at start, and `parceld check-config` prints them. Each names its key and says why.

use super::{EmailTransport, Settings, SmsTransport};
use std::net::IpAddr;

impl Settings {
    /// What looks wrong in these settings, one sentence each.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let real = self.real_transports();
        if !real.is_empty()
            && let Some(host) = unreachable_host(&self.api.public_url)
        {
            out.push(format!(
                "api.public_url ({}) points at {host}, a loopback address: customers cannot \
                 open the unsubscribe links in messages sent through {}, nor can SMS gateways \
                 reach their callback URLs; set it to the address customers reach the shops' \
                 listener at",
                self.api.public_url,
                real.join(", ")
            ));
        }
        out
    }

    /// The configured transports that reach real customers: SMTP, SMS gateways other than the
    /// file.
    fn real_transports(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if let Some(e) = &self.email
            && matches!(e.transport, EmailTransport::Smtp(_))
        {
            out.push("smtp");
        }
        if let Some(s) = &self.sms {
            out.extend(
                SmsTransport::ALL
                    .into_iter()
                    .filter(|t| *t != SmsTransport::File && s.has(*t))
                    .map(SmsTransport::as_str),
            );
        }
        out
    }
}

/// The host of a URL if it names this machine only (`localhost`, `127.0.0.1`, `[::1]`).
fn unreachable_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    let lower = host.to_ascii_lowercase();
    let loopback = lower == "localhost"
        || lower.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| match ip {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        });
    loopback.then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn loopback_hosts_are_recognised() {
        for url in [
            "http://127.0.0.1:8787",
            "http://localhost:8787/x",
            "https://LOCALHOST",
            "http://[::1]:8787",
            "http://user@127.0.0.2/",
            "http://shop.localhost",
        ] {
            assert!(unreachable_host(url).is_some(), "{url}");
        }
        for url in [
            "https://track.example.ru",
            "http://10.0.0.5:8787",
            "http://[2001:db8::1]:80",
            "https://localhost.example.ru",
        ] {
            assert_eq!(unreachable_host(url), None, "{url}");
        }
    }

    #[test]
    fn a_loopback_public_url_is_warned_about_only_with_real_transports() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        std::fs::write(&key, "k").unwrap();
        let parse = |s: &str| super::super::parse(s, Path::new("t.toml")).unwrap();
        let files = parse("[api]\npublic_url = \"http://127.0.0.1:8787\"\n");
        assert!(files.warnings().is_empty(), "{:?}", files.warnings());
        let smsru = format!(
            "[api]\npublic_url = \"http://127.0.0.1:8787\"\n[sms.smsru]\napi_id_file = {:?}\n",
            key.display().to_string()
        );
        let w = parse(&smsru).warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("api.public_url (http://127.0.0.1:8787)") && w[0].contains("smsru"),
            "{w:?}"
        );
        let smtp = parse(
            "[api]\npublic_url = \"http://localhost\"\n[email]\ntransport = \"smtp\"\n[email.smtp]\nhost = \"mx\"\n",
        );
        assert!(smtp.warnings()[0].contains("smtp"), "{:?}", smtp.warnings());
        let public = parse(&smsru.replace("http://127.0.0.1:8787", "https://t.example.ru"));
        assert!(public.warnings().is_empty());
    }
}
