//! Dysplasia and osteoarthritis measures (issue 62) on the real CT, as a case carries them: each
//! hip's `dysplasia` block in anatomy.json, every measure there or its absence said, and the
//! report's table. (z013 within a normal adult's ranges, left and right alike, and a socket made
//! shallow graded dysplastic: `coxa-anatomy`'s `tests/dysplasia.rs`.)

use serde_json::Value;

use crate::cases::read_json;

/// Both hips' blocks of `anatomy`, printed.
fn blocks<'a>(anatomy: &'a Value, what: &str) -> Vec<&'a Value> {
    let b: Vec<&Value> = anatomy["acetabula"].as_array().unwrap().iter().map(|a| &a["dysplasia"]).collect();
    for d in &b {
        eprintln!(
            "{what} {}: LCE {} ({}), Sharp {}, Tönnis {}, extrusion {} %, version {} / {} / {}, Crowe {}, joint space {} mm, OA {}; notes {}",
            d["side"],
            d["lce_deg"],
            d["coverage"],
            d["sharp_deg"],
            d["tonnis_deg"],
            d["extrusion_index_percent"],
            d["version_cranial_deg"],
            d["version_central_deg"],
            d["version_caudal_deg"],
            d["crowe"],
            d["min_joint_space_mm"],
            d["oa_grade"],
            d["notes"]
        );
    }
    b
}

/// Every measure is there, or a note says why not.
fn complete(d: &Value) {
    let notes = d["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect::<Vec<_>>().join("; ");
    for (key, why) in [
        ("lce_deg", "roof"),
        ("tonnis_deg", "sourcil"),
        ("extrusion_index_percent", "roof"),
        ("version_central_deg", "version"),
        ("sharp_deg", "teardrop"),
        ("crowe", "teardrop"),
        ("min_joint_space_mm", "joint space"),
        ("oa_grade", "osteoarthritis grade"),
    ] {
        assert!(d[key].is_number() || d[key].is_string() || notes.contains(why), "{key} is neither measured nor said missing: {d}");
    }
    assert!(d["method"].as_str().unwrap().contains("coronal plane"));
}

#[test]
fn real_ct_hips_carry_their_dysplasia_measures() {
    let Some(case) = crate::cases::demo_real_ct() else { return };
    let anatomy = read_json(&case.join("anatomy/anatomy.json"));
    let b = blocks(&anatomy, "real CT, coxa's bones");
    assert_eq!(b.len(), 2, "both hips");
    for d in &b {
        complete(d);
        assert!(d["lce_deg"].is_number() && d["tonnis_deg"].is_number(), "{d}");
        // 3 mm voxels: the joint space is given, the grade is not, and says why.
        assert!(d["min_joint_space_mm"].is_number() && d["oa_grade"].is_null(), "{d}");
        assert!(d["notes"].to_string().contains("3.0 mm voxels"), "{d}");
        // Its joint space is closed by the segmentation at 3 mm (0.0 mm): said, the angles uncertain.
        if d["min_joint_space_mm"].as_f64().unwrap() < 0.5 {
            assert!(d["notes"].to_string().contains("joint space is closed") && d["coverage"].is_null(), "{d}");
        }
    }
    let html = std::fs::read_to_string(case.join("report.html")).unwrap();
    assert!(html.contains("id=\"dysplasia\"") && html.contains("centre-edge (Wiberg)"), "the report's anatomy shows the measures");
}

#[test]
fn real_ct_with_totalsegmentators_labels() {
    let Some((out, _)) = crate::cases::anatomy_real_ct_with_labels() else { return };
    let anatomy = read_json(&out.join("anatomy.json"));
    let b = blocks(&anatomy, "real CT, TotalSegmentator's bones");
    assert_eq!(b.len(), 2);
    b.iter().for_each(|d| complete(d));
}
