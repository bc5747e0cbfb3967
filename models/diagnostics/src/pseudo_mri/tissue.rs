//! Relaxation values per tissue and the spin-echo signal they give (see the module docs of
//! [`super`] for the sources).

use serde::{Deserialize, Serialize};

/// The tissue classes the model-free path tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tissue {
    /// Air (lungs, bowel gas, outside the body): no protons.
    Air,
    /// Adipose tissue (subcutaneous and visceral fat).
    Fat,
    /// Muscle and other soft tissue of muscle-like density.
    SoftTissue,
    /// Water-density fluid (bladder, cysts, effusions): homogeneous regions in the water window.
    Fluid,
    /// Cancellous bone: trabeculae with (fatty) marrow.
    Cancellous,
    /// Cortical bone (and metal): no signal at a spin-echo TE.
    Cortical,
    /// The spinal canal: CSF and cord (CT cannot separate them), found by where it lies.
    Canal,
}

impl Tissue {
    /// Every class, in the order of the record.
    pub const ALL: [Tissue; 7] = [Tissue::Air, Tissue::Fat, Tissue::SoftTissue, Tissue::Fluid, Tissue::Cancellous, Tissue::Cortical, Tissue::Canal];
}

/// A tissue's relaxation times at the field strength and its proton density.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Relaxation {
    /// What it is.
    pub name: &'static str,
    /// Longitudinal relaxation time, ms.
    pub t1_ms: f64,
    /// Transverse relaxation time, ms.
    pub t2_ms: f64,
    /// MR-visible proton density relative to pure water (approximate water or fat content).
    pub pd: f64,
    /// Where the T1 and T2 come from.
    pub source: &'static str,
}

impl Relaxation {
    /// The spin-echo signal `PD (1 - exp(-TR/T1)) exp(-TE/T2)` of this tissue.
    pub fn signal(&self, seq: &Sequence) -> f64 {
        self.pd * (1.0 - (-seq.tr_ms / self.t1_ms).exp()) * (-seq.te_ms / self.t2_ms).exp()
    }
}

const GOLD_2004: &str = "Gold GE et al., Musculoskeletal MRI at 3.0 T: relaxation times and image contrast, AJR 2004;183:343-351 (3.0 T)";

/// Values at 3.0 T. Air has no protons (PD 0; its times only keep the formula finite).
pub const AIR: Relaxation = Relaxation { name: "air", t1_ms: 1.0, t2_ms: 1.0, pd: 0.0, source: "no protons" };
/// Subcutaneous fat.
pub const FAT: Relaxation = Relaxation { name: "subcutaneous fat", t1_ms: 371.0, t2_ms: 133.0, pd: 0.9, source: GOLD_2004 };
/// Skeletal muscle.
pub const MUSCLE: Relaxation = Relaxation { name: "skeletal muscle", t1_ms: 1420.0, t2_ms: 31.7, pd: 0.76, source: GOLD_2004 };
/// Synovial fluid (water-like fluid).
pub const FLUID: Relaxation = Relaxation { name: "synovial fluid", t1_ms: 3620.0, t2_ms: 767.0, pd: 0.97, source: GOLD_2004 };
/// Bone marrow; a cancellous voxel holds it in about 70 % of its volume (PD 0.7).
pub const MARROW: Relaxation = Relaxation { name: "bone marrow (cancellous bone, 70 % marrow)", t1_ms: 365.0, t2_ms: 49.0, pd: 0.7, source: GOLD_2004 };
/// Cortical bone: T2* about 0.4 ms (ultrashort-TE measurements), water about 20 % by volume.
pub const CORTICAL: Relaxation = Relaxation {
    name: "cortical bone",
    t1_ms: 220.0,
    t2_ms: 0.42,
    pd: 0.2,
    source: "Reichert ILH et al., Magnetic resonance imaging of cortical bone with ultrashort TE pulse sequences, Magn Reson Imaging 2005;23:611-618",
};
/// Cerebrospinal fluid in the subarachnoid space.
pub const CSF: Relaxation = Relaxation {
    name: "cerebrospinal fluid",
    t1_ms: 4308.7,
    t2_ms: 1885.5,
    pd: 1.0,
    source: "Quantification of T1 and T2 of subarachnoid CSF: implications for water exchange between CSF and brain tissues, Magn Reson Med (3 T, subarachnoid space)",
};
/// Spinal cord.
pub const CORD: Relaxation =
    Relaxation { name: "spinal cord", t1_ms: 993.0, t2_ms: 78.0, pd: 0.72, source: "Stanisz GJ et al., T1, T2 relaxation and magnetization transfer in tissue at 3T, Magn Reson Med 2005;54:507-512" };
/// The part of the canal's cross-section that is CSF (the rest cord or cauda equina): CT cannot
/// tell them apart, so a canal voxel gets this mixture's signal.
pub const CANAL_CSF_FRACTION: f64 = 0.6;

/// A spin-echo (T2-weighted) sequence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    /// Field strength, T (the relaxation values are those at 3.0 T).
    pub field_t: f64,
    /// Repetition time, ms.
    pub tr_ms: f64,
    /// Echo time, ms.
    pub te_ms: f64,
}

impl Default for Sequence {
    /// A usual T2-weighted fast spin echo: TR 4000 ms, TE 100 ms, at 3 T.
    fn default() -> Self {
        Self { field_t: 3.0, tr_ms: 4000.0, te_ms: 100.0 }
    }
}

impl Sequence {
    /// `Err` with the reason when TR or TE is out of range (TR 100..20000 ms, TE 1..500 ms,
    /// TE below TR).
    pub fn check(&self) -> Result<(), String> {
        if !(self.tr_ms.is_finite() && (100.0..=20000.0).contains(&self.tr_ms)) {
            return Err(format!("TR {} ms is outside 100..20000 ms", self.tr_ms));
        }
        if !(self.te_ms.is_finite() && (1.0..=500.0).contains(&self.te_ms) && self.te_ms < self.tr_ms) {
            return Err(format!("TE {} ms is outside 1..500 ms or not below TR", self.te_ms));
        }
        Ok(())
    }

    /// The relaxation values a class's signal comes from (the canal: CSF and cord).
    pub fn values(tissue: Tissue) -> Vec<Relaxation> {
        match tissue {
            Tissue::Air => vec![AIR],
            Tissue::Fat => vec![FAT],
            Tissue::SoftTissue => vec![MUSCLE],
            Tissue::Fluid => vec![FLUID],
            Tissue::Cancellous => vec![MARROW],
            Tissue::Cortical => vec![CORTICAL],
            Tissue::Canal => vec![CSF, CORD],
        }
    }

    /// The signal of a pure voxel of `tissue`.
    pub fn signal(&self, tissue: Tissue) -> f64 {
        match tissue {
            Tissue::Canal => CANAL_CSF_FRACTION * CSF.signal(self) + (1.0 - CANAL_CSF_FRACTION) * CORD.signal(self),
            t => Self::values(t)[0].signal(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t2_weighting_orders_the_tissues_as_t2_images_show_them() {
        let seq = Sequence::default();
        let s = |t| seq.signal(t);
        // Fluid and CSF brightest, fat bright, muscle dark, cortical bone and air black.
        assert!(s(Tissue::Fluid) > s(Tissue::Fat) && s(Tissue::Canal) > s(Tissue::SoftTissue));
        assert!(s(Tissue::Fat) > 5.0 * s(Tissue::SoftTissue));
        assert!(s(Tissue::Cortical) < 1e-6 && s(Tissue::Air) == 0.0);
        // The formula: fat at TR 4000, TE 100 is 0.9 (1 - e^(-4000/371)) e^(-100/133).
        let want = 0.9 * (1.0 - (-4000.0f64 / 371.0).exp()) * (-100.0f64 / 133.0).exp();
        assert!((s(Tissue::Fat) - want).abs() < 1e-12);
        // T1 weighting (short TR, short TE) turns fat brighter than CSF.
        let t1w = Sequence { tr_ms: 500.0, te_ms: 10.0, ..seq };
        assert!(t1w.signal(Tissue::Fat) > t1w.signal(Tissue::Canal));
        assert!(Sequence { te_ms: 5000.0, ..seq }.check().is_err() && Sequence { tr_ms: f64::NAN, ..seq }.check().is_err() && seq.check().is_ok());
    }
}
