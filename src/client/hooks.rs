//! Client calls of a shop's webhook endpoints.

use super::{Client, ClientError, enc};
use crate::api::dto::{
    WebhookCreated, WebhookDeadList, WebhookDeleted, WebhookEnabled, WebhookIn, WebhookList,
    WebhookReplayed, WebhookSecret, WebhookView,
};
use reqwest::Method;

fn path(shop: &str, id: &str, tail: &str) -> String {
    format!("/v1/shops/{}/webhooks/{}{tail}", enc(shop), enc(id))
}

impl Client {
    /// `POST /v1/shops/{shop}/webhooks`.
    pub async fn add_webhook(
        &self,
        shop: &str,
        req: &WebhookIn,
    ) -> Result<WebhookCreated, ClientError> {
        self.call(
            Method::POST,
            &format!("/v1/shops/{}/webhooks", enc(shop)),
            Some(req),
        )
        .await
    }

    /// `GET /v1/shops/{shop}/webhooks`.
    pub async fn webhooks(&self, shop: &str) -> Result<WebhookList, ClientError> {
        self.call(
            Method::GET,
            &format!("/v1/shops/{}/webhooks", enc(shop)),
            None::<&()>,
        )
        .await
    }

    /// `GET /v1/shops/{shop}/webhooks/{id}`.
    pub async fn webhook(&self, shop: &str, id: &str) -> Result<WebhookView, ClientError> {
        self.call(Method::GET, &path(shop, id, ""), None::<&()>)
            .await
    }

    /// `DELETE /v1/shops/{shop}/webhooks/{id}`.
    pub async fn delete_webhook(
        &self,
        shop: &str,
        id: &str,
    ) -> Result<WebhookDeleted, ClientError> {
        self.call(Method::DELETE, &path(shop, id, ""), None::<&()>)
            .await
    }

    /// `POST /v1/shops/{shop}/webhooks/{id}/rotate`.
    pub async fn rotate_webhook(&self, shop: &str, id: &str) -> Result<WebhookSecret, ClientError> {
        self.call(Method::POST, &path(shop, id, "/rotate"), None::<&()>)
            .await
    }

    /// `POST /v1/shops/{shop}/webhooks/{id}/enable`.
    pub async fn enable_webhook(
        &self,
        shop: &str,
        id: &str,
    ) -> Result<WebhookEnabled, ClientError> {
        self.call(Method::POST, &path(shop, id, "/enable"), None::<&()>)
            .await
    }

    /// `GET /v1/shops/{shop}/webhooks/{id}/dead`.
    pub async fn webhook_dead(&self, shop: &str, id: &str) -> Result<WebhookDeadList, ClientError> {
        self.call(Method::GET, &path(shop, id, "/dead"), None::<&()>)
            .await
    }

    /// `POST /v1/shops/{shop}/webhooks/{id}/replay`.
    pub async fn replay_webhook(
        &self,
        shop: &str,
        id: &str,
    ) -> Result<WebhookReplayed, ClientError> {
        self.call(Method::POST, &path(shop, id, "/replay"), None::<&()>)
            .await
    }
}
