//! STEP (ISO 10303-21) solids, read only: an implant engineer's CAD part as coxa's triangle mesh.
//!
//! The file's B-rep (faces on planes, cylinders, cones, spheres, tori, B-spline and revolved
//! surfaces) is parsed by `truck-stepio` and tessellated by `truck-meshalgo` (RICOS's truck CAD
//! kernel, Apache-2.0): a B-rep and NURBS tessellator is far too large a job to write here. What
//! coxa adds around it, and why it is written here:
//! - the length unit, which truck does not read: the `LENGTH_UNIT` entity's SI prefix (`MILLI`,
//!   `CENTI`, none = metres) or a conversion-based inch, so that the mesh is in millimetres; a file
//!   without a length unit is refused rather than guessed;
//! - the solid check: the tessellated faces are welded where their edges meet (within 1e-6 of the
//!   part's size) and the result must be watertight (each edge shared by two triangles in opposite
//!   directions), or the file "is not a solid" (open surfaces, curves only, a broken shell);
//! - bounds: the file is read within the memory limits, and the tessellation tolerance is
//!   0.02 mm (1/1000 of the part's diagonal for parts over 20 mm), which keeps an implant at a
//!   few ten thousand triangles.
//!
//! Several solids in one file become one mesh (each closed, so the whole is watertight).

use std::path::Path;

use coxa_core::Mesh;
use nalgebra::Point3;
use truck_meshalgo::prelude::*;
use truck_stepio::r#in::{Table, ruststep};

use super::{MeshFileError, checked_mesh};
use crate::{Limits, Result};

/// Bytes of memory a STEP read takes per byte of file, at most: the text, the parsed entities
/// and the tessellation (bounded by the tolerance, not the file).
const MEMORY_PER_FILE_BYTE: u64 = 24;

/// The length unit of the file, in millimetres per file unit.
fn mm_per_unit(text: &str) -> std::result::Result<f64, String> {
    // Entities end with ';' and may span lines; the unit is a complex entity holding LENGTH_UNIT.
    let entity = text.split(';').map(|e| e.split_whitespace().collect::<String>().to_ascii_uppercase()).find(|e| e.contains("LENGTH_UNIT(") && e.contains("UNIT("));
    let Some(e) = entity else { return Err("it declares no length unit (LENGTH_UNIT); export it with units (millimetres)".into()) };
    if e.contains("SI_UNIT(") {
        return match ["(.MILLI.,.METRE.)", "(.CENTI.,.METRE.)", "($,.METRE.)", "(.MICRO.,.METRE.)"].iter().position(|u| e.contains(u)) {
            Some(i) => Ok([1.0, 10.0, 1000.0, 1e-3][i]),
            None => Err(format!("its length unit {e} is not one coxa reads (millimetre, centimetre, metre, micrometre); export it in millimetres")),
        };
    }
    if e.contains("CONVERSION_BASED_UNIT('INCH'") {
        return Ok(25.4);
    }
    Err(format!("its length unit {e} is not one coxa reads; export it in millimetres"))
}

/// The largest value a STEP part's numbers may have, in millimetres: no implant or bone is 10 m
/// across. Issue 61: truck's tessellator panicked on a 1 km cylinder and on a radius of 1e400
/// (read as infinity); such a file is refused before it reaches truck.
const MAX_NUMBER_MM: f64 = 1e4;

/// The largest INTEGER of a STEP part's DATA section (see [`numbers_in_range`]).
const MAX_INTEGER: f64 = 1e6;

/// The largest degree or knot multiplicity of a B-spline or Bézier record (see
/// [`spline_integers_sound`]): CAD kernels stop at degree 25 (Open CASCADE) and a multiplicity is
/// at most the degree plus one.
const MAX_SPLINE_INTEGER: i64 = 100;

/// Checks every number of the file: its exponent within an `i32` (truck's parser, ruststep,
/// unwraps the exponent's parse: `1.0E-99999999999` is 0.0 as a float but panicked there, found
/// by the coverage-guided run of issue 61), finite, and each REAL of the DATA section
/// (coordinates, radii, lengths, parameters), in millimetres, within [`MAX_NUMBER_MM`]. Entity
/// references (`#12`), strings and enumerations (`.T.`) are not numbers.
fn numbers_in_range(text: &str, scale: f64) -> std::result::Result<(), String> {
    let data_start = text.find("DATA;").unwrap_or(0);
    let data_end = text[data_start..].find("ENDSEC;").map_or(text.len(), |i| data_start + i);
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' => {
                // A string ('' is an escaped quote inside it).
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            }
            b'#' | b'.' | b'_' | b'A'..=b'Z' | b'a'..=b'z' => {
                // An entity reference, an enumeration or a keyword: skip the word (with its dashes).
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-' || (b[i] == b'.' && b[i - 1] != b'.')) {
                    i += 1;
                }
            }
            c if c.is_ascii_digit() || c == b'-' || c == b'+' => {
                let start = i;
                i += 1;
                while i < b.len() && (b[i].is_ascii_digit() || matches!(b[i], b'.' | b'E' | b'e') || (matches!(b[i], b'+' | b'-') && matches!(b[i - 1], b'E' | b'e'))) {
                    i += 1;
                }
                let token = &text[start..i];
                if let Some(k) = token.find(['E', 'e'])
                    && token[k + 1..].parse::<i32>().is_err()
                    && token[k + 1..].bytes().any(|c| c.is_ascii_digit())
                {
                    return Err(format!("the number {token}'s exponent is out of range; export the part again"));
                }
                let in_data = (data_start..data_end).contains(&start);
                if let Ok(v) = token.parse::<f64>() {
                    if !v.is_finite() {
                        return Err(format!("the number {token} is out of range (not finite); export the part again"));
                    }
                    // Only REALs are lengths; a REAL always holds a decimal point in a STEP
                    // file (ISO 10303-21), an INTEGER never (e.g. the year 2000 of
                    // APPLICATION_PROTOCOL_DEFINITION, which in metres would be 2 km).
                    // An INTEGER is a count, a degree, a multiplicity or a date; truck also
                    // takes one for a coordinate, so an integer of over a million is refused too.
                    if in_data && !token.contains('.') && v.abs() > MAX_INTEGER {
                        return Err(format!("the integer {token} is out of range (a STEP part's integers are counts, degrees and dates, under {MAX_INTEGER:e}); export the part again"));
                    }
                    if in_data && token.contains('.') && v.abs() * scale > MAX_NUMBER_MM {
                        return Err(format!(
                            "a number of {token} (in millimetres {:.3e}) is larger than any implant ({} m); check the part's length unit and size",
                            v.abs() * scale,
                            MAX_NUMBER_MM / 1e3
                        ));
                    }
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Reads a STEP file's solids as one mesh, in millimetres, within `limits`.
pub(crate) fn read_step_with(path: &Path, limits: &Limits) -> Result<Mesh> {
    let corrupt = |why: String| MeshFileError::Corrupt { path: path.to_path_buf(), format: "STEP", why };
    let len = std::fs::metadata(path).map_err(|e| crate::Error::Unreadable { path: path.to_path_buf(), source: e })?.len();
    limits.check(path, || format!("a STEP file of {}", crate::human::human_bytes(len)), len.saturating_mul(MEMORY_PER_FILE_BYTE))?;
    let bytes = super::read_all(path, limits)?;
    let text = String::from_utf8(bytes).map_err(|_| corrupt("it is not text (ISO 10303-21 files are ASCII)".into()))?;
    if !text.trim_start().starts_with("ISO-10303-21") {
        return Err(corrupt("it does not start with ISO-10303-21".into()).into());
    }
    let scale = mm_per_unit(&text).map_err(corrupt)?;
    numbers_in_range(&text, scale).map_err(corrupt)?;
    // truck's parser and tessellator unwrap on some malformed entities and may loop on others
    // (as they did on an entity truck could not read, refused in `tessellate` now): they run
    // on a thread of their own, a panic there is this file's error, not coxa's abort, and a part
    // not done within STEP_TIME_LIMIT is refused (the thread is left to the process's end: Rust
    // cannot stop a thread, and truck has no cancellation).
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::Builder::new()
        .name("coxa-step".into())
        .spawn(move || {
            let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tessellate(&owned, &text, scale))));
        })
        .map_err(|e| corrupt(format!("cannot start the STEP reader: {e}")))?;
    match rx.recv_timeout(STEP_TIME_LIMIT) {
        Ok(Ok(mesh)) => mesh,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(corrupt(format!(
            "the STEP reader (truck) did not finish this part within {} s (a malformed entity makes its tessellation loop); re-export the part as a plain B-rep solid",
            STEP_TIME_LIMIT.as_secs()
        ))
        .into()),
        Ok(Err(_)) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            Err(corrupt("the STEP reader (truck) failed on one of its entities; re-export the part as a plain B-rep solid".into()).into())
        }
    }
}

/// The longest a STEP part may take to parse and tessellate: an implant part of a few ten
/// thousand triangles takes well under a second (the tests' cylinders: milliseconds).
const STEP_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The entries of one of truck's entity maps in file order (by id), so that the first bad entity
/// named is the same on every run.
fn by_id<T>(map: &std::collections::HashMap<u64, T>) -> Vec<(&u64, &T)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by_key(|(id, _)| **id);
    entries
}

/// Checks the integers of every B-spline and Bézier record (degrees and knot multiplicities):
/// each within `1..=MAX_SPLINE_INTEGER`. truck casts them to `usize` unchecked and repeats each
/// knot that many times: a multiplicity of -2147483649 became 2^64 - 2^31 - 1 repetitions, a
/// loop that took 6.7 GB before the fuzz watchdog stopped it
/// (tests/corpus/fuzz/step/step-hang-negative-multiplicity.step, coverage-guided run of issue 61).
fn spline_integers_sound(data: &truck_stepio::r#in::ruststep::ast::DataSection) -> std::result::Result<(), String> {
    use truck_stepio::r#in::ruststep::ast::{EntityInstance, Parameter, Record};
    fn integers<'a>(p: &'a Parameter, out: &mut Vec<&'a i64>) {
        match p {
            Parameter::Integer(n) => out.push(n),
            Parameter::List(items) => items.iter().for_each(|q| integers(q, out)),
            Parameter::Typed { parameter, .. } => integers(parameter, out),
            _ => {}
        }
    }
    let spline = |r: &Record| ["B_SPLINE", "BEZIER", "UNIFORM_CURVE", "UNIFORM_SURFACE"].iter().any(|k| r.name.contains(k));
    for instance in &data.entities {
        let (id, records): (u64, Vec<&Record>) = match instance {
            EntityInstance::Simple { id, record } => (*id, vec![record]),
            EntityInstance::Complex { id, subsuper } => (*id, subsuper.0.iter().collect()),
        };
        for r in records.into_iter().filter(|r| spline(r)) {
            let mut found = Vec::new();
            integers(&r.parameter, &mut found);
            if let Some(n) = found.into_iter().find(|n| !(1..=MAX_SPLINE_INTEGER).contains(*n)) {
                return Err(format!("#{id} {} has a degree or knot multiplicity of {n} (1 to {MAX_SPLINE_INTEGER} in a CAD part)", r.name));
            }
        }
    }
    Ok(())
}

/// Checks that truck can build every edge of the file's loops: each loop's entries are edges
/// (`EDGE_CURVE`, or `ORIENTED_EDGE` of one), each edge's two vertices and its curve are
/// entities truck read, and the curve converts. truck's shell builder (`to_compressed_shell`)
/// skips an edge or a vertex it cannot build but has already numbered it, so every later edge
/// of the shell is taken for another and the faces' loops come out crossed: on one such file
/// (an edge whose curve was a complex entity with a mangled part, `B_SPLIRVE`) the tessellation
/// looped without end (tests/corpus/fuzz/step/step-hang-edge-curve-unread.step). Such a file is
/// refused here, naming the entity, before truck builds anything.
fn edges_readable(table: &Table) -> std::result::Result<(), String> {
    use truck_stepio::r#in::VertexPointHolder;
    use truck_stepio::r#in::ruststep::ast::Name;
    use truck_stepio::r#in::ruststep::tables::{EntityTable, IntoOwned, PlaceHolder};
    let what = "an entity truck cannot read";
    let edge = |id: u64| -> std::result::Result<(), String> {
        let e = table.edge_curve.get(&id).ok_or_else(|| format!("#{id} is not an edge truck can read"))?;
        for end in [&e.edge_start, &e.edge_end] {
            let PlaceHolder::Ref(Name::Entity(v)) = end else { return Err(format!("edge #{id} has a vertex that is not an entity reference")) };
            EntityTable::<VertexPointHolder>::get_owned(table, *v).map_err(|err| format!("edge #{id}'s vertex #{v} is {what} ({err})"))?;
        }
        let owned = e.clone().into_owned(table).map_err(|err| format!("edge #{id}'s curve is {what} ({err})"))?;
        owned.parse_curve3d().map(|_| ()).map_err(|err| format!("edge #{id}'s curve cannot be built ({err})"))
    };
    for (id, l) in by_id(&table.edge_loop) {
        for entry in &l.edge_list {
            let PlaceHolder::Ref(Name::Entity(k)) = entry else { return Err(format!("loop #{id} holds an edge that is not an entity reference")) };
            let target = match table.oriented_edge.get(k) {
                Some(o) => match &o.edge_element {
                    PlaceHolder::Ref(Name::Entity(e)) => *e,
                    _ => return Err(format!("oriented edge #{k} holds an edge that is not an entity reference")),
                },
                None => *k,
            };
            edge(target).map_err(|why| format!("loop #{id}: {why}"))?;
        }
    }
    Ok(())
}

/// Checks the directions truck builds its frames from: each `DIRECTION` finite and not zero,
/// each `VECTOR` of a length above zero, each 3D placement's axis and reference direction not
/// parallel. truck normalises them unchecked: a plane placed with a zero direction made its
/// tessellation loop without end (tests/corpus/fuzz/step/step-hang-zero-direction.step, found
/// by the coverage-guided run of issue 61).
fn directions_sound(table: &Table) -> std::result::Result<(), String> {
    use truck_stepio::r#in::ruststep::tables::IntoOwned;
    // Largest component first, so that tiny but valid ratios are not squared to zero.
    let unit = |r: &[f64]| -> Option<Vec<f64>> {
        let m = r.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let n = r.iter().map(|x| (x / m) * (x / m)).sum::<f64>().sqrt();
        (matches!(r.len(), 2 | 3) && m.is_finite() && m >= 1e-100).then(|| r.iter().map(|x| x / m / n).collect())
    };
    for (id, d) in by_id(&table.direction) {
        if unit(&d.direction_ratios).is_none() {
            return Err(format!("direction #{id} {:?} has no direction (zero, not finite, or not 2 or 3 numbers)", d.direction_ratios));
        }
    }
    for (id, v) in by_id(&table.vector) {
        if !(v.magnitude.is_finite() && v.magnitude > 0.0) {
            return Err(format!("vector #{id} has length {} (a line or an extrusion needs a length above zero)", v.magnitude));
        }
    }
    for (id, p) in by_id(&table.axis2_placement_3d) {
        let p = p.clone().into_owned(table).map_err(|e| format!("placement #{id} is built on an entity truck cannot read ({e})"))?;
        if let (Some(a), Some(r)) = (&p.axis, &p.ref_direction) {
            let (Some(a), Some(r)) = (unit(&a.direction_ratios), unit(&r.direction_ratios)) else {
                return Err(format!("placement #{id} has a direction that is zero or not finite"));
            };
            let v3 = |u: &[f64]| nalgebra::Vector3::new(u[0], u[1], if u.len() == 3 { u[2] } else { 0.0 });
            if v3(&a).cross(&v3(&r)).norm() < 1e-9 {
                return Err(format!("placement #{id}'s axis and reference direction are parallel (no frame)"));
            }
        }
    }
    Ok(())
}

/// The watertight mesh of `text`'s shells, scaled by `scale` to millimetres.
fn tessellate(path: &Path, text: &str, scale: f64) -> Result<Mesh> {
    let corrupt = |why: String| MeshFileError::Corrupt { path: path.to_path_buf(), format: "STEP", why };
    let not_solid =
        |why: String| MeshFileError::Unsupported { path: path.to_path_buf(), why: format!("is not a solid: {why}; export the part as a closed solid (a B-rep body), not surfaces or curves") };
    let exchange = ruststep::parser::parse(text).map_err(|e| corrupt(format!("{e}").lines().next().unwrap_or("does not parse").to_string()))?;
    let data = exchange.data.first().ok_or_else(|| corrupt("it has no DATA section".into()))?;
    // Entity by entity (truck's `from_data_section` prints what it cannot deserialize and goes
    // on): such an entity is this file's error. An entity truck does not know is kept as a
    // placeholder, not an error; an edge or a loop built on one is refused by `edges_readable`.
    spline_integers_sound(data).map_err(corrupt)?;
    let mut table = Table::default();
    for instance in &data.entities {
        table.push_instance(instance).map_err(|e| corrupt(format!("an entity truck cannot read ({e})")))?;
    }
    if table.shell.is_empty() {
        return Err(not_solid("it holds no shell (curves or points only)".into()).into());
    }
    edges_readable(&table).and_then(|()| directions_sound(&table)).map_err(|why| corrupt(format!("{why}; re-export the part as a plain B-rep solid")))?;
    let shells = by_id(&table.shell);
    let (mut vertices, mut triangles): (Vec<Point3<f64>>, Vec<[u32; 3]>) = (Vec::new(), Vec::new());
    for (id, shell) in shells {
        let shell = table.to_compressed_shell(shell).map_err(|e| corrupt(format!("shell #{id}: {e}")))?;
        let coarse = shell.robust_triangulation(1.0 / scale).to_polygon();
        let diagonal_mm = coarse.bounding_box().diameter() * scale;
        if !diagonal_mm.is_finite() || diagonal_mm <= 0.0 {
            return Err(not_solid(format!("shell #{id} has no extent")).into());
        }
        let tolerance_mm = (diagonal_mm * 1e-3).max(0.02);
        let mut mesh = shell.robust_triangulation(tolerance_mm / scale).to_polygon();
        mesh.put_together_same_attrs(diagonal_mm * 1e-6 / scale);
        let base = u32::try_from(vertices.len()).map_err(|_| corrupt("too many vertices".into()))?;
        vertices.extend(mesh.positions().iter().map(|p| Point3::new(p.x * scale, p.y * scale, p.z * scale)));
        let faces = mesh.faces();
        let tri = faces.tri_faces().iter().map(|f| [f[0].pos, f[1].pos, f[2].pos]);
        let quads = faces.quad_faces().iter().flat_map(|f| [[f[0].pos, f[1].pos, f[2].pos], [f[0].pos, f[2].pos, f[3].pos]]);
        let others = faces.other_faces().iter().flat_map(|f| (1..f.len() - 1).map(move |i| [f[0].pos, f[i].pos, f[i + 1].pos]));
        for t in tri.chain(quads).chain(others) {
            let t = t.map(|v| u32::try_from(v).unwrap_or(u32::MAX).saturating_add(base));
            if t[0] != t[1] && t[1] != t[2] && t[0] != t[2] {
                triangles.push(t);
            }
        }
    }
    let mesh = checked_mesh(path, vertices, triangles)?;
    if !mesh.is_watertight() {
        return Err(not_solid("its surface is open (edges that bound one face only) or not consistently oriented".into()).into());
    }
    Ok(mesh)
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use truck_modeling::{Point3 as P, Rad, Vector3 as V, builder};
    use truck_stepio::out::{CompleteStepDisplay, StepModel};

    use super::*;

    /// STEP text of a cylinder (radius `r`, height `h`, file units) on the z axis, written by
    /// truck's modeller: a circle swept into a disk, the disk into a solid.
    fn cylinder(r: f64, h: f64) -> String {
        let v = builder::vertex(P::new(r, 0.0, 0.0));
        let circle = builder::rsweep(&v, P::new(0.0, 0.0, 0.0), V::unit_z(), Rad(7.0));
        let disk = builder::try_attach_plane(&[circle]).unwrap();
        let solid = builder::tsweep(&disk, V::new(0.0, 0.0, h));
        CompleteStepDisplay::new(StepModel::from(&solid.compress()), Default::default()).to_string()
    }

    fn read(text: &str) -> Result<Mesh> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("part.step");
        std::fs::write(&p, text).unwrap();
        super::super::read_mesh(&p)
    }

    /// A cylinder of radius 10 mm and height 30 mm: watertight, its volume and area within the
    /// tessellation's chord error of pi r^2 h and 2 pi r (r + h).
    #[test]
    fn a_cylinder_reads_as_a_watertight_mesh_of_its_size() {
        let text = cylinder(10.0, 30.0);
        assert!(text.contains("SI_UNIT(.MILLI.,.METRE.)"), "truck writes millimetres");
        let m = read(&text).unwrap();
        assert!(m.is_watertight());
        let (v, a) = (m.signed_volume_mm3().abs(), m.area_mm2());
        let (v0, a0) = (PI * 100.0 * 30.0, 2.0 * PI * 10.0 * 40.0);
        assert!((v - v0).abs() / v0 < 5e-3, "volume {v} vs {v0}");
        assert!((a - a0).abs() / a0 < 5e-3, "area {a} vs {a0}");
        let (lo, hi) = m.bounds().unwrap();
        assert!((hi.z - lo.z - 30.0).abs() < 1e-6 && (hi.x - lo.x - 20.0).abs() < 0.05, "{lo} {hi}");
        // The same part in metres is scaled to millimetres; in inches by 25.4.
        let metres = read(&cylinder(0.01, 0.03).replace("SI_UNIT(.MILLI.,.METRE.)", "SI_UNIT($,.METRE.)")).unwrap();
        assert!((metres.signed_volume_mm3().abs() - v0).abs() / v0 < 5e-3, "{}", metres.signed_volume_mm3());
        let inch = read(&cylinder(1.0, 1.0).replace("( LENGTH_UNIT() NAMED_UNIT(*) SI_UNIT(.MILLI.,.METRE.) )", "( CONVERSION_BASED_UNIT('INCH', #99) LENGTH_UNIT() NAMED_UNIT(*) )")).unwrap();
        let v_in = PI * 25.4f64.powi(3);
        assert!((inch.signed_volume_mm3().abs() - v_in).abs() / v_in < 5e-3, "{}", inch.signed_volume_mm3());
    }

    /// Open surfaces, a file without a solid, without a unit or not STEP at all: one clear error
    /// naming the file and the cause.
    #[test]
    fn what_is_not_a_solid_is_refused() {
        let text = cylinder(10.0, 30.0);
        // Drop the top face from the closed shell: an open surface.
        let shell = text.lines().find(|l| l.contains("CLOSED_SHELL")).unwrap();
        let (head, list) = shell.split_once(", (").unwrap();
        let faces: Vec<&str> = list.trim_end_matches(");").trim_end_matches(')').split(", ").collect();
        let open = format!("{}, ({}));", head.replace("CLOSED_SHELL", "OPEN_SHELL"), faces[..faces.len() - 1].join(", "));
        let e = read(&text.replace(shell, &open)).unwrap_err().to_string();
        assert!(e.contains("part.step") && e.contains("is not a solid"), "{e}");
        let data = text.find("DATA;").unwrap() + "DATA;".len();
        let end = text.find("ENDSEC;\nEND-ISO").unwrap_or(text.rfind("ENDSEC;").unwrap());
        let empty = format!("{}\n#1 = CARTESIAN_POINT('', (0.0, 0.0, 0.0));\n#12 = ( LENGTH_UNIT() NAMED_UNIT(*) SI_UNIT(.MILLI.,.METRE.) );\n{}", &text[..data], &text[end..]);
        let e = read(&empty).unwrap_err().to_string();
        assert!(e.contains("is not a solid") && e.contains("no shell"), "{e}");
        let e = read(&text.replace("LENGTH_UNIT()", "")).unwrap_err().to_string();
        assert!(e.contains("no length unit"), "{e}");
        // Every cut of the file (a truncated download) is an error or a mesh, never a panic.
        for cut in (0..text.len()).step_by(97) {
            let _ = std::panic::catch_unwind(|| read(&text[..cut])).expect("no panic escapes the reader");
        }
        // An edge whose curve truck could not read (a complex entity with a mangled part): its
        // tessellation looped without end before it was refused (issue 61).
        let unread = text.replacen("B_SPLINE_CURVE(", "B_SPLIRVE(", 1);
        assert_ne!(unread, text, "truck writes the cylinder's circles as rational B-splines");
        let e = read(&unread).unwrap_err().to_string();
        assert!(e.contains("part.step") && e.contains("curve is an entity truck cannot read") && e.contains("Lookup failed"), "{e}");
        // Degenerate frames and numbers truck's parser cannot take (coverage-guided run of issue
        // 61: a zero direction looped the tessellation; a huge exponent panicked in the parser).
        let direction = text.lines().find(|l| l.contains("DIRECTION(")).unwrap();
        let (head, _) = direction.split_once("(").unwrap();
        let zero = text.replace(direction, &format!("{head}('', (0.0, 0.0, 0.0));"));
        let e = read(&zero).unwrap_err().to_string();
        assert!(e.contains("has no direction") && e.contains("re-export"), "{e}");
        let e = read(&text.replacen("B_SPLINE_CURVE_WITH_KNOTS((3, 1", "B_SPLINE_CURVE_WITH_KNOTS((3, -5", 1)).unwrap_err().to_string();
        assert!(e.contains("knot multiplicity of -5"), "{e}");
        let e = read(&text.replacen("1.0", "1.0E-99999999999", 1)).unwrap_err().to_string();
        assert!(e.contains("exponent is out of range"), "{e}");
        let e = read("solid x\nendsolid x\n").unwrap_err().to_string();
        assert!(e.contains("part.step") && e.contains("ISO-10303-21"), "{e}");
    }
}
