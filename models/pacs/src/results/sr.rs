//! The structured report (TID 1500) of a plan: its measurements, units and containers.

use super::*;

/// One measurement of the plan for the SR: code, meaning, value, UCUM unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// Code value in coxa's scheme `99COXA`.
    pub code: String,
    /// Code meaning.
    pub meaning: String,
    /// The value.
    pub value: f64,
    /// UCUM unit (`mm`, `deg`).
    pub unit: &'static str,
}

/// The plan's measurements (from plan.json) in the order the SR lists them.
pub fn plan_measurements(plan: &PlanRecord) -> Vec<Measurement> {
    let mut out = Vec::new();
    let mut add = |code: &str, meaning: &str, value: Option<f64>, unit: &'static str| {
        if let Some(value) = value.filter(|x| x.is_finite()) {
            out.push(Measurement { code: code.into(), meaning: meaning.into(), value, unit });
        }
    };
    let cup = &plan.cup;
    add("cup-od", "Acetabular cup outer diameter", Some(cup.outer_diameter_mm), "mm");
    add("cup-reamer", "Last reamer diameter", Some(cup.last_reamer_mm), "mm");
    let angles = &cup.angles_deg;
    for (def, name, a) in [("radiographic", "radiographic", &angles.radiographic), ("operative", "operative", &angles.operative), ("anatomic", "anatomic", &angles.anatomic)] {
        add(&format!("cup-inc-{}", &def[..3]), &format!("Cup inclination, {name} (Murray 1993)"), Some(a.inclination_deg), "deg");
        add(&format!("cup-av-{}", &def[..3]), &format!("Cup anteversion, {name} (Murray 1993)"), Some(a.anteversion_deg), "deg");
    }
    add("cup-coverage", "Cup coverage fraction", Some(cup.coverage).filter(|c| c.is_finite()).map(|c| c * 100.0), "%");
    add("head-d", "Femoral head diameter", Some(plan.head.diameter_mm), "mm");
    add("head-neck-off", "Head neck length offset", Some(plan.head.neck_length_offset_mm), "mm");
    add("stem-av", "Stem anteversion", Some(plan.stem.anteversion_deg), "deg");
    add("stem-offset", "Stem offset", plan.stem.offset_mm, "mm");
    add("stem-ccd", "Stem CCD angle", plan.stem.ccd_deg, "deg");
    add("comb-av", "Combined anteversion, Widmer (radiographic cup + 0.7 x stem)", Some(plan.combined_anteversion_deg), "deg");
    add("leg-length", "Leg length change", Some(plan.leg_length_change_mm), "mm");
    add("offset", "Offset change", Some(plan.offset_change_mm), "mm");
    for (i, m) in plan.motions.iter().enumerate() {
        let name = if m.name.is_empty() { "motion" } else { m.name.as_str() };
        let label = if m.posture.is_empty() { name.replace('_', " ") } else { format!("{}, {}", name.replace('_', " "), m.posture) };
        add(&format!("rom-{:02}", i + 1), &format!("Range of motion limit, {label}"), Some(m.limit_deg), "deg");
    }
    out
}

pub(super) fn unit_code(unit: &str) -> InMemDicomObject {
    match unit {
        "mm" => code("mm", "UCUM", "millimeter"),
        "deg" => code("deg", "UCUM", "degree"),
        _ => code("%", "UCUM", "percent"),
    }
}

pub(super) fn item(rel: &str, value_type: &str, concept: InMemDicomObject, rest: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    let mut o = obj(vec![el(tags::RELATIONSHIP_TYPE, VR::CS, rel), el(tags::VALUE_TYPE, VR::CS, value_type), seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![concept])]);
    for e in rest {
        o.put(e);
    }
    o
}

pub(super) fn container(rel: &str, concept: InMemDicomObject, children: Vec<InMemDicomObject>) -> InMemDicomObject {
    item(rel, "CONTAINER", concept, vec![el(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"), seq(tags::CONTENT_SEQUENCE, children)])
}

/// Builds the SR of the plan's measurements (TID 1500).
pub fn build_sr(src: &Source, plan_path: &Path) -> Result<Option<ResultObject>> {
    let bytes = std::fs::read(plan_path).map_err(io("read", plan_path))?;
    let plan: PlanRecord = serde_json::from_slice(&bytes).map_err(|e| Error::Case { path: plan_path.to_path_buf(), why: format!("not a plan.json of this coxa ({e}); plan the case again") })?;
    let measurements = plan_measurements(&plan);
    if measurements.is_empty() {
        return Ok(None);
    }
    let side = plan.side.as_str();
    let series_uid = stable_uid(&[b"sr-series", src.series_uid.as_bytes(), &sha(&bytes)]);
    let sop_instance = stable_uid(&[b"sr", src.series_uid.as_bytes(), &sha(&bytes)]);
    let tracking_uid = stable_uid(&[b"sr-tracking", sop_instance.as_bytes()]);
    let device_uid = stable_uid(&[b"coxa-device"]);
    let mut group = vec![
        item("HAS OBS CONTEXT", "TEXT", code("112039", "DCM", "Tracking Identifier"), vec![el(tags::TEXT_VALUE, VR::UT, format!("coxa THA plan, {side} hip"))]),
        item("HAS OBS CONTEXT", "UIDREF", code("112040", "DCM", "Tracking Unique Identifier"), vec![el(tags::UID, VR::UI, tracking_uid.as_str())]),
    ];
    group.push(item("CONTAINS", "TEXT", code("stem-size", "99COXA", "Stem size"), vec![el(tags::TEXT_VALUE, VR::UT, format!("{} size {}", plan.stem.catalog, plan.stem.size))]));
    for m in &measurements {
        group.push(item(
            "CONTAINS",
            "NUM",
            code(&m.code, "99COXA", &m.meaning),
            vec![seq(tags::MEASURED_VALUE_SEQUENCE, vec![obj(vec![el(tags::NUMERIC_VALUE, VR::DS, ds(m.value)), seq(tags::MEASUREMENT_UNITS_CODE_SEQUENCE, vec![unit_code(m.unit)])])])],
        ));
    }
    let images: Vec<InMemDicomObject> = src
        .images
        .iter()
        .map(|i| {
            obj(vec![
                el(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
                el(tags::VALUE_TYPE, VR::CS, "IMAGE"),
                seq(
                    tags::REFERENCED_SOP_SEQUENCE,
                    vec![obj(vec![el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, i.sop_class.as_str()), el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, i.sop_instance.as_str())])],
                ),
            ])
        })
        .collect();
    let content = vec![
        item("HAS CONCEPT MOD", "CODE", code("121049", "DCM", "Language of Content Item and Descendants"), vec![seq(tags::CONCEPT_CODE_SEQUENCE, vec![code("eng", "RFC5646", "English")])]),
        item("HAS OBS CONTEXT", "CODE", code("121005", "DCM", "Observer Type"), vec![seq(tags::CONCEPT_CODE_SEQUENCE, vec![code("121007", "DCM", "Device")])]),
        item("HAS OBS CONTEXT", "UIDREF", code("121012", "DCM", "Device Observer UID"), vec![el(tags::UID, VR::UI, device_uid.as_str())]),
        item("HAS OBS CONTEXT", "TEXT", code("121013", "DCM", "Device Observer Name"), vec![el(tags::TEXT_VALUE, VR::UT, "coxa")]),
        item("HAS CONCEPT MOD", "CODE", code("121058", "DCM", "Procedure reported"), vec![seq(tags::CONCEPT_CODE_SEQUENCE, vec![code("52734007", "SCT", "Total replacement of hip")])]),
        container("CONTAINS", code("111028", "DCM", "Image Library"), vec![container("CONTAINS", code("126200", "DCM", "Image Library Group"), images)]),
        container("CONTAINS", code("126010", "DCM", "Imaging Measurements"), vec![container("CONTAINS", code("125007", "DCM", "Measurement Group"), group)]),
    ];
    let mut o = base(src, uids::COMPREHENSIVE_SR_STORAGE, &sop_instance, &series_uid, "SR", 9102, "coxa plan measurements");
    for e in [
        el(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
        seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![code("126000", "DCM", "Imaging Measurement Report")]),
        el(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
        seq(tags::CONTENT_TEMPLATE_SEQUENCE, vec![obj(vec![el(tags::MAPPING_RESOURCE, VR::CS, "DCMR"), el(tags::TEMPLATE_IDENTIFIER, VR::CS, "1500")])]),
        el(tags::COMPLETION_FLAG, VR::CS, "COMPLETE"),
        el(tags::VERIFICATION_FLAG, VR::CS, "UNVERIFIED"),
        seq(tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE, vec![]),
        seq(tags::PERFORMED_PROCEDURE_CODE_SEQUENCE, vec![]),
        seq(
            tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
            vec![obj(vec![
                el(tags::STUDY_INSTANCE_UID, VR::UI, src.study_uid.as_str()),
                seq(tags::REFERENCED_SERIES_SEQUENCE, vec![obj(vec![el(tags::SERIES_INSTANCE_UID, VR::UI, src.series_uid.as_str()), seq(tags::REFERENCED_SOP_SEQUENCE, source_refs(src))])]),
            ])],
        ),
        seq(tags::CONTENT_SEQUENCE, content),
        // Declares the private scheme of the measurement concepts (PS3.3 C.12.1.1.2).
        seq(
            tags::CODING_SCHEME_IDENTIFICATION_SEQUENCE,
            vec![obj(vec![
                el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "99COXA"),
                el(tags::CODING_SCHEME_NAME, VR::ST, "coxa total hip arthroplasty plan measurements"),
                el(tags::CODING_SCHEME_RESPONSIBLE_ORGANIZATION, VR::ST, "coxa"),
            ])],
        ),
    ] {
        o.put(e);
    }
    let bytes = part10(o, "SR")?;
    Ok(Some(ResultObject { kind: Kind::Sr, from: plan_path.display().to_string(), sop_class: uids::COMPREHENSIVE_SR_STORAGE.into(), sop_instance, series_uid, bytes }))
}
