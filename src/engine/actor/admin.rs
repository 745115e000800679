//! Admin changes at the license's actor: the domain decides what the change does
//! ([`AdminChange::apply_to`]), the actor commits it and takes the result as its
//! state, so the next validation already sees it. A delete stops the actor.

use actix::prelude::*;

use super::commit::commit_admin_change;
use super::LicenseActor;
use crate::domain::{AdminChange, EditError, License};
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

impl Handler<AdminChange> for LicenseActor {
    type Result = AtomicResponse<Self, Result<License, EngineError>>;

    fn handle(&mut self, msg: AdminChange, _: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.gone() {
            return AtomicResponse::new(Box::pin(fut::ready(Err(e))));
        }
        let deleting = msg.is_delete();
        let fut = commit_admin_change(self.shared.store.clone(), self.env, self.license(), msg);
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
