//! Edit License (`templates/admin/license_edit.html`): the form and its submission.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::license_fields::{check_customer_email, customer_for_email, form_errors, LicenseFields};
use super::license_new::customer_options;
use super::{chrome, redirect, render, render_invalid, Admin, AdminView, Chrome, ManageForm};
use crate::app::error::AppError;
use crate::app::licenses::{self, Owner};
use crate::app::{format, products, AppState};
use crate::domain::{Eligibility, Environment, License, LicenseKey, LicenseStatus};
use crate::engine::LicenseEdit;
use crate::portal::forms::FieldErrors;
use crate::portal::PageError;

#[derive(Template)]
#[template(path = "admin/license_edit.html")]
struct EditPage {
    c: Chrome,
    key: String,
    key_q: String,
    product_name: String,
    status: &'static str,
    v: LicenseFields,
    errors: FieldErrors,
    customers: Vec<(String, String)>,
}

impl EditPage {
    async fn build(
        state: &AppState,
        req: &HttpRequest,
        admin: &Admin,
        env: Environment,
        l: &License,
        (v, errors): (LicenseFields, FieldErrors),
    ) -> Result<EditPage, PageError> {
        let product = products::get(state.store(), env, l.product_id).await;
        Ok(EditPage {
            c: chrome(req, admin, "Edit License", "licenses", env),
            key: l.key.as_str().into(),
            key_q: format::url_encode(l.key.as_str()),
            product_name: product.map(|p| p.name).unwrap_or_default(),
            status: l.status.as_str(),
            customers: customer_options(state, &v.customer_id).await?,
            v,
            errors,
        })
    }
}

/// A license key from the URL.
pub fn key_of(raw: &str) -> Result<LicenseKey, PageError> {
    LicenseKey::parse(raw).map_err(|e| PageError::BadRequest(format!("license key: {e}")))
}

pub async fn edit_page(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let key = key_of(&path)?;
    let what = format!("editing {}", format::mask_key(key.as_str()));
    if let Some(gate) = super::reauth::reauth_gate(&state, &admin, &req, env, &what).await {
        return gate;
    }
    let l = licenses::get(&state.engine, env, &key).await?;
    if l.status == LicenseStatus::Revoked {
        return Err(PageError::Conflict(
            "Revoked licenses cannot be edited (revocation is final).".into(),
        ));
    }
    let fields = (LicenseFields::of_license(&l), FieldErrors::default());
    render(
        &req,
        &EditPage::build(&state, &req, &admin, env, &l, fields).await?,
    )
}

/// The edit form in the app's terms: every field is set (an empty one clears
/// it), and an empty customer asks to unassign (refused for an assigned license).
fn decode_edit(v: &LicenseFields, errors: &mut FieldErrors) -> (LicenseEdit, Owner) {
    if v.activation_limit.is_empty() {
        errors.add(
            "activation_limit",
            "Activation limit is required: -1 (unlimited) or 1–10000.",
        );
    }
    let d = v.decode(errors);
    let eligibility = Eligibility::from_form(&v.max_version, &v.releases_until)
        .map_err(|e| errors.add("eligibility", format!("Version eligibility {e}.")))
        .ok();
    let owner = match (d.customer, errors.has("customer_id")) {
        (Some(c), _) => Owner::Set(c),
        (None, true) => Owner::Keep,
        (None, false) => Owner::Clear,
    };
    let edit = LicenseEdit {
        activation_limit: d.limit,
        expires_at: Some(d.expires),
        feature_flags: Some(d.flags.unwrap_or_default()),
        metadata: Some(d.metadata),
        eligibility,
    };
    (edit, owner)
}

pub async fn edit(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let key = key_of(&path)?;
    for immutable in ["key", "product_id", "environment"] {
        if form.has(immutable) {
            return Err(PageError::BadRequest(format!(
                "{immutable} cannot be changed after a license is made"
            )));
        }
    }
    let l = licenses::get(&state.engine, env, &key).await?;
    let mut v = LicenseFields::from_form(&form);
    v.product_id = l.product_id.to_string();
    let mut errors = FieldErrors::default();
    let (edit, mut owner) = decode_edit(&v, &mut errors);
    check_customer_email(&v, &mut errors);
    if let Err(AppError::Invalid(e)) = licenses::check_owner(state.store(), &l, owner).await {
        errors.merge(e);
    }
    if !errors.is_empty() {
        let page = EditPage::build(&state, &req, &admin, env, &l, (v, errors)).await?;
        return render_invalid(&page);
    }
    if let Some(id) = customer_for_email(&state, &v.customer_email).await? {
        owner = Owner::Set(id);
    }
    let after = match licenses::update(&state.engine, env, &key, owner, edit, &admin.who()).await {
        Ok(after) => after,
        Err(AppError::Invalid(e)) => {
            let page = EditPage::build(&state, &req, &admin, env, &l, (v, form_errors(e))).await?;
            return render_invalid(&page);
        }
        Err(e) => return Err(e.into()),
    };
    crate::app::key_mail::after_owner_change(
        &state.engine,
        &state.services.outbox,
        state.config.public_base(),
        env,
        l.customer_id,
        &after,
        &admin.who(),
    )
    .await;
    Ok(redirect(
        &req,
        &format!(
            "/admin/licenses/{}?env={env}",
            format::url_encode(key.as_str())
        ),
        "ok",
        &format!(
            "License {} saved; status {}. Changes apply to the next validation.",
            key.as_str(),
            after.status
        ),
    ))
}
