//! Admin accounts (add, edit role/name/password, remove) and the admin API token.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use uuid::Uuid;

use super::{chrome, env_of, redirect, render, render_invalid, Admin, Chrome, ManageForm};
use crate::app::directory::DirectoryError;
use crate::app::format;
use crate::app::AppState;
use crate::crypto::password;
use crate::domain::customer::normalize_email;
use crate::domain::product::check_name;
use crate::domain::{AdminUser, Role};
use crate::portal::forms::FieldErrors;
use crate::portal::PageError;

pub struct AdminRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub role_label: &'static str,
    pub created: String,
    pub last_sign_in: String,
    pub is_me: bool,
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
    let mut list = state.portal.admins.all();
    list.sort_by(|a, b| a.email.cmp(&b.email));
    list.into_iter()
        .map(|a| AdminRow {
            id: a.id.to_string(),
            is_me: a.id == me,
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
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let env = env_of(&req)?;
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

fn rule_error(e: DirectoryError) -> PageError {
    match e {
        DirectoryError::Rule(r) => PageError::Conflict(format!("{r}.")),
        DirectoryError::Store(s) => s.into(),
    }
}

/// Adds an admin (no `id`) or changes one's name, role and, when given, password.
pub async fn save(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let store = state.store();
    let dir = &state.portal.admins;
    let role = Role::parse(form.get("role"));
    let id = form.get("id");
    if !id.is_empty() {
        let id: Uuid = id
            .parse()
            .map_err(|_| PageError::NotFound("no such admin".into()))?;
        let mut user = dir
            .by_id(id)
            .ok_or_else(|| PageError::NotFound("No such admin.".into()))?;
        user.role =
            role.ok_or_else(|| PageError::BadRequest("role must be full or readonly".into()))?;
        if let Ok(n) = check_name(form.get("name"), 1) {
            user.name = n;
        }
        let new_password = form.raw("password");
        if !new_password.is_empty() {
            password::check_strength(new_password)
                .map_err(|e| PageError::BadRequest(format!("Password {e}.")))?;
            user.password_hash = crate::portal::signin::hash_password(&state, new_password).await?;
        }
        let email = user.email.clone();
        dir.upsert(store, user).await.map_err(rule_error)?;
        if !new_password.is_empty() || role != Some(Role::Full) {
            // A new password or fewer rights: other sessions of that admin end.
            let keep = (id == admin.user.id).then_some(admin.session.id.as_str());
            state.portal.admin_sessions.end_all_of(id, keep);
        }
        return Ok(redirect(
            &req,
            &format!("/admin/admins?env={env}"),
            "ok",
            &format!("Admin {email} saved."),
        ));
    }
    let v = AdminFields {
        name: form.get("name").into(),
        email: form.get("email").into(),
        role: form.get("role").into(),
    };
    let mut errors = FieldErrors::default();
    let name = check_name(&v.name, 1).unwrap_or_else(|e| {
        errors.add("name", format!("Name {e}."));
        String::new()
    });
    let email = normalize_email(&v.email).unwrap_or_else(|e| {
        errors.add("email", format!("Email {e}."));
        String::new()
    });
    if role.is_none() {
        errors.add("role", "Choose full access or read-only.");
    }
    if let Err(e) = password::check_strength(form.raw("password")) {
        errors.add("password", format!("Password {e}."));
    }
    if errors.is_empty() && dir.by_email(&email).is_some() {
        errors.add("email", "An admin with this email exists.");
    }
    let (Some(role), true) = (role, errors.is_empty()) else {
        return render_invalid(&page(&req, &admin, &state, env, v, errors, String::new()));
    };
    let user = AdminUser {
        id: Uuid::new_v4(),
        email: email.clone(),
        name,
        password_hash: crate::portal::signin::hash_password(&state, form.raw("password")).await?,
        role,
        created_at: Utc::now(),
        last_sign_in: None,
    };
    dir.upsert(store, user).await.map_err(rule_error)?;
    Ok(redirect(
        &req,
        &format!("/admin/admins?env={env}"),
        "ok",
        &format!("Admin {email} added ({}).", role.label()),
    ))
}

pub async fn delete(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let id: Uuid = path
        .parse()
        .map_err(|_| PageError::NotFound("no such admin".into()))?;
    if id == admin.user.id {
        return Err(PageError::Conflict(
            "You cannot remove your own account while signed in with it.".into(),
        ));
    }
    let gone = state
        .portal
        .admins
        .remove(state.store(), id)
        .await
        .map_err(rule_error)?;
    state.portal.admin_sessions.end_all_of(id, None);
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
