//! `coxa run SCENARIO --shard I/N`: a deterministic slice of a scenario's cases, for any
//! scheduler (a Slurm job array, a shell loop over machines sharing a folder).
//!
//! Shard `I` of `N` (0 <= I < N, so `$SLURM_ARRAY_TASK_ID/N` fits) takes the cases at positions
//! `I, I + N, I + 2N, ...` of the scenario's case list (or of the list given with
//! `--cases-file`, kept in scenario order): round-robin, so neighbouring cases (often similar in
//! cost) spread over the shards, and the slice depends only on the list, never on what finished.
//! A case is the unit: its sweep points run inside it, so a case folder is the same whichever
//! shard (or one-machine run) made it.
//!
//! Shards write only their own files into the shared results folder: their cases'
//! `cases/.NAME.partial` -> `cases/NAME` and `failed/NAME.json`, and their own log
//! `logs/shard-I-of-N.jsonl` (`-jobJ` added in a Slurm array job J). They never write `summary.json`, `index.html` or `log.jsonl`,
//! and never clear temporaries (a neighbour may be writing its own): `coxa run --merge`
//! ([`crate::merge`]) builds the summary from whatever finished. A shard started again (a Slurm
//! requeue) skips its finished cases (manifest verified) and redoes the rest.

use std::path::Path;

use crate::bail;
use crate::error::{Context, Result};

/// One slice of a run: `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which slice, 0-based.
    pub index: usize,
    /// How many slices.
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` (0 <= I < N).
    ///
    /// # Errors
    /// Not two numbers, N = 0, or I >= N; the message shows the expected form.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("--shard {text:?}: expected I/N with 0 <= I < N, e.g. 0/4 ($SLURM_ARRAY_TASK_ID/N in a job array)");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }

    /// The items of this shard: positions `index, index + count, ...`.
    pub fn slice<T: Copy>(&self, items: &[T]) -> Vec<T> {
        items.iter().skip(self.index).step_by(self.count).copied().collect()
    }
}

/// Reads a case list: one case name per line; blank lines and `#` comments ignored.
///
/// # Errors
/// The file cannot be read, or lists no case.
pub fn read_case_list(path: &Path) -> Result<Vec<String>> {
    let text = coxa_io::read_text_bounded(path, coxa_io::Bound::TEXT).with_context(|| format!("reading the case list {}", path.display()))?;
    let names: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect();
    if names.is_empty() {
        bail!("{} lists no case (one case name per line)", path.display());
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_case_once() {
        let items: Vec<usize> = (0..23).collect();
        for n in 1..9 {
            let mut seen: Vec<usize> = (0..n).flat_map(|i| Shard { index: i, count: n }.slice(&items)).collect();
            seen.sort_unstable();
            assert_eq!(seen, items, "{n} shards");
            let sizes: Vec<usize> = (0..n).map(|i| Shard { index: i, count: n }.slice(&items).len()).collect();
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
        }
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard { index: 1, count: 4 }.slice(&items[..10]), vec![1, 5, 9]);
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2", ""] {
            assert!(Shard::parse(bad).unwrap_err().contains("expected I/N"), "{bad}");
        }
    }
}
