//! The sparse kernels of [`crate::sparse`] as differentiable tensor operations: custom autodiff ops
//! with hand-written backward passes, registered in burn's autodiff graph (burn-autodiff `Backward`).
//!
//! Each op takes tensors on either the plain CPU device or its autodiff decorator. Without autodiff it
//! runs the kernel directly on the backend's buffers; with autodiff it records one graph node whose
//! backward runs the matching backward kernel. Framework types never leave this crate.

use std::borrow::Cow;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{Tensor, TensorData};

use crate::sparse::{self, SparseStructure};

/// The autodiff backend the ops register with.
type Ad = Autodiff<Flex>;

/// The contiguous `f32` values of a backend tensor, borrowed when possible.
fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => Cow::Borrowed(s),
        None => {
            let c = t.to_contiguous();
            Cow::Owned(c.as_slice::<f32>().expect("learn tensors are f32").to_vec())
        }
    }
}

fn flex(values: Vec<f32>, shape: [usize; 2]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

fn plain(t: Tensor<2>) -> FlexTensor {
    t.try_into_primitive::<Flex>()
        .expect("learn tensors live on the flex CPU device")
}

fn tracked<const D: usize>(
    t: Tensor<D>,
) -> <Ad as burn::backend::BackendTypes>::FloatTensorPrimitive {
    t.autodiff()
        .try_into_primitive::<Ad>()
        .expect("learn tensors live on the flex CPU device")
}

/// `Y = A X` with per-edge (per-head) weights `w` (`E x H`) and features `x` (`n x d`, `H | d`).
/// Differentiable in both `w` and `x`.
pub(crate) fn spmm(s: &Arc<SparseStructure>, w: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
    let [n, d] = x.dims();
    let [n_edges, n_heads] = w.dims();
    assert_eq!(
        (n, n_edges),
        (s.n_nodes(), s.n_edges()),
        "spmm: operand shapes"
    );
    if !(x.is_autodiff() || w.is_autodiff()) {
        let (w, x) = (plain(w), plain(x));
        let y = sparse::spmm(s, &values(&w), n_heads, &values(&x), d);
        return Tensor::from_primitive::<Flex>(flex(y, [n, d]));
    }

    #[derive(Debug)]
    struct SpmmBackward;
    impl Backward<Flex, 2> for SpmmBackward {
        /// (structure, weights, features if the weights need a gradient, heads, d)
        type State = (
            Arc<SparseStructure>,
            FlexTensor,
            Option<FlexTensor>,
            usize,
            usize,
        );
        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
            let (s, w, x, n_heads, d) = ops.state;
            let [w_node, x_node] = ops.parents;
            let dy = grads.consume::<Flex>(&ops.node);
            let dy = values(&dy);
            if let Some(node) = x_node {
                let dx = sparse::spmm_transpose(&s, &values(&w), n_heads, &dy, d);
                grads.register::<Flex>(node.id, flex(dx, [s.n_nodes(), d]));
            }
            if let Some(node) = w_node {
                let x = x.expect("features kept when weights are tracked");
                let dw = sparse::spmm_weight_grad(&s, n_heads, &values(&x), &dy, d);
                grads.register::<Flex>(node.id, flex(dw, [s.n_edges(), n_heads]));
            }
        }
    }

    let (w, x) = (tracked(w), tracked(x));
    let w_tracked = w.is_tracked();
    let y = sparse::spmm(
        s,
        &values(w.primitive()),
        n_heads,
        &values(x.primitive()),
        d,
    );
    let y = flex(y, [n, d]);
    let out = match SpmmBackward
        .prepare::<NoCheckpointing>([w.node(), x.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let x_keep = w_tracked.then(|| x.primitive().clone());
            prep.finish((s.clone(), w.primitive().clone(), x_keep, n_heads, d), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Tensor::from_primitive::<Ad>(out)
}

/// Per-edge logits `a_dst[dst] + a_src[src]` (`n x H` each) -> `E x H`. Differentiable in both.
pub(crate) fn edge_scores(
    s: &Arc<SparseStructure>,
    a_dst: Tensor<2>,
    a_src: Tensor<2>,
) -> Tensor<2> {
    let [n, n_heads] = a_dst.dims();
    assert_eq!(a_src.dims(), [n, n_heads], "edge_scores: operand shapes");
    assert_eq!(n, s.n_nodes(), "edge_scores: node count");
    if !(a_dst.is_autodiff() || a_src.is_autodiff()) {
        let (a, b) = (plain(a_dst), plain(a_src));
        let out = sparse::edge_scores(s, &values(&a), &values(&b), n_heads);
        return Tensor::from_primitive::<Flex>(flex(out, [s.n_edges(), n_heads]));
    }

    #[derive(Debug)]
    struct EdgeScoresBackward;
    impl Backward<Flex, 2> for EdgeScoresBackward {
        type State = (Arc<SparseStructure>, usize);
        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
            let (s, n_heads) = ops.state;
            let [dst_node, src_node] = ops.parents;
            let g = grads.consume::<Flex>(&ops.node);
            let (d_dst, d_src) = sparse::edge_scores_backward(&s, &values(&g), n_heads);
            if let Some(node) = dst_node {
                grads.register::<Flex>(node.id, flex(d_dst, [s.n_nodes(), n_heads]));
            }
            if let Some(node) = src_node {
                grads.register::<Flex>(node.id, flex(d_src, [s.n_nodes(), n_heads]));
            }
        }
    }

    let (a, b) = (tracked(a_dst), tracked(a_src));
    let out = flex(
        sparse::edge_scores(s, &values(a.primitive()), &values(b.primitive()), n_heads),
        [s.n_edges(), n_heads],
    );
    let out = match EdgeScoresBackward
        .prepare::<NoCheckpointing>([a.node(), b.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((s.clone(), n_heads), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::from_primitive::<Ad>(out)
}

/// Softmax of `E x H` edge logits over each node's incoming edges. Differentiable.
pub(crate) fn edge_softmax(s: &Arc<SparseStructure>, scores: Tensor<2>) -> Tensor<2> {
    let [n_edges, n_heads] = scores.dims();
    assert_eq!(n_edges, s.n_edges(), "edge_softmax: edge count");
    if !scores.is_autodiff() {
        let sc = plain(scores);
        let out = sparse::edge_softmax(s, &values(&sc), n_heads);
        return Tensor::from_primitive::<Flex>(flex(out, [n_edges, n_heads]));
    }

    #[derive(Debug)]
    struct EdgeSoftmaxBackward;
    impl Backward<Flex, 1> for EdgeSoftmaxBackward {
        type State = (Arc<SparseStructure>, FlexTensor, usize);
        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let (s, alpha, n_heads) = ops.state;
            let [node] = ops.parents;
            let g = grads.consume::<Flex>(&ops.node);
            if let Some(node) = node {
                let ds = sparse::edge_softmax_backward(&s, &values(&alpha), &values(&g), n_heads);
                grads.register::<Flex>(node.id, flex(ds, [s.n_edges(), n_heads]));
            }
        }
    }

    let sc = tracked(scores);
    let alpha = flex(
        sparse::edge_softmax(s, &values(sc.primitive()), n_heads),
        [n_edges, n_heads],
    );
    let out = match EdgeSoftmaxBackward
        .prepare::<NoCheckpointing>([sc.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((s.clone(), alpha.clone(), n_heads), alpha),
        OpsKind::UnTracked(prep) => prep.finish(alpha),
    };
    Tensor::from_primitive::<Ad>(out)
}
