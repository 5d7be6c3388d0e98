//! The calendar file format: serde structs and the checks that need only one file.
//!
//! Checks across years (overlaps, gaps) run when the day table is built, because a folder
//! may add years to a calendar loaded from another file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::Deserialize;

use super::{CalendarId, LoadError};

/// A whole calendar file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    id: CalendarId,
    title: String,
    time_zone: String,
    years: BTreeMap<i16, YearFile>,
}

/// One year's arrangement, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    source: String,
    holidays: Vec<Holiday>,
    workdays: Vec<MakeUpDay>,
}

/// A statutory holiday: every day from `from` to `to` inclusive is a rest day.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Holiday {
    pub(super) name: String,
    pub(super) from: Date,
    pub(super) to: Date,
}

/// A make-up working day (调休上班): a Saturday or Sunday that is worked.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MakeUpDay {
    pub(super) date: Date,
    #[serde(rename = "for")]
    pub(super) holiday: String,
}

/// One checked year, remembering the file it came from for later error messages.
#[derive(Clone, Debug)]
pub(super) struct Year {
    pub(super) origin: PathBuf,
    pub(super) source: String,
    pub(super) holidays: Vec<Holiday>,
    pub(super) workdays: Vec<MakeUpDay>,
}

/// A parsed calendar file whose years each passed the single-file checks.
#[derive(Debug)]
pub(super) struct Definition {
    pub(super) origin: PathBuf,
    pub(super) id: CalendarId,
    pub(super) title: String,
    pub(super) time_zone_name: String,
    pub(super) time_zone: TimeZone,
    pub(super) years: BTreeMap<i16, Year>,
}

/// Parses and checks one calendar file.
pub(super) fn parse(text: &str, origin: &Path) -> Result<Definition, LoadError> {
    let file: CalendarFile = serde_saphyr::from_str(text).map_err(|source| LoadError::Parse {
        origin: origin.to_path_buf(),
        source: Box::new(source),
    })?;
    if !file.id.is_well_formed() {
        return Err(LoadError::InvalidId {
            origin: origin.to_path_buf(),
            id: file.id,
        });
    }
    let time_zone =
        TimeZone::get(&file.time_zone).map_err(|source| LoadError::UnknownTimeZone {
            origin: origin.to_path_buf(),
            name: file.time_zone.clone(),
            source,
        })?;
    if file.years.is_empty() {
        return Err(LoadError::NoYears {
            origin: origin.to_path_buf(),
        });
    }
    let mut years = BTreeMap::new();
    for (year, entry) in file.years {
        check_year(year, &entry, origin)?;
        years.insert(
            year,
            Year {
                origin: origin.to_path_buf(),
                source: entry.source,
                holidays: entry.holidays,
                workdays: entry.workdays,
            },
        );
    }
    Ok(Definition {
        origin: origin.to_path_buf(),
        id: file.id,
        title: file.title,
        time_zone_name: file.time_zone,
        time_zone,
        years,
    })
}

/// The single-file checks of one year.
fn check_year(year: i16, entry: &YearFile, origin: &Path) -> Result<(), LoadError> {
    let out_of_range = || LoadError::YearOutOfRange {
        origin: origin.to_path_buf(),
        year,
    };
    // A year's arrangement may start in the December before (元旦 joined to a weekend) or
    // end in the January after; anything further is a typo in the year or the key.
    let earliest = year
        .checked_sub(1)
        .and_then(|y| Date::new(y, 12, 1).ok())
        .ok_or_else(out_of_range)?;
    let latest = year
        .checked_add(1)
        .and_then(|y| Date::new(y, 1, 31).ok())
        .ok_or_else(out_of_range)?;
    let inside = |date: Date| -> Result<(), LoadError> {
        if (earliest..=latest).contains(&date) {
            Ok(())
        } else {
            Err(LoadError::DateOutsideYear {
                origin: origin.to_path_buf(),
                year,
                date,
            })
        }
    };
    for holiday in &entry.holidays {
        inside(holiday.from)?;
        inside(holiday.to)?;
        if holiday.to < holiday.from {
            return Err(LoadError::HolidayEndsBeforeStart {
                origin: origin.to_path_buf(),
                year,
                name: holiday.name.clone(),
                from: holiday.from,
                to: holiday.to,
            });
        }
    }
    for workday in &entry.workdays {
        inside(workday.date)?;
        let weekday = workday.date.weekday();
        if !matches!(weekday, Weekday::Saturday | Weekday::Sunday) {
            return Err(LoadError::MakeUpDayNotWeekend {
                origin: origin.to_path_buf(),
                date: workday.date,
                weekday,
            });
        }
        if !entry.holidays.iter().any(|h| h.name == workday.holiday) {
            return Err(LoadError::UnknownHolidayForMakeUpDay {
                origin: origin.to_path_buf(),
                year,
                date: workday.date,
                holiday: workday.holiday.clone(),
            });
        }
    }
    Ok(())
}
