use std::path::Path;

use super::*;

const CARD: &str = r#"card_version = 1
name = "t"
version = "1"
task = "image-translation"
weights = "t.onnx"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"

[input]
name = "ct"
modality = "CT"
clip_hu = [-1000.0, 1500.0]
scaled_to = [-1.0, 1.0]

[output]
name = "t2"
from = [-1.0, 1.0]
to = [0.0, 1000.0]
unit = "1000 S"
tr_ms = 4000.0
te_ms = 100.0
field_t = 3.0
"#;

fn parse(text: &str) -> Result<TranslationCard> {
    TranslationCard::parse(text, Path::new("card.toml"))
}

fn problem(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn a_card_reads_with_one_pass_defaults_and_maps_its_ranges() {
    let c = parse(CARD).unwrap();
    assert_eq!(c.sampling, Sampling::default());
    assert!(!c.sampling.draws_noise());
    let (lo, hi, a, b) = c.input_affine();
    assert_eq!((lo, hi), (-1000.0, 1500.0));
    assert!((a * -1000.0 + b + 1.0).abs() < 1e-6 && (a * 1500.0 + b - 1.0).abs() < 1e-6);
    let (oa, ob) = c.output_affine();
    assert!((ob - oa).abs() < 1e-9 && (oa + ob - 1000.0).abs() < 1e-9);
}

#[test]
fn cards_that_do_not_fit_are_refused_naming_the_field() {
    let seg = CARD.replace("image-translation", "lesion-segmentation");
    assert!(problem(&seg).contains("not \"image-translation\""), "{}", problem(&seg));
    // The segmentation reader refuses a translation card by its task, naming the command.
    let e = crate::ModelCard::parse(CARD, Path::new("card.toml")).unwrap_err().to_string();
    assert!(e.contains("coxa pseudo-mri --model"), "{e}");
    assert!(problem(&CARD.replace("modality = \"CT\"", "modality = \"MR\"")).contains("input.modality"));
    assert!(problem(&CARD.replace("clip_hu = [-1000.0, 1500.0]", "clip_hu = [1500.0, -1000.0]")).contains("input.clip_hu"));
    assert!(problem(&CARD.replace("to = [0.0, 1000.0]", "to = [5.0, 5.0]")).contains("output.to"));
    assert!(problem(&CARD.replace("t.onnx", "../t.onnx")).contains("weights"));
    assert!(problem(&format!("{CARD}\n[sampling]\nsteps = 0\n")).contains("sampling.steps"));
    // Several steps need a state to feed back.
    assert!(problem(&format!("{CARD}\n[sampling]\nsteps = 4\n")).contains("state_input"));
    assert!(problem(&format!("{CARD}\n[sampling]\nsteps = 4\nstate_input = \"ct\"\n")).contains("each ONNX input once"));
    assert!(problem(&CARD.replace("unit = \"1000 S\"\n", "")).contains("unit"));
}

#[test]
fn a_stepped_card_draws_noise() {
    let c = parse(&format!("{CARD}\n[sampling]\nsteps = 4\nseed = 9\nstate_input = \"x\"\nnoise_input = \"z\"\nstep_input = \"t\"\n")).unwrap();
    assert!(c.sampling.draws_noise());
    assert_eq!(c.sampling.extra_inputs(), [Some("x"), Some("z"), Some("t"), None]);
    assert!(steps_problem(1, &c.sampling).is_none() && steps_problem(0, &c.sampling).is_some() && steps_problem(MAX_STEPS + 1, &c.sampling).is_some());
}
