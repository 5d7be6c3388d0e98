//! The service's configuration file (`yijian.example.yaml` documents every key) and the
//! command-line flags that override it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE: &str = "sqlite://yijian.db?mode=rwc";
/// The default bundle folder (the catalog of a source checkout).
pub const DEFAULT_BUNDLES: &str = "definitions/catalog";
/// Where development tokens are written when no token is configured.
pub const DEV_TOKENS_FILE: &str = "yijian-dev-tokens.json";

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML for this format (unknown key, wrong type…).
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's report, with line and column.
        message: String,
    },
    /// A value does not have the expected form.
    #[error("`{key}`: {message}")]
    Invalid {
        /// Where, e.g. `departments.fire.timeout`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The whole configuration. Every key is optional; see `yijian.example.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:8080` or `0.0.0.0:8080`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Database URL: `sqlite://path?mode=rwc` or `postgres://user:pass@host/db`.
    #[serde(default = "default_database")]
    pub database: String,
    /// Folders (or files) of bundle YAML deployed at start.
    #[serde(default = "default_bundles")]
    pub bundles: Vec<PathBuf>,
    /// Folders of extra working-day calendar files (a new year, a regional calendar).
    #[serde(default)]
    pub calendars: Vec<PathBuf>,
    /// Department bindings (the adapters.yaml shape).
    #[serde(default)]
    pub departments: BTreeMap<String, Binding>,
    /// An adapters.yaml file (dsl.md "Department bindings": a top-level `departments:`
    /// map), relative to this configuration file; its departments join `departments` (a
    /// department bound in both is an error).
    #[serde(default)]
    pub adapters: Option<PathBuf>,
    /// API tokens, stored as SHA-256 hashes. None: development tokens are generated.
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// Where development tokens are written (default `yijian-dev-tokens.json`).
    #[serde(default)]
    pub dev_tokens_file: Option<PathBuf>,
    /// Protection limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Where each bundle is offered: bundle id → 区划代码 prefixes (a bundle not named is
    /// offered everywhere). Intake lists a window only the bundles offered in its region,
    /// and a case outside them is refused (`422 not_offered`).
    #[serde(default)]
    pub offered_in: BTreeMap<String, Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: default_listen(),
            database: default_database(),
            bundles: default_bundles(),
            calendars: Vec::new(),
            departments: BTreeMap::new(),
            adapters: None,
            tokens: Vec::new(),
            dev_tokens_file: None,
            limits: LimitsConfig::default(),
            offered_in: BTreeMap::new(),
        }
    }
}

fn default_listen() -> String {
    DEFAULT_LISTEN.to_owned()
}

fn default_database() -> String {
    DEFAULT_DATABASE.to_owned()
}

fn default_bundles() -> Vec<PathBuf> {
    vec![PathBuf::from(DEFAULT_BUNDLES)]
}

/// How a department's tasks reach its back office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AdapterKind {
    /// The built-in queue the back office polls (the default).
    #[default]
    Queue,
    /// Signed HTTP POSTs to the back office (`yijian_adapters::webhook`).
    Http,
}

/// One department binding, optionally with region-scoped overrides.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    /// The department's name, for people.
    #[serde(default)]
    pub title: Option<String>,
    /// `queue` (default) or `http`.
    #[serde(default)]
    pub adapter: AdapterKind,
    /// Queue: the lease a fetch gets when it names none (default `5m`).
    #[serde(default)]
    pub lease: Option<String>,
    /// Http: where tasks are POSTed.
    #[serde(default)]
    pub url: Option<String>,
    /// Http: the environment variable holding the HMAC secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Http: a file holding the HMAC secret (a mounted secret; one trailing newline is
    /// ignored). Either this or `secret_env`.
    #[serde(default)]
    pub secret_file: Option<std::path::PathBuf>,
    /// Http: the limit of one attempt (default `10s`).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Http: the retry policy of one delivery.
    #[serde(default)]
    pub retry: Option<RetryConfig>,
    /// Region-scoped overrides: `区划代码 prefix → binding` (the longest prefix wins).
    #[serde(default)]
    pub regions: BTreeMap<String, Binding>,
}

/// `retry: {attempts: 8, backoff: 1s..10m}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts of one delivery.
    pub attempts: u32,
    /// `min..max`, doubling from `min`.
    pub backoff: String,
}

/// One API token: its role, optional region scope and the SHA-256 of the secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds it (recorded as the actor of what it does; never the secret).
    pub name: String,
    /// `admin`, `window`, `supervisor`, `trigger` or `department:<id>`.
    pub role: String,
    /// 区划代码 subtree the token is limited to (absent: everything).
    #[serde(default)]
    pub region: Option<String>,
    /// Lower-case hex SHA-256 of the token: `printf %s "$TOKEN" | sha256sum`.
    pub sha256: String,
}

/// Limits that protect the service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body in bytes (413 above it).
    #[serde(default = "default_max_body")]
    pub max_body: usize,
    /// Time limit of a request other than a long poll (503 `timeout` after it).
    #[serde(default = "default_request_timeout")]
    pub request_timeout: String,
    /// Requests handled at once; more are refused with 503 and `Retry-After`.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// Fetches (long polls) waiting at once; more are refused with 503 and `Retry-After`.
    #[serde(default = "default_max_waiters")]
    pub max_waiters: usize,
    /// The longest `wait` a fetch may ask for (longer asks are shortened).
    #[serde(default = "default_max_wait")]
    pub max_wait: String,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body: default_max_body(),
            request_timeout: default_request_timeout(),
            max_in_flight: default_max_in_flight(),
            max_waiters: default_max_waiters(),
            max_wait: default_max_wait(),
        }
    }
}

fn default_max_body() -> usize {
    1 << 20
}
fn default_request_timeout() -> String {
    "30s".to_owned()
}
fn default_max_in_flight() -> usize {
    1024
}
fn default_max_waiters() -> usize {
    1024
}
fn default_max_wait() -> String {
    "60s".to_owned()
}

/// Command-line flags that override the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen ADDR`.
    pub listen: Option<String>,
    /// `--db URL`.
    pub database: Option<String>,
    /// `--bundles DIR` (repeatable): replaces the file's list.
    pub bundles: Vec<PathBuf>,
}

impl Config {
    /// Reads a configuration file.
    ///
    /// # Errors
    /// The file cannot be read or does not fit the format.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Config::parse(&text, path)?;
        if let Some(file) = config.adapters.clone() {
            let file = path.parent().unwrap_or(Path::new(".")).join(file);
            config.merge_adapters(&file)?;
        }
        Ok(config)
    }

    /// Adds the departments of an adapters.yaml file.
    ///
    /// # Errors
    /// The file cannot be read, does not fit the format, or binds a department this
    /// configuration binds already.
    pub fn merge_adapters(&mut self, file: &Path) -> Result<(), ConfigError> {
        /// adapters.yaml: `departments:` only.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct AdaptersFile {
            #[serde(default)]
            departments: BTreeMap<String, Binding>,
        }
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            path: file.to_owned(),
            source,
        })?;
        let parsed: AdaptersFile = if text.trim().is_empty() {
            AdaptersFile {
                departments: BTreeMap::new(),
            }
        } else {
            serde_saphyr::from_str(&text).map_err(|e| ConfigError::Parse {
                path: file.to_owned(),
                message: e.to_string(),
            })?
        };
        for (dep, binding) in parsed.departments {
            if self.departments.contains_key(&dep) {
                return Err(ConfigError::Invalid {
                    key: format!("departments.{dep}"),
                    message: format!(
                        "bound both in the configuration and in {}; keep one",
                        file.display()
                    ),
                });
            }
            self.departments.insert(dep, binding);
        }
        Ok(())
    }

    /// Parses configuration text (`origin` names it in errors).
    ///
    /// # Errors
    /// The text does not fit the format.
    pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })
    }

    /// Applies command-line flags.
    #[must_use]
    pub fn with(mut self, overrides: Overrides) -> Config {
        if let Some(listen) = overrides.listen {
            self.listen = listen;
        }
        if let Some(db) = overrides.database {
            self.database = db;
        }
        if !overrides.bundles.is_empty() {
            self.bundles = overrides.bundles;
        }
        self
    }

    /// The limits, parsed.
    ///
    /// # Errors
    /// A duration that does not parse.
    pub fn limits(&self) -> Result<super::Limits, ConfigError> {
        let l = &self.limits;
        Ok(super::Limits {
            max_body: l.max_body.max(1024),
            request_timeout: duration("limits.request_timeout", &l.request_timeout)?,
            max_in_flight: l.max_in_flight.max(1),
            max_waiters: l.max_waiters.max(1),
            max_wait: duration("limits.max_wait", &l.max_wait)?,
        })
    }
}

/// Parses a clock duration (`30s`, `5m`, `2h`, `1d`); working days are refused.
///
/// # Errors
/// Not a duration, or in working days.
pub fn duration(key: &str, text: &str) -> Result<Duration, ConfigError> {
    parse_duration(text).map_err(|message| ConfigError::Invalid {
        key: key.to_owned(),
        message,
    })
}

/// Parses a clock duration (`30s`, `5m`, `2h`, `1d`), for configuration and requests.
///
/// # Errors
/// A message for people when it is not a clock duration.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d: yijian_definitions::Duration = text
        .trim()
        .parse()
        .map_err(|e: yijian_definitions::DurationError| e.to_string())?;
    d.as_std()
        .ok_or_else(|| format!("`{text}` must be in s, m, h or d (not working days)"))
}

/// Parses `1s..10m`.
///
/// # Errors
/// Not two clock durations separated by `..`.
pub fn parse_backoff(key: &str, text: &str) -> Result<(Duration, Duration), ConfigError> {
    let (lo, hi) = text.split_once("..").ok_or_else(|| ConfigError::Invalid {
        key: key.to_owned(),
        message: format!("`{text}` is not `min..max`, e.g. `1s..10m`"),
    })?;
    Ok((duration(key, lo)?, duration(key, hi)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("yijian.example.yaml");
        let config = Config::load(&path).expect("the example parses");
        assert_eq!(config.listen, DEFAULT_LISTEN);
        assert!(config.departments.contains_key("market"));
        config.limits().expect("limits parse");
    }

    #[test]
    fn an_adapters_file_joins_the_bindings_and_a_double_binding_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join("adapters.yaml"),
            "departments:\n  fire:\n    title: 消防救援支队\n    adapter: http\n    url: http://127.0.0.1:9001/tasks\n    secret_env: FIRE_HMAC_SECRET\n    timeout: 10s\n    retry: {attempts: 8, backoff: 1s..10m}\n  police: {title: 公安局, adapter: queue}\n",
        )
        .expect("write");
        let config = dir.path().join("yijian.yaml");
        std::fs::write(
            &config,
            "adapters: adapters.yaml\ndepartments:\n  market: {adapter: queue}\n",
        )
        .expect("write");
        let c = Config::load(&config).expect("loads");
        let deps: Vec<&str> = c.departments.keys().map(String::as_str).collect();
        assert_eq!(deps, ["fire", "market", "police"]);
        assert_eq!(c.departments["fire"].adapter, AdapterKind::Http);
        std::fs::write(
            &config,
            "adapters: adapters.yaml\ndepartments:\n  fire: {adapter: queue}\n",
        )
        .expect("write");
        let err = Config::load(&config).unwrap_err().to_string();
        assert!(
            err.contains("departments.fire") && err.contains("adapters.yaml"),
            "{err}"
        );
        std::fs::write(&config, "adapters: missing.yaml\n").expect("write");
        let err = Config::load(&config).unwrap_err().to_string();
        assert!(err.contains("missing.yaml"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Config::parse("listne: 1\n", Path::new("x.yaml")).unwrap_err();
        assert!(err.to_string().contains("listne"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert!(parse_duration("2wd").is_err());
        assert!(parse_backoff("k", "1s..10m").is_ok());
        assert!(parse_backoff("k", "1s").is_err());
    }
}
