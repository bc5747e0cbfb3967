//! Where the published shape models' files are: a copy `pip` installed, or the LLP26 copy that
//! ships inside coxa.
//!
//! **The bundled LLP26** (`models/shape/llp26/` in the repository, issue 42): the five files coxa
//! reads of `musculoskeletal-models` 0.2.4 (MPL-2.0; its licence text and a NOTICE with the
//! files' SHA-256 lie beside them, the files unmodified), so that a clean clone plans, predicts
//! femurs and builds the realistic demo phantom with nothing pip-installed. They are found on
//! disk, not embedded in the program (`include_bytes!`): the two principal component models
//! (left, and right mirrored from left: a separate model, not the left's mirror image) are 2.1 MB
//! each, 4.4 MB with the meshes, which every binary linking coxa-shape would carry, and every
//! reader of the model takes a folder. [`bundled_llp26`] looks in the source tree this crate was
//! built from (a clone's `cargo build` or `cargo run`), then beside the program: in the
//! repository folder above it (`target/release/coxa`) or in `share/coxa/llp26` of an
//! installation prefix (`bin/coxa`).
//!
//! **Installed copies** ([`find_installed`]) are still found, and first: `COXA_PYTHON_SITE` (a
//! `site-packages` folder), a `.venv` walked up from a start folder (the working directory, the
//! program's folder), and the `site-packages` folders of the `python3` on `PATH` (an activated
//! virtual environment anywhere, or the user's Python; asked once per process with
//! `python3 -c "import sys; print(...sys.path...)"`, which runs no package code).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The package-relative folder of the LLP26 model.
pub const LLP26_DIR: &str = "musculoskeletal/models";

/// The bundled LLP26 folder, relative to the repository's root.
pub const BUNDLED_LLP26_DIR: &str = "models/shape/llp26";

/// The file whose presence marks an LLP26 folder.
const LLP26_MARKER: &str = "shape_models/LLP26_rigid.pc";

/// Where an LLP26 folder was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Installed by pip: the `site-packages` folder it was found in and how that was found
    /// (`COXA_PYTHON_SITE`, `.venv at ...`, `python3 on PATH`).
    Installed {
        /// The `site-packages` folder.
        site: PathBuf,
        /// How it was found.
        how: String,
    },
    /// The copy that ships inside coxa ([`BUNDLED_LLP26_DIR`]).
    Bundled,
}

/// An LLP26 folder (`musculoskeletal/models` of the package: `shape_models/`, `atlas_meshes/`)
/// and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Llp26Location {
    /// The folder.
    pub dir: PathBuf,
    /// Where it was found.
    pub origin: Origin,
}

impl Llp26Location {
    /// For people: `bundled with coxa (musculoskeletal-models 0.2.4, MPL-2.0): DIR` or
    /// `installed (HOW): DIR`.
    pub fn describe(&self) -> String {
        match &self.origin {
            Origin::Bundled => format!("bundled with coxa (musculoskeletal-models 0.2.4, MPL-2.0): {}", self.dir.display()),
            Origin::Installed { how, .. } => format!("installed ({how}): {}", self.dir.display()),
        }
    }
}

/// For people: `DIR` when it is an installed or given copy, `bundled with coxa (...): DIR` when it
/// is the copy that ships inside coxa.
pub fn describe_llp26_dir(dir: &Path) -> String {
    let exe = std::env::current_exe().ok();
    let same = |b: PathBuf| b == dir || (b.canonicalize().ok().is_some_and(|b| dir.canonicalize().ok().is_some_and(|d| d == b)));
    if bundled_llp26(exe.as_deref()).is_some_and(same) { Llp26Location { dir: dir.to_path_buf(), origin: Origin::Bundled }.describe() } else { dir.display().to_string() }
}

/// Whether `dir` holds an LLP26 model.
pub fn is_llp26_dir(dir: &Path) -> bool {
    dir.join(LLP26_MARKER).is_file()
}

/// The `site-packages` folders searched for pip-installed packages, in order, each with how it
/// was found: `COXA_PYTHON_SITE`, the `.venv`s walked up from each of `starts`, the `python3` on
/// `PATH`.
fn site_folders(starts: &[&Path]) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = Vec::new();
    if let Some(site) = std::env::var_os("COXA_PYTHON_SITE").filter(|s| !s.is_empty()) {
        out.push((PathBuf::from(site), "COXA_PYTHON_SITE".into()));
    }
    for start in starts {
        for dir in start.ancestors() {
            let venv = dir.join(".venv");
            let Ok(entries) = std::fs::read_dir(venv.join("lib")) else { continue };
            let mut found: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("site-packages")).collect();
            found.sort();
            out.extend(found.into_iter().map(|p| (p, format!(".venv at {}", venv.display()))));
        }
    }
    out.extend(python_site_packages().iter().map(|p| (p.clone(), "python3 on PATH".to_string())));
    out
}

/// The `site-packages` (and `dist-packages`) folders on the `sys.path` of the `python3` on
/// `PATH`, asked once per process; empty without a `python3`.
fn python_site_packages() -> &'static [PathBuf] {
    static SITES: OnceLock<Vec<PathBuf>> = OnceLock::new();
    SITES.get_or_init(|| {
        let out = std::process::Command::new("python3").args(["-c", "import sys\nfor p in sys.path: print(p)"]).stdin(std::process::Stdio::null()).stderr(std::process::Stdio::null()).output();
        let Some(out) = out.ok().filter(|o| o.status.success()) else { return Vec::new() };
        String::from_utf8_lossy(&out.stdout).lines().map(PathBuf::from).filter(|p| p.ends_with("site-packages") || p.ends_with("dist-packages")).collect()
    })
}

/// Where `pip` installed the published models: `rel` (e.g. [`LLP26_DIR`]) in the first
/// `site-packages` folder that holds it, of `COXA_PYTHON_SITE`, of a `.venv` found walking up
/// from `start`, or of the `python3` on `PATH`.
pub fn find_installed(start: &Path, rel: &str) -> Option<PathBuf> {
    site_folders(&[start]).into_iter().map(|(site, _)| site.join(rel)).find(|p| p.exists())
}

/// The LLP26 copy that ships inside coxa (module docs): in the source tree this crate was built
/// from, else beside the program `exe` (the repository folder above it, or `../share/coxa/llp26`
/// of its folder).
pub fn bundled_llp26(exe: Option<&Path>) -> Option<PathBuf> {
    bundled_candidates(Path::new(env!("CARGO_MANIFEST_DIR")), exe).into_iter().find(|d| is_llp26_dir(d))
}

/// Where [`bundled_llp26`] looks, in order: `llp26` of the crate's source folder `source`, then
/// [`BUNDLED_LLP26_DIR`] in every folder above the program `exe`, then `../share/coxa/llp26` of
/// the program's folder.
fn bundled_candidates(source: &Path, exe: Option<&Path>) -> Vec<PathBuf> {
    let mut candidates = vec![source.join("llp26")];
    if let Some(exe) = exe {
        candidates.extend(exe.ancestors().skip(1).map(|a| a.join(BUNDLED_LLP26_DIR)));
        if let Some(prefix) = exe.parent().and_then(Path::parent) {
            candidates.push(prefix.join("share/coxa/llp26"));
        }
    }
    candidates
}

/// The LLP26 model to use: an installed copy (found from each of `starts`, see
/// [`find_installed`]), else the bundled one ([`bundled_llp26`], beside the running program).
pub fn locate_llp26(starts: &[&Path]) -> Option<Llp26Location> {
    let installed = site_folders(starts).into_iter().find_map(|(site, how)| {
        let dir = site.join(LLP26_DIR);
        is_llp26_dir(&dir).then_some(Llp26Location { dir, origin: Origin::Installed { site, how } })
    });
    installed.or_else(|| {
        let exe = std::env::current_exe().ok();
        bundled_llp26(exe.as_deref()).map(|dir| Llp26Location { dir, origin: Origin::Bundled })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// The bundled files are the published package's, byte for byte (the SHA-256 its wheel's
    /// RECORD gives, as the NOTICE lists them), and the licence text is beside them.
    #[test]
    fn bundled_llp26_is_the_published_package() {
        let dir = bundled_llp26(None).expect("the bundled LLP26 is in the source tree");
        let want = [
            ("shape_models/LLP26_rigid.pc", "66b9d60beb800cfcd6b522af7ca32ebd22394202c33e7eaf10f717b5ae659477"),
            ("shape_models/LLP26_right_mirrored_from_left_rigid.pc", "67ee4872ec56914aab8d67738255aae15cf6bd76791327d96021c9bb17cef238"),
            ("atlas_meshes/femur_left_quartic_flat.mesh", "33ec91fb8ae6f09b39c4c094b5e52ba6e043df67596a48f696c0b7cfa9f4e13f"),
            ("atlas_meshes/femur_right_quartic_flat.mesh", "cfab8c5a7cc9fb58d5fe35652e5b7cc03ed4fe4a9c055bb9952cf4a2f1e0f7e9"),
            ("atlas_meshes/pelvis_combined_cubic_flat.mesh", "ade312e0b440be9ddd5ade15d66b7d4e5d142dff53e834a9221a6049f620dc2f"),
        ];
        let notice = std::fs::read_to_string(dir.join("NOTICE")).unwrap();
        for (file, hex) in want {
            let bytes = std::fs::read(dir.join(file)).unwrap();
            let got: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(got, hex, "{file} differs from musculoskeletal-models 0.2.4");
            assert!(notice.contains(file) && notice.contains(hex), "the NOTICE lists {file}");
        }
        let licence = std::fs::read_to_string(dir.join("LICENSE")).unwrap();
        assert!(licence.starts_with("Mozilla Public License Version 2.0"));
        // Nothing else is bundled than what coxa reads, the licence and the notice.
        let mut n = 0;
        for sub in ["", "shape_models", "atlas_meshes"] {
            n += std::fs::read_dir(dir.join(sub)).unwrap().flatten().filter(|e| e.path().is_file()).count();
        }
        assert_eq!(n, 7);
    }

    /// Beside a program in a clone's `target/<profile>/` the repository's copy is found, and in
    /// an installation prefix `share/coxa/llp26`; the source tree comes first.
    #[test]
    fn bundled_llp26_is_found_beside_the_program() {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = source.ancestors().nth(2).unwrap();
        let first = |src: &Path, exe: &Path| bundled_candidates(src, Some(exe)).into_iter().find(|d| is_llp26_dir(d));
        let gone = Path::new("/nonexistent/coxa-source");
        assert_eq!(first(gone, &root.join("target/release/coxa")), Some(root.join(BUNDLED_LLP26_DIR)));
        let tmp = tempfile::tempdir().unwrap();
        let prefix = tmp.path();
        std::fs::create_dir_all(prefix.join("share/coxa/llp26/shape_models")).unwrap();
        std::fs::write(prefix.join("share/coxa/llp26").join(LLP26_MARKER), b"").unwrap();
        assert_eq!(first(gone, &prefix.join("bin/coxa")), Some(prefix.join("share/coxa/llp26")));
        assert_eq!(first(source, &prefix.join("bin/coxa")), Some(source.join("llp26")));
        assert_eq!(bundled_llp26(Some(&prefix.join("bin/coxa"))), Some(source.join("llp26")));
    }
}
