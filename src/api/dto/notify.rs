//! Request and response bodies of the notification endpoints: shop templates and their
//! previews, unsubscribing, dead letters and gateway callbacks.

use super::ErrorDetail;
use crate::notify::render::segments::Segments;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `PUT /v1/shops/{shop}/templates/{event}/{channel}`, and optionally the body of `POST …/preview`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TemplateIn {
    /// The minijinja source. For a preview, leave it out to preview the saved (or default) one.
    #[serde(default)]
    pub template: Option<String>,
}

/// One template of a shop.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TemplateView {
    /// The event (`arrived`, `last_reminder`, …).
    pub event: String,
    /// The part (`sms`, `email_subject`, `email_text`, `email_html`).
    pub channel: String,
    /// Whether it is the shop's own (else the default in the shop's language).
    pub custom: bool,
    /// The source.
    pub template: String,
    /// When the shop saved it.
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// Rendered with a sample parcel (answers to a save).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// What the sample SMS costs (answers to a save of an SMS template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<Segments>,
}

/// `POST …/preview`: the whole message rendered with a sample parcel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PreviewView {
    /// The event.
    pub event: String,
    /// The part asked about.
    pub channel: String,
    /// The SMS text (SMS templates).
    #[serde(default)]
    pub sms: Option<String>,
    /// What the SMS costs.
    #[serde(default)]
    pub segments: Option<Segments>,
    /// The e-mail subject (e-mail templates).
    #[serde(default)]
    pub subject: Option<String>,
    /// The e-mail's text part.
    #[serde(default)]
    pub text: Option<String>,
    /// The e-mail's HTML part.
    #[serde(default)]
    pub html: Option<String>,
}

/// A template refused: the usual error body plus where and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TemplateErrorBody {
    /// The error (`invalid_template`, field `template`).
    pub error: ErrorDetail,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub reason: String,
}

/// `POST /v1/shops/{shop}/parcels/{track}/unsubscribe`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UnsubscribeIn {
    /// The channels (`sms`, `email`); both when absent.
    #[serde(default)]
    pub channels: Option<Vec<String>>,
}

/// What unsubscribing did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UnsubscribeView {
    /// The parcel's track number.
    pub track: String,
    /// Channels now unsubscribed.
    pub unsubscribed: Vec<String>,
    /// Unsent messages withdrawn.
    pub cancelled: usize,
}

/// One dead letter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeadLetterView {
    /// The shop.
    pub shop: String,
    /// The track number.
    pub track: String,
    /// The event.
    pub kind: String,
    /// Which occurrence.
    pub occurrence: u32,
    /// Channel.
    pub channel: String,
    /// Recipient, masked.
    pub recipient: String,
    /// Attempts made.
    pub attempts: u32,
    /// Why it was given up.
    pub last_error: Option<String>,
    /// The gateway it went to.
    pub provider: Option<String>,
    /// When it was queued.
    pub created_at: Timestamp,
}

/// `GET /v1/outbox/dead`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeadLetters {
    /// Oldest first.
    pub dead: Vec<DeadLetterView>,
}

/// `POST /v1/outbox/dead/retry`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RetryDead {
    /// Only this channel.
    #[serde(default)]
    pub channel: Option<String>,
    /// Only this shop.
    #[serde(default)]
    pub shop: Option<String>,
}

/// The answer to a retry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Requeued {
    /// Dead letters queued again.
    pub requeued: usize,
}

/// `GET /v1/sms/callbacks`: the URL to register at each gateway, by gateway.
pub type CallbackUrls = BTreeMap<String, String>;
