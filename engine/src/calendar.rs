//! Working-day calendars: statutory holidays, make-up working days (调休上班) and the
//! time-limit arithmetic built on them.
//!
//! A [`Calendar`] knows, for each of its years, which days are working days: Monday to
//! Friday, minus the statutory holidays, plus the weekend days worked in exchange. It is
//! loaded from a YAML file (one per calendar id; `cn` is built in, taken from the State
//! Council notices) and answers the questions time limits (时限) ask:
//!
//! - [`Calendar::due_after_working_days`]: "N working days", counted from the day after
//!   acceptance (受理次日起算), ending at the end of the Nth working day;
//! - [`Calendar::due_with_pauses`]: the same with paused time (计时暂停: 补正, 特殊环节)
//!   left out;
//! - [`Calendar::due_after_calendar_days`]: "N days", moved off a rest day;
//! - [`Calendar::working_days_between`], [`Calendar::next_working_day`],
//!   [`Calendar::previous_working_day`] and [`Calendar::is_working_day`].
//!
//! The module is pure: it never reads the clock, and a date outside the known years is an
//! error ([`CalendarError::BeyondKnownYears`]), never a weekends-only guess. [`Calendars`]
//! is a registry by id that a deployment can extend from a folder of files, so a new year or
//! a region's calendar needs no new build. The file format and the rules are described for
//! process designers in `docs/calendar.md`.
//!
//! # Example
//!
//! ```
//! use jiff::Timestamp;
//! use yijian_engine::calendar::Calendar;
//!
//! let cn = Calendar::builtin("cn")?;
//! let accepted: Timestamp = "2026-02-12T10:00:00+08:00".parse()?;
//! // 02-14 is a working Saturday; 02-15 to 02-23 is the Spring Festival.
//! let due = cn.due_after_working_days(accepted, 5)?;
//! assert_eq!(due, "2026-02-26T23:59:59+08:00".parse()?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod arithmetic;
mod error;
mod file;
mod id;
mod registry;
mod table;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::Path;
use std::sync::Arc;

use jiff::tz::TimeZone;

pub use self::error::{CalendarError, LoadError};
pub use self::id::CalendarId;
pub use self::registry::Calendars;

use self::file::{Definition, Year};
use self::table::DayTable;

/// The result of a calendar query.
pub type Result<T, E = CalendarError> = std::result::Result<T, E>;

/// The calendar files built into the engine, by id.
const BUILTIN: &[(&str, &str, &str)] = &[(
    "cn",
    "engine/calendars/cn.yaml",
    include_str!("../calendars/cn.yaml"),
)];

/// A working-day calendar for a fixed range of years.
///
/// Cheap to clone (the data is shared) and `Send + Sync`. Queries are lookups in a table
/// computed when the calendar is loaded.
#[derive(Clone, Debug)]
pub struct Calendar {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    id: CalendarId,
    title: String,
    time_zone_name: String,
    time_zone: TimeZone,
    years: BTreeMap<i16, Year>,
    table: DayTable,
}

impl Calendar {
    /// The built-in calendar with this id (`cn`: the national calendar of the People's
    /// Republic of China).
    ///
    /// # Errors
    /// [`LoadError::UnknownBuiltin`] for any other id.
    pub fn builtin(id: impl AsRef<str>) -> Result<Calendar, LoadError> {
        let id = id.as_ref();
        let (_, origin, text) = BUILTIN
            .iter()
            .find(|(builtin, _, _)| *builtin == id)
            .ok_or_else(|| LoadError::UnknownBuiltin {
                id: CalendarId::new(id),
            })?;
        Calendar::from_yaml(text, origin)
    }

    /// Every built-in calendar.
    pub(crate) fn all_builtin() -> Result<Vec<Calendar>, LoadError> {
        BUILTIN
            .iter()
            .map(|(_, origin, text)| Calendar::from_yaml(text, origin))
            .collect()
    }

    /// Parses and checks a calendar file. `origin` names the file in errors.
    ///
    /// # Errors
    /// A [`LoadError`] naming `origin` and what is wrong: YAML syntax, unknown or missing
    /// keys, an unknown time zone, a holiday ending before it starts, a make-up working day
    /// that is not a weekend day or falls inside a holiday, a date far from its year, a gap
    /// between years.
    pub fn from_yaml(text: &str, origin: impl AsRef<Path>) -> Result<Calendar, LoadError> {
        Calendar::from_definition(file::parse(text, origin.as_ref())?)
    }

    fn from_definition(definition: Definition) -> Result<Calendar, LoadError> {
        let Definition {
            origin,
            id,
            title,
            time_zone_name,
            time_zone,
            years,
        } = definition;
        let table = DayTable::build(&id, &years, &origin)?;
        Ok(Calendar {
            inner: Arc::new(Inner {
                id,
                title,
                time_zone_name,
                time_zone,
                years,
                table,
            }),
        })
    }

    /// This calendar with the years of `definition` added, replacing years it already has.
    /// The title becomes the definition's; the time zone must be the same.
    fn extended(&self, definition: Definition) -> Result<Calendar, LoadError> {
        if definition.time_zone_name != self.inner.time_zone_name {
            return Err(LoadError::TimeZoneMismatch {
                origin: definition.origin,
                calendar: definition.id,
                expected: self.inner.time_zone_name.clone(),
                found: definition.time_zone_name,
            });
        }
        let mut years = self.inner.years.clone();
        years.extend(definition.years);
        Calendar::from_definition(Definition {
            years,
            ..definition
        })
    }

    /// The calendar's id.
    pub fn id(&self) -> &CalendarId {
        &self.inner.id
    }

    /// The calendar's human-readable title.
    pub fn title(&self) -> &str {
        &self.inner.title
    }

    /// The time zone whose local dates the calendar counts (`Asia/Shanghai` for `cn`).
    pub fn time_zone(&self) -> &TimeZone {
        &self.inner.time_zone
    }

    /// The years the calendar knows, first to last, without gaps.
    pub fn known_years(&self) -> RangeInclusive<i16> {
        self.inner.table.first_year()..=self.inner.table.last_year()
    }

    /// Where a known year's holidays come from (the notice: name, document number, date), for
    /// display next to a computed time limit.
    pub fn source(&self, year: i16) -> Option<&str> {
        self.inner.years.get(&year).map(|y| y.source.as_str())
    }

    /// The file a known year was loaded from (a path inside the source tree for built-in
    /// years).
    pub fn origin(&self, year: i16) -> Option<&Path> {
        self.inner.years.get(&year).map(|y| y.origin.as_path())
    }
}
