//! The stage's sections of a case's report.html.

use coxa_core::report::MskStrengthRecord;

/// The report's line on the model's bone geometry: landmark scaling, or the registration onto
/// the patient's bones with each bone's residuals.
pub fn geometry_html(g: Option<&coxa_core::report::MskGeometryRecord>, h: &mut String) {
    use crate::svg::esc;
    use std::fmt::Write;
    match g {
        Some(g) if g.source == "bones" => {
            h.push_str(
                "<p class=\"sub\">Bone geometry: the model's pelvis and femurs registered onto the patient's bone surfaces (muscle attachments, wrap objects and hip centres carried with them).</p>",
            );
            h.push_str("<table><tr><th>model bone</th><th>scale</th><th>surface distance (RMS / largest)</th><th>patient to template (RMS)</th></tr>");
            for b in &g.bones {
                let _ = write!(h, "<tr><td>{}</td><td>{:.3}</td><td>{:.2} / {:.2} mm</td><td>{:.2} mm</td></tr>", esc(&b.body), b.scale, b.rms_mm, b.max_mm, b.patient_to_template_rms_mm);
            }
            h.push_str("</table>");
        }
        _ => h.push_str("<p class=\"sub\">Bone geometry: the generic model scaled by landmarks (the femoral head distance).</p>"),
    }
}

/// The report's section on the patient's muscle strength (generic against personalised).
pub fn strength_html(s: &MskStrengthRecord, h: &mut String) {
    use crate::svg::esc;
    use std::fmt::Write;
    h.push_str("<h3>Muscle strength from the CT</h3>");
    let _ = write!(h, "<p class=\"sub\">{}</p>", esc(&s.method));
    h.push_str("<table><tr><th>native hip</th><th>generic strength</th><th>patient's strength</th></tr>");
    let _ = write!(h, "<tr><td>maximum abduction moment</td><td>{:.1} N m</td><td>{:.1} N m</td></tr>", s.max_abduction_moment_nm[0], s.max_abduction_moment_nm[1]);
    for e in &s.effect {
        let a = esc(&e.activity);
        let _ = write!(h, "<tr><td>hip contact force, {a}</td><td>{:.0} % BW</td><td>{:.0} % BW</td></tr>", e.hcf_percent_bw[0], e.hcf_percent_bw[1]);
        let _ = write!(
            h,
            "<tr><td>abductor force, {a}</td><td>{:.0} N ({:.1} % of maximum)</td><td>{:.0} N ({:.1} % of maximum)</td></tr>",
            e.abductor_force_n[0], e.abductor_demand_percent[0], e.abductor_force_n[1], e.abductor_demand_percent[1]
        );
    }
    h.push_str("</table><table><tr><th>model muscle</th><th>CT class</th><th>generic</th><th>patient</th><th>from</th></tr>");
    for l in &s.lines {
        let _ =
            write!(h, "<tr><td>{}</td><td>{}</td><td>{:.0} N</td><td>{:.0} N</td><td>{}</td></tr>", esc(&l.muscle), esc(&l.ct_class), l.generic_n, l.personalised_n, esc(&l.source.replace('_', " ")));
    }
    h.push_str("</table>");
    let _ = write!(h, "<p class=\"sub\">Generic strength kept (no CT class): {}.</p>", esc(&s.no_ct_counterpart.join(", ")));
}
