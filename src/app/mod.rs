//! What the product does, under both front doors (`api` and `portal`): the
//! shared state every handler receives. Issue 11 moves the use-cases here
//! (licenses, products, customers, tokens, files, mail, jobs…) so each rule,
//! audit entry and event happens in one place; `src/layers.rs` tracks what
//! still points the wrong way.

pub mod state;
pub mod tokens;

pub use state::AppState;
