//! The engine's public commands and reads: deploy, submit and propose, execute and its
//! shorthands (complete, withdraw), case views and events, recovery at start.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use sha2::{Digest, Sha256};

use super::{
    DeployResult, Engine, EngineError, KEY_LOCKS, SubmitRequest, Want, hex, region_of, work_of,
};
use crate::command::{Action, Command, Submission};
use crate::event::Event;
use crate::ids::{Actor, CaseNo, TaskRef};
use crate::store::{Deployed, DeployedBundle, Store, StoreError};
use crate::view::CaseView;

/// How often a creation is tried with a fresh number after another node took the one it
/// had.
const MAX_TRIES: u32 = 8;
/// The most a node's case counter jumps after a number collision with another node.
const JUMP: u64 = 1_000;

impl<S: Store> Engine<S> {
    /// Checks and deploys a bundle text. id+version is immutable: the same text again is
    /// accepted unchanged, other text for a deployed id+version is refused.
    ///
    /// # Errors
    /// `InvalidBundle` with every finding, or a store error (`BundleExists`).
    pub async fn deploy(&self, yaml: &str) -> Result<DeployResult, EngineError> {
        let (bp, warnings) = yijian_definitions::compile(yaml, &self.inner.check)
            .map_err(|diagnostics| EngineError::InvalidBundle { diagnostics })?;
        let hash = hex(&Sha256::digest(yaml.as_bytes()));
        let outcome = self
            .inner
            .store
            .deploy(DeployedBundle {
                id: bp.id.to_string(),
                version: bp.version,
                yaml: yaml.to_owned(),
                hash,
            })
            .await?;
        let created = outcome == Deployed::Created;
        // A running case keeps the blueprint it started with; only new cases see this one.
        if created || self.blueprint(&bp.id, Some(bp.version)).is_none() {
            self.register_blueprint(bp.clone());
        }
        let blueprint = self.blueprint(&bp.id, Some(bp.version)).unwrap_or(bp);
        Ok(DeployResult {
            id: blueprint.id.to_string(),
            version: blueprint.version,
            created,
            warnings,
            blueprint,
        })
    }

    /// Submits an application: validated, accepted, and its first tasks dispatched.
    ///
    /// # Idempotency
    /// A submission whose `idempotency_key` already created a case creates nothing and
    /// returns the case **as its submission left it**: the replay of the events of the
    /// case's first commit (the store keeps their count), not the case as it stands now,
    /// so a repeat after the case moved on — and after a restart — answers what the first
    /// call answered. Two differences remain: decisions that adapters made at once during
    /// the first call, which its answer showed, are not in the repeat's (they were later
    /// commits); and a case created before the store kept the count is returned as it
    /// stands. Repeats with one key are serialised, so a repeat racing the first call
    /// waits for it.
    ///
    /// # Errors
    /// `UnknownBundle`, a rejection (every problem with the form and materials at once), a
    /// store error.
    pub async fn submit(&self, mut req: SubmitRequest) -> Result<CaseView, EngineError> {
        let submission = std::mem::take(&mut req.submission);
        self.create(req, Action::Submit(submission)).await
    }

    /// Creates a case with its first command (a submission or a proposal).
    async fn create(&self, req: SubmitRequest, action: Action) -> Result<CaseView, EngineError> {
        let bp =
            self.blueprint(&req.bundle, req.version)
                .ok_or_else(|| EngineError::UnknownBundle {
                    id: req.bundle.clone(),
                    version: req.version,
                })?;
        // Submissions with the same key are serialised, so a repeat sees the first one's case.
        let _key_guard = match &req.idempotency_key {
            Some(key) => Some(self.inner.key_locks[self.slot(key, KEY_LOCKS)].lock().await),
            None => None,
        };
        if let Some(key) = &req.idempotency_key
            && let Some(existing) = self.inner.store.case_for_key(key).await?
        {
            return self.first_answer(existing).await;
        }
        let actor = req.actor.clone().unwrap_or(Actor::Applicant);
        let command = Command::new(actor, action);
        // Another node sharing the store may have taken the number (or, racing, the key):
        // then the number moves past every stored case and the creation is tried again.
        let mut tries = 0;
        loop {
            let now = self.inner.clock.now();
            let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed) + 1;
            let case_no = self
                .inner
                .numbering
                .next(region_of(&command.action), &bp.id, now, seq);
            let result = self
                .run(
                    case_no.clone(),
                    &command,
                    Some(bp.clone()),
                    req.idempotency_key.clone(),
                    Want::View,
                    None,
                )
                .await;
            match result {
                Ok((_, Some(v))) => return Ok(v),
                Ok((_, None)) => return self.case(&case_no).await,
                Err(EngineError::Store(StoreError::Conflict { .. })) if tries < MAX_TRIES => {
                    tries += 1;
                    if let Some(key) = &req.idempotency_key
                        && let Some(existing) = self.inner.store.case_for_key(key).await?
                    {
                        return self.first_answer(existing).await;
                    }
                    let stored = self.inner.store.case_count().await?;
                    self.inner.seq.fetch_max(stored, Ordering::Relaxed);
                    // Nodes that collided walk the same numbers next: a random jump (up to
                    // JUMP) moves this one apart, so they rarely meet again.
                    let jump = std::hash::BuildHasher::hash_one(
                        &self.inner.hasher,
                        (now, tries, &case_no),
                    ) % JUMP;
                    self.inner.seq.fetch_add(jump, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Executes a command on an existing case, and every decision adapters make at once.
    ///
    /// # Errors
    /// `UnknownCase`, a rejection, a store error.
    pub async fn execute(
        &self,
        case_no: &CaseNo,
        command: Command,
    ) -> Result<Vec<Event>, EngineError> {
        Ok(self
            .run(case_no.clone(), &command, None, None, Want::Events, None)
            .await?
            .0)
    }

    /// A department's decision on a task named `licence` or `partner_check[1]`.
    ///
    /// # Errors
    /// As [`Engine::execute`], and `UnknownTask` for a name not in the bundle.
    pub async fn complete(
        &self,
        case_no: &CaseNo,
        task: &str,
        actor: Actor,
        decision: crate::adapter::Decision,
    ) -> Result<Vec<Event>, EngineError> {
        let r = self.task_ref(case_no, task).await?;
        self.execute(case_no, Command::new(actor, decision.into_action(r)))
            .await
    }

    /// The applicant withdraws the case (`tasks: None`) or some tasks.
    ///
    /// # Errors
    /// As [`Engine::execute`].
    pub async fn withdraw(
        &self,
        case_no: &CaseNo,
        tasks: Option<&[&str]>,
        reason: &str,
    ) -> Result<Vec<Event>, EngineError> {
        let tasks = match tasks {
            None => None,
            Some(names) => {
                let mut refs = Vec::with_capacity(names.len());
                for n in names {
                    refs.push(self.task_ref(case_no, n).await?);
                }
                Some(refs)
            }
        };
        self.execute(
            case_no,
            Command::new(
                Actor::Applicant,
                Action::Withdraw {
                    tasks,
                    reason: reason.to_owned(),
                },
            ),
        )
        .await
    }

    /// Resolves a task name against a case's bundle.
    ///
    /// # Errors
    /// `UnknownCase`, `UnknownTask`, a store error.
    pub async fn task_ref(&self, case_no: &CaseNo, task: &str) -> Result<TaskRef, EngineError> {
        // A case's bundle never changes: a cached copy answers.
        let bp = self.with_cached(case_no, |s| s.blueprint.clone()).await?;
        TaskRef::parse(&bp, task).ok_or_else(|| EngineError::UnknownTask {
            case_no: case_no.clone(),
            task: task.to_owned(),
        })
    }

    /// A case as it stands.
    ///
    /// # Errors
    /// `UnknownCase`, a store error.
    pub async fn case(&self, case_no: &CaseNo) -> Result<CaseView, EngineError> {
        self.with_case(case_no, CaseView::of).await
    }

    /// Reads a case as the store has it now: `f` runs on its state (the cached copy when
    /// it is current, else replayed). For views the [`CaseView`] does not give, e.g. a
    /// unit's lease holder.
    ///
    /// # Errors
    /// `UnknownCase`, a store error.
    pub async fn inspect<T>(
        &self,
        case_no: &CaseNo,
        f: impl FnOnce(&crate::case::CaseState) -> T,
    ) -> Result<T, EngineError> {
        self.with_case(case_no, f).await
    }

    /// What an application to `bundle` would become if taken now (nothing is stored): see
    /// [`crate::preview`].
    ///
    /// # Errors
    /// `UnknownBundle`.
    pub fn preview(
        &self,
        bundle: &str,
        version: Option<u32>,
        submission: &crate::command::Submission,
    ) -> Result<crate::preview::Preview, EngineError> {
        let bp = self
            .blueprint(bundle, version)
            .ok_or_else(|| EngineError::UnknownBundle {
                id: bundle.to_owned(),
                version,
            })?;
        let state = self.new_state(&CaseNo::new("preview"), bp);
        Ok(crate::preview::preview(
            state,
            submission,
            self.inner.clock.now(),
        ))
    }

    /// Why a case waits now: see [`crate::why`].
    ///
    /// # Errors
    /// `UnknownCase`, a store error.
    pub async fn why(&self, case_no: &CaseNo) -> Result<crate::why::Why, EngineError> {
        let now = self.inner.clock.now();
        self.with_case(case_no, |s| crate::why::why(s, now)).await
    }

    /// A case's events, oldest first (the audit trail).
    ///
    /// # Errors
    /// `UnknownCase`, a store error.
    pub async fn events(&self, case_no: &CaseNo) -> Result<Vec<Event>, EngineError> {
        match self.inner.store.read(case_no).await? {
            Some((summary, mut events)) => {
                // Migrated cases' events carry the blueprint they switch to, so that a
                // reader can name tasks (`machine::blueprints_along`).
                self.pin_events(&summary, &mut events).await?;
                Ok(events)
            }
            None => Err(EngineError::UnknownCase {
                case_no: case_no.clone(),
            }),
        }
    }

    /// Hands the units dispatched to departments with an adapter, and not leased, to their
    /// adapters again (delivery is at least once; each hand-over names its attempt). Run it
    /// at start: units of a node that stopped between a commit and its pushes are pushed by
    /// whichever node starts next. Units of queue-bound departments need nothing: they wait
    /// in the store. Cases are read only for the units found, never all open cases. Returns
    /// how many units were handed over.
    ///
    /// # Errors
    /// A store error, or a case whose bundle is not deployed.
    pub async fn recover(&self) -> Result<usize, EngineError> {
        const MOST: usize = 100_000;
        // Open cases written before the store kept task rows get theirs, once.
        for case_no in self.inner.store.unindexed(MOST).await? {
            self.write_rows(&case_no).await?;
        }
        let departments = self.adapter_departments();
        let now = self.inner.clock.now();
        // Every unanswered pushed unit, its hold ignored: the node holding it may be the one
        // starting again. Units leased to a worker are left to their lease (below).
        let units = self
            .inner
            .store
            .dispatched(&departments, jiff::Timestamp::MAX, MOST)
            .await?;
        let mut n = 0;
        for unit in units {
            let work = self.pending_work(&unit, now).await?;
            let Some(w) = work else { continue };
            n += 1;
            let mut queue = VecDeque::new();
            self.hand_over(&w, &mut queue);
            self.drain(queue).await;
        }
        Ok(n)
    }

    /// The departments with an adapter.
    pub(super) fn adapter_departments(&self) -> Vec<String> {
        let adapters = self
            .inner
            .adapters
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        adapters.keys().cloned().collect()
    }

    /// The work of a unit still dispatched and not leased at `now`, as its case stands.
    pub(super) async fn pending_work(
        &self,
        unit: &crate::store::Claimed,
        now: jiff::Timestamp,
    ) -> Result<Option<crate::adapter::Work>, EngineError> {
        self.with_case(&unit.case_no, |s| {
            let u = s.unit(unit.task)?;
            Self::queueable(s, unit.task, now).then(|| {
                work_of(
                    s,
                    unit.task,
                    u.attempts,
                    u.input.clone().unwrap_or_default(),
                    u.dispatched_at.unwrap_or_default(),
                )
            })
        })
        .await
    }

    /// Writes every unit row and the timer of a case whose rows are missing (a case stored
    /// before the work tables), with an empty commit at its version.
    async fn write_rows(&self, case_no: &CaseNo) -> Result<(), EngineError> {
        let state = self.replayed(case_no).await?;
        let commit = crate::store::Commit {
            case_no: case_no.clone(),
            expected_version: state.version,
            // Decided on a replay, not on a copy kept in memory: nothing builds on it.
            lineage: 0,
            events: Vec::new(),
            summary: super::summary_of(&state, crate::machine::next_timer(&state)),
            idempotency_key: None,
            tasks: super::rows_of(&state, None, |d| self.pushes(d, &state.region)),
            removed_tasks: Vec::new(),
        };
        match self.inner.store.append(commit).await {
            // Another node wrote the case meanwhile, rows included.
            Ok(()) | Err(StoreError::Conflict { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A data event proposes a case (免申即享). Idempotent on `source` + `event_id`: the same
    /// event again returns the case as the proposal left it (as for a repeated
    /// [`Engine::submit`]).
    ///
    /// # Errors
    /// `UnknownBundle`, a rejection (the bundle takes no proposals, an invalid form), a store
    /// error.
    pub async fn propose(
        &self,
        bundle: &str,
        submission: Submission,
        source: &str,
        event_id: &str,
    ) -> Result<CaseView, EngineError> {
        let action = Action::Propose {
            submission,
            source: source.to_owned(),
            event_id: event_id.to_owned(),
        };
        let req = SubmitRequest {
            bundle: bundle.to_owned(),
            idempotency_key: Some(format!("trigger:{source}:{event_id}")),
            actor: Some(Actor::Trigger(Arc::from(source))),
            ..SubmitRequest::default()
        };
        self.create(req, action).await
    }
}
