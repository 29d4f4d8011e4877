//! The 17TRACK Tracking API v2.2 on the wire: the JSON envelopes of `register`, `gettrackinfo`
//! and `stoptrack`, its error codes, its statuses and sub-statuses mapped to ours, and the
//! webhook push with its `sign` header.
//!
//! Every call answers `{"code": 0, "data": {"accepted": [...], "rejected": [...]}}`, with
//! per-number failures in `rejected`; a failure of the whole call has a non-zero `code` and
//! `data.errors`. Fields are read leniently: anything missing is simply not known.

use crate::carriers::{CarrierError, TrackReport};
use crate::domain::carrier::CarrierId;
use crate::domain::parcel::{CarrierEvent, Office};
use crate::domain::status::Status;
use jiff::Timestamp;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// 17TRACK's carrier code of China Post.
pub const CHINA_POST: i64 = 3011;
/// 17TRACK's carrier code of China EMS.
pub const CHINA_EMS: i64 = 3013;
/// 17TRACK's carrier code of Russian Post.
pub const RUSSIAN_POST: i64 = 18031;

/// The number is already registered.
pub const ALREADY_REGISTERED: i64 = -18019901;
/// The number is not registered yet.
pub const NOT_REGISTERED: i64 = -18019902;
/// No tracking information yet.
pub const NO_INFO_YET: i64 = -18019909;

/// An API error.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ApiError {
    /// Its code.
    pub code: i64,
    /// Its message.
    #[serde(default)]
    pub message: Option<String>,
}

/// A whole answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    /// 0 on success.
    pub code: i64,
    /// The data.
    #[serde(default)]
    pub data: Option<Data>,
}

/// The data of an answer.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Data {
    /// Numbers that were handled.
    #[serde(default)]
    pub accepted: Vec<Accepted>,
    /// Numbers that were refused, each with its error.
    #[serde(default)]
    pub rejected: Vec<Rejected>,
    /// Errors of the whole call.
    #[serde(default)]
    pub errors: Vec<ApiError>,
}

/// A handled number.
#[derive(Debug, Clone, Deserialize)]
pub struct Accepted {
    /// The number.
    pub number: String,
    /// Its tracking information (in `gettrackinfo` and pushes).
    #[serde(default)]
    pub track_info: Option<TrackInfo>,
}

/// A refused number.
#[derive(Debug, Clone, Deserialize)]
pub struct Rejected {
    /// The number.
    pub number: String,
    /// Why.
    #[serde(default)]
    pub error: Option<ApiError>,
}

/// What 17TRACK knows about a number.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct TrackInfo {
    /// The current status.
    #[serde(default)]
    pub latest_status: Option<LatestStatus>,
    /// The newest event.
    #[serde(default)]
    pub latest_event: Option<Event>,
    /// Events by provider.
    #[serde(default)]
    pub tracking: Option<Tracking>,
}

/// Status and sub-status.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct LatestStatus {
    /// Main status (`InTransit`).
    #[serde(default)]
    pub status: Option<String>,
    /// Sub-status (`InTransit_Arrival`).
    #[serde(default)]
    pub sub_status: Option<String>,
}

/// One event.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Event {
    /// Local time with offset.
    #[serde(default)]
    pub time_iso: Option<String>,
    /// UTC time.
    #[serde(default)]
    pub time_utc: Option<String>,
    /// The carrier's words.
    #[serde(default)]
    pub description: Option<String>,
    /// Where, as text.
    #[serde(default)]
    pub location: Option<String>,
    /// Key stage.
    #[serde(default)]
    pub stage: Option<String>,
    /// Sub-status.
    #[serde(default)]
    pub sub_status: Option<String>,
    /// Where, structured.
    #[serde(default)]
    pub address: Option<Address>,
}

/// An event's address.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Address {
    /// Country code.
    #[serde(default)]
    pub country: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub postal_code: Option<String>,
}

/// Events by provider.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Tracking {
    /// The carriers that reported.
    #[serde(default)]
    pub providers: Vec<Provider>,
}

/// One reporting carrier.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Provider {
    /// Which.
    #[serde(default)]
    pub provider: Option<ProviderInfo>,
    /// Its events, newest first.
    #[serde(default)]
    pub events: Vec<Event>,
}

/// A carrier as 17TRACK names it.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct ProviderInfo {
    /// Carrier code.
    #[serde(default)]
    pub key: Option<i64>,
}

/// A push to the webhook.
#[derive(Debug, Clone, Deserialize)]
pub struct Push {
    /// `TRACKING_UPDATED` or `TRACKING_STOPPED`.
    pub event: String,
    /// The number and what is known.
    pub data: Accepted,
}

/// What an API error code means for parceld.
pub fn api_error(e: &ApiError) -> CarrierError {
    let what = format!(
        "17TRACK error {}: {}",
        e.code,
        e.message.as_deref().unwrap_or("no message")
    );
    match e.code {
        -18010001 | -18010002 | -18010004 | -18010005 => CarrierError::Auth(what),
        -18019907 | -18019908 => CarrierError::LimitExhausted(what),
        429 => CarrierError::RateLimited { retry_after: None },
        -18010010 | -18010011 | -18010012 | -18010013 | -18010014 | -18010015 | -18019903
        | -18019910 | -18019911 => CarrierError::Permanent(what),
        _ => CarrierError::Transient(what),
    }
}

/// Reads an answer with its HTTP status; a failure of the whole call is an error.
pub fn envelope(status: u16, body: &str) -> Result<Data, CarrierError> {
    let parsed: Result<Envelope, _> = serde_json::from_str(body);
    let first_error = |env: &Envelope| {
        env.data
            .as_ref()
            .and_then(|d| d.errors.first().cloned())
            .unwrap_or(ApiError {
                code: env.code,
                message: None,
            })
    };
    match (status, parsed) {
        (200, Ok(env)) if env.code == 0 => Ok(env.data.unwrap_or_default()),
        (_, Ok(env)) if env.code != 0 => Err(api_error(&first_error(&env))),
        (401 | 403, _) => Err(CarrierError::Auth(format!(
            "HTTP {status}: {}",
            super::super::http::snippet(body)
        ))),
        (429, _) => Err(CarrierError::RateLimited { retry_after: None }),
        (s, Err(e)) => Err(CarrierError::Transient(format!(
            "HTTP {s}: unreadable answer: {e}"
        ))),
        (s, Ok(_)) => Err(CarrierError::Transient(format!("HTTP {s}"))),
    }
}

/// The status a sub-status (or, without one, a main status) gives; `None` for "not found".
pub fn status_of(sub_status: &str) -> Option<Status> {
    let main = sub_status.split('_').next().unwrap_or(sub_status);
    Some(match (main, sub_status) {
        ("NotFound", _) => return None,
        (_, "InTransit_PickedUp") => Status::Accepted,
        ("InTransit", _) => Status::InTransit,
        ("AvailableForPickup", _) => Status::ArrivedAtPickup,
        ("DeliveryFailure", _) => Status::DeliveryFailed,
        ("Delivered", _) => Status::Delivered,
        (_, "Exception_Returning") => Status::Returning,
        (_, "Exception_Returned") => Status::ReturnedToSender,
        (_, "Exception_Lost" | "Exception_Destroyed" | "Exception_Cancel") => Status::Lost,
        // InfoReceived, OutForDelivery, Expired and the other exceptions change nothing.
        _ => Status::Registered,
    })
}

fn event(e: &Event) -> Option<CarrierEvent> {
    let time = e.time_utc.as_deref().or(e.time_iso.as_deref())?;
    let at: Timestamp = time.trim().parse().ok()?;
    let code = e
        .sub_status
        .clone()
        .or_else(|| e.stage.clone())
        .filter(|c| !c.is_empty())?;
    let status = status_of(&code)?;
    let postal = e
        .address
        .as_ref()
        .and_then(|a| a.postal_code.clone())
        .filter(|p| !p.trim().is_empty());
    let place = e
        .location
        .clone()
        .filter(|l| !l.trim().is_empty())
        .or_else(|| e.address.as_ref().and_then(|a| a.city.clone()));
    let office = (postal.is_some() || place.is_some()).then(|| Office {
        name: place.clone().or_else(|| postal.clone()).unwrap_or_default(),
        index: postal,
        ..Office::default()
    });
    Some(CarrierEvent {
        at,
        status,
        code,
        description: e.description.clone().unwrap_or_default(),
        office,
        storage: None,
        presence: false,
    })
}

/// The report for what 17TRACK knows; with `handoff`, a parcel Russian Post reports on is
/// handed to the Russian Post poller.
pub fn report(info: &TrackInfo, handoff: bool) -> TrackReport {
    let mut events: Vec<CarrierEvent> = Vec::new();
    let providers = info
        .tracking
        .as_ref()
        .map(|t| t.providers.as_slice())
        .unwrap_or_default();
    let all = providers
        .iter()
        .flat_map(|p| p.events.iter())
        .chain(info.latest_event.iter());
    for e in all.filter_map(event) {
        if !events.iter().any(|k| k.same_operation(&e)) {
            events.push(e);
        }
    }
    events.sort_by_key(|e| e.at);
    let with_russian_post = providers
        .iter()
        .any(|p| p.provider.as_ref().and_then(|i| i.key) == Some(RUSSIAN_POST));
    TrackReport {
        events,
        handed_to: (handoff && with_russian_post).then_some(CarrierId::RussianPost),
        ..TrackReport::default()
    }
}

/// Whether 17TRACK's latest status means the journey is over (tracking may stop).
pub fn finished(info: &TrackInfo) -> bool {
    info.latest_status
        .as_ref()
        .and_then(|s| s.sub_status.as_deref().or(s.status.as_deref()))
        .and_then(status_of)
        .is_some_and(Status::is_final)
}

/// 17TRACK's carrier code for a number: China EMS for E…CN, China Post for other …CN, none
/// (auto-detection) otherwise.
pub fn carrier_code(number: &str) -> Option<i64> {
    let n = number.trim();
    if n.len() == 13 && n.ends_with("CN") {
        Some(if n.starts_with('E') {
            CHINA_EMS
        } else {
            CHINA_POST
        })
    } else {
        None
    }
}

/// The `sign` a push must carry: lowercase hex SHA-256 of the raw body, `/` and the API key.
pub fn sign(body: &[u8], key: &str) -> String {
    let mut h = Sha256::new();
    h.update(body);
    h.update(b"/");
    h.update(key.as_bytes());
    hex::encode(h.finalize())
}

/// Whether a push's `sign` header matches its raw body (compared in constant time).
pub fn verify(body: &[u8], key: &str, header: &str) -> bool {
    let want = sign(body, key);
    let got = header.trim().to_ascii_lowercase();
    want.len() == got.len()
        && want
            .bytes()
            .zip(got.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The push of PROTOCOLS §8.15, byte for byte, and its sign.
    const PUSH: &str = r#"{"event":"TRACKING_UPDATED","data":{"number":"RR123456785CN","carrier":3011,"param":null,"tag":"order-1001","track_info":{"latest_status":{"status":"AvailableForPickup","sub_status":"AvailableForPickup_Other","sub_status_descr":null},"latest_event":{"time_iso":"2025-03-12T09:41:00+03:00","time_utc":"2025-03-12T06:41:00Z","description":"Arrived at delivery office","location":"630099, Novosibirsk","stage":"AvailableForPickup","sub_status":"AvailableForPickup_Other"}}}}"#;
    const SIGN: &str = "4e8a9dbf7cc527dbb4fd39486f4ff30c5ebad87fc97b43a2e52eff02b51dc3cc";
    const KEY: &str = "TEST17TOKEN0000000000000000000000";

    #[test]
    fn push_signature_is_checked_over_the_raw_body() {
        assert_eq!(PUSH.len(), 471);
        assert!(verify(PUSH.as_bytes(), KEY, SIGN));
        assert!(verify(PUSH.as_bytes(), KEY, &SIGN.to_uppercase()));
        assert!(!verify(PUSH.as_bytes(), "other key", SIGN));
        let reformatted = PUSH.replace(",\"", ", \"");
        assert!(
            !verify(reformatted.as_bytes(), KEY, SIGN),
            "re-serialised JSON fails"
        );
        assert!(!verify(PUSH.as_bytes(), KEY, ""));
        let push: Push = serde_json::from_str(PUSH).unwrap();
        let r = report(push.data.track_info.as_ref().unwrap(), true);
        assert_eq!(r.events.len(), 1);
        assert_eq!(r.events[0].status, Status::ArrivedAtPickup);
        assert_eq!(
            r.events[0].office.as_ref().unwrap().name,
            "630099, Novosibirsk"
        );
    }

    #[test]
    fn statuses_and_sub_statuses() {
        for (s, want) in [
            ("NotFound_Other", None),
            ("InfoReceived", Some(Status::Registered)),
            ("InTransit_PickedUp", Some(Status::Accepted)),
            ("InTransit_Arrival", Some(Status::InTransit)),
            ("InTransit_CustomsProcessing", Some(Status::InTransit)),
            ("AvailableForPickup_Other", Some(Status::ArrivedAtPickup)),
            ("OutForDelivery_Other", Some(Status::Registered)),
            ("DeliveryFailure_NoBody", Some(Status::DeliveryFailed)),
            ("Delivered_Other", Some(Status::Delivered)),
            ("Exception_Returning", Some(Status::Returning)),
            ("Exception_Returned", Some(Status::ReturnedToSender)),
            ("Exception_Lost", Some(Status::Lost)),
            ("Exception_Destroyed", Some(Status::Lost)),
            ("Exception_Cancel", Some(Status::Lost)),
            ("Exception_Delayed", Some(Status::Registered)),
            ("Expired_Other", Some(Status::Registered)),
            ("Delivered", Some(Status::Delivered)),
        ] {
            assert_eq!(status_of(s), want, "{s}");
        }
    }

    #[test]
    fn errors_are_classified() {
        assert!(matches!(
            envelope(
                401,
                r#"{"code": -18010002, "data": {"errors": [{"code": -18010002, "message": "Invalid security key."}]}}"#
            ),
            Err(CarrierError::Auth(_))
        ));
        assert!(matches!(
            envelope(
                429,
                r#"{"code": 429, "data": {"errors": [{"code": 429, "message": "Too many requests."}]}}"#
            ),
            Err(CarrierError::RateLimited { .. })
        ));
        assert!(matches!(
            envelope(500, "oops"),
            Err(CarrierError::Transient(_))
        ));
        assert!(matches!(
            envelope(200, "{not json"),
            Err(CarrierError::Transient(_))
        ));
        let d = envelope(200, r#"{"code":0,"data":{"accepted":[],"rejected":[{"number":"X","error":{"code":-18019902,"message":"m"}}]}}"#).unwrap();
        assert_eq!(d.rejected[0].error.as_ref().unwrap().code, NOT_REGISTERED);
        assert!(matches!(
            api_error(&ApiError {
                code: -18019908,
                message: None
            }),
            CarrierError::LimitExhausted(_)
        ));
    }

    #[test]
    fn carrier_codes() {
        assert_eq!(carrier_code("RR123456785CN"), Some(CHINA_POST));
        assert_eq!(carrier_code("EE123456785CN"), Some(CHINA_EMS));
        assert_eq!(carrier_code("LK035658376US"), None);
    }

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/carriers/track17")
            .join(name);
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn the_fixtures_map_to_our_statuses() {
        let info = |name: &str| {
            let d = envelope(200, &fixture(name)).unwrap();
            d.accepted[0].track_info.clone().unwrap()
        };
        let last = |r: &TrackReport| r.events.last().map(|e| e.status);
        let r = report(&info("info_received.json"), true);
        assert_eq!(last(&r), Some(Status::Registered));
        let r = report(&info("in_transit.json"), true);
        assert_eq!(r.events.len(), 3, "events of every provider, once each");
        assert_eq!(last(&r), Some(Status::InTransit));
        assert_eq!(r.handed_to, None, "only China Post reports");
        let i = info("available_for_pickup.json");
        let r = report(&i, true);
        assert_eq!(last(&r), Some(Status::ArrivedAtPickup));
        assert_eq!(
            r.handed_to,
            Some(CarrierId::RussianPost),
            "Russian Post reports it"
        );
        assert_eq!(
            r.events[0].office.as_ref().and_then(|o| o.index.as_deref()),
            Some("630099")
        );
        assert_eq!(report(&i, false).handed_to, None);
        assert!(!finished(&i));
        assert!(finished(&info("delivered.json")));
        let r = report(&info("returned.json"), true);
        assert_eq!(last(&r), Some(Status::ReturnedToSender));
        let d = envelope(200, &fixture("not_registered.json")).unwrap();
        assert_eq!(d.rejected[0].error.as_ref().unwrap().code, NOT_REGISTERED);
        assert!(matches!(
            envelope(401, &fixture("bad_key.json")),
            Err(CarrierError::Auth(_))
        ));
        assert!(matches!(
            envelope(429, &fixture("rate_limited.json")),
            Err(CarrierError::RateLimited { .. })
        ));
        let d = envelope(200, &fixture("register.json")).unwrap();
        assert_eq!(d.accepted.len(), 1);
        assert_eq!(
            d.rejected[0].error.as_ref().unwrap().code,
            ALREADY_REGISTERED
        );
    }
}
