//! The audit log's filter and its paging position, one meaning for both backends.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::AuditEntry;

/// A filter over the audit log (every part optional), newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub license_key: Option<String>,
    /// An exact action, or a family when it ends with `.` (`customer.`).
    pub action: Option<String>,
    /// Part of who did it (case-insensitive): an admin's email, `client`, `api-key:…`.
    pub actor: Option<String>,
    /// Entries at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Entries strictly older than this one: the end of a date range, or where
    /// the previous page stopped.
    pub before: Option<AuditCursor>,
    pub limit: usize,
}

/// A position in the log's order (time, then id), for paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AuditCursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl AuditCursor {
    /// Where `e` stands.
    pub fn of(e: &AuditEntry) -> AuditCursor {
        AuditCursor { at: e.at, id: e.id }
    }

    /// The position just before every entry at `at` (a range's exclusive end).
    pub fn at(at: DateTime<Utc>) -> AuditCursor {
        AuditCursor {
            at,
            id: Uuid::nil(),
        }
    }
}

impl AuditQuery {
    /// How many entries to return: `limit`, or 100 when it is 0.
    pub(crate) fn wanted(&self) -> usize {
        if self.limit == 0 {
            100
        } else {
            self.limit
        }
    }

    /// Whether `e` passes the filters (the license filter is the backends' index).
    pub(crate) fn keeps(&self, e: &AuditEntry) -> bool {
        let action = self.action.as_deref().is_none_or(|a| {
            if a.ends_with('.') {
                e.action.starts_with(a)
            } else {
                e.action == a
            }
        });
        let actor = self.actor.as_deref().is_none_or(|who| {
            // As stored and as the log shows it ("API key owner token").
            let (kind, name) = crate::domain::audit::actor_kind(&e.actor);
            format!("{} {kind} {name}", e.actor)
                .to_lowercase()
                .contains(&who.to_lowercase())
        });
        action
            && actor
            && self.from.is_none_or(|f| e.at >= f)
            && self.before.is_none_or(|c| AuditCursor::of(e) < c)
    }

    /// Whether a scan going back in time can stop at `e` (it is before `from`).
    pub(crate) fn past_start(&self, e: &AuditEntry) -> bool {
        self.from.is_some_and(|f| e.at < f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_who_filter_reads_the_actor_as_stored_and_as_shown() {
        let e = AuditEntry::new("admin-api", "customer.created", None, Utc::now());
        for (who, keeps) in [
            ("API Key", true),
            ("admin-api", true),
            ("owner", true),
            ("customer", false),
        ] {
            let q = AuditQuery {
                actor: Some(who.into()),
                ..AuditQuery::default()
            };
            assert_eq!(q.keeps(&e), keeps, "{who}");
        }
    }
}
