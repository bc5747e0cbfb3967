//! Best-of-5 wall times of the DRR benchmark's four geometries (`benches/benches/drr.rs`): a
//! 1024 x 1024 radiograph of a 512 x 512 x 300 CT as an AP pelvis, prepared and AP, an AP tilted
//! 8 deg about z and 6 deg about x, and a lateral hip (the beam at 45 deg in the x-z plane).
//! `cargo run -j1 --release -p coxa-diagnostics --example drr_speed [-- RUNS [NAME]]` (NAME: one
//! of AP, prepare+AP, tilted, lateral). The machine may be
//! shared: the best of several runs is the closest to an idle machine's time; the CPU seconds
//! (user + system, over the cores) are printed beside it.

use coxa_core::Side;
use coxa_diagnostics::drr::{DrrVolume, ap_pelvis, benchmark_ct, lateral_hip};
use nalgebra::{Point3, Rotation3, Vector3};

/// This process's user + system CPU seconds (Linux /proc; 0 elsewhere).
fn cpu_s() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = s.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

/// Best wall and CPU seconds of `runs` calls of `f`, and the last result's sum.
fn best(runs: usize, mut f: impl FnMut() -> f32) -> (f64, f64, f32) {
    let (mut wall, mut cpu, mut sum) = (f64::INFINITY, f64::INFINITY, 0.0);
    for _ in 0..runs {
        let (c, t) = (cpu_s(), std::time::Instant::now());
        sum = f();
        wall = wall.min(t.elapsed().as_secs_f64());
        cpu = cpu.min(cpu_s() - c);
    }
    (wall, cpu, sum)
}

fn main() {
    let runs = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5usize);
    let only = std::env::args().nth(2);
    let ct = benchmark_ct(512, 512, 300);
    let vol = DrrVolume::new(&ct).expect("the benchmark CT");
    let g = ap_pelvis(Point3::new(0.0, 0.0, 0.0), Vector3::x(), Vector3::z(), 205.0, 1150.0, 1024, 1024, 0.42).expect("AP");
    let tilt = Rotation3::from_axis_angle(&Vector3::z_axis(), 8f64.to_radians()) * Rotation3::from_axis_angle(&Vector3::x_axis(), 6f64.to_radians());
    let tilted = ap_pelvis(Point3::new(0.0, 0.0, 0.0), tilt * Vector3::x(), tilt * Vector3::z(), 205.0, 1150.0, 1024, 1024, 0.42).expect("tilted");
    let lateral = lateral_hip(Point3::new(-90.0, 10.0, 0.0), Side::Right, 300.0, 1150.0, 1024, 1024, 0.42).expect("lateral");
    println!("threads {}, best of {runs}", rayon::current_num_threads());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    /// A view's name and its radiograph's pixel sum.
    type Case<'a> = (&'static str, Box<dyn Fn() -> f32 + 'a>);
    let cases: [Case<'_>; 4] = [
        ("AP", Box::new(|| vol.project(&g).sum())),
        ("prepare+AP", Box::new(|| DrrVolume::new(&ct).expect("the benchmark CT").project(&g).sum())),
        ("tilted", Box::new(|| vol.project(&tilted).sum())),
        ("lateral", Box::new(|| vol.project(&lateral).sum())),
    ];
    for (name, f) in cases.iter().filter(|(name, _)| only.as_deref().is_none_or(|o| o == *name)) {
        let (wall, cpu, sum) = best(runs, f);
        println!("{name:<12} wall {wall:.3} s  cpu {cpu:.3} s  sum {sum:.6e}");
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
}
