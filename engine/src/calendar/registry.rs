//! [`Calendars`]: the calendars of a deployment, by id.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fs;
use std::path::{Path, PathBuf};

use super::file::{self, Definition};
use super::{Calendar, CalendarId, LoadError};

/// The calendars of a deployment, by id: the built-in ones, plus any loaded from a folder.
///
/// Cheap to clone (calendars share their data) and `Send + Sync`.
///
/// # Example
/// ```no_run
/// use yijian_engine::calendar::Calendars;
///
/// let mut calendars = Calendars::builtin()?;
/// // `calendars/cn-2027.yaml` (id: cn, years: {2027: …}) adds 2027 to the built-in `cn`;
/// // `calendars/xz.yaml` (id: xz) adds a regional calendar.
/// calendars.load_dir("calendars")?;
/// let cn = calendars.get("cn").expect("built in");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Calendars {
    by_id: BTreeMap<CalendarId, Calendar>,
}

impl Calendars {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in calendars (`cn`).
    ///
    /// # Errors
    /// A [`LoadError`] if a built-in file is broken (the tests load every one).
    pub fn builtin() -> Result<Self, LoadError> {
        let mut calendars = Self::new();
        for calendar in Calendar::all_builtin()? {
            calendars.insert(calendar);
        }
        Ok(calendars)
    }

    /// Adds a calendar, returning the one it replaces.
    pub fn insert(&mut self, calendar: Calendar) -> Option<Calendar> {
        self.by_id.insert(calendar.id().clone(), calendar)
    }

    /// The calendar with this id.
    pub fn get(&self, id: impl AsRef<str>) -> Option<&Calendar> {
        self.by_id.get(id.as_ref())
    }

    /// The ids of the calendars, in order (for checking the `calendar` a bundle names).
    pub fn ids(&self) -> impl Iterator<Item = &CalendarId> {
        self.by_id.keys()
    }

    /// The calendars, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Calendar> {
        self.by_id.values()
    }

    /// Loads every `*.yaml` file of `dir` (not its subfolders) and returns their paths.
    ///
    /// A file with a new id adds a calendar. A file with the id of a calendar already
    /// present adds its years to it, replacing the years both have, and sets its title; it
    /// must declare the same time zone. So `cn-2027.yaml` with `id: cn` and only `2027`
    /// extends the built-in calendar by a year. Files of the folder are combined before they
    /// are applied, so their order does not matter, and two files defining the same year of
    /// the same calendar are an error.
    ///
    /// All or nothing: on error, the registry is unchanged.
    ///
    /// # Errors
    /// A [`LoadError`] naming the file at fault.
    pub fn load_dir(&mut self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, LoadError> {
        let dir = dir.as_ref();
        let read_error = |source| LoadError::Read {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths = Vec::new();
        for entry in fs::read_dir(dir).map_err(read_error)? {
            let path = entry.map_err(read_error)?.path();
            if path.extension().is_some_and(|ext| ext == "yaml") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();

        let mut combined: BTreeMap<CalendarId, Definition> = BTreeMap::new();
        for path in &paths {
            let text = fs::read_to_string(path).map_err(|source| LoadError::Read {
                path: path.clone(),
                source,
            })?;
            let definition = file::parse(&text, path)?;
            match combined.entry(definition.id.clone()) {
                Entry::Vacant(slot) => {
                    slot.insert(definition);
                }
                Entry::Occupied(mut slot) => combine(slot.get_mut(), definition)?,
            }
        }

        let mut staged = self.by_id.clone();
        for (id, definition) in combined {
            let calendar = match staged.get(&id) {
                Some(existing) => existing.extended(definition)?,
                None => Calendar::from_definition(definition)?,
            };
            staged.insert(id, calendar);
        }
        self.by_id = staged;
        Ok(paths)
    }
}

/// Folds a later file of the same folder and id into `into`.
fn combine(into: &mut Definition, later: Definition) -> Result<(), LoadError> {
    if later.time_zone_name != into.time_zone_name {
        return Err(LoadError::TimeZoneMismatch {
            origin: later.origin,
            calendar: later.id,
            expected: into.time_zone_name.clone(),
            found: later.time_zone_name,
        });
    }
    for (year, entry) in later.years {
        match into.years.entry(year) {
            Entry::Vacant(slot) => {
                slot.insert(entry);
            }
            Entry::Occupied(slot) => {
                return Err(LoadError::DuplicateYear {
                    calendar: later.id,
                    year,
                    first: slot.get().origin.clone(),
                    second: entry.origin,
                });
            }
        }
    }
    into.title = later.title;
    into.origin = later.origin;
    Ok(())
}
