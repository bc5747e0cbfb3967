//! Resource limits of the readers: how much memory a file may make coxa allocate.
//!
//! Every reader works out what a file would cost (the output volume or mesh plus its working
//! buffers) from the header alone and compares it with [`Limits::max_bytes`] before it allocates
//! anything of that size. A header that announces more than the file can hold is refused too,
//! whatever the limit (see the readers).
//!
//! The default limit is half of the memory the kernel reports available (`MemAvailable` in
//! `/proc/meminfo`) when it is first asked for, leaving the other half to the stages that follow
//! the reader (segmentation keeps several masks of the volume's size). Where `/proc/meminfo` cannot
//! be read (not Linux, a sandbox), it is [`FALLBACK_MAX_BYTES`]. A caller (the CLI's
//! `--max-memory`) overrides it with [`Limits::with_max_bytes`].
//!
//! Files read whole (text inputs: scenarios, landmarks, model cards, `.osim`, `.mot`/`.sto`, CSV,
//! JSON records; and ONNX weights) go through [`read_bounded`] / [`read_text_bounded`]: the file's
//! size is checked against the smaller of its [`Bound`] and [`Limits::max_bytes`] before reading,
//! and the read itself stops one byte past that (`take`), so `/dev/zero`, a FIFO or a file that
//! grows while it is read are bounded too.

use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The limit where the machine's available memory cannot be read: 4 GiB.
pub const FALLBACK_MAX_BYTES: u64 = 4 << 30;

/// Deflate expands at most about 1032:1 (258-byte matches of 2 bits each): deflated data of `n`
/// bytes (a `.nii.gz`, a zip member) holds less than this many times `n` bytes; a header
/// declaring more lies (a zip bomb or a damaged file).
pub const MAX_DEFLATE_RATIO: u64 = 1040;

/// Where a [`Limits`] value came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitSource {
    /// Half of `MemAvailable` in `/proc/meminfo`.
    MachineMemory,
    /// [`FALLBACK_MAX_BYTES`]: the machine's memory could not be read.
    Fallback,
    /// Set by the caller (e.g. `--max-memory`).
    Caller,
}

/// How much memory one read may take. Built as `Limits::new()` (from the machine) or
/// `Limits::new().with_max_bytes(8 << 30)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest number of bytes one read may allocate for its result and working buffers.
    pub max_bytes: u64,
    /// Where `max_bytes` came from.
    pub source: LimitSource,
}

/// The process-wide limit set by [`Limits::set_process_max_bytes`]; 0 while unset.
static PROCESS_MAX_BYTES: AtomicU64 = AtomicU64::new(0);

impl Default for Limits {
    /// The limit set for this process ([`Limits::set_process_max_bytes`], e.g. by the CLI's
    /// `--max-memory`), else [`Limits::from_machine`].
    fn default() -> Self {
        match PROCESS_MAX_BYTES.load(Ordering::Relaxed) {
            0 => Self::from_machine(),
            max_bytes => Self { max_bytes, source: LimitSource::Caller },
        }
    }
}

impl Limits {
    /// The default: the process-wide limit if one was set, else half of the memory available on
    /// this machine (see the module docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// Half of `MemAvailable` from `/proc/meminfo`, read once per process; [`FALLBACK_MAX_BYTES`]
    /// where that cannot be read.
    pub fn from_machine() -> Self {
        static MACHINE: OnceLock<Limits> = OnceLock::new();
        *MACHINE.get_or_init(|| match std::fs::read_to_string("/proc/meminfo").ok().as_deref().and_then(mem_available_bytes) {
            Some(avail) => Self { max_bytes: avail / 2, source: LimitSource::MachineMemory },
            None => Self { max_bytes: FALLBACK_MAX_BYTES, source: LimitSource::Fallback },
        })
    }

    /// Sets the limit every later [`Limits::new`] in this process returns: the program's
    /// `--max-memory`, set once at start-up so that every reader (CT, label map, mesh) in every
    /// stage honours it. `0` means "unset" (the machine's limit again).
    pub fn set_process_max_bytes(max_bytes: u64) {
        PROCESS_MAX_BYTES.store(max_bytes, Ordering::Relaxed);
    }

    /// A caller's limit in bytes (e.g. from `--max-memory`).
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self.source = LimitSource::Caller;
        self
    }

    /// `Ok` when `need_bytes` fits the limit, else [`crate::Error::TooMuchMemory`] naming `path`
    /// and `what` needs the memory.
    pub(crate) fn check(&self, path: &Path, what: impl FnOnce() -> String, need_bytes: u64) -> crate::Result<()> {
        if need_bytes <= self.max_bytes {
            return Ok(());
        }
        Err(crate::Error::TooMuchMemory { path: path.to_path_buf(), what: what(), need_bytes, limit_bytes: self.max_bytes, limit_source: self.describe_source() })
    }

    fn describe_source(&self) -> &'static str {
        match self.source {
            LimitSource::MachineMemory => "half of the memory available on this machine",
            LimitSource::Fallback => "the 4 GiB default (this machine's memory could not be read)",
            LimitSource::Caller => "the limit given with --max-memory",
        }
    }
}

/// What a whole-file read may hold at most (besides [`Limits::max_bytes`], whichever is smaller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// Bytes.
    pub bytes: u64,
    /// What it bounds, for messages ("a text input").
    pub what: &'static str,
}

impl Bound {
    /// Text inputs (scenario, landmarks, model card, `.osim`, `.mot`/`.sto`, CSV, JSON records):
    /// 256 MiB, far above any real one (a 10-minute motion capture at 1000 Hz with 100 columns
    /// is about 60 MB as text) and far below the memory of a machine that runs coxa.
    pub const TEXT: Bound = Bound { bytes: 256 << 20, what: "a text input" };
    /// ONNX weights: 2 GiB, the protobuf limit of one ONNX file (larger models keep their
    /// weights in external data files, which coxa does not read).
    pub const WEIGHTS: Bound = Bound { bytes: 2 << 30, what: "an ONNX file" };
}

/// Reads the whole file at `path`, refusing it (an [`std::io::Error`] of kind
/// [`std::io::ErrorKind::FileTooLarge`] whose message names the size, the bound and the fix)
/// when it is larger than `bound` or [`Limits::new`]'s `max_bytes`, whichever is smaller: from
/// its metadata before reading a byte, and for a stream (a FIFO, `/dev/zero`) after reading one
/// byte more than that, never more.
///
/// Callers wrap the error with the file's name as they wrap any I/O error.
pub fn read_bounded(path: &Path, bound: Bound) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let limits = Limits::new();
    let by_bound = bound.bytes <= limits.max_bytes;
    let limit = if by_bound { bound.bytes } else { limits.max_bytes };
    // `Some(size)` of a file known to be larger; `None` for a stream that went on past the limit.
    let too_large = |size: Option<u64>| {
        let limit = crate::human::human_bytes(limit);
        let what = if by_bound {
            format!("the {limit} {} may have at most; is it the right file?", bound.what)
        } else {
            format!("the {limit} allowed ({}); is it the right file? else raise --max-memory", limits.describe_source())
        };
        let found = match size {
            Some(n) => format!("the file is {}, more than {what}", crate::human::human_bytes(n)),
            None => format!("the file goes on beyond {what}"),
        };
        std::io::Error::new(std::io::ErrorKind::FileTooLarge, found)
    };
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() > limit {
        return Err(too_large(Some(meta.len())));
    }
    let capacity = if meta.is_file() { meta.len().min(limit) } else { 0 };
    let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    let _ = file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(None));
    }
    Ok(bytes)
}

/// [`read_bounded`] as UTF-8 text (an [`std::io::ErrorKind::InvalidData`] error otherwise, as
/// [`std::fs::read_to_string`]).
pub fn read_text_bounded(path: &Path, bound: Bound) -> std::io::Result<String> {
    String::from_utf8(read_bounded(path, bound)?).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"))
}

/// `MemAvailable` in bytes from the text of `/proc/meminfo` (`MemAvailable:  123456 kB`).
pub(crate) fn mem_available_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut tok = line.split_ascii_whitespace().skip(1);
    let value: u64 = tok.next()?.parse().ok()?;
    let scale = match tok.next() {
        Some("kB") => 1024,
        None => 1,
        Some(_) => return None,
    };
    value.checked_mul(scale)
}

/// `a * b * ...` in `u64`, `u64::MAX` when it overflows (which any limit then refuses).
pub(crate) fn product(factors: &[u64]) -> u64 {
    factors.iter().try_fold(1u64, |acc, &f| acc.checked_mul(f)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_available_is_read_from_meminfo_text() {
        let text = "MemTotal:       24684084 kB\nMemFree:        19987828 kB\nMemAvailable:   23507536 kB\n";
        assert_eq!(mem_available_bytes(text), Some(23_507_536 * 1024));
        assert_eq!(mem_available_bytes("MemTotal: 5 kB\n"), None);
        assert_eq!(mem_available_bytes("MemAvailable: lots kB\n"), None);
        assert_eq!(mem_available_bytes("MemAvailable: 5 MB\n"), None);
    }

    #[test]
    fn the_machine_limit_is_half_the_available_memory_or_the_fallback() {
        let l = Limits::from_machine();
        match std::fs::read_to_string("/proc/meminfo").ok().as_deref().and_then(mem_available_bytes) {
            Some(avail) => {
                assert_eq!(l.source, LimitSource::MachineMemory);
                // MemAvailable moves while other processes run; the limit was read once.
                assert!(l.max_bytes > 0 && l.max_bytes <= avail, "{} vs {avail}", l.max_bytes);
            }
            None => assert_eq!(l, Limits { max_bytes: FALLBACK_MAX_BYTES, source: LimitSource::Fallback }),
        }
        let c = l.with_max_bytes(1000);
        assert_eq!((c.max_bytes, c.source), (1000, LimitSource::Caller));
    }

    #[test]
    fn whole_file_reads_are_bounded_by_size_and_by_stream() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.toml");
        std::fs::write(&p, "x = 1\n").unwrap();
        assert_eq!(read_text_bounded(&p, Bound::TEXT).unwrap(), "x = 1\n");
        let small = Bound { bytes: 4, what: "a test input" };
        let e = read_bounded(&p, small).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
        assert_eq!(e.to_string(), "the file is 6 bytes, more than the 4 bytes a test input may have at most; is it the right file?");
        // A stream that never ends: refused after limit + 1 bytes.
        let e = read_bounded(Path::new("/dev/zero"), Bound { bytes: 1 << 20, what: "a test input" }).unwrap_err();
        assert_eq!(e.to_string(), "the file goes on beyond the 1.0 MB a test input may have at most; is it the right file?");
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        assert_eq!(read_text_bounded(&p, Bound::TEXT).unwrap_err().kind(), std::io::ErrorKind::InvalidData);
    }

    #[test]
    fn check_refuses_above_the_limit_and_names_the_file() {
        let l = Limits::new().with_max_bytes(1_000_000);
        assert!(l.check(Path::new("a.nii"), || "x".into(), 1_000_000).is_ok());
        let e = l.check(Path::new("a.nii"), || "a 10x10x10 volume".into(), 2_000_000).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("a.nii") && msg.contains("2.0 MB") && msg.contains("--max-memory"), "{msg}");
        assert_eq!(product(&[u64::MAX, 2]), u64::MAX);
        assert_eq!(product(&[3, 4, 5]), 60);
    }
}
