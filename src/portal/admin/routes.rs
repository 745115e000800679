//! The admin portal's routes: `/admin/…`, one function per page family.

use actix_web::web;

use super::*;

/// Mounts `/admin/…`: the dashboard, then each page family's routes. Order
/// matters only where paths overlap (`/licenses/new` before `/licenses/{key}`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .wrap(crate::portal::security_headers())
            .route("", web::get().to(dashboard::page))
            .route("/", web::get().to(dashboard::page))
            .configure(auth_routes)
            .configure(license_routes)
            .configure(product_routes)
            .configure(customer_routes)
            .configure(generator_routes)
            .configure(record_routes)
            .configure(account_routes),
    );
}

/// Signing in and out, and confirming it is you (the password gate).
fn auth_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login::login_page))
        .route("/login", web::post().to(login::login))
        .route("/login/code", web::get().to(login_code::page))
        .route("/login/code", web::post().to(login_code::submit))
        .route("/two-factor", web::get().to(two_factor::page))
        .route("/two-factor/setup", web::post().to(two_factor::setup))
        .route("/two-factor/confirm", web::post().to(two_factor::confirm))
        .route("/two-factor/recovery", web::post().to(two_factor::recovery))
        .route("/two-factor/off", web::post().to(two_factor::turn_off))
        .route("/logout", web::post().to(login::logout))
        .route("/reauth", web::post().to(reauth::reauth))
        .route(
            "/licenses/{key}/reauth",
            web::post().to(reauth::reauth_license),
        );
}

/// Licenses: list and export, create, preview and its downloads, edit, the
/// confirmed actions and freeing a device.
fn license_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/licenses", web::get().to(licenses::list))
        .route("/licenses/bulk", web::post().to(license_bulk::start))
        .route("/licenses/bulk/apply", web::post().to(license_bulk::apply))
        .route("/licenses/bulk/all", web::get().to(license_bulk_all::page))
        .route(
            "/licenses/bulk/all",
            web::post().to(license_bulk_all::start),
        )
        .route("/licenses/import", web::get().to(license_import::form))
        .route("/licenses/import", web::post().to(license_import::upload))
        .route(
            "/licenses/import/{id}",
            web::get().to(license_import::preview),
        )
        .route(
            "/licenses/import/{id}/confirm",
            web::post().to(license_import::confirm),
        )
        .route(
            "/licenses/import/{id}/discard",
            web::post().to(license_import::discard),
        )
        .route("/licenses/export", web::get().to(licenses::export))
        .route("/licenses/new", web::get().to(license_new::new_page))
        .route("/licenses/new", web::post().to(license_new::create))
        .route("/licenses/{key}", web::get().to(license_preview::preview))
        .route(
            "/licenses/{key}/offline",
            web::get().to(license_preview::offline),
        )
        .route(
            "/licenses/{key}/samples/{lang}",
            web::get().to(license_preview::sample),
        )
        .route(
            "/licenses/{key}/edit",
            web::get().to(license_edit::edit_page),
        )
        .route("/licenses/{key}/edit", web::post().to(license_edit::edit))
        .route(
            "/licenses/{key}/confirm/{action}",
            web::get().to(license_actions::confirm),
        )
        .route(
            "/licenses/{key}/do/{action}",
            web::post().to(license_actions::perform),
        )
        .route(
            "/licenses/{key}/resend-key",
            web::post().to(license_mail::resend_key),
        )
        .route(
            "/licenses/{key}/confirm-deactivate",
            web::get().to(license_actions::confirm_deactivate),
        )
        .route(
            "/licenses/{key}/deactivate",
            web::post().to(license_actions::deactivate),
        );
}

/// Products and their files.
fn product_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/products", web::get().to(products::list))
        .route("/public-key.{format}", web::get().to(products::public_key))
        .route("/signing-keys/rotate", web::post().to(products::rotate_key))
        .route("/products", web::post().to(products::save))
        .route("/products/{id}", web::get().to(products::edit_page))
        .route(
            "/products/{id}/revoke-all",
            web::post().to(products::revoke_all),
        )
        .route(
            "/products/{id}/files",
            web::post().to(product_files::upload),
        )
        .route(
            "/products/{id}/files/{file}/delete",
            web::post().to(product_files::delete_file),
        );
}

/// Customers, their invitations and the outbox the mails wait in.
fn customer_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/abuse", web::get().to(abuse::page))
        .route("/abuse/{key}/review", web::post().to(abuse::review));
    cfg.route("/customers", web::get().to(customers::list))
        .route("/customers", web::post().to(customers::create))
        .route("/customers/pick.json", web::get().to(customers::pick))
        .route("/customers/{id}", web::get().to(customer_page::detail))
        .route("/customers/{id}", web::post().to(customer_page::edit))
        .route(
            "/customers/{id}/access",
            web::post().to(customer_page::access),
        )
        .route(
            "/customers/{id}/delete",
            web::get().to(customer_delete::confirm),
        )
        .route(
            "/customers/{id}/delete",
            web::post().to(customer_delete::delete),
        )
        .route("/customers/{id}/invite", web::post().to(outbox::invite))
        .route("/outbox", web::get().to(outbox::list));
}

/// Generators, their bulk jobs and the Background Jobs page.
fn generator_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/generators", web::get().to(generators::list))
        .route("/generators", web::post().to(generators::save))
        .route("/generators/{id}", web::get().to(generators::edit_page))
        .route("/generators/{id}/bulk", web::post().to(generators::bulk))
        .route("/jobs", web::get().to(jobs::jobs))
        .route("/jobs/{id}/retry", web::post().to(jobs::retry))
        .route("/jobs/{id}/delete", web::post().to(jobs::delete_job));
}

/// What happened: activations and the audit log.
fn record_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/activations", web::get().to(activations::list))
        .route("/search", web::get().to(search::page))
        .route("/search.json", web::get().to(search::json))
        .route("/audit", web::get().to(audit::list))
        .route("/audit/export", web::get().to(audit::export));
}

/// Settings, admin accounts and the API token.
fn account_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings", web::get().to(settings::page))
        .route("/settings", web::post().to(settings::save))
        .route("/appearance", web::post().to(admins::appearance))
        .route("/branding", web::post().to(branding::save))
        .route("/branding/logo", web::post().to(branding::upload_logo))
        .route(
            "/branding/logo/remove",
            web::post().to(branding::remove_logo),
        )
        .route("/admins", web::get().to(admins::list))
        .route("/admins", web::post().to(admins::save))
        .route("/admins/{id}/delete", web::post().to(admins::delete))
        .route(
            "/admins/{id}/two-factor/reset",
            web::post().to(admins::reset_two_factor),
        )
        .route("/token/rotate", web::post().to(admins::rotate_token))
        .route("/api-keys", web::get().to(api_keys::list))
        .route("/api-keys", web::post().to(api_keys::create))
        .route("/api-keys/{id}/revoke", web::post().to(api_keys::revoke))
        .configure(webhook_routes);
}

/// Webhook endpoints of an environment, each with its delivery log.
fn webhook_routes(cfg: &mut web::ServiceConfig) {
    use webhook_detail as d;
    cfg.route("/webhooks", web::get().to(webhooks::list))
        .route("/webhooks", web::post().to(webhooks::create))
        .route("/webhooks/{id}", web::get().to(d::detail))
        .route("/webhooks/{id}", web::post().to(d::edit))
        .route("/webhooks/{id}/toggle", web::post().to(d::toggle))
        .route("/webhooks/{id}/rotate", web::post().to(d::rotate))
        .route("/webhooks/{id}/test", web::post().to(d::test))
        .route("/webhooks/{id}/delete", web::post().to(d::delete))
        .route(
            "/webhooks/{id}/deliveries/{delivery}/retry",
            web::post().to(d::retry),
        );
}
