//! Case numbers (办件编号). There is no national format; locally it is region code + date +
//! sequence, sometimes with an item code. The generator is pluggable.

use std::fmt;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::ids::CaseNo;

/// Makes case numbers.
pub trait CaseNumbering: Send + Sync + fmt::Debug + 'static {
    /// The number for the `seq`-th case of the deployment (from 1), submitted at `now` in
    /// `region` for `bundle`. Must be unique for distinct `seq`.
    fn next(&self, region: &str, bundle: &str, now: Timestamp, seq: u64) -> CaseNo;
}

/// `<region or 000000>-<yyyymmdd, Beijing time>-<sequence, 8 digits>`, e.g.
/// `320102-20260918-00000042`.
#[derive(Debug, Clone)]
pub struct DefaultNumbering {
    tz: TimeZone,
}

impl Default for DefaultNumbering {
    fn default() -> Self {
        DefaultNumbering {
            tz: TimeZone::get("Asia/Shanghai").unwrap_or(TimeZone::fixed(jiff::tz::offset(8))),
        }
    }
}

impl CaseNumbering for DefaultNumbering {
    fn next(&self, region: &str, _bundle: &str, now: Timestamp, seq: u64) -> CaseNo {
        let date = self.tz.to_datetime(now).date();
        let region = if region.is_empty() { "000000" } else { region };
        CaseNo::new(format!(
            "{region}-{:04}{:02}{:02}-{seq:08}",
            date.year(),
            date.month(),
            date.day()
        ))
    }
}
