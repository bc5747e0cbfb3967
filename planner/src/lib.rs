//! Implant sizing and placement for total hip arthroplasty.
//!
//! Empty until the planner issue: it will size cup, liner, head and stem from the anatomy and
//! optimise their placement, scoring range of motion through a trait that `coxa-sim` implements,
//! so this crate never depends on the simulator.
