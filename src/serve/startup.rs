//! Start-up: from a [`Config`] to a running service — connect, deploy the bundle folders,
//! bind departments, set up tokens, recover open cases, listen.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};

use tokio::net::TcpListener;
use tracing::{info, warn};
use yijian_engine::calendar::{Calendars, LoadError};
use yijian_engine::store::{Store, StoreError};
use yijian_engine::{Engine, EngineError};
use yijian_store_sql::SqlStore;

use super::auth::{DevTokens, Tokens};
use super::config::{Config, ConfigError, DEFAULT_BUNDLES, DEV_TOKENS_FILE};
use super::state::AppState;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A calendar folder could not be loaded.
    #[error(transparent)]
    Calendar(#[from] LoadError),
    /// The store failed.
    #[error("the store: {0}")]
    Store(#[from] StoreError),
    /// The engine could not start.
    #[error("the engine: {0}")]
    Engine(#[from] EngineError),
    /// A bundle file does not check.
    #[error("{}: the bundle has errors:\n{report}", path.display())]
    Bundle {
        /// The file.
        path: PathBuf,
        /// Every finding, one per line.
        report: String,
    },
    /// A file or folder could not be read or written.
    #[error("{}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A department binding is unusable.
    #[error("department `{department}`: {message}")]
    Binding {
        /// The department.
        department: String,
        /// What is wrong.
        message: String,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A prepared service: its state, and what start-up did.
#[derive(Debug)]
pub struct Prepared<S: Store> {
    /// The state to serve.
    pub state: AppState<S>,
    /// Where development tokens were written, when no token is configured.
    pub dev_tokens: Option<PathBuf>,
    /// Bundles deployed from the folders: `(id, version)`.
    pub deployed: Vec<(String, u32)>,
    /// Open cases recovered from the store.
    pub recovered: usize,
}

/// Builds the service on `store`: calendars, bundle folders, department bindings, tokens
/// (development tokens in `workdir` when none is configured), then hands pushed units that
/// wait for an answer to their adapters again. No case is loaded.
/// Relative paths of the configuration are taken from `workdir`.
///
/// # Errors
/// Any part of the configuration that cannot be applied.
pub async fn prepare<S: Store + Clone>(
    store: S,
    config: &Config,
    workdir: &Path,
) -> Result<Prepared<S>, StartupError> {
    let limits = config.limits()?;
    let mut calendars = Calendars::builtin()?;
    for dir in &config.calendars {
        calendars.load_dir(workdir.join(dir))?;
    }
    let engine = Engine::builder(store.clone())
        .calendars(calendars)
        .build()
        .await?;
    let deployed = deploy_folders(&engine, &config.bundles, workdir).await?;
    let bound = super::bindings::register(&engine, &config.departments)?;
    let (tokens, dev_tokens) = if config.tokens.is_empty() {
        let mut departments: BTreeSet<String> = config.departments.keys().cloned().collect();
        for bp in engine.blueprints() {
            departments.extend(bp.tasks.iter().map(|t| t.department.to_string()));
        }
        let path = workdir.join(
            config
                .dev_tokens_file
                .as_deref()
                .unwrap_or(Path::new(DEV_TOKENS_FILE)),
        );
        let dev = DevTokens::load_or_create(&path, departments.iter().map(String::as_str))
            .map_err(|source| StartupError::Io {
                path: path.clone(),
                source,
            })?;
        (dev.tokens(), Some(path))
    } else {
        (Tokens::from_config(&config.tokens)?, None)
    };
    let mut builder = AppState::builder(engine.clone())
        .tokens(tokens)
        .limits(limits)
        .offered_in(config.offered_in.clone());
    for (dep, lease) in bound.leases {
        builder = builder.default_lease(dep, lease);
    }
    let builder = builder.webhooks(bound.webhooks);
    let state = builder.build();
    // Nothing is loaded: cases, queues and timers stay in the store. Only units pushed to
    // webhooks and not yet answered are handed to their adapters again.
    let recovered = engine.recover().await?;
    info!(recovered, "dispatched units handed to their adapters again");
    Ok(Prepared {
        state,
        dev_tokens,
        deployed,
        recovered,
    })
}

/// Deploys every `*.yaml` / `*.yml` of the folders (or the files named). A file whose
/// id+version is deployed with other content is skipped with a warning: deployed versions
/// are immutable.
async fn deploy_folders<S: Store>(
    engine: &Engine<S>,
    folders: &[PathBuf],
    workdir: &Path,
) -> Result<Vec<(String, u32)>, StartupError> {
    let mut deployed = Vec::new();
    for folder in folders {
        let path = workdir.join(folder);
        let files = match bundle_files(&path) {
            Ok(f) => f,
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && folder == Path::new(DEFAULT_BUNDLES) =>
            {
                warn!(folder = %path.display(), "the default bundle folder does not exist; no bundle deployed from it");
                continue;
            }
            Err(source) => return Err(StartupError::Io { path, source }),
        };
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|source| StartupError::Io {
                path: file.clone(),
                source,
            })?;
            match engine.deploy(&text).await {
                Ok(r) => {
                    info!(bundle.id = %r.id, bundle.version = r.version, created = r.created, file = %file.display(), "bundle deployed");
                    deployed.push((r.id, r.version));
                }
                Err(EngineError::Store(StoreError::BundleExists { id, version })) => {
                    warn!(bundle.id = %id, bundle.version = version, file = %file.display(), "this id+version is deployed with other content; keeping the deployed one (give the file a new version)");
                }
                Err(EngineError::InvalidBundle { diagnostics }) => {
                    return Err(StartupError::Bundle {
                        report: crate::report::plain(&file.display().to_string(), &diagnostics),
                        path: file,
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(deployed)
}

fn bundle_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// A database URL with its password hidden, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// What `yijian serve` runs: connects the store named by `config.database` (SQLite or
/// PostgreSQL), prepares the service, listens on `config.listen` and serves until
/// `shutdown` resolves.
///
/// # Errors
/// Start-up failed, or the listener failed.
pub async fn run(
    config: Config,
    workdir: &Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    info!(database = %redact(&config.database), "connecting the store");
    let store = SqlStore::connect(&config.database).await?;
    let prepared = prepare(store, &config, workdir).await?;
    let listener =
        TcpListener::bind(&config.listen)
            .await
            .map_err(|source| StartupError::Listen {
                addr: config.listen.clone(),
                source,
            })?;
    let addr = listener
        .local_addr()
        .map_or_else(|_| config.listen.clone(), |a| a.to_string());
    info!(listen = %addr, bundles = prepared.deployed.len(), "yijian serve is listening");
    if let Some(path) = &prepared.dev_tokens {
        warn!(file = %path.display(), "no tokens configured: development tokens are in this file (mode 0600); configure `tokens` for production");
    }
    super::serve(listener, prepared.state, shutdown)
        .await
        .map_err(|source| StartupError::Listen { addr, source })
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => info!("ctrl-c received"),
        () = term => info!("SIGTERM received"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("postgres://yj:secret@db:5432/yj"),
            "postgres://yj:***@db:5432/yj"
        );
        assert_eq!(
            redact("sqlite://yijian.db?mode=rwc"),
            "sqlite://yijian.db?mode=rwc"
        );
    }
}
