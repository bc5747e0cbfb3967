//! Stem sizing by canal fill: each catalog stem series' size rule (`size_rule` in the stems'
//! TOML) applied to the endosteal canal.
//!
//! **The canal** ([`CanalWidths`]): the mediolateral endosteal widths along the shaft, by height
//! above the lesser trochanter (LT), from
//! - the CT's cortical bone (`coxa_anatomy::landmarks::femoral_canal`, in
//!   [`crate::PlanAnatomy::canal`]) when it was measured at the LT and is not flagged (metal in
//!   the femur flags it); else
//! - **the fallback** from the femur's outer surface (a mesh input has no cortical bone): the
//!   outer ML width of the section at each level (every 5 mm from LT + 20 mm down, 20 mm below
//!   the head at most) times `1 - 2 x` [`crate::SizingRules::cortical_ratio`] (0.55 with the
//!   default 0.225 each side). The plan says which was used.
//!
//! **The rule** of a series (`coxa_implants::StemSizeRule`): the fill at the rule's level is the
//! body's ML width there (`ml_width_mm` of the size) over the canal's. The tip lies `length_mm`
//! below the head centre's level along the shaft axis (seat 0, a 0 mm head) and is
//! `tip_ml_width_mm` wide. The planned size is the **largest whose fill at the level is at most
//! `fill_max` and whose tip width fills no measured level between the rule's level and the tip
//! by more than `distal_fill_max`** (a taper-wedge wider than the canal below hangs up there
//! before it fills the metadiaphysis). The catalog gives the body at the level and the tip only;
//! the body between is at least the tip's width, so this distal check is a lower bound (a
//! tapering body's true width there is larger: not modelled). Above the level the broach
//! compacts cancellous bone in the metaphysis; that is not checked. A fill below `fill_min` (an
//! under-filled canal: the catalog's largest is too small, or the distal canal limits the size)
//! and a size forced to the smallest are said in the notes.
//!
//! The built-in taper-wedge series are judged **60 mm below the LT at 90-100 %**: Warth et al.
//! (Inadequate metadiaphyseal fill of a modern taper-wedge stem increases subsidence and risk of
//! aseptic loosening, J Arthroplasty 2020) found the ML canal fill 60 mm below the LT (with the
//! surgeon's technique) the only predictor of subsidence in 250 taper-wedge stems: 95 % mean fill
//! where 1 of 119 stems subsided further after a month, 86 % where 33 of 64 did. The built-in
//! widths are generic, not a product's: a real series' templates give its widths at that level.
//!
//! **Where the scan does not reach the rule's level** (a CT cut at the LT, or a mesh of a short
//! femur), the size is **not determined**: [`FamilySizing::rule_level_imaged`] is false, the
//! series' middle size is planned as a placeholder (the reconstruction and the range of motion
//! need a stem), and the notes say so. A fill judged at another level would look measured and
//! not be: the widths are given at the rule's level.
//!
//! **The sizing table** ([`StemSizeOption`]): the planned size and the next smaller and larger
//! size of the series, each with its fill at the level, its largest distal fill (and where),
//! its tip's height and the canal there, and what changes against the planned size.

use coxa_core::{FemoralCanal, FemurLandmarks, Quality};
use coxa_implants::catalog::StemFamily;
use coxa_implants::{Catalog, StemSizeRule};
use nalgebra::Vector3;
use serde::Serialize;

use crate::error::{PlanError, Result};
use crate::input::{PlanAnatomy, SizingRules};

/// Where the canal widths come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CanalSource {
    /// Measured on the CT's cortical bone (endosteal edges).
    CtCorticalBone,
    /// The outer (periosteal) width times `1 - 2 x cortical_ratio`: no CT, or its canal not usable.
    OuterWidthRule,
}

/// The canal's mediolateral endosteal widths along the shaft.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanalWidths {
    /// Where they come from.
    pub source: CanalSource,
    /// `[height above the LT, ML canal width]`, mm, proximal first.
    pub levels: Vec<[f64; 2]>,
    /// Height of the native head centre above the LT along the shaft axis, mm.
    pub head_above_lt_mm: f64,
    /// Why the fallback was used, or what the measurement flagged.
    pub notes: Vec<String>,
}

impl CanalWidths {
    /// The ML canal width at `h` mm above the LT, linear between measured levels; `None` outside them.
    pub fn at(&self, h: f64) -> Option<f64> {
        let l = &self.levels;
        if let Some(x) = l.iter().find(|x| (x[0] - h).abs() < 1e-9) {
            return Some(x[1]);
        }
        l.windows(2).find(|w| (w[1][0]..=w[0][0]).contains(&h)).map(|w| w[1][1] + (w[0][1] - w[1][1]) * (h - w[1][0]) / (w[0][0] - w[1][0]))
    }
    /// The lowest level measured, mm above the LT.
    pub fn lowest_mm(&self) -> Option<f64> {
        self.levels.iter().map(|x| x[0]).reduce(f64::min)
    }
}

/// One size of a series against the canal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StemSizeOption {
    /// Size label.
    pub size: String,
    /// Body ML width at the rule's level, mm.
    pub ml_width_mm: f64,
    /// Canal fill at the rule's level (`None`: the canal is not measured there).
    pub fill: Option<f64>,
    /// Largest fill of the canal by the tip's width at the levels between the judged level and
    /// the tip, and the height above the LT where it is, mm (`None`: no level measured there).
    pub max_distal_fill: Option<[f64; 2]>,
    /// Tip height above the LT (negative: below), mm.
    pub tip_above_lt_mm: f64,
    /// Body ML width at the tip, mm.
    pub tip_ml_width_mm: f64,
    /// ML canal width at the tip's level, mm (`None`: not imaged there).
    pub tip_canal_mm: Option<f64>,
    /// Stem offset (head centre to shaft axis), mm.
    pub offset_mm: f64,
    /// Whether this is the planned size.
    pub chosen: bool,
    /// What changes against the planned size, in words.
    pub note: String,
}

/// One series sized.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FamilySizing {
    /// Series (catalog name).
    pub family: String,
    /// Its rule.
    pub rule: StemSizeRule,
    /// Planned size index (0-based).
    pub size_index: usize,
    /// Whether the canal is imaged at the rule's level; if not, the size is not determined (a
    /// placeholder, the series' middle size, is planned) and the notes say so.
    pub rule_level_imaged: bool,
    /// The next smaller, the planned and the next larger size (those the series has).
    pub size_options: Vec<StemSizeOption>,
    /// What the rule could not satisfy.
    pub notes: Vec<String>,
}

/// Every series of the catalog sized against the canal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StemSizing {
    /// The canal used.
    pub canal: CanalWidths,
    /// Per series, in catalog order.
    pub families: Vec<FamilySizing>,
}

impl StemSizing {
    /// The sizing of the series `name`.
    pub fn family(&self, name: &str) -> Option<&FamilySizing> {
        self.families.iter().find(|f| f.family == name)
    }
    /// Planned size index per series, in catalog order.
    pub fn size_indices(&self) -> Vec<usize> {
        self.families.iter().map(|f| f.size_index).collect()
    }
}

/// The levels of the fallback and of the table, mm above the LT: +20 down to -150, 5 mm apart.
fn fallback_levels() -> impl Iterator<Item = f64> {
    (0..=34).map(|k| 20.0 - 5.0 * f64::from(k))
}

/// The canal of the operated femur: measured on the CT when usable, else the outer-width rule.
pub fn canal_widths(anatomy: &PlanAnatomy, rules: &SizingRules) -> Result<CanalWidths> {
    canal_widths_of(&anatomy.femur, &anatomy.operated.femur, anatomy.canal.as_ref(), rules)
}

/// [`canal_widths`] of a femur surface `femur`, its landmarks and its CT canal (if measured).
pub fn canal_widths_of(femur: &coxa_core::Mesh, f: &FemurLandmarks, canal: Option<&FemoralCanal>, rules: &SizingRules) -> Result<CanalWidths> {
    let u = f.shaft_axis.direction_lps.try_normalize(1e-9).ok_or_else(|| PlanError::Anatomy { structure: "femur", why: "zero shaft axis".into() })?;
    let head_above_lt_mm = (f.head_centre.lps_mm - f.lesser_trochanter.lps_mm).dot(&u);
    let mut notes = Vec::new();
    match canal {
        Some(c) if c.quality == Quality::Good && c.lesser_trochanter.is_some() => {
            notes.extend(c.notes.iter().cloned());
            return Ok(CanalWidths { source: CanalSource::CtCorticalBone, levels: c.profile.iter().map(|l| [l.above_lt_mm, l.ml_canal_mm]).collect(), head_above_lt_mm, notes });
        }
        Some(c) => notes.push(format!(
            "the canal measured on the CT is not usable for sizing ({}): the stem is sized from the outer width instead",
            if c.notes.is_empty() { "not measured at the lesser trochanter".to_string() } else { c.notes.join("; ") }
        )),
        None => notes.push("no canal measured from cortical bone (the femur is an outer surface only, e.g. a mesh input): the canal is estimated from the outer width".into()),
    }
    let k = 1.0 - 2.0 * rules.cortical_ratio;
    notes.push(format!("canal = outer mediolateral width x {k:.2} (cortical_ratio {} each side)", rules.cortical_ratio));
    let a = f.shaft_axis.point_lps_mm;
    let lateral = Vector3::new(f.side.lateral_sign(), 0.0, 0.0);
    let ml = (-lateral - u * (-lateral).dot(&u)).try_normalize(1e-9).ok_or_else(|| PlanError::Anatomy { structure: "femur", why: "the shaft runs left-right".into() })?;
    let lt = a + u * (f.lesser_trochanter.lps_mm - a).dot(&u);
    // Not within 5 mm of the femur's lowest point: a section there is the scan's cut, a sliver.
    let lowest = femur.vertices().iter().map(|p| (p - lt).dot(&u)).fold(f64::INFINITY, f64::min);
    let levels: Vec<[f64; 2]> = fallback_levels()
        .filter(|h| *h <= head_above_lt_mm - 20.0 && *h >= lowest + 5.0)
        .filter_map(|h| crate::stem::section_width(femur, &(lt + u * h), &u, &ml).filter(|w| *w >= 10.0).map(|w| [h, w * k]))
        .collect();
    if levels.is_empty() {
        return Err(PlanError::Anatomy { structure: "femur", why: "no cross-section of the femur near the lesser trochanter; is the proximal femur imaged?".into() });
    }
    Ok(CanalWidths { source: CanalSource::OuterWidthRule, levels, head_above_lt_mm, notes })
}

/// A size's fills against the canal (see the module docs).
fn evaluate(canal: &CanalWidths, level: f64, z: &coxa_implants::catalog::StemSize) -> StemSizeOption {
    let tip = canal.head_above_lt_mm - z.length_mm;
    let max_distal_fill = canal
        .levels
        .iter()
        .filter(|x| x[0] < level - 1e-9 && x[0] >= tip - 1e-9 && x[1] > 0.0)
        .map(|x| [z.tip_ml_width_mm / x[1], x[0]])
        .chain(canal.at(tip).map(|w| [z.tip_ml_width_mm / w, tip]))
        .max_by(|a, b| a[0].total_cmp(&b[0]));
    StemSizeOption {
        size: z.size.clone(),
        ml_width_mm: z.ml_width_mm,
        fill: canal.at(level).map(|w| z.ml_width_mm / w),
        max_distal_fill,
        tip_above_lt_mm: tip,
        tip_ml_width_mm: z.tip_ml_width_mm,
        tip_canal_mm: canal.at(tip),
        offset_mm: z.offset_mm,
        chosen: false,
        note: String::new(),
    }
}

/// "60 mm below the lesser trochanter" / "at the lesser trochanter" for a height above the LT
/// (the plan's notes and the sizing rule's words).
pub fn lt_level_words(h: f64) -> String {
    if h.abs() < 0.5 { "at the lesser trochanter".into() } else { format!("{:.0} mm {} the lesser trochanter", h.abs(), if h < 0.0 { "below" } else { "above" }) }
}

/// Sizes one series by its rule.
pub fn size_family(canal: &CanalWidths, fam: &StemFamily) -> Result<FamilySizing> {
    let rule = &fam.size_rule;
    // The rule's level, or, where the scan does not reach it (a CT cut at the lesser
    // trochanter), the nearest imaged level: said in the notes.
    let mut notes = Vec::new();
    let level = rule.level_above_lt_mm;
    let rule_level_imaged = canal.at(level).is_some();
    let all: Vec<StemSizeOption> = fam.sizes.iter().map(|z| evaluate(canal, level, z)).collect();
    let fits = |o: &StemSizeOption| o.fill.is_some_and(|f| f <= rule.fill_max + 1e-9) && o.max_distal_fill.is_none_or(|d| d[0] <= rule.distal_fill_max + 1e-9);
    let k = if !rule_level_imaged {
        // Nothing to judge the fill by: a placeholder, said so, never a size made to look measured.
        let k = (all.len() - 1) / 2;
        notes.push(format!(
            "{}: the stem size is not determined: the canal is not imaged {} (the size rule's level; measured down to {} only); the series' middle size {} is planned as a placeholder for the reconstruction and the range of motion: template the stem on a radiograph",
            fam.name,
            lt_level_words(level),
            canal.lowest_mm().map_or("nowhere".to_string(), lt_level_words),
            all[k].size
        ));
        k
    } else {
        match all.iter().rposition(fits) {
            Some(k) => k,
            None => {
                notes.push(format!(
                    "{}: even the smallest size ({:.1} mm) over-fills the canal ({:.1} mm {}, or distally): the smallest is planned",
                    fam.name,
                    all[0].ml_width_mm,
                    canal.at(level).unwrap_or(f64::NAN),
                    lt_level_words(level)
                ));
                0
            }
        }
    };
    let chosen = &all[k];
    if chosen.fill.is_some_and(|f| f < rule.fill_min - 1e-9) {
        let why = if k + 1 == all.len() {
            "the series' largest size is too small for this canal".to_string()
        } else {
            let next = &all[k + 1];
            match next.max_distal_fill {
                Some(d) if d[0] > rule.distal_fill_max => format!("size {} would fill the canal {} by {:.0} % (a hang-up)", next.size, lt_level_words(d[1]), 100.0 * d[0]),
                _ => format!("size {} fills {:.0} %, above {:.0} %", next.size, 100.0 * next.fill.unwrap_or(f64::NAN), 100.0 * rule.fill_max),
            }
        };
        notes.push(format!(
            "{}: size {} fills the canal only {:.0} % {} (the rule asks {:.0}-{:.0} %): {why}",
            fam.name,
            chosen.size,
            100.0 * chosen.fill.unwrap_or(0.0),
            lt_level_words(level),
            100.0 * rule.fill_min,
            100.0 * rule.fill_max
        ));
    }
    if let Some(low) = canal.lowest_mm().filter(|l| rule_level_imaged && *l > chosen.tip_above_lt_mm + 1e-9) {
        notes.push(format!(
            "{}: the canal is measured down to {} only; the tip of size {} ({}) is not checked below that",
            fam.name,
            lt_level_words(low),
            chosen.size,
            lt_level_words(chosen.tip_above_lt_mm)
        ));
    }
    let describe = |o: &StemSizeOption| -> String {
        let mut parts = Vec::new();
        if let Some(f) = o.fill {
            let verdict = if f > rule.fill_max + 1e-9 {
                " (over the rule's maximum: the broach would have to cut cortex, a fracture risk)"
            } else if f < rule.fill_min - 1e-9 {
                " (under-filled: risks subsidence)"
            } else {
                " (in the rule's band)"
            };
            parts.push(format!("fill {:.0} %{verdict}", 100.0 * f));
        }
        if let Some(d) = o.max_distal_fill.filter(|d| d[0] > rule.distal_fill_max + 1e-9) {
            parts.push(format!("wider than the canal {} ({:.0} %): hangs up there", lt_level_words(d[1]), 100.0 * d[0]));
        }
        let d_off = o.offset_mm - chosen.offset_mm;
        let d_tip = chosen.tip_above_lt_mm - o.tip_above_lt_mm;
        if o.size != chosen.size {
            parts.push(format!("offset {d_off:+.1} mm, tip {:.0} mm {}", d_tip.abs(), if d_tip > 0.0 { "deeper" } else { "higher" }));
        }
        parts.join("; ")
    };
    let size_options = (k.saturating_sub(1)..=(k + 1).min(all.len() - 1))
        .map(|i| {
            let mut o = all[i].clone();
            o.chosen = i == k;
            o.note = if i == k { format!("planned: {}", describe(&o)) } else { format!("{}: {}", if i < k { "one size down" } else { "one size up" }, describe(&o)) };
            o
        })
        .collect();
    Ok(FamilySizing { family: fam.name.clone(), rule: rule.clone(), size_index: k, rule_level_imaged, size_options, notes })
}

/// Sizes every stem series of the catalog against the operated femur's canal.
pub fn size_stems(anatomy: &PlanAnatomy, catalog: &Catalog, rules: &SizingRules) -> Result<StemSizing> {
    if catalog.stems.is_empty() {
        return Err(PlanError::NoFit { why: "the catalog has no stem".into() });
    }
    let canal = canal_widths(anatomy, rules)?;
    let families = catalog.stems.iter().map(|f| size_family(&canal, f)).collect::<Result<Vec<_>>>()?;
    Ok(StemSizing { canal, families })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canal(levels: &[[f64; 2]]) -> CanalWidths {
        CanalWidths { source: CanalSource::CtCorticalBone, levels: levels.to_vec(), head_above_lt_mm: 55.0, notes: Vec::new() }
    }

    fn standard() -> StemFamily {
        Catalog::builtin().unwrap().stems.into_iter().next().unwrap()
    }

    /// An 18 mm canal 60 mm below the lesser trochanter: the largest body at most 100 % of it is
    /// 17.25 mm (size 6, 96 %); size 7 (18.5 mm) is over the rule. The table is size 5, 6, 7.
    #[test]
    fn the_largest_size_within_the_fill_band_is_planned() {
        let c = canal(&[[20.0, 44.0], [0.0, 34.0], [-60.0, 18.0], [-100.0, 15.0], [-150.0, 15.0]]);
        let s = size_family(&c, &standard()).unwrap();
        let sizes: Vec<&str> = s.size_options.iter().map(|o| o.size.as_str()).collect();
        assert_eq!(sizes, ["5", "6", "7"]);
        let chosen = &s.size_options[1];
        assert!(chosen.chosen && s.rule_level_imaged);
        assert!((chosen.fill.unwrap() - 17.25 / 18.0).abs() < 1e-9, "{chosen:?}");
        assert!((chosen.tip_above_lt_mm - (55.0 - 175.0)).abs() < 1e-9);
        assert!((chosen.max_distal_fill.unwrap()[0] - 13.0 / 15.0).abs() < 1e-9, "{chosen:?}");
        assert!(s.size_options[2].note.contains("over the rule's maximum") && s.size_options[0].note.contains("offset -1.0 mm"), "{:?}", s.size_options);
        assert!(s.notes.is_empty(), "{:?}", s.notes);
    }

    /// A narrow diaphysis stops the wedge before it fills the metadiaphysis: the size is limited
    /// distally and the plan says so.
    #[test]
    fn a_narrow_diaphysis_limits_the_size_and_says_so() {
        let c = canal(&[[20.0, 44.0], [0.0, 34.0], [-60.0, 18.0], [-100.0, 11.5], [-150.0, 11.5]]);
        let s = size_family(&c, &standard()).unwrap();
        let chosen = s.size_options.iter().find(|o| o.chosen).unwrap();
        assert_eq!(chosen.size, "4", "{s:?}");
        assert!(chosen.fill.unwrap() < 0.90 && chosen.max_distal_fill.unwrap()[0] <= 1.0, "{chosen:?}");
        assert!(s.notes.iter().any(|n| n.contains("size 5 would fill the canal") && n.contains("below the lesser trochanter") && n.contains("hang-up")), "{:?}", s.notes);
    }

    /// A scan cut at the lesser trochanter: the rule's level is not imaged, so the size is not
    /// determined; a placeholder (the middle size) is planned and the notes say so.
    #[test]
    fn a_canal_not_imaged_at_the_rule_level_gives_a_placeholder_said_so() {
        let c = canal(&[[20.0, 44.0], [10.0, 38.0], [0.0, 34.0]]);
        let s = size_family(&c, &standard()).unwrap();
        assert!(!s.rule_level_imaged && s.size_index == 4, "{s:?}");
        assert!(s.size_options.iter().all(|o| o.fill.is_none()), "{:?}", s.size_options);
        assert!(s.notes.iter().any(|n| n.contains("not determined") && n.contains("placeholder") && n.contains("radiograph") && n.contains("60 mm below")), "{:?}", s.notes);
    }

    /// Linear interpolation between measured levels; nothing outside them.
    #[test]
    fn canal_widths_interpolate_between_levels_only() {
        let c = canal(&[[20.0, 40.0], [0.0, 30.0], [-10.0, 20.0]]);
        assert_eq!(c.at(10.0), Some(35.0));
        assert_eq!(c.at(-5.0), Some(25.0));
        assert_eq!(c.at(-10.0), Some(20.0));
        assert_eq!(c.at(-10.5), None);
        assert_eq!(c.at(21.0), None);
    }
}
