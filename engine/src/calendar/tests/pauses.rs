//! Paused time (计时暂停): the pause day is consumed, counting resumes after the resume day.

use super::{assert_beyond, at, cn, end};
use crate::calendar::CalendarError;

#[test]
fn a_pause_across_national_day() {
    let cn = cn();
    // Thu 09-17 + 5: 09-18 (1), Sun 09-20 make-up (2), 09-21 (3), 09-22 (4), 09-23 (5).
    let start = at("2026-09-17T10:00:00+08:00");
    assert_eq!(
        cn.due_after_working_days(start, 5).expect("known"),
        end("2026-09-23")
    );
    // 补正 requested Tue 09-22 (consumed: day 4), supplied Fri 10-09 after the holiday.
    // Counting resumes after 10-09: Sat 10-10 is a make-up working day (5).
    let pause = (
        at("2026-09-22T15:00:00+08:00"),
        Some(at("2026-10-09T09:00:00+08:00")),
    );
    let due = cn.due_with_pauses(start, 5, &[pause]).expect("known");
    assert_eq!(due, Some(end("2026-10-10")));
}

#[test]
fn a_pause_of_one_day() {
    let cn = cn();
    // Mon 03-02 + 3 is 03-05; paused Tue 03-03, resumed Wed 03-04: 03-04 is excluded.
    let start = at("2026-03-02T10:00:00+08:00");
    let pause = (
        at("2026-03-03T10:00:00+08:00"),
        Some(at("2026-03-04T16:00:00+08:00")),
    );
    assert_eq!(
        cn.due_with_pauses(start, 3, &[pause]).expect("known"),
        Some(end("2026-03-06"))
    );
    // Paused and resumed the same day: nothing is excluded.
    let same_day = (
        at("2026-03-03T10:00:00+08:00"),
        Some(at("2026-03-03T16:00:00+08:00")),
    );
    let due = cn.due_with_pauses(start, 3, &[same_day]).expect("known");
    assert_eq!(due, Some(end("2026-03-05")));
}

#[test]
fn overlapping_pauses_exclude_a_day_once() {
    let cn = cn();
    let start = at("2026-09-17T10:00:00+08:00");
    let outer = (
        at("2026-09-22T15:00:00+08:00"),
        Some(at("2026-10-09T09:00:00+08:00")),
    );
    let inner = (
        at("2026-09-23T10:00:00+08:00"),
        Some(at("2026-09-30T10:00:00+08:00")),
    );
    let tail = (
        at("2026-10-08T10:00:00+08:00"),
        Some(at("2026-10-09T18:00:00+08:00")),
    );
    for pauses in [
        vec![outer, inner],
        vec![inner, outer],
        vec![tail, outer, inner],
    ] {
        let due = cn.due_with_pauses(start, 5, &pauses).expect("known");
        assert_eq!(due, Some(end("2026-10-10")), "{pauses:?}");
    }
    // Two disjoint pauses add up: 09-21 consumed, 09-22 excluded; 09-24 consumed, 09-28
    // excluded. Count: 09-18, 09-20, 09-21, 09-23, 09-24, then 09-29.
    let first = (
        at("2026-09-21T10:00:00+08:00"),
        Some(at("2026-09-22T10:00:00+08:00")),
    );
    let second = (
        at("2026-09-24T10:00:00+08:00"),
        Some(at("2026-09-28T10:00:00+08:00")),
    );
    let due = cn
        .due_with_pauses(start, 6, &[second, first])
        .expect("known");
    assert_eq!(due, Some(end("2026-09-29")));
}

#[test]
fn pauses_outside_the_counted_days_change_nothing() {
    let cn = cn();
    let start = at("2026-02-12T10:00:00+08:00");
    let before = (
        at("2026-02-01T10:00:00+08:00"),
        Some(at("2026-02-10T10:00:00+08:00")),
    );
    let after = (
        at("2026-03-10T10:00:00+08:00"),
        Some(at("2026-03-20T10:00:00+08:00")),
    );
    // Even a pause far beyond the known years, if the due day comes first.
    let far = (
        at("2028-03-10T10:00:00+08:00"),
        Some(at("2028-03-20T10:00:00+08:00")),
    );
    let due = cn
        .due_with_pauses(start, 5, &[before, after, far])
        .expect("known");
    assert_eq!(due, Some(end("2026-02-26")));
    assert_eq!(
        cn.due_with_pauses(start, 5, &[]).expect("known"),
        Some(end("2026-02-26"))
    );
}

#[test]
fn an_open_pause_has_no_due_date_yet() {
    let cn = cn();
    let start = at("2026-02-12T10:00:00+08:00");
    let closed = (
        at("2026-02-13T10:00:00+08:00"),
        Some(at("2026-02-24T10:00:00+08:00")),
    );
    let open = (at("2026-02-25T10:00:00+08:00"), None);
    assert_eq!(
        cn.due_with_pauses(start, 5, &[closed, open])
            .expect("no error"),
        None
    );
    assert_eq!(
        cn.due_with_pauses(start, 0, &[open]).expect("no error"),
        None
    );
}

#[test]
fn zero_days_with_pauses_is_the_end_of_the_start_day() {
    let cn = cn();
    let start = at("2026-02-12T10:00:00+08:00");
    let pause = (
        at("2026-02-12T11:00:00+08:00"),
        Some(at("2026-02-26T10:00:00+08:00")),
    );
    assert_eq!(
        cn.due_with_pauses(start, 0, &[pause]).expect("known"),
        Some(end("2026-02-12"))
    );
}

#[test]
fn a_pause_resumed_before_it_started_is_an_error() {
    let cn = cn();
    let start = at("2026-02-12T10:00:00+08:00");
    let (paused, resumed) = (
        at("2026-02-20T10:00:00+08:00"),
        at("2026-02-19T10:00:00+08:00"),
    );
    let result = cn.due_with_pauses(start, 5, &[(paused, Some(resumed))]);
    assert!(matches!(
        result,
        Err(CalendarError::PauseResumedBeforeStart { paused: p, resumed: r })
            if p == paused && r == resumed
    ));
}

#[test]
fn a_pause_pushing_the_due_day_past_the_known_years_is_an_error() {
    let cn = cn();
    let start = at("2026-12-01T10:00:00+08:00");
    assert_eq!(
        cn.due_after_working_days(start, 5).expect("known"),
        end("2026-12-08")
    );
    let pause = (
        at("2026-12-02T10:00:00+08:00"),
        Some(at("2026-12-30T10:00:00+08:00")),
    );
    // 12-02 consumed (1), 12-03..12-30 excluded, 12-31 (2), then 2027.
    assert_beyond(cn.due_with_pauses(start, 5, &[pause]), "2027-01-01");
}
