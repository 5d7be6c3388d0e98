//! Errors of calendar queries ([`CalendarError`]) and of loading calendar files ([`LoadError`]).

use std::io;
use std::path::PathBuf;

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};

use super::CalendarId;

/// A calendar query that cannot be answered.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CalendarError {
    /// The answer depends on a day outside the years the calendar knows. Holidays are only
    /// published a year ahead, so this is never answered with a weekends-only guess: add the
    /// year's calendar file (see `docs/calendar.md`).
    #[error(
        "calendar `{calendar}` does not know {date}: it covers {first_year} to {last_year}; \
         add a calendar file for {year}",
        year = date.year()
    )]
    BeyondKnownYears {
        /// The calendar asked.
        calendar: CalendarId,
        /// The first day that was needed and is not known.
        date: Date,
        /// The first year the calendar knows.
        first_year: i16,
        /// The last year the calendar knows.
        last_year: i16,
    },
    /// A pause resumes before it started.
    #[error("a pause resumes at {resumed}, before it started at {paused}")]
    PauseResumedBeforeStart {
        /// When the pause started.
        paused: Timestamp,
        /// When it resumed.
        resumed: Timestamp,
    },
    /// The end of a day cannot be represented as an instant (only at the limits of the
    /// supported date range).
    #[error("the end of {date} cannot be represented in the calendar's time zone")]
    EndOfDay {
        /// The day.
        date: Date,
        /// What the time library reported.
        #[source]
        source: jiff::Error,
    },
}

/// A calendar file or folder that cannot be loaded. Each variant names the file at fault,
/// where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// There is no built-in calendar with this id.
    #[error("there is no built-in calendar `{id}` (built in: cn)")]
    UnknownBuiltin {
        /// The id asked for.
        id: CalendarId,
    },
    /// A file or folder could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not valid YAML for the calendar format (syntax, a missing or unknown key,
    /// a malformed date, a duplicate key).
    #[error("{}: not a valid calendar file", origin.display())]
    Parse {
        /// The file.
        origin: PathBuf,
        /// The parser's report, with line and column.
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// The `id` is empty or has characters other than ASCII letters, digits, `-` and `_`.
    #[error("{}: calendar id `{id}` must be ASCII letters, digits, `-` or `_`", origin.display())]
    InvalidId {
        /// The file.
        origin: PathBuf,
        /// The id as written.
        id: CalendarId,
    },
    /// The `time_zone` is not a time zone name known to the time zone database.
    #[error("{}: unknown time zone `{name}`", origin.display())]
    UnknownTimeZone {
        /// The file.
        origin: PathBuf,
        /// The name as written.
        name: String,
        /// What the time library reported.
        #[source]
        source: jiff::Error,
    },
    /// The file lists no year.
    #[error("{}: `years` is empty", origin.display())]
    NoYears {
        /// The file.
        origin: PathBuf,
    },
    /// A year key outside the supported range.
    #[error("{}: year {year} is out of range", origin.display())]
    YearOutOfRange {
        /// The file.
        origin: PathBuf,
        /// The year key.
        year: i16,
    },
    /// The calendar's years have a gap, which would leave a year silently unknown.
    #[error(
        "{}: calendar `{calendar}` has no entry for {year}, between {first_year} and {last_year}",
        origin.display()
    )]
    MissingYear {
        /// The file whose years were being added.
        origin: PathBuf,
        /// The calendar.
        calendar: CalendarId,
        /// The missing year.
        year: i16,
        /// The first year present.
        first_year: i16,
        /// The last year present.
        last_year: i16,
    },
    /// A holiday whose `to` is before its `from`.
    #[error("{}: holiday {name} of {year} ends ({to}) before it starts ({from})", origin.display())]
    HolidayEndsBeforeStart {
        /// The file.
        origin: PathBuf,
        /// The year key.
        year: i16,
        /// The holiday.
        name: String,
        /// Its first day.
        from: Date,
        /// Its last day.
        to: Date,
    },
    /// A date too far from its year key: it must fall in that year, the December before or
    /// the January after.
    #[error("{}: {date} is listed under {year}: only December {prev} to January {next} may be", origin.display(), prev = year - 1, next = year + 1)]
    DateOutsideYear {
        /// The file.
        origin: PathBuf,
        /// The year key.
        year: i16,
        /// The date.
        date: Date,
    },
    /// A make-up working day (调休上班) that is not a Saturday or Sunday.
    #[error("{}: make-up working day {date} is a {weekday:?}, not a Saturday or Sunday", origin.display())]
    MakeUpDayNotWeekend {
        /// The file.
        origin: PathBuf,
        /// The date.
        date: Date,
        /// Its weekday.
        weekday: Weekday,
    },
    /// A make-up working day whose `for` names no holiday of its year.
    #[error("{}: make-up working day {date} is for `{holiday}`, which is not a holiday of {year}", origin.display())]
    UnknownHolidayForMakeUpDay {
        /// The file.
        origin: PathBuf,
        /// The year key.
        year: i16,
        /// The date.
        date: Date,
        /// The name in `for`.
        holiday: String,
    },
    /// A day listed both as a make-up working day and inside a holiday.
    #[error("{}: {date} is both a make-up working day and part of holiday {holiday}", origin.display())]
    MakeUpDayIsHoliday {
        /// The file listing the make-up day.
        origin: PathBuf,
        /// The date.
        date: Date,
        /// The holiday containing it.
        holiday: String,
    },
    /// Two holidays share a day.
    #[error("{}: holidays {first} and {second} both contain {date}", origin.display())]
    OverlappingHolidays {
        /// The file listing the second holiday.
        origin: PathBuf,
        /// A shared day.
        date: Date,
        /// The holiday listed first.
        first: String,
        /// The holiday listed second.
        second: String,
    },
    /// A make-up working day listed twice.
    #[error("{}: make-up working day {date} is listed twice", origin.display())]
    DuplicateMakeUpDay {
        /// The file listing it the second time.
        origin: PathBuf,
        /// The date.
        date: Date,
    },
    /// Two files of one folder define the same year of the same calendar, so neither can win.
    #[error(
        "calendar `{calendar}` year {year} is defined in both {} and {}",
        first.display(),
        second.display()
    )]
    DuplicateYear {
        /// The calendar.
        calendar: CalendarId,
        /// The year.
        year: i16,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// A file adds years to a loaded calendar but declares another time zone.
    #[error(
        "{}: calendar `{calendar}` is in time zone {expected}, but this file says {found}",
        origin.display()
    )]
    TimeZoneMismatch {
        /// The file.
        origin: PathBuf,
        /// The calendar.
        calendar: CalendarId,
        /// The time zone already loaded.
        expected: String,
        /// The time zone in this file.
        found: String,
    },
}
