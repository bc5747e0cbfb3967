//! Writes every map of a set of segmentations as raw bytes, to check that a change to the
//! runner leaves its results bit for bit the same (`cmp` the folders of two builds):
//! `cargo run -p coxa-infer --example dump_maps -- OUT_DIR`. Per case NAME: NAME.probabilities.f32,
//! NAME.entropy.f32, NAME.disagreement.f32, NAME.labels.u16 (little-endian, `[.., k, j, i]`) and
//! NAME.summary.txt. The cases: coxa's phantom test model on the demo phantom (1.5 mm, resampled
//! to its 4 mm and back) and at 4 mm; the generic test cards (conv3, threshold3, disagree) with and
//! without mirroring; mc_dropout with 1 and 3 passes; the nnU-Net test export, fold 0 and both
//! folds, without and with mirroring, and both folds on the anisotropic CT nnU-Net resamples;
//! threshold3 on two CTs within one tile (padded, and exactly the patch); every case with and
//! without the uncertainty (`NAME_plain`).
//! Needs ONNX Runtime.

use std::io::Write;
use std::path::{Path, PathBuf};

use coxa_anatomy::phantom::{PhantomSpec, hip_phantom};
use coxa_infer::{InferenceOptions, Model, SessionConfig, segment};

fn write<T: Copy>(path: PathBuf, data: impl Iterator<Item = T>, bytes: impl Fn(T) -> Vec<u8>) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for v in data {
        f.write_all(&bytes(v))?;
    }
    f.flush()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).ok_or("usage: dump_maps OUT_DIR")?);
    std::fs::create_dir_all(&out)?;
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let demo = hip_phantom(&PhantomSpec::default()).ct;
    let mut spec = PhantomSpec::default();
    spec.voxel_mm = 4.0;
    let coarse = hip_phantom(&spec).ct;
    let nnunet_ct = coxa_io::open(&here.join("tests/nnunet/ct.nii.gz"), &coxa_io::OpenOptions::default())?.volume;
    let nnunet_aniso = coxa_io::open(&here.join("tests/nnunet/ct_aniso.nii.gz"), &coxa_io::OpenOptions::default())?.volume;
    // Two CTs within one 32-voxel tile of threshold3 at 4 mm: one smaller (padded), one exactly the patch.
    let sub = |n: [usize; 3]| -> Result<coxa_core::Volume, Box<dyn std::error::Error>> {
        let hu = coarse.hu().slice(ndarray::s![..n[2], ..n[1], ..n[0]]).to_owned();
        let g = coarse.grid();
        Ok(coxa_core::Volume::new(coxa_core::Grid::new(n, g.spacing_mm(), g.origin_lps_mm(), g.direction())?, hu)?)
    };
    let small = sub([30, 27, 21])?;
    let patch = sub([32, 32, 32])?;
    // (name, card, CT, mirror, folds, MC passes)
    type Case<'a> = (&'a str, PathBuf, &'a coxa_core::Volume, bool, Vec<usize>, usize);
    let cases: Vec<Case> = vec![
        ("phantom_demo", here.join("phantom/phantom_seg_test.toml"), &demo, false, vec![], 1),
        ("phantom_4mm", here.join("phantom/phantom_seg_test.toml"), &coarse, false, vec![], 1),
        ("conv3", here.join("tests/models/conv3.toml"), &coarse, false, vec![], 1),
        ("conv3_mirror", here.join("tests/models/conv3.toml"), &coarse, true, vec![], 1),
        ("threshold3", here.join("tests/models/threshold3.toml"), &demo, false, vec![], 1),
        ("threshold3_mirror", here.join("tests/models/threshold3.toml"), &demo, true, vec![], 1),
        ("disagree", here.join("tests/models/disagree.toml"), &coarse, false, vec![], 1),
        ("mc_dropout_1", here.join("tests/models/mc_dropout.toml"), &coarse, false, vec![], 1),
        ("mc_dropout_3", here.join("tests/models/mc_dropout.toml"), &coarse, false, vec![], 3),
        ("nnunet_fold0", here.join("tests/nnunet/card.toml"), &nnunet_ct, false, vec![0], 1),
        ("nnunet_ensemble_mirror", here.join("tests/nnunet/card.toml"), &nnunet_ct, true, vec![], 1),
        ("nnunet_aniso_ensemble", here.join("tests/nnunet/card.toml"), &nnunet_aniso, false, vec![], 1),
        ("threshold3_one_padded_tile", here.join("tests/models/threshold3.toml"), &small, false, vec![], 1),
        ("threshold3_one_whole_tile", here.join("tests/models/threshold3.toml"), &patch, false, vec![], 1),
    ];
    // Every case once more without the uncertainty (`_plain`).
    let cases: Vec<(Case, bool)> = cases.iter().map(|c| (c.clone(), true)).chain(cases.iter().map(|c| (c.clone(), false))).collect();
    for ((name, card, ct, mirror, folds, passes), uncertainty) in cases {
        let name = if uncertainty { name.to_string() } else { format!("{name}_plain") };
        let mut model = Model::load(&card, &SessionConfig { intra_threads: 1, ..Default::default() })?;
        let mut options = InferenceOptions::for_card(model.card(), mirror);
        options.folds = folds;
        options.mc_passes = passes;
        options.uncertainty = uncertainty;
        let seg = segment(&mut model, ct, &options)?;
        let f32le = |v: f32| v.to_le_bytes().to_vec();
        write(out.join(format!("{name}.probabilities.f32")), seg.probabilities.iter().copied(), f32le)?;
        write(out.join(format!("{name}.entropy.f32")), seg.entropy_nats.iter().copied(), f32le)?;
        write(out.join(format!("{name}.disagreement.f32")), seg.disagreement_nats.iter().copied(), f32le)?;
        write(out.join(format!("{name}.labels.u16")), seg.labels.labels().iter().copied(), |v: u16| v.to_le_bytes().to_vec())?;
        let summary: Vec<String> = seg.summary.iter().map(|s| format!("{} {} {} {:?} {:?} {:?}", s.name, s.label, s.voxels, s.volume_ml, s.mean_entropy_nats, s.mean_disagreement_nats)).collect();
        std::fs::write(out.join(format!("{name}.summary.txt")), format!("members {}\n{}\n", seg.members, summary.join("\n")))?;
        println!("{name}: {} members, {:.3} s", seg.members, seg.total_s);
    }
    Ok(())
}
