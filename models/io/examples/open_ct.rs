//! Opens a CT (DICOM file or folder, NIfTI) as `coxa_io::open` does and prints its size or the
//! error: `cargo run -p coxa-io --example open_ct -- PATH [MAX_MEMORY_BYTES]`. Used to measure
//! the peak memory of refusing hostile files (`/usr/bin/time -v`).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: open_ct PATH [MAX_MEMORY_BYTES]");
        return ExitCode::from(2);
    };
    let mut options = coxa_io::OpenOptions::new();
    if let Some(max) = args.next().and_then(|a| a.to_str().and_then(|s| s.parse::<u64>().ok())) {
        options = options.with_limits(coxa_io::Limits::new().with_max_bytes(max));
    }
    match coxa_io::open(&path, &options) {
        Ok(loaded) => {
            println!("{:?} voxels, spacing {:?} mm", loaded.volume.grid().size(), loaded.volume.grid().spacing_mm().as_slice());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
