//! Admin API keys (issue 14 part 2): several keys beside the owner token, each
//! with a name, an environment (or all), a set of permissions and an optional
//! expiry. Only a hash of the token is kept; the token is shown once.
//!
//! What a caller may do is decided here, without I/O: [`Caller::may`] answers
//! for the owner token and for a key alike, so each rule lives once.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Environment;

/// What an API key may be allowed to do (the names are the API's contract).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Permission {
    #[serde(rename = "licenses:read")]
    LicensesRead,
    #[serde(rename = "licenses:write")]
    LicensesWrite,
    #[serde(rename = "customers:read")]
    CustomersRead,
    #[serde(rename = "customers:write")]
    CustomersWrite,
    #[serde(rename = "products:read")]
    ProductsRead,
    #[serde(rename = "products:write")]
    ProductsWrite,
    #[serde(rename = "webhooks:manage")]
    WebhooksManage,
    #[serde(rename = "audit:read")]
    AuditRead,
    #[serde(rename = "settings:manage")]
    SettingsManage,
}

impl Permission {
    /// Every permission, in the order pages list them.
    pub const ALL: [Permission; 9] = [
        Permission::LicensesRead,
        Permission::LicensesWrite,
        Permission::CustomersRead,
        Permission::CustomersWrite,
        Permission::ProductsRead,
        Permission::ProductsWrite,
        Permission::WebhooksManage,
        Permission::AuditRead,
        Permission::SettingsManage,
    ];

    /// The permission's name in the API (`licenses:read`).
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::LicensesRead => "licenses:read",
            Permission::LicensesWrite => "licenses:write",
            Permission::CustomersRead => "customers:read",
            Permission::CustomersWrite => "customers:write",
            Permission::ProductsRead => "products:read",
            Permission::ProductsWrite => "products:write",
            Permission::WebhooksManage => "webhooks:manage",
            Permission::AuditRead => "audit:read",
            Permission::SettingsManage => "settings:manage",
        }
    }

    /// Parses a permission's API name.
    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a route needs: a permission, or the owner token itself (minting keys,
/// rotating the owner token and full backups would let a key raise its own rights).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Permission(Permission),
    Owner,
}

/// A stored API key (its token is never stored, only its SHA-256).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    /// `None`: every environment.
    pub environment: Option<Environment>,
    pub permissions: Vec<Permission>,
    /// The token's first characters (`kw_live_ab12…`), to recognise it in lists.
    pub prefix: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
}

/// Why a key does not open a route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("this API key was revoked")]
    Revoked,
    #[error("this API key expired")]
    Expired,
    #[error("this API key is limited to the {0} environment")]
    OtherEnvironment(Environment),
    #[error("this API key lacks the {0} permission")]
    Missing(Permission),
    #[error("only the owner token may do this")]
    OwnerOnly,
}

impl Denied {
    /// Whether the key itself is no longer usable (an authentication failure,
    /// 401) rather than usable but not for this (a 403).
    pub fn is_unusable(&self) -> bool {
        matches!(self, Denied::Revoked | Denied::Expired)
    }
}

impl ApiKey {
    /// The token prefix of keys for `environment` (`kw_test_` for staging only).
    pub fn token_prefix(environment: Option<Environment>) -> &'static str {
        match environment {
            Some(Environment::Staging) => "kw_test_",
            _ => "kw_live_",
        }
    }

    /// Whether the key is usable at `now` (not revoked, not expired).
    pub fn usable(&self, now: DateTime<Utc>) -> Result<(), Denied> {
        if self.revoked_at.is_some() {
            return Err(Denied::Revoked);
        }
        if self.expires_at.is_some_and(|e| e <= now) {
            return Err(Denied::Expired);
        }
        Ok(())
    }

    /// Whether the key opens a route needing `need` in `env` (None: a route
    /// outside any environment) at `now`.
    pub fn may(
        &self,
        need: Need,
        env: Option<Environment>,
        now: DateTime<Utc>,
    ) -> Result<(), Denied> {
        self.usable(now)?;
        let p = match need {
            Need::Owner => return Err(Denied::OwnerOnly),
            Need::Permission(p) => p,
        };
        if let (Some(mine), Some(asked)) = (self.environment, env) {
            if mine != asked {
                return Err(Denied::OtherEnvironment(mine));
            }
        }
        if !self.permissions.contains(&p) {
            return Err(Denied::Missing(p));
        }
        Ok(())
    }

    /// Its status word for lists: active, expired or revoked.
    pub fn status(&self, now: DateTime<Utc>) -> &'static str {
        match self.usable(now) {
            Ok(()) => "active",
            Err(Denied::Revoked) => "revoked",
            Err(_) => "expired",
        }
    }
}

/// Who called the admin API: the owner token, or one API key.
#[derive(Debug, Clone)]
pub enum Caller {
    Owner,
    Key(Box<ApiKey>),
}

impl Caller {
    /// Whether the caller may use a route needing `need` in `env` at `now`.
    pub fn may(
        &self,
        need: Need,
        env: Option<Environment>,
        now: DateTime<Utc>,
    ) -> Result<(), Denied> {
        match self {
            Caller::Owner => Ok(()),
            Caller::Key(k) => k.may(need, env, now),
        }
    }

    /// The name audit entries carry: `admin-api` for the owner token,
    /// `api-key:<name> (<prefix>)` for a key.
    pub fn actor(&self) -> String {
        match self {
            Caller::Owner => "admin-api".to_owned(),
            Caller::Key(k) => format!("api-key:{} ({})", k.name, k.prefix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn key(env: Option<Environment>, perms: &[Permission]) -> ApiKey {
        ApiKey {
            id: Uuid::nil(),
            name: "crm".into(),
            environment: env,
            permissions: perms.to_vec(),
            prefix: "kw_live_abcd".into(),
            token_hash: String::new(),
            created_at: Utc::now(),
            created_by: "owner".into(),
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
            last_used_ip: None,
        }
    }

    #[test]
    fn permissions_round_trip_by_name() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert_eq!(Permission::parse("licenses:delete"), None);
    }

    /// Every (permission held, permission needed, key env, route env) combination.
    #[test]
    fn a_key_opens_exactly_what_it_holds_in_its_environment() {
        let now = Utc::now();
        let envs = [
            None,
            Some(Environment::Production),
            Some(Environment::Staging),
        ];
        for held in Permission::ALL {
            for needed in Permission::ALL {
                for key_env in envs {
                    for route_env in envs {
                        let k = key(key_env, &[held]);
                        let got = k.may(Need::Permission(needed), route_env, now);
                        let env_ok = match (key_env, route_env) {
                            (Some(a), Some(b)) => a == b,
                            _ => true,
                        };
                        let want = if !env_ok {
                            Err(Denied::OtherEnvironment(key_env.unwrap()))
                        } else if held != needed {
                            Err(Denied::Missing(needed))
                        } else {
                            Ok(())
                        };
                        assert_eq!(got, want, "{held} {needed} {key_env:?} {route_env:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn owner_routes_revoked_and_expired_keys_are_refused() {
        let now = Utc::now();
        let all = key(None, &Permission::ALL);
        assert_eq!(all.may(Need::Owner, None, now), Err(Denied::OwnerOnly));
        let need = Need::Permission(Permission::LicensesRead);
        let mut revoked = all.clone();
        revoked.revoked_at = Some(now);
        assert_eq!(revoked.may(need, None, now), Err(Denied::Revoked));
        assert_eq!(revoked.status(now), "revoked");
        let mut expired = all.clone();
        expired.expires_at = Some(now - Duration::seconds(1));
        assert_eq!(expired.may(need, None, now), Err(Denied::Expired));
        assert_eq!(expired.status(now), "expired");
        assert!(Denied::Expired.is_unusable() && !Denied::OwnerOnly.is_unusable());
        let mut later = all.clone();
        later.expires_at = Some(now + Duration::seconds(1));
        assert_eq!(later.may(need, None, now), Ok(()));
        assert!(Caller::Owner.may(Need::Owner, None, now).is_ok());
        assert_eq!(
            Caller::Key(Box::new(all)).actor(),
            "api-key:crm (kw_live_abcd)"
        );
        assert_eq!(ApiKey::token_prefix(Some(Environment::Staging)), "kw_test_");
        assert_eq!(ApiKey::token_prefix(None), "kw_live_");
    }
}
