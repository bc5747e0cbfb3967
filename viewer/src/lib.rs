//! The 3D viewer (bevy): bones, muscles, implants, CT slices with overlays, ROM animation.
//!
//! Empty until the viewer issue; bevy is added then, and only to this crate.
