//! Why a configuration cannot be used, with the key it is about.

/// A configuration that cannot be used; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    pub(super) fn new(message: String) -> ConfigError {
        ConfigError(message)
    }
}

/// figment's errors as one line each: the key path, what is wrong, and where from.
pub(super) fn describe(e: figment::Error) -> String {
    e.into_iter()
        .map(|err| {
            let key = if err.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", err.path.join("."))
            };
            let source = err
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            format!("{key}{}{source}", err.kind)
        })
        .collect::<Vec<_>>()
        .join("; ")
}
