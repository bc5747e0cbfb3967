//! Range of motion, impingement (parry3d) and musculoskeletal simulation (rapier3d).
//!
//! Empty until the implants/ROM and musculoskeletal issues. This crate is the single place where
//! coxa's mm/f64 geometry becomes the solvers' f32 (and SI units inside the muscle model).
