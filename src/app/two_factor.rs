//! Admins' two-factor sign-in: enrolment (a secret shown as a QR code,
//! confirmed by the first code, then ten recovery codes shown once), the
//! check after the password, new recovery codes, turning it off, and an
//! owner resetting it for an admin who lost their phone. Each change is a
//! version-checked write of the admin's row and is audited.

use chrono::Utc;
use uuid::Uuid;

use super::admins::{refused, Accounts};
use super::error::AppError;
use crate::crypto::totp;
use crate::domain::second_factor::SecondFactor;
use crate::domain::AdminUser;

/// What the enrolment page shows.
pub struct Enrolment {
    /// The secret as typed into an app by hand.
    pub secret: String,
    pub uri: String,
    /// The URI as an inline SVG QR code.
    pub qr_svg: String,
}

/// The refusal of a wrong or reused code.
pub const WRONG_CODE: &str =
    "That code is not right (or was used already). Type the current 6-digit code from your app, or a recovery code.";

fn admin(a: &Accounts<'_>, id: Uuid) -> Result<AdminUser, AppError> {
    a.directory
        .by_id(id)
        .ok_or_else(|| AppError::NotFound("No such admin.".into()))
}

async fn save(a: &Accounts<'_>, user: AdminUser) -> Result<AdminUser, AppError> {
    a.directory
        .upsert(a.store, user.clone())
        .await
        .map_err(refused)?;
    a.directory
        .by_id(user.id)
        .ok_or_else(|| AppError::Conflict(crate::app::directory::CHANGED_ELSEWHERE.into()))
}

async fn audit(
    a: &Accounts<'_>,
    who: &str,
    action: &str,
    user: &AdminUser,
) -> Result<(), AppError> {
    let entry =
        crate::engine::origin::entry(who, action, None, Utc::now()).detail(user.email.clone());
    super::audit::record_global(a.store, &entry).await
}

/// Starts an enrolment: a new secret waits for its first code (it replaces
/// a pending one; an admin whose second factor is on must turn it off first).
pub async fn begin(a: &Accounts<'_>, id: Uuid) -> Result<(), AppError> {
    let mut user = admin(a, id)?;
    if user.two_factor_on() {
        return Err(AppError::Conflict(
            "Two-factor sign-in is on already; turn it off first to enrol a new phone.".into(),
        ));
    }
    user.second_factor = Some(SecondFactor::pending(totp::new_secret()));
    save(a, user).await?;
    Ok(())
}

/// What the set-up page shows of an enrolment waiting for its first code.
pub fn enrolment(user: &AdminUser, issuer: &str) -> Option<Enrolment> {
    let f = user.second_factor.as_ref().filter(|f| !f.is_on())?;
    let uri = totp::otpauth_uri(issuer, &user.email, &f.secret);
    Some(Enrolment {
        secret: totp::secret_text(&f.secret),
        qr_svg: totp::qr_svg(&uri).unwrap_or_default(),
        uri,
    })
}

/// Turns two-factor sign-in on once `code` matches the pending secret;
/// answers the recovery codes, shown this once.
pub async fn confirm(a: &Accounts<'_>, id: Uuid, code: &str) -> Result<Vec<String>, AppError> {
    let mut user = admin(a, id)?;
    let Some(f) = user.second_factor.as_mut().filter(|f| !f.is_on()) else {
        return Err(AppError::Conflict(
            "There is no enrolment waiting; start the set-up again.".into(),
        ));
    };
    let now = Utc::now();
    let step = totp::matching_step(&f.secret, code, now.timestamp().max(0) as u64)
        .filter(|s| f.accept_step(*s));
    if step.is_none() {
        return Err(AppError::field("code", WRONG_CODE));
    }
    let codes = totp::new_recovery_codes();
    f.recovery = codes.iter().map(|c| totp::recovery_hash(c)).collect();
    f.confirmed_at = Some(now);
    let user = save(a, user).await?;
    audit(
        a,
        &format!("admin:{}", user.email),
        "admin.two_factor_enabled",
        &user,
    )
    .await?;
    Ok(codes)
}

/// Checks a code after the password: a current TOTP code (each step once) or
/// an unused recovery code (used up). The admin's row records what was used,
/// so another node cannot take the same code again.
pub async fn verify(a: &Accounts<'_>, id: Uuid, code: &str) -> Result<AdminUser, AppError> {
    let mut user = admin(a, id)?;
    let Some(f) = user.second_factor.as_mut().filter(|f| f.is_on()) else {
        return Ok(user);
    };
    let now = Utc::now().timestamp().max(0) as u64;
    let by_totp = totp::matching_step(&f.secret, code, now).is_some_and(|s| f.accept_step(s));
    let by_recovery = !by_totp && f.use_recovery(&totp::recovery_hash(code));
    if !by_totp && !by_recovery {
        return Err(AppError::field("code", WRONG_CODE));
    }
    let left = f.recovery.len();
    let user = save(a, user).await?;
    if by_recovery {
        let entry = crate::engine::origin::entry(
            format!("admin:{}", user.email),
            "admin.recovery_code_used",
            None,
            Utc::now(),
        )
        .detail(format!("{} ({left} left)", user.email));
        super::audit::record_global(a.store, &entry).await?;
    }
    Ok(user)
}

/// New recovery codes (the old ones stop working), behind a current code.
pub async fn new_recovery_codes(
    a: &Accounts<'_>,
    id: Uuid,
    code: &str,
) -> Result<Vec<String>, AppError> {
    verify(a, id, code).await?;
    let mut user = admin(a, id)?;
    let codes = totp::new_recovery_codes();
    if let Some(f) = user.second_factor.as_mut() {
        f.recovery = codes.iter().map(|c| totp::recovery_hash(c)).collect();
    }
    let user = save(a, user).await?;
    audit(
        a,
        &format!("admin:{}", user.email),
        "admin.recovery_codes_renewed",
        &user,
    )
    .await?;
    Ok(codes)
}

/// Turns the admin's own second factor off, behind a current code; refused
/// while the settings require it.
pub async fn turn_off(
    a: &Accounts<'_>,
    id: Uuid,
    code: &str,
    required: bool,
) -> Result<(), AppError> {
    if required {
        return Err(AppError::Conflict(
            "Two-factor sign-in is required for every admin (Settings); it cannot be turned off."
                .into(),
        ));
    }
    verify(a, id, code).await?;
    let mut user = admin(a, id)?;
    user.second_factor = None;
    let user = save(a, user).await?;
    audit(
        a,
        &format!("admin:{}", user.email),
        "admin.two_factor_disabled",
        &user,
    )
    .await
}

/// An owner clears another admin's second factor (a lost phone): they sign
/// in with the password alone and enrol again (at once, when it is required).
/// Their sessions end.
pub async fn reset(a: &Accounts<'_>, id: Uuid, who: &str) -> Result<AdminUser, AppError> {
    let mut user = admin(a, id)?;
    user.second_factor = None;
    let user = save(a, user).await?;
    a.sessions.end_all_of(a.store, user.id, None).await?;
    audit(a, who, "admin.two_factor_reset", &user).await?;
    Ok(user)
}
