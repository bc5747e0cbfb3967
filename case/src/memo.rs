//! The anatomy stage's result kept in memory between cases of the same input (the planning
//! desk's re-plans, issue 60).

use std::path::PathBuf;

use crate::error::Result;
use crate::stages::anatomy::AnatomyResult;
use crate::stages::input::{AnatomySource, LoadedCt};

/// The anatomy stage's result kept in memory for the next case of the same input: the planning
/// desk's Save plans a case again with the surgeon's choices fixed (issue 60), on the anatomy it
/// was planned on, which the same code found from the same files; found once per desk, a save
/// takes the planning and the stages after it only. A memo holds one input's anatomy and CT;
/// its key names the input files with their sizes and modification times, so a file changed
/// since is read and segmented again. Only the plain inputs are kept (a CT file or folder, with
/// or without a label map; bone surface files), not a learned model's segmentation.
#[derive(Debug, Default)]
pub struct AnatomyMemo {
    kept: std::sync::Mutex<Option<(String, AnatomyResult, Option<LoadedCt>)>>,
}

fn copy_ct(ct: &LoadedCt) -> LoadedCt {
    LoadedCt { volume: ct.volume.clone(), n_files: ct.n_files, warnings: ct.warnings.clone() }
}

impl AnatomyMemo {
    /// An empty memo.
    pub fn new() -> Self {
        Self::default()
    }

    /// What the anatomy of `source` depends on: the source and every file it names (size and
    /// modification time; a folder's files too).
    fn key(source: &AnatomySource) -> String {
        let mut files: Vec<PathBuf> = match source {
            AnatomySource::Ct { ct, labels, label_names, .. } => [Some(ct.clone()), labels.clone(), label_names.clone()].into_iter().flatten().collect(),
            AnatomySource::Meshes(list, _) => list.iter().map(|(_, p)| p.clone()).collect(),
        };
        let mut stamps = Vec::new();
        while let Some(f) = files.pop() {
            match std::fs::metadata(&f) {
                Ok(m) if m.is_dir() => files.extend(std::fs::read_dir(&f).into_iter().flatten().flatten().map(|e| e.path())),
                Ok(m) => stamps.push(format!("{}:{}:{:?}", f.display(), m.len(), m.modified().ok())),
                Err(_) => stamps.push(format!("{}:missing", f.display())),
            }
        }
        stamps.sort();
        format!("{source:?}|{}", stamps.join("|"))
    }

    /// The anatomy of `source` as kept, or found now (and kept).
    ///
    /// # Errors
    /// The anatomy stage's.
    pub fn anatomy(&self, source: &AnatomySource) -> Result<(AnatomyResult, Option<LoadedCt>)> {
        let key = Self::key(source);
        if let Ok(kept) = self.kept.lock()
            && let Some((k, a, ct)) = kept.as_ref()
            && *k == key
        {
            return Ok((a.clone(), ct.as_ref().map(copy_ct)));
        }
        let ct = match source {
            AnatomySource::Ct { ct, dicom, any_modality, .. } => Some(crate::stages::input::open_ct(ct, dicom, *any_modality)?),
            AnatomySource::Meshes(..) => None,
        };
        let a = crate::stages::anatomy::run_on(source, ct.as_ref(), None)?;
        if let Ok(mut kept) = self.kept.lock() {
            *kept = Some((key, a.clone(), ct.as_ref().map(copy_ct)));
        }
        Ok((a, ct))
    }
}
