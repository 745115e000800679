//! Admin accounts as the Admins page manages them: add, change, remove. The
//! rules (one full admin at least, unique emails) are the domain's; what ends
//! sessions (a new password, fewer rights, removal) is decided here, once.

use chrono::Utc;
use uuid::Uuid;

use super::directory::{AdminDirectory, DirectoryError, CHANGED_ELSEWHERE};
use super::error::{AppError, FieldErrors};
use super::sessions::Sessions;
use crate::crypto::password::{self, PasswordPool};
use crate::domain::customer::normalize_email;
use crate::domain::product::check_name;
use crate::domain::{AdminUser, Role};
use crate::store::Store;

/// What the directory, the store and the sessions of the admin portal are.
pub struct Accounts<'a> {
    pub store: &'a dyn Store,
    pub directory: &'a AdminDirectory,
    pub sessions: &'a Sessions,
    pub passwords: &'a PasswordPool,
}

/// A new admin as typed.
pub struct NewAdmin {
    pub name: String,
    pub email: String,
    pub role: Option<Role>,
    pub password: String,
}

/// Changes to an admin; an empty password keeps the current one.
pub struct AdminChanges {
    pub name: String,
    pub role: Option<Role>,
    pub password: String,
    /// The admin's version the change was made on (the edit form's); `None`
    /// means the version this node holds. Either way the write is conditional.
    pub version: Option<u64>,
}

/// Hashes a password on the bounded pool (never on a request thread).
pub async fn hash_password(pool: &PasswordPool, p: &str) -> Result<String, AppError> {
    pool.hash(p)
        .await
        .map_err(|_| AppError::RateLimited(1))?
        .map_err(AppError::Internal)
}

pub(super) fn refused(e: DirectoryError) -> AppError {
    match e {
        DirectoryError::Rule(r) => AppError::Conflict(format!("{r}.")),
        DirectoryError::Conflict => AppError::Conflict(CHANGED_ELSEWHERE.into()),
        DirectoryError::Store(s) => s.into(),
    }
}

/// Adds an admin: name, a valid and unused email, a role, a strong password.
pub async fn add(a: &Accounts<'_>, n: NewAdmin, who: &str) -> Result<AdminUser, AppError> {
    let mut errors = FieldErrors::default();
    let name = check_name(&n.name, 1)
        .map_err(|e| errors.add("name", format!("Name {e}.")))
        .unwrap_or_default();
    let email = normalize_email(&n.email)
        .map_err(|e| errors.add("email", format!("Email {e}.")))
        .unwrap_or_default();
    if n.role.is_none() {
        errors.add("role", "Choose full access or read-only.");
    }
    if let Err(e) = password::check_strength(&n.password) {
        errors.add("password", format!("Password {e}."));
    }
    if errors.is_empty() && a.directory.by_email(&email).is_some() {
        errors.add("email", "An admin with this email exists.");
    }
    errors.into_result()?;
    let user = AdminUser {
        id: Uuid::new_v4(),
        email,
        name,
        password_hash: hash_password(a.passwords, &n.password).await?,
        role: n.role.unwrap_or(Role::ReadOnly),
        created_at: Utc::now(),
        last_sign_in: None,
        version: 0,
        theme: Default::default(),
        second_factor: None,
    };
    a.directory
        .upsert(a.store, user.clone())
        .await
        .map_err(refused)?;
    audit(a, who, "admin.created", &user, None).await?;
    Ok(user)
}

/// Sets an admin's own colour theme (no audit entry: it changes nothing of theirs
/// that others rely on).
pub async fn set_theme(
    a: &Accounts<'_>,
    id: Uuid,
    theme: crate::domain::theme::Theme,
) -> Result<AdminUser, AppError> {
    let mut user = a
        .directory
        .by_id(id)
        .ok_or_else(|| AppError::NotFound("No such admin.".into()))?;
    user.theme = theme;
    a.directory
        .upsert(a.store, user.clone())
        .await
        .map_err(refused)?;
    Ok(user)
}

/// Records a change to an admin account in both environments' logs.
async fn audit(
    a: &Accounts<'_>,
    who: &str,
    action: &str,
    user: &AdminUser,
    before: Option<String>,
) -> Result<(), AppError> {
    let now = format!("{} ({})", user.name, user.role.as_str());
    let mut entry =
        crate::engine::origin::entry(who, action, None, Utc::now()).detail(user.email.clone());
    if let Some(b) = before {
        entry = entry.change(b, now);
    }
    super::audit::record_global(a.store, &entry).await
}

/// Changes an admin. A new password or fewer rights end that admin's other
/// sessions (`keep` is the acting session when admins change themselves).
pub async fn update(
    a: &Accounts<'_>,
    id: Uuid,
    c: AdminChanges,
    keep: Option<&str>,
    who: &str,
) -> Result<AdminUser, AppError> {
    let mut user = a
        .directory
        .by_id(id)
        .ok_or_else(|| AppError::NotFound("No such admin.".into()))?;
    let before = format!("{} ({})", user.name, user.role.as_str());
    if let Some(v) = c.version {
        user.version = v;
    }
    user.role = c
        .role
        .ok_or_else(|| AppError::field("role", "Role must be full or readonly."))?;
    if let Ok(n) = check_name(&c.name, 1) {
        user.name = n;
    }
    if !c.password.is_empty() {
        password::check_strength(&c.password)
            .map_err(|e| AppError::field("password", format!("Password {e}.")))?;
        user.password_hash = hash_password(a.passwords, &c.password).await?;
    }
    a.directory
        .upsert(a.store, user.clone())
        .await
        .map_err(refused)?;
    if !c.password.is_empty() || user.role != Role::Full {
        a.sessions.end_all_of(a.store, id, keep).await?;
    }
    let action = if c.password.is_empty() {
        "admin.updated"
    } else {
        "admin.password_changed"
    };
    audit(a, who, action, &user, Some(before)).await?;
    Ok(user)
}

/// Removes an admin (never the acting one) and ends their sessions. `seen` is
/// the admin's version the removal was asked on (the page's), if known.
pub async fn remove(
    a: &Accounts<'_>,
    id: Uuid,
    acting: Uuid,
    seen: Option<u64>,
    who: &str,
) -> Result<AdminUser, AppError> {
    if id == acting {
        return Err(AppError::Conflict(
            "You cannot remove your own account while signed in with it.".into(),
        ));
    }
    let gone = a
        .directory
        .remove(a.store, id, seen)
        .await
        .map_err(refused)?;
    a.sessions.end_all_of(a.store, id, None).await?;
    audit(a, who, "admin.removed", &gone, None).await?;
    Ok(gone)
}
