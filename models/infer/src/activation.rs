//! The output activation (softmax or sigmoid over the classes) and the predictive entropy, shared by
//! the whole-volume prediction ([`crate::segment`]) and the sliding window's per-member
//! uncertainty ([`crate::window`]); a leaf, so neither of those files reaches into the other.

use ndarray::{Array3, Array4, Axis, Zip};

use crate::card::{Activation, OutputKind};

/// Softmax over axis 0 of `[C, ...]`, in place.
fn softmax_channels(x: &mut Array4<f32>) {
    Zip::from(x.lanes_mut(Axis(0))).for_each(|mut lane| {
        let m = lane.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        lane.mapv_inplace(|v| (v - m).exp());
        let s: f32 = lane.sum();
        lane.mapv_inplace(|v| v / s);
    });
}

/// The card's activation applied to logits `[C, ...]`; probabilities are returned as they are.
pub(crate) fn activate(mut x: Array4<f32>, kind: OutputKind, act: Activation) -> Array4<f32> {
    if kind == OutputKind::Logits {
        match act {
            Activation::Softmax => softmax_channels(&mut x),
            Activation::Sigmoid => x.mapv_inplace(|v| 1.0 / (1.0 + (-v).exp())),
        }
    }
    x
}

/// Predictive entropy (nats) of probabilities `[C, ...]`.
pub(crate) fn entropy(p: &Array4<f32>, act: Activation) -> Array3<f32> {
    let c = p.shape()[0];
    let (nk, nj, ni) = (p.shape()[1], p.shape()[2], p.shape()[3]);
    let h = |q: f32| {
        if q > 0.0 { -(q as f64) * (q as f64).ln() } else { 0.0 }
    };
    Array3::from_shape_fn((nk, nj, ni), |(k, j, i)| match act {
        Activation::Softmax => (0..c).map(|ch| h(p[[ch, k, j, i]])).sum::<f64>() as f32,
        Activation::Sigmoid => ((0..c).map(|ch| h(p[[ch, k, j, i]]) + h(1.0 - p[[ch, k, j, i]])).sum::<f64>() / c as f64) as f32,
    })
}
