//! Sizes written for people in messages (a leaf module: the error types of every reader use it).

/// `n` bytes for messages: "17.2 GB", "512 MB", "5120 bytes" (decimal units).
pub(crate) fn human_bytes(n: u64) -> String {
    let x = n as f64;
    if x >= 1e9 {
        format!("{:.1} GB", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.1} MB", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.1} kB", x / 1e3)
    } else {
        format!("{n} bytes")
    }
}
