//! Property tests over random instants in the shipped years, checked against a day-by-day
//! model built only on `is_working_day`.

use jiff::Timestamp;
use jiff::civil::Date;
use proptest::prelude::*;

use super::{at, cn};
use crate::calendar::{Calendar, CalendarError};

/// Seconds of the shipped years' first and last instants in Beijing time.
fn shipped_range() -> std::ops::Range<i64> {
    at("2024-01-01T00:00:00+08:00").as_second()..at("2027-01-01T00:00:00+08:00").as_second()
}

fn instant(second: i64) -> Timestamp {
    Timestamp::from_second(second).expect("in range")
}

/// The `n`th day after the day of `start` that is a working day and not paused, walking one
/// day at a time; `None` when it walks off the known years.
fn model_due(
    calendar: &Calendar,
    start: Timestamp,
    n: u32,
    pauses: &[(Timestamp, Timestamp)],
) -> Option<Date> {
    let paused_days: Vec<(Date, Date)> = pauses
        .iter()
        .map(|&(p, r)| (calendar.local_date(p), calendar.local_date(r)))
        .collect();
    let mut day = calendar.local_date(start);
    let mut left = n;
    while left > 0 {
        day = day.tomorrow().ok()?;
        let paused = paused_days.iter().any(|&(p, r)| p < day && day <= r);
        if calendar.is_working_day(day).ok()? && !paused {
            left -= 1;
        }
    }
    Some(day)
}

fn is_beyond<T>(result: &Result<T, CalendarError>) -> bool {
    matches!(result, Err(CalendarError::BeyondKnownYears { .. }))
}

/// Up to three pauses, each starting in the shipped years and lasting up to 40 days.
fn pauses() -> impl Strategy<Value = Vec<(Timestamp, Timestamp)>> {
    prop::collection::vec((shipped_range(), 0i64..40 * 86_400), 0..4).prop_map(|raw| {
        raw.into_iter()
            .map(|(from, length)| (instant(from), instant(from + length)))
            .collect()
    })
}

proptest! {
    #[test]
    fn due_matches_the_model_and_counts_back_to_n(second in shipped_range(), n in 0u32..60) {
        let cn = cn();
        let start = instant(second);
        let due = cn.due_after_working_days(start, n);
        match model_due(&cn, start, n, &[]) {
            None => prop_assert!(is_beyond(&due), "{due:?}"),
            Some(day) => {
                let due = due.expect("the model found it");
                prop_assert_eq!(due, cn.end_of_day(day).expect("representable"));
                prop_assert_eq!(cn.working_days_between(start, due).expect("known"), i64::from(n));
                prop_assert_eq!(cn.working_days_between(due, start).expect("known"), -i64::from(n));
                if n > 0 {
                    prop_assert!(cn.is_working_day(day).expect("known"));
                }
            }
        }
    }

    #[test]
    fn due_is_monotonic_in_n(second in shipped_range(), n in 0u32..59) {
        let cn = cn();
        let start = instant(second);
        if let (Ok(earlier), Ok(later)) =
            (cn.due_after_working_days(start, n), cn.due_after_working_days(start, n + 1))
        {
            prop_assert!(earlier < later, "{earlier} !< {later}");
        }
    }

    #[test]
    fn pausing_never_shortens_and_matches_the_model(
        second in shipped_range(),
        n in 0u32..60,
        pauses in pauses(),
    ) {
        let cn = cn();
        let start = instant(second);
        let closed: Vec<_> = pauses.iter().map(|&(p, r)| (p, Some(r))).collect();
        let paused = cn.due_with_pauses(start, n, &closed);
        let plain = cn.due_after_working_days(start, n);
        match (&paused, &plain) {
            (Ok(Some(paused)), Ok(plain)) => prop_assert!(paused >= plain),
            (Ok(None), _) => prop_assert!(false, "no pause is open"),
            _ => {}
        }
        match model_due(&cn, start, n, &pauses) {
            None => prop_assert!(is_beyond(&paused), "{paused:?}"),
            Some(day) => {
                let expected = cn.end_of_day(day).expect("representable");
                prop_assert_eq!(paused.expect("the model found it"), Some(expected));
            }
        }
        // An extra open pause hides the due date.
        let mut open = closed.clone();
        open.push((start, None));
        prop_assert_eq!(cn.due_with_pauses(start, n, &open).ok(), Some(None));
    }

    #[test]
    fn calendar_days_end_on_the_first_working_day_from_the_nth_day(
        second in shipped_range(),
        n in 0u32..60,
    ) {
        let cn = cn();
        let start = instant(second);
        let Ok(due) = cn.due_after_calendar_days(start, n) else { return Ok(()) };
        let mut day = cn
            .local_date(start)
            .checked_add(jiff::SignedDuration::from_hours(24 * i64::from(n)))
            .expect("in range");
        while !cn.is_working_day(day).expect("known: the due day is after it") {
            day = day.tomorrow().expect("in range");
        }
        prop_assert_eq!(due, cn.end_of_day(day).expect("representable"));
    }
}
