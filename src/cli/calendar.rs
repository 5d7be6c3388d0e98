//! `yijian calendar add DATE DURATION [--calendar cn] [--calendars DIR]`: when a time limit
//! ends, for window staff and designers, with the days counted and the holidays skipped.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use yijian::definitions::{Duration, DurationUnit};
use yijian::engine::calendar::{Calendar, CalendarError, Calendars};

/// Prints the due instant of `duration` started on `date`, and why.
///
/// # Errors
/// A bad date or duration, an unknown calendar, a calendar folder that does not load, a
/// limit reaching past the years the calendar knows; the caller exits with code 2.
pub(crate) fn add(
    date: &str,
    duration: &str,
    calendar: &str,
    dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let mut calendars = Calendars::builtin().context("the built-in calendars do not load")?;
    if let Some(dir) = dir {
        calendars
            .load_dir(dir)
            .with_context(|| format!("cannot load the calendars in {}", dir.display()))?;
    }
    let cal = calendars.get(calendar).ok_or_else(|| {
        let known: Vec<&str> = calendars.ids().map(|id| id.as_str()).collect();
        anyhow!(
            "no calendar `{calendar}` (known: {}); add its file with --calendars DIR",
            known.join(", ")
        )
    })?;
    let limit: Duration = duration.trim().parse().map_err(|e| {
        anyhow!("`{duration}` is not a duration: {e}; write `5wd` (working days) or `20d` (days)")
    })?;
    let start = start_instant(cal, date)?;
    let start_day = cal.local_date(start);
    let years = cal.known_years();
    if !years.contains(&start_day.year()) {
        bail!(
            "calendar `{}` does not know {start_day}: it covers {} to {}; add a calendar \
             file for {} (--calendars DIR)",
            cal.id(),
            years.start(),
            years.end(),
            start_day.year()
        );
    }
    let hint = |e: CalendarError| anyhow!("{e} (--calendars DIR loads it)");
    let due = match limit.unit {
        DurationUnit::WorkingDays => cal
            .due_after_working_days(start, limit.amount)
            .map_err(hint)?,
        DurationUnit::Days => cal
            .due_after_calendar_days(start, limit.amount)
            .map_err(hint)?,
        _ => bail!(
            "`{limit}`: only working days (`Nwd`) and calendar days (`Nd`) end on a due day; \
             hours, minutes and seconds are added to the instant"
        ),
    };
    print!("{}", explain(cal, start_day, limit, due)?);
    Ok(ExitCode::SUCCESS)
}

/// A date (`2026-09-30`, taken at noon local time) or an instant with an offset.
fn start_instant(cal: &Calendar, text: &str) -> anyhow::Result<Timestamp> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let day: Date = text
        .parse()
        .map_err(|_| anyhow!("`{text}` is not a date: write it as YYYY-MM-DD (e.g. 2026-09-30)"))?;
    Ok(day
        .at(12, 0, 0, 0)
        .to_zoned_datetime(cal.time_zone().clone())?
        .timestamp())
}

fn fmt_day(d: Date) -> String {
    d.strftime("%Y-%m-%d %a").to_string()
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The due instant, then what was counted and skipped between the start and the due day.
fn explain(cal: &Calendar, start: Date, limit: Duration, due: Timestamp) -> anyhow::Result<String> {
    let due_day = cal.local_date(due);
    let zoned = due.to_zoned_datetime(cal.time_zone().clone());
    let mut out = format!("{}\n", zoned.strftime("%Y-%m-%dT%H:%M:%S%:z"));
    out.push_str(&format!(
        "  start     {} (the start day is not counted: 受理次日起算)\n",
        fmt_day(start)
    ));
    out.push_str(&format!(
        "  limit     {limit} on calendar {} ({})\n",
        cal.id(),
        cal.title()
    ));
    out.push_str(&format!(
        "  due       {} at 24:00 (the last second: {})\n",
        fmt_day(due_day),
        zoned.strftime("%H:%M:%S")
    ));
    let mut counted = Vec::new();
    let mut rest: Vec<Date> = Vec::new();
    let mut day = start;
    while day < due_day {
        day = day.tomorrow()?;
        if cal.is_working_day(day)? {
            let makeup = if is_weekend(day) {
                " (调休上班)"
            } else {
                ""
            };
            counted.push(format!("{}{makeup}", day.strftime("%m-%d %a")));
        } else {
            rest.push(day);
        }
    }
    match limit.unit {
        DurationUnit::WorkingDays => out.push_str(&format!(
            "  counted   {} working day(s): {}\n",
            counted.len(),
            counted.join(", ")
        )),
        _ => {
            let last = start
                .checked_add(jiff::Span::new().days(i64::from(limit.amount)))
                .context("the date is out of range")?;
            // Every day counts; only the rest days the end is moved over are skipped.
            rest.retain(|d| *d >= last);
            out.push_str(&format!(
                "  counted   {} calendar day(s), every day: the last is {}\n",
                limit.amount,
                fmt_day(last)
            ));
            if last != due_day {
                out.push_str(&format!(
                    "  moved     {} is a rest day: the limit ends on the next working day, {}\n",
                    fmt_day(last),
                    fmt_day(due_day)
                ));
            }
        }
    }
    let mut weekends = 0;
    for span in spans(&rest) {
        let (first, last) = (span[0], span[span.len() - 1]);
        if span.iter().all(|d| is_weekend(*d)) {
            weekends += span.len();
            continue;
        }
        let range = if first == last {
            fmt_day(first)
        } else {
            format!("{} – {}", fmt_day(first), fmt_day(last))
        };
        out.push_str(&format!(
            "  skipped   {range}: statutory holiday (法定节假日), {} day(s)\n",
            span.len()
        ));
    }
    if weekends > 0 {
        out.push_str(&format!("  skipped   {weekends} ordinary weekend day(s)\n"));
    }
    let mut years: Vec<i16> = vec![start.year(), due_day.year()];
    years.dedup();
    for y in years {
        if let Some(source) = cal.source(y) {
            out.push_str(&format!("  source    {y}: {source}\n"));
        }
    }
    Ok(out)
}

/// Runs of consecutive days.
fn spans(days: &[Date]) -> Vec<Vec<Date>> {
    let mut out: Vec<Vec<Date>> = Vec::new();
    for &d in days {
        match out.last_mut() {
            Some(run) if run.last().and_then(|l| l.tomorrow().ok()) == Some(d) => run.push(d),
            _ => out.push(vec![d]),
        }
    }
    out
}
