//! A pseudo T2-weighted MR image made from a CT, model-free (issue 43): tissue classes from the
//! HU, each given the spin-echo signal its published relaxation values make, blended where
//! tissues meet. For when an MRI cannot be taken (the acute phase): it shows what the CT holds
//! in an MR-like contrast (the canal bright, fat bright, muscle dark, bone black); it shows
//! nothing the CT does not (no oedema, no cord signal change, no ligament tear). Not for
//! diagnosis alone.
//!
//! # Signal
//! A spin echo with repetition time TR and echo time TE gives a voxel of one tissue the signal
//! `S = PD (1 - exp(-TR/T1)) exp(-TE/T2)` (full relaxation between echoes ignored, fast spin
//! echo's J-coupling ignored). [`Sequence::default`] is a usual T2-weighted sequence: TR 4000 ms,
//! TE 100 ms. The values at 3.0 T ([`tissue`]): fat T1 371 ms / T2 133 ms, muscle 1420 / 31.7,
//! synovial fluid 3620 / 767, bone marrow 365 / 49 (Gold et al., AJR 2004;183:343-351); CSF
//! 4309 / 1886 (subarachnoid CSF at 3 T, Magn Reson Med); spinal cord 993 / 78 (Stanisz et al.,
//! MRM 2005;54:507-512); cortical bone T2* about 0.4 ms (Reichert et al., MRI 2005;23:611-618).
//! The proton densities are approximate water (or fat) contents relative to water. A canal voxel
//! is [`tissue::CANAL_CSF_FRACTION`] CSF and the rest cord: CT cannot tell them apart.
//!
//! # Classes and partial volume
//! The HU are first smoothed by the binomial filter `[1 2 1] / 4` along each axis (CT noise down,
//! each border spread over about two voxels). A voxel's HU `h` then lies between two of the
//! anchors air -1000, fat -100, soft tissue +40, cancellous bone +300, cortical bone +1200 HU and
//! is read as the mixture of those two tissues that has its HU (linear partial volume: a voxel at
//! -30 HU is half fat, half muscle, and gets half of each one's signal, not a jump); below -1000
//! it is air, above +1200 cortical bone (metal too: a signal void, as on MRI).
//!
//! Two classes are not places on the HU axis:
//! - **Fluid** (0-20 HU) and muscle (10-60 HU, lower in fatty muscle) overlap at CT noise, so a
//!   voxel's soft-tissue part is fluid only in homogeneous water-density regions: the mean of the
//!   unsmoothed HU over its 3x3x3 neighbourhood within [`FLUID_MEAN_HU`] and their standard
//!   deviation below [`FLUID_SD_HU`] (each with a 5 HU ramp). On the real test CT the fluid share
//!   averages 45 % over the bladder and 6-7 % over the gluteus maximus (scipy, the same ramps).
//! - **The spinal canal** is found by where it lies ([`canal`]: the CSF/cord-density region
//!   enclosed by vertebral bone, slice by slice, bridged through the disc levels); its mask,
//!   smoothed by the same binomial filter, takes that share of the voxel's fat, soft tissue and
//!   fluid.
//!
//! The image holds `1000 S`, rounded (int16; fully relaxed water at TE 0 would be 1000).
//!
//! # Why hand-written
//! No crate simulates MR contrast from CT; the filters are three-tap loops.

pub mod canal;
pub mod tissue;

use coxa_core::{Grid, Volume, Voxels};
use ndarray::{Array3, Axis, Zip};
use rayon::prelude::*;
use serde::Serialize;

pub use canal::CanalSummary;
pub use tissue::{Relaxation, Sequence, Tissue};

/// Fewest voxels along any axis: the canal search and the 3x3x3 statistics need a volume.
pub const MIN_SLICES: usize = 5;
/// The window of the 3x3x3 mean HU that fluid has.
pub const FLUID_MEAN_HU: [f32; 2] = [-5.0, 20.0];
/// The 3x3x3 standard deviation of HU below which water-density tissue is fluid.
pub const FLUID_SD_HU: f32 = 10.0;
/// The HU anchors of the partial-volume mixing: `(HU, class)`, increasing.
pub const ANCHORS_HU: [(f32, Tissue); 5] = [(-1000.0, Tissue::Air), (-100.0, Tissue::Fat), (40.0, Tissue::SoftTissue), (300.0, Tissue::Cancellous), (1200.0, Tissue::Cortical)];
/// Output scale: the image holds this times the signal.
pub const SCALE: f64 = 1000.0;
/// Fewest voxels below -500 HU (air) a CT has: 0.1 % (an MR image or a crop inside the body has
/// none).
pub const MIN_AIR_FRACTION: f64 = 0.001;

/// Why no pseudo-MRI could be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PseudoMriError {
    /// Too few voxels along an axis.
    #[error("the CT is {} x {} x {} voxels; a pseudo-MRI needs at least {MIN_SLICES} along every axis: give the whole series", .0[0], .0[1], .0[2])]
    TooSmall([usize; 3]),
    /// NaN or infinite voxels.
    #[error("the CT has {} voxels that are not numbers ({nan} NaN, {infinite} infinite); replace them (e.g. with -1024, air) first", nan + infinite)]
    NonFinite {
        /// NaN voxels.
        nan: usize,
        /// Infinite voxels.
        infinite: usize,
    },
    /// Not Hounsfield units.
    #[error("only {percent:.3} % of the voxels are below -500 HU (a CT has air around the body): not HU-like; give a CT, not an MR or a crop inside the body")]
    NotHu {
        /// Percent of voxels below -500.
        percent: f64,
    },
    /// A sequence parameter out of range.
    #[error("sequence: {0}")]
    Sequence(String),
}

/// The model-free pseudo-MRI and what it was made with.
#[derive(Debug, Clone)]
pub struct PseudoMri {
    /// `1000 S` on the CT's grid (int16).
    pub image: Volume,
    /// The spinal canal found: 1 inside, on the CT's grid (`[k, j, i]`).
    pub canal_mask: Array3<u8>,
    /// How it was made.
    pub record: ModelFreeRecord,
}

/// One class's values in the record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TissueRecord {
    /// The class.
    pub tissue: Tissue,
    /// Its pure-voxel signal `S` at the sequence.
    pub signal: f64,
    /// Its pure-voxel value in the image (`1000 S`).
    pub value: f64,
    /// Its share of all voxels (sum of the partial-volume weights over voxel count).
    pub volume_fraction: f64,
    /// The relaxation values (the canal: CSF and cord).
    pub relaxation: Vec<Relaxation>,
}

/// What the model-free path used and found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelFreeRecord {
    /// The sequence.
    pub sequence: Sequence,
    /// The image holds this times the signal.
    pub scale: f64,
    /// The signal formula.
    pub formula: &'static str,
    /// The HU anchors of the mixing.
    pub anchors_hu: Vec<(f32, Tissue)>,
    /// Every class.
    pub tissues: Vec<TissueRecord>,
    /// The canal CSF share.
    pub canal_csf_fraction: f64,
    /// The spinal canal found.
    pub canal: CanalSummary,
    /// The slice axis (index axis, 0 = i) the canal was searched along.
    pub slice_axis: usize,
}

/// The array axis (of `[k, j, i]`) closest to the patient's head-foot axis.
fn slice_axis(grid: &Grid) -> usize {
    let d = grid.direction();
    let index_axis = (0..3).max_by(|&a, &b| d[(2, a)].abs().total_cmp(&d[(2, b)].abs())).unwrap_or(2);
    2 - index_axis
}

/// `a` filtered by the 3-tap `w` along each axis (edges replicated).
fn separable(a: &Array3<f32>, w: [f32; 3]) -> Array3<f32> {
    let mut cur = a.clone();
    for ax in 0..3 {
        let mut out = Array3::<f32>::zeros(cur.raw_dim());
        Zip::from(out.lanes_mut(Axis(ax))).and(cur.lanes(Axis(ax))).for_each(|mut o, l| {
            let n = l.len();
            for x in 0..n {
                let left = l[x.saturating_sub(1)];
                let right = l[(x + 1).min(n - 1)];
                o[x] = w[0] * left + w[1] * l[x] + w[2] * right;
            }
        });
        cur = out;
    }
    cur
}

/// A ramp from 0 at `a` to 1 at `b` (either order).
fn ramp(x: f32, a: f32, b: f32) -> f32 {
    ((x - a) / (b - a)).clamp(0.0, 1.0)
}

/// The partial-volume weights of the HU-axis classes for smoothed HU `h`: `[air, fat, soft,
/// cancellous, cortical]`.
fn anchor_weights(h: f32) -> [f32; 5] {
    let mut w = [0.0; 5];
    if h <= ANCHORS_HU[0].0 {
        w[0] = 1.0;
        return w;
    }
    for c in 0..4 {
        let (lo, hi) = (ANCHORS_HU[c].0, ANCHORS_HU[c + 1].0);
        if h <= hi {
            let t = (h - lo) / (hi - lo);
            w[c] = 1.0 - t;
            w[c + 1] = t;
            return w;
        }
    }
    w[4] = 1.0;
    w
}

/// Whether `ct` can give a pseudo-MRI (the model-free or a learned one): at least
/// [`MIN_SLICES`] voxels along every axis, every voxel a number, HU-like (air around the body).
///
/// # Errors
/// The first of those it is not.
pub fn check_ct(ct: &Volume) -> Result<(), PseudoMriError> {
    let size = ct.grid().size();
    if size.iter().any(|&n| n < MIN_SLICES) {
        return Err(PseudoMriError::TooSmall(size));
    }
    let (nan, infinite) = ct.non_finite_counts();
    if nan + infinite > 0 {
        return Err(PseudoMriError::NonFinite { nan, infinite });
    }
    let hu = ct.hu();
    let air = hu.iter().filter(|&&v| v < -500.0).count() as f64 / hu.len() as f64;
    if air < MIN_AIR_FRACTION {
        return Err(PseudoMriError::NotHu { percent: 100.0 * air });
    }
    Ok(())
}

/// The model-free pseudo T2-weighted image of `ct` for `seq`.
///
/// # Errors
/// A volume under [`MIN_SLICES`] along an axis, NaN voxels, a volume that is not HU-like, a
/// sequence out of range.
pub fn model_free(ct: &Volume, seq: &Sequence) -> Result<PseudoMri, PseudoMriError> {
    seq.check().map_err(PseudoMriError::Sequence)?;
    check_ct(ct)?;
    let hu = ct.hu();
    let axis = slice_axis(ct.grid());
    let sp = ct.grid().spacing_mm();
    let spacing_kji = [sp[2], sp[1], sp[0]];
    let (canal_mask, canal) = canal::find(hu.view(), axis, spacing_kji);
    let smooth = separable(&hu, [0.25, 0.5, 0.25]);
    let third = 1.0 / 3.0;
    let mean = separable(&hu, [third; 3]);
    let mean_sq = separable(&hu.mapv(|v| v * v), [third; 3]);
    let canal_soft = separable(&canal_mask.mapv(f32::from), [0.25, 0.5, 0.25]);
    drop(hu);
    let signal: Vec<f32> = Tissue::ALL.iter().map(|&t| seq.signal(t) as f32).collect();
    let sig = |t: Tissue| signal[Tissue::ALL.iter().position(|&x| x == t).expect("in ALL")];
    let (s_air, s_fat, s_soft, s_fluid, s_canc, s_cort, s_canal) =
        (sig(Tissue::Air), sig(Tissue::Fat), sig(Tissue::SoftTissue), sig(Tissue::Fluid), sig(Tissue::Cancellous), sig(Tissue::Cortical), sig(Tissue::Canal));
    let (nk, nj, ni) = smooth.dim();
    let mut out = vec![0i16; nk * nj * ni];
    // Per slice of the first array axis: the image and the class weights summed.
    let sums: Vec<[f64; 7]> = out
        .par_chunks_mut(nj * ni)
        .enumerate()
        .map(|(k, o)| {
            let mut sum = [0.0f64; 7];
            for (p, v) in o.iter_mut().enumerate() {
                let at = [k, p / ni, p % ni];
                let [wa, wf, ws, wc, wk] = anchor_weights(smooth[at]);
                let sd = (mean_sq[at] - mean[at] * mean[at]).max(0.0).sqrt();
                let m = mean[at];
                let fluid_share = ramp(m, FLUID_MEAN_HU[0] - 5.0, FLUID_MEAN_HU[0]) * ramp(m, FLUID_MEAN_HU[1] + 5.0, FLUID_MEAN_HU[1]) * ramp(sd, FLUID_SD_HU + 5.0, FLUID_SD_HU);
                let mut w = [wa, wf, ws * (1.0 - fluid_share), ws * fluid_share, wc, wk, 0.0];
                let c = canal_soft[at];
                if c > 0.0 {
                    w[6] = c * (w[1] + w[2] + w[3]);
                    for x in &mut w[1..4] {
                        *x *= 1.0 - c;
                    }
                }
                let s = w[0] * s_air + w[1] * s_fat + w[2] * s_soft + w[3] * s_fluid + w[4] * s_canc + w[5] * s_cort + w[6] * s_canal;
                *v = (f64::from(s) * SCALE).round() as i16;
                for (acc, x) in sum.iter_mut().zip(w) {
                    *acc += f64::from(x);
                }
            }
            sum
        })
        .collect();
    let n = smooth.len() as f64;
    let tissues = Tissue::ALL
        .iter()
        .enumerate()
        .map(|(c, &t)| TissueRecord { tissue: t, signal: seq.signal(t), value: seq.signal(t) * SCALE, volume_fraction: sums.iter().map(|s| s[c]).sum::<f64>() / n, relaxation: Sequence::values(t) })
        .collect();
    let record = ModelFreeRecord {
        sequence: *seq,
        scale: SCALE,
        formula: "S = PD (1 - exp(-TR/T1)) exp(-TE/T2), image = round(1000 S)",
        anchors_hu: ANCHORS_HU.to_vec(),
        tissues,
        canal_csf_fraction: tissue::CANAL_CSF_FRACTION,
        canal,
        slice_axis: 2 - axis,
    };
    let out = Array3::from_shape_vec((nk, nj, ni), out).expect("one value a voxel");
    let image = Volume::from_voxels(ct.grid().clone(), Voxels::I16(out)).expect("the CT's own grid and shape");
    Ok(PseudoMri { image, canal_mask, record })
}

#[cfg(test)]
mod tests;
