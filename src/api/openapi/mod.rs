//! The OpenAPI 3.1 document of the client and admin APIs, generated from the
//! handlers' `#[utoipa::path]` attributes and the answer types' `ToSchema`
//! derives; served at `GET /admin/api/v1/openapi.json` and readable at
//! `/admin/api/docs` (rendered here from the same document: no script, no CDN).
//! The errors every operation can answer are added in one place ([`Common`]),
//! from the same table `crate::error` maps errors with.

mod client_ops;
mod page;
pub mod schemas;

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::HttpResponse;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::api::admin;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keywarden API",
        description = "The client API (`/v1/{env}/…`: activate, validate, heartbeat, deactivate, offline files; JSON or MessagePack; verdicts are 200 answers with a `code`) and the admin API (`/admin/api/v1/…`: `Authorization: Bearer` with the owner token or an API key). docs/API.md has the prose, examples and the state machine."
    ),
    paths(
        client_ops::activate, client_ops::validate, client_ops::heartbeat,
        client_ops::deactivate, client_ops::offline, client_ops::public_key,
        admin::customers::create, admin::customers::list, admin::customers::get,
        admin::customers::update, admin::customers::delete,
        admin::abuse_cases::list, admin::abuse_cases::review,
        admin::products::create, admin::products::list, admin::products::get, admin::products::update, admin::products::revoke_all,
        admin::products::create_generator, admin::products::list_generators,
        admin::licenses::create, admin::licenses::bulk, admin::licenses::list,
        admin::licenses::export, admin::license_devices::activation_history, admin::licenses::get,
        admin::licenses::edit, admin::licenses::delete, admin::licenses::assign,
        admin::licenses::action, admin::license_mail::resend_key, admin::license_devices::deactivate, admin::license_devices::offline,
        admin::settings::audit, admin::settings::get, admin::settings::put,
        admin::settings::rotate_token, admin::settings::rotate_signing_key, admin::outbox::list, admin::backup::download,
        admin::api_keys::create, admin::api_keys::list, admin::api_keys::revoke,
        admin::contracts::create, admin::contracts::list, admin::contracts::delete,
        admin::webhooks::create, admin::webhooks::list, admin::webhooks::get,
        admin::webhooks::update, admin::webhooks::delete, admin::webhooks::rotate,
        admin::webhooks::test, admin::webhooks::deliveries, admin::webhooks::retry,
    ),
    components(schemas(schemas::ErrorDoc)),
    modifiers(&Common),
    tags(
        (name = "client", description = "What licensed applications call."),
        (name = "licenses", description = "License keys: create, list, change, their state actions and devices."),
        (name = "products", description = "Products and the generators that make their keys."),
        (name = "customers", description = "Customer accounts (shared by both environments)."),
        (name = "webhooks", description = "Signed events (Standard Webhooks) posted to your endpoints."),
        (name = "api-keys", description = "API keys with permissions, and contracts (quotas)."),
        (name = "audit", description = "What changed, and the mail outbox."),
        (name = "settings", description = "Environment settings, the owner token, backups."),
    )
)]
pub struct ApiDoc;

/// What every operation may answer besides its own success, and how it is called.
struct Common;

/// (status, when) of the errors any admin operation can answer.
const ADMIN_ERRORS: [(u16, &str); 10] = [
    (
        400,
        "BAD_REQUEST: a malformed body, query or path value (`field` names it)",
    ),
    (
        401,
        "UNAUTHORIZED: no token, or a wrong, revoked or expired one",
    ),
    (
        403,
        "FORBIDDEN: the API key lacks the permission, or the route is the owner token's",
    ),
    (
        404,
        "NOT_FOUND: no such license, product, customer, endpoint…",
    ),
    (409, "CONFLICT, INVALID_TRANSITION or QUOTA_EXCEEDED"),
    (413, "PAYLOAD_TOO_LARGE: the body is over the limit"),
    (415, "UNSUPPORTED_MEDIA_TYPE: the body is not JSON"),
    (
        422,
        "IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used with another request",
    ),
    (429, "RATE_LIMITED: retry after the Retry-After seconds"),
    (
        503,
        "STORE_UNAVAILABLE: the store does not answer; retry shortly",
    ),
];

/// (status, when) of the errors a client call can answer (refusals are verdicts, 200).
const CLIENT_ERRORS: [(u16, &str); 6] = [
    (
        400,
        "BAD_REQUEST: a malformed body, key or identifier (`field` names it)",
    ),
    (404, "NOT_FOUND: no such operation"),
    (413, "PAYLOAD_TOO_LARGE: the body is over the limit"),
    (415, "UNSUPPORTED_MEDIA_TYPE: neither JSON nor MessagePack"),
    (
        429,
        "RATE_LIMITED: this license or address is calling too often",
    ),
    (
        503,
        "STORE_UNAVAILABLE: the store does not answer; retry shortly",
    ),
];

impl Modify for Common {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        for (path, item) in api.paths.paths.iter_mut() {
            let admin = path.starts_with("/admin/");
            let ops = [
                (false, item.get.as_mut()),
                (true, item.post.as_mut()),
                (false, item.put.as_mut()),
                (false, item.patch.as_mut()),
                (false, item.delete.as_mut()),
            ];
            for (is_post, op) in ops {
                let Some(op) = op else { continue };
                let errors: &[(u16, &str)] = if admin { &ADMIN_ERRORS } else { &CLIENT_ERRORS };
                add_errors(op, errors);
                if admin && is_post {
                    add_idempotency_key(op);
                }
            }
        }
    }
}

fn add_errors(op: &mut Operation, errors: &[(u16, &str)]) {
    for (status, when) in errors {
        let error = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Error")))
            .build();
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(*when)
                        .content("application/json", error)
                        .build(),
                )
            });
    }
}

fn add_idempotency_key(op: &mut Operation) {
    let p = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .description(Some(
            "1–255 visible ASCII characters: a repeat within 24 h gets the first answer again (header Idempotent-Replayed: true).",
        ))
        .schema(Some(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[\\x21-\\x7e]+$")),
        ))
        .build();
    op.parameters.get_or_insert_with(Vec::new).push(p);
}

/// The document as JSON, made once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}

/// `GET /admin/api/v1/openapi.json` (public: it describes, it holds nothing secret).
pub async fn json() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/json")
        .body(document())
}

/// `GET /admin/api/docs`: the document as a page.
pub async fn docs() -> HttpResponse {
    page::render()
}
