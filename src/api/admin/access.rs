//! Which right each admin API route needs (issue 14 part 2): one table, read by
//! the [`super::AdminToken`] extractor for every route. A route missing here
//! needs the owner token, so a route added without thinking about keys is
//! closed to them rather than open.

use actix_web::http::Method;

use crate::domain::api_key::{Need, Permission as P};

/// The admin API's scope; patterns below are relative to it.
pub const SCOPE: &str = "/admin/api/v1";

/// (method, route pattern under [`SCOPE`], what it needs).
pub const ROUTES: &[(&str, &str, Need)] = &[
    ("GET", "/customers", Need::Permission(P::CustomersRead)),
    ("POST", "/customers", Need::Permission(P::CustomersWrite)),
    ("GET", "/customers/{id}", Need::Permission(P::CustomersRead)),
    (
        "PATCH",
        "/customers/{id}",
        Need::Permission(P::CustomersWrite),
    ),
    (
        "DELETE",
        "/customers/{id}",
        Need::Permission(P::CustomersWrite),
    ),
    ("POST", "/token/rotate", Need::Owner),
    ("POST", "/{env}/signing-keys/rotate", Need::Owner),
    ("GET", "/backup", Need::Owner),
    ("GET", "/api-keys", Need::Owner),
    ("POST", "/api-keys", Need::Owner),
    ("DELETE", "/api-keys/{id}", Need::Owner),
    ("GET", "/contracts", Need::Owner),
    ("POST", "/contracts", Need::Owner),
    ("DELETE", "/contracts/{id}", Need::Owner),
    ("GET", "/outbox", Need::Permission(P::AuditRead)),
    ("GET", "/{env}/products", Need::Permission(P::ProductsRead)),
    (
        "POST",
        "/{env}/products",
        Need::Permission(P::ProductsWrite),
    ),
    (
        "GET",
        "/{env}/products/{id}",
        Need::Permission(P::ProductsRead),
    ),
    (
        "PATCH",
        "/{env}/products/{id}",
        Need::Permission(P::ProductsWrite),
    ),
    (
        "POST",
        "/{env}/products/{id}/revoke-all",
        Need::Permission(P::LicensesWrite),
    ),
    (
        "GET",
        "/{env}/generators",
        Need::Permission(P::ProductsRead),
    ),
    (
        "POST",
        "/{env}/generators",
        Need::Permission(P::ProductsWrite),
    ),
    ("GET", "/{env}/licenses", Need::Permission(P::LicensesRead)),
    (
        "POST",
        "/{env}/licenses",
        Need::Permission(P::LicensesWrite),
    ),
    (
        "POST",
        "/{env}/licenses/bulk",
        Need::Permission(P::LicensesWrite),
    ),
    (
        "GET",
        "/{env}/licenses/export",
        Need::Permission(P::LicensesRead),
    ),
    (
        "GET",
        "/{env}/licenses/{key}",
        Need::Permission(P::LicensesRead),
    ),
    (
        "PATCH",
        "/{env}/licenses/{key}",
        Need::Permission(P::LicensesWrite),
    ),
    (
        "DELETE",
        "/{env}/licenses/{key}",
        Need::Permission(P::LicensesWrite),
    ),
    (
        "GET",
        "/{env}/licenses/{key}/activations",
        Need::Permission(P::LicensesRead),
    ),
    (
        "POST",
        "/{env}/licenses/{key}/assign",
        Need::Permission(P::LicensesWrite),
    ),
    (
        "POST",
        "/{env}/licenses/{key}/resend-key",
        Need::Permission(P::LicensesWrite),
    ),
    (
        "POST",
        "/{env}/licenses/{key}/actions/{action}",
        Need::Permission(P::LicensesWrite),
    ),
    (
        "POST",
        "/{env}/licenses/{key}/deactivate",
        Need::Permission(P::LicensesWrite),
    ),
    (
        "GET",
        "/{env}/licenses/{key}/offline",
        Need::Permission(P::LicensesRead),
    ),
    (
        "GET",
        "/{env}/abuse-cases",
        Need::Permission(P::LicensesRead),
    ),
    (
        "POST",
        "/{env}/licenses/{key}/abuse-case/review",
        Need::Permission(P::LicensesWrite),
    ),
    (
        "POST",
        "/{env}/webhooks",
        Need::Permission(P::WebhooksManage),
    ),
    (
        "GET",
        "/{env}/webhooks",
        Need::Permission(P::WebhooksManage),
    ),
    (
        "GET",
        "/{env}/webhooks/{id}",
        Need::Permission(P::WebhooksManage),
    ),
    (
        "PATCH",
        "/{env}/webhooks/{id}",
        Need::Permission(P::WebhooksManage),
    ),
    (
        "DELETE",
        "/{env}/webhooks/{id}",
        Need::Permission(P::WebhooksManage),
    ),
    (
        "POST",
        "/{env}/webhooks/{id}/rotate-secret",
        Need::Permission(P::WebhooksManage),
    ),
    (
        "POST",
        "/{env}/webhooks/{id}/test",
        Need::Permission(P::WebhooksManage),
    ),
    (
        "GET",
        "/{env}/webhooks/{id}/deliveries",
        Need::Permission(P::WebhooksManage),
    ),
    (
        "POST",
        "/{env}/webhooks/{id}/deliveries/{delivery_id}/retry",
        Need::Permission(P::WebhooksManage),
    ),
    ("GET", "/{env}/audit", Need::Permission(P::AuditRead)),
    (
        "GET",
        "/{env}/settings",
        Need::Permission(P::SettingsManage),
    ),
    (
        "PUT",
        "/{env}/settings",
        Need::Permission(P::SettingsManage),
    ),
];

/// What a request to `pattern` (the matched route's full pattern) with
/// `method` needs; the owner token for anything not in [`ROUTES`].
pub fn need(method: &Method, pattern: Option<&str>) -> Need {
    let Some(rel) = pattern.and_then(|p| p.strip_prefix(SCOPE)) else {
        return Need::Owner;
    };
    ROUTES
        .iter()
        .find(|(m, p, _)| *p == rel && *m == method.as_str())
        .map_or(Need::Owner, |(_, _, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_their_permission_and_unknown_ones_to_the_owner() {
        let full = |p: &str| format!("{SCOPE}{p}");
        assert_eq!(
            need(&Method::GET, Some(&full("/{env}/licenses"))),
            Need::Permission(P::LicensesRead)
        );
        assert_eq!(
            need(&Method::POST, Some(&full("/{env}/licenses"))),
            Need::Permission(P::LicensesWrite)
        );
        assert_eq!(
            need(&Method::PUT, Some(&full("/{env}/licenses"))),
            Need::Owner
        );
        assert_eq!(need(&Method::GET, Some("/admin/licenses")), Need::Owner);
        assert_eq!(need(&Method::GET, None), Need::Owner);
        assert_eq!(need(&Method::POST, Some(&full("/api-keys"))), Need::Owner);
        // Each (method, pattern) once.
        let mut seen = std::collections::HashSet::new();
        for (m, p, _) in ROUTES {
            assert!(seen.insert((m, p)), "{m} {p} twice");
        }
    }
}
