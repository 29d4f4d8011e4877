//! Client calls of the shop-side endpoints: file imports, reports, statistics, plans and shop
//! erasure.

use super::{Client, ClientError, decode, enc};
use crate::api::dto::{
    ImportResponse, PlanIn, PlanView, ReportRequest, ReportSummary, ShopErased, StatsView,
};
use reqwest::Method;

impl Client {
    /// `POST /v1/shops/{shop}/parcels/import` with a CSV or XLSX file.
    pub async fn import_file(
        &self,
        shop: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<ImportResponse, ClientError> {
        let r = self
            .raw(
                Method::POST,
                &format!("/v1/shops/{}/parcels/import", enc(shop)),
                Some(bytes),
                Some(content_type),
            )
            .await?;
        decode(r)
    }

    /// `GET /v1/import-template.xlsx`.
    pub async fn import_template(&self) -> Result<Vec<u8>, ClientError> {
        let r = self
            .raw(Method::GET, "/v1/import-template.xlsx", None, None)
            .await?;
        if super::ok(r.status) {
            Ok(r.body)
        } else {
            decode::<Vec<u8>>(r)
        }
    }

    /// `POST /v1/shops/{shop}/report`: builds the report and sends it (unless a dry run).
    pub async fn report(
        &self,
        shop: &str,
        req: &ReportRequest,
    ) -> Result<ReportSummary, ClientError> {
        self.call(
            Method::POST,
            &format!("/v1/shops/{}/report", enc(shop)),
            Some(req),
        )
        .await
    }

    /// `GET /v1/shops/{shop}/report.xlsx` (or `.html`): the report's workbook or page.
    pub async fn report_file(&self, shop: &str, ext: &str) -> Result<Vec<u8>, ClientError> {
        let r = self
            .raw(
                Method::GET,
                &format!("/v1/shops/{}/report.{ext}", enc(shop)),
                None,
                None,
            )
            .await?;
        if super::ok(r.status) {
            Ok(r.body)
        } else {
            decode::<Vec<u8>>(r)
        }
    }

    /// `GET /v1/shops/{shop}/stats` or, without a shop, `GET /v1/stats` (socket only).
    pub async fn stats(
        &self,
        shop: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<StatsView, ClientError> {
        let mut q = Vec::new();
        if let Some(f) = from {
            q.push(format!("from={}", enc(f)));
        }
        if let Some(t) = to {
            q.push(format!("to={}", enc(t)));
        }
        let base = match shop {
            Some(s) => format!("/v1/shops/{}/stats", enc(s)),
            None => "/v1/stats".to_string(),
        };
        let path = if q.is_empty() {
            base
        } else {
            format!("{base}?{}", q.join("&"))
        };
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// `PUT /v1/shops/{shop}/plan` (socket only).
    pub async fn set_plan(&self, shop: &str, plan: &PlanIn) -> Result<PlanView, ClientError> {
        self.call(
            Method::PUT,
            &format!("/v1/shops/{}/plan", enc(shop)),
            Some(plan),
        )
        .await
    }

    /// `DELETE /v1/shops/{shop}` (socket only): the shop and everything of it.
    pub async fn erase_shop(&self, shop: &str) -> Result<ShopErased, ClientError> {
        self.call(
            Method::DELETE,
            &format!("/v1/shops/{}", enc(shop)),
            None::<&()>,
        )
        .await
    }
}
