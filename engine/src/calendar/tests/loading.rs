//! Loading calendar files and folders, and the typed errors of malformed files.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{at, cn, d, end};
use crate::calendar::{Calendar, CalendarId, Calendars, LoadError};

/// A scratch folder under the system temp dir, removed on drop.
#[derive(Debug)]
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("yijian-calendar-{}-{name}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create scratch dir");
        Self(dir)
    }

    fn write(&self, file: &str, text: &str) -> PathBuf {
        let path = self.0.join(file);
        fs::write(&path, text).expect("write scratch file");
        path
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A fake 2027 for tests only: the real notice is not published yet.
const DEMO_2027: &str = "\
id: demo
title: Demo region (test data, not a real notice)
time_zone: Asia/Shanghai
years:
  2027:
    source: invented for a test
    holidays:
      - { name: 元旦, from: 2027-01-01, to: 2027-01-03 }
      - { name: 春节, from: 2027-02-06, to: 2027-02-13 }
    workdays:
      - { date: 2027-02-14, for: 春节 }
";

/// `cn` extended by a fake 2027.
const CN_2027: &str = "\
id: cn
title: 中华人民共和国法定节假日（含测试用 2027）
time_zone: Asia/Shanghai
years:
  2027:
    source: invented for a test
    holidays:
      - { name: 元旦, from: 2027-01-01, to: 2027-01-03 }
    workdays: []
";

#[test]
fn a_folder_adds_a_calendar_with_a_custom_id() {
    let dir = Scratch::new("custom");
    let demo = dir.write("demo.yaml", DEMO_2027);
    dir.write("README.txt", "not a calendar: ignored");
    let mut calendars = Calendars::builtin().expect("built in");
    let loaded = calendars.load_dir(dir.path()).expect("loads");
    assert_eq!(loaded, vec![demo.clone()]);

    let demo_calendar = calendars.get("demo").expect("added");
    assert_eq!(demo_calendar.known_years(), 2027..=2027);
    assert_eq!(demo_calendar.origin(2027), Some(demo.as_path()));
    assert_eq!(
        demo_calendar.is_working_day(d("2027-01-05")).ok(),
        Some(true)
    );
    assert_eq!(
        demo_calendar.is_working_day(d("2027-02-08")).ok(),
        Some(false)
    );
    assert_eq!(
        demo_calendar.is_working_day(d("2027-02-14")).ok(),
        Some(true)
    );
    let start = at("2027-02-05T10:00:00+08:00");
    let due = demo_calendar
        .due_after_working_days(start, 1)
        .expect("known");
    assert_eq!(due, end("2027-02-14"));
    // The built-in calendar is untouched.
    assert_eq!(
        calendars.get("cn").expect("built in").known_years(),
        2024..=2026
    );
}

#[test]
fn a_folder_adds_a_year_to_the_builtin_calendar() {
    let dir = Scratch::new("cn2027");
    dir.write("cn-2027.yaml", CN_2027);
    let mut calendars = Calendars::builtin().expect("built in");
    calendars.load_dir(dir.path()).expect("loads");
    let cn = calendars.get(&CalendarId::CN).expect("built in");
    assert_eq!(cn.known_years(), 2024..=2027);
    assert!(cn.title().contains("2027"));
    // 2026-12-30 + 5 used to be an error: 12-31, 01-04, 01-05, 01-06, 01-07.
    let start = at("2026-12-30T10:00:00+08:00");
    assert_eq!(
        cn.due_after_working_days(start, 5).expect("known"),
        end("2027-01-07")
    );
    // The shipped years are still there.
    assert_eq!(cn.is_working_day(d("2026-02-14")).ok(), Some(true));
    assert!(cn.source(2024).is_some());
}

#[test]
fn folder_errors_leave_the_registry_unchanged() {
    let dir = Scratch::new("duplicate");
    let first = dir.write("a.yaml", DEMO_2027);
    let second = dir.write("b.yaml", DEMO_2027);
    let mut calendars = Calendars::builtin().expect("built in");
    match calendars.load_dir(dir.path()) {
        Err(LoadError::DuplicateYear {
            calendar,
            year,
            first: f,
            second: s,
        }) => {
            assert_eq!((calendar.as_str(), year), ("demo", 2027));
            assert_eq!((f, s), (first, second));
        }
        other => panic!("expected DuplicateYear, got {other:?}"),
    }
    assert!(calendars.get("demo").is_none());

    let gap = Scratch::new("gap");
    gap.write("cn-2028.yaml", &CN_2027.replace("2027", "2028"));
    match calendars.load_dir(gap.path()) {
        Err(LoadError::MissingYear {
            calendar,
            year: 2027,
            first_year: 2024,
            last_year: 2028,
            ..
        }) => {
            assert_eq!(calendar, CalendarId::CN);
        }
        other => panic!("expected MissingYear, got {other:?}"),
    }
    assert_eq!(
        calendars.get("cn").expect("built in").known_years(),
        2024..=2026
    );

    let zone = Scratch::new("zone");
    zone.write(
        "cn-2027.yaml",
        &CN_2027.replace("Asia/Shanghai", "Asia/Urumqi"),
    );
    assert!(matches!(
        calendars.load_dir(zone.path()),
        Err(LoadError::TimeZoneMismatch { ref expected, ref found, .. })
            if expected == "Asia/Shanghai" && found == "Asia/Urumqi"
    ));

    let missing = dir.path().join("no-such-folder");
    assert!(matches!(
        calendars.load_dir(&missing),
        Err(LoadError::Read { ref path, .. }) if *path == missing
    ));
}

#[test]
fn a_year_may_reach_into_the_adjacent_years() {
    let text = "\
id: edge
title: Edge
time_zone: Asia/Shanghai
years:
  2026:
    source: test
    holidays: []
    workdays: []
  2027:
    source: test
    holidays:
      - { name: 元旦, from: 2026-12-31, to: 2027-01-01 }
    workdays:
      - { date: 2026-12-27, for: 元旦 }
";
    let calendar = Calendar::from_yaml(text, "edge.yaml").expect("valid");
    assert_eq!(calendar.is_working_day(d("2026-12-31")).ok(), Some(false));
    assert_eq!(calendar.is_working_day(d("2026-12-27")).ok(), Some(true));
    assert_eq!(calendar.is_working_day(d("2027-01-01")).ok(), Some(false));
    // With 2026 unknown, the 2026 days are checked but there is nothing to store them in.
    let alone = text.replace(
        "  2026:\n    source: test\n    holidays: []\n    workdays: []\n",
        "",
    );
    let calendar = Calendar::from_yaml(&alone, "edge.yaml").expect("valid");
    assert_eq!(calendar.known_years(), 2027..=2027);
    assert!(calendar.is_working_day(d("2026-12-31")).is_err());
}

/// A valid one-year file, for variants to break.
const VALID: &str = "\
id: test
title: Test
time_zone: Asia/Shanghai
years:
  2026:
    source: test
    holidays:
      - { name: 元旦, from: 2026-01-01, to: 2026-01-03 }
      - { name: 春节, from: 2026-02-15, to: 2026-02-23 }
    workdays:
      - { date: 2026-01-04, for: 元旦 }
";

fn load(text: &str) -> Result<Calendar, LoadError> {
    Calendar::from_yaml(text, "calendars/test.yaml")
}

#[test]
fn malformed_files_give_typed_errors() {
    assert!(load(VALID).is_ok());
    let parse = |text: &str| matches!(load(text), Err(LoadError::Parse { .. }));
    assert!(parse("id: [unclosed"), "syntax");
    assert!(
        parse(&VALID.replace("title: Test", "title: Test\ncolour: red")),
        "unknown key"
    );
    assert!(
        parse(&VALID.replace("    source: test\n", "")),
        "missing key"
    );
    assert!(
        parse(&VALID.replace("2026-01-04, for", "2026-02-30, for")),
        "no such date"
    );
    assert!(
        parse(&VALID.replace("for: 元旦", "for: 元旦, note: x")),
        "unknown entry key"
    );
    assert!(
        parse(&format!("{VALID}  2026:\n    source: again\n")),
        "duplicate year"
    );

    let broken = |from: &str, to: &str| load(&VALID.replacen(from, to, 1));
    assert!(matches!(
        broken("to: 2026-01-03", "to: 2025-12-31"),
        Err(LoadError::HolidayEndsBeforeStart { year: 2026, ref name, .. }) if name == "元旦"
    ));
    assert!(matches!(
        broken("date: 2026-01-04", "date: 2026-01-05"),
        Err(LoadError::MakeUpDayNotWeekend { date, weekday: jiff::civil::Weekday::Monday, .. })
            if date == d("2026-01-05")
    ));
    assert!(matches!(
        broken("date: 2026-01-04", "date: 2026-01-03"),
        Err(LoadError::MakeUpDayIsHoliday { date, ref holiday, .. })
            if date == d("2026-01-03") && holiday == "元旦"
    ));
    assert!(matches!(
        broken("for: 元旦", "for: 国庆节"),
        Err(LoadError::UnknownHolidayForMakeUpDay { ref holiday, .. }) if holiday == "国庆节"
    ));
    assert!(matches!(
        broken("from: 2026-02-15", "from: 2027-02-15"),
        Err(LoadError::DateOutsideYear { year: 2026, date, .. }) if date == d("2027-02-15")
    ));
    assert!(matches!(
        broken("from: 2026-02-15", "from: 2026-01-02"),
        Err(LoadError::OverlappingHolidays { date, .. }) if date == d("2026-01-02")
    ));
    assert!(matches!(
        broken(
            "      - { date: 2026-01-04, for: 元旦 }\n",
            "      - { date: 2026-01-04, for: 元旦 }\n      - { date: 2026-01-04, for: 元旦 }\n"
        ),
        Err(LoadError::DuplicateMakeUpDay { .. })
    ));
    assert!(matches!(
        broken("Asia/Shanghai", "Mars/Olympus_Mons"),
        Err(LoadError::UnknownTimeZone { ref name, .. }) if name == "Mars/Olympus_Mons"
    ));
    assert!(matches!(
        broken("id: test", "id: \"bad id\""),
        Err(LoadError::InvalidId { ref id, .. }) if id.as_str() == "bad id"
    ));
    let no_years = "id: test\ntitle: Test\ntime_zone: Asia/Shanghai\nyears: {}\n";
    assert!(matches!(load(no_years), Err(LoadError::NoYears { .. })));
    let gap = format!("{VALID}  2024:\n    source: t\n    holidays: []\n    workdays: []\n");
    assert!(matches!(
        load(&gap),
        Err(LoadError::MissingYear {
            year: 2025,
            first_year: 2024,
            last_year: 2026,
            ..
        })
    ));
    assert!(matches!(
        Calendar::builtin("xz"),
        Err(LoadError::UnknownBuiltin { ref id }) if id.as_str() == "xz"
    ));
}

#[test]
fn errors_name_the_file_and_the_problem() {
    let error =
        load(&VALID.replacen("date: 2026-01-04", "date: 2026-01-05", 1)).expect_err("a Monday");
    assert_eq!(
        error.to_string(),
        "calendars/test.yaml: make-up working day 2026-01-05 is a Monday, \
         not a Saturday or Sunday"
    );
    let error = load("id: [unclosed").expect_err("syntax");
    assert_eq!(
        error.to_string(),
        "calendars/test.yaml: not a valid calendar file"
    );
    let source = std::error::Error::source(&error).expect("the parser's report");
    assert!(!source.to_string().is_empty());
}

#[test]
fn the_builtin_file_matches_the_builtin_calendar() {
    let text = include_str!("../../../calendars/cn.yaml");
    let calendar = Calendar::from_yaml(text, "cn.yaml").expect("valid");
    assert_eq!(calendar.id(), cn().id());
    assert_eq!(calendar.known_years(), cn().known_years());
}
