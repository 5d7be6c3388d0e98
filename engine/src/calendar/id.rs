//! The calendar identifier newtype.

use std::borrow::{Borrow, Cow};
use std::fmt;

use serde::{Deserialize, Serialize};

/// The id of a working-day calendar, such as `cn`.
///
/// A blueprint names the calendar its time limits are counted in by this id; a calendar file
/// declares it in its `id` field. Ids are short ASCII words: letters, digits, `-` and `_`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CalendarId(Cow<'static, str>);

impl CalendarId {
    /// The national calendar of the People's Republic of China, shipped with the engine.
    pub const CN: CalendarId = CalendarId(Cow::Borrowed("cn"));

    /// Wraps an id. It is checked when a calendar file declaring it is loaded, not here.
    pub fn new(id: impl Into<String>) -> Self {
        Self(Cow::Owned(id.into()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the id is non-empty and made of ASCII letters, digits, `-` and `_` only.
    pub(super) fn is_well_formed(&self) -> bool {
        !self.0.is_empty()
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

impl fmt::Display for CalendarId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for CalendarId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// Lets a registry keyed by `CalendarId` be searched with a plain `&str` (derived `Ord`, `Eq` and
// `Hash` on `Cow<str>` agree with `str`'s, as `Borrow` requires).
impl Borrow<str> for CalendarId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for CalendarId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl From<String> for CalendarId {
    fn from(id: String) -> Self {
        Self::new(id)
    }
}
