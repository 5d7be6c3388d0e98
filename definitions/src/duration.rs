//! Durations of the DSL: `5wd` (working days), `20d` (calendar days), `2h`, `30m`, `10s`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The unit of a [`Duration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DurationUnit {
    /// Working days on the bundle's calendar (`wd`).
    WorkingDays,
    /// Calendar days (`d`); one ending on a rest day moves to the next working day.
    Days,
    /// Hours (`h`).
    Hours,
    /// Minutes (`m`).
    Minutes,
    /// Seconds (`s`).
    Seconds,
}

impl DurationUnit {
    fn suffix(self) -> &'static str {
        match self {
            DurationUnit::WorkingDays => "wd",
            DurationUnit::Days => "d",
            DurationUnit::Hours => "h",
            DurationUnit::Minutes => "m",
            DurationUnit::Seconds => "s",
        }
    }
}

/// A duration as a designer writes it: an amount and a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Duration {
    /// How many units.
    pub amount: u32,
    /// Which unit.
    pub unit: DurationUnit,
}

impl Duration {
    /// `n` working days.
    pub const fn working_days(n: u32) -> Duration {
        Duration {
            amount: n,
            unit: DurationUnit::WorkingDays,
        }
    }

    /// `n` calendar days.
    pub const fn days(n: u32) -> Duration {
        Duration {
            amount: n,
            unit: DurationUnit::Days,
        }
    }

    /// `n` seconds.
    pub const fn seconds(n: u32) -> Duration {
        Duration {
            amount: n,
            unit: DurationUnit::Seconds,
        }
    }

    /// The exact length for clock units (`h`, `m`, `s`); `None` for day units, whose
    /// length depends on the calendar.
    pub fn as_std(&self) -> Option<std::time::Duration> {
        let secs = u64::from(self.amount)
            * match self.unit {
                DurationUnit::Hours => 3600,
                DurationUnit::Minutes => 60,
                DurationUnit::Seconds => 1,
                DurationUnit::WorkingDays | DurationUnit::Days => return None,
            };
        Some(std::time::Duration::from_secs(secs))
    }

    /// A rough length in working days, for comparing limits (critical path): clock units
    /// count as a fraction of an 8-hour working day, calendar days as 5/7 of a working day.
    pub fn approx_working_days(&self) -> f64 {
        let n = f64::from(self.amount);
        match self.unit {
            DurationUnit::WorkingDays => n,
            DurationUnit::Days => n * 5.0 / 7.0,
            DurationUnit::Hours => n / 8.0,
            DurationUnit::Minutes => n / 480.0,
            DurationUnit::Seconds => n / 28_800.0,
        }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit.suffix())
    }
}

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// No digits at the start.
    #[error("`{text}` does not start with a whole number")]
    NoAmount {
        /// The text given.
        text: String,
    },
    /// The amount does not fit.
    #[error("`{text}` is too large")]
    TooLarge {
        /// The text given.
        text: String,
    },
    /// The unit is not one of `wd`, `d`, `h`, `m`, `s`.
    #[error("`{text}` has unit `{unit}`; the units are wd (working days), d, h, m, s")]
    UnknownUnit {
        /// The text given.
        text: String,
        /// The unit given.
        unit: String,
    },
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Duration, DurationError> {
        let text = s.trim();
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::NoAmount {
                text: text.to_owned(),
            });
        }
        let amount: u32 = text[..digits]
            .parse()
            .map_err(|_| DurationError::TooLarge {
                text: text.to_owned(),
            })?;
        let unit = match text[digits..].trim() {
            "wd" => DurationUnit::WorkingDays,
            "d" => DurationUnit::Days,
            "h" => DurationUnit::Hours,
            "m" => DurationUnit::Minutes,
            "s" => DurationUnit::Seconds,
            other => {
                return Err(DurationError::UnknownUnit {
                    text: text.to_owned(),
                    unit: other.to_owned(),
                });
            }
        };
        Ok(Duration { amount, unit })
    }
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        for (text, unit) in [
            ("5wd", DurationUnit::WorkingDays),
            ("20d", DurationUnit::Days),
            ("2h", DurationUnit::Hours),
            ("30m", DurationUnit::Minutes),
            ("10s", DurationUnit::Seconds),
        ] {
            let d: Duration = text.parse().unwrap();
            assert_eq!(d.unit, unit);
            assert_eq!(d.to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_text() {
        assert!(matches!(
            "wd".parse::<Duration>(),
            Err(DurationError::NoAmount { .. })
        ));
        assert!(matches!(
            "5 weeks".parse::<Duration>(),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            "99999999999wd".parse::<Duration>(),
            Err(DurationError::TooLarge { .. })
        ));
    }
}
