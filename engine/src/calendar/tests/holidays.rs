//! Every shipped holiday's boundaries, written out by hand from the State Council notices
//! (not derived from the data file), so a typo in `cn.yaml` fails here.

use jiff::civil::Weekday;

use super::{assert_beyond, cn, d};

/// One row per holiday: name, first day, last day, last working day before it (`-` when
/// that is outside the known years), first working day after it. 2024: 国办发明电〔2023〕7号.
const Y2024: &[&str] = &[
    "元旦           2024-01-01 2024-01-01 -          2024-01-02",
    "春节           2024-02-10 2024-02-17 2024-02-09 2024-02-18",
    "清明节         2024-04-04 2024-04-06 2024-04-03 2024-04-07",
    "劳动节         2024-05-01 2024-05-05 2024-04-30 2024-05-06",
    "端午节         2024-06-10 2024-06-10 2024-06-07 2024-06-11",
    "中秋节         2024-09-15 2024-09-17 2024-09-14 2024-09-18",
    "国庆节         2024-10-01 2024-10-07 2024-09-30 2024-10-08",
];
const MAKE_UP_2024: &[&str] = &[
    "2024-02-04",
    "2024-02-18",
    "2024-04-07",
    "2024-04-28",
    "2024-05-11",
    "2024-09-14",
    "2024-09-29",
    "2024-10-12",
];

/// 国办发明电〔2024〕12号.
const Y2025: &[&str] = &[
    "元旦           2025-01-01 2025-01-01 2024-12-31 2025-01-02",
    "春节           2025-01-28 2025-02-04 2025-01-27 2025-02-05",
    "清明节         2025-04-04 2025-04-06 2025-04-03 2025-04-07",
    "劳动节         2025-05-01 2025-05-05 2025-04-30 2025-05-06",
    "端午节         2025-05-31 2025-06-02 2025-05-30 2025-06-03",
    "国庆节、中秋节 2025-10-01 2025-10-08 2025-09-30 2025-10-09",
];
const MAKE_UP_2025: &[&str] = &[
    "2025-01-26",
    "2025-02-08",
    "2025-04-27",
    "2025-09-28",
    "2025-10-11",
];

/// The notice of 2025-11-04.
const Y2026: &[&str] = &[
    "元旦           2026-01-01 2026-01-03 2025-12-31 2026-01-04",
    "春节           2026-02-15 2026-02-23 2026-02-14 2026-02-24",
    "清明节         2026-04-04 2026-04-06 2026-04-03 2026-04-07",
    "劳动节         2026-05-01 2026-05-05 2026-04-30 2026-05-06",
    "端午节         2026-06-19 2026-06-21 2026-06-18 2026-06-22",
    "中秋节         2026-09-25 2026-09-27 2026-09-24 2026-09-28",
    "国庆节         2026-10-01 2026-10-07 2026-09-30 2026-10-08",
];
const MAKE_UP_2026: &[&str] = &[
    "2026-01-04",
    "2026-02-14",
    "2026-02-28",
    "2026-05-09",
    "2026-09-20",
    "2026-10-10",
];

fn check_boundaries(rows: &[&str]) {
    let cn = cn();
    for row in rows {
        let fields: Vec<&str> = row.split_whitespace().collect();
        let &[name, from, to, before, after] = fields.as_slice() else {
            panic!("malformed row {row:?}");
        };
        let (from, to) = (d(from), d(to));
        let mut day = from;
        while day <= to {
            assert_eq!(
                cn.is_working_day(day).ok(),
                Some(false),
                "{name}: {day} is a holiday"
            );
            day = day.tomorrow().expect("in range");
        }
        if before == "-" {
            assert_beyond(cn.previous_working_day(from), "2023-12-31");
        } else {
            let got = cn.previous_working_day(from).expect("known");
            assert_eq!(got, d(before), "{name}: last working day before");
            assert_eq!(cn.is_working_day(got).ok(), Some(true));
        }
        let got = cn.next_working_day(to).expect("known");
        assert_eq!(got, d(after), "{name}: first working day after");
        assert_eq!(cn.is_working_day(got).ok(), Some(true));
    }
}

fn check_make_up_days(days: &[&str], year: i16) {
    let cn = cn();
    for &day in days {
        let day = d(day);
        assert!(
            matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday),
            "{day}"
        );
        assert_eq!(
            cn.is_working_day(day).ok(),
            Some(true),
            "{day} is a make-up working day"
        );
    }
    // Every other weekend day of the year is a rest day.
    let mut day = d(&format!("{year}-01-01"));
    let mut working_weekend_days = 0;
    while day.year() == year {
        if matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
            && cn.is_working_day(day).expect("known")
        {
            working_weekend_days += 1;
        }
        day = day.tomorrow().expect("in range");
    }
    assert_eq!(
        working_weekend_days,
        days.len(),
        "{year}: make-up days and no others"
    );
}

#[test]
fn holidays_2024() {
    check_boundaries(Y2024);
    check_make_up_days(MAKE_UP_2024, 2024);
}

#[test]
fn holidays_2025() {
    check_boundaries(Y2025);
    check_make_up_days(MAKE_UP_2025, 2025);
}

#[test]
fn holidays_2026() {
    check_boundaries(Y2026);
    check_make_up_days(MAKE_UP_2026, 2026);
}

#[test]
fn working_days_per_year() {
    // Counted by hand from the notices: weekdays of the year, minus holiday weekdays, plus
    // make-up days. 2024: 262 − 19 + 8; 2025: 261 − 18 + 5; 2026: 261 − 19 + 6.
    let cn = cn();
    for (year, expected) in [(2024, 251), (2025, 248), (2026, 248)] {
        let mut day = d(&format!("{year}-01-01"));
        let mut count = 0;
        while day.year() == year {
            count += i64::from(cn.is_working_day(day).expect("known"));
            day = day.tomorrow().expect("in range");
        }
        assert_eq!(count, expected, "{year}");
        let from = cn.end_of_day(d(&format!("{year}-01-01"))).expect("ok");
        let to = cn.end_of_day(d(&format!("{year}-12-31"))).expect("ok");
        let jan_1 = i64::from(
            cn.is_working_day(d(&format!("{year}-01-01")))
                .expect("known"),
        );
        assert_eq!(
            cn.working_days_between(from, to).expect("known") + jan_1,
            expected
        );
    }
}
