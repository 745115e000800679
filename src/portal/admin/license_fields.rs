//! The fields the create and edit forms share (`templates/admin/license_fields.html`):
//! what was typed, kept so a refused form shows it again, and its decoding
//! into the app's terms. The rules themselves live in `app::licenses`.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::app::format;
use crate::domain::fields::{json_object_text, MAX_FEATURE_FLAGS_BYTES, MAX_METADATA_BYTES};
use crate::domain::{ActivationLimit, Eligibility, License};
use crate::portal::forms::{FieldErrors, Form};

/// Values of the create/edit form as typed, so a refused form keeps them.
#[derive(Default, Clone)]
pub struct LicenseFields {
    pub product_id: String,
    pub generator_id: String,
    pub customer_id: String,
    /// Or a customer's email: a new one gets an account and an invitation.
    pub customer_email: String,
    pub activation_limit: String,
    pub expires: String,
    pub feature_flags: String,
    pub metadata: String,
    /// Version eligibility (edit form): releases up to a version, or up to a date.
    pub max_version: String,
    pub releases_until: String,
}

/// The optional fields, decoded; a value that does not decode leaves a message
/// next to its field and `None` here.
pub struct Decoded {
    pub customer: Option<Uuid>,
    pub limit: Option<ActivationLimit>,
    pub expires: Option<DateTime<Utc>>,
    pub flags: Option<Map<String, Value>>,
    pub metadata: Map<String, Value>,
}

impl LicenseFields {
    /// What the form sent.
    pub fn from_form(f: &Form) -> LicenseFields {
        LicenseFields {
            product_id: f.get("product_id").into(),
            generator_id: f.get("generator_id").into(),
            customer_id: f.get("customer_id").into(),
            customer_email: f.get("customer_email").trim().into(),
            activation_limit: f.get("activation_limit").into(),
            expires: f.get("expires").into(),
            feature_flags: f.get("feature_flags").into(),
            metadata: f.get("metadata").into(),
            max_version: f.get("max_version").into(),
            releases_until: f.get("releases_until").into(),
        }
    }

    /// A license's current values, to start the edit form from.
    pub fn of_license(l: &License) -> LicenseFields {
        let json = |m: &Map<String, Value>| {
            if m.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(m).unwrap_or_default()
            }
        };
        LicenseFields {
            product_id: l.product_id.to_string(),
            generator_id: l.generator_id.map(|g| g.to_string()).unwrap_or_default(),
            customer_id: l.customer_id.map(|c| c.to_string()).unwrap_or_default(),
            customer_email: String::new(),
            activation_limit: l.activation_limit.get().to_string(),
            expires: l.expires_at.map(format::date).unwrap_or_default(),
            feature_flags: json(&l.feature_flags),
            metadata: json(&l.metadata),
            max_version: match &l.eligibility {
                Eligibility::UpToVersion { version } => version.clone(),
                _ => String::new(),
            },
            releases_until: match &l.eligibility {
                Eligibility::ReleasedUntil { date } => date.to_string(),
                _ => String::new(),
            },
        }
    }

    /// Decodes the optional fields (the expiry date means its last second, UTC).
    pub fn decode(&self, errors: &mut FieldErrors) -> Decoded {
        Decoded {
            customer: uuid(
                &self.customer_id,
                "customer_id",
                "Customer must exist.",
                errors,
            ),
            limit: self.limit(errors),
            expires: self.expires(errors),
            flags: (!self.feature_flags.is_empty())
                .then(|| {
                    json_object_text(
                        "feature_flags",
                        &self.feature_flags,
                        MAX_FEATURE_FLAGS_BYTES,
                    )
                    .map_err(|e| {
                        errors.add("feature_flags", format!("Feature flags {}.", e.message))
                    })
                    .ok()
                })
                .flatten(),
            metadata: json_object_text("metadata", &self.metadata, MAX_METADATA_BYTES)
                .map_err(|e| errors.add("metadata", format!("Metadata {}.", e.message)))
                .unwrap_or_default(),
        }
    }

    fn limit(&self, errors: &mut FieldErrors) -> Option<ActivationLimit> {
        if self.activation_limit.is_empty() {
            return None;
        }
        match self.activation_limit.parse::<i64>() {
            Ok(n) => ActivationLimit::new(n)
                .map_err(|_| {
                    errors.add(
                        "activation_limit",
                        "Activation limit must be -1 (unlimited) or 1–10000.",
                    )
                })
                .ok(),
            Err(_) => {
                errors.add(
                    "activation_limit",
                    "Activation limit must be an integer: -1 (unlimited) or 1–10000.",
                );
                None
            }
        }
    }

    fn expires(&self, errors: &mut FieldErrors) -> Option<DateTime<Utc>> {
        if self.expires.is_empty() {
            return None;
        }
        match NaiveDate::parse_from_str(&self.expires, "%Y-%m-%d") {
            Ok(d) => d.and_hms_opt(23, 59, 59).map(|t| t.and_utc()),
            Err(_) => {
                errors.add("expires", "Expiry date must be a date (YYYY-MM-DD).");
                None
            }
        }
    }
}

/// An id chosen in a select: empty is none, anything else must be a UUID.
pub fn uuid(
    raw: &str,
    field: &'static str,
    unknown: &str,
    errors: &mut FieldErrors,
) -> Option<Uuid> {
    if raw.is_empty() {
        return None;
    }
    raw.parse()
        .map_err(|_| errors.add(field, unknown.to_owned()))
        .ok()
}

/// The app names the expiry `expires_at`; the form calls it `expires`.
pub fn form_errors(mut app: FieldErrors) -> FieldErrors {
    app.rename("expires_at", "expires");
    app
}

/// Checks the typed customer email (nothing is made yet); a bad one leaves a
/// message on its field.
pub fn check_customer_email(v: &LicenseFields, errors: &mut FieldErrors) {
    if v.customer_email.is_empty() {
        return;
    }
    if let Err(crate::app::error::AppError::Invalid(e)) =
        crate::app::customer_invites::check_email(&v.customer_email, "customer_email")
    {
        errors.merge(e);
    }
}

pub use crate::app::customer_invites::owner_for_email as customer_for_email;
