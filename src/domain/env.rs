//! The two isolated environments a license can live in.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Production and staging never see each other's licenses, keys or audit.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Production,
    Staging,
}

impl Environment {
    /// Both environments, in the order pages list them.
    pub const ALL: [Environment; 2] = [Environment::Production, Environment::Staging];

    /// The lowercase name used in URLs, file names and keyspaces.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Staging => "staging",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "production" => Ok(Environment::Production),
            "staging" => Ok(Environment::Staging),
            other => Err(format!(
                "unknown environment '{}': use 'production' or 'staging'",
                super::text::truncate_for_message(other)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_environments_and_refuses_others() {
        assert_eq!("production".parse(), Ok(Environment::Production));
        assert_eq!("staging".parse(), Ok(Environment::Staging));
        assert!("Production".parse::<Environment>().is_err());
        assert!("dev".parse::<Environment>().is_err());
    }
}
