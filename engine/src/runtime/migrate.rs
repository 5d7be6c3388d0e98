//! Migration of running cases, one case per call: the dry run ([`crate::migrate::plan`] on
//! the stored case) and the real run (the same command decided and committed, in its own
//! transaction). A case already moved is refused by the command itself, so a run that was
//! interrupted is resumed by running it again.

use std::collections::BTreeMap;

use super::{Engine, EngineError};
use crate::command::{Action, Command};
use crate::event::Pinned;
use crate::ids::{Actor, CaseNo};
use crate::migrate::Plan;
use crate::rejection::Rejection;
use crate::store::Store;

impl<S: Store> Engine<S> {
    /// Migrates case `case_no` to version `to` of its bundle (`mapping`: renamed tasks,
    /// old id → new id), or with `dry_run` only says what that would do. A case that
    /// cannot move is answered with its reasons, not an error, and is left as it is.
    ///
    /// # Errors
    /// `UnknownCase`, `UnknownBundle` (no such version), a store error.
    pub async fn migrate(
        &self,
        case_no: &CaseNo,
        to: u32,
        mapping: &BTreeMap<String, String>,
        actor: Actor,
        reason: &str,
        dry_run: bool,
    ) -> Result<Plan, EngineError> {
        let state = self.replayed(case_no).await?;
        let bp = self.blueprint_version(&state.blueprint.id, to).await?;
        let plan = crate::migrate::plan(&state, &bp, mapping, reason, self.inner.clock.now());
        self.run_plan(case_no, plan, bp, mapping, actor, reason, dry_run)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_plan(
        &self,
        case_no: &CaseNo,
        plan: Plan,
        bp: std::sync::Arc<yijian_definitions::Blueprint>,
        mapping: &BTreeMap<String, String>,
        actor: Actor,
        reason: &str,
        dry_run: bool,
    ) -> Result<Plan, EngineError> {
        if dry_run || !plan.migratable {
            return Ok(plan);
        }
        let cmd = Command::new(
            actor,
            Action::Migrate {
                to: Pinned(bp),
                mapping: mapping.clone(),
                reason: reason.to_owned(),
            },
        );
        match self.execute(case_no, cmd).await {
            Ok(_) => Ok(plan),
            // Moved on meanwhile (by another run, or a task dispatched since the plan).
            Err(EngineError::Rejected(Rejection::NotMigratable { reasons })) => Ok(Plan {
                migratable: false,
                reasons,
                ..plan
            }),
            Err(e) => Err(e),
        }
    }

    /// The open cases of `bundle` running `version`, in case-number order after `after`:
    /// up to `limit` of them, and where to go on from (none: that was all).
    ///
    /// # Errors
    /// A store error.
    pub async fn cases_on(
        &self,
        bundle: &str,
        version: u32,
        after: Option<&CaseNo>,
        limit: usize,
    ) -> Result<(Vec<CaseNo>, Option<CaseNo>), EngineError> {
        const PAGE: usize = 1_000;
        let mut out = Vec::new();
        let mut cursor = after.cloned();
        loop {
            let page = self.inner.store.cases(cursor.as_ref(), PAGE).await?;
            let full = page.len() == PAGE;
            for s in page {
                cursor = Some(s.case_no.clone());
                if &*s.bundle == bundle && s.version == version && !s.closed {
                    out.push(s.case_no);
                    if out.len() == limit {
                        return Ok((out, cursor));
                    }
                }
            }
            if !full {
                return Ok((out, None));
            }
        }
    }

    /// Runs (or with `dry_run: true` plans) a migration over many cases, one case and one
    /// transaction at a time: the named cases, else the open cases of the bundle on
    /// `from` (a page of `limit` after `after`). Cases outside `scope` (a 区划代码 prefix)
    /// are left out. A case already moved, or one that moved on meanwhile, is answered
    /// not migratable: running a request again resumes it.
    ///
    /// # Errors
    /// `UnknownBundle` for a version not deployed, `InvalidMapping` for a mapping that
    /// does not fit the two versions, a store error.
    pub async fn migrate_cases(
        &self,
        req: &MigrationRequest,
        actor: Actor,
        scope: Option<&str>,
    ) -> Result<MigrationReport, EngineError> {
        let from = self.blueprint_version(&req.bundle, req.from).await?;
        let to = self.blueprint_version(&req.bundle, req.to).await?;
        let problems = crate::machine::mapping_problems(&from, &to, &req.mapping);
        if !problems.is_empty() {
            return Err(Rejection::InvalidMapping { problems }.into());
        }
        if req.from == req.to {
            return Err(Rejection::InvalidMapping {
                problems: vec![format!("from and to are both version {}", req.to)],
            }
            .into());
        }
        let (cases, next) = match &req.cases {
            Some(named) => (named.clone(), None),
            None => {
                self.cases_on(&req.bundle, req.from, req.after.as_ref(), req.limit.max(1))
                    .await?
            }
        };
        let mut plans = Vec::with_capacity(cases.len());
        for no in &cases {
            let state = self.replayed(no).await?;
            if scope.is_some_and(|p| !state.region.starts_with(p)) {
                continue;
            }
            let now = self.inner.clock.now();
            let plan = crate::migrate::plan(&state, &to, &req.mapping, &req.reason, now);
            let plan = self
                .run_plan(
                    no,
                    plan,
                    to.clone(),
                    &req.mapping,
                    actor.clone(),
                    &req.reason,
                    req.dry_run,
                )
                .await?;
            plans.push(plan);
        }
        Ok(MigrationReport { plans, next })
    }
}

/// A migration over many cases ([`Engine::migrate_cases`]).
#[derive(Debug, Clone, Default)]
pub struct MigrationRequest {
    /// The bundle.
    pub bundle: String,
    /// The version the cases run on.
    pub from: u32,
    /// The version they move to.
    pub to: u32,
    /// These cases only (else every open case of the bundle on `from`).
    pub cases: Option<Vec<CaseNo>>,
    /// Renamed tasks: old id → new id.
    pub mapping: BTreeMap<String, String>,
    /// Why (recorded on each case).
    pub reason: String,
    /// Only say what would happen.
    pub dry_run: bool,
    /// Go on after this case number (paging the open cases).
    pub after: Option<CaseNo>,
    /// At most this many cases of the bundle in one call.
    pub limit: usize,
}

/// What a migration over many cases did (or would do), case by case.
#[derive(Debug, Clone)]
pub struct MigrationReport {
    /// One plan per case, in case-number order.
    pub plans: Vec<Plan>,
    /// Where a next call goes on from (`after`); none: that was every case.
    pub next: Option<CaseNo>,
}
