//! Times the DRR of the benchmark (a 1024 x 1024 AP pelvis of a 512 x 512 x 300 CT) in wall and
//! CPU seconds: on a loaded machine the CPU time over the cores is the wall time an idle machine
//! would take. `cargo run --profile bench -p coxa-diagnostics --example drr_time`. Also times a
//! lateral view and an AP view tilted 10 deg about the body axis (both cast through a virtual
//! detector parallel to the CT's planes; `drr_speed` times the benchmark's four views best of 5).
//! `-- --i16` keeps the CT as `i16` (as the readers keep an integer CT): the rays then turn HU
//! into weights sample by sample.

use coxa_core::Side;
use coxa_diagnostics::drr::{DrrVolume, XrayGeometry, ap_pelvis, benchmark_ct, lateral_hip};
use nalgebra::{Point3, Vector3};

/// This process's user + system CPU seconds (Linux /proc; 0 elsewhere).
fn cpu_s() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = s.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn main() {
    let ct = benchmark_ct(512, 512, 300);
    let ct = if std::env::args().any(|a| a == "--i16") { coxa_core::Volume::from_i16(ct.grid().clone(), ct.hu().mapv(|v| v as i16)).unwrap() } else { ct };
    let g = ap_pelvis(Point3::new(0.0, 0.0, 0.0), Vector3::x(), Vector3::z(), 205.0, 1150.0, 1024, 1024, 0.42).unwrap();
    let (c0, t0) = (cpu_s(), std::time::Instant::now());
    let vol = DrrVolume::new(&ct).unwrap();
    let (c1, t1) = (cpu_s(), std::time::Instant::now());
    let n = 3;
    let mut total = 0.0f64;
    for _ in 0..n {
        total += f64::from(vol.project(&g).sum());
    }
    let (c2, t2) = (cpu_s(), std::time::Instant::now());
    let time = |g: &XrayGeometry| {
        let (c, t) = (cpu_s(), std::time::Instant::now());
        let sum = vol.project(g).sum();
        (t.elapsed().as_secs_f64(), cpu_s() - c, sum)
    };
    let lateral = lateral_hip(Point3::new(-90.0, 10.0, 0.0), Side::Right, 150.0, 1150.0, 1024, 1024, 0.42).unwrap();
    let tilted =
        ap_pelvis(Point3::new(0.0, 0.0, 0.0), nalgebra::Rotation3::from_axis_angle(&Vector3::z_axis(), 10f64.to_radians()) * Vector3::x(), Vector3::z(), 205.0, 1150.0, 1024, 1024, 0.42).unwrap();
    for (name, g) in [("lateral", &lateral), ("AP tilted 10 deg", &tilted)] {
        let (wall, cpu, sum) = time(g);
        println!("{name}: wall {wall:.3} s cpu {cpu:.3} s; checksum {sum:.3e}");
    }
    println!(
        "threads {}; prepare: wall {:.3} s cpu {:.3} s; project (mean of {n}): wall {:.3} s cpu {:.3} s; checksum {total:.3e}",
        rayon::current_num_threads(),
        (t1 - t0).as_secs_f64(),
        c1 - c0,
        (t2 - t1).as_secs_f64() / n as f64,
        (c2 - c1) / n as f64
    );
}
