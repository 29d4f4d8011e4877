//! SMSC.ru: `POST <url>/sys/send.php` with `login`, `psw`, `phones`, `mes`, `sender`,
//! `charset=utf-8`, `fmt=3` and a client-chosen `id`; status from `<url>/sys/status.php` with
//! `phone` and `id`; pushed reports and replies arrive at the callback as form fields.
//!
//! The client id is derived from the outbox key (1..2147483647), so the same message always has
//! the same id: after a crash or an attempt without an answer, `status.php` tells whether SMSC
//! has it, and it is not sent twice.

use super::http::{digits, post_form};
use super::{Accepted, CallbackEvent, Reply, SmsGateway, SmsMessage};
use crate::config::SmscSettings;
use crate::config::secret::Secret;
use crate::domain::delivery::{DeliveryReport, DeliveryStatus};
use crate::domain::outbox::{Failure, OutboxEntry, OutboxKey};
use crate::notify::{Lookup, Receipt};
use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, RateLimiter};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The SMSC.ru gateway.
pub struct Smsc {
    http: reqwest::Client,
    url: String,
    login: String,
    password: Secret,
    limiter: DefaultDirectRateLimiter,
    pause: Duration,
}

impl Smsc {
    /// A gateway with these settings.
    pub fn new(http: reqwest::Client, s: &SmscSettings, pause: Duration) -> Self {
        Smsc {
            http,
            url: s.url.clone(),
            login: s.login.clone(),
            password: s.password.clone(),
            limiter: RateLimiter::direct(s.rate.quota()),
            pause,
        }
    }

    async fn ask_status(&self, phone: &str, id: &str) -> Result<Value, Failure> {
        let phone = digits(phone);
        let form = [
            ("login", self.login.as_str()),
            ("psw", self.password.expose()),
            ("phone", phone.as_str()),
            ("id", id),
            ("fmt", "3"),
            ("charset", "utf-8"),
        ];
        self.limiter.until_ready().await;
        let url = format!("{}/sys/status.php", self.url);
        let answer = post_form(&self.http, "smsc", &url, &form, self.pause).await?;
        serde_json::from_str(&answer.body)
            .map_err(|_| Failure::Unknown("smsc: the status answer is not JSON".into()))
    }
}

/// The client id of a message: the same for every attempt of one outbox entry.
pub fn client_id(key: &OutboxKey) -> u32 {
    let h = Sha256::digest(key.slug().as_bytes());
    let n = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    1 + n % 2_147_483_646
}

fn int(v: &Value, field: &str) -> Option<i64> {
    match v.get(field)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// What an error code of `send.php` means for the message.
pub fn classify(code: i64, text: &str, pause: Duration) -> Failure {
    let what = format!("smsc: {text} ({code})");
    match code {
        // Login, funds, blocked IP, forbidden sender: the account, not the message.
        2..=4 | 6 => Failure::Paused {
            reason: what,
            retry_after: pause,
        },
        // Bad parameters, bad number, undeliverable number.
        1 | 5 | 7 | 8 => Failure::Permanent(what),
        // 9: the same request within a minute; anything else: try again later.
        _ => Failure::Transient(what),
    }
}

/// Reads the answer to `send.php`.
pub fn parse_send(body: &str, id: u32, pause: Duration) -> Result<Accepted, Failure> {
    let v: Value = serde_json::from_str(body).map_err(|_| {
        Failure::Unknown(format!(
            "smsc: the answer is not JSON: {}",
            body.chars().take(200).collect::<String>()
        ))
    })?;
    if let Some(code) = int(&v, "error_code") {
        let text = v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no reason given");
        return Err(classify(code, text, pause));
    }
    if v.get("id").is_none() {
        return Err(Failure::Unknown(format!("smsc: unexpected answer: {v}")));
    }
    Ok(Accepted {
        id: Some(id.to_string()),
        segments: int(&v, "cnt").and_then(|n| u32::try_from(n).ok()),
    })
}

/// What an SMSC status code means.
pub fn delivery(code: i64) -> DeliveryReport {
    use DeliveryStatus as S;
    match code {
        -1 => DeliveryReport::new(S::Queued),
        0 => DeliveryReport::new(S::InTransit),
        1 | 4 => DeliveryReport::new(S::Delivered),
        2 => DeliveryReport::new(S::Read),
        3 => DeliveryReport::with_detail(S::Expired, "smsc: expired (3)"),
        -2 => DeliveryReport::with_detail(S::Rejected, "smsc: stopped (-2)"),
        20 => DeliveryReport::with_detail(S::Undeliverable, "smsc: undeliverable (20)"),
        22 => DeliveryReport::with_detail(S::Undeliverable, "smsc: bad number (22)"),
        23 => DeliveryReport::with_detail(S::Rejected, "smsc: forbidden (23)"),
        24 => DeliveryReport::with_detail(S::Rejected, "smsc: insufficient funds (24)"),
        25 => DeliveryReport::with_detail(S::Undeliverable, "smsc: unavailable number (25)"),
        -3 => DeliveryReport::new(S::Unknown),
        other => DeliveryReport::with_detail(S::Unknown, format!("smsc: status {other}")),
    }
}

/// Reads a callback: a status report (`id`, `phone`, `status`) or a reply (`phone`, `mes`, and
/// `to`, the number or name it was written to).
pub fn parse_callback(form: &[(String, String)]) -> Vec<CallbackEvent> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim());
    if let (Some(phone), Some(text)) = (get("phone"), get("mes")) {
        return vec![CallbackEvent::Inbound(Reply {
            phone: format!("+{}", digits(phone)),
            text: text.to_string(),
            to: get("to").filter(|t| !t.is_empty()).map(str::to_string),
        })];
    }
    match (get("id"), get("status").and_then(|s| s.parse::<i64>().ok())) {
        (Some(id), Some(code)) => vec![CallbackEvent::Report {
            id: id.to_string(),
            report: delivery(code),
        }],
        _ => Vec::new(),
    }
}

#[async_trait]
impl SmsGateway for Smsc {
    fn name(&self) -> &'static str {
        "smsc"
    }

    fn reports_delivery(&self) -> bool {
        true
    }

    async fn send(&self, msg: &SmsMessage<'_>) -> Result<Accepted, Failure> {
        let id = client_id(msg.key);
        let id_text = id.to_string();
        let phones = digits(msg.phone);
        let mut form = vec![
            ("login", self.login.as_str()),
            ("psw", self.password.expose()),
            ("phones", phones.as_str()),
            ("mes", msg.text),
            ("id", id_text.as_str()),
            ("charset", "utf-8"),
            ("fmt", "3"),
        ];
        if !msg.sender.is_empty() {
            form.push(("sender", msg.sender));
        }
        self.limiter.until_ready().await;
        let url = format!("{}/sys/send.php", self.url);
        let answer = post_form(&self.http, "smsc", &url, &form, self.pause).await?;
        parse_send(&answer.body, id, self.pause)
    }

    async fn find(&self, entry: &OutboxEntry) -> Lookup {
        let id = client_id(&entry.key).to_string();
        match self.ask_status(&entry.recipient, &id).await {
            Ok(v) => match int(&v, "status") {
                Some(-3) => Lookup::NotSent,
                Some(_) => Lookup::Sent(Receipt {
                    provider_id: Some(id),
                    provider: Some("smsc".into()),
                    segments: None,
                    reports: true,
                }),
                None => Lookup::Unknown,
            },
            Err(_) => Lookup::Unknown,
        }
    }

    async fn status(&self, entries: &[OutboxEntry]) -> Vec<(OutboxKey, DeliveryReport)> {
        let mut out = Vec::new();
        for e in entries {
            let Some(id) = &e.provider_id else { continue };
            if let Ok(v) = self.ask_status(&e.recipient, id).await
                && let Some(code) = int(&v, "status")
            {
                out.push((e.key.clone(), delivery(code)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notification::{Channel, NotificationKind};

    const P: Duration = Duration::from_secs(600);

    #[test]
    fn client_ids_are_stable_and_in_range() {
        let k = OutboxKey {
            shop: crate::domain::shop::ShopId::from_trusted("acme"),
            track: crate::domain::track::TrackNumber::from_trusted("T"),
            parcel_id: 1,
            kind: NotificationKind::Arrived,
            occurrence: 1,
            channel: Channel::Sms,
        };
        let a = client_id(&k);
        assert_eq!(a, client_id(&k.clone()));
        assert!((1..=2_147_483_647).contains(&a));
        let mut k2 = k.clone();
        k2.occurrence = 2;
        assert_ne!(a, client_id(&k2));
    }

    #[test]
    fn answers() {
        assert_eq!(
            parse_send(r#"{"id":77,"cnt":2}"#, 77, P),
            Ok(Accepted {
                id: Some("77".into()),
                segments: Some(2)
            })
        );
        let e = |code: i64| {
            parse_send(
                &format!(r#"{{"error":"x","error_code":{code},"id":5}}"#),
                5,
                P,
            )
            .unwrap_err()
        };
        assert!(matches!(e(2), Failure::Paused { .. }));
        assert!(matches!(e(3), Failure::Paused { .. }));
        assert!(matches!(e(7), Failure::Permanent(_)));
        assert!(matches!(e(9), Failure::Transient(_)));
        assert!(matches!(
            parse_send("OK - 1 SMS", 1, P),
            Err(Failure::Unknown(_))
        ));
    }

    #[test]
    fn callbacks() {
        let f = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let ev = parse_callback(&f(&[
            ("id", "77"),
            ("phone", "79123456789"),
            ("status", "1"),
        ]));
        assert!(
            matches!(&ev[0], CallbackEvent::Report { id, report } if id == "77" && report.status == DeliveryStatus::Delivered)
        );
        let ev = parse_callback(&f(&[("phone", "79123456789"), ("mes", "STOP")]));
        assert_eq!(
            ev,
            vec![CallbackEvent::Inbound(Reply {
                phone: "+79123456789".into(),
                text: "STOP".into(),
                to: None,
            })]
        );
        let ev = parse_callback(&f(&[
            ("phone", "+7 912 345-67-89"),
            ("mes", " Стоп "),
            ("to", "Acme"),
        ]));
        assert_eq!(
            ev,
            vec![CallbackEvent::Inbound(Reply {
                phone: "+79123456789".into(),
                text: "Стоп".into(),
                to: Some("Acme".into()),
            })]
        );
        assert!(parse_callback(&f(&[("x", "1")])).is_empty());
    }
}
