//! The git revision `coxa --version` names (`COXA_GIT_REVISION`): `git rev-parse` of the
//! checkout being built, or `unknown` outside a git checkout (a source archive) or without git.
//! The build script runs again when HEAD moves (a commit, a checkout) — not on an uncommitted
//! edit: the revision says which commit the build started from.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=COXA_GIT_REVISION");
    let revision = std::env::var("COXA_GIT_REVISION").ok().filter(|r| !r.is_empty()).or_else(|| git(&["rev-parse", "--short=12", "HEAD"]));
    // HEAD, the branch it names and the packed refs: what moves when a commit is made.
    if let (Some(git_dir), Some(common)) = (git(&["rev-parse", "--absolute-git-dir"]), git(&["rev-parse", "--git-common-dir"])) {
        let (git_dir, common) = (PathBuf::from(git_dir), PathBuf::from(common));
        let common = if common.is_absolute() { common } else { std::env::current_dir().map(|d| d.join(&common)).unwrap_or(common) };
        // Only files that exist: cargo counts a missing one as changed, so a clone without packed
        // refs (or a branch only packed) would rebuild this crate on every build.
        let mut watch = vec![git_dir.join("HEAD"), common.join("packed-refs")];
        watch.extend(git(&["symbolic-ref", "-q", "HEAD"]).map(|branch| common.join(branch)));
        for path in watch.iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    println!("cargo:rustc-env=COXA_GIT_REVISION={}", revision.as_deref().unwrap_or("unknown"));
}
