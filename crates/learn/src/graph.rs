//! The graph an encoder reads: nodes with dense features, directed typed weighted edges stored as CSR
//! by destination, validated once at construction. Also derives the encoders' adjacency (edges plus
//! self-loops) with its GCN normalisation.

use std::sync::Arc;

use rand::Rng;

use crate::error::{Error, Result};
use crate::sparse::SparseStructure;

/// Problems listed in one error at most; the count of the rest is reported.
const MAX_PROBLEMS_LISTED: usize = 20;

/// One directed edge `src -> dst` (messages flow from `src` to `dst`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    /// Source node index.
    pub src_idx: u32,
    /// Destination node index.
    pub dst_idx: u32,
    /// Non-negative, finite weight (1.0 for an unweighted edge).
    pub weight: f32,
    /// Edge type (e.g. dependency, allocation, temporal, resource-sharing), a small integer.
    pub edge_type: u8,
}

/// A validated graph: `n_nodes` nodes with `n_features` features each (row-major), edges in CSR order
/// by destination.
///
/// Invariant: every index is in range, every feature and weight is finite, weights are non-negative;
/// within a destination, edges keep (source, input order) order. The encoders' adjacency (`adjacency`)
/// adds one self-loop per node (weight 1) to the edges.
///
/// Edge types are stored and exposed ([`Graph::incoming`]) for graph builders and typed encoders to
/// come; today GCN uses the weights and GAT learns its own attention (it ignores weights and types).
#[derive(Debug, Clone)]
pub struct Graph {
    n_features: usize,
    node_features: Vec<f32>,
    /// Destination-major CSR of the user's edges.
    row_ptr: Vec<usize>,
    col_idx: Vec<u32>,
    edge_weight: Vec<f32>,
    edge_type: Vec<u8>,
    /// Edges plus self-loops, shared with the kernels.
    adjacency: Arc<SparseStructure>,
    /// GCN weights of `adjacency`: `w / sqrt(deg(src) deg(dst))`, deg = weighted in-degree + 1.
    gcn_weight: Arc<Vec<f32>>,
    /// Type slot of every `adjacency` edge: the user's type capped at [`MAX_EDGE_TYPE`], self-loops
    /// [`SELF_LOOP_SLOT`].
    adjacency_type: Arc<Vec<u8>>,
}

/// Largest edge type the typed encoders tell apart; larger types share this slot.
pub const MAX_EDGE_TYPE: u8 = 14;
/// The type slot of the encoders' self-loops.
pub const SELF_LOOP_SLOT: u8 = MAX_EDGE_TYPE + 1;
/// Number of type slots a typed encoder learns parameters for (edge types `0..=MAX_EDGE_TYPE` plus
/// the self-loop).
pub const N_TYPE_SLOTS: usize = SELF_LOOP_SLOT as usize + 1;

impl Graph {
    /// Validates and builds a graph. `node_features` is `n_nodes x n_features`, row-major.
    ///
    /// # Errors
    /// [`Error::InvalidGraph`] listing every problem with its place: feature length, non-finite
    /// features (`node 3 feature 1: NaN`), edge endpoints out of range, non-finite or negative weights,
    /// more than `u32::MAX` nodes.
    pub fn new(
        n_nodes: usize,
        n_features: usize,
        node_features: Vec<f32>,
        edges: &[Edge],
    ) -> Result<Graph> {
        let mut problems = Vec::new();
        let mut n_problems = 0usize;
        let mut report = |p: String| {
            n_problems += 1;
            if n_problems <= MAX_PROBLEMS_LISTED {
                problems.push(p);
            }
        };
        if n_nodes > u32::MAX as usize {
            report(format!("n_nodes {n_nodes} exceeds {}", u32::MAX));
        }
        if node_features.len() != n_nodes * n_features {
            report(format!(
                "node_features has {} values, expected n_nodes {n_nodes} x n_features {n_features} = {}",
                node_features.len(),
                n_nodes * n_features
            ));
        } else {
            for (k, v) in node_features.iter().enumerate() {
                if !v.is_finite() {
                    report(format!(
                        "node {} feature {}: {v}",
                        k / n_features.max(1),
                        k % n_features.max(1)
                    ));
                }
            }
        }
        for (e, edge) in edges.iter().enumerate() {
            if edge.src_idx as usize >= n_nodes {
                report(format!(
                    "edge {e}: src {} out of range (n_nodes {n_nodes})",
                    edge.src_idx
                ));
            }
            if edge.dst_idx as usize >= n_nodes {
                report(format!(
                    "edge {e}: dst {} out of range (n_nodes {n_nodes})",
                    edge.dst_idx
                ));
            }
            if !edge.weight.is_finite() || edge.weight < 0.0 {
                report(format!(
                    "edge {e}: weight {} must be finite and non-negative",
                    edge.weight
                ));
            }
        }
        if n_problems > 0 {
            if n_problems > MAX_PROBLEMS_LISTED {
                problems.push(format!("and {} more", n_problems - MAX_PROBLEMS_LISTED));
            }
            return Err(Error::InvalidGraph { problems });
        }

        // Stable counting sort by destination, then a stable sort by source within each row.
        let mut row_ptr = vec![0usize; n_nodes + 1];
        for edge in edges {
            row_ptr[edge.dst_idx as usize + 1] += 1;
        }
        for i in 0..n_nodes {
            row_ptr[i + 1] += row_ptr[i];
        }
        let mut fill = row_ptr.clone();
        let mut order = vec![0u32; edges.len()];
        for (e, edge) in edges.iter().enumerate() {
            order[fill[edge.dst_idx as usize]] = e as u32;
            fill[edge.dst_idx as usize] += 1;
        }
        for i in 0..n_nodes {
            order[row_ptr[i]..row_ptr[i + 1]].sort_by_key(|&e| edges[e as usize].src_idx);
        }
        let col_idx: Vec<u32> = order.iter().map(|&e| edges[e as usize].src_idx).collect();
        let edge_weight: Vec<f32> = order.iter().map(|&e| edges[e as usize].weight).collect();
        let edge_type: Vec<u8> = order.iter().map(|&e| edges[e as usize].edge_type).collect();

        // Adjacency with self-loops, inserted in source order within each row.
        let n_adj = edges.len() + n_nodes;
        let mut a_ptr = Vec::with_capacity(n_nodes + 1);
        let mut a_col = Vec::with_capacity(n_adj);
        let mut a_w = Vec::with_capacity(n_adj);
        let mut a_t = Vec::with_capacity(n_adj);
        a_ptr.push(0);
        for i in 0..n_nodes {
            let mut self_done = false;
            for e in row_ptr[i]..row_ptr[i + 1] {
                if !self_done && col_idx[e] as usize >= i {
                    a_col.push(i as u32);
                    a_w.push(1.0);
                    a_t.push(SELF_LOOP_SLOT);
                    self_done = true;
                }
                a_col.push(col_idx[e]);
                a_w.push(edge_weight[e]);
                a_t.push(edge_type[e].min(MAX_EDGE_TYPE));
            }
            if !self_done {
                a_col.push(i as u32);
                a_w.push(1.0);
                a_t.push(SELF_LOOP_SLOT);
            }
            a_ptr.push(a_col.len());
        }
        let adjacency = SparseStructure::from_csr(n_nodes, a_ptr, a_col);
        // GCN (Kipf & Welling) symmetric normalisation with the self-loop: deg_i = 1 + weighted in-degree.
        let deg: Vec<f32> = (0..n_nodes)
            .map(|i| {
                a_w[adjacency.row_ptr()[i]..adjacency.row_ptr()[i + 1]]
                    .iter()
                    .sum()
            })
            .collect();
        let inv_sqrt: Vec<f32> = deg
            .iter()
            .map(|&d| if d > 0.0 { 1.0 / d.sqrt() } else { 0.0 })
            .collect();
        let gcn_weight: Vec<f32> = (0..adjacency.n_edges())
            .map(|e| {
                let (i, j) = (
                    adjacency.edge_row()[e] as usize,
                    adjacency.col_idx()[e] as usize,
                );
                a_w[e] * inv_sqrt[i] * inv_sqrt[j]
            })
            .collect();

        Ok(Graph {
            n_features,
            node_features,
            row_ptr,
            col_idx,
            edge_weight,
            edge_type,
            adjacency: Arc::new(adjacency),
            gcn_weight: Arc::new(gcn_weight),
            adjacency_type: Arc::new(a_t),
        })
    }

    /// The disjoint union of `graphs` (a batch): node `k` of `graphs[g]` becomes node
    /// `offsets[g] + k`; returns the union and the offsets. Every graph must have the same feature width.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when feature widths differ; [`Error::InvalidGraph`] past `u32::MAX` nodes.
    pub fn disjoint_union(graphs: &[&Graph]) -> Result<(Graph, Vec<usize>)> {
        let n_features = graphs.first().map_or(1, |g| g.n_features);
        let mut offsets = Vec::with_capacity(graphs.len());
        let mut features = Vec::new();
        let mut edges = Vec::new();
        let mut n = 0usize;
        for g in graphs {
            if g.n_features != n_features {
                return Err(Error::ShapeMismatch {
                    what: "disjoint_union: n_features of a graph",
                    expected: n_features,
                    got: g.n_features,
                });
            }
            offsets.push(n);
            features.extend_from_slice(&g.node_features);
            for dst in 0..g.n_nodes() {
                for e in g.row_ptr[dst]..g.row_ptr[dst + 1] {
                    edges.push(Edge {
                        src_idx: (n + g.col_idx[e] as usize) as u32,
                        dst_idx: (n + dst) as u32,
                        weight: g.edge_weight[e],
                        edge_type: g.edge_type[e],
                    });
                }
            }
            n += g.n_nodes();
        }
        let union = Graph::new(n, n_features, features, &edges)?;
        Ok((union, offsets))
    }

    /// A random graph for benchmarks and tests: `n_edges` edges with uniformly random endpoints (self
    /// edges allowed), weights uniform in [0.5, 1.5), `n_edge_types` types, features uniform in [-1, 1).
    /// Same seed, same graph (ChaCha8 via `des::RngStreams`, stream `"random_graph"`).
    ///
    /// # Errors
    /// [`Error::InvalidGraph`] when `n_nodes` is 0 with edges requested, or exceeds `u32::MAX`.
    pub fn random(
        n_nodes: usize,
        n_edges: usize,
        n_features: usize,
        n_edge_types: u8,
        seed: u64,
    ) -> Result<Graph> {
        if (n_nodes == 0 && n_edges > 0) || n_nodes > u32::MAX as usize {
            return Err(Error::InvalidGraph {
                problems: vec![format!(
                    "random graph: n_nodes {n_nodes} cannot hold {n_edges} edges"
                )],
            });
        }
        let mut rng = des::RngStreams::new(seed).stream("random_graph");
        let node_features: Vec<f32> = (0..n_nodes * n_features)
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect();
        let edges: Vec<Edge> = (0..n_edges)
            .map(|_| Edge {
                src_idx: rng.random_range(0..n_nodes as u32),
                dst_idx: rng.random_range(0..n_nodes as u32),
                weight: rng.random_range(0.5f32..1.5),
                edge_type: if n_edge_types > 1 {
                    rng.random_range(0..n_edge_types)
                } else {
                    0
                },
            })
            .collect();
        Graph::new(n_nodes, n_features, node_features, &edges)
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.row_ptr.len() - 1
    }

    /// Number of edges (without the encoders' self-loops).
    pub fn n_edges(&self) -> usize {
        self.col_idx.len()
    }

    /// Features per node.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Node features, `n_nodes x n_features`, row-major.
    pub fn node_features(&self) -> &[f32] {
        &self.node_features
    }

    /// Incoming edges of node `dst_idx`, as `(src_idx, weight, edge_type)` in CSR order.
    /// Empty when `dst_idx` is out of range.
    pub fn incoming(&self, dst_idx: usize) -> impl Iterator<Item = (u32, f32, u8)> + '_ {
        let range = if dst_idx < self.n_nodes() {
            self.row_ptr[dst_idx]..self.row_ptr[dst_idx + 1]
        } else {
            0..0
        };
        range.map(move |e| (self.col_idx[e], self.edge_weight[e], self.edge_type[e]))
    }

    /// Weighted in-degree of every node (sum of incoming edge weights, no self-loop).
    pub fn weighted_in_degree(&self) -> Vec<f32> {
        self.row_ptr
            .windows(2)
            .map(|w| self.edge_weight[w[0]..w[1]].iter().sum())
            .collect()
    }

    pub(crate) fn adjacency(&self) -> &Arc<SparseStructure> {
        &self.adjacency
    }

    pub(crate) fn gcn_weight(&self) -> &Arc<Vec<f32>> {
        &self.gcn_weight
    }

    pub(crate) fn adjacency_type(&self) -> &Arc<Vec<u8>> {
        &self.adjacency_type
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(src_idx: u32, dst_idx: u32) -> Edge {
        Edge {
            src_idx,
            dst_idx,
            weight: 1.0,
            edge_type: 0,
        }
    }

    #[test]
    fn csr_is_destination_major_with_self_loops() {
        let g = Graph::new(3, 1, vec![0.0; 3], &[e(2, 0), e(1, 0), e(0, 2)]).unwrap();
        let inc: Vec<u32> = g.incoming(0).map(|t| t.0).collect();
        assert_eq!(inc, vec![1, 2]);
        assert_eq!(g.adjacency().row_ptr(), &[0, 3, 4, 6]);
        assert_eq!(g.adjacency().col_idx(), &[0, 1, 2, 1, 0, 2]);
        // Node 0: deg 3; node 1: deg 1; node 2: deg 2. Edge 1->0 weighs 1/sqrt(3*1).
        assert!((g.gcn_weight()[1] - 1.0 / 3f32.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let err = Graph::new(
            2,
            2,
            vec![0.0, f32::NAN, 1.0, 2.0],
            &[
                e(0, 5),
                Edge {
                    weight: -1.0,
                    ..e(7, 1)
                },
            ],
        )
        .unwrap_err();
        let msg = err.to_string();
        for needle in [
            "node 0 feature 1: NaN",
            "edge 0: dst 5 out of range",
            "edge 1: src 7 out of range",
            "edge 1: weight -1",
        ] {
            assert!(msg.contains(needle), "missing {needle:?} in {msg}");
        }
    }
}
