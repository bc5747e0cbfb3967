//! The learned lesion path's overhead over ONNX Runtime's own time, paired: each run of
//! `coxa_infer::segment` (coxa's lesion test model, mirrored as `coxa lesions --model` runs it, on
//! the real CT, `totalseg/example_ct.nii.gz`) gives its whole time and the sum of its ONNX Runtime
//! calls, so a change of the machine's speed hits both (`cargo run --release -p coxa-benches
//! --example lesion_overhead [-- RUNS]`, default 9 after one warm-up). The criterion bench
//! `lesions` measures the two in separate loops (`learned_test_model_whole_real_ct`,
//! `learned_test_model_onnx_runtime_own_real_ct`). Needs ONNX Runtime (`ORT_DYLIB_PATH`).

use std::time::Instant;

use coxa_benches::shared_data;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args().nth(1).map_or(Ok(9), |a| a.parse())?;
    let card = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/infer/tests/models/lesion_test.toml");
    let ct = coxa_io::nifti::read_volume(&shared_data("totalseg/example_ct.nii.gz"))?;
    let mut model = coxa_infer::Model::load(&card, &coxa_infer::SessionConfig::default())?;
    let options = coxa_infer::InferenceOptions::for_card(model.card(), true);
    let _ = coxa_infer::segment(&mut model, &ct, &options)?;
    let mut ratios = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let seg = std::hint::black_box(coxa_infer::segment(&mut model, &ct, &options)?);
        let whole = t.elapsed().as_secs_f64();
        let (own, calls) = (seg.timing.network_s, seg.timing.network_calls);
        drop(seg);
        println!("whole {whole:.4} s, ONNX Runtime {own:.4} s ({calls} calls), coxa {:.1} ms, ratio {:.4}", (whole - own) * 1e3, whole / own);
        ratios.push(whole / own);
    }
    ratios.sort_by(f64::total_cmp);
    println!("ratio median {:.4}, from {:.4} to {:.4} over {runs} runs", ratios[ratios.len() / 2], ratios[0], ratios[ratios.len() - 1]);
    Ok(())
}
