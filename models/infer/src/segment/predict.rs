//! The networks' prediction: the CT in slabs, each member's run, the softmax, the members' disagreement and the channels resampled back to the CT.

use super::*;

/// The members' prediction of a model of slabs ([`crate::slabs`]) straight from a CT's HU
/// (`[k, j, i]`, on the model's grid), normalised row by row as its tiles are filled; `None`
/// when the model or the CT does not fit that path.
pub(super) fn slabs_of_ct<T: HuValue>(model: &mut Model, hu: ArrayView3<'_, T>, norm: PerVoxel, options: &InferenceOptions, only_labels: bool) -> Result<Option<(Prediction, Option<Array3<u16>>)>> {
    let (folds, mirrors) = members_of(model, options)?;
    let run = crate::slabs::SlabRun { folds: &folds, mirrors: &mirrors, need_output: false, only_labels };
    let (nk, nj, ni) = hu.dim();
    let row = |k: usize, j: usize, out: &mut [f32]| {
        let src = hu.slice(s![k, j, ..]);
        // A contiguous row through a slice's iterator (vectorised), any other through ndarray's.
        match src.as_slice() {
            Some(src) => norm.row(src.iter(), out),
            None => norm.row(src.iter(), out),
        }
    };
    crate::slabs::members_over_slabs(model, crate::slabs::SlabImage::Rows { size: [nk, nj, ni], row: &row }, options, &run)
}

/// The members `options` asks of `model` (its folds and mirror sets), after checking that they
/// fit it; a stochastic model's session starts again from its seed.
pub(super) fn members_of(model: &mut Model, options: &InferenceOptions) -> Result<(Vec<usize>, Vec<[bool; 3]>)> {
    let card = model.card().clone();
    if options.mc_passes == 0 {
        return Err(Error::BadInput { what: "mc_passes is 0; use 1 for a deterministic model".into() });
    }
    if options.mc_passes > 1 && !card.output.stochastic {
        return Err(Error::BadInput {
            what: format!(
                "mc_passes is {} but model {} is deterministic (its card says stochastic = false): every pass would be the same; use mc_passes = 1 or a model with dropout active at inference",
                options.mc_passes, card.name
            ),
        });
    }
    if options.mirror_axes.iter().any(|&a| a > 2) {
        return Err(Error::BadInput { what: format!("mirror_axes {:?}: axes are 0 (k), 1 (j), 2 (i)", options.mirror_axes) });
    }
    if card.output.stochastic {
        // Fresh session: the dropout generator starts from the model's seed, so this call is reproducible.
        model.reset()?;
    }
    let folds: Vec<usize> = if options.folds.is_empty() { (0..model.folds()).collect() } else { options.folds.clone() };
    if let Some(&f) = folds.iter().find(|&&f| f >= model.folds()) {
        return Err(Error::BadInput { what: format!("fold {f} asked, model {} has {} fold(s) (0..{})", card.name, model.folds(), model.folds()) });
    }
    Ok((folds, mirror_members(&options.mirror_axes)))
}

/// [`predict_full`]; without `need_output` the one-member, one-tile case leaves
/// [`Prediction::output`] empty (its probabilities are the result on the CT's grid, the mean
/// output is not used), which saves a buffer of the output's size. With the prediction, for one
/// softmax member within one tile: each voxel's most probable channel, taken in the same pass as
/// the probabilities (the label map's argmax of them).
pub(super) fn predict_inner(model: &mut Model, image: ArrayView4<'_, f32>, options: &InferenceOptions, need_output: bool) -> Result<(Prediction, Option<Array3<u16>>)> {
    let card = model.card().clone();
    let (folds, mirrors) = members_of(model, options)?;
    let mut timing = WindowTiming::default();
    if let Some(nn) = &card.nnunet {
        if options.mc_passes > 1 {
            return Err(Error::BadInput { what: format!("mc_passes is {} but model {} is an nnU-Net export without dropout at inference; use 1", options.mc_passes, card.name) });
        }
        let float16 = options.float16_accumulation.unwrap_or(nn.float16_accumulation);
        let mut logits: Option<Array4<f32>> = None;
        let mut probs: Option<Array4<f32>> = None;
        let mut hm: Option<Array3<f32>> = None;
        for &f in &folds {
            let sums = NnunetSumsOptions { float16, uncertainty: options.uncertainty };
            let w = nnunet_sliding_window(model, f, image, &mirrors, &options.window, sums, &mut timing)?;
            match &mut hm {
                Some(h) => *h += &w.member_entropy,
                None => hm = Some(w.member_entropy),
            }
            // nnU-Net: prediction += fold's logits (half tensors), then prediction /= n_folds.
            match (&mut logits, &mut probs) {
                (Some(l), Some(p)) => {
                    if float16 {
                        *l += &w.logits;
                        round_f16_array(l);
                    } else {
                        *l += &w.logits;
                    }
                    *p += &w.probabilities;
                }
                _ => {
                    logits = Some(w.logits);
                    probs = Some(w.probabilities);
                }
            }
        }
        let (Some(mut mean), Some(mut pbar), Some(mut hm)) = (logits, probs, hm) else {
            return Err(Error::BadInput { what: "no fold was run".into() });
        };
        let n = folds.len() as f32;
        if folds.len() > 1 {
            if float16 {
                mean.mapv_inplace(|v| v / n);
                round_f16_array(&mut mean);
            } else {
                mean.mapv_inplace(|v| v / n);
            }
            pbar.mapv_inplace(|v| v / n);
            hm.mapv_inplace(|v| v / n);
        }
        let (h, mi) = if options.uncertainty {
            let h = entropy(&pbar, card.output.activation);
            let mi = disagreement(&h, &hm);
            (h, mi)
        } else {
            (hm, Array3::zeros((0, 0, 0)))
        };
        return Ok((Prediction { output: mean, entropy_nats: h, disagreement_nats: mi, members: folds.len() * mirrors.len(), timing, probabilities: None }, None));
    }
    if options.mc_passes * folds.len() * mirrors.len() == 1 {
        // One member (one fold, no mirroring, one pass): the mean is its output, and its
        // probabilities and predictive entropy come in one pass over the patch; the members'
        // disagreement is 0. The values are those of the members' path below (there: its
        // probabilities times 1, their entropy again, and that entropy minus itself).
        // An image within one tile: straight from ONNX Runtime's output, in one pass (the one
        // member is unflipped: `mirror_members` lists the identity first and alone without axes).
        let wanted = OneTileOutputs { output: need_output, entropy: options.uncertainty, probabilities: !labels_only(&card, options) };
        let (out, p, h, best) = match one_tile_fold(model, folds[0], image, &options.window, &mut timing, wanted)? {
            Some(r) => r,
            None => {
                let out = sliding_window_fold(model, folds[0], image, mirrors[0], &options.window, &mut timing)?;
                let (p, h) = crate::voxel::probabilities_and_entropy(out.view(), card.output.kind, card.output.activation, options.uncertainty);
                (out, p, h, None)
            }
        };
        let (h, mi) = if options.uncertainty {
            let mi = Array3::zeros(h.raw_dim());
            (h, mi)
        } else {
            (Array3::zeros((0, 0, 0)), Array3::zeros((0, 0, 0)))
        };
        let p = if p.is_empty() && !out.is_empty() { None } else { Some(p) };
        return Ok((Prediction { output: out, entropy_nats: h, disagreement_nats: mi, members: 1, timing, probabilities: p }, best));
    }
    // Members over tiles that do not overlap (a slice-wise model, or one tile): each tile's
    // members in turn, finished per voxel as below (crate::slabs).
    let run = crate::slabs::SlabRun { folds: &folds, mirrors: &mirrors, need_output, only_labels: labels_only(&card, options) };
    if let Some(done) = crate::slabs::members_over_slabs(model, crate::slabs::SlabImage::Normalised(image.as_standard_layout()), options, &run)? {
        return Ok(done);
    }
    let mut sum: Option<Array4<f32>> = None;
    let mut prob_sum: Option<Array4<f32>> = None;
    let mut hm_sum: Option<Array3<f32>> = None;
    let mut members = 0usize;
    for _pass in 0..options.mc_passes {
        for &f in &folds {
            for &flip in &mirrors {
                let out = sliding_window_fold(model, f, image, flip, &options.window, &mut timing)?;
                let (p, hp) = if options.uncertainty {
                    crate::voxel::probabilities_and_entropy(out.view(), card.output.kind, card.output.activation, true)
                } else {
                    (Array4::zeros((0, 0, 0, 0)), Array3::zeros((0, 0, 0)))
                };
                match &mut hm_sum {
                    Some(h) => *h += &hp,
                    None => hm_sum = Some(hp),
                }
                match (&mut sum, &mut prob_sum) {
                    (Some(s), Some(ps)) => {
                        *s += &out;
                        *ps += &p;
                    }
                    _ => {
                        sum = Some(out);
                        prob_sum = Some(p);
                    }
                }
                members += 1;
            }
        }
    }
    let (Some(mut mean), Some(mut pbar), Some(mut hm)) = (sum, prob_sum, hm_sum) else {
        return Err(Error::BadInput { what: "no member was run".into() });
    };
    let inv = 1.0 / members as f32;
    mean.mapv_inplace(|v| v * inv);
    if !options.uncertainty {
        return Ok((Prediction { output: mean, entropy_nats: hm, disagreement_nats: Array3::zeros((0, 0, 0)), members, timing, probabilities: None }, None));
    }
    pbar.mapv_inplace(|v| v * inv);
    hm.mapv_inplace(|v| v * inv);
    let h = entropy(&pbar, card.output.activation);
    let mi = disagreement(&h, &hm);
    Ok((Prediction { output: mean, entropy_nats: h, disagreement_nats: mi, members, timing, probabilities: None }, None))
}

/// [`round_f16`] of every value of `a`, in place (vectorised when `a` is contiguous).
pub(super) fn round_f16_array(a: &mut Array4<f32>) {
    match a.as_slice_memory_order_mut() {
        Some(s) => round_f16_in_place(s),
        None => a.mapv_inplace(round_f16),
    }
}

/// `H(mean p) - mean H(p)`, never below 0 (float rounding).
pub(super) fn disagreement(h: &Array3<f32>, mean_member_h: &Array3<f32>) -> Array3<f32> {
    let mut mi = h - mean_member_h;
    mi.mapv_inplace(|v| v.max(0.0));
    mi
}

/// Trilinear resampling of `[C, k, j, i]` on `from` (same origin and direction as `to`) onto `to`.
pub(super) fn resample_channels(x: &Array4<f32>, from: &Grid, to: &Grid) -> Array4<f32> {
    let (sf, st) = (from.spacing_mm(), to.spacing_mm());
    let [ni, nj, nk] = to.size();
    let [fi, fj, fk] = from.size();
    let coords = |n: usize, ratio: f64, max: usize| -> Vec<(usize, usize, f32)> {
        (0..n)
            .map(|t| {
                let x = (t as f64 * ratio).clamp(0.0, (max - 1) as f64);
                let i0 = x.floor() as usize;
                (i0, (i0 + 1).min(max - 1), (x - i0 as f64) as f32)
            })
            .collect()
    };
    let (ci, cj, ck) = (coords(ni, st[0] / sf[0], fi), coords(nj, st[1] / sf[1], fj), coords(nk, st[2] / sf[2], fk));
    let c = x.shape()[0];
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let (row, slab) = (fi, fi * fj);
    let mut out = vec![0f32; c * nk * nj * ni];
    // One (channel, k) plane per task.
    out.par_chunks_mut((nj * ni).max(1)).enumerate().for_each(|(q, plane_out)| {
        let (ch, k) = (q / nk.max(1), q % nk.max(1));
        let base = ch * fk * slab;
        let (k0, k1, wk) = ck[k];
        let l = |a: f32, b: f32, t: f32| if t == 0.0 { a } else { a + (b - a) * t };
        for (j, out_row) in plane_out.chunks_mut(ni.max(1)).enumerate() {
            let (j0, j1, wj) = cj[j];
            for (i, o) in out_row.iter_mut().enumerate() {
                let (i0, i1, wi) = ci[i];
                let at = |kk: usize, jj: usize, ii: usize| xs[base + kk * slab + jj * row + ii];
                let plane = |kk| l(l(at(kk, j0, i0), at(kk, j0, i1), wi), l(at(kk, j1, i0), at(kk, j1, i1), wi), wj);
                *o = l(plane(k0), if wk == 0.0 { 0.0 } else { plane(k1) }, wk);
            }
        }
    });
    Array4::from_shape_vec((c, nk, nj, ni), out).expect("shape of the target grid")
}
