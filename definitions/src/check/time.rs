//! Time checks: the critical path, deferral allowances, promised vs statutory limits.

use crate::diagnostic::{Code, Diagnostic};
use crate::duration::Duration;
use crate::graph::TaskGraph;
use crate::model::{BundleDef, Located};

pub(crate) fn check_limits(def: &BundleDef, graph: &TaskGraph, diags: &mut Vec<Diagnostic>) {
    over_statutory(
        def.time_limit.as_ref(),
        def.statutory_limit.as_ref(),
        "the bundle",
        diags,
    );
    for (id, t) in &def.tasks {
        over_statutory(
            t.time_limit.as_ref(),
            t.statutory_limit.as_ref(),
            &format!("task `{id}`"),
            diags,
        );
    }
    critical_path(def, graph, diags);
    deferrals(def, diags);
}

fn over_statutory(
    limit: Option<&Located<Duration>>,
    statutory: Option<&Located<Duration>>,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) {
    if let (Some(l), Some(s)) = (limit, statutory)
        && longer(&l.value, &s.value)
    {
        diags.push(
            Diagnostic::new(
                Code::LimitOverStatutory,
                l.pos,
                format!(
                    "{what} promises {} but the statutory limit is {}",
                    l.value, s.value
                ),
            )
            .with_hint(
                "a promised limit (承诺时限) is normally shorter than the legal one (法定时限)",
            ),
        );
    }
}

/// Is `a` longer than `b`? Exact for the same unit, approximate otherwise.
fn longer(a: &Duration, b: &Duration) -> bool {
    if a.unit == b.unit {
        a.amount > b.amount
    } else {
        a.approx_working_days() > b.approx_working_days() + 1e-9
    }
}

/// The longest chain of task limits along the dependency graph, against the bundle's limit.
fn critical_path(def: &BundleDef, graph: &TaskGraph, diags: &mut Vec<Diagnostic>) {
    let Some(bundle) = &def.time_limit else {
        return;
    };
    if graph.order.is_empty() {
        return;
    }
    let n = def.tasks.len();
    let own: Vec<f64> = def
        .tasks
        .values()
        .map(|t| {
            t.time_limit
                .as_ref()
                .map_or(0.0, |d| d.value.approx_working_days())
        })
        .collect();
    let mut best = vec![0.0f64; n];
    let mut prev: Vec<Option<usize>> = vec![None; n];
    for &t in &graph.order {
        let t = t as usize;
        let mut base = 0.0;
        for p in graph.graph.neighbors_directed(
            petgraph::graph::NodeIndex::new(t),
            petgraph::Direction::Incoming,
        ) {
            let p = p.index();
            if best[p] > base {
                base = best[p];
                prev[t] = Some(p);
            }
        }
        best[t] = base + own[t];
    }
    let Some((end, &total)) = best.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)) else {
        return;
    };
    if total <= bundle.value.approx_working_days() + 1e-9 {
        return;
    }
    let mut chain = vec![end];
    while let Some(p) = prev[*chain.last().unwrap_or(&end)] {
        chain.push(p);
    }
    chain.reverse();
    let names: Vec<String> = chain
        .iter()
        .map(|&i| {
            let (id, t) = def
                .tasks
                .get_index(i)
                .map_or(("?", None), |(k, v)| (k.as_str(), Some(v)));
            match t.and_then(|t| t.time_limit.as_ref()) {
                Some(d) => format!("{id} ({})", d.value),
                None => id.to_owned(),
            }
        })
        .collect();
    diags.push(
        Diagnostic::new(Code::CriticalPath, bundle.pos, format!("the longest chain of task limits takes about {} working days, more than the bundle's {}: {}", fmt_days(total), bundle.value, names.join(" → ")))
            .with_hint("shorten task limits on this chain, run some of its tasks in parallel, or raise the bundle's `time_limit`"),
    );
}

fn fmt_days(d: f64) -> String {
    if (d - d.round()).abs() < 1e-9 {
        format!("{}", d.round() as i64)
    } else {
        format!("{d:.1}")
    }
}

/// A deferrable material's allowance must fit inside every task that uses it.
fn deferrals(def: &BundleDef, diags: &mut Vec<Diagnostic>) {
    for (id, t) in &def.tasks {
        let Some(limit) = t.time_limit.as_ref().or(def.time_limit.as_ref()) else {
            continue;
        };
        for m in &t.materials {
            let Some(mat) = def.materials.get(&m.value) else {
                continue;
            };
            let Some(allow) = &mat.deferrable else {
                continue;
            };
            if longer(&allow.value, &limit.value) {
                diags.push(
                    Diagnostic::new(Code::DeferralTooLong, allow.pos, format!("material `{}` may arrive {} late, but task `{id}` that uses it must finish within {}", m.value, allow.value, limit.value))
                        .with_hint(format!("shorten `deferrable` to at most {} (容缺 allowances are within the item's limit)", limit.value)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::DurationUnit;

    #[test]
    fn same_units_compare_exactly() {
        assert!(longer(
            &Duration::working_days(4),
            &Duration::working_days(3)
        ));
        assert!(!longer(
            &Duration::working_days(3),
            &Duration::working_days(3)
        ));
        assert!(longer(
            &Duration {
                amount: 30,
                unit: DurationUnit::Days
            },
            &Duration::working_days(20)
        ));
    }
}
