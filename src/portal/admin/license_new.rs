//! Create License (`templates/admin/license_new.html`): the form and its submission.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::license_fields::{
    check_customer_email, customer_for_email, form_errors, uuid, LicenseFields,
};
use super::{chrome, redirect, render, render_invalid, Admin, AdminView, Chrome, ManageForm};
use crate::app::error::AppError;
use crate::app::licenses::{self, NewLicense};
use crate::app::{customers, format, products, AppState};
use crate::domain::Environment;
use crate::portal::forms::FieldErrors;
use crate::portal::PageError;

#[derive(Template)]
#[template(path = "admin/license_new.html")]
struct NewPage {
    c: Chrome,
    v: LicenseFields,
    errors: FieldErrors,
    products: Vec<(String, String, bool)>,
    generators: Vec<(String, String, String)>,
    customers: Vec<(String, String)>,
}

impl NewPage {
    async fn build(
        state: &AppState,
        req: &HttpRequest,
        admin: &Admin,
        env: Environment,
        v: LicenseFields,
        errors: FieldErrors,
    ) -> Result<NewPage, PageError> {
        let store = state.store();
        let products = products::list(store, env).await?;
        let names: HashMap<Uuid, &str> = products.iter().map(|p| (p.id, p.name.as_str())).collect();
        let generators = products::list_generators(store, env)
            .await?
            .iter()
            .map(|g| {
                let product = names.get(&g.product_id).copied().unwrap_or_default();
                (
                    g.id.to_string(),
                    format!("{product} — {} ({})", g.name, g.format.label()),
                    g.product_id.to_string(),
                )
            })
            .collect();
        Ok(NewPage {
            customers: customer_options(state, &v.customer_id).await?,
            c: chrome(req, admin, "Create License", "licenses", env),
            v,
            errors,
            products: products
                .iter()
                .map(|p| (p.id.to_string(), p.name.clone(), p.active))
                .collect(),
            generators,
        })
    }
}

/// The select's choices besides "not assigned": only the chosen customer,
/// as (id, "name <email>"). Others are found with the picker (a search of
/// the customer book), so the page stays small with 100,000 customers.
pub async fn customer_options(
    state: &AppState,
    chosen: &str,
) -> Result<Vec<(String, String)>, PageError> {
    let Ok(id) = chosen.parse::<Uuid>() else {
        return Ok(Vec::new());
    };
    Ok(match customers::get(state.store(), id).await {
        Ok(c) => vec![(c.id.to_string(), format!("{} <{}>", c.name, c.email))],
        Err(AppError::NotFound(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    })
}

pub async fn new_page(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let page = NewPage::build(
        &state,
        &req,
        &admin,
        env,
        LicenseFields::default(),
        FieldErrors::default(),
    )
    .await?;
    render(&req, &page)
}

pub async fn create(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let v = LicenseFields::from_form(&form);
    let mut errors = FieldErrors::default();
    let d = v.decode(&mut errors);
    check_customer_email(&v, &mut errors);
    let mut n = NewLicense {
        product_id: uuid(
            &v.product_id,
            "product_id",
            "Product must exist.",
            &mut errors,
        ),
        generator_id: uuid(
            &v.generator_id,
            "generator_id",
            "Generator must exist.",
            &mut errors,
        ),
        customer_id: d.customer,
        activation_limit: d.limit,
        expires_at: d.expires,
        feature_flags: d.flags,
        metadata: d.metadata,
    };
    if v.generator_id.is_empty() {
        // The form always names the generator (the API may fall back to the product's default).
        errors.add("generator_id", "Generator is required.");
    }
    let made = if errors.is_empty() {
        if let Some(id) = customer_for_email(&state, &v.customer_email).await? {
            n.customer_id = Some(id);
        }
        match licenses::create(&state.engine, env, &n, 1, &admin.who()).await {
            Ok(made) => Some(made),
            Err(AppError::Invalid(e)) => {
                errors.merge(form_errors(e));
                None
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        if let Err(AppError::Invalid(e)) =
            licenses::check_new(state.store(), env, &n, chrono::Utc::now()).await
        {
            errors.merge(form_errors(e));
        }
        None
    };
    let Some(made) = made else {
        return render_invalid(&NewPage::build(&state, &req, &admin, env, v, errors).await?);
    };
    crate::app::key_mail::after_owner_change(
        &state.engine,
        &state.services.outbox,
        state.config.public_base(),
        env,
        None,
        &made[0],
        &admin.who(),
    )
    .await;
    let key = made[0].key.as_str();
    Ok(redirect(
        &req,
        &format!("/admin/licenses/{}?env={env}", format::url_encode(key)),
        "ok",
        &format!("License {key} created ({}).", made[0].status),
    ))
}
