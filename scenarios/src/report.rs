//! The case report a surgeon reads: one self-contained HTML file (inline CSS, inline SVG plots,
//! PNG pictures embedded as data URIs; no script, no network) built from `report.json`.
//! Patient name and ID are never in it (they are not in `report.json` either).

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};
use coxa_core::{CaseReport, CupAngleDefinition, Side};
use serde_json::Value;

use crate::svg::{self, Bar, Series, esc};

/// Standard base64 (RFC 4648) of `bytes`.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                s.push(A[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn num(v: &Value, digits: usize) -> String {
    v.as_f64().map_or_else(|| "–".to_string(), |x| format!("{x:.digits$}"))
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| if v.is_null() { "–".into() } else { v.to_string() }, str::to_string)
}

/// A number as `num` writes it from JSON: `–` when not finite (JSON's `null`).
fn numf(v: f64, digits: usize) -> String {
    numo(Some(v), digits)
}

fn numo(v: Option<f64>, digits: usize) -> String {
    v.filter(|x| x.is_finite()).map_or_else(|| "–".to_string(), |x| format!("{x:.digits$}"))
}

/// A point as `pt` writes it from JSON.
fn pt3(v: &[f64; 3]) -> String {
    format!("({})", v.iter().map(|x| numf(*x, 1)).collect::<Vec<_>>().join(", "))
}

fn f(v: f64, digits: usize) -> String {
    format!("{v:.digits$}")
}

fn pts(v: &[f64; 3]) -> String {
    format!("({})", v.iter().map(|x| f(*x, 1)).collect::<Vec<_>>().join(", "))
}

fn pt(v: &Value) -> String {
    v.as_array().map_or_else(|| "–".into(), |a| format!("({})", a.iter().map(|x| num(x, 1)).collect::<Vec<_>>().join(", ")))
}

/// Colour of a ROM bar: red below what the activity needs, amber within 10 deg, green above.
fn margin_colour(margin: Option<f64>) -> &'static str {
    match margin {
        Some(m) if m < 0.0 => "#d9534f",
        Some(m) if m < 10.0 => "#f0ad4e",
        Some(_) => "#5cb85c",
        None => "#7a8ca3",
    }
}

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#222}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;border-bottom:2px solid #ccd;padding-bottom:3px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccd;padding:3px 8px;text-align:left;font-size:13px}
th{background:#eef}.warn{background:#fff4d6;border:1px solid #e0b84a;padding:8px 12px}.sub{color:#555}
.pics{display:grid;grid-template-columns:repeat(2,1fr);gap:12px}.pics figure{margin:0}.pics img{width:100%;border:1px solid #ccd}
figcaption{font-size:12px;color:#555}.ok{color:#2a7}.bad{color:#c33}";

/// The report HTML of a case; pictures are read from `dir`.
///
/// # Errors
/// A picture listed in the report that cannot be read.
pub fn html(r: &CaseReport, dir: &Path) -> Result<String> {
    let mut h = String::new();
    let title = format!("{} — case {}", r.scenario, r.case);
    let _ = write!(h, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>coxa: {}</title><style>{CSS}</style></head><body>", esc(&title));
    let _ = write!(h, "<h1>Total hip arthroplasty plan: {}</h1>", esc(&title));
    let _ = write!(h, "<p class=\"sub\">{} hip · input: {} · coxa {} · patient name and ID are not shown</p>", esc(r.side.as_str()), esc(&text(&r.input["kind"])), esc(&r.coxa_version));
    if !r.warnings.is_empty() {
        let _ = write!(h, "<div class=\"warn\"><b>Warnings</b><ul>");
        for x in &r.warnings {
            let _ = write!(h, "<li>{}</li>", esc(x));
        }
        h.push_str("</ul></div>");
    }

    // The plan.
    let p = &r.placement;
    h.push_str("<h2>Implants and placement</h2>");
    let _ = write!(h, "<p class=\"sub\">Placement: {}.</p>", esc(&p.source));
    let im = &p.implants;
    h.push_str("<table><tr><th>part</th><th>choice</th></tr>");
    for (k, v) in [
        ("acetabular shell, outer diameter", format!("{} mm", f(im.shell_outer_diameter_mm, 0))),
        ("liner", im.liner.clone()),
        ("femoral head", format!("{} mm, neck-length offset {} mm", f(im.head_diameter_mm, 0), f(im.head_offset_mm, 1))),
        ("stem neck", format!("{} mm diameter, CCD {}°", f(im.neck_diameter_mm, 2), f(im.stem_ccd_deg, 1))),
        ("oscillation angle of the pair", format!("{}°", f(r.rom.oscillation_angle_deg, 1))),
    ] {
        let _ = write!(h, "<tr><td>{k}</td><td>{}</td></tr>", esc(&v));
    }
    h.push_str("</table>");
    h.push_str("<table><tr><th>cup angles (pelvic frame)</th><th>inclination</th><th>anteversion</th></tr>");
    for d in ["radiographic", "operative", "anatomic"] {
        let (inc, av) = p.cup_angles.get(d).map_or(("–".into(), "–".into()), |c| (f(c.inclination_deg, 1), f(c.anteversion_deg, 1)));
        let _ = write!(h, "<tr><td>{d} (Murray 1993)</td><td>{inc}°</td><td>{av}°</td></tr>");
    }
    for (k, c, tilt) in
        [("functional, standing", &r.rom.cup_functional_standing_deg, r.rom.pelvic_tilt_deg.standing), ("functional, sitting", &r.rom.cup_functional_sitting_deg, r.rom.pelvic_tilt_deg.sitting)]
    {
        let [inc, av] = c.radiographic;
        let _ = write!(h, "<tr><td>radiographic, {k} (tilt {}°)</td><td>{}°</td><td>{}°</td></tr>", f(tilt, 0), f(inc, 1), f(av, 1));
    }
    h.push_str("</table>");
    // A stem version about a predicted condylar line carries the prediction's SD (issue 14).
    let stem_sd = r.plan.as_ref().and_then(|pl| pl.stem.anteversion_sd_deg).filter(|x| x.is_finite());
    let predicted = |sd: Option<f64>| sd.map_or(String::new(), |s| format!(" (PREDICTED femoral frame, SD {s:.1}°)"));
    let _ = write!(
        h,
        "<table><tr><td>cup centre (LPS mm)</td><td>{}</td></tr><tr><td>stem anteversion</td><td>{}°{}</td></tr><tr><td>combined anteversion (operative cup + stem)</td><td>{}°{}</td></tr></table>",
        esc(&pts(&p.cup_centre_lps_mm)),
        f(p.stem_anteversion_deg, 1),
        predicted(stem_sd),
        f(p.combined_anteversion_deg, 1),
        predicted(stem_sd)
    );

    // The plan's reasoning.
    if let Some(pl) = &r.plan {
        h.push_str("<h2>The plan</h2><table><tr><th>item</th><th>planned</th><th>why</th></tr>");
        let c = &pl.cup;
        let rows = [
            (
                "acetabular shell",
                format!("{} mm (last reamer {} mm)", numf(c.outer_diameter_mm, 0), numf(c.last_reamer_mm, 0)),
                format!("bony socket {} mm ({}); {}", numf(c.socket.sizing_diameter_mm, 1), socket_why(&c.socket), c.size_rule),
            ),
            (
                "cup centre",
                pt3(&c.centre_lps_mm),
                format!("native centre {}; medialised {} mm; medial wall {} mm", pt3(&c.native_centre_lps_mm), numf(c.medialisation_mm, 1), numf(c.medial_wall_mm, 1)),
            ),
            ("host-bone coverage", format!("{} %", numo(Some(100.0 * c.coverage).filter(|_| c.coverage.is_finite()), 0)), "of the shell's back hemisphere, on the pelvis surface".to_string()),
            ("stem", format!("{} size {}", pl.stem.catalog, pl.stem.size), crate::stem_report::stem_why(&pl.stem)),
            ("head", format!("{} mm, offset {} mm", numf(pl.head.diameter_mm, 0), numf(pl.head.neck_length_offset_mm, 1)), "largest range for the liner and shell".to_string()),
            ("leg length change", format!("{} mm", numf(pl.leg_length_change_mm, 1)), format!("target {} mm ({})", numf(pl.targets.leg_length_change_mm, 1), pl.targets.from)),
            ("offset change", format!("{} mm", numf(pl.offset_change_mm, 1)), format!("target {} mm", numf(pl.targets.offset_change_mm, 1))),
            (
                "Widmer's combined anteversion",
                match pl.combined_anteversion_sd_deg.filter(|x| x.is_finite()) {
                    Some(sd) => format!("{}° (predicted, SD {sd:.1}°)", numf(pl.combined_anteversion_deg, 1)),
                    None => format!("{}°", numf(pl.combined_anteversion_deg, 1)),
                },
                "cup (radiographic) + 0.7 x stem; the planner's tie-break target is 37° at 40° inclination".to_string(),
            ),
            (
                "native femoral anteversion",
                match (pl.stem.native_femoral_anteversion_deg.filter(|x| x.is_finite()), pl.stem.native_femoral_anteversion_sd_deg.filter(|x| x.is_finite())) {
                    (Some(v), Some(sd)) => format!("{v:.1}° (predicted, SD {sd:.1}°)"),
                    (Some(v), None) => format!("{v:.1}°"),
                    (None, _) => "not measured".to_string(),
                },
                match pl.stem.native_femoral_anteversion_source.as_str() {
                    "predicted" => "condyles not imaged: predicted by the shape model from the imaged proximal femur; the stem version is measured about the predicted condylar line".to_string(),
                    "measured" => "measured on the imaged femur (posterior condylar line)".to_string(),
                    _ => "condyles not imaged and no shape model: the stem version is about the CT's x axis".to_string(),
                },
            ),
        ];
        for (k, v, w) in rows {
            let _ = write!(h, "<tr><td>{k}</td><td>{}</td><td>{}</td></tr>", esc(&v), esc(&w));
        }
        h.push_str("</table>");
        if !c.size_options.is_empty() {
            h.push_str("<h3>Cup size: the planned size and its neighbours</h3><table><tr><th>shell</th><th>last reamer</th><th>coverage (40/15)</th><th>medial wall left</th><th>rim fit (AP)</th><th></th></tr>");
            for o in &c.size_options {
                let mark = if o.chosen { " (planned)" } else { "" };
                let _ = write!(
                    h,
                    "<tr><td>{} mm{mark}</td><td>{} mm</td><td>{} %</td><td>{} mm</td><td>{}</td><td>{}</td></tr>",
                    numf(o.outer_diameter_mm, 0),
                    numf(o.last_reamer_mm, 0),
                    numo(Some(100.0 * o.coverage_40_15).filter(|_| o.coverage_40_15.is_finite()), 0),
                    numf(o.medial_wall_mm, 1),
                    o.rim_fit_mm.filter(|x| x.is_finite()).map_or("–".into(), |x| format!("{x:+.1} mm")),
                    esc(&o.note)
                );
            }
            h.push_str(
                "</table><p class=\"sub\">Rim fit: the shell's diameter minus the rim's anterior-posterior opening; positive, the shell is wedged between the anterior and posterior columns.</p>",
            );
        }
        h.push_str(&crate::stem_report::size_table_html(&pl.stem));
        let o = &pl.objective;
        let _ = write!(
            h,
            "<p class=\"sub\">Objective: smallest daily-life margin {}° (worst: {}), mean margin {}°, leg length error {} mm, offset error {} mm, outside the safe zone by {}°; {} candidates evaluated, {} on the Pareto front.</p>",
            numf(o.rom_min_margin_deg, 1),
            esc(&o.rom_worst_motion),
            numf(o.rom_mean_margin_deg, 1),
            numf(o.leg_length_error_mm, 1),
            numf(o.offset_error_mm, 1),
            numf(o.safe_zone_excess_deg, 1),
            pl.search.evaluated,
            pl.pareto.len()
        );
        if !pl.notes.is_empty() {
            h.push_str("<ul>");
            for n in &pl.notes {
                let _ = write!(h, "<li>{}</li>", esc(n));
            }
            h.push_str("</ul>");
        }
    }

    // Muscles and hip load.
    if let Some(mk) = &r.msk {
        h.push_str("<h2>Abductors and hip load</h2>");
        let _ = write!(
            h,
            "<p class=\"sub\">{} ({}; body weight {} N). {}</p>",
            esc(mk.model.as_deref().unwrap_or("–")),
            mk.pelvis_scale.map_or("not scaled".into(), |s| format!("pelvis scaled by {s:.2}")),
            f(mk.body_weight_n, 0),
            esc(&mk.method)
        );
        crate::msk_stage::geometry_html(mk.geometry.as_ref(), &mut h);
        h.push_str("<table><tr><th></th><th>native</th><th>planned</th></tr>");
        let a = &mk.abductors;
        let _ = write!(h, "<tr><td>abductor moment arm (force-weighted mean)</td><td>{} mm</td><td>{} mm</td></tr>", f(a.native.mean_moment_arm_mm, 1), f(a.planned.mean_moment_arm_mm, 1));
        let _ = write!(h, "<tr><td>maximum abduction moment</td><td>{} N m</td><td>{} N m</td></tr>", f(a.native.max_moment_nm, 1), f(a.planned.max_moment_nm, 1));
        for x in &mk.activities {
            let _ = write!(h, "<tr><td>hip contact force, {}</td><td>{} % BW</td><td>{} % BW</td></tr>", esc(&x.activity), f(x.native.magnitude_percent_bw, 0), f(x.planned.magnitude_percent_bw, 0));
            let _ = write!(
                h,
                "<tr><td>net hip abductor moment balanced, {}</td><td>{} N m/kg</td><td>{} N m/kg</td></tr>",
                esc(&x.activity),
                f(x.native.net_hip_moment_n_m_per_kg[0], 2),
                f(x.planned.net_hip_moment_n_m_per_kg[0], 2)
            );
        }
        h.push_str(
            "</table><p class=\"sub\">Against in-vivo forces of three OrthoLoad patients the same static model overestimates the magnitude (gait2392: one-leg stance +3 to +50 % BW, walking +74 to +109 % BW; direction 6-18 deg): read the change between native and planned, not the absolute value. The walking force follows the net hip abductor moment it balances (about 20 % BW per 0.1 N m/kg); the quasi-static posture's estimate is about 0.8-0.9 N m/kg, above what gait analyses measure at the first peak (about 0.35-0.8): give the patient's measured moments with <code>walking_hip_moment</code> in <code>[msk]</code>.</p>",
        );
        if let Some(s) = &mk.strength {
            crate::msk_stage::strength_html(s, &mut h);
        }
    }

    // Pictures.
    if !r.pictures.is_empty() {
        h.push_str("<h2>The plan in 3D</h2><p class=\"sub\">Bones translucent, implants opaque: shell grey, liner blue, head red, neck dark grey.</p><div class=\"pics\">");
        for pic in &r.pictures {
            let file = dir.join(&pic.file);
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let _ = write!(h, "<figure><img class=\"picture\" alt=\"{0}\" src=\"data:image/png;base64,{1}\"><figcaption>{0}</figcaption></figure>", esc(&pic.view.replace('_', " ")), base64(&bytes));
        }
        h.push_str("</div>");
    }

    // Range of motion.
    h.push_str("<h2>Range of motion and first contact</h2>");
    let motions = &r.rom.motions;
    let bars: Vec<Bar> = motions
        .iter()
        .map(|m| Bar { label: m.name.replace('_', " "), value: m.limit_deg, target: m.required_deg, colour: margin_colour(m.margin_deg()).into(), note: format!("{:.1}° {}", m.limit_deg, m.contact) })
        .collect();
    h.push_str(&svg::bars("Limit of each motion (tick: what the activity needs)", &bars, 180.0, "°"));
    h.push_str("<table><tr><th>motion</th><th>posture (tilt)</th><th>limit</th><th>needed</th><th>margin</th><th>first contact</th><th>parts</th><th>where (LPS mm)</th></tr>");
    for m in motions {
        let margin = m.margin_deg();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{} ({}°)</td><td>{}°</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.name),
            esc(&m.posture),
            f(m.pelvic_tilt_deg, 0),
            f(m.limit_deg, 1),
            m.required_deg.map_or("–".into(), |q| format!("{q:.0}°")),
            if margin.is_some_and(|x| x < 0.0) { "bad" } else { "ok" },
            margin.map_or("–".into(), |x| format!("{x:+.1}°")),
            esc(&m.contact),
            esc(m.parts.as_deref().unwrap_or("–")),
            esc(&m.contact_point_lps_mm.as_ref().map_or_else(|| "–".to_string(), pts))
        );
    }
    h.push_str("</table>");

    // Safe zone.
    if let Some(sz) = &r.safe_zone {
        let (incs, avs, grid) = (&sz.inclinations_deg, &sz.anteversions_deg, &sz.min_adl_margin_deg);
        let plan_inc = p.cup_angles.get("radiographic").map(|c| c.inclination_deg);
        let plan_av = p.cup_angles.get("radiographic").map(|c| c.anteversion_deg);
        h.push_str("<h2>Cup angles: safe-zone map</h2><p class=\"sub\">Each cell: the smallest margin (limit minus need, deg) over the daily-life motions for that radiographic cup inclination and anteversion, everything else as planned. Dashed: Lewinnek's zone (40±10°, 15±10°).</p>");
        h.push_str(&svg::heatmap(
            "Smallest daily-life margin (deg)",
            "cup anteversion, radiographic (deg)",
            "cup inclination (deg)",
            avs,
            incs,
            grid,
            -10.0,
            20.0,
            Some([5.0, 25.0, 30.0, 50.0]),
            plan_av.zip(plan_inc),
        ));
        // ROM vs anteversion at the inclination nearest the plan's.
        if let Some(pi) = plan_inc
            && let Some(ii) = (0..incs.len()).min_by(|&a, &b| (incs[a] - pi).abs().total_cmp(&(incs[b] - pi).abs()))
        {
            let names = ["flexion", "internal_rotation_90_flexion", "extension", "external_rotation_0_flexion"];
            let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
            let series: Vec<Series> = names
                .iter()
                .zip(colours)
                .map(|(n, c)| Series {
                    name: n.replace('_', " "),
                    colour: c.into(),
                    points: avs.iter().enumerate().map(|(ia, a)| (*a, sz.limits_deg.get(ii).and_then(|row| row.get(ia)).and_then(|cell| cell.get(*n)).copied())).collect(),
                })
                .filter(|s| s.points.iter().any(|p| p.1.is_some()))
                .collect();
            if !series.is_empty() {
                h.push_str(&svg::lines(&format!("Range of motion vs cup anteversion at {:.0}° inclination", incs[ii]), "cup anteversion, radiographic (deg)", "limit (deg)", &series, plan_av));
            }
        }
    }

    // Sweep.
    if r.sweep.len() > 1 {
        let sw = &r.sweep;
        let _ = write!(
            h,
            "<h2>Sweep ({} points)</h2><table><tr><th>point</th><th>head</th><th>liner</th><th>inclination</th><th>anteversion</th><th>stem</th><th>standing tilt</th><th>smallest daily-life margin</th></tr>",
            sw.len()
        );
        for s in sw {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{} mm</td><td>{}</td><td>{}°</td><td>{}°</td><td>{}°</td><td>{}°</td><td>{}</td></tr>",
                esc(&s.label),
                f(s.head_diameter_mm, 0),
                esc(&s.liner),
                f(s.cup_inclination_deg, 1),
                f(s.cup_anteversion_deg, 1),
                f(s.stem_anteversion_deg, 1),
                f(s.standing_tilt_deg, 0),
                s.min_adl_margin_deg.map_or("–".into(), |m| format!("{m:+.1}°"))
            );
        }
        h.push_str("</table>");
    }

    // Anatomy.
    let a = &r.anatomy;
    h.push_str("<h2>Anatomy</h2><table><tr><th>femoral head</th><th>centre (LPS mm)</th><th>radius</th><th>quality</th></tr>");
    for fh in &a.femoral_heads {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{} mm</td><td>{}</td></tr>",
            esc(fh.side.as_str()),
            esc(&pt3(&fh.centre_lps_mm)),
            numf(fh.radius_mm, 1),
            esc(&crate::stem_report::serde_name(&fh.quality))
        );
    }
    h.push_str("</table>");
    if let Some(p) = &a.pelvis {
        h.push_str("<table><tr><th>native acetabulum</th><th>definition</th><th>inclination</th><th>anteversion</th></tr>");
        for x in &p.native_acetabular_angles {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}°</td><td>{}°</td></tr>",
                esc(x.side.as_str()),
                esc(&crate::stem_report::serde_name(&x.definition)),
                numf(x.inclination_deg, 1),
                numf(x.anteversion_deg, 1)
            );
        }
        h.push_str("</table>");
    }
    let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
    for f in &a.femurs {
        let _ = write!(
            h,
            "<p>Femur {}: neck-shaft angle {}, anteversion {}.</p>",
            esc(f.side.as_str()),
            finite(f.neck_shaft_angle_deg).map_or("not measured".into(), |v| format!("{v:.1}°")),
            match (finite(f.anteversion_deg), f.anteversion_source.as_str()) {
                (Some(v), "predicted") => format!("{v:.1}° PREDICTED by the shape model (SD {}; condyles not imaged)", finite(f.anteversion_sd_deg).map_or("?".into(), |s| format!("{s:.1}°"))),
                (Some(v), _) => format!("{v:.1}°"),
                (None, _) => "not measured (condyles not imaged)".into(),
            }
        );
    }
    bone_quality_html(&mut h, a);
    // The phantom's truth is the phantom's own record (input/phantom_truth.json).
    let t = r.phantom_truth.as_ref().unwrap_or(&Value::Null);
    if t.is_object() {
        h.push_str("<h3>Phantom: measured against the known geometry</h3><table id=\"phantom\"><tr><th>quantity</th><th>known</th><th>measured</th></tr>");
        if let Some(d) = t["description"].as_str() {
            let _ = write!(h, "<p class=\"sub\">{}</p>", esc(d));
        }
        for side in [Side::Left, Side::Right] {
            let m = a.femoral_head(side);
            let s = side.as_str();
            // The built-in phantom gives one value for both sides, the realistic one a value per side.
            let per_side = |v: &Value| if v[s].is_null() { v.clone() } else { v[s].clone() };
            let _ =
                write!(h, "<tr><td>{s} head centre (mm)</td><td>{}</td><td>{}</td></tr>", esc(&pt(&t["head_centres_lps_mm"][s])), esc(&m.map_or_else(|| "–".to_string(), |m| pt3(&m.centre_lps_mm))));
            let _ = write!(h, "<tr><td>{s} head radius (mm)</td><td>{}</td><td>{}</td></tr>", num(&per_side(&t["head_radius_mm"]), 2), numo(m.map(|m| m.radius_mm), 2));
            let n = a.pelvis.as_ref().and_then(|p| p.native_acetabular_angles.iter().find(|x| x.side == side && x.definition == CupAngleDefinition::Radiographic));
            let known = per_side(&t["acetabulum_radiographic_deg"]);
            let _ = write!(
                h,
                "<tr><td>{s} acetabulum, radiographic (deg)</td><td>{} / {}</td><td>{} / {}</td></tr>",
                num(&known["inclination"], 1),
                num(&known["anteversion"], 1),
                numo(n.map(|n| n.inclination_deg), 1),
                numo(n.map(|n| n.anteversion_deg), 1)
            );
        }
        h.push_str("</table>");
    }
    if let Some(ms) = a.muscles.as_ref().filter(|m| !m.is_empty()) {
        h.push_str("<h2>Muscles</h2><table><tr><th>muscle</th><th>volume</th><th>mean HU</th><th>fat fraction</th></tr>");
        for m in ms {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{} cm³</td><td>{}</td><td>{}%</td></tr>",
                esc(&m.name),
                numf(m.volume_cm3, 1),
                numf(m.mean_hu, 0),
                finite(Some(m.fat_fraction)).map_or("–".into(), |f| format!("{:.1}", 100.0 * f))
            );
        }
        h.push_str("</table>");
        if let Some(asym) = &a.muscle_asymmetry {
            h.push_str("<table><tr><th>left/right</th><th>values</th></tr>");
            for x in asym {
                let _ = write!(h, "<tr><td>{}</td><td>{}</td></tr>", esc(&x.muscle), esc(&serde_json::to_string(x)?));
            }
            h.push_str("</table>");
        }
    }
    if let Some(rad) = &r.radiomics {
        radiomics_html(&mut h, rad);
    }
    if let Some(seg) = &r.segmentation {
        segmentation_html(&mut h, seg);
    }
    h.push_str("<h2>Conventions</h2><p class=\"sub\">Coordinates: DICOM patient frame LPS (+x left, +y posterior, +z superior), mm. Pelvic frame: anterior pelvic plane (ASIS and pubic tubercles). Cup angles: Murray (1993) definitions, named where given. Joint angles: flexion about the pelvic mediolateral axis, abduction about the floating axis, rotation about the femoral mechanical axis; the pelvis tilted per posture. Daily-life needs are illustrative round numbers from the literature, not norms.</p>");
    h.push_str("</body></html>\n");
    Ok(h)
}

/// The bone-quality section: each femur's CT bone density (calibrated on the patient's own fat
/// and muscle) beside its cited normal range, and the fixation suggestion with its reasons.
/// Nothing when the case had no CT.
fn bone_quality_html(h: &mut String, a: &coxa_core::AnatomyRecord) {
    let density = a.bone_density.as_deref().unwrap_or_default();
    if density.is_empty() && a.fixation.is_empty() {
        return;
    }
    h.push_str("<h2>Bone quality</h2>");
    if !density.is_empty() {
        h.push_str("<table id=\"bone-density\"><tr><th>femur</th><th>vBMD neck / trochanter / total hip</th><th>aBMD neck / total hip</th><th>T-score neck / total hip</th><th>YAM neck</th><th>category</th><th>flags</th></tr>");
        let three = |r: &coxa_core::anatomy_record::RegionsRecord, d: usize| format!("{} / {} / {}", numo(r.neck, d), numo(r.trochanter, d), numo(r.total_hip, d));
        for b in density {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{} mg/cm³</td><td>{} / {} g/cm²</td><td>{} / {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(b.side.as_str()),
                three(&b.vbmd_mg_cm3, 1),
                numo(b.abmd_g_cm2.neck, 3),
                numo(b.abmd_g_cm2.total_hip, 3),
                numo(b.t_score.neck, 1),
                numo(b.t_score.total_hip, 1),
                b.yam_percent.neck.filter(|v| v.is_finite()).map_or("–".into(), |v| format!("{v:.0}%")),
                esc(&[b.who_category.as_deref().map(|c| format!("WHO: {c}")), b.category.as_deref().map(|c| format!("Japanese: {c}"))].into_iter().flatten().collect::<Vec<_>>().join("; ")),
                esc(&b.flags.join(", "))
            );
        }
        h.push_str("</table>");
        if let Some(b) = density.first() {
            let refs = b.calibration.references.iter().map(|r| format!("{} {:.0} HU ({} voxels)", r.tissue, r.median_hu, r.voxels)).collect::<Vec<_>>().join(", ");
            let n = &b.normal_ranges.abmd_young_adult_g_cm2;
            let _ = write!(
                h,
                "<p class=\"sub\">No phantom: {} ({}; {:.3} HU per mg/cm³, intercept {:.1} HU). Young-adult aBMD ({}): neck {:.3} ± {:.3}, total hip {:.3} ± {:.3} g/cm². {}. {}.</p>",
                esc(&b.calibration.method),
                esc(&refs),
                b.calibration.slope_hu_per_mg_cm3,
                b.calibration.intercept_hu,
                esc(&n.source),
                n.neck.mean,
                n.neck.sd,
                n.total_hip.mean,
                n.total_hip.sd,
                esc(&b.normal_ranges.t_score),
                esc(&b.normal_ranges.yam_percent)
            );
        }
        for b in density.iter().filter(|b| !b.notes.is_empty()) {
            let _ = write!(h, "<p class=\"sub\">{} femur: {}</p>", esc(b.side.as_str()), esc(&b.notes.join("; ")));
        }
    }
    for f in &a.fixation {
        let _ = write!(
            h,
            "<p>Fixation, {} femur: <b>{}</b>{}{}{}</p>",
            esc(f.side.as_str()),
            esc(f.suggestion.as_deref().unwrap_or("not suggested (nothing measured)")),
            if f.reasons.is_empty() { String::new() } else { format!("; for cemented: {}", esc(&f.reasons.join(", "))) },
            if f.within.is_empty() { String::new() } else { format!("; within the cementless range: {}", esc(&f.within.join(", "))) },
            if f.missing.is_empty() { String::new() } else { format!("; not measured: {}", esc(&f.missing.join(", "))) },
        );
    }
    if let Some(f) = a.fixation.first() {
        let _ = write!(h, "<p class=\"sub\">Rule: {}</p>", esc(&f.rule));
    }
}

/// Where the socket's sizing diameter comes from, in words.
fn socket_why(s: &coxa_core::plan_record::SocketRecord) -> String {
    let js = s.joint_space_mm.filter(|j| j.is_finite()).map_or(String::new(), |j| format!(", joint space {j:.1} mm"));
    match s.source.as_str() {
        "head_plus_assumed_joint_space" => {
            let why = if s.joint_space_resolved { "thinner than the allowance" } else { "not resolved" };
            format!("joint space {why}{js}: head {} mm + cartilage allowance; measured {} mm", numo(s.head_diameter_mm, 1), numf(s.measured_diameter_mm, 1))
        }
        _ => format!("measured on the lunate surface{js}"),
    }
}

/// The learned segmentation's section: per structure its volume and mean uncertainty, flagged
/// when uncertain, with the rule, the model (marked when a test model) and what the case did
/// with its labels.
fn segmentation_html(h: &mut String, seg: &coxa_core::report::SegmentationRecord) {
    let _ = write!(
        h,
        "<h2>Learned segmentation and its uncertainty</h2><p class=\"sub\">{}Model {} {} ({} members); labels in <code>{}</code>, per-voxel uncertainty (predictive entropy, nats) in <code>{}</code>. {}.</p><table><tr><th>structure</th><th>volume</th><th>mean uncertainty</th><th>members' disagreement</th><th></th></tr>",
        if seg.test_model { "<b>TEST MODEL, NOT FOR CLINICAL USE.</b> " } else { "" },
        esc(&seg.model),
        esc(&seg.version),
        seg.members,
        esc(&seg.labels_file),
        esc(&seg.uncertainty_file),
        esc(&seg.use_note)
    );
    let opt = |v: Option<f64>, d: usize| v.map_or("–".to_string(), |x| format!("{x:.d$} nats"));
    for st in &seg.structures {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{:.1} ml</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&st.name),
            st.volume_ml,
            opt(st.mean_uncertainty_nats, 3),
            opt(st.mean_disagreement_nats, 4),
            if st.flagged { "<b>uncertain</b>" } else { "" }
        );
    }
    let _ = write!(h, "</table><p class=\"sub\">A structure is {}.</p>", esc(&seg.flag_rule));
}

/// The radiomics section: each structure's volume and mean, and the model's probabilities with
/// the model named (and marked when its card says it is a test model).
fn radiomics_html(h: &mut String, rad: &coxa_core::report::RadiomicsRecord) {
    let _ = write!(
        h,
        "<h2>Radiomics</h2><p class=\"sub\">{} features per structure (pyradiomics' definitions) in <code>{}</code> in the case folder.</p><table><tr><th>structure</th><th>volume</th><th>mean HU</th>",
        rad.features,
        esc(&rad.file)
    );
    let classes = rad.model.as_ref().map_or(&[][..], |m| &m.classes[..]);
    for c in classes {
        let _ = write!(h, "<th>P({})</th>", esc(c));
    }
    h.push_str("</tr>");
    let opt = |v: Option<f64>, d: usize| v.map_or("–".to_string(), |x| format!("{x:.d$}"));
    for st in &rad.structures {
        let _ = write!(h, "<tr><td>{}</td><td>{} ml</td><td>{}</td>", esc(&st.name), opt(st.volume_ml, 1), opt(st.mean_hu, 0));
        for p in &st.probabilities {
            let _ = write!(h, "<td>{:.3}</td>", p);
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    if let Some(m) = &rad.model {
        let _ = write!(
            h,
            "<p class=\"sub\">{}Model {} {}: {} It reads {}.</p>",
            if m.test_model { "<b>TEST MODEL, NOT FOR CLINICAL USE.</b> " } else { "" },
            esc(&m.name),
            esc(&m.version),
            esc(&m.description),
            esc(&m.features.join(", "))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}
