//! The API Keys page (issue 14 part 2): the admin API keys with their rights,
//! last use and status; full admins make keys (the token is shown once) and
//! revoke them. Every change is audited with the admin who made it.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::{chrome, redirect, render, render_invalid, Admin, AdminView, Chrome, ManageForm};
use crate::app::api_keys::{self, NewApiKey};
use crate::app::error::AppError;
use crate::app::format;
use crate::app::AppState;
use crate::domain::api_key::Permission;
use crate::domain::Environment;
use crate::portal::forms::FieldErrors;
use crate::portal::PageError;

pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub environment: &'static str,
    pub permissions: String,
    pub status: &'static str,
    pub created: String,
    pub expires: String,
    pub last_used: String,
}

/// A contract with its usage.
pub struct ContractRow {
    pub key_name: String,
    pub product_name: String,
    pub environment: &'static str,
    pub used: u64,
    pub limit: u64,
    pub remaining: u64,
    /// Percent used, for the bar.
    pub percent: u64,
}

/// The create form as typed.
#[derive(Default)]
pub struct KeyFields {
    pub name: String,
    pub environment: String,
    pub expires: String,
    pub permissions: Vec<&'static str>,
}

impl KeyFields {
    pub fn checked(&self, p: &&str) -> bool {
        self.permissions.contains(p)
    }
}

#[derive(Template)]
#[template(path = "admin/api_keys.html")]
struct KeysPage {
    c: Chrome,
    rows: Vec<KeyRow>,
    contracts: Vec<ContractRow>,
    all_permissions: Vec<&'static str>,
    v: KeyFields,
    errors: FieldErrors,
    new_token: String,
}

async fn page(
    req: &HttpRequest,
    admin: &Admin,
    state: &AppState,
    env: Environment,
    v: KeyFields,
    errors: FieldErrors,
    new_token: String,
) -> Result<KeysPage, PageError> {
    let now = chrono::Utc::now();
    let rows = api_keys::list(state.store())
        .await?
        .into_iter()
        .map(|k| KeyRow {
            id: k.id.to_string(),
            status: k.status(now),
            environment: k.environment.map_or("all", Environment::as_str),
            permissions: k
                .permissions
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            created: format!("{} by {}", format::date(k.created_at), k.created_by),
            expires: k.expires_at.map_or("never".into(), format::date),
            last_used: match (k.last_used_at, &k.last_used_ip) {
                (Some(at), Some(ip)) => format!("{} from {ip}", format::time_or_never(Some(at))),
                (at, _) => format::time_or_never(at),
            },
            name: k.name,
            prefix: k.prefix,
        })
        .collect();
    let contracts = crate::app::contracts::overview(state.store())
        .await?
        .into_iter()
        .map(|l| ContractRow {
            key_name: l.key_name,
            product_name: l.product_name,
            environment: l.contract.environment.as_str(),
            used: l.contract.used,
            limit: l.contract.limit,
            remaining: l.contract.remaining(),
            percent: (l.contract.used.min(l.contract.limit) * 100) / l.contract.limit.max(1),
        })
        .collect();
    Ok(KeysPage {
        c: chrome(req, admin, "API Keys", "api-keys", env),
        rows,
        contracts,
        all_permissions: Permission::ALL.iter().map(|p| p.as_str()).collect(),
        v,
        errors,
        new_token,
    })
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
        KeyFields::default(),
        FieldErrors::default(),
        String::new(),
    )
    .await?;
    render(&req, &p)
}

/// Makes a key from the form; the page then shows its token once.
pub async fn create(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let v = KeyFields {
        name: form.get("name").into(),
        environment: form.get("environment").into(),
        expires: form.get("expires").into(),
        permissions: Permission::ALL
            .iter()
            .map(|p| p.as_str())
            .filter(|p| form.has(&format!("perm:{p}")))
            .collect(),
    };
    let fields = (|| -> Result<NewApiKey, AppError> {
        let environment = match v.environment.as_str() {
            "" | "all" => None,
            e => Some(
                e.parse()
                    .map_err(|_| AppError::field("environment", "Choose an environment or all."))?,
            ),
        };
        let expires_at = match v.expires.trim() {
            "" => None,
            d => Some(
                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| AppError::field("expires", "Give the expiry date as YYYY-MM-DD."))?
                    .and_hms_opt(0, 0, 0)
                    .map(|t| t.and_utc())
                    .ok_or_else(|| {
                        AppError::field("expires", "Give the expiry date as YYYY-MM-DD.")
                    })?,
            ),
        };
        Ok(NewApiKey {
            name: v.name.clone(),
            environment,
            permissions: v
                .permissions
                .iter()
                .filter_map(|p| Permission::parse(p))
                .collect(),
            expires_at,
        })
    })();
    let made = match fields {
        Ok(n) => api_keys::create(state.store(), n, &admin.who()).await,
        Err(e) => Err(e),
    };
    match made {
        Ok((_, token)) => {
            let p = page(
                &req,
                &admin,
                &state,
                env,
                KeyFields::default(),
                FieldErrors::default(),
                token,
            )
            .await?;
            render(&req, &p)
        }
        Err(AppError::Invalid(errors)) => {
            render_invalid(&page(&req, &admin, &state, env, v, errors, String::new()).await?)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let id: Uuid = path
        .parse()
        .map_err(|_| PageError::NotFound("no such API key".into()))?;
    let key = api_keys::revoke(state.store(), id, &admin.who()).await?;
    Ok(redirect(
        &req,
        &format!("/admin/api-keys?env={env}"),
        "ok",
        &format!(
            "API key {} ({}…) revoked; it no longer works on any node.",
            key.name, key.prefix
        ),
    ))
}
