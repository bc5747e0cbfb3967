//! The built-in default model: OpenSim's gait2392 (Thelen 2003 muscles), shipped inside coxa so
//! that the hip contact force and the `[msk]` stage run without a model file.
//!
//! gait2392 is CC BY 3.0 (Delp et al. 1990; Thelen, Seth, Anderson, Delp): its credits and licence
//! are in the file's `<credits>` and in `models/osim/models/gait2392/ATTRIBUTION.md`. The text is
//! the original file with OpenSim's serialisation comments removed (`scripts/embed-gait2392`);
//! every element and value is the original's.

use crate::{Model, Result, parse_osim};

/// The file name of the built-in model (as OpenSim distributes it).
pub const GAIT2392_FILE_NAME: &str = "gait2392_thelen2003muscle.osim";

/// The credit line to print wherever the built-in model's results are shown.
pub const GAIT2392_CREDIT: &str = "gait2392 (Thelen 2003 muscles; Delp et al. 1990, Thelen, Seth, Anderson, Delp; CC BY 3.0), built into coxa";

/// The built-in model's .osim text.
pub const GAIT2392_OSIM: &str = include_str!("../models/gait2392/gait2392_thelen2003muscle.osim");

/// The built-in gait2392 model, read from [`GAIT2392_OSIM`].
pub fn gait2392() -> Result<Model> {
    parse_osim(GAIT2392_OSIM, format!("(built-in) {GAIT2392_FILE_NAME}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in text reads to exactly the model of the original file (comments only removed).
    #[test]
    fn built_in_gait2392_equals_the_original_file() {
        let m = gait2392().unwrap();
        assert_eq!(m.muscles.len(), 92);
        assert!(GAIT2392_OSIM.contains("CCBY 3.0"), "the licence credit must stay in the file");
        let original = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/opensim/gait2392_thelen2003muscle.osim");
        if !original.exists() {
            assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{} is missing", original.display());
            eprintln!("note: skipping the comparison, {} is not here", original.display());
            return;
        }
        let o = crate::read_osim(&original).unwrap();
        assert_eq!(format!("{m:?}"), format!("{o:?}"));
    }
}
