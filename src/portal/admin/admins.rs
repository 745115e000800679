//! Admin accounts (add, edit role/name/password, remove) and the admin API token.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::{chrome, redirect, render, render_invalid, Admin, AdminView, Chrome, ManageForm};
use crate::app::admins::{self, Accounts, AdminChanges, NewAdmin};
use crate::app::error::AppError;
use crate::app::format;
use crate::app::AppState;
use crate::domain::Role;
use crate::portal::forms::FieldErrors;
use crate::portal::PageError;

pub struct AdminRow {
    pub id: String,
    /// The row's version when the page was drawn: the edit form sends it back,
    /// so an edit of an admin changed meanwhile (on any node) is a conflict.
    pub version: u64,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub role_label: &'static str,
    pub created: String,
    pub last_sign_in: String,
    pub is_me: bool,
    pub two_factor: bool,
}

/// The add form as typed.
#[derive(Default)]
pub struct AdminFields {
    pub name: String,
    pub email: String,
    pub role: String,
}

#[derive(Template)]
#[template(path = "admin/admins.html")]
struct AdminsPage {
    c: Chrome,
    rows: Vec<AdminRow>,
    v: AdminFields,
    errors: FieldErrors,
    new_token: String,
}

fn rows(state: &AppState, me: Uuid) -> Vec<AdminRow> {
    let mut list = state.services.admins.all();
    list.sort_by(|a, b| a.email.cmp(&b.email));
    list.into_iter()
        .map(|a| AdminRow {
            id: a.id.to_string(),
            version: a.version,
            is_me: a.id == me,
            two_factor: a.two_factor_on(),
            name: a.name,
            email: a.email,
            role: a.role.as_str(),
            role_label: a.role.label(),
            created: format::date(a.created_at),
            last_sign_in: format::time_or_never(a.last_sign_in),
        })
        .collect()
}

fn page(
    req: &HttpRequest,
    admin: &Admin,
    state: &AppState,
    env: crate::domain::Environment,
    v: AdminFields,
    errors: FieldErrors,
    new_token: String,
) -> AdminsPage {
    AdminsPage {
        c: chrome(req, admin, "Admins", "admins", env),
        rows: rows(state, admin.user.id),
        v,
        errors,
        new_token,
    }
}

pub async fn list(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let p = page(
        &req,
        &admin,
        &state,
        env,
        AdminFields {
            role: "readonly".into(),
            ..AdminFields::default()
        },
        FieldErrors::default(),
        String::new(),
    );
    render(&req, &p)
}

pub(super) fn accounts(state: &AppState) -> Accounts<'_> {
    Accounts {
        store: state.store(),
        directory: &state.services.admins,
        sessions: &state.services.admin_sessions,
        passwords: &state.passwords,
    }
}

/// Adds an admin (no `id`) or changes one's name, role and, when given, password.
pub async fn save(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let role = Role::parse(form.get("role"));
    let id = form.get("id");
    if !id.is_empty() {
        let id: Uuid = id
            .parse()
            .map_err(|_| PageError::NotFound("no such admin".into()))?;
        let changes = AdminChanges {
            name: form.get("name").into(),
            role,
            password: form.raw("password").into(),
            version: form.get("version").parse().ok(),
        };
        let keep = (id == admin.user.id).then_some(admin.session.id.as_str());
        let user = admins::update(&accounts(&state), id, changes, keep, &admin.who()).await?;
        return Ok(redirect(
            &req,
            &format!("/admin/admins?env={env}"),
            "ok",
            &format!("Admin {} saved.", user.email),
        ));
    }
    let v = AdminFields {
        name: form.get("name").into(),
        email: form.get("email").into(),
        role: form.get("role").into(),
    };
    let n = NewAdmin {
        name: v.name.clone(),
        email: v.email.clone(),
        role,
        password: form.raw("password").into(),
    };
    match admins::add(&accounts(&state), n, &admin.who()).await {
        Ok(user) => Ok(redirect(
            &req,
            &format!("/admin/admins?env={env}"),
            "ok",
            &format!("Admin {} added ({}).", user.email, user.role.label()),
        )),
        Err(AppError::Invalid(errors)) => {
            render_invalid(&page(&req, &admin, &state, env, v, errors, String::new()))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let id: Uuid = path
        .parse()
        .map_err(|_| PageError::NotFound("no such admin".into()))?;
    let seen = form.get("version").parse().ok();
    let gone = admins::remove(&accounts(&state), id, admin.user.id, seen, &admin.who()).await?;
    Ok(redirect(
        &req,
        &format!("/admin/admins?env={env}"),
        "ok",
        &format!("Admin {} removed; their sessions ended.", gone.email),
    ))
}

/// Makes a new admin API token; the old one stops working at once. Shown once.
pub async fn rotate_token(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let token =
        crate::app::tokens::rotate(state.store(), &state.admin_token_hash, &admin.who()).await?;
    let p = page(
        &req,
        &admin,
        &state,
        env,
        AdminFields {
            role: "readonly".into(),
            ..AdminFields::default()
        },
        FieldErrors::default(),
        token,
    );
    render(&req, &p)
}

/// The signed-in admin's own theme (any role may choose theirs; CSRF checked).
pub async fn appearance(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = crate::portal::forms::read(&req, body).await?;
    admin.check(&form)?;
    let theme = crate::domain::theme::Theme::parse(form.get("theme"))
        .ok_or_else(|| PageError::BadRequest("theme must be system, light or dark".into()))?;
    admins::set_theme(&accounts(&state), admin.user.id, theme).await?;
    let env = super::env_of(&req)?;
    Ok(redirect(
        &req,
        &format!("/admin/settings?env={env}"),
        "ok",
        &format!("Theme set to {}.", theme.as_str()),
    ))
}

/// Clears another admin's second factor (a lost phone): their sessions end,
/// they sign in with the password alone and set it up again.
pub async fn reset_two_factor(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let id: Uuid = path
        .parse()
        .map_err(|_| PageError::NotFound("no such admin".into()))?;
    let a = accounts(&state);
    let user = crate::app::two_factor::reset(&a, id, &admin.who()).await?;
    Ok(redirect(
        &req,
        &format!("/admin/admins?env={env}"),
        "ok",
        &format!(
            "Two-factor sign-in of {} reset; their sessions ended.",
            user.email
        ),
    ))
}
