//! In-process adapters: a department's "back office" is a closure in the same program.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tracing::warn;
use yijian_engine::{Adapter, Decision, Dispatch, Replier, Work};

/// Decides each task at once with a synchronous closure (no extra round trip: the engine
/// applies the decision in the same call that dispatched the task).
pub struct InProcess {
    decide: Arc<dyn Fn(&Work) -> Decision + Send + Sync>,
}

impl InProcess {
    /// An adapter deciding with `decide`.
    pub fn new(decide: impl Fn(&Work) -> Decision + Send + Sync + 'static) -> InProcess {
        InProcess {
            decide: Arc::new(decide),
        }
    }
}

impl fmt::Debug for InProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InProcess")
    }
}

impl Adapter for InProcess {
    fn dispatch(&self, work: &Work, _reply: &Replier) -> Dispatch {
        Dispatch::Decided((self.decide)(work))
    }
}

/// Decides each task later with an async closure, spawned on the tokio runtime: for back
/// offices that take time (a call to another system, a person).
pub struct Spawned<F> {
    decide: Arc<F>,
}

impl<F> Spawned<F> {
    /// An adapter running `decide` in a spawned task for each dispatched unit.
    pub fn new(decide: F) -> Spawned<F> {
        Spawned {
            decide: Arc::new(decide),
        }
    }
}

impl<F> fmt::Debug for Spawned<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Spawned")
    }
}

impl<F, Fut> Adapter for Spawned<F>
where
    F: Fn(Work) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<Decision>> + Send + 'static,
{
    fn dispatch(&self, work: &Work, reply: &Replier) -> Dispatch {
        let decide = self.decide.clone();
        let reply = reply.clone();
        let work = work.clone();
        tokio::spawn(async move {
            let name = work.name();
            if let Some(decision) = decide(work).await
                && let Err(e) = reply.answer(decision).await
            {
                warn!(task = %name, error = %e, "the back office's answer was refused");
            }
        });
        Dispatch::Pending
    }
}
