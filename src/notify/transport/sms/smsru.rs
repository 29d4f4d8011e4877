//! SMS.ru: `POST <url>/sms/send` with `api_id`, `to`, `msg`, `from`, `json=1`; delivery reports
//! from `POST <url>/sms/status` (up to 100 ids a request) or pushed to the callback, with the
//! replies from phones (`data[]` entries, one per event, lines separated by `\n`, the first
//! naming the event: `sms_status\n<id>\n<code>[\n<time>]`, or [`INBOUND`]; answered with `100`).
//!
//! The layout of a reply's entry (see [`INBOUND`]) follows the status entry's pattern; the public
//! material at hand names only the status and call-check entries, so it is not confirmed
//! against SMS.ru's own description and lives in this one place.
//!
//! SMS.ru takes no client id, so after a crash it cannot tell whether it has a message: those
//! go out again and are counted as doubtful resends. Its duplicate guard (codes 231 and 232: the
//! same text to the same number within a minute or a day) does answer that question when it
//! fires, so those codes count as "already accepted".

use super::http::{digits, post_form};
use super::{Accepted, CallbackEvent, Reply, SmsGateway, SmsMessage};
use crate::config::SmsRuSettings;
use crate::config::secret::Secret;
use crate::domain::delivery::{DeliveryReport, DeliveryStatus};
use crate::domain::outbox::{Failure, OutboxEntry, OutboxKey};
use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, RateLimiter};
use serde_json::Value;
use std::time::Duration;

/// The SMS.ru gateway.
pub struct SmsRu {
    http: reqwest::Client,
    url: String,
    api_id: Secret,
    test: bool,
    limiter: DefaultDirectRateLimiter,
    pause: Duration,
}

impl SmsRu {
    /// A gateway with these settings.
    pub fn new(http: reqwest::Client, s: &SmsRuSettings, pause: Duration) -> Self {
        SmsRu {
            http,
            url: s.url.clone(),
            api_id: s.api_id.clone(),
            test: s.test,
            limiter: RateLimiter::direct(s.rate.quota()),
            pause,
        }
    }
}

/// What a request-level or per-number status code means for the message.
pub fn classify(code: i64, text: &str, pause: Duration) -> Failure {
    let what = format!("smsru: {text} ({code})");
    match code {
        // Credentials, funds, sender name, account limits: the account, not the message.
        200 | 201 | 204 | 206 | 300 | 301 | 302 => Failure::Paused {
            reason: what,
            retry_after: pause,
        },
        // The number or the text: trying again will not help.
        202 | 203 | 205 | 207 | 208 | 209 | 212 | 213 | 214 | 215 | 216 | 233 => {
            Failure::Permanent(what)
        }
        _ => Failure::Transient(what),
    }
}

fn code_of(v: &Value) -> i64 {
    match v.get("status_code") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

fn text_of(v: &Value) -> String {
    v.get("status_text")
        .and_then(Value::as_str)
        .unwrap_or("no reason given")
        .to_string()
}

fn id_of(v: &Value) -> Option<String> {
    match v.get("sms_id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads the answer to `sms/send` for the number `phone` (digits).
pub fn parse_send(body: &str, phone: &str, pause: Duration) -> Result<Accepted, Failure> {
    let v: Value = serde_json::from_str(body).map_err(|_| {
        Failure::Unknown(format!(
            "smsru: the answer is not JSON: {}",
            body.chars().take(200).collect::<String>()
        ))
    })?;
    if v.get("status").and_then(Value::as_str) != Some("OK") {
        return Err(classify(code_of(&v), &text_of(&v), pause));
    }
    let Some(numbers) = v.get("sms").and_then(Value::as_object) else {
        return Err(Failure::Unknown("smsru: the answer names no number".into()));
    };
    // Keys may come without "+" or with spaces.
    let mine = numbers
        .iter()
        .find(|(k, _)| digits(k) == phone)
        .or_else(|| {
            (numbers.len() == 1)
                .then(|| numbers.iter().next())
                .flatten()
        })
        .map(|(_, v)| v);
    let Some(n) = mine else {
        return Err(Failure::Unknown(format!(
            "smsru: the answer does not mention {phone}"
        )));
    };
    if n.get("status").and_then(Value::as_str) == Some("OK") {
        return Ok(Accepted {
            id: id_of(n),
            segments: None,
        });
    }
    match code_of(n) {
        // The duplicate guard: an identical text to this number was accepted moments ago.
        231 | 232 => Ok(Accepted::default()),
        code => Err(classify(code, &text_of(n), pause)),
    }
}

/// What an SMS.ru delivery code means.
pub fn delivery(code: i64) -> DeliveryReport {
    use DeliveryStatus as S;
    match code {
        100 => DeliveryReport::new(S::Queued),
        101 | 102 => DeliveryReport::new(S::InTransit),
        103 => DeliveryReport::new(S::Delivered),
        110 => DeliveryReport::new(S::Read),
        104 => DeliveryReport::with_detail(S::Expired, "smsru: lifetime expired (104)"),
        105 => DeliveryReport::with_detail(S::Rejected, "smsru: deleted by the operator (105)"),
        106 => DeliveryReport::with_detail(S::Undeliverable, "smsru: phone failure (106)"),
        107 => DeliveryReport::with_detail(S::Undeliverable, "smsru: unknown reason (107)"),
        108 => DeliveryReport::with_detail(S::Rejected, "smsru: rejected (108)"),
        150 => DeliveryReport::with_detail(S::Undeliverable, "smsru: no route (150)"),
        -1 => DeliveryReport::new(S::Unknown),
        other => DeliveryReport::with_detail(S::Unknown, format!("smsru: status {other}")),
    }
}

/// Reads the answer to `sms/status`: a report per message id.
pub fn parse_status(body: &str) -> Vec<(String, DeliveryReport)> {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    v.get("sms")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, s)| s.get("status").and_then(Value::as_str) == Some("OK"))
                .map(|(id, s)| (id.clone(), delivery(code_of(s))))
                .collect()
        })
        .unwrap_or_default()
}

/// The first line of a callback entry that carries a reply from a phone. The entry's lines:
/// this name, SMS.ru's id of the reply, the phone it came from, the number or sender name it
/// was written to, the unix time, then the text (which may run over several lines).
pub const INBOUND: &str = "sms_incoming";

/// Reads a callback: every `data[…]` field is one event, a delivery report
/// (`sms_status\n<id>\n<code>[\n<time>]`) or a reply ([`INBOUND`]); others are skipped.
pub fn parse_callback(form: &[(String, String)]) -> Vec<CallbackEvent> {
    form.iter()
        .filter(|(k, _)| k.starts_with("data"))
        .filter_map(|(_, v)| {
            let mut lines = v.split('\n').map(|l| l.trim_end_matches('\r'));
            match lines.next()?.trim() {
                "sms_status" => {
                    let id = lines.next()?.trim().to_string();
                    let code: i64 = lines.next()?.trim().parse().ok()?;
                    Some(CallbackEvent::Report {
                        id,
                        report: delivery(code),
                    })
                }
                INBOUND => {
                    let _id = lines.next()?;
                    let phone = digits(lines.next()?);
                    let to = lines.next()?.trim();
                    let _time = lines.next()?;
                    let text = lines.collect::<Vec<_>>().join("\n");
                    (!phone.is_empty()).then(|| {
                        CallbackEvent::Inbound(Reply {
                            phone: format!("+{phone}"),
                            text: text.trim().to_string(),
                            to: (!to.is_empty()).then(|| to.to_string()),
                        })
                    })
                }
                _ => None,
            }
        })
        .collect()
}

#[async_trait]
impl SmsGateway for SmsRu {
    fn name(&self) -> &'static str {
        "smsru"
    }

    fn reports_delivery(&self) -> bool {
        true
    }

    async fn send(&self, msg: &SmsMessage<'_>) -> Result<Accepted, Failure> {
        let to = digits(msg.phone);
        let mut form = vec![
            ("api_id", self.api_id.expose()),
            ("to", to.as_str()),
            ("msg", msg.text),
            ("json", "1"),
        ];
        if !msg.sender.is_empty() {
            form.push(("from", msg.sender));
        }
        if self.test {
            form.push(("test", "1"));
        }
        self.limiter.until_ready().await;
        let url = format!("{}/sms/send", self.url);
        let answer = post_form(&self.http, "smsru", &url, &form, self.pause).await?;
        parse_send(&answer.body, &to, self.pause)
    }

    async fn status(&self, entries: &[OutboxEntry]) -> Vec<(OutboxKey, DeliveryReport)> {
        let mut out = Vec::new();
        let with_id: Vec<(&str, &OutboxEntry)> = entries
            .iter()
            .filter_map(|e| e.provider_id.as_deref().map(|id| (id, e)))
            .collect();
        for chunk in with_id.chunks(100) {
            let ids: Vec<&str> = chunk.iter().map(|(id, _)| *id).collect();
            let ids = ids.join(",");
            let form = [
                ("api_id", self.api_id.expose()),
                ("sms_id", ids.as_str()),
                ("json", "1"),
            ];
            self.limiter.until_ready().await;
            let url = format!("{}/sms/status", self.url);
            let Ok(answer) = post_form(&self.http, "smsru", &url, &form, self.pause).await else {
                continue;
            };
            for (id, report) in parse_status(&answer.body) {
                if let Some((_, e)) = chunk.iter().find(|(x, _)| *x == id) {
                    out.push((e.key.clone(), report));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_secs(600);

    #[test]
    fn accepted_with_its_id_even_when_the_key_has_no_plus() {
        let body = r#"{"status":"OK","status_code":100,"sms":{"79123456789":{"status":"OK","status_code":100,"sms_id":"000000-10000000"}},"balance":"10.5"}"#;
        assert_eq!(
            parse_send(body, "79123456789", P),
            Ok(Accepted {
                id: Some("000000-10000000".into()),
                segments: None
            })
        );
        let spaced = r#"{"status":"OK","sms":{"7 912 345-67-89":{"status":"OK","sms_id":42}}}"#;
        assert_eq!(
            parse_send(spaced, "79123456789", P).unwrap().id.as_deref(),
            Some("42")
        );
    }

    #[test]
    fn per_number_errors_inside_an_ok_answer() {
        let body = r#"{"status":"OK","status_code":100,"sms":{"79123456789":{"status":"ERROR","status_code":207,"status_text":"no route"}}}"#;
        assert!(
            matches!(parse_send(body, "79123456789", P), Err(Failure::Permanent(m)) if m.contains("no route (207)"))
        );
        let dup = r#"{"status":"OK","sms":{"79123456789":{"status":"ERROR","status_code":231}}}"#;
        assert_eq!(parse_send(dup, "79123456789", P), Ok(Accepted::default()));
    }

    #[test]
    fn request_errors_are_classified() {
        let e = |code: i64| {
            parse_send(
                &format!(r#"{{"status":"ERROR","status_code":{code},"status_text":"x"}}"#),
                "7",
                P,
            )
            .unwrap_err()
        };
        assert!(matches!(e(200), Failure::Paused { .. }), "bad api_id");
        assert!(matches!(e(201), Failure::Paused { .. }), "no funds");
        assert!(
            matches!(e(204), Failure::Paused { .. }),
            "sender not approved"
        );
        assert!(matches!(e(202), Failure::Permanent(_)), "bad recipient");
        assert!(matches!(e(220), Failure::Transient(_)), "unavailable");
        assert!(matches!(e(500), Failure::Transient(_)));
        assert!(matches!(
            parse_send("<html>", "7", P),
            Err(Failure::Unknown(_))
        ));
    }

    #[test]
    fn reports_polled_and_pushed() {
        let body = r#"{"status":"OK","status_code":100,"balance":4122.56,"sms":{"000000-000001":{"status":"OK","status_code":103,"cost":0.50},"000000-000002":{"status":"OK","status_code":102},"x":{"status":"ERROR","status_code":-1}}}"#;
        let mut r = parse_status(body);
        r.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].1.status, DeliveryStatus::Delivered);
        assert_eq!(r[1].1.status, DeliveryStatus::InTransit);
        let form = vec![
            (
                "data[]".to_string(),
                "sms_status\n000000-000001\n103\n1700000000".to_string(),
            ),
            (
                "data[]".to_string(),
                "sms_status\n000000-000002\n106".to_string(),
            ),
            ("data[]".to_string(), "something_else\n1".to_string()),
        ];
        let ev = parse_callback(&form);
        assert_eq!(ev.len(), 2);
        assert!(
            matches!(&ev[1], CallbackEvent::Report { id, report } if id == "000000-000002" && report.status == DeliveryStatus::Undeliverable)
        );
    }

    #[test]
    fn replies_pushed_with_their_sender_name() {
        let entry = |v: &str| vec![("data[0]".to_string(), v.to_string())];
        assert_eq!(
            parse_callback(&entry(
                "sms_incoming\n201-77\n79123456789\nAcme\n1798794000\nСТОП"
            )),
            vec![CallbackEvent::Inbound(Reply {
                phone: "+79123456789".into(),
                text: "СТОП".into(),
                to: Some("Acme".into()),
            })]
        );
        // The text may run over several lines; no name it was written to.
        assert_eq!(
            parse_callback(&entry(
                "sms_incoming\r\n201-78\r\n+7 912 345-67-89\r\n\r\n1798794000\r\nстоп\r\nпожалуйста"
            )),
            vec![CallbackEvent::Inbound(Reply {
                phone: "+79123456789".into(),
                text: "стоп\nпожалуйста".into(),
                to: None,
            })]
        );
        assert!(parse_callback(&entry("sms_incoming\n201-79\n79123456789")).is_empty());
        assert!(parse_callback(&entry("sms_incoming\n201-80\n\nAcme\n1\nstop")).is_empty());
    }
}
