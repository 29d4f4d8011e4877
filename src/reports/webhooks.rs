//! The morning report's lines about the shop's webhooks in trouble: an endpoint disabled for
//! failing (nothing goes to it until the shop enables it), one that keeps failing, and dead
//! letters waiting to be replayed. Pure: built from what the store says of each endpoint.

use crate::store::EndpointInfo;
use jiff::tz::TimeZone;

fn when(t: jiff::Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%d.%m.%Y %H:%M")
        .to_string()
}

/// One line per endpoint in trouble, in the report's language (Russian).
pub fn notes(shop: &str, endpoints: &[EndpointInfo], tz: &TimeZone) -> Vec<String> {
    endpoints
        .iter()
        .filter_map(|i| {
            let e = &i.endpoint;
            let mut parts = Vec::new();
            if let Some(at) = e.disabled_at {
                parts.push(format!(
                    "отключён {} после суток ошибок; события ждут ({}), включить: parcelctl webhook enable {} {}",
                    when(at, tz),
                    i.queued,
                    shop,
                    e.id
                ));
            } else if let Some(since) = e.failing_since {
                parts.push(format!("ошибки с {}", when(since, tz)));
            }
            if let Some(err) = e.last_error.as_deref().filter(|_| e.failing_since.is_some() || e.disabled_at.is_some()) {
                parts.push(format!("последняя: {err}"));
            }
            if i.dead > 0 {
                parts.push(format!(
                    "не доставлено событий: {} (повторить: parcelctl webhook replay {shop} {})",
                    i.dead, e.id
                ));
            }
            (!parts.is_empty()).then(|| format!("Вебхук {} ({}): {}", e.id, e.url, parts.join("; ")))
        })
        .collect()
}
