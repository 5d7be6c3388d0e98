//! The HTTP service (`yijian serve`): the contract of `api.md` over axum, on any store.
//!
//! Library first: [`app`] is the router (testable with `oneshot`), [`serve`] runs it on a
//! listener until a shutdown future resolves, [`startup`] builds the state from a
//! [`Config`] and [`startup::run`] is what `yijian serve` calls. `docs/service.md` is the
//! operator's guide.
//!
//! # Layout
//! - [`config`]: the configuration file and its command-line overrides.
//! - [`auth`]: bearer tokens (hashed), roles, department ownership, region scope.
//! - [`error`]: [`ApiError`] and the extractors that turn bad input into it.
//! - [`body`]: request and response bodies with their OpenAPI schemas.
//! - `routes`: the handlers (bundles, cases, case actions, queues, operations).
//! - [`state`](AppState): what handlers share; [`index`](CaseIndex): where cases are.
//! - `limits`: concurrency limit, time limit, 5xx log; `metrics`: Prometheus text.
//! - [`openapi`]: the generated OpenAPI document; [`task_id`]: `<case_no>:<task>` ids.
//! - `bindings`: department bindings (queue, http webhooks, region-scoped).
//!
//! # Quick start
//! ```no_run
//! use yijian::engine::{Engine, MemoryStore};
//! use yijian::serve::{AppState, serve};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::builder(MemoryStore::new()).build().await?;
//! let state = AppState::builder(engine).build();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! serve(listener, state, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

pub mod auth;
mod bindings;
pub mod body;
mod camunda;
pub mod config;
mod console;
pub mod error;
pub mod index;
mod limits;
mod metrics;
pub mod openapi;
mod public;
mod routes;
pub mod startup;
pub mod state;
pub mod task_id;

use std::future::Future;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;
use yijian_engine::store::Store;

pub use auth::{Caller, DevTokens, Principal, Role, Tokens};
pub use config::{Config, Overrides};
pub use error::ApiError;
pub use index::CaseIndex;
pub use startup::{Prepared, StartupError, prepare};
pub use state::{AppState, AppStateBuilder, Limits};

/// The application: every endpoint of the API with its protection layers.
pub fn app<S: Store + Clone>(state: AppState<S>) -> axum::Router {
    routes::router(state)
}

/// Serves the API on `listener` until `shutdown` resolves: runs the engine's timers, then
/// on shutdown stops taking connections, lets requests in flight finish (long polls answer
/// at once), and stops the engine (`Engine::shutdown`). Leases survive a restart: they are
/// events of their cases.
///
/// # Errors
/// The listener failed.
pub async fn serve<S: Store + Clone>(
    listener: TcpListener,
    state: AppState<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = watch::channel(false);
    let engine = state.engine().clone();
    let mut timers_stop = stopped.clone();
    let timers = tokio::spawn(async move {
        engine
            .run_timers(async move {
                let _ = timers_stop.wait_for(|s| *s).await;
            })
            .await;
    });
    let on_shutdown = state.clone();
    // No Nagle: answers are small and a worker's next call waits for each one.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // With the peer's address: the progress lookup counts wrong codes per client.
    let result = axum::serve(
        listener,
        app(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        info!("shutting down: finishing the requests in flight");
        on_shutdown.begin_shutdown();
    })
    .await;
    let _ = stop.send(true);
    state.engine().shutdown().await;
    let _ = timers.await;
    info!("stopped");
    result
}
