//! The cohort tables of a run (issue 44): a virtual population of 20 subjects, each with three
//! implant designs (`[[designs]]`: the built-in catalog, its stems with 2 mm thinner necks, its
//! high-offset series first; one placement), writes `long.csv` and `designs.csv` beside
//! `summary.csv`, linked from the index page with a chart of the impingement rates; each design's
//! impingement rate, median and percentiles are what the cases' own ROM records give, computed
//! here from `rom/*.json` independently.

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

/// numpy's default percentile (linear interpolation between the sorted values).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Catalog folders `thin/` (the built-in stems' necks 2 mm thinner) and `offset/` (the built-in
/// series, the high-offset one first, which a fixed placement takes).
fn write_designs(dir: &Path) -> Result<()> {
    let builtin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/implants/catalog");
    let stems: coxa_implants::CatalogFile = toml::from_str(&std::fs::read_to_string(builtin.join("stems.toml"))?)?;
    let mut thin = stems.clone();
    for z in thin.stems.iter_mut().flat_map(|s| s.sizes.iter_mut()) {
        z.neck_diameter_mm -= 2.0;
    }
    let mut offset = stems;
    let i = offset.stems.iter().position(|s| s.name.contains("high offset")).expect("a high-offset series");
    offset.stems.swap(0, i);
    for (name, file) in [("thin", thin), ("offset", offset)] {
        let d = dir.join(name);
        std::fs::create_dir_all(&d)?;
        for f in ["shells.toml", "liners.toml", "heads.toml"] {
            std::fs::copy(builtin.join(f), d.join(f))?;
        }
        std::fs::write(d.join("stems.toml"), toml::to_string(&file)?)?;
    }
    Ok(())
}

#[test]
fn a_population_run_writes_the_long_and_designs_tables() -> Result<()> {
    let Some(atlas) = shared_data("pelvis_atlas") else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    write_designs(tmp.path())?;
    let file = tmp.path().join("cohort.toml");
    std::fs::write(
        &file,
        format!(
            "schema_version = 1\noutput_dir = \"results\"\n\n[cases_from_shape_model]\npelvis_model = {:?}\nn = 20\nseed = 5\n\n[[designs]]\nname = \"standard\"\n\n[[designs]]\nname = \"thin\"\ncatalog = \"thin\"\n\n[[designs]]\nname = \"offset\"\ncatalog = \"offset\"\n\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 15\nstem_anteversion_deg = 10\n\n[report]\npictures = false\nsafe_zone_map = false\n",
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
    let mut necks: BTreeMap<String, f64> = BTreeMap::new();
    let cases: Vec<String> = read_json(&out.join("summary.json"))["cases"].as_array().unwrap().iter().map(|c| c["case"].as_str().unwrap().to_string()).collect();
    assert_eq!(cases.len(), 20);
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
            necks.insert(point.clone(), r["implants"]["neck_diameter_mm"].as_f64().unwrap());
        }
    }
    // A design's points carry its name first.
    let design = |point: &str| point.split('_').next().unwrap_or_default().to_string();
    assert_eq!(points.iter().map(|p| design(p)).collect::<Vec<_>>(), ["offset", "standard", "thin"], "three designs: {points:?}");
    let neck = |d: &str| necks.iter().find(|(p, _)| design(p) == d).map(|(_, n)| *n).unwrap_or_default();
    assert_eq!(neck("thin"), neck("standard") - 2.0, "the thin design's neck");
    let mut impinging = 0;
    let mut rates: BTreeMap<String, f64> = BTreeMap::new();
    let mut neck_contacts: BTreeMap<String, usize> = BTreeMap::new();
    for ((point, quantity), values) in &rom {
        let d = designs.iter().find(|d| d["point"] == *point && d["quantity"] == *quantity).unwrap_or_else(|| panic!("designs.csv lacks {point} {quantity}"));
        assert_eq!(d["cases"], "20");
        let rate = values.iter().filter(|(_, c)| c != "none").count() as f64 / values.len() as f64;
        assert_eq!(d["impingement_rate"].parse::<f64>()?, rate, "{point} {quantity}");
        let mut x: Vec<f64> = values.iter().map(|(v, _)| *v).collect();
        x.sort_by(f64::total_cmp);
        for (column, q) in [("median", 50.0), ("p5", 5.0), ("p95", 95.0)] {
            assert!((d[column].parse::<f64>()? - percentile(&x, q)).abs() < 1e-9, "{point} {quantity} {column}: {} vs {}", d[column], percentile(&x, q));
        }
        impinging += usize::from(rate > 0.0);
        *rates.entry(design(point)).or_default() += rate;
        *neck_contacts.entry(design(point)).or_default() += values.iter().filter(|(_, c)| c == "implant-implant").count();
    }
    eprintln!("summed impingement rates per design: {rates:?}; implant-implant contacts: {neck_contacts:?}");
    assert!(neck_contacts["thin"] < neck_contacts["standard"], "a thinner neck meets the liner less often: {neck_contacts:?}");
    eprintln!("designs.csv:\n{}", std::fs::read_to_string(out.join("designs.csv"))?);
    assert!(impinging > 0, "no motion of either design ends at a contact: the rates would be vacuous");
    let index = std::fs::read_to_string(out.join("index.html"))?;
    for f in ["summary.csv", "long.csv", "designs.csv"] {
        assert!(index.contains(&format!("href=\"{f}\"")), "index.html does not link {f}");
    }
    assert!(index.contains("Impingement rate: the share of cases"), "index.html has no chart of the impingement rates");
    // Every record of the population run names its schema and matches it, the subjects'
    // shape_sample.json among them.
    let kinds = crate::records::assert_folder_matches_schemas(&out);
    assert!(kinds.contains("shape_sample") && kinds.contains("run") && kinds.contains("model"), "{kinds:?}");
    Ok(())
}
