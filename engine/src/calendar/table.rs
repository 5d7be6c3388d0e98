//! The precomputed day table: one entry per day of the known years, as running counts of
//! working days, so a query is a lookup or a binary search.
//!
//! Days are addressed by *offset*: 0 is 1 January of the first known year. Offsets outside
//! `0..len` are outside the known years; callers turn them into `BeyondKnownYears`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use jiff::SignedDuration;
use jiff::civil::{Date, date};

use super::file::Year;
use super::{CalendarId, LoadError};

const SECONDS_PER_DAY: i64 = 86_400;
const EPOCH: Date = date(1970, 1, 1);

/// Days since 1970-01-01 (civil dates have no time zone, so every day is 86 400 s long).
fn day_number(date: Date) -> i64 {
    date.duration_since(EPOCH)
        .as_secs()
        .div_euclid(SECONDS_PER_DAY)
}

/// The working days of a calendar's known years.
#[derive(Debug)]
pub(super) struct DayTable {
    first_year: i16,
    last_year: i16,
    first_day: Date,
    first_number: i64,
    /// `prefix[i]` is the number of working days among offsets `0..i`; so it has one entry
    /// more than there are days, and a day `i` is a working day iff `prefix[i + 1] > prefix[i]`.
    prefix: Vec<u32>,
}

impl DayTable {
    /// Builds the table, checking what spans years: no gap between years, no day in two
    /// holidays, no make-up day inside a holiday or listed twice.
    pub(super) fn build(
        calendar: &CalendarId,
        years: &BTreeMap<i16, Year>,
        origin: &Path,
    ) -> Result<Self, LoadError> {
        let no_years = || LoadError::NoYears {
            origin: origin.to_path_buf(),
        };
        let first_year = *years.keys().next().ok_or_else(no_years)?;
        let last_year = *years.keys().next_back().ok_or_else(no_years)?;
        if let Some(year) = (first_year..=last_year).find(|y| !years.contains_key(y)) {
            return Err(LoadError::MissingYear {
                origin: origin.to_path_buf(),
                calendar: calendar.clone(),
                year,
                first_year,
                last_year,
            });
        }
        let out_of_range = |year| LoadError::YearOutOfRange {
            origin: origin.to_path_buf(),
            year,
        };
        let first_day = Date::new(first_year, 1, 1).map_err(|_| out_of_range(first_year))?;
        let last_day = Date::new(last_year, 12, 31).map_err(|_| out_of_range(last_year))?;
        let first_number = day_number(first_day);
        let len = usize::try_from(day_number(last_day) - first_number + 1)
            .map_err(|_| out_of_range(last_year))?;

        let first_weekday = i64::from(first_day.weekday().to_monday_zero_offset());
        let mut working: Vec<bool> = (0..len as i64)
            .map(|i| (first_weekday + i).rem_euclid(7) < 5)
            .collect();
        let index = |date: Date| usize::try_from(day_number(date) - first_number).ok();

        let mut holiday_days: BTreeMap<Date, &str> = BTreeMap::new();
        for year in years.values() {
            for holiday in &year.holidays {
                for number in day_number(holiday.from)..=day_number(holiday.to) {
                    let day = EPOCH + SignedDuration::from_secs(number * SECONDS_PER_DAY);
                    if let Some(first) = holiday_days.insert(day, &holiday.name) {
                        return Err(LoadError::OverlappingHolidays {
                            origin: year.origin.clone(),
                            date: day,
                            first: first.to_owned(),
                            second: holiday.name.clone(),
                        });
                    }
                    // Days of an adjacent, unknown year are checked but not stored.
                    if let Some(slot) = index(day).and_then(|i| working.get_mut(i)) {
                        *slot = false;
                    }
                }
            }
        }
        let mut make_up_days = BTreeSet::new();
        for year in years.values() {
            for workday in &year.workdays {
                if let Some(holiday) = holiday_days.get(&workday.date) {
                    return Err(LoadError::MakeUpDayIsHoliday {
                        origin: year.origin.clone(),
                        date: workday.date,
                        holiday: (*holiday).to_owned(),
                    });
                }
                if !make_up_days.insert(workday.date) {
                    return Err(LoadError::DuplicateMakeUpDay {
                        origin: year.origin.clone(),
                        date: workday.date,
                    });
                }
                if let Some(slot) = index(workday.date).and_then(|i| working.get_mut(i)) {
                    *slot = true;
                }
            }
        }

        let mut prefix = Vec::with_capacity(len + 1);
        let mut count = 0u32;
        prefix.push(count);
        for is_working in working {
            count += u32::from(is_working);
            prefix.push(count);
        }
        Ok(Self {
            first_year,
            last_year,
            first_day,
            first_number,
            prefix,
        })
    }

    /// The first known year.
    pub(super) fn first_year(&self) -> i16 {
        self.first_year
    }

    /// The last known year.
    pub(super) fn last_year(&self) -> i16 {
        self.last_year
    }

    /// The number of known days; valid offsets are `0..len`.
    pub(super) fn len(&self) -> i64 {
        self.prefix.len() as i64 - 1
    }

    /// The offset of any date (negative or `>= len` when outside the known years).
    pub(super) fn offset(&self, date: Date) -> i64 {
        day_number(date) - self.first_number
    }

    /// The date at any offset, or `None` past the limits of the date type.
    pub(super) fn date_at(&self, offset: i64) -> Option<Date> {
        let seconds = offset.checked_mul(SECONDS_PER_DAY)?;
        self.first_day
            .checked_add(SignedDuration::from_secs(seconds))
            .ok()
    }

    /// The running count before `index`, for `index` in `0..=len`.
    fn prefix(&self, index: i64) -> Option<u32> {
        self.prefix.get(usize::try_from(index).ok()?).copied()
    }

    /// Whether the day at `offset` is a working day; `None` outside the known years.
    pub(super) fn is_working(&self, offset: i64) -> Option<bool> {
        Some(self.prefix(offset + 1)? > self.prefix(offset)?)
    }

    /// Working days in the offsets `(after, through]`; `None` unless
    /// `-1 <= after <= through < len`.
    pub(super) fn count(&self, after: i64, through: i64) -> Option<u32> {
        if after > through {
            return None;
        }
        Some(self.prefix(through + 1)? - self.prefix(after + 1)?)
    }

    /// The offset of the `n`th working day after offset `after` (`n >= 1`,
    /// `-1 <= after < len`); `None` when the known years end first.
    pub(super) fn nth_after(&self, after: i64, n: u32) -> Option<i64> {
        let target = u64::from(self.prefix(after + 1)?) + u64::from(n);
        // The first running count reaching `target` stands just after the day that reached it.
        let reached = self.prefix.partition_point(|&p| u64::from(p) < target);
        if reached >= self.prefix.len() || n == 0 {
            return None;
        }
        Some(reached as i64 - 1)
    }

    /// The offset of the last working day before offset `before` (`0 <= before <= len`);
    /// `None` when there is none in the known years.
    pub(super) fn last_before(&self, before: i64) -> Option<i64> {
        let target = self.prefix(before)?;
        if target == 0 {
            return None;
        }
        let reached = self.prefix.partition_point(|&p| p < target);
        Some(reached as i64 - 1)
    }
}
