//! Request and response bodies of the shops' webhook endpoints.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// `POST /v1/shops/{shop}/webhooks`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// Where events are posted (`https://…`).
    pub url: String,
    /// Event types it wants (`parcel.delivered`, …); absent or empty: every type.
    #[serde(default)]
    pub events: Option<Vec<String>>,
}

/// A new endpoint, with its secret (shown this once).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookCreated {
    /// Its id.
    pub id: String,
    /// Its URL.
    pub url: String,
    /// The event types it gets (empty: every type).
    pub events: Vec<String>,
    /// The signing secret: keep it, it is not shown again.
    pub secret: String,
    /// When it was registered.
    pub created_at: Timestamp,
}

/// One endpoint, without its secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookView {
    /// Its id.
    pub id: String,
    /// Its URL.
    pub url: String,
    /// The event types it gets (empty: every type).
    pub events: Vec<String>,
    /// `enabled` or `disabled`.
    pub state: String,
    /// When it was registered.
    pub created_at: Timestamp,
    /// When it was disabled for failing `webhooks.disable_after`.
    #[serde(default)]
    pub disabled_at: Option<Timestamp>,
    /// Why.
    #[serde(default)]
    pub disabled_reason: Option<String>,
    /// Since when every attempt failed.
    #[serde(default)]
    pub failing_since: Option<Timestamp>,
    /// The last failure.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Until when the secret before the last rotation signs as well.
    #[serde(default)]
    pub previous_secret_until: Option<Timestamp>,
    /// Events waiting to be delivered.
    pub queued: usize,
    /// Dead letters.
    pub dead: usize,
}

/// `GET /v1/shops/{shop}/webhooks`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookList {
    /// The shop's endpoints.
    pub webhooks: Vec<WebhookView>,
}

/// `POST …/webhooks/{id}/rotate`: the new secret (shown this once).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookSecret {
    /// The endpoint.
    pub id: String,
    /// The new secret.
    pub secret: String,
    /// Until when requests carry the old secret's signature as well.
    #[serde(default)]
    pub previous_secret_until: Option<Timestamp>,
}

/// One dead letter of an endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookDeadView {
    /// The event id (the idempotency key).
    pub event_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The parcel.
    pub track: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last answer's status.
    #[serde(default)]
    pub last_status: Option<u16>,
    /// Why it was given up.
    #[serde(default)]
    pub last_error: Option<String>,
    /// When the event happened.
    pub created_at: Timestamp,
    /// The body as it would be sent.
    pub body: String,
}

/// `GET …/webhooks/{id}/dead`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookDeadList {
    /// Dead letters, by parcel and order.
    pub dead: Vec<WebhookDeadView>,
}

/// `POST …/webhooks/{id}/replay`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookReplayed {
    /// Dead letters queued again.
    pub replayed: usize,
}

/// `POST …/webhooks/{id}/enable`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookEnabled {
    /// The endpoint now.
    pub webhook: WebhookView,
    /// Events that waited for it and are due now.
    pub resumed: usize,
}

/// `DELETE …/webhooks/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookDeleted {
    /// The endpoint that went, with everything queued for it.
    pub deleted: String,
}
