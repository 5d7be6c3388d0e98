//! The engine's cache of cases: bounded, checked against the store's version on reads,
//! refilled by replaying a case's events from the store.

use std::sync::Arc;
use std::sync::PoisonError;

use yijian_definitions::Blueprint;

use super::{CaseMap, Engine, EngineError};
use crate::case::CaseState;
use crate::event::Event;
use crate::ids::CaseNo;
use crate::machine::replay;
use crate::store::{CaseSummary, Store};

impl<S: Store> Engine<S> {
    /// Runs `f` on a case as the store has it now: the cached copy when it is at the
    /// stored version (one version read), else replayed from the store.
    pub(super) async fn with_case<T>(
        &self,
        case_no: &CaseNo,
        f: impl FnOnce(&CaseState) -> T,
    ) -> Result<T, EngineError> {
        let stored = self.inner.store.version(case_no).await?;
        let Some(stored) = stored else {
            return Err(EngineError::UnknownCase {
                case_no: case_no.clone(),
            });
        };
        let ahead = {
            let mut shard = self
                .shard(case_no)
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match shard.get(case_no).map(|s| s.version) {
                Some(v) if v == stored => {
                    if let Some(state) = shard.get(case_no) {
                        return Ok(f(state));
                    }
                    false
                }
                // Ahead of the store: a commit of it is on its way; show what is stored.
                Some(v) if v > stored => true,
                // Behind: another node moved the case on.
                Some(_) => {
                    shard.remove(case_no);
                    false
                }
                None => false,
            }
        };
        if ahead {
            return Ok(f(&self.replayed(case_no).await?));
        }
        let state = self.load(case_no).await?;
        Ok(f(&state))
    }

    /// A case replayed from the store, not cached.
    pub(super) async fn replayed(&self, case_no: &CaseNo) -> Result<CaseState, EngineError> {
        let Some((summary, events)) = self.inner.store.read(case_no).await? else {
            return Err(EngineError::UnknownCase {
                case_no: case_no.clone(),
            });
        };
        self.replay_stored(case_no, &summary, events, None).await
    }

    /// Runs `f` on the cached copy of a case this node just committed (or loads it).
    pub(super) async fn with_cached<T>(
        &self,
        case_no: &CaseNo,
        f: impl FnOnce(&CaseState) -> T,
    ) -> Result<T, EngineError> {
        {
            let shard = self
                .shard(case_no)
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(state) = shard.get(case_no) {
                return Ok(f(state));
            }
        }
        let state = self.load(case_no).await?;
        Ok(f(&state))
    }

    /// Reads a case back from the store and replays it; an open case stays cached.
    pub(super) async fn load(&self, case_no: &CaseNo) -> Result<CaseState, EngineError> {
        let Some((summary, events)) = self.inner.store.read(case_no).await? else {
            return Err(EngineError::UnknownCase {
                case_no: case_no.clone(),
            });
        };
        let state = self.replay_stored(case_no, &summary, events, None).await?;
        if !state.is_closed() || self.inner.keep_closed {
            let mut shard = self
                .shard(case_no)
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            self.make_room(&mut shard, case_no);
            // Another caller may have loaded it meanwhile: the newer copy stays.
            let entry = shard
                .entry(case_no.clone())
                .or_insert_with(|| state.clone());
            if entry.version < state.version {
                *entry = state.clone();
            }
            return Ok(entry.clone());
        }
        Ok(state)
    }

    /// Keeps a shard within the cache's bound before `case_no` goes in: another case is
    /// dropped (the store has it; it is read again when needed).
    pub(super) fn make_room(&self, shard: &mut CaseMap, case_no: &CaseNo) {
        if shard.len() < self.inner.per_shard || shard.contains_key(case_no) {
            return;
        }
        let victim = shard.keys().find(|k| *k != case_no).cloned();
        if let Some(v) = victim {
            shard.remove(&v);
        }
    }

    /// The blueprint a stored case runs on, compiled from the store when not loaded yet.
    pub(super) async fn blueprint_of(
        &self,
        summary: &CaseSummary,
    ) -> Result<Arc<Blueprint>, EngineError> {
        self.blueprint_version(&summary.bundle, summary.version)
            .await
    }

    /// Version `version` of bundle `bundle`: deployed here, else read from the store (and
    /// kept).
    ///
    /// # Errors
    /// `UnknownBundle` when the store has no such version; `InvalidBundle`; a store error.
    pub async fn blueprint_version(
        &self,
        bundle: &str,
        version: u32,
    ) -> Result<Arc<Blueprint>, EngineError> {
        if let Some(bp) = self.blueprint(bundle, Some(version)) {
            return Ok(bp);
        }
        let stored = self
            .inner
            .store
            .bundle(bundle, version)
            .await?
            .ok_or_else(|| EngineError::UnknownBundle {
                id: bundle.to_owned(),
                version: Some(version),
            })?;
        let (bp, _) = yijian_definitions::compile(&stored.yaml, &self.inner.check)
            .map_err(|diagnostics| EngineError::InvalidBundle { diagnostics })?;
        self.register_blueprint(bp.clone());
        Ok(bp)
    }

    /// A case replayed from its stored events (the first `upto` of them, else all): on
    /// the version it was submitted on, switching at each `case_migrated` to the next.
    pub(super) async fn replay_stored(
        &self,
        case_no: &CaseNo,
        summary: &CaseSummary,
        mut events: Vec<Event>,
        upto: Option<usize>,
    ) -> Result<CaseState, EngineError> {
        let first = self.pin_events(summary, &mut events).await?;
        let n = upto.map_or(events.len(), |n| n.min(events.len()));
        Ok(replay(self.new_state(case_no, first), &events[..n]))
    }

    /// Fills in the blueprints of a case's stored `case_migrated` events; returns the
    /// blueprint the case was submitted on.
    pub(super) async fn pin_events(
        &self,
        summary: &CaseSummary,
        events: &mut [Event],
    ) -> Result<Arc<Blueprint>, EngineError> {
        let Some(versions) = crate::machine::versions(events) else {
            return self.blueprint_of(summary).await;
        };
        let mut bps = std::collections::BTreeMap::new();
        for v in &versions {
            bps.insert(*v, self.blueprint_version(&summary.bundle, *v).await?);
        }
        crate::machine::pin_blueprints(events, |v| bps.get(&v).cloned());
        let first = versions.first().and_then(|v| bps.get(v)).cloned();
        match first {
            Some(bp) => Ok(bp),
            None => self.blueprint_of(summary).await,
        }
    }
}
