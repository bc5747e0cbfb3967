//! The cohort tables of a run (issue 44): a virtual population of three subjects, each with two
//! designs (28 and 36 mm heads at one placement), writes `long.csv` and `designs.csv` beside
//! `summary.csv`, linked from the index page with a chart of the impingement rates; each design's impingement rate and median range
//! are what the cases' own ROM records give, computed here from `rom/*.json` independently.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use crate::cases::{coxa, ok, read_json};
use crate::common::shared_data;

fn csv_rows(path: &Path) -> Result<Vec<BTreeMap<String, String>>> {
    let mut r = csv::Reader::from_path(path)?;
    let header: Vec<String> = r.headers()?.iter().map(String::from).collect();
    Ok(r.records().map(|rec| rec.map(|rec| header.iter().cloned().zip(rec.iter().map(String::from)).collect())).collect::<Result<_, _>>()?)
}

#[test]
fn a_population_run_writes_the_long_and_designs_tables() -> Result<()> {
    let Some(atlas) = shared_data("pelvis_atlas") else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("cohort.toml");
    std::fs::write(
        &file,
        format!(
            "schema_version = 1\noutput_dir = \"results\"\n\n[cases_from_shape_model]\npelvis_model = {:?}\nn = 3\nseed = 5\n\n[implants]\nhead_diameter_mm = [28, 36]\n\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 15\nstem_anteversion_deg = 10\n\n[report]\npictures = false\nsafe_zone_map = false\n",
            atlas.display().to_string()
        ),
    )?;
    ok(&coxa(&["run", file.to_str().unwrap(), "--quiet"]));
    let out = tmp.path().join("results");
    let long = csv_rows(&out.join("long.csv"))?;
    let designs = csv_rows(&out.join("designs.csv"))?;

    // Every case's every sweep point's ROM record, read here: (point, motion) -> [(limit, contact)].
    let mut rom: BTreeMap<(String, String), Vec<(f64, String)>> = BTreeMap::new();
    let mut points = std::collections::BTreeSet::new();
    let cases: Vec<String> = read_json(&out.join("summary.json"))["cases"].as_array().unwrap().iter().map(|c| c["case"].as_str().unwrap().to_string()).collect();
    assert_eq!(cases.len(), 3);
    for case in &cases {
        for e in std::fs::read_dir(out.join("cases").join(case).join("rom"))? {
            let p = e?.path();
            let point = p.file_stem().unwrap().to_string_lossy().into_owned();
            points.insert(point.clone());
            let r = read_json(&p);
            for m in r["motions"].as_array().unwrap() {
                let key = (point.clone(), format!("rom_{}_deg", m["name"].as_str().unwrap()));
                rom.entry(key).or_default().push((m["limit_deg"].as_f64().unwrap(), m["contact"].as_str().unwrap().to_string()));
                // The long table holds this case's row of this motion, value and contact.
                let row = long
                    .iter()
                    .find(|l| l["case"] == *case && l["point"] == point && l["quantity"] == format!("rom_{}_deg", m["name"].as_str().unwrap()))
                    .unwrap_or_else(|| panic!("long.csv lacks {case} {point} {}", m["name"]));
                assert_eq!(row["value"].parse::<f64>()?, m["limit_deg"].as_f64().unwrap());
                assert_eq!(row["contact"], m["contact"].as_str().unwrap());
            }
            let head = long.iter().find(|l| l["case"] == *case && l["point"] == point && l["quantity"] == "head_diameter_mm").expect("the head's row");
            assert_eq!(head["value"].parse::<f64>()?, r["implants"]["head_diameter_mm"].as_f64().unwrap());
        }
    }
    assert_eq!(points.len(), 2, "two designs: {points:?}");
    let mut impinging = 0;
    for ((point, quantity), values) in &rom {
        let d = designs.iter().find(|d| d["point"] == *point && d["quantity"] == *quantity).unwrap_or_else(|| panic!("designs.csv lacks {point} {quantity}"));
        assert_eq!(d["cases"], "3");
        let rate = values.iter().filter(|(_, c)| c != "none").count() as f64 / values.len() as f64;
        assert_eq!(d["impingement_rate"].parse::<f64>()?, rate, "{point} {quantity}");
        let mut x: Vec<f64> = values.iter().map(|(v, _)| *v).collect();
        x.sort_by(f64::total_cmp);
        assert_eq!(d["median"].parse::<f64>()?, x[1], "{point} {quantity}: the median of three");
        assert!(d["p5"].parse::<f64>()? >= x[0] && d["p95"].parse::<f64>()? <= x[2]);
        impinging += usize::from(rate > 0.0);
    }
    eprintln!("designs.csv:\n{}", std::fs::read_to_string(out.join("designs.csv"))?);
    assert!(impinging > 0, "no motion of either design ends at a contact: the rates would be vacuous");
    let index = std::fs::read_to_string(out.join("index.html"))?;
    for f in ["summary.csv", "long.csv", "designs.csv"] {
        assert!(index.contains(&format!("href=\"{f}\"")), "index.html does not link {f}");
    }
    assert!(index.contains("Impingement rate: the share of cases"), "index.html has no chart of the impingement rates");
    Ok(())
}
