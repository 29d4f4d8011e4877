//! Shops: creating, changing, showing and erasing them.

use super::Field;
use crate::domain::shop::Language;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// `POST /v1/shops`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateShop {
    /// The shop's id (`a-z0-9_-`).
    pub id: String,
    /// Its name as customers know it.
    pub name: String,
    /// Where reports and alerts go.
    #[serde(default)]
    pub report_email: Option<String>,
    /// IANA time zone; the daemon's when absent.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Phone for customers.
    #[serde(default)]
    pub phone: Option<String>,
    /// Default message language.
    #[serde(default)]
    pub language: Option<Language>,
    /// The SMS gateway for this shop's messages (`smsru`, `smsc`, `file`); the config's when
    /// absent. An empty string returns to the config's.
    #[serde(default)]
    pub sms_provider: Option<String>,
    /// The sender name on its SMS (as registered with the gateway); empty removes it.
    #[serde(default)]
    pub sms_sender: Option<String>,
    /// Its tracking page, `{track}` standing for the track number; empty removes it.
    #[serde(default)]
    pub tracking_url: Option<String>,
    /// Where customers leave a review; empty removes it.
    #[serde(default)]
    pub review_url: Option<String>,
    /// How long offices keep the shop's parcels, in days, when its contract with the post sets
    /// its own period; the config's table by mail type when absent or `null`.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub storage_days: Field<u16>,
}

/// The answer to `POST /v1/shops`: the only time the token is shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShopCreated {
    /// The shop's id.
    pub id: String,
    /// Its API token for the TCP listener.
    pub token: String,
}

/// `PATCH /v1/shops/{shop}`: fields to change; `rotate_token` issues a new token.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchShop {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New report address (empty string removes it).
    #[serde(default)]
    pub report_email: Option<String>,
    /// New time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// New phone (empty string removes it).
    #[serde(default)]
    pub phone: Option<String>,
    /// New language.
    #[serde(default)]
    pub language: Option<Language>,
    /// Issue a new token (the old one stops working).
    #[serde(default)]
    pub rotate_token: bool,
    /// When the morning report goes out, `HH:MM` in the shop's time zone (empty string: the
    /// daemon's default).
    #[serde(default)]
    pub report_at: Option<String>,
    /// The SMS gateway for this shop's messages (`smsru`, `smsc`, `file`); the config's when
    /// absent. An empty string returns to the config's.
    #[serde(default)]
    pub sms_provider: Option<String>,
    /// The sender name on its SMS (as registered with the gateway); empty removes it.
    #[serde(default)]
    pub sms_sender: Option<String>,
    /// Its tracking page, `{track}` standing for the track number; empty removes it.
    #[serde(default)]
    pub tracking_url: Option<String>,
    /// Where customers leave a review; empty removes it.
    #[serde(default)]
    pub review_url: Option<String>,
    /// How long offices keep the shop's parcels, in days; `null` returns to the config's table
    /// by mail type. Deadlines of parcels waiting now are worked out again.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub storage_days: Field<u16>,
    /// The accent colour of its customers' tracking page, `#RRGGBB`; empty removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_color: Option<String>,
    /// Its logo on the tracking page, an `https://` URL of the image; empty removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
}

/// A shop as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShopView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Report address.
    pub report_email: Option<String>,
    /// Time zone.
    pub timezone: String,
    /// Phone.
    pub phone: Option<String>,
    /// Language.
    pub language: Language,
    /// Created.
    pub created_at: Timestamp,
    /// When the morning report goes out (`HH:MM`, the shop's time zone).
    #[serde(default)]
    pub report_at: Option<String>,
    /// The plan's name.
    #[serde(default)]
    pub plan: Option<String>,
    /// Its SMS gateway, when it chose one.
    #[serde(default)]
    pub sms_provider: Option<String>,
    /// Its SMS sender name, when it has one.
    #[serde(default)]
    pub sms_sender: Option<String>,
    /// Its tracking page.
    #[serde(default)]
    pub tracking_url: Option<String>,
    /// Its review page.
    #[serde(default)]
    pub review_url: Option<String>,
    /// Its own storage period in days, if it set one.
    #[serde(default)]
    pub storage_days: Option<u16>,
    /// The accent colour of its tracking page, `#rrggbb`.
    #[serde(default)]
    pub brand_color: Option<String>,
    /// Its logo on the tracking page.
    #[serde(default)]
    pub logo_url: Option<String>,
    /// Set only when `rotate_token` was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// `DELETE /v1/shops/{shop}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShopErased {
    /// The shop.
    pub erased: String,
    /// Parcels erased with it.
    pub parcels: usize,
}
