//! The DICOM UIDs coxa makes, one generator for every object it writes (the CT series of
//! [`super::write_series`], coxa-pacs's SEG, SR, PDF and secondary captures, the simulated
//! radiograph): `2.25.` followed by the first 127 bits of a SHA-256, as a decimal integer
//! (PS3.5 B.2, a UUID-derived UID; at most 44 characters, within the 64 a UID may have).
//!
//! SHA-256 rather than std's `DefaultHasher`: the same parts give the same UID on every platform
//! and every Rust release, which `DefaultHasher` does not promise, and a UID is persisted in files
//! and PACS. Written here rather than taken from a crate: it is the three lines of
//! [`stable_uid`] over `sha2`, and the `uuid` crate's v4/v5 UUIDs would need the same conversion.

use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// A UID from `parts` alone: `2.25.` + the first 127 bits of SHA-256 over the parts, each
/// preceded by its length (8 bytes, little endian), so `["ab", "c"]` and `["a", "bc"]` differ.
/// The same parts give the same UID everywhere and always.
pub fn stable_uid(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    format!("2.25.{}", u128::from_be_bytes(b) >> 1)
}

/// A UID no other call makes: [`stable_uid`] over `parts`, the clock (ns), the process id and a
/// count of the calls in this process.
pub fn unique_uid(parts: &[&[u8]]) -> String {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let now_ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let mut all: Vec<&[u8]> = parts.to_vec();
    let (now, pid, call) = (now_ns.to_le_bytes(), std::process::id().to_le_bytes(), call.to_le_bytes());
    all.extend([b"unique".as_slice(), &now, &pid, &call]);
    stable_uid(&all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(u: &str) -> bool {
        u.len() <= 64 && u.starts_with("2.25.") && u[5..].chars().all(|c| c.is_ascii_digit()) && !u[5..].starts_with('0')
    }

    #[test]
    fn stable_uids_are_sha256_and_depend_on_every_part() {
        // Python: h = hashlib.sha256(); for p in (b"seg", b"1.2.3", b"x"):
        // h.update(len(p).to_bytes(8, "little")); h.update(p)
        // "2.25.%d" % (int.from_bytes(h.digest()[:16], "big") >> 1)
        assert_eq!(stable_uid(&[b"seg", b"1.2.3", b"x"]), "2.25.17804792973195481474221575358468460354");
        assert_eq!(stable_uid(&[]), "2.25.151326289959482788943193236269291789458");
        let a = stable_uid(&[b"seg", b"1.2.3", b"x"]);
        assert!(valid(&a), "{a}");
        assert_ne!(a, stable_uid(&[b"seg", b"1.2.3", b"y"]));
        assert_ne!(stable_uid(&[b"ab", b"c"]), stable_uid(&[b"a", b"bc"]));
    }

    #[test]
    fn unique_uids_differ_call_to_call() {
        let all: std::collections::HashSet<String> = (0..1000).map(|_| unique_uid(&[b"sop"])).collect();
        assert_eq!(all.len(), 1000);
        assert!(all.iter().all(|u| valid(u)));
    }
}
