//! The HTTP side shared by SMS gateways: one form POST with its failure classified the way the
//! outbox needs it. A refused connection never reached the gateway (transient); a timeout or a
//! connection lost mid-request may have (unknown); 5xx and 429 are the gateway's trouble
//! (transient); 401, 403 and 404 mean the account or the URL is wrong (the channel pauses).

use crate::domain::outbox::Failure;
use std::time::Duration;

/// A gateway's answer: HTTP status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// The body.
    pub body: String,
}

/// Sends a form to `url` and returns a 2xx answer, or the failure.
pub async fn post_form(
    http: &reqwest::Client,
    gateway: &str,
    url: &str,
    form: &[(&str, &str)],
    pause: Duration,
) -> Result<Answer, Failure> {
    let resp = http.post(url).form(form).send().await.map_err(|e| {
        let what = format!("{gateway}: {}", error_chain(&e));
        if e.is_connect() {
            Failure::Transient(what)
        } else {
            Failure::Unknown(what)
        }
    })?;
    let status = resp.status().as_u16();
    let body = resp
        .text()
        .await
        .map_err(|e| Failure::Unknown(format!("{gateway}: the answer broke off: {e}")))?;
    match status {
        200..=299 => Ok(Answer { status, body }),
        401 | 403 | 404 => Err(Failure::Paused {
            reason: format!(
                "{gateway}: HTTP {status} from {url}: check the gateway's url and credentials"
            ),
            retry_after: pause,
        }),
        _ => Err(Failure::Transient(format!(
            "{gateway}: HTTP {status}: {}",
            body.chars().take(200).collect::<String>()
        ))),
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

/// A phone number as gateways want it: digits only (`79123456789`).
pub fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}
