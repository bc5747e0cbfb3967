//! The plan in detail: the implants and their placement in every cup-angle definition, and the
//! plan's reasoning (why each size, the cup and stem sizes around the planned ones, the
//! objective).

use coxa_core::CaseReport;
use coxa_core::plan_record::{PlanRecord, PlanStemRecord, SocketRecord};

use super::fmt::{f, numf, numo, percent, pt3};
use crate::document::{Block, Document, Table, Text};

/// Appends "Implants and placement".
pub fn push_placement(d: &mut Document, r: &CaseReport) {
    let p = &r.placement;
    let im = &p.implants;
    d.push(Block::Heading { level: 2, text: "Implants and placement".into() });
    d.push(Block::Note(Text::plain(format!("Placement: {}.", p.source))));
    let mut t = Table::with_header(["part", "choice"]);
    t.row(["acetabular shell, outer diameter".to_string(), format!("{} mm", f(im.shell_outer_diameter_mm, 0))]);
    t.row(["liner".to_string(), im.liner.clone()]);
    t.row(["femoral head".to_string(), format!("{} mm, neck-length offset {} mm", f(im.head_diameter_mm, 0), f(im.head_offset_mm, 1))]);
    t.row(["stem neck".to_string(), format!("{} mm diameter, CCD {}°", f(im.neck_diameter_mm, 2), f(im.stem_ccd_deg, 1))]);
    t.row(["oscillation angle of the pair".to_string(), format!("{}°", f(r.rom.oscillation_angle_deg, 1))]);
    d.push(Block::Table(t));
    let mut a = Table::with_header(["cup angles (pelvic frame)", "inclination", "anteversion"]);
    for def in ["radiographic", "operative", "anatomic"] {
        let (inc, av) = p.cup_angles.get(def).map_or(("–".into(), "–".into()), |c| (f(c.inclination_deg, 1), f(c.anteversion_deg, 1)));
        a.row([format!("{def} (Murray 1993)"), format!("{inc}°"), format!("{av}°")]);
    }
    for (k, c, tilt) in
        [("functional, standing", &r.rom.cup_functional_standing_deg, r.rom.pelvic_tilt_deg.standing), ("functional, sitting", &r.rom.cup_functional_sitting_deg, r.rom.pelvic_tilt_deg.sitting)]
    {
        let [inc, av] = c.radiographic;
        a.row([format!("radiographic, {k} (tilt {}°)", f(tilt, 0)), format!("{}°", f(inc, 1)), format!("{}°", f(av, 1))]);
    }
    d.push(Block::Table(a));
    // A stem version about a predicted condylar line carries the prediction's SD (issue 14).
    let stem_sd = r.plan.as_ref().and_then(|pl| pl.stem.anteversion_sd_deg).filter(|x| x.is_finite());
    let predicted = stem_sd.map_or(String::new(), |s| format!(" (PREDICTED femoral frame, SD {s:.1}°)"));
    // Combined anteversion is on page 1, in both definitions.
    d.push(Block::KeyValue(vec![
        ("cup centre (LPS mm)".to_string(), Text::plain(pt3(&p.cup_centre_lps_mm))),
        ("stem anteversion".to_string(), Text::plain(format!("{}°{predicted}", f(p.stem_anteversion_deg, 1)))),
    ]));
}

/// Where the socket's sizing diameter comes from, in words.
fn socket_why(s: &SocketRecord) -> String {
    let js = s.joint_space_mm.filter(|j| j.is_finite()).map_or(String::new(), |j| format!(", joint space {j:.1} mm"));
    match s.source.as_str() {
        "head_plus_assumed_joint_space" => {
            let why = if s.joint_space_resolved { "thinner than the allowance" } else { "not resolved" };
            format!("joint space {why}{js}: head {} mm + cartilage allowance; measured {} mm", numo(s.head_diameter_mm, 1), numf(s.measured_diameter_mm, 1))
        }
        _ => format!("measured on the lunate surface{js}"),
    }
}

/// The "why" of the stem row: the canal fill at the series' rule level and where the canal
/// comes from.
fn stem_why(stem: &PlanStemRecord) -> String {
    let source = match stem.sizing.canal_source.as_str() {
        "ct_cortical_bone" => "canal measured on the CT's cortical bone",
        _ => "canal estimated from the outer width (no cortical bone)",
    };
    match stem.size_options.iter().find(|o| o.chosen).and_then(|o| o.fill) {
        Some(f) => format!("fills {:.0} % of the ML canal at the series' rule level ({source}); {}", 100.0 * f, stem.sizing.rule.as_ref().map_or("", |r| r.text.as_str())),
        None => source.to_string(),
    }
}

fn native_version(pl: &PlanRecord) -> (String, String) {
    let s = &pl.stem;
    let value = match (s.native_femoral_anteversion_deg.filter(|x| x.is_finite()), s.native_femoral_anteversion_sd_deg.filter(|x| x.is_finite())) {
        (Some(v), Some(sd)) => format!("{v:.1}° (predicted, SD {sd:.1}°)"),
        (Some(v), None) => format!("{v:.1}°"),
        (None, _) => "not measured".to_string(),
    };
    let why = match s.native_femoral_anteversion_source.as_str() {
        "predicted" => "condyles not imaged: predicted by the shape model from the imaged proximal femur; the stem version is measured about the predicted condylar line",
        "measured" => "measured on the imaged femur (posterior condylar line)",
        _ => "condyles not imaged and no shape model: the stem version is about the CT's x axis",
    };
    (value, why.to_string())
}

/// The plan's table: each item, what is planned and why.
fn reasoning_table(pl: &PlanRecord) -> Table {
    let c = &pl.cup;
    let mut t = Table::with_header(["item", "planned", "why"]);
    t.row([
        "acetabular shell".to_string(),
        format!("{} mm (last reamer {} mm)", numf(c.outer_diameter_mm, 0), numf(c.last_reamer_mm, 0)),
        format!("bony socket {} mm ({}); {}", numf(c.socket.sizing_diameter_mm, 1), socket_why(&c.socket), c.size_rule),
    ]);
    t.row([
        "cup centre".to_string(),
        pt3(&c.centre_lps_mm),
        format!("native centre {}; medialised {} mm; medial wall {} mm", pt3(&c.native_centre_lps_mm), numf(c.medialisation_mm, 1), numf(c.medial_wall_mm, 1)),
    ]);
    t.row(["host-bone coverage".to_string(), percent(Some(c.coverage)), "of the shell's back hemisphere, on the pelvis surface".to_string()]);
    t.row(["stem".to_string(), format!("{} size {}", pl.stem.catalog, pl.stem.size), stem_why(&pl.stem)]);
    t.row(["head".to_string(), format!("{} mm, offset {} mm", numf(pl.head.diameter_mm, 0), numf(pl.head.neck_length_offset_mm, 1)), "largest range for the liner and shell".to_string()]);
    t.row(["leg length change".to_string(), format!("{} mm", numf(pl.leg_length_change_mm, 1)), format!("target {} mm ({})", numf(pl.targets.leg_length_change_mm, 1), pl.targets.from)]);
    t.row(["offset change".to_string(), format!("{} mm", numf(pl.offset_change_mm, 1)), format!("target {} mm", numf(pl.targets.offset_change_mm, 1))]);
    // Combined anteversion (both definitions) is on page 1.
    let (value, why) = native_version(pl);
    t.row(["native femoral anteversion".to_string(), value, why]);
    t
}

/// The cup sizes around the planned one.
fn cup_sizes(pl: &PlanRecord) -> Option<Table> {
    let opts = &pl.cup.size_options;
    if opts.is_empty() {
        return None;
    }
    let mut t = Table::with_header(["shell", "last reamer", "coverage (40/15)", "medial wall left", "rim fit (AP)", ""]);
    for o in opts {
        let mark = if o.chosen { " (planned)" } else { "" };
        t.row([
            format!("{} mm{mark}", numf(o.outer_diameter_mm, 0)),
            format!("{} mm", numf(o.last_reamer_mm, 0)),
            percent(Some(o.coverage_40_15)),
            format!("{} mm", numf(o.medial_wall_mm, 1)),
            o.rim_fit_mm.filter(|x| x.is_finite()).map_or("–".into(), |x| format!("{x:+.1} mm")),
            o.note.clone(),
        ]);
    }
    Some(t)
}

/// The stem sizes around the planned one.
fn stem_sizes(stem: &PlanStemRecord) -> Option<Table> {
    let opts = &stem.size_options;
    if opts.is_empty() {
        return None;
    }
    let mm = |v: Option<f64>| numo(v, 1) + if v.is_some_and(f64::is_finite) { " mm" } else { "" };
    let mut t = Table::with_header(["size", "body ML width", "canal fill", "tip (from the lesser trochanter)", "tip width / canal there", "largest distal fill", ""]);
    for o in opts {
        let mark = if o.chosen { " (planned)" } else { "" };
        t.row([
            format!("{}{mark}", o.size),
            mm(Some(o.ml_width_mm)),
            percent(o.fill),
            mm(Some(o.tip_above_lt_mm)),
            format!("{} / {}", mm(Some(o.tip_ml_width_mm)), mm(o.tip_canal_mm)),
            percent(o.max_distal_fill),
            o.note.clone(),
        ]);
    }
    Some(t)
}

/// Appends "The plan": the reasoning, the sizes around the planned ones, the objective.
pub fn push_reasoning(d: &mut Document, pl: &PlanRecord) {
    d.push(Block::Heading { level: 2, text: "The plan".into() });
    d.push(Block::Table(reasoning_table(pl)));
    if let Some(t) = cup_sizes(pl) {
        d.push(Block::Heading { level: 3, text: "Cup size: the planned size and its neighbours".into() });
        d.push(Block::Table(t));
        d.push(Block::Note("Rim fit: the shell's diameter minus the rim's anterior-posterior opening; positive, the shell is wedged between the anterior and posterior columns.".into()));
    }
    if let Some(t) = stem_sizes(&pl.stem) {
        d.push(Block::Heading { level: 3, text: "Stem size: the planned size and its neighbours".into() });
        d.push(Block::Table(t));
        d.push(Block::Note(Text::plain(format!("Canal fill: the stem body's mediolateral width over the endosteal canal's at the series' rule level; {}.", stem_why(&pl.stem)))));
    }
    let o = &pl.objective;
    d.push(Block::Note(Text::plain(format!(
        "Objective: smallest daily-life margin {}° (worst: {}), mean margin {}°, leg length error {} mm, offset error {} mm, outside the safe zone by {}°; {} candidates evaluated, {} on the Pareto front.",
        numf(o.rom_min_margin_deg, 1),
        o.rom_worst_motion,
        numf(o.rom_mean_margin_deg, 1),
        numf(o.leg_length_error_mm, 1),
        numf(o.offset_error_mm, 1),
        numf(o.safe_zone_excess_deg, 1),
        pl.search.evaluated,
        pl.pareto.len()
    ))));
    if !pl.notes.is_empty() {
        d.push(Block::Note("The plan's notes are the caveats with the decision at the top of this report.".into()));
    }
}
