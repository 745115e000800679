//! Admin changes at the license's actor: the domain decides what the change does
//! ([`crate::domain::AdminChange::apply_to`]), the actor commits it and takes the result as its
//! state, so the next validation already sees it. A delete stops the actor.

use actix::prelude::*;

use super::commit::commit_admin_change;
use super::{AdminRequest, LicenseActor};
use crate::domain::{EditError, License};
use crate::engine::EngineError;

/// A refused admin change answers like the engine's own refusals did.
impl From<EditError> for EngineError {
    fn from(e: EditError) -> Self {
        match e {
            EditError::Transition(t) => EngineError::Transition(t),
            EditError::Field(f) => EngineError::Invalid {
                field: f.field,
                detail: f.message,
            },
        }
    }
}

impl Handler<AdminRequest> for LicenseActor {
    type Result = AtomicResponse<Self, Result<License, EngineError>>;

    fn handle(&mut self, msg: AdminRequest, _: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.gone() {
            return AtomicResponse::new(Box::pin(fut::ready(Err(e))));
        }
        let deleting = msg.change.is_delete();
        let store = self.shared.store.clone();
        let fut = commit_admin_change(store, self.env, self.license(), msg);
        AtomicResponse::new(Box::pin(fut.into_actor(self).map(move |res, act, ctx| {
            match &res {
                Ok(_) if deleting => act.delete(ctx),
                Ok(next) => act.replace(next.clone()),
                Err(_) => {}
            }
            res
        })))
    }
}
