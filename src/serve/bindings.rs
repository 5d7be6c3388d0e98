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
use super::startup::StartupError;

fn invalid(department: &str, message: impl Into<String>) -> StartupError {
    StartupError::Binding {
        department: department.to_owned(),
        message: message.into(),
    }
}

/// A webhook bound to a department (and a region prefix, `""` for its own binding), kept
/// for metrics.
#[derive(Debug, Clone)]
pub(crate) struct BoundWebhook {
    pub(crate) department: String,
    pub(crate) region: String,
    pub(crate) webhook: Webhook,
}

/// What the bindings set up.
#[derive(Debug, Default)]
pub(crate) struct Bound {
    /// Each department's default lease.
    pub(crate) leases: BTreeMap<String, Duration>,
    /// Every webhook.
    pub(crate) webhooks: Vec<BoundWebhook>,
}

/// Registers the adapters of every binding.
pub(crate) fn register<S: Store>(
    engine: &Engine<S>,
    departments: &BTreeMap<String, Binding>,
) -> Result<Bound, StartupError> {
    let mut leases = BTreeMap::new();
    let mut webhooks = Vec::new();
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
        let mut routes = Vec::with_capacity(all.len());
        for (prefix, b) in all {
            let key = if prefix.is_empty() {
                format!("departments.{dep}")
            } else {
                format!("departments.{dep}.regions.{prefix}")
            };
            let route = match b.adapter {
                AdapterKind::Http => {
                    let w = webhook(dep, &key, b)?;
                    webhooks.push(BoundWebhook {
                        department: dep.clone(),
                        region: prefix.clone(),
                        webhook: w.clone(),
                    });
                    Route::Http(w)
                }
                AdapterKind::Queue => Route::Queue,
            };
            routes.push((prefix, route));
        }
        let adapter: Arc<dyn Adapter> = if let [(_, Route::Http(w))] = routes.as_slice() {
            // One webhook for every region: no router needed.
            Arc::new(w.clone())
        } else {
            // Longest prefix first; the department's own binding ("") last. Without its own
            // binding the department's other regions are queue-bound.
            routes.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
            if routes.last().is_none_or(|(p, _)| !p.is_empty()) {
                routes.push((String::new(), Route::Queue));
            }
            Arc::new(RegionRouter { routes })
        };
        tracing::info!(department = %dep, "department bound to its webhook (some regions may stay queue-bound)");
        engine.register_adapter(dep.clone(), adapter);
    }
    Ok(Bound { leases, webhooks })
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
    let secret = match (&b.secret_env, &b.secret_file) {
        (Some(var), None) => {
            Secret::from_env(var).map_err(|e| invalid(dep, format!("`{key}`: {e}")))?
        }
        (None, Some(path)) => {
            let text = std::fs::read(path).map_err(|e| {
                invalid(
                    dep,
                    format!("`{key}.secret_file`: cannot read {}: {e}", path.display()),
                )
            })?;
            let text = text.strip_suffix(b"\n").unwrap_or(&text);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            Secret::new(text.to_vec())
        }
        (Some(_), Some(_)) => {
            return Err(invalid(
                dep,
                format!("`{key}`: give either `secret_env` or `secret_file`, not both"),
            ));
        }
        (None, None) => {
            return Err(invalid(
                dep,
                format!(
                    "`{key}`: an http binding needs `secret_env` (an environment variable) or `secret_file` holding the HMAC secret"
                ),
            ));
        }
    };
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

/// Where one region subtree's work goes.
#[derive(Debug)]
enum Route {
    /// The department's built-in queue (its back office fetches).
    Queue,
    /// A signed webhook.
    Http(Webhook),
}

/// Routes a department's work by the case's region: the binding of the longest matching
/// 区划代码 prefix wins (api.md "Regions"); its route is a webhook or the built-in queue.
#[derive(Debug)]
struct RegionRouter {
    routes: Vec<(String, Route)>,
}

impl RegionRouter {
    fn pick(&self, region: &str) -> &Route {
        self.routes
            .iter()
            .find(|(p, _)| region.starts_with(p.as_str()))
            .map_or(&Route::Queue, |(_, r)| r)
    }
}

impl Adapter for RegionRouter {
    fn dispatch(&self, work: &Work, reply: &Replier) -> Dispatch {
        match self.pick(&work.region) {
            Route::Http(w) => w.dispatch(work, reply),
            Route::Queue => Dispatch::Queue,
        }
    }

    fn queues(&self, region: &str) -> bool {
        matches!(self.pick(region), Route::Queue)
    }

    fn cancel(&self, work: &WorkCancelled) {
        if let Route::Http(w) = self.pick(&work.region) {
            w.cancel(work);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_region_prefix_wins_across_queue_and_http() {
        let b: Binding = serde_saphyr::from_str(
            "adapter: queue\nregions:\n  \"3201\":\n    adapter: http\n    url: \"http://127.0.0.1:9/x\"\n    secret_env: YIJIAN_TEST_BINDINGS_SECRET\n    regions:\n      \"320106\": {adapter: queue}\n",
        )
        .expect("parses");
        let mut all = Vec::new();
        flatten("market", String::new(), &b, &mut all).expect("flattens");
        let mut routes: Vec<(String, Route)> = all
            .into_iter()
            .map(|(p, b)| {
                let r = match b.adapter {
                    AdapterKind::Http => {
                        let url = b.url.clone().expect("url");
                        let config = WebhookConfig::new(url, Secret::new("s3cret"));
                        Route::Http(Webhook::new(config).expect("webhook"))
                    }
                    AdapterKind::Queue => Route::Queue,
                };
                (p, r)
            })
            .collect();
        routes.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        let router = RegionRouter { routes };
        assert!(matches!(router.pick("320106001"), Route::Queue));
        assert!(matches!(router.pick("320102"), Route::Http(_)));
        assert!(matches!(router.pick("310101"), Route::Queue));
        assert!(matches!(router.pick(""), Route::Queue));
    }
}
