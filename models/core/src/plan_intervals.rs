//! The plan's intervals as `plan.json` holds them (issue 59, item 3; `coxa_planner::intervals`
//! makes them): the shell and stem as sizes with probabilities, the angles, leg length, offset and
//! each daily-life margin with 90 % intervals, where each input's uncertainty comes from, and
//! what is too uncertain for a decision. Units in the field names (deg, mm).

use serde::{Deserialize, Serialize};

/// The standard normal's 95th percentile: a 90 % two-sided interval is the value ± this many
/// standard deviations.
pub const Z90: f64 = 1.644_853_626_951_472_2;

/// A value and its 90 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IntervalRecord {
    /// The plan's value (the same as the plan's own field).
    pub value: f64,
    /// Lower end of the 90 % interval.
    pub low: f64,
    /// Upper end of the 90 % interval.
    pub high: f64,
}

impl IntervalRecord {
    /// `value ± Z90 sd`: the 90 % interval of a normal error with standard deviation `sd`.
    pub fn normal(value: f64, sd: f64) -> Self {
        Self { value, low: value - Z90 * sd, high: value + Z90 * sd }
    }
    /// `"45.0 deg (90 %: 42.1 to 48.3)"`: the value and the ends to one decimal, with `unit`.
    pub fn words(&self, unit: &str) -> String {
        format!("{:.1} {unit} (90 %: {:.1} to {:.1})", self.value, self.low, self.high)
    }
    /// Like [`Self::words`] with a sign on every number (changes, margins).
    pub fn signed_words(&self, unit: &str) -> String {
        format!("{:+.1} {unit} (90 %: {:+.1} to {:+.1})", self.value, self.low, self.high)
    }
}

/// One size and how likely the sizing rule picks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SizeProbabilityRecord {
    /// Size label: a shell's outer diameter in mm, a stem's catalog size.
    pub size: String,
    /// Probability, 0-1 (0.001 and up listed).
    pub probability: f64,
}

/// A daily-life motion's margin with its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MarginIntervalRecord {
    /// Motion name.
    pub motion: String,
    /// Margin (limit minus the activity's need), deg.
    pub margin_deg: IntervalRecord,
}

/// The inputs' uncertainty the intervals carry: standard deviations, mm (per LPS axis for points).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InputUncertaintyRecord {
    /// The operated femoral head's centre, per LPS axis, mm.
    pub head_centre_sd_mm: [f64; 3],
    /// The operated femoral head's radius, mm.
    pub head_radius_sd_mm: f64,
    /// The operated socket's centre, per LPS axis, mm.
    pub socket_centre_sd_mm: [f64; 3],
    /// The operated socket's radius, mm.
    pub socket_radius_sd_mm: f64,
    /// The other hip's head centre, per LPS axis, mm (0: not imaged).
    pub other_head_centre_sd_mm: [f64; 3],
    /// The lesser trochanters, per axis, mm.
    pub landmark_sd_mm: f64,
    /// Every canal width (one shift common to all levels), mm (`None`: too few levels).
    pub canal_width_sd_mm: Option<f64>,
    /// Where each comes from, one line each.
    pub origins: Vec<String>,
}

/// The plan's intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanIntervalsRecord {
    /// The inputs' uncertainty.
    pub inputs: InputUncertaintyRecord,
    /// Shell sizes (outer diameter, mm) with their probabilities, ascending.
    pub shell: Vec<SizeProbabilityRecord>,
    /// Probability that the socket needs a shell beyond the catalog's largest.
    pub shell_beyond_catalog: f64,
    /// The planned stem series' sizes with their probabilities (`None`: the size is not
    /// determined by the canal, see the notes).
    pub stem: Option<Vec<SizeProbabilityRecord>>,
    /// Cup inclination, radiographic, deg.
    pub cup_inclination_deg: IntervalRecord,
    /// Cup anteversion, radiographic, deg.
    pub cup_anteversion_deg: IntervalRecord,
    /// Stem anteversion, deg.
    pub stem_anteversion_deg: IntervalRecord,
    /// Combined anteversion, Widmer's (radiographic cup + 0.7 x stem), deg: its range over the
    /// candidates the angles' ranges are taken from.
    pub combined_widmer_deg: IntervalRecord,
    /// Combined anteversion, the plain sum (operative cup + stem), deg: likewise.
    pub combined_plain_sum_deg: IntervalRecord,
    /// Leg-length change, mm (+ longer).
    pub leg_length_change_mm: IntervalRecord,
    /// Offset change, mm (+ more lateral).
    pub offset_change_mm: IntervalRecord,
    /// Every motion with a need: its margin, deg.
    pub margins: Vec<MarginIntervalRecord>,
    /// SD of the objective over the draws (deg of margin equivalent).
    pub objective_sd: f64,
    /// Scored candidates as good as the plan within 1.645 objective SDs (the angles' intervals
    /// are their range).
    pub near_best_candidates: usize,
    /// Perturbed draws scored.
    pub draws: usize,
    /// Of them, refused by the scorer.
    pub failed_draws: usize,
    /// The draws' seed.
    pub seed: u64,
    /// How the intervals were made, and what they leave out.
    pub method: String,
    /// Where an interval is too wide for a decision: page 1 of the report prints these first.
    pub warnings: Vec<String>,
}

/// `"52 mm (p=0.70) or 54 mm (p=0.30)"`: the most likely size and its likelier neighbour (one
/// size either way) with their probabilities, `unit` after each size ("" for a stem).
pub fn size_words(sizes: &[SizeProbabilityRecord], unit: &str) -> String {
    let Some((k, best)) = sizes.iter().enumerate().max_by(|a, b| a.1.probability.total_cmp(&b.1.probability).then(b.0.cmp(&a.0))) else {
        return String::new();
    };
    let sp = if unit.is_empty() { String::new() } else { format!(" {unit}") };
    let one = |s: &SizeProbabilityRecord| format!("{}{sp} (p={:.2})", s.size, s.probability);
    let neighbour = [k.checked_sub(1), Some(k + 1)].into_iter().flatten().filter_map(|i| sizes.get(i)).max_by(|a, b| a.probability.total_cmp(&b.probability));
    match neighbour {
        Some(n) if n.probability >= 0.005 => format!("{} or {}", one(best), one(n)),
        _ => one(best),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        let s = |size: &str, probability: f64| SizeProbabilityRecord { size: size.into(), probability };
        assert_eq!(size_words(&[s("50", 0.02), s("52", 0.68), s("54", 0.30)], "mm"), "52 mm (p=0.68) or 54 mm (p=0.30)");
        assert_eq!(size_words(&[s("4", 1.0)], ""), "4 (p=1.00)");
        assert_eq!(size_words(&[], "mm"), "");
        let i = IntervalRecord { value: 45.0, low: 42.04, high: 48.26 };
        assert_eq!(i.words("deg"), "45.0 deg (90 %: 42.0 to 48.3)");
        assert_eq!(IntervalRecord { value: 1.0, low: -0.5, high: 2.5 }.signed_words("mm"), "+1.0 mm (90 %: -0.5 to +2.5)");
    }
}
