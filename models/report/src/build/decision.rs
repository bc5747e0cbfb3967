//! The decision, the report's first page: the implants and their sizes, the cup angles in the
//! plan's definition (named), the stem's version, the leg length and offset change against
//! their targets, the range-of-motion margins against what daily life needs, and the caveats
//! that change the plan.

use coxa_core::plan_intervals::{IntervalRecord, PlanIntervalsRecord, size_words};
use coxa_core::{CaseReport, CombinedAnteversion, CupAngleDefinition};

use super::CaseOptions;
use super::fmt::{f, numf, numo, signed, words};
use crate::document::{Block, Cell, CellStyle, Document, MarginBand, Table, Text, Warning};

fn definition_name(d: CupAngleDefinition) -> &'static str {
    match d {
        CupAngleDefinition::Radiographic => "radiographic",
        CupAngleDefinition::Operative => "operative",
        CupAngleDefinition::Anatomic => "anatomic",
    }
}

/// The plan's intervals (issue 59), when it has them.
fn intervals(r: &CaseReport) -> Option<&PlanIntervalsRecord> {
    r.plan.as_ref()?.intervals.as_ref()
}

/// `" (90 %: 42.1 to 48.3)"` after a number, or nothing.
fn ends(i: Option<&IntervalRecord>, signed: bool) -> String {
    i.map_or(String::new(), |i| if signed { format!(" (90 %: {:+.1} to {:+.1})", i.low, i.high) } else { format!(" (90 %: {:.1} to {:.1})", i.low, i.high) })
}

/// The implants: shell, liner, head and stem, with their sizes.
fn implants(r: &CaseReport) -> Table {
    let im = &r.placement.implants;
    let mut t = Table::with_header(["implant", "size and type"]).id("decision-implants");
    let shell = match &r.plan {
        Some(pl) => {
            let series = pl.cup.catalog.as_deref().map_or(String::new(), |c| format!(", {c}"));
            let assumed = if pl.cup.socket.source == "head_plus_assumed_joint_space" { "; socket sized from the head plus the cartilage allowance (see the caveats)" } else { "" };
            let odds = pl.intervals.as_ref().map_or(String::new(), |iv| format!("; by the socket's uncertainty: shell {}", size_words(&iv.shell, "mm")));
            Text::bold(format!("{} mm{series}", numf(pl.cup.outer_diameter_mm, 0))).and(format!(" (last reamer {} mm){assumed}{odds}", numf(pl.cup.last_reamer_mm, 0)))
        }
        None => Text::bold(format!("{} mm", f(im.shell_outer_diameter_mm, 0))),
    };
    t.row([Cell::new("acetabular shell"), Cell::new(shell)]);
    t.row([Cell::new("liner"), Cell::new(Text::bold(im.liner.clone()))]);
    t.row([Cell::new("femoral head"), Cell::new(Text::bold(format!("{} mm", f(im.head_diameter_mm, 0))).and(format!(", neck-length offset {} mm", f(im.head_offset_mm, 1))))]);
    let stem = match &r.plan {
        Some(pl) => {
            let fixation = pl.stem.fixation.as_ref().and_then(|x| x.planned_series_fixation.as_deref()).map_or(String::new(), |x| format!(", {x}"));
            // A size the canal could not set is a placeholder (issue 24): say so where it is read.
            let placeholder = pl.stem.sizing.rule.as_ref().is_some_and(|r| !r.rule_level_imaged);
            let odds = pl.intervals.as_ref().and_then(|iv| iv.stem.as_deref()).map_or(String::new(), |s| format!("; by the canal's uncertainty: size {}", size_words(s, "")));
            let t = Text::bold(format!("{} size {}", pl.stem.catalog, pl.stem.size)).and(format!("{fixation}, CCD {}°{odds}", numo(pl.stem.ccd_deg, 1)));
            if placeholder { t.and("; ").and_bold("size is a placeholder").and(": the canal is not imaged at the sizing level, template the stem on a radiograph") } else { t }
        }
        None => Text::bold(im.stem.clone()).and(format!(" (size not planned), CCD {}°", f(im.stem_ccd_deg, 1))),
    };
    t.row([Cell::new("stem"), Cell::new(stem)]);
    t
}

/// Where they go: the cup angles in the chosen definition, the stem's version, leg length and
/// offset against their targets.
fn placement(r: &CaseReport, def: CupAngleDefinition) -> Table {
    let name = definition_name(def);
    let mut t = Table::with_header(["placement", "planned", "against"]).id("decision-placement");
    let cup = r.placement.cup_angles.get(name);
    let iv = intervals(r);
    // The intervals are radiographic: in another definition they are named so.
    let radio = def == CupAngleDefinition::Radiographic;
    let cup_ends = |i: Option<&IntervalRecord>| if radio { ends(i, false) } else { i.map_or(String::new(), |i| format!(" (90 %, radiographic: {:.1} to {:.1})", i.low, i.high)) };
    let angle = |v: Option<f64>, i: Option<&IntervalRecord>| Text::bold(format!("{}°", numo(v, 1))).and(cup_ends(i));
    let murray = format!("{name} definition (Murray 1993), pelvic frame");
    t.row([Cell::new(format!("cup inclination, {name}")), Cell::new(angle(cup.map(|c| c.inclination_deg), iv.map(|x| &x.cup_inclination_deg))), Cell::new(murray.clone())]);
    t.row([Cell::new(format!("cup anteversion, {name}")), Cell::new(angle(cup.map(|c| c.anteversion_deg), iv.map(|x| &x.cup_anteversion_deg))), Cell::new(murray)]);
    let stem_sd = r.plan.as_ref().and_then(|pl| pl.stem.anteversion_sd_deg).filter(|x| x.is_finite());
    t.row([
        Cell::new("stem anteversion"),
        Cell::new(Text::bold(format!("{}°", f(r.placement.stem_anteversion_deg, 1))).and(ends(iv.map(|x| &x.stem_anteversion_deg), false))),
        Cell::new(stem_sd.map_or_else(|| "femoral frame as measured".to_string(), |sd| format!("PREDICTED femoral frame, SD {sd:.1}°"))),
    ]);
    match &r.plan {
        Some(pl) => {
            t.row([
                Cell::new("leg length change"),
                Cell::new(Text::bold(signed(pl.leg_length_change_mm, "mm")).and(ends(iv.map(|x| &x.leg_length_change_mm), true))),
                Cell::new(format!("target {} ({})", signed(pl.targets.leg_length_change_mm, "mm"), pl.targets.from)),
            ]);
            t.row([
                Cell::new("offset change"),
                Cell::new(Text::bold(signed(pl.offset_change_mm, "mm")).and(ends(iv.map(|x| &x.offset_change_mm), true))),
                Cell::new(format!("target {}", signed(pl.targets.offset_change_mm, "mm"))),
            ]);
        }
        None => {
            // A placement fixed by the scenario: the change the musculoskeletal stage applied, if it ran.
            let (ll, off, note) = match &r.msk {
                Some(m) => (signed(m.change.leg_length_change_mm, "mm"), signed(m.change.offset_change_mm, "mm"), "as the hip-load model applied it (placement fixed by the scenario)"),
                None => ("not planned".into(), "not planned".into(), "placement fixed by the scenario"),
            };
            t.row([Cell::new("leg length change"), Cell::new(Text::bold(ll)), Cell::new(note)]);
            t.row([Cell::new("offset change"), Cell::new(Text::bold(off)), Cell::new(note)]);
        }
    }
    t
}

/// The daily-life motions' margins, coloured as the range-of-motion bars.
fn margins(r: &CaseReport) -> Table {
    let mut t = Table::with_header(["daily-life motion", "needed", "limit", "margin", "first contact"]).id("decision-rom");
    let iv = intervals(r);
    for m in r.rom.motions.iter().filter(|m| m.required_deg.is_some()) {
        let margin = m.margin_deg();
        // The interval's width about the margin shown (the report's range of motion may differ
        // from the plan's by its resolution, 0.1 deg).
        let spread = iv.and_then(|x| x.margins.iter().find(|g| g.motion == m.name)).zip(margin).map_or(String::new(), |(g, v)| {
            let i = &g.margin_deg;
            ends(Some(&IntervalRecord { value: v, low: v + i.low - i.value, high: v + i.high - i.value }), true)
        });
        t.row([
            Cell::new(words(&m.name)),
            Cell::new(m.required_deg.map_or("–".into(), |q| format!("{q:.0}°"))),
            Cell::new(format!("{}°", f(m.limit_deg, 1))),
            Cell::styled(margin.map_or("–".into(), |x| format!("{x:+.1}°{spread}")), CellStyle::Margin(MarginBand::of(margin))),
            Cell::new(super::rom::touching(m, r)),
        ]);
    }
    t
}

/// The measures surgeons plan by: combined anteversion (both definitions, named), the neck
/// resection level, the centre of rotation against the teardrop and the other hip.
fn measures(r: &CaseReport) -> Table {
    let mut t = Table::with_header(["measure", "planned", "how"]).id("decision-measures");
    if let Some(c) = super::measures::combined(r) {
        let sd = r.plan.as_ref().and_then(|pl| pl.combined_anteversion_sd_deg).filter(|x| x.is_finite()).map_or(String::new(), |sd| format!("; predicted femoral frame, SD {sd:.1}°"));
        let iv = intervals(r);
        t.row([
            Cell::new(CombinedAnteversion::WIDMER_LABEL),
            Cell::new(Text::bold(format!("{:.1}°", c.widmer_deg)).and(ends(iv.map(|x| &x.combined_widmer_deg), false))),
            Cell::new(format!("optimum {:.1}° at 40-45° inclination (Widmer and Zurfluh 2004){sd}", CombinedAnteversion::WIDMER_OPTIMUM_DEG)),
        ]);
        t.row([
            Cell::new(CombinedAnteversion::PLAIN_SUM_LABEL),
            Cell::new(Text::bold(format!("{:.1}°", c.plain_sum_deg)).and(ends(iv.map(|x| &x.combined_plain_sum_deg), false))),
            Cell::new(format!("safe range {:.0}-{:.0}° (Dorr et al. 2009)", CombinedAnteversion::PLAIN_SUM_SAFE_DEG.0, CombinedAnteversion::PLAIN_SUM_SAFE_DEG.1)),
        ]);
    }
    match super::measures::resection(r) {
        Ok((mm, how)) => {
            // The interval leads the "how" cell: the value's cell stays one line, as it is read.
            let spread = super::measures::resection_sd_mm(r).map_or(String::new(), |sd| {
                let i = IntervalRecord::normal(mm, sd);
                format!("90 %: {:.1} to {:.1} mm; ", i.low, i.high)
            });
            t.row([Cell::new("neck resection level"), Cell::new(Text::bold(format!("{mm:.1} mm")).and(" above the lesser trochanter")), Cell::new(format!("{spread}{how}"))]);
        }
        Err(why) => t.row([Cell::new("neck resection level"), Cell::new(Text::bold("not given")), Cell::new(why.trim_start_matches("not given: ").to_string())]),
    }
    match super::measures::centre_against_teardrop(r) {
        Ok((h, v)) => t.row([
            Cell::new("centre of rotation against the teardrop"),
            Cell::new(Text::bold(format!("horizontal {h:.1} mm, vertical {v:.1} mm"))),
            Cell::new(format!(
                "{} and {}: the cup's centre against the teardrop's tip, found on the CT's AP bone shadow (pelvic frame)",
                if h >= 0.0 { "lateral" } else { "medial" },
                if v >= 0.0 { "above" } else { "below" }
            )),
        ]),
        Err(why) => t.row([Cell::new("centre of rotation against the teardrop"), Cell::new(Text::bold("teardrop not detected")), Cell::new(why)]),
    }
    match super::measures::centre_against_other_hip(r) {
        Ok((h, v)) => {
            let dir = |x: f64, pos: &str, neg: &str| if x >= 0.0 { pos.to_string() } else { neg.to_string() };
            let sd = super::measures::centre_sd_mm(r);
            let spread = |x: f64| sd.map_or(String::new(), |s| ends(Some(&IntervalRecord::normal(x, s)), true));
            t.row([
                Cell::new("centre of rotation against the other hip"),
                Cell::new(Text::bold(format!("horizontal {h:+.1} mm{}, vertical {v:+.1} mm{}", spread(h), spread(v)))),
                Cell::new(format!("{} and {}: the cup's centre against the other femoral head's, mirrored about the midline (pelvic frame)", dir(h, "lateral", "medial"), dir(v, "higher", "lower"))),
            ]);
        }
        Err(why) => t.row([Cell::new("centre of rotation against the other hip"), Cell::new(Text::bold("not given")), Cell::new(why)]),
    }
    t
}

/// The plan against the daily-life needs: which are met, and when one is short, the single
/// change of the searched space that comes closest.
fn daily_life(r: &CaseReport) -> Option<Text> {
    let dl = r.plan.as_ref()?.daily_life.as_ref()?;
    if dl.met {
        return Some(Text::bold("Daily life: every need met").and(format!(" (smallest margin {:+.1}°).", dl.min_margin_deg)));
    }
    let list = |s: &[coxa_core::plan_record::MotionMarginRecord]| s.iter().map(|m| format!("{} by {:.1}°", words(&m.motion), -m.margin_deg)).collect::<Vec<_>>().join(", ");
    let mut t = Text::bold("Daily life: short of ").and_bold(list(&dl.short)).and(".");
    match &dl.closest {
        Some(c) => {
            let rest = if c.short.is_empty() { "meets every need".to_string() } else { format!("still short of {}", list(&c.short)) };
            t = t.and(" Closest change: ").and_bold(c.changes.join(", ")).and(format!(" — {rest} (smallest margin {:+.1}°).", c.min_margin_deg));
        }
        None => t = t.and(" Nothing in the searched range comes closer."),
    }
    Some(t)
}

/// Appends the decision: page 1. `caveats`: the surgeon's caveats of page 1 (at most five).
pub fn push(d: &mut Document, r: &CaseReport, opts: &CaseOptions, caveats: Vec<Warning>) {
    d.push(Block::Heading { level: 2, text: "The decision".into() });
    // Issue 59: where an interval is too wide for a decision, page 1 says so first.
    if let Some(iv) = intervals(r).filter(|iv| !iv.warnings.is_empty()) {
        let items = iv.warnings.iter().map(|w| Warning { cause: w.clone(), structures: Vec::new(), consequence: None }).collect();
        d.push(Block::Warnings { title: "Too uncertain for a decision".into(), items });
    }
    d.push(Block::Table(implants(r)));
    d.push(Block::Table(placement(r, opts.cup_definition)));
    // The daily-life margins (whether the placement does what the patient needs) before the
    // measures surgeons check the plan by, so that they are read first.
    let smallest = r.rom.min_adl_margin_deg();
    d.push(Block::Heading { level: 3, text: "Range of motion against daily life".into() });
    d.push(Block::Table(margins(r)));
    let legend = if intervals(r).is_some() {
        "Margin: limit minus what the activity needs; red below the need, amber within 10°, green 10° or more above it. In brackets: 90 % intervals from the landmarks' uncertainty (see the plan's intervals)."
    } else {
        "Margin: limit minus what the activity needs; red below the need, amber within 10°, green 10° or more above it."
    };
    match (daily_life(r), smallest) {
        (Some(t), _) => {
            d.push(Block::Paragraph(t));
            d.push(Block::Note(Text::plain(legend)));
        }
        (None, Some(m)) => d.push(Block::Note(Text::plain(format!("Smallest margin {m:+.1}°. {legend}")))),
        (None, None) => d.push(Block::Note(Text::plain("No daily-life motion was simulated."))),
    }
    d.push(Block::Table(measures(r)));
    if !caveats.is_empty() {
        d.push(Block::Warnings { title: "Caveats that change the plan".into(), items: caveats });
    }
}
