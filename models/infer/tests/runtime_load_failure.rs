//! A file that is not ONNX Runtime is refused with the documented error. Its own test binary:
//! a process loads ONNX Runtime once, so this must run before any successful load.

use coxa_infer::Error;
use coxa_infer::runtime::{FoundLibrary, load};

#[test]
fn a_broken_library_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("libonnxruntime.so.1.31.1");
    std::fs::write(&fake, b"this is not a shared library").unwrap();
    let e = load(FoundLibrary { path: fake.clone(), version: Some("1.31.1".into()), how: "test".into() }).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::RuntimeLoad { .. }), "{msg}");
    assert!(msg.contains(&fake.display().to_string()) && msg.contains("pip install --force-reinstall onnxruntime==1.31.1"), "{msg}");
    // The cause is kept.
    assert!(std::error::Error::source(&e).is_some());
}
