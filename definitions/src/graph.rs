//! The task graph: edges from `after` and from `source: task.x` materials, cycles,
//! topological order and ancestor sets.

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

/// Why one task runs after another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EdgeKind {
    /// Listed in `after`.
    After,
    /// Uses a licence the other task produces.
    Licence,
}

/// A set of task indices, one bit per task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    fn with_capacity(n: usize) -> Self {
        BitSet {
            words: vec![0; n.div_ceil(64)],
        }
    }
    fn insert(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }
    fn contains(&self, i: usize) -> bool {
        self.words
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    fn union_with(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= *b;
        }
    }
}

/// The dependency graph of a bundle's tasks; node `i` is task `i` in file order.
#[derive(Debug, Clone)]
pub(crate) struct TaskGraph {
    pub(crate) graph: DiGraph<u32, EdgeKind>,
    /// Topological order (empty when there is a cycle).
    pub(crate) order: Vec<u32>,
    ancestors: Vec<BitSet>,
}

impl TaskGraph {
    /// Builds the graph from `(from, to, kind)` edges among `n` tasks.
    pub(crate) fn new(n: usize, edges: &[(u32, u32, EdgeKind)]) -> TaskGraph {
        let mut graph = DiGraph::with_capacity(n, edges.len());
        for i in 0..n {
            graph.add_node(i as u32);
        }
        for &(a, b, k) in edges {
            if !graph.contains_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize)) {
                graph.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), k);
            }
        }
        let order = match petgraph::algo::toposort(&graph, None) {
            Ok(o) => o.into_iter().map(|i| i.index() as u32).collect(),
            Err(_) => Vec::new(),
        };
        let mut ancestors = vec![BitSet::with_capacity(n); n];
        for &t in &order {
            let t = t as usize;
            let mut set = BitSet::with_capacity(n);
            for e in graph.edges_directed(NodeIndex::new(t), petgraph::Direction::Incoming) {
                let p = e.source().index();
                set.insert(p);
                set.union_with(&ancestors[p]);
            }
            ancestors[t] = set;
        }
        TaskGraph {
            graph,
            order,
            ancestors,
        }
    }

    /// Is `a` upstream of `b` (must `a` settle before `b` starts)?
    pub(crate) fn is_upstream(&self, a: u32, b: u32) -> bool {
        self.ancestors
            .get(b as usize)
            .is_some_and(|s| s.contains(a as usize))
    }

    /// Each cycle as a path of task indices, first task repeated at the end.
    pub(crate) fn cycles(&self) -> Vec<Vec<u32>> {
        let mut out = Vec::new();
        for scc in tarjan_scc(&self.graph) {
            let self_loop = scc.len() == 1 && self.graph.contains_edge(scc[0], scc[0]);
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let mut members: Vec<u32> = scc.iter().map(|i| i.index() as u32).collect();
            members.sort_unstable();
            out.push(self.cycle_through(members[0], &members));
        }
        out.sort();
        out
    }

    /// A cycle starting and ending at `start`, within `members` (one strongly connected set).
    fn cycle_through(&self, start: u32, members: &[u32]) -> Vec<u32> {
        // Breadth-first from start back to start gives the shortest cycle.
        let mut prev: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(cur) = queue.pop_front() {
            let mut nexts: Vec<u32> = self
                .graph
                .neighbors(NodeIndex::new(cur as usize))
                .map(|n| n.index() as u32)
                .filter(|n| members.binary_search(n).is_ok())
                .collect();
            nexts.sort_unstable();
            for n in nexts {
                if n == start {
                    let mut path = vec![cur];
                    let mut at = cur;
                    while at != start {
                        at = prev[&at];
                        path.push(at);
                    }
                    path.reverse();
                    path.push(start);
                    return path;
                }
                if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(n) {
                    e.insert(cur);
                    queue.push_back(n);
                }
            }
        }
        vec![start, start]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cycle_path() {
        // 0 -> 1 -> 2 -> 0, and 3 alone
        let g = TaskGraph::new(
            4,
            &[
                (0, 1, EdgeKind::After),
                (1, 2, EdgeKind::After),
                (2, 0, EdgeKind::After),
            ],
        );
        assert_eq!(g.cycles(), vec![vec![0, 1, 2, 0]]);
        assert!(g.order.is_empty());
    }

    #[test]
    fn self_loop_is_a_cycle() {
        let g = TaskGraph::new(2, &[(1, 1, EdgeKind::After)]);
        assert_eq!(g.cycles(), vec![vec![1, 1]]);
    }

    #[test]
    fn ancestors_are_transitive() {
        let g = TaskGraph::new(4, &[(0, 1, EdgeKind::After), (1, 2, EdgeKind::Licence)]);
        assert!(g.is_upstream(0, 2));
        assert!(!g.is_upstream(2, 0));
        assert!(!g.is_upstream(3, 2));
        assert_eq!(g.order.len(), 4);
    }
}
