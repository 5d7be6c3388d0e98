//! Bodies of `POST /v1/bundles/{id}/migrations`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// A migration of running cases to another version of their bundle.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrationBody {
    /// The version the cases run on.
    pub from_version: u32,
    /// The version to move them to (deployed already).
    pub to_version: u32,
    /// These cases only; else every open case of the bundle on `from_version` within
    /// the token's region (a page of `limit`, from after `after`).
    #[serde(default)]
    pub cases: Option<Vec<String>>,
    /// Renamed tasks: old id → new id (other tasks map by the same id).
    #[serde(default)]
    pub mapping: BTreeMap<String, String>,
    /// Only say what would happen (default **true**: a real run says `false`).
    #[serde(default = "yes")]
    pub dry_run: bool,
    /// Why (recorded on each case; default "迁移至第 N 版").
    #[serde(default)]
    pub reason: Option<String>,
    /// Go on after this case number (the `next` of the previous answer).
    #[serde(default)]
    pub after: Option<String>,
    /// At most this many cases in one call, 1..=1000 (default 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

fn yes() -> bool {
    true
}

/// What the migration did (or, as a dry run, would do), case by case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MigrationAnswer {
    /// The bundle.
    pub bundle: String,
    /// From this version.
    pub from_version: u32,
    /// To this one.
    pub to_version: u32,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// Cases migrated (dry run: that would be).
    pub migratable: usize,
    /// Cases that stay on their version, each with its reasons.
    pub not_migratable: usize,
    /// Per case: `case_no`, `migratable`, `reasons`, `tasks` (each `task`, `change`
    /// kept/renamed/added/removed, `to`, `status`, `after`, `clock` kept/new,
    /// `time_limit`, `was`), `due` and `statutory_due` (`before`, `after`); a case that
    /// stays has `reasons` and `error: {code: not_migratable, message}`.
    #[schema(value_type = Vec<Object>)]
    pub cases: Vec<Value>,
    /// Send it as `after` to go on; absent: every case was seen.
    pub next: Option<String>,
}
