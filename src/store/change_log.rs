//! What the change log carries between nodes: which kind of record another
//! node changed, so each node reloads just that (a license, settings, admins).

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What a change-log row says changed, so a node knows what to reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A license was written (its key is in the row).
    License,
    /// A license was deleted.
    Deleted,
    /// The environment's settings were saved.
    Settings,
    /// An admin account row was written or removed (logged in production's log).
    Admins,
}

impl ChangeKind {
    /// The word stored in the change log.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::License => "license",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Settings => "settings",
            ChangeKind::Admins => "admins",
        }
    }

    /// The kind a stored word names; unknown words (a newer release) count as a
    /// license change, which only makes a node reload that key.
    pub fn parse(word: Option<&str>) -> ChangeKind {
        match word {
            Some("deleted") => ChangeKind::Deleted,
            Some("settings") => ChangeKind::Settings,
            Some("admins") => ChangeKind::Admins,
            _ => ChangeKind::License,
        }
    }
}

/// A change another node made, read from the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub at: DateTime<Utc>,
    pub id: Uuid,
    /// The license key (empty for settings and admin changes).
    pub key: String,
    pub kind: ChangeKind,
}

#[cfg(test)]
mod tests {
    use super::ChangeKind;

    /// Every kind reads back as itself; an unknown word (a newer release's) is
    /// a license change, which at worst reloads one key.
    #[test]
    fn change_kinds_round_trip() {
        for k in [
            ChangeKind::License,
            ChangeKind::Deleted,
            ChangeKind::Settings,
            ChangeKind::Admins,
        ] {
            assert_eq!(ChangeKind::parse(Some(k.as_str())), k);
        }
        assert_eq!(ChangeKind::parse(Some("webhooks")), ChangeKind::License);
        assert_eq!(ChangeKind::parse(None), ChangeKind::License);
    }
}
