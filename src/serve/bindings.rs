//! Department bindings: `queue` (the engine's built-in queue: a department with no adapter
//! is queue-bound) or `http` (a signed webhook), optionally per region subtree.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use yijian_adapters::webhook::{Backoff, Retry, Secret, Webhook, WebhookConfig};
use yijian_engine::adapter::WorkCancelled;
use yijian_engine::store::Store;
use yijian_engine::{Adapter, Dispatch, Engine, Replier, Work};

use super::config::{AdapterKind, Binding, duration, parse_backoff};
use super::index::CaseIndex;
use super::startup::StartupError;

fn invalid(department: &str, message: impl Into<String>) -> StartupError {
    StartupError::Binding {
        department: department.to_owned(),
        message: message.into(),
    }
}

/// Registers the adapters of every binding; returns each department's default lease.
pub(crate) fn register<S: Store>(
    engine: &Engine<S>,
    departments: &BTreeMap<String, Binding>,
    index: &CaseIndex,
) -> Result<BTreeMap<String, Duration>, StartupError> {
    let mut leases = BTreeMap::new();
    for (dep, binding) in departments {
        if let Some(l) = &binding.lease {
            leases.insert(
                dep.clone(),
                duration(&format!("departments.{dep}.lease"), l)?,
            );
        }
        let mut all = Vec::new();
        flatten(dep, String::new(), binding, &mut all)?;
        let http = all
            .iter()
            .filter(|(_, b)| b.adapter == AdapterKind::Http)
            .count();
        if http == 0 {
            continue;
        }
        if http != all.len() {
            return Err(invalid(
                dep,
                "mixes `queue` and `http` bindings across regions; region overrides are supported among `http` bindings only (set the department's own binding to http too)",
            ));
        }
        let mut routes = Vec::with_capacity(all.len());
        for (prefix, b) in all {
            let key = if prefix.is_empty() {
                format!("departments.{dep}")
            } else {
                format!("departments.{dep}.regions.{prefix}")
            };
            routes.push((prefix, webhook(dep, &key, b)?));
        }
        let adapter: Arc<dyn Adapter> = if routes.len() == 1 {
            Arc::new(routes.remove(0).1)
        } else {
            // Longest prefix first; the department's own binding ("") last.
            routes.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
            Arc::new(RegionRouter {
                routes,
                index: index.clone(),
            })
        };
        tracing::info!(department = %dep, "department bound to its webhook");
        engine.register_adapter(dep.clone(), adapter);
    }
    Ok(leases)
}

fn flatten<'a>(
    dep: &str,
    prefix: String,
    b: &'a Binding,
    out: &mut Vec<(String, &'a Binding)>,
) -> Result<(), StartupError> {
    for (region, sub) in &b.regions {
        if region.is_empty() || !region.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid(
                dep,
                format!("region `{region}` is not a 区划代码 (digits only)"),
            ));
        }
        if !region.starts_with(&prefix) || *region == prefix {
            return Err(invalid(
                dep,
                format!("region `{region}` is not inside `{prefix}`"),
            ));
        }
        flatten(dep, region.clone(), sub, out)?;
    }
    out.push((prefix, b));
    Ok(())
}

fn webhook(dep: &str, key: &str, b: &Binding) -> Result<Webhook, StartupError> {
    let url = b
        .url
        .clone()
        .ok_or_else(|| invalid(dep, format!("`{key}`: an http binding needs `url`")))?;
    let var = b
        .secret_env
        .as_deref()
        .ok_or_else(|| invalid(dep, format!("`{key}`: an http binding needs `secret_env`")))?;
    let secret = Secret::from_env(var).map_err(|e| invalid(dep, format!("`{key}`: {e}")))?;
    let mut config = WebhookConfig::new(url, secret);
    if let Some(t) = &b.timeout {
        config = config.timeout(duration(&format!("{key}.timeout"), t)?);
    }
    if let Some(r) = &b.retry {
        let (lo, hi) = parse_backoff(&format!("{key}.retry.backoff"), &r.backoff)?;
        config = config.retry(Retry::new(r.attempts, Backoff::new(lo, hi)));
    }
    Webhook::new(config).map_err(|e| invalid(dep, format!("`{key}`: {e}")))
}

/// Routes a department's work to the webhook of the longest matching region prefix.
#[derive(Debug)]
struct RegionRouter {
    routes: Vec<(String, Webhook)>,
    index: CaseIndex,
}

impl RegionRouter {
    fn pick(&self, region: &str) -> Option<&Webhook> {
        self.routes
            .iter()
            .find(|(p, _)| region.starts_with(p.as_str()))
            .map(|(_, w)| w)
    }
}

impl Adapter for RegionRouter {
    fn dispatch(&self, work: &Work, reply: &Replier) -> Dispatch {
        match self.pick(&work.region) {
            Some(w) => w.dispatch(work, reply),
            None => Dispatch::Decided(yijian_engine::Decision::Fail {
                error: format!(
                    "no binding of department `{}` serves region `{}`",
                    work.department, work.region
                ),
                retry_in: None,
            }),
        }
    }

    fn cancel(&self, work: &WorkCancelled) {
        let region = self.index.region(&work.case_no).unwrap_or_default();
        if let Some(w) = self.pick(&region) {
            w.cancel(work);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_bindings_are_refused() {
        let b: Binding = serde_saphyr::from_str(
            "adapter: queue\nregions:\n  \"320106\": {adapter: http, url: \"http://127.0.0.1:9/x\", secret_env: NOPE}\n",
        )
        .expect("parses");
        let mut all = Vec::new();
        flatten("market", String::new(), &b, &mut all).expect("flattens");
        assert_eq!(all.len(), 2);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let engine = rt
            .block_on(Engine::builder(yijian_engine::MemoryStore::new()).build())
            .expect("engine");
        let deps = BTreeMap::from([("market".to_owned(), b)]);
        let err = register(&engine, &deps, &CaseIndex::new()).unwrap_err();
        assert!(err.to_string().contains("mixes"), "{err}");
    }
}
