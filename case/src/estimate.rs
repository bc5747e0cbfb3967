//! What a run will cost, told before it starts (issue 16: a 10,000-point sweep peaked at 14.7 GB
//! with no word beforehand).
//!
//! The estimate is coarse and errs high; its per-unit costs are the figures measured on this
//! project's machine (2 cores, release build, headless):
//! - time: anatomy from bone surfaces about 5 s and from a CT about 60 s per case; a planned
//!   point about 60 s; a fixed sweep point (construct, ROM over every motion, its files) 10 ms:
//!   measured 3.6 ms (a 10,000-point sweep of the vsd bones over all 14 motions took 36 s wall,
//!   23 CPU-s, at a load of 7-10);
//! - memory: about 600 MB per running case plus 5 kB per sweep point (the points' summary rows;
//!   each point's bones and ROM are dropped once written): the same sweep peaked at 199 MB
//!   against 182 MB for 100 points, 1.7 kB a point. Before the sweep streamed its points, 10,000
//!   points peaked at 14.7 GB (1.5 MB a point); times the cases running at once;
//! - disk: about 8 MB per case (meshes, pictures, report) plus 15 kB per sweep point (measured
//!   11 kB: `rom/<point>.json` and the sweep's rows).
//!
//! A run is refused without `--yes` when the estimate exceeds a limit: memory above what coxa
//! may use ([`coxa_io::Limits`], `--max-memory`), more than 24 hours, or more than 50 GB of disk.

use crate::scenario::{CaseInput, Scenario};

/// Limits past which a run needs `--yes`.
pub const MAX_HOURS: f64 = 24.0;
/// See [`MAX_HOURS`].
pub const MAX_DISK_BYTES: f64 = 50e9;
/// Runs with at least this many case x sweep points print their estimate.
pub const TELL_FROM_POINTS: usize = 100;

/// The estimate of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Cases.
    pub cases: usize,
    /// Sweep points per case.
    pub points: usize,
    /// Wall-clock time, s.
    pub seconds: f64,
    /// Peak memory, bytes.
    pub memory_bytes: f64,
    /// Disk, bytes.
    pub disk_bytes: f64,
}

impl Estimate {
    /// The estimate of running `scn` on `threads` cores.
    pub fn of(scn: &Scenario, threads: usize) -> Self {
        let points = scn.sweep.len();
        let planned = scn.sweep.iter().filter(|p| p.placement.is_none()).count();
        let per_point_s = (points - planned) as f64 * 0.01 + planned as f64 * 60.0;
        let anatomy_s: f64 = scn.cases.iter().map(|c| if matches!(c.input, CaseInput::Meshes(_) | CaseInput::ShapeSample(_)) { 5.0 } else { 60.0 }).sum();
        let threads = threads.max(1);
        let parallel = threads.min(scn.cases.len()).max(1) as f64;
        let cases = scn.cases.len() as f64;
        Self {
            cases: scn.cases.len(),
            points,
            seconds: (anatomy_s + cases * per_point_s) / parallel,
            memory_bytes: parallel * (600e6 + points as f64 * 5e3),
            disk_bytes: cases * (8e6 + points as f64 * 15e3),
        }
    }

    /// One line for the user.
    pub fn line(&self) -> String {
        let t = if self.seconds < 120.0 {
            format!("{:.0} s", self.seconds)
        } else if self.seconds < 7200.0 {
            format!("{:.0} min", self.seconds / 60.0)
        } else {
            format!("{:.1} h", self.seconds / 3600.0)
        };
        format!("estimate: {} case(s) x {} sweep point(s): about {t}, peak memory about {:.1} GB, disk about {:.1} GB", self.cases, self.points, self.memory_bytes / 1e9, self.disk_bytes / 1e9)
    }

    /// Why the run needs `--yes`, if it does.
    pub fn over_limit(&self, max_memory_bytes: u64) -> Option<String> {
        if self.memory_bytes > max_memory_bytes as f64 {
            return Some(format!("its memory estimate is above the {:.1} GB coxa may use (--max-memory)", max_memory_bytes as f64 / 1e9));
        }
        if self.seconds > MAX_HOURS * 3600.0 {
            return Some(format!("it would run longer than {MAX_HOURS} hours"));
        }
        if self.disk_bytes > MAX_DISK_BYTES {
            return Some(format!("it would write more than {:.0} GB", MAX_DISK_BYTES / 1e9));
        }
        None
    }
}

/// Prints the estimate of a large run and refuses one past a limit unless `yes`.
///
/// # Errors
/// The run is past a limit and `yes` is false.
pub fn check(scn: &Scenario, yes: bool) -> crate::Result<()> {
    let e = Estimate::of(scn, rayon::current_num_threads());
    if e.cases * e.points >= TELL_FROM_POINTS {
        println!("{}", e.line());
    }
    if let Some(why) = e.over_limit(coxa_io::Limits::new().max_bytes)
        && !yes
    {
        crate::bail!("{} not started: {why} ({}); split the sweep, or pass --yes to run it anyway", scn.file.display(), e.line());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &str) -> Scenario {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.toml");
        std::fs::write(&p, format!("schema_version = 1\n[[cases]]\nname = \"a\"\nphantom = true\n{extra}")).unwrap();
        Scenario::load(&p).unwrap()
    }

    /// Issue 16: a 10,000-point sweep started with no estimate and peaked at 14.7 GB. It now
    /// streams its points (flat memory, about 0.2 GB measured): it is told, and runs. A run past
    /// a limit (here a cohort of 3,000 CT cases, about 25 hours) is refused without --yes.
    #[test]
    fn issue_16_large_sweep_is_estimated_and_refused_without_yes() {
        let list = |n: usize, step: f64| format!("[{}]", (0..n).map(|i| format!("{}", i as f64 * step)).collect::<Vec<_>>().join(", "));
        let sweep = scenario(&format!("[placement]\ncup_inclination_deg = {}\ncup_anteversion_deg = {}\n", list(100, 0.5), list(100, 0.5)));
        let e = Estimate::of(&sweep, 2);
        assert_eq!(e.points, 10_000);
        assert!(e.points >= TELL_FROM_POINTS);
        assert!(e.memory_bytes < 1e9 && e.seconds < 600.0, "{}", e.line());
        assert!(e.over_limit(12_000_000_000).is_none(), "{}", e.line());
        let cases: String = (0..3000).map(|i| format!("[[cases]]\nname = \"c{i}\"\nphantom = true\n")).collect();
        let big = scenario(&format!("{cases}[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 15\n"));
        let e = Estimate::of(&big, 2);
        assert!(e.seconds > MAX_HOURS * 3600.0, "{}", e.line());
        assert!(e.over_limit(12_000_000_000).is_some_and(|why| why.contains("hours")));
        let r = check(&big, false);
        let small = scenario("");
        assert!(Estimate::of(&small, 2).over_limit(12_000_000_000).is_none());
        check(&small, false).unwrap();
        // Refused past the limit this machine allows, unless --yes.
        if Estimate::of(&big, rayon::current_num_threads()).over_limit(coxa_io::Limits::new().max_bytes).is_some() {
            let err = r.unwrap_err().to_string();
            assert!(err.contains("--yes") && err.contains("estimate:"), "{err}");
            check(&big, true).unwrap();
        } else {
            r.unwrap();
        }
    }
}
