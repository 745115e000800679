//! The settings cell: each environment's settings in memory, read by the hot
//! path without touching the store; saved settings and the change log (another
//! node saved) replace them.

use parking_lot::RwLock;

use crate::domain::{EnvSettings, Environment};

/// Per-environment settings readable from the hot path without touching the store.
pub struct SettingsCell {
    production: RwLock<EnvSettings>,
    staging: RwLock<EnvSettings>,
}

impl SettingsCell {
    pub fn new(production: EnvSettings, staging: EnvSettings) -> Self {
        SettingsCell {
            production: RwLock::new(production),
            staging: RwLock::new(staging),
        }
    }

    fn slot(&self, env: Environment) -> &RwLock<EnvSettings> {
        match env {
            Environment::Production => &self.production,
            Environment::Staging => &self.staging,
        }
    }

    pub fn get(&self, env: Environment) -> EnvSettings {
        self.slot(env).read().clone()
    }

    pub fn grace(&self, env: Environment) -> chrono::Duration {
        self.slot(env).read().grace()
    }

    pub fn set(&self, env: Environment, s: EnvSettings) {
        *self.slot(env).write() = s;
    }
}
