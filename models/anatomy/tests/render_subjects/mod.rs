//! The render sets' subjects as bone surfaces, for the harnesses of `ct_render` (test-data
//! generation): z013's bones, and an atlas pelvis with z013's femurs set into its sockets.

use coxa_anatomy::ct_render::joint::{pelvic_frame, socket_femur};
use coxa_anatomy::ct_render::sets::Subject;
use coxa_core::{Mesh, Side};

use crate::common;

/// The bones of a subject, source frame: (label, mesh). An atlas pelvis gets z013's femurs set
/// into its sockets, turned with z013's pelvic frame onto the atlas pelvis's
/// ([`socket_femur`]).
pub fn subject_bones(s: Subject, z013: &[(u16, Mesh)]) -> Result<Vec<(u16, Mesh)>, String> {
    match s {
        Subject::Z013 => Ok(z013.to_vec()),
        Subject::Atlas(id) => {
            let dir = common::data("pelvis_atlas/surface").ok_or("no atlas")?;
            let read = |name: &str| coxa_io::mesh::read_vtk(&dir.join(format!("{name}{id}_cpd.vtk"))).map_err(|e| format!("{name}{id}: {e}"));
            let (hl, hr, sa) = (read("LeftHip")?, read("RightHip")?, read("Sacrum")?);
            let mesh = |l: u16| z013.iter().find(|(x, _)| *x == l).map(|(_, m)| m).ok_or("z013 bone");
            let z013_frame = pelvic_frame(mesh(77)?, mesh(78)?)?;
            let frame = pelvic_frame(&hl, &hr)?;
            let mut out = vec![(77u16, hl.clone()), (78, hr.clone()), (25, sa)];
            for (side, hip, fl) in [(Side::Left, &hl, 75u16), (Side::Right, &hr, 76)] {
                let femur = mesh(fl)?;
                let m = socket_femur(femur, side, &z013_frame, hip, &frame, 2.5)?;
                out.push((fl, femur.transformed(&m)));
            }
            Ok(out)
        }
    }
}

/// z013's five bones by their label ids; `None` where the data is not here.
pub fn z013() -> Option<Vec<(u16, Mesh)>> {
    let dir = common::data("vsd_bones")?;
    let read = |f: &str| coxa_io::mesh::read_stl(&dir.join(f)).unwrap();
    Some(vec![(77, read("z013_Hip_L.stl")), (78, read("z013_Hip_R.stl")), (25, read("z013_Sacrum.stl")), (75, read("z013_Femur_L.stl")), (76, read("z013_Femur_R.stl"))])
}
