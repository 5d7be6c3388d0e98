//! Time-limit arithmetic over a [`Calendar`] (domain rules 1–4 and 6 of "Working-day
//! arithmetic").
//!
//! Instants are first turned into local dates in the calendar's time zone; the counting is
//! done on day offsets in the [`DayTable`](super::table::DayTable); a due instant is the
//! last second of its local day.

use jiff::Timestamp;
use jiff::civil::Date;

use super::{Calendar, CalendarError, Result};

impl Calendar {
    /// The local date of an instant in the calendar's time zone.
    pub fn local_date(&self, at: Timestamp) -> Date {
        self.inner.time_zone.to_datetime(at).date()
    }

    /// The end of a day: 23:59:59 local time, the instant a time limit ending that day
    /// expires (the law says 24:00; the last whole second keeps the instant on the same day).
    ///
    /// # Errors
    /// [`CalendarError::EndOfDay`] only at the limits of the supported date range.
    pub fn end_of_day(&self, date: Date) -> Result<Timestamp> {
        self.inner
            .time_zone
            .to_timestamp(date.at(23, 59, 59, 0))
            .map_err(|source| CalendarError::EndOfDay { date, source })
    }

    /// Whether `date` is a working day: Monday to Friday, minus statutory holidays, plus
    /// make-up working days (调休上班).
    ///
    /// # Errors
    /// [`CalendarError::BeyondKnownYears`] outside [`Calendar::known_years`].
    pub fn is_working_day(&self, date: Date) -> Result<bool> {
        let table = &self.inner.table;
        table
            .is_working(table.offset(date))
            .ok_or_else(|| self.beyond(date))
    }

    /// The first working day after `date`.
    ///
    /// # Errors
    /// [`CalendarError::BeyondKnownYears`] if it is not within the known years.
    pub fn next_working_day(&self, date: Date) -> Result<Date> {
        let table = &self.inner.table;
        let offset = self.nth_after(table.offset(date), 1, date)?;
        Ok(self.day(offset))
    }

    /// The last working day before `date` (the yellow-warning day of a time limit due on
    /// `date`).
    ///
    /// # Errors
    /// [`CalendarError::BeyondKnownYears`] if it is not within the known years.
    pub fn previous_working_day(&self, date: Date) -> Result<Date> {
        let table = &self.inner.table;
        let before = table.offset(date);
        if before < 0 || before > table.len() {
            return Err(self.beyond_at(before - 1, date));
        }
        let offset = table
            .last_before(before)
            .ok_or_else(|| self.beyond_at(-1, date))?;
        Ok(self.day(offset))
    }

    /// The due instant of a limit of `n` working days starting at `start`: the day of
    /// `start` is not counted (受理次日起算), and the limit ends at the end of the `n`th
    /// working day after it. `n = 0` is the end of the start day.
    ///
    /// # Errors
    /// [`CalendarError::BeyondKnownYears`] if a day to count is not within the known years.
    pub fn due_after_working_days(&self, start: Timestamp, n: u32) -> Result<Timestamp> {
        let start_day = self.local_date(start);
        if n == 0 {
            return self.end_of_day(start_day);
        }
        let offset = self.nth_after(self.inner.table.offset(start_day), n, start_day)?;
        self.end_of_day(self.day(offset))
    }

    /// Like [`Calendar::due_after_working_days`], leaving out paused time (计时暂停: 补正,
    /// 特殊环节). A pause `(paused, Some(resumed))` consumes the working day it starts on and
    /// excludes the working days after it up to and including the resume day: counting goes
    /// on with the working day after the resume day. Overlapping pauses exclude a day once.
    ///
    /// Returns `Ok(None)` while a pause is open (`resumed` is `None`): the due date is not
    /// known until it resumes.
    ///
    /// # Errors
    /// [`CalendarError::PauseResumedBeforeStart`] for a pause that resumes before it starts;
    /// [`CalendarError::BeyondKnownYears`] if a day to count is not within the known years.
    pub fn due_with_pauses(
        &self,
        start: Timestamp,
        n: u32,
        pauses: &[(Timestamp, Option<Timestamp>)],
    ) -> Result<Option<Timestamp>> {
        let table = &self.inner.table;
        let mut open = false;
        let mut excluded = Vec::with_capacity(pauses.len());
        for &(paused, resumed) in pauses {
            let Some(resumed) = resumed else {
                open = true;
                continue;
            };
            if resumed < paused {
                return Err(CalendarError::PauseResumedBeforeStart { paused, resumed });
            }
            let from = table.offset(self.local_date(paused)) + 1;
            let through = table.offset(self.local_date(resumed));
            if from <= through {
                excluded.push((from, through));
            }
        }
        if open {
            return Ok(None);
        }
        let start_day = self.local_date(start);
        if n == 0 {
            return self.end_of_day(start_day).map(Some);
        }
        excluded.sort_unstable();
        // Walk the excluded spans in order: `cursor` is the last day dealt with and
        // `remaining` the working days still to count after it. Spans already behind the
        // cursor (overlaps) are skipped or clipped, so no day is excluded twice.
        let mut cursor = table.offset(start_day);
        let mut remaining = n;
        for (from, through) in excluded {
            if through <= cursor {
                continue;
            }
            let from = from.max(cursor + 1);
            if self.nth_after(cursor, remaining, start_day)? < from {
                break;
            }
            // The due day is at or after `from`, so fewer than `remaining` working days lie
            // before it: `remaining` stays at least 1.
            remaining -= self.count(cursor, from - 1, start_day)?;
            cursor = through;
        }
        let offset = self.nth_after(cursor, remaining, start_day)?;
        self.end_of_day(self.day(offset)).map(Some)
    }

    /// The working days after the day of `from` up to and including the day of `to`, so
    /// that `working_days_between(s, due_after_working_days(s, n)) == n`. Negative when `to`
    /// is on an earlier day than `from`.
    ///
    /// # Errors
    /// [`CalendarError::BeyondKnownYears`] if a day to count is not within the known years.
    pub fn working_days_between(&self, from: Timestamp, to: Timestamp) -> Result<i64> {
        let table = &self.inner.table;
        let (from_day, to_day) = (self.local_date(from), self.local_date(to));
        let (a, b) = (table.offset(from_day), table.offset(to_day));
        if a <= b {
            Ok(i64::from(self.count(a, b, from_day)?))
        } else {
            Ok(-i64::from(self.count(b, a, to_day)?))
        }
    }

    /// The due instant of a limit of `n` calendar days (日, e.g. an applicant's 20-day
    /// period): every day counts, the day of `start` excluded; if the last day is not a
    /// working day, the limit ends on the next working day. Ends at the end of that day.
    ///
    /// # Errors
    /// [`CalendarError::BeyondKnownYears`] if the last day or the working day after it is not
    /// within the known years.
    pub fn due_after_calendar_days(&self, start: Timestamp, n: u32) -> Result<Timestamp> {
        let table = &self.inner.table;
        let start_day = self.local_date(start);
        let last = table.offset(start_day) + i64::from(n);
        let offset = match table.is_working(last) {
            Some(true) => last,
            Some(false) => self.nth_after(last, 1, start_day)?,
            None => return Err(self.beyond_at(last, start_day)),
        };
        self.end_of_day(self.day(offset))
    }

    /// The `n`th (`n >= 1`) working day after offset `after`, or the first unknown day that
    /// stops the count. `near` stands in for a date past the limits of the date type.
    fn nth_after(&self, after: i64, n: u32, near: Date) -> Result<i64> {
        let table = &self.inner.table;
        if after + 1 < 0 || after + 1 >= table.len() {
            return Err(self.beyond_at(after + 1, near));
        }
        table
            .nth_after(after, n)
            .ok_or_else(|| self.beyond_at(table.len(), near))
    }

    /// The working days in the offsets `(after, through]` (`after <= through`), or the first
    /// unknown day among them.
    fn count(&self, after: i64, through: i64, near: Date) -> Result<u32> {
        let table = &self.inner.table;
        if after + 1 < 0 {
            return Err(self.beyond_at(after + 1, near));
        }
        if through >= table.len() {
            return Err(self.beyond_at((after + 1).max(table.len()), near));
        }
        table
            .count(after, through)
            .ok_or_else(|| self.beyond_at(after + 1, near))
    }

    /// The date at an offset inside the known years.
    fn day(&self, offset: i64) -> Date {
        self.inner
            .table
            .date_at(offset)
            .expect("invariant: every offset inside the day table is a valid date")
    }

    fn beyond_at(&self, offset: i64, near: Date) -> CalendarError {
        self.beyond(self.inner.table.date_at(offset).unwrap_or(near))
    }

    fn beyond(&self, date: Date) -> CalendarError {
        let table = &self.inner.table;
        CalendarError::BeyondKnownYears {
            calendar: self.inner.id.clone(),
            date,
            first_year: table.first_year(),
            last_year: table.last_year(),
        }
    }
}
