//! The client's calls to the notification endpoints: templates, previews, unsubscribing, dead
//! letters and gateway callback URLs.

use super::{Client, ClientError, enc};
use crate::api::dto::*;
use reqwest::Method;

impl Client {
    /// `GET /v1/shops/{shop}/templates`.
    pub async fn templates(&self, shop: &str) -> Result<Vec<TemplateView>, ClientError> {
        self.call(
            Method::GET,
            &format!("/v1/shops/{}/templates", enc(shop)),
            None::<&()>,
        )
        .await
    }

    fn template_path(shop: &str, event: &str, channel: &str) -> String {
        format!(
            "/v1/shops/{}/templates/{}/{}",
            enc(shop),
            enc(event),
            enc(channel)
        )
    }

    /// `GET /v1/shops/{shop}/templates/{event}/{channel}`.
    pub async fn template(
        &self,
        shop: &str,
        event: &str,
        channel: &str,
    ) -> Result<TemplateView, ClientError> {
        self.call(
            Method::GET,
            &Self::template_path(shop, event, channel),
            None::<&()>,
        )
        .await
    }

    /// `PUT /v1/shops/{shop}/templates/{event}/{channel}`.
    pub async fn put_template(
        &self,
        shop: &str,
        event: &str,
        channel: &str,
        source: &str,
    ) -> Result<TemplateView, ClientError> {
        self.call(
            Method::PUT,
            &Self::template_path(shop, event, channel),
            Some(&TemplateIn {
                template: Some(source.to_string()),
            }),
        )
        .await
    }

    /// `DELETE /v1/shops/{shop}/templates/{event}/{channel}`: back to the default.
    pub async fn reset_template(
        &self,
        shop: &str,
        event: &str,
        channel: &str,
    ) -> Result<TemplateView, ClientError> {
        self.call(
            Method::DELETE,
            &Self::template_path(shop, event, channel),
            None::<&()>,
        )
        .await
    }

    /// `POST /v1/shops/{shop}/templates/{event}/{channel}/preview`, of `source` or of the
    /// template in use.
    pub async fn preview_template(
        &self,
        shop: &str,
        event: &str,
        channel: &str,
        source: Option<&str>,
    ) -> Result<PreviewView, ClientError> {
        self.call(
            Method::POST,
            &format!("{}/preview", Self::template_path(shop, event, channel)),
            Some(&TemplateIn {
                template: source.map(str::to_string),
            }),
        )
        .await
    }

    /// `POST /v1/shops/{shop}/parcels/{track}/unsubscribe`.
    pub async fn unsubscribe(
        &self,
        shop: &str,
        track: &str,
        channels: Option<Vec<String>>,
    ) -> Result<UnsubscribeView, ClientError> {
        self.call(
            Method::POST,
            &format!("/v1/shops/{}/parcels/{}/unsubscribe", enc(shop), enc(track)),
            Some(&UnsubscribeIn { channels }),
        )
        .await
    }

    /// `GET /v1/outbox/dead`.
    pub async fn dead_letters(
        &self,
        channel: Option<&str>,
        shop: Option<&str>,
    ) -> Result<DeadLetters, ClientError> {
        let mut q = Vec::new();
        if let Some(c) = channel {
            q.push(format!("channel={}", enc(c)));
        }
        if let Some(s) = shop {
            q.push(format!("shop={}", enc(s)));
        }
        let path = if q.is_empty() {
            "/v1/outbox/dead".to_string()
        } else {
            format!("/v1/outbox/dead?{}", q.join("&"))
        };
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// `POST /v1/outbox/dead/retry`.
    pub async fn retry_dead(&self, req: &RetryDead) -> Result<Requeued, ClientError> {
        self.call(Method::POST, "/v1/outbox/dead/retry", Some(req))
            .await
    }

    /// `GET /v1/sms/callbacks`.
    pub async fn callback_urls(&self) -> Result<CallbackUrls, ClientError> {
        self.call(Method::GET, "/v1/sms/callbacks", None::<&()>)
            .await
    }
}
