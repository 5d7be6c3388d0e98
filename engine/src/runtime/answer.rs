//! The first answer to a keyed creation, given again to a repeat (idempotency).

use super::{Engine, EngineError};
use crate::store::{KeyedCase, Store};
use crate::view::CaseView;

impl<S: Store> Engine<S> {
    /// The case a keyed creation made, as that creation left it: its first commit's events
    /// replayed, whatever happened to the case since. A case whose store did not record
    /// that commit's size is shown as it stands.
    pub(super) async fn first_answer(&self, keyed: KeyedCase) -> Result<CaseView, EngineError> {
        let Some(created) = keyed.created_events else {
            return self.case(&keyed.case_no).await;
        };
        let Some((summary, events)) = self.inner.store.read(&keyed.case_no).await? else {
            return Err(EngineError::UnknownCase {
                case_no: keyed.case_no,
            });
        };
        let n = usize::try_from(created).map_or(events.len(), |n| n.min(events.len()));
        let state = self
            .replay_stored(&keyed.case_no, &summary, events, Some(n))
            .await?;
        Ok(CaseView::of(&state))
    }
}
