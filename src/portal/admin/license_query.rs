//! The License Keys page's query string: filters, sort and page as typed,
//! turned into the app's listing parameters and back into links that keep them.

use actix_web::{web, HttpRequest};
use serde::Deserialize;

use super::licenses::PER_PAGE;
use crate::app::format;
use crate::app::listing::ListParams;
use crate::domain::Environment;
use crate::portal::PageError;

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    // Read by `env_of`; named here so `deny_unknown_fields` accepts it.
    #[allow(dead_code)]
    pub(super) env: Option<String>,
    pub(super) q: Option<String>,
    pub(super) product_id: Option<String>,
    pub(super) status: Option<String>,
    pub(super) sort: Option<String>,
    pub(super) order: Option<String>,
    pub(super) page: Option<u32>,
    pub(super) format: Option<String>,
    pub(super) expires_from: Option<String>,
    pub(super) expires_to: Option<String>,
    pub(super) created_within: Option<String>,
}

impl ListQuery {
    pub(super) fn params(&self) -> ListParams {
        ListParams {
            q: self.q.clone(),
            product_id: self.product_id.clone(),
            status: self.status.clone(),
            expires_from: self.expires_from.clone(),
            expires_to: self.expires_to.clone(),
            // "Any" is empty; anything else that is not a number is refused.
            created_within: self
                .created_within
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap_or(u32::MAX)),
            sort: self.sort.clone(),
            order: self.order.clone(),
            page: self.page,
            per_page: Some(PER_PAGE),
            ..ListParams::default()
        }
    }
}

impl ListQuery {
    /// This listing's query string (filters, sort) plus `extra`, for links that keep them.
    pub(super) fn url_query(&self, env: Environment, extra: &[(&str, &str)]) -> String {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        let (q, product, status) = (v(&self.q), v(&self.product_id), v(&self.status));
        let (sort, order) = (v(&self.sort), v(&self.order));
        let (ef, et, cw) = (
            v(&self.expires_from),
            v(&self.expires_to),
            v(&self.created_within),
        );
        let mut pairs = vec![
            ("env", env.as_str()),
            ("q", q.as_str()),
            ("product_id", product.as_str()),
            ("status", status.as_str()),
            ("expires_from", ef.as_str()),
            ("expires_to", et.as_str()),
            ("created_within", cw.as_str()),
            ("sort", sort.as_str()),
            ("order", order.as_str()),
        ];
        pairs.extend_from_slice(extra);
        format::query(&pairs)
    }
}

pub(super) fn list_query(req: &HttpRequest) -> Result<ListQuery, PageError> {
    web::Query::<ListQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| PageError::BadRequest(format!("bad query string: {e}")))
}
