//! Pulling a study's series into folders: each series is received into a hidden `.partial-*`
//! folder and renamed to its final name only once every instance the server announced has
//! arrived whole, so a folder named after a series is always a complete series.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::dimse::split_part10;
use crate::error::io;
use crate::server::{Pacs, SeriesMatch};
use crate::{Error, Result};

/// One series pulled.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PulledSeries {
    /// What the server said about it.
    pub series: SeriesMatch,
    /// The folder holding its files (`<out>/<SeriesInstanceUID>`).
    pub dir: PathBuf,
    /// Instances received.
    pub n_files: usize,
}

/// Which series of the study to pull.
#[derive(Debug, Clone, Default)]
pub enum Which {
    /// Every CT series (every series if the study has no CT). The default.
    #[default]
    AllCt,
    /// Every series.
    All,
    /// These SeriesInstanceUIDs.
    Series(Vec<String>),
}

/// Lists the study's series (an empty list is [`Error::StudyNotFound`]).
pub fn study_series(client: &mut dyn Pacs, study_uid: &str) -> Result<Vec<SeriesMatch>> {
    let series = client.find_series(study_uid)?;
    if series.is_empty() {
        return Err(Error::StudyNotFound { server: client.server(), study: study_uid.to_string() });
    }
    Ok(series)
}

/// Pulls the chosen series of `study_uid` into `out` (created if missing). An existing series
/// folder is never replaced. A pull that fails leaves nothing behind (issue 45): neither the
/// series it finished before the failure (a rerun would find them in its way) nor the `out`
/// folder when it made it.
pub fn pull(client: &mut dyn Pacs, study_uid: &str, out: &Path, which: &Which) -> Result<Vec<PulledSeries>> {
    let all = study_series(client, study_uid)?;
    let chosen: Vec<SeriesMatch> = match which {
        Which::All => all.clone(),
        Which::AllCt => {
            let ct: Vec<SeriesMatch> = all.iter().filter(|s| s.modality.eq_ignore_ascii_case("CT")).cloned().collect();
            if ct.is_empty() { all.clone() } else { ct }
        }
        Which::Series(wanted) => {
            let mut v = Vec::new();
            for w in wanted {
                match all.iter().find(|s| &s.series_uid == w) {
                    Some(s) => v.push(s.clone()),
                    None => {
                        return Err(Error::SeriesNotFound {
                            server: client.server(),
                            study: study_uid.to_string(),
                            series: w.clone(),
                            listing: all.iter().map(|s| format!("{} ({}, {} instances)", s.series_uid, s.modality, s.n_instances.map_or("?".into(), |n| n.to_string()))).collect::<Vec<_>>().join("; "),
                        });
                    }
                }
            }
            v
        }
    };
    for s in &chosen {
        let dir = out.join(safe_name(&s.series_uid));
        if dir.exists() {
            return Err(Error::WouldOverwrite { path: dir });
        }
    }
    let made = !out.exists();
    std::fs::create_dir_all(out).map_err(io("create", out))?;
    let mut pulled: Vec<PulledSeries> = Vec::new();
    for s in chosen {
        match pull_series(client, &s, out) {
            Ok(p) => pulled.push(p),
            Err(e) => {
                for p in &pulled {
                    let _ = std::fs::remove_dir_all(&p.dir);
                }
                if made {
                    // Only while empty: nothing another process put there meanwhile is removed.
                    let _ = std::fs::remove_dir(out);
                }
                return Err(e);
            }
        }
    }
    Ok(pulled)
}

fn safe_name(uid: &str) -> String {
    uid.chars().map(|c| if c.is_ascii_digit() || c == '.' { c } else { '_' }).collect()
}

fn pull_series(client: &mut dyn Pacs, s: &SeriesMatch, out: &Path) -> Result<PulledSeries> {
    let name = safe_name(&s.series_uid);
    let dir = out.join(&name);
    let tmp = out.join(format!(".partial-{name}-{}", std::process::id()));
    // Made new here (anything already there is refused, never removed), so it is removed after.
    coxa_io::scratch::fresh_dir(&tmp, "download folder of a series")?;
    let result = (|| {
        let mut seen = std::collections::BTreeSet::new();
        let got = client.retrieve_series(&s.study_uid, &s.series_uid, &mut |file| {
            let (_, inst, _, _) = split_part10(&file)?;
            let path = tmp.join(format!("{}.dcm", safe_name(&inst)));
            std::fs::write(&path, &file).map_err(io("write", &path))?;
            seen.insert(inst);
            Ok(())
        });
        let expected = s.n_instances.map_or(seen.len(), |e| e as usize).max(1);
        let incomplete = |why: String| Error::Incomplete { server: client.server(), series: s.series_uid.clone(), got: seen.len(), expected, why };
        match got {
            // A transfer that broke off midway: say how far it got.
            Err(Error::Protocol { why, .. }) => return Err(incomplete(why)),
            Err(e) => return Err(e),
            Ok(_) if seen.len() < expected => return Err(incomplete("the server ended the transfer early".into())),
            Ok(0) => return Err(incomplete("the server sent no instance".into())),
            Ok(_) => {}
        }
        Ok(seen.len())
    })();
    match result {
        Ok(n_files) => {
            std::fs::rename(&tmp, &dir).map_err(io("rename", &tmp))?;
            Ok(PulledSeries { series: s.clone(), dir, n_files })
        }
        Err(e) => {
            // Nothing of an incomplete series stays behind.
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{FindQuery, StoreReport, StudyMatch};

    /// A PACS whose study has two CT series; the second breaks off after its first instance.
    struct Breaking {
        first: Vec<u8>,
    }

    impl Pacs for Breaking {
        fn server(&self) -> String {
            "test://breaking".into()
        }
        fn find_studies(&mut self, _: &FindQuery) -> Result<Vec<StudyMatch>> {
            Ok(Vec::new())
        }
        fn find_series(&mut self, study_uid: &str) -> Result<Vec<SeriesMatch>> {
            let series = |uid: &str| SeriesMatch { study_uid: study_uid.into(), series_uid: uid.into(), modality: "CT".into(), series_number: Some(1), n_instances: Some(1) };
            Ok(vec![series("1.2.3.1"), series("1.2.3.2")])
        }
        fn retrieve_series(&mut self, _: &str, series_uid: &str, sink: &mut dyn FnMut(Vec<u8>) -> Result<()>) -> Result<usize> {
            if series_uid.ends_with(".2") {
                return Err(Error::Protocol { server: self.server(), why: "the association was aborted".into() });
            }
            sink(self.first.clone())?;
            Ok(1)
        }
        fn store(&mut self, _: &[Vec<u8>]) -> Result<StoreReport> {
            Ok(StoreReport::default())
        }
        fn echo(&mut self) -> Result<()> {
            Ok(())
        }
    }

    /// Issue 45: a failed pull left an empty `--out` folder behind; now it leaves nothing.
    #[test]
    fn issue_45_a_failed_pull_removes_what_it_made() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("pulled");
        let first = crate::dimse::part10(&[], "1.2.840.10008.1.2.1", "1.2.840.10008.5.1.4.1.1.2", "1.2.3.1.1").unwrap();
        let mut client = Breaking { first };
        let e = pull(&mut client, "1.2.3", &out, &Which::AllCt).unwrap_err();
        assert!(e.to_string().contains("aborted"), "{e}");
        assert!(!out.exists(), "the folder the pull made is removed");
        // A folder that was there before stays, emptied of what the pull put in it.
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("mine.txt"), "x").unwrap();
        assert!(pull(&mut client, "1.2.3", &out, &Which::AllCt).is_err());
        let left: Vec<_> = std::fs::read_dir(&out).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, ["mine.txt"]);
    }
}
