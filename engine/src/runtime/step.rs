//! One command on one case: decide on the cached copy, hand the commit to the store,
//! decide again on the stored case when another node moved it first.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use yijian_definitions::Blueprint;

use super::effects::{effects_of, marks_of, rows_of, summary_of};
use super::{CONFLICT_RETRIES, Engine, EngineError, Failure, Stepped};
use crate::command::Command;
use crate::ids::CaseNo;
use crate::machine::decide_in_place;
use crate::store::{Commit, Store, StoreError};

impl<S: Store> Engine<S> {
    /// One command: decide, apply, commit; decided again (up to [`CONFLICT_RETRIES`] times)
    /// when another node moved the case first. Returns the events (when asked), the effects
    /// to perform, and the final state when the case closed and left memory.
    pub(super) async fn step(
        &self,
        case_no: &CaseNo,
        command: &Command,
        new_case: Option<Arc<Blueprint>>,
        key: Option<String>,
        want_events: bool,
        at: Option<jiff::Timestamp>,
    ) -> Result<Stepped, EngineError> {
        let mut tries = 0;
        loop {
            let prepared = self
                .prepare(
                    case_no,
                    command,
                    new_case.clone(),
                    key.clone(),
                    want_events,
                    at,
                )
                .await;
            let (stepped, pending) = match prepared {
                Ok(p) => p,
                Err(Failure::Engine(e)) => return Err(e),
                Err(Failure::Stale) if tries < CONFLICT_RETRIES => {
                    tries += 1;
                    continue;
                }
                Err(Failure::Stale) => return Err(self.conflict(case_no).await),
            };
            match self.settle(case_no, pending).await {
                // A new case's number or key was taken: its caller decides (see `create`).
                Err(EngineError::Store(StoreError::Conflict { .. }))
                    if new_case.is_none() && tries < CONFLICT_RETRIES =>
                {
                    tries += 1;
                }
                Err(e) => return Err(e),
                Ok(()) => return Ok(stepped),
            }
        }
    }

    /// Several commands (on one or many cases) as one round: each decided and handed to the
    /// store first, then every commit awaited, so they share group commits; a command whose
    /// case another node moved meanwhile is decided again on its own ([`Engine::step`]).
    /// One result per command, in order.
    pub(super) async fn step_all(
        &self,
        commands: &[(CaseNo, Command)],
        want_events: bool,
    ) -> Vec<Result<Stepped, EngineError>> {
        let mut results: Vec<Option<Result<Stepped, EngineError>>> =
            (0..commands.len()).map(|_| None).collect();
        let mut prepared = Vec::with_capacity(commands.len());
        let mut again = Vec::new();
        for (i, (no, cmd)) in commands.iter().enumerate() {
            match self.prepare(no, cmd, None, None, want_events, None).await {
                Ok(p) => prepared.push((i, p)),
                Err(Failure::Stale) => again.push(i),
                Err(Failure::Engine(e)) => results[i] = Some(Err(e)),
            }
        }
        for (i, (stepped, pending)) in prepared {
            match self.settle(&commands[i].0, pending).await {
                Ok(()) => results[i] = Some(Ok(stepped)),
                Err(EngineError::Store(StoreError::Conflict { .. })) => again.push(i),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        for i in again {
            let (no, cmd) = &commands[i];
            results[i] = Some(self.step(no, cmd, None, None, want_events, None).await);
        }
        // Every command got its result above; `ShuttingDown` is never returned from here.
        results
            .into_iter()
            .map(|r| r.unwrap_or(Err(EngineError::ShuttingDown)))
            .collect()
    }

    /// The error after the retries were spent: the case kept moving under this command.
    pub(super) async fn conflict(&self, case_no: &CaseNo) -> EngineError {
        let found = self.inner.store.version(case_no).await.ok().flatten();
        StoreError::Conflict {
            case_no: case_no.clone(),
            expected: 0,
            found: found.unwrap_or(0),
        }
        .into()
    }

    /// Waits for a prepared command's commit; on failure the case's memory copy, now ahead
    /// of the store, is dropped so the next use reloads it.
    pub(super) async fn settle(
        &self,
        case_no: &CaseNo,
        pending: impl std::future::Future<Output = Result<(), StoreError>>,
    ) -> Result<(), EngineError> {
        let result = pending.await;
        let failed = &self.inner.write_failed;
        match &result {
            Err(StoreError::Unavailable { .. }) => {
                let ms = self.inner.started.elapsed().as_millis();
                failed.store(
                    u64::try_from(ms).unwrap_or(u64::MAX).max(1),
                    Ordering::Relaxed,
                );
            }
            Ok(()) if failed.load(Ordering::Relaxed) != 0 => failed.store(0, Ordering::Relaxed),
            _ => {}
        }
        if let Err(e) = result {
            self.shard(case_no)
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(case_no);
            return Err(e.into());
        }
        Ok(())
    }

    /// Decides, applies and hands the commit to the store (ordered now), without waiting for
    /// it: the returned future resolves when the commit is durable. Effects must wait for it.
    /// A refusal decided on a cached copy that is behind the store is [`Failure::Stale`].
    pub(super) async fn prepare(
        &self,
        case_no: &CaseNo,
        command: &Command,
        new_case: Option<Arc<Blueprint>>,
        key: Option<String>,
        want_events: bool,
        at: Option<jiff::Timestamp>,
    ) -> Result<
        (
            Stepped,
            impl std::future::Future<Output = Result<(), StoreError>> + Send + 'static + use<S>,
        ),
        Failure,
    > {
        // Make sure the case is in memory before taking the shard lock (a closed case is
        // loaded for this command only: commands on closed cases are refused or, like a
        // revocation, still apply).
        let mut loaded = None;
        if new_case.is_none() {
            let present = self
                .shard(case_no)
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains_key(case_no);
            if !present {
                loaded = Some(self.load(case_no).await?);
            }
        }
        let cached = new_case.is_none() && loaded.is_none();
        let now = at.unwrap_or_else(|| self.inner.clock.now());
        let (events, effects, closed, pending, refused) = {
            let mut shard = self
                .shard(case_no)
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !shard.contains_key(case_no) {
                self.make_room(&mut shard, case_no);
            }
            if new_case.is_some()
                && let Some(taken) = shard.get(case_no).filter(|s| s.version > 0)
            {
                // The number is a stored case's (another node's, cached here): the caller
                // moves its numbering on, as when the store refuses the number.
                return Err(Failure::Engine(
                    StoreError::Conflict {
                        case_no: case_no.clone(),
                        expected: 0,
                        found: taken.version,
                    }
                    .into(),
                ));
            }
            let state = match &new_case {
                Some(bp) => shard
                    .entry(case_no.clone())
                    .or_insert_with(|| self.new_state(case_no, bp.clone())),
                None => match loaded {
                    Some(state) => shard.entry(case_no.clone()).or_insert(state),
                    None => match shard.get_mut(case_no) {
                        Some(s) => s,
                        // Dropped between the check and here: decide again.
                        None => return Err(Failure::Stale),
                    },
                },
            };
            let expected = state.version;
            let before = (expected > 0).then(|| marks_of(state));
            match decide_in_place(state, command, now) {
                Ok(events) => {
                    let effects = effects_of(state, &events);
                    let timer = crate::machine::next_timer(state);
                    let summary = summary_of(state, timer);
                    // A migration renumbers the tasks: every row is written again, and
                    // rows of units that are gone are removed.
                    let migrated = events
                        .iter()
                        .any(|e| matches!(e.kind, crate::event::EventKind::CaseMigrated { .. }));
                    let marks = if migrated { None } else { before.as_deref() };
                    let tasks = rows_of(state, marks, |d| self.pushes(d, &state.region));
                    let removed_tasks = match (&before, migrated) {
                        (Some(b), true) => {
                            let now = marks_of(state);
                            b.iter()
                                .map(|(r, _)| *r)
                                .filter(|r| !now.iter().any(|(n, _)| n == r))
                                .collect()
                        }
                        _ => Vec::new(),
                    };
                    let is_closed = state.is_closed();
                    let (for_store, returned) = if want_events {
                        (events.clone(), events)
                    } else {
                        (events, Vec::new())
                    };
                    let pending = self.inner.store.append(Commit {
                        case_no: case_no.clone(),
                        expected_version: expected,
                        lineage: state.lineage,
                        events: for_store,
                        summary,
                        idempotency_key: key,
                        tasks,
                        removed_tasks,
                    });
                    let closed = if is_closed && !self.inner.keep_closed {
                        shard.remove(case_no)
                    } else {
                        None
                    };
                    (returned, effects, closed, Some(pending), None)
                }
                Err(rejection) => {
                    let fresh = new_case.is_some() && state.version == 0;
                    if fresh || (state.is_closed() && !self.inner.keep_closed) {
                        shard.remove(case_no);
                    }
                    (
                        Vec::new(),
                        Vec::new(),
                        None,
                        None,
                        Some((rejection, expected)),
                    )
                }
            }
        };
        if let Some((rejection, version)) = refused {
            // A copy from the cache may be behind the store (another node moved the case):
            // then it is dropped and the command decided again on the stored case.
            if cached && self.inner.store.version(case_no).await? != Some(version) {
                self.shard(case_no)
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(case_no);
                return Err(Failure::Stale);
            }
            return Err(Failure::Engine(rejection.into()));
        }
        let pending = pending.ok_or(Failure::Stale)?;
        Ok((
            Stepped {
                events,
                effects,
                closed,
            },
            pending,
        ))
    }

    /// Whether a department's units of a case in `region` go to its adapter (not the queue).
    pub(super) fn pushes(&self, department: &str, region: &str) -> bool {
        self.adapter(department).is_some_and(|a| !a.queues(region))
    }
}
