//! Tests of the calendar module: the worked examples of the domain notes, the shipped years'
//! holiday boundaries, pauses, loading and property tests.

mod holidays;
mod loading;
mod pauses;
mod props;

use jiff::Timestamp;
use jiff::civil::Date;

use super::{Calendar, CalendarError, CalendarId, Calendars};

/// The built-in national calendar.
fn cn() -> Calendar {
    Calendar::builtin("cn").expect("the built-in cn calendar loads")
}

/// A date from `YYYY-MM-DD`.
fn d(text: &str) -> Date {
    text.parse().expect("a valid date")
}

/// An instant from RFC 3339 text.
fn at(text: &str) -> Timestamp {
    text.parse().expect("a valid timestamp")
}

/// The end of a day in Beijing time, as every due instant of `cn` is.
fn end(day: &str) -> Timestamp {
    at(&format!("{day}T23:59:59+08:00"))
}

/// Asserts a `BeyondKnownYears` error about `date` from the `cn` calendar.
#[track_caller]
fn assert_beyond<T: std::fmt::Debug>(result: Result<T, CalendarError>, date: &str) {
    match result {
        Err(CalendarError::BeyondKnownYears {
            calendar,
            date: got,
            first_year,
            last_year,
        }) => {
            assert_eq!(calendar, CalendarId::CN);
            assert_eq!(got, d(date));
            assert_eq!((first_year, last_year), (2024, 2026));
        }
        other => panic!("expected BeyondKnownYears at {date}, got {other:?}"),
    }
}

#[test]
fn worked_example_spring_festival() {
    // Thu 02-12 accepted; 02-13 (1), Sat 02-14 make-up day (2), 02-15..23 holiday,
    // 02-24 (3), 02-25 (4), 02-26 (5).
    let due = cn().due_after_working_days(at("2026-02-12T10:00:00+08:00"), 5);
    assert_eq!(due.expect("known years"), end("2026-02-26"));
    assert_eq!(end("2026-02-26").to_string(), "2026-02-26T15:59:59Z");
}

#[test]
fn worked_example_national_day() {
    let due = cn().due_after_working_days(at("2026-09-30T16:30:00+08:00"), 1);
    assert_eq!(due.expect("known years"), end("2026-10-08"));
}

#[test]
fn the_start_day_is_the_local_day_in_beijing() {
    let cn = cn();
    // 17:00 UTC on 02-12 is 01:00 on 02-13 in Beijing: counting starts on 02-14.
    let start = at("2026-02-12T17:00:00Z");
    assert_eq!(cn.local_date(start), d("2026-02-13"));
    assert_eq!(
        cn.due_after_working_days(start, 5).expect("known"),
        end("2026-02-27")
    );
    assert_eq!(cn.time_zone().iana_name(), Some("Asia/Shanghai"));
}

#[test]
fn zero_working_days_ends_the_start_day() {
    let cn = cn();
    // Even on a holiday, and even outside the known years: no day is counted.
    for day in ["2026-02-16", "2026-03-02", "2030-06-01"] {
        let start = at(&format!("{day}T09:00:00+08:00"));
        assert_eq!(
            cn.due_after_working_days(start, 0).expect("no day counted"),
            end(day)
        );
    }
}

#[test]
fn a_year_boundary_runs_into_new_year() {
    let cn = cn();
    let new_years_eve = at("2025-12-31T11:00:00+08:00");
    // 2026-01-01..03 is 元旦 and Sunday 01-04 is worked.
    assert_eq!(
        cn.due_after_working_days(new_years_eve, 1).expect("known"),
        end("2026-01-04")
    );
    assert_eq!(
        cn.due_after_working_days(new_years_eve, 2).expect("known"),
        end("2026-01-05")
    );
    let day_before = at("2025-12-30T11:00:00+08:00");
    assert_eq!(
        cn.due_after_working_days(day_before, 2).expect("known"),
        end("2026-01-04")
    );
    assert_eq!(
        cn.working_days_between(day_before, end("2026-01-05"))
            .expect("known"),
        3
    );
    // 2024-12-31 + 1: 2025-01-01 is 元旦 alone.
    let eve_2024 = at("2024-12-31T09:00:00+08:00");
    assert_eq!(
        cn.due_after_working_days(eve_2024, 1).expect("known"),
        end("2025-01-02")
    );
}

#[test]
fn working_days_between_counts_after_the_first_day() {
    let cn = cn();
    let start = at("2026-02-12T10:00:00+08:00");
    assert_eq!(
        cn.working_days_between(start, end("2026-02-26"))
            .expect("known"),
        5
    );
    assert_eq!(
        cn.working_days_between(end("2026-02-26"), start)
            .expect("known"),
        -5
    );
    assert_eq!(cn.working_days_between(start, start).expect("known"), 0);
    // The whole Spring Festival holiday is zero working days.
    let from = at("2026-02-14T12:00:00+08:00");
    assert_eq!(
        cn.working_days_between(from, end("2026-02-23"))
            .expect("known"),
        0
    );
}

#[test]
fn calendar_days_roll_over_rest_days() {
    let cn = cn();
    // 20 days after Mon 09-14 is Sun 10-04, inside 国庆: the limit ends on Thu 10-08.
    let start = at("2026-09-14T10:00:00+08:00");
    assert_eq!(
        cn.due_after_calendar_days(start, 20).expect("known"),
        end("2026-10-08")
    );
    // An ordinary Saturday rolls to Monday.
    let friday = at("2026-03-06T10:00:00+08:00");
    assert_eq!(
        cn.due_after_calendar_days(friday, 1).expect("known"),
        end("2026-03-09")
    );
    // A make-up Saturday is a working day and does not roll.
    let start = at("2026-02-04T10:00:00+08:00");
    assert_eq!(
        cn.due_after_calendar_days(start, 10).expect("known"),
        end("2026-02-14")
    );
    // An applicant's 20-day period across New Year.
    let start = at("2025-12-12T10:00:00+08:00");
    assert_eq!(
        cn.due_after_calendar_days(start, 20).expect("known"),
        end("2026-01-04")
    );
    // Zero days: the start day, itself moved off a rest day.
    let sunday = at("2026-03-08T10:00:00+08:00");
    assert_eq!(
        cn.due_after_calendar_days(sunday, 0).expect("known"),
        end("2026-03-09")
    );
}

#[test]
fn next_and_previous_working_days() {
    let cn = cn();
    assert_eq!(
        cn.next_working_day(d("2026-03-06")).expect("known"),
        d("2026-03-09")
    );
    assert_eq!(
        cn.previous_working_day(d("2026-03-09")).expect("known"),
        d("2026-03-06")
    );
    // Strictly after / before, even from a working day.
    assert_eq!(
        cn.next_working_day(d("2026-03-03")).expect("known"),
        d("2026-03-04")
    );
    assert_eq!(
        cn.previous_working_day(d("2026-03-04")).expect("known"),
        d("2026-03-03")
    );
    // From outside the known years, towards them.
    assert_eq!(
        cn.next_working_day(d("2023-12-31")).expect("known"),
        d("2024-01-02")
    );
    assert_eq!(
        cn.previous_working_day(d("2027-01-01")).expect("known"),
        d("2026-12-31")
    );
}

#[test]
fn dates_beyond_the_known_years_are_errors() {
    let cn = cn();
    assert_eq!(cn.known_years(), 2024..=2026);
    assert_beyond(cn.is_working_day(d("2027-01-05")), "2027-01-05");
    assert_beyond(cn.is_working_day(d("2023-12-29")), "2023-12-29");
    // Wed 2026-12-30 + 5: 12-31 is known, 2027-01-01 is not.
    let start = at("2026-12-30T10:00:00+08:00");
    assert_beyond(cn.due_after_working_days(start, 5), "2027-01-01");
    let start = at("2026-12-28T10:00:00+08:00");
    assert_eq!(
        cn.due_after_working_days(start, 3).expect("ends 12-31"),
        end("2026-12-31")
    );
    assert_beyond(
        cn.working_days_between(start, end("2027-01-05")),
        "2027-01-01",
    );
    assert_beyond(cn.next_working_day(d("2026-12-31")), "2027-01-01");
    assert_beyond(cn.previous_working_day(d("2024-01-01")), "2023-12-31");
    assert_beyond(cn.due_after_calendar_days(start, 12), "2027-01-09");
    let from_2023 = at("2023-12-20T10:00:00+08:00");
    assert_beyond(cn.due_after_working_days(from_2023, 1), "2023-12-21");
    let error = cn.is_working_day(d("2027-01-05")).expect_err("beyond");
    assert_eq!(
        error.to_string(),
        "calendar `cn` does not know 2027-01-05: it covers 2024 to 2026; \
         add a calendar file for 2027"
    );
}

#[test]
fn end_of_day_and_local_date_round_trip() {
    let cn = cn();
    let eod = cn.end_of_day(d("2026-02-26")).expect("representable");
    assert_eq!(eod, end("2026-02-26"));
    assert_eq!(cn.local_date(eod), d("2026-02-26"));
    assert_eq!(cn.local_date(at("2026-02-26T16:00:00Z")), d("2026-02-27"));
}

#[test]
fn calendars_are_shareable_across_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Calendar>();
    shareable::<Calendars>();
    shareable::<CalendarError>();
    fn sendable<T: Send + Sync + 'static>() {}
    sendable::<super::LoadError>();
}

#[test]
fn builtin_registry_and_sources() {
    let calendars = Calendars::builtin().expect("built-in calendars load");
    let cn = calendars.get(&CalendarId::CN).expect("cn is built in");
    assert_eq!(cn.id().as_str(), "cn");
    assert!(calendars.get("cn").is_some());
    assert!(calendars.get("xz").is_none());
    assert_eq!(calendars.iter().count(), 1);
    assert_eq!(calendars.ids().collect::<Vec<_>>(), [&CalendarId::CN]);
    assert!(
        cn.source(2024)
            .is_some_and(|s| s.contains("国办发明电〔2023〕7号"))
    );
    assert!(
        cn.source(2025)
            .is_some_and(|s| s.contains("国办发明电〔2024〕12号"))
    );
    assert!(cn.source(2026).is_some_and(|s| s.contains("2025年11月4日")));
    assert_eq!(cn.source(2027), None);
    assert_eq!(
        cn.origin(2026).map(|p| p.to_string_lossy().into_owned()),
        Some("engine/calendars/cn.yaml".to_owned())
    );
    assert!(!cn.title().is_empty());
}
