//! Issue 24: the bony socket measured truly and the cup sized as surgeons do.

use anyhow::Result;

use coxa_anatomy::landmarks;
use coxa_core::{Mesh, Side};

use crate::common::shared_data;

fn bone(name: &str) -> Option<Mesh> {
    shared_data(&format!("vsd_bones/z013_{name}.stl")).map(|p| coxa_io::mesh::read_stl(&p).unwrap())
}

#[test]
fn scratch_vsd_socket() -> Result<()> {
    for (h, f, side) in [("Hip_L", "Femur_L", Side::Left), ("Hip_R", "Femur_R", Side::Right)] {
        let (Some(hip), Some(fem)) = (bone(h), bone(f)) else { return Ok(()) };
        let fl = landmarks::femur_landmarks(&fem, side)?;
        let a = landmarks::acetabulum_landmarks(&hip, side, Some((fl.head_centre.lps_mm, fl.head_radius_mm)))?;
        eprintln!("{side:?}: head r {:.2}, socket r {:.2} rms {:.2}, js {:?}, rim d {:.2}, lunate {} fossa {}, centre gap {:.2}",
            fl.head_radius_mm, a.radius_mm, a.fit_rms_mm, a.joint_space_mm, a.rim_diameter_mm, a.n_lunate_vertices, a.n_fossa_vertices,
            (a.centre.lps_mm - fl.head_centre.lps_mm).norm());
    }
    Ok(())
}
