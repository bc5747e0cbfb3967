//! Writes the JSON Schemas of coxa's records into a folder (the repository's `schemas/`), or
//! with `--check` writes nothing and fails naming the files that differ (`scripts/schemas`).
//!
//! `cargo run -p coxa-scenarios --example schemas -- [--check] [FOLDER]`

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.iter().any(|a| a == "--check");
    let dir = args.iter().find(|a| !a.starts_with("--")).map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas"), PathBuf::from);
    let stale = coxa_case::records::stale_schemas(&dir);
    if check {
        if stale.is_empty() {
            println!("{}: every schema is current", dir.display());
            return;
        }
        eprintln!("stale schemas in {}: {} (run scripts/schemas)", dir.display(), stale.join(", "));
        std::process::exit(1);
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        std::process::exit(2);
    }
    for (file, text) in coxa_case::records::schemas() {
        if let Err(e) = std::fs::write(dir.join(&file), text) {
            eprintln!("cannot write {}: {e}", dir.join(&file).display());
            std::process::exit(2);
        }
    }
    println!("wrote {} schemas into {} ({} were stale)", coxa_case::records::RECORDS.len(), dir.display(), stale.len());
}
