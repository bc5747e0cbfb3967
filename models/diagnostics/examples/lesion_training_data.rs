//! The training and held-out data of coxa's learned lesion TEST model
//! (`models/infer/python/train_lesion_model.py`): the real example CT with lesions inserted by
//! coxa's own inserter ([`coxa_diagnostics::lesions::sample`]).
//!
//! `cargo run -p coxa-diagnostics --example lesion_training_data -- OUT_DIR [train=48] [held=24]`
//! writes into OUT_DIR (which must not exist):
//! - `train_SEED_ct.f32` / `held_SEED_ct.f32`: the CT with a trial's lesions, HU, float32
//!   little-endian, C order `[k, j, i]`; training seeds 1..=train (4 lesions each in
//!   [`TRAINING_BONES`]), held-out seeds 10001..=10000+held (2 lesions each in
//!   [`HELD_OUT_BONES`]);
//! - `..._truth.u16`: the ground truth (`sample::truth_map`: the lesion's index + 1 per voxel);
//! - `bones.u16`: the bones' label map (TotalSegmentator ids, bones only);
//! - `meta.json`: the grid and every trial's lesions (bone, kind, diameter, HU, centre in LPS mm
//!   and in voxels `[i, j, k]`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use coxa_diagnostics::lesions::sample::{HELD_OUT_BONES, Placed, Sites, TRAINING_BONES, truth_map, with_lesions};
use coxa_diagnostics::lesions::{bones_of, depth_mm};

fn write_raw<T: Copy>(path: &Path, values: impl Iterator<Item = T>, to_le: impl Fn(T) -> Vec<u8>) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    for v in values {
        f.write_all(&to_le(v)).expect("write");
    }
}

fn lesion_json(p: &Placed, grid: &coxa_core::Grid) -> serde_json::Value {
    let v = grid.lps_to_voxel(&p.lesion.centre_lps_mm);
    serde_json::json!({
        "bone": p.bone,
        "kind": p.lesion.kind,
        "diameter_mm": p.lesion.diameter_mm,
        "hu": p.lesion.hu,
        "centre_lps_mm": [p.lesion.centre_lps_mm.x, p.lesion.centre_lps_mm.y, p.lesion.centre_lps_mm.z],
        "centre_ijk": [v[0], v[1], v[2]],
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().expect("usage: lesion_training_data OUT_DIR [train=N] [held=M]"));
    let (mut train, mut held) = (48u64, 24u64);
    for a in args {
        let (k, v) = a.split_once('=').expect("key=value");
        match k {
            "train" => train = v.parse().expect("a number"),
            "held" => held = v.parse().expect("a number"),
            _ => panic!("unknown key {k}"),
        }
    }
    assert!(!out.exists(), "{} exists", out.display());
    std::fs::create_dir_all(&out).expect("create OUT_DIR");
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/totalseg");
    let ct = coxa_io::nifti::read_volume(&data.join("example_ct.nii.gz")).expect("the example CT");
    let labels = coxa_io::nifti::read_label_map(&data.join("example_seg_fast_force_split.nii.gz")).expect("its label map");
    let (bones, names) = bones_of(&labels, &coxa_diagnostics::lesions::totalseg_bone_names());
    let depth = depth_mm(&bones, ct.grid());
    let sites = Sites::new(&ct, &bones, &names, &depth);
    write_raw(&out.join("bones.u16"), bones.iter().copied(), |v: u16| v.to_le_bytes().to_vec());
    let mut trials = Vec::new();
    let jobs: Vec<(&str, u64, &[&str], usize)> = (1..=train).map(|s| ("train", s, &TRAINING_BONES[..], 4)).chain((10_001..=10_000 + held).map(|s| ("held", s, &HELD_OUT_BONES[..], 2))).collect();
    for (split, seed, allowed, count) in jobs {
        let placed = sites.draw(allowed, count, seed);
        let with = with_lesions(&ct, &placed, seed);
        let truth = truth_map(&ct, &placed);
        let stem = format!("{split}_{seed}");
        write_raw(&out.join(format!("{stem}_ct.f32")), with.hu().iter().copied(), |v: f32| v.to_le_bytes().to_vec());
        write_raw(&out.join(format!("{stem}_truth.u16")), truth.iter().copied(), |v: u16| v.to_le_bytes().to_vec());
        trials.push(serde_json::json!({"split": split, "seed": seed, "stem": stem, "lesions": placed.iter().map(|p| lesion_json(p, ct.grid())).collect::<Vec<_>>()}));
        eprintln!("{stem}: {} lesion(s)", placed.len());
    }
    let g = ct.grid();
    let names: BTreeMap<u16, String> = names.into_iter().collect();
    let meta = serde_json::json!({
        "shape_kji": g.shape_kji(),
        "spacing_mm_ijk": [g.spacing_mm()[0], g.spacing_mm()[1], g.spacing_mm()[2]],
        "bone_names": names,
        "training_bones": TRAINING_BONES,
        "held_out_bones": HELD_OUT_BONES,
        "trials": trials,
    });
    std::fs::write(out.join("meta.json"), serde_json::to_string_pretty(&meta).expect("json")).expect("meta.json");
}
