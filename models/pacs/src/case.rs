//! Every result object a case folder supports ([`build_case`]): the anatomy's SEG, the bone
//! lesions' SEG ([`crate::lesion_seg`]), the plan's SR, the report as encapsulated PDF and the
//! pictures as secondary captures ([`crate::results`] builds each). A file of its own so that the
//! builders do not depend on the case folder's layout (and `results` not on `lesion_seg`).

use std::path::{Path, PathBuf};

use crate::error::io;
use crate::lesion_seg;
use crate::results::{CaseObjects, Source, build_pdf, build_sc, build_seg, build_sr};
use crate::{Error, Result};

/// The first existing path among `candidates`.
fn first_file(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates.iter().find(|p| p.is_file()).cloned()
}

/// Builds every result object a case folder supports. The case folder is as `coxa demo`/`coxa
/// run` write it: `anatomy/labels.nii.gz`, `lesions/` (a second SEG, of the bone lesion
/// candidates, when it holds any: [`crate::lesion_seg`]), `plan.json`, `pictures/*.png`,
/// `report.pdf` (or any `*.pdf`).
pub fn build_case(case: &Path, src: &Source) -> Result<CaseObjects> {
    if !case.is_dir() {
        return Err(Error::Case { path: case.to_path_buf(), why: "not a folder".into() });
    }
    let mut objects = Vec::new();
    let mut notes = Vec::new();
    match first_file(&[case.join("anatomy/labels.nii.gz"), case.join("labels.nii.gz")]) {
        Some(p) => match build_seg(src, &p)? {
            Some(o) => objects.push(o),
            None => notes.push(format!("{}: no bone or muscle label coxa has a code for; no SEG", p.display())),
        },
        None => notes.push("no anatomy/labels.nii.gz: no SEG".into()),
    }
    let lesions = case.join("lesions");
    if lesions.join(lesion_seg::JSON).is_file() {
        match lesion_seg::build_lesion_seg(src, &lesions)? {
            Some(o) => objects.push(o),
            None => notes.push("lesions/lesions.json holds no lesion: no lesion SEG".into()),
        }
    }
    match first_file(&[case.join("plan.json")]) {
        Some(p) => match build_sr(src, &p)? {
            Some(o) => objects.push(o),
            None => notes.push("plan.json holds no measurement: no SR".into()),
        },
        None => notes.push("no plan.json: no SR".into()),
    }
    let mut pdfs: Vec<PathBuf> =
        std::fs::read_dir(case).map_err(io("read", case))?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("pdf"))).collect();
    pdfs.sort();
    if let Some(i) = pdfs.iter().position(|p| p.file_name().is_some_and(|n| n == "report.pdf")) {
        pdfs.swap(0, i);
    }
    match pdfs.first() {
        Some(p) => objects.push(build_pdf(src, p)?),
        None => notes.push("no report.pdf (or other PDF) in the case: no encapsulated PDF".into()),
    }
    let pic_dir = case.join("pictures");
    let mut pictures: Vec<PathBuf> = if pic_dir.is_dir() {
        std::fs::read_dir(&pic_dir).map_err(io("read", &pic_dir))?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"))).collect()
    } else {
        Vec::new()
    };
    pictures.sort();
    if pictures.is_empty() {
        notes.push("no pictures/*.png: no secondary capture".into());
    } else {
        objects.extend(build_sc(src, &pictures)?);
    }
    if objects.is_empty() {
        return Err(Error::Case { path: case.to_path_buf(), why: format!("nothing to push ({})", notes.join("; ")) });
    }
    Ok(CaseObjects { objects, notes })
}
