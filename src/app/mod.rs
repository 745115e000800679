//! What the product does, under both front doors (`api` and `portal`): the
//! shared state every handler receives. Issue 11 moves the use-cases here
//! (licenses, products, customers, tokens, files, mail, jobs…) so each rule,
//! audit entry and event happens in one place; `src/layers.rs` tracks what
//! still points the wrong way.

pub mod abuse_cases;
pub mod account;
pub mod admins;
pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod branding;
pub mod bulk;
pub mod contracts;
pub mod customer_admin;
pub mod customer_invites;
pub mod customers;
pub mod devices;
pub mod directory;
pub mod error;
pub mod files;
pub mod format;
pub mod global_search;
pub mod idempotency;
pub mod import;
pub mod jobs;
pub mod key_mail;
pub mod kill_switch;
pub mod legacy_copy;
pub mod license_preview;
pub mod licenses;
pub mod links;
pub mod listing;
pub mod mail;
pub mod offline;
pub mod product_files;
pub mod products;
pub mod rates;
pub mod reminders;
pub mod secrets;
pub mod services;
pub mod sessions;
pub mod settings;
pub mod state;
pub mod tokens;
pub mod traffic;
pub mod two_factor;
pub mod views;
pub mod webhooks;

pub use state::AppState;
