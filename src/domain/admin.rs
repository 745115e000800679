//! Admin portal accounts: who may sign in, and whether they may change licenses.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What an admin may do. "License Management" is the permission of `Full`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees and changes everything (the "License Management" permission).
    Full,
    /// Sees every page; every write is refused server-side.
    ReadOnly,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Full => "full",
            Role::ReadOnly => "readonly",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Full => "Full access (License Management)",
            Role::ReadOnly => "Read-only",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "full" => Some(Role::Full),
            "readonly" => Some(Role::ReadOnly),
            _ => None,
        }
    }

    /// May create, edit, change the state of and delete licenses (and everything else).
    pub fn can_manage(self) -> bool {
        self == Role::Full
    }
}

/// One admin account; the password is an argon2id PHC string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUser {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub last_sign_in: Option<DateTime<Utc>>,
    /// The stored row's version (compare-and-set guard); 0 = never stored.
    /// Records of the old one-list format have none and read as 0.
    #[serde(default)]
    pub version: u64,
    /// The portal's colour theme.
    #[serde(default)]
    pub theme: super::theme::Theme,
    /// TOTP two-factor sign-in, when the admin set it up.
    #[serde(default)]
    pub second_factor: Option<super::second_factor::SecondFactor>,
}

impl AdminUser {
    /// Whether signing in asks for a code after the password.
    pub fn two_factor_on(&self) -> bool {
        self.second_factor.as_ref().is_some_and(|f| f.is_on())
    }
}

/// Why an admin list change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminRuleError {
    #[error("an admin with this email exists")]
    EmailTaken,
    #[error("the last full-access admin cannot be removed or made read-only")]
    LastFullAdmin,
    #[error("no such admin")]
    Unknown,
}

/// Applies an upsert to the admin list, keeping emails unique and one full admin.
pub fn upsert(list: &mut Vec<AdminUser>, user: AdminUser) -> Result<(), AdminRuleError> {
    if list
        .iter()
        .any(|a| a.id != user.id && a.email == user.email)
    {
        return Err(AdminRuleError::EmailTaken);
    }
    let others_full = list.iter().any(|a| a.id != user.id && a.role == Role::Full);
    if user.role != Role::Full && !others_full && list.iter().any(|a| a.id == user.id) {
        return Err(AdminRuleError::LastFullAdmin);
    }
    match list.iter_mut().find(|a| a.id == user.id) {
        Some(slot) => *slot = user,
        None => list.push(user),
    }
    Ok(())
}

/// Removes an admin unless it is the last one with full access.
pub fn remove(list: &mut Vec<AdminUser>, id: Uuid) -> Result<AdminUser, AdminRuleError> {
    let pos = list
        .iter()
        .position(|a| a.id == id)
        .ok_or(AdminRuleError::Unknown)?;
    let others_full = list.iter().any(|a| a.id != id && a.role == Role::Full);
    if list[pos].role == Role::Full && !others_full {
        return Err(AdminRuleError::LastFullAdmin);
    }
    Ok(list.remove(pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(email: &str, role: Role) -> AdminUser {
        AdminUser {
            id: Uuid::new_v4(),
            email: email.into(),
            name: email.into(),
            password_hash: String::new(),
            role,
            created_at: Utc::now(),
            last_sign_in: None,
            version: 0,
            theme: Default::default(),
            second_factor: None,
        }
    }

    #[test]
    fn emails_stay_unique() {
        let mut list = vec![admin("a@x.io", Role::Full)];
        assert_eq!(
            upsert(&mut list, admin("a@x.io", Role::ReadOnly)),
            Err(AdminRuleError::EmailTaken)
        );
        upsert(&mut list, admin("b@x.io", Role::ReadOnly)).unwrap();
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn the_last_full_admin_stays() {
        let first = admin("a@x.io", Role::Full);
        let mut list = vec![first.clone()];
        let mut demoted = first.clone();
        demoted.role = Role::ReadOnly;
        assert_eq!(
            upsert(&mut list, demoted.clone()),
            Err(AdminRuleError::LastFullAdmin)
        );
        assert_eq!(
            remove(&mut list, first.id),
            Err(AdminRuleError::LastFullAdmin)
        );
        let second = admin("b@x.io", Role::Full);
        upsert(&mut list, second.clone()).unwrap();
        upsert(&mut list, demoted).unwrap();
        assert_eq!(remove(&mut list, first.id).unwrap().email, "a@x.io");
        assert_eq!(
            remove(&mut list, Uuid::new_v4()),
            Err(AdminRuleError::Unknown)
        );
    }

    #[test]
    fn roles_round_trip() {
        for r in [Role::Full, Role::ReadOnly] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert!(Role::Full.can_manage());
        assert!(!Role::ReadOnly.can_manage());
        assert_eq!(Role::parse("root"), None);
    }
}
