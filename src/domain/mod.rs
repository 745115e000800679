//! Pure domain rules: no I/O, no clocks read here (callers pass `now`).
//!
//! Everything a license server decides — which state moves are legal, what a
//! validation answers, what a key looks like — lives here so it can be tested
//! exhaustively with tables.

pub mod abuse;
pub mod abuse_case;
pub mod activation;
pub mod device;
pub mod env;
pub mod features;
pub mod fields;
pub mod key;
pub mod license;
pub mod status;
pub mod text;
pub mod theme;
pub mod verdict;

pub use activation::{Activation, ActivationKind, ActivationStatus};
pub use env::Environment;
pub use key::{Identifier, LicenseKey};
pub use license::{ActivationLimit, License};
pub use status::{admin_actions_for, Action, LicenseStatus, TransitionError};
pub use verdict::{Verdict, VerdictCode};
pub mod audit;
pub mod audit_text;
pub mod branding;
pub mod customer;
pub mod product;
pub use audit::AuditEntry;
pub use customer::Customer;
pub use product::{Generator, Product};
pub mod second_factor;
pub mod settings;
pub use settings::EnvSettings;
pub mod admin;
pub mod api_key;
pub mod contract;
pub mod idempotency;
pub use admin::{AdminUser, Role};
pub mod diagnosis;
pub mod edit;
pub use edit::{AdminChange, EditError, LicenseEdit};
pub mod eligibility;
pub mod health;
pub use eligibility::Eligibility;
pub mod file;
pub mod issuing;
pub use file::FileMeta;
pub mod outbox;
pub use outbox::{MailRecord, MailStatus};
pub mod import;
pub mod job;
pub mod webhook;
