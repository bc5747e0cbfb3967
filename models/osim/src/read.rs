//! The .osim reader (OpenSim 4 format, `<OpenSimDocument Version="40000">` and later).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nalgebra::{Rotation3, Vector3};
use roxmltree::{Document, Node};

use crate::error::{OsimError, Result};
use crate::function::{Function, Spline};

use crate::model::*;

mod parts;

/// Reads an .osim file.
///
/// Names are resolved to indices (bodies, frames, coordinates, wrap objects); every problem is an
/// [`OsimError`] naming the file and the element.
pub fn read_osim(path: impl AsRef<Path>) -> Result<Model> {
    let path = path.as_ref();
    let text = coxa_io::read_text_bounded(path, coxa_io::Bound::TEXT).map_err(|source| OsimError::Io { file: path.to_path_buf(), source })?;
    parse_osim(&text, path)
}

/// Parses .osim text; `file` names the source in errors.
pub fn parse_osim(text: &str, file: impl AsRef<Path>) -> Result<Model> {
    let file = file.as_ref().to_path_buf();
    let doc = Document::parse(text).map_err(|source| OsimError::Xml { file: file.clone(), source })?;
    Reader { file }.model(&doc)
}

/// A display mesh attached to a body (`<attached_geometry><Mesh>` of a `<Body>`): the file it
/// names (relative to the model's `Geometry` folder, as OpenSim looks it up) and its scale
/// factors.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyMesh {
    /// The body.
    pub body: String,
    /// `mesh_file`, as written.
    pub mesh_file: String,
    /// `scale_factors` (1 1 1 when absent).
    pub scale_factors: [f64; 3],
}

/// The display meshes attached directly to the bodies of the .osim text (meshes on offset
/// frames are not listed); `file` names the source in errors.
pub fn body_meshes(text: &str, file: impl AsRef<Path>) -> Result<Vec<BodyMesh>> {
    let file = file.as_ref().to_path_buf();
    let doc = Document::parse(text).map_err(|source| OsimError::Xml { file: file.clone(), source })?;
    let Some(model) = child(doc.root_element(), "Model") else { return Err(OsimError::NotAModel { file, why: "no <Model>".into() }) };
    let mut out = Vec::new();
    for b in set_objects(child(model, "BodySet")) {
        let body = b.attribute("name").unwrap_or("").trim().to_string();
        let Some(geoms) = child(b, "attached_geometry") else { continue };
        for m in elements(geoms).filter(|g| g.has_tag_name("Mesh")) {
            let Some(mesh_file) = child(m, "mesh_file").and_then(|c| c.text()).map(|t| t.trim().to_string()) else { continue };
            let mut scale_factors = [1.0; 3];
            if let Some(t) = child(m, "scale_factors").and_then(|c| c.text()) {
                let v: Vec<f64> = t.split_whitespace().filter_map(|x| x.parse().ok()).collect();
                if v.len() == 3 {
                    scale_factors = [v[0], v[1], v[2]];
                }
            }
            out.push(BodyMesh { body: body.clone(), mesh_file, scale_factors });
        }
    }
    Ok(out)
}

struct Reader {
    file: PathBuf,
}

/// A `PhysicalOffsetFrame` as written: its parent socket and offset.
struct OffsetFrame {
    parent: String,
    translation: Vector3<f64>,
    orientation: Vector3<f64>,
    element: String,
}

fn desc(n: Node) -> String {
    let line = n.document().text_pos_at(n.range().start).row;
    match n.attribute("name") {
        Some(name) => format!("<{} name=\"{}\"> (line {})", n.tag_name().name(), name, line),
        None => match n.ancestors().skip(1).find(|a| a.is_element() && a.attribute("name").is_some_and(|s| !s.is_empty())) {
            Some(a) => format!("<{} name=\"{}\"> <{}> (line {})", a.tag_name().name(), a.attribute("name").unwrap_or(""), n.tag_name().name(), line),
            None => format!("<{}> (line {})", n.tag_name().name(), line),
        },
    }
}

fn elements<'a, 'i>(n: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(|c| c.is_element())
}

fn child<'a, 'i>(n: Node<'a, 'i>, tag: &str) -> Option<Node<'a, 'i>> {
    elements(n).find(|c| c.has_tag_name(tag))
}

fn text<'a>(n: Node<'a, '_>) -> &'a str {
    n.text().unwrap_or("").trim()
}

/// The last segment of a component path (`/jointset/knee_r/knee_angle_r` -> `knee_angle_r`).
fn last_segment(path: &str) -> &str {
    path.trim().trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

/// The `<objects>` children of a set element.
fn set_objects<'a, 'i>(set: Option<Node<'a, 'i>>) -> Vec<Node<'a, 'i>> {
    set.and_then(|s| child(s, "objects")).map(|o| elements(o).collect()).unwrap_or_default()
}

impl Reader {
    fn name(&self, n: Node) -> Result<String> {
        match n.attribute("name") {
            Some(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            _ => Err(OsimError::BadValue { file: self.file.clone(), element: desc(n), why: "has no name attribute; give it a unique name".into() }),
        }
    }

    fn req<'a, 'i>(&self, n: Node<'a, 'i>, tag: &str) -> Result<Node<'a, 'i>> {
        child(n, tag).ok_or_else(|| OsimError::Missing { file: self.file.clone(), element: desc(n), child: tag.into() })
    }

    fn bad(&self, n: Node, why: impl Into<String>) -> OsimError {
        OsimError::BadValue { file: self.file.clone(), element: desc(n), why: why.into() }
    }

    fn numbers(&self, n: Node) -> Result<Vec<f64>> {
        text(n)
            .split_whitespace()
            .map(|t| match t.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(self.bad(n, format!("'{t}' is not a finite number"))),
            })
            .collect()
    }

    fn vec_n(&self, n: Node, count: usize) -> Result<Vec<f64>> {
        let v = self.numbers(n)?;
        if v.len() != count {
            return Err(self.bad(n, format!("expected {count} numbers, found {}", v.len())));
        }
        Ok(v)
    }

    fn vec3(&self, n: Node) -> Result<Vector3<f64>> {
        let v = self.vec_n(n, 3)?;
        Ok(Vector3::new(v[0], v[1], v[2]))
    }

    fn scalar(&self, n: Node) -> Result<f64> {
        Ok(self.vec_n(n, 1)?[0])
    }

    fn opt_scalar(&self, n: Node, tag: &str, default: f64) -> Result<f64> {
        child(n, tag).map_or(Ok(default), |c| self.scalar(c))
    }

    fn req_scalar(&self, n: Node, tag: &str) -> Result<f64> {
        self.scalar(self.req(n, tag)?)
    }

    fn opt_vec3(&self, n: Node, tag: &str) -> Result<Vector3<f64>> {
        child(n, tag).map_or(Ok(Vector3::zeros()), |c| self.vec3(c))
    }

    fn opt_bool(&self, n: Node, tag: &str, default: bool) -> Result<bool> {
        match child(n, tag).map(text) {
            None => Ok(default),
            Some("true") | Some("1") => Ok(true),
            Some("false") | Some("0") => Ok(false),
            Some(t) => Err(self.bad(n, format!("<{tag}> is '{t}', expected true or false"))),
        }
    }

    fn model(&self, doc: &Document) -> Result<Model> {
        let root = doc.root_element();
        if !root.has_tag_name("OpenSimDocument") {
            return Err(OsimError::NotAModel { file: self.file.clone(), why: format!("the root element is <{}>, not <OpenSimDocument>; is this an .osim model?", root.tag_name().name()) });
        }
        let version: u32 = root.attribute("Version").and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        let m = child(root, "Model").ok_or_else(|| OsimError::NotAModel { file: self.file.clone(), why: "<OpenSimDocument> holds no <Model>; is this a setup or results file?".into() })?;
        if version < 30500 || child(m, "JointSet").is_none() {
            return Err(OsimError::NotAModel {
                file: self.file.clone(),
                why: format!("OpenSim document version {version} (joints inside bodies) is the OpenSim 3 format; open it in OpenSim 4 and save it again"),
            });
        }
        let name = m.attribute("name").unwrap_or("").to_string();
        let gravity_m_s2 = match child(m, "gravity") {
            Some(g) => self.vec3(g)?,
            None => Vector3::new(0.0, -9.80665, 0.0),
        };

        // Bodies (ground first) and their wrap objects (parsed after the bodies are known).
        let mut bodies = vec![Body { name: "ground".into(), mass_kg: 0.0, mass_center_m: Vector3::zeros(), inertia_kg_m2: [0.0; 6] }];
        let mut body_nodes = vec![child(m, "Ground")];
        for b in set_objects(child(m, "BodySet")) {
            if !b.has_tag_name("Body") {
                return Err(OsimError::Unsupported { file: self.file.clone(), element: desc(b), what: format!("a <{}> in the BodySet", b.tag_name().name()), hint: "use <Body>".into() });
            }
            let bname = self.name(b)?;
            if bodies.iter().any(|x| x.name == bname) {
                return Err(self.bad(b, "a second body of this name; body names must be unique"));
            }
            let mass_kg = self.opt_scalar(b, "mass", 0.0)?;
            if mass_kg < 0.0 {
                return Err(self.bad(b, format!("negative mass {mass_kg} kg")));
            }
            let inertia = match child(b, "inertia") {
                Some(i) => {
                    let v = self.vec_n(i, 6)?;
                    [v[0], v[1], v[2], v[3], v[4], v[5]]
                }
                None => [0.0; 6],
            };
            bodies.push(Body { name: bname, mass_kg, mass_center_m: self.opt_vec3(b, "mass_center")?, inertia_kg_m2: inertia });
            body_nodes.push(Some(b));
        }
        let body_index: HashMap<String, BodyIndex> = bodies.iter().enumerate().map(|(i, b)| (b.name.clone(), i)).collect();

        // Offset frames: joint-owned (`/jointset/<joint>/<frame>`) and model-level components.
        let mut offsets: HashMap<String, OffsetFrame> = HashMap::new();
        let joint_nodes = set_objects(child(m, "JointSet"));
        for j in &joint_nodes {
            let jname = self.name(*j)?;
            if let Some(frames) = child(*j, "frames") {
                for f in elements(frames) {
                    let o = self.offset_frame(f)?;
                    let fname = self.name(f)?;
                    let _ = offsets.insert(format!("/jointset/{jname}/{fname}"), o);
                }
            }
        }
        for f in child(m, "components").map(|c| elements(c).collect::<Vec<_>>()).unwrap_or_default() {
            if f.has_tag_name("PhysicalOffsetFrame") {
                let o = self.offset_frame(f)?;
                let _ = offsets.insert(format!("/{}", self.name(f)?), o);
            }
        }
        let frames = FrameResolver { body_index: &body_index, offsets: &offsets };

        // Joints and their coordinates.
        let mut joints = Vec::new();
        let mut coordinates: Vec<Coordinate> = Vec::new();
        for (ji, j) in joint_nodes.iter().enumerate() {
            let jname = self.name(*j)?;
            let kind = match j.tag_name().name() {
                "CustomJoint" => JointKind::Custom,
                "PinJoint" => JointKind::Pin,
                "WeldJoint" => JointKind::Weld,
                "UniversalJoint" => JointKind::Universal,
                "SliderJoint" => JointKind::Slider,
                "BallJoint" => JointKind::Ball,
                "FreeJoint" => JointKind::Free,
                other => {
                    return Err(OsimError::Unsupported { file: self.file.clone(), element: desc(*j), what: format!("joint type {other}"), hint: "replace it with an equivalent CustomJoint".into() });
                }
            };
            let parent_sock = text(self.req(*j, "socket_parent_frame")?);
            let child_sock = text(self.req(*j, "socket_child_frame")?);
            let parent = frames.resolve(self, *j, parent_sock, &jname, 0)?;
            let childf = frames.resolve(self, *j, child_sock, &jname, 0)?;
            let first = coordinates.len();
            if let Some(cs) = child(*j, "coordinates") {
                for c in elements(cs).filter(|c| c.has_tag_name("Coordinate")) {
                    let cname = self.name(c)?;
                    if coordinates.iter().any(|x| x.name == cname) {
                        return Err(self.bad(c, "a second coordinate of this name; coordinate names must be unique"));
                    }
                    let range = match child(c, "range") {
                        Some(r) => {
                            let v = self.vec_n(r, 2)?;
                            [v[0], v[1]]
                        }
                        None => [-std::f64::consts::PI, std::f64::consts::PI],
                    };
                    coordinates.push(Coordinate {
                        name: cname,
                        joint: ji,
                        default_value: self.opt_scalar(c, "default_value", 0.0)?,
                        range,
                        clamped: self.opt_bool(c, "clamped", false)?,
                        locked: self.opt_bool(c, "locked", false)?,
                        motion_type: MotionType::Rotational,
                    });
                }
            }
            let coords: Vec<CoordIndex> = (first..coordinates.len()).collect();
            let transform = match kind {
                JointKind::Custom => self.spatial_transform(*j, &coordinates, &coords)?,
                _ => self.standard_transform(*j, kind, &coords)?,
            };
            for &ci in &coords {
                let in_rot = transform.rotations.iter().any(|a| a.coordinates.contains(&ci));
                let in_tr = transform.translations.iter().any(|a| a.coordinates.contains(&ci));
                coordinates[ci].motion_type = match (in_rot, in_tr) {
                    (true, false) => MotionType::Rotational,
                    (false, true) => MotionType::Translational,
                    (true, true) => MotionType::Coupled,
                    (false, false) => MotionType::Rotational,
                };
            }
            joints.push(Joint { name: jname, kind, parent, child: childf, coordinates: coords, transform });
        }
        let coord_index: HashMap<String, CoordIndex> = coordinates.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();

        // Wrap objects.
        let mut wrap_objects = Vec::new();
        for (bi, bn) in body_nodes.iter().enumerate() {
            let Some(bn) = bn else { continue };
            for w in set_objects(child(*bn, "WrapObjectSet")) {
                wrap_objects.push(self.wrap_object(w, bi)?);
            }
        }

        // Constraints.
        let mut couplers = Vec::new();
        for c in set_objects(child(m, "ConstraintSet")) {
            if !c.has_tag_name("CoordinateCouplerConstraint") {
                continue;
            }
            let ind = text(self.req(c, "independent_coordinate_names")?);
            let names: Vec<&str> = ind.split_whitespace().collect();
            if names.len() != 1 {
                return Err(OsimError::Unsupported {
                    file: self.file.clone(),
                    element: desc(c),
                    what: format!("{} independent coordinates", names.len()),
                    hint: "coxa couples one coordinate to one".into(),
                });
            }
            let dep = text(self.req(c, "dependent_coordinate_name")?);
            let lookup = |n: &str| coord_index.get(n).copied().ok_or_else(|| OsimError::UnknownReference { file: self.file.clone(), element: desc(c), reference: n.into() });
            let f = self.function_in(self.req(c, "coupled_coordinates_function")?)?;
            let scale = self.opt_scalar(c, "scale_factor", 1.0)?;
            let function = if scale == 1.0 { f } else { Function::Multiplier { inner: Box::new(f), scale } };
            couplers.push(CoordinateCoupler { name: self.name(c)?, independent: lookup(names[0])?, dependent: lookup(dep)?, function, enforced: self.opt_bool(c, "isEnforced", true)? });
        }

        // Muscles.
        let mut muscles = Vec::new();
        for f in set_objects(child(m, "ForceSet")) {
            if child(f, "GeometryPath").is_none() || child(f, "max_isometric_force").is_none() {
                continue; // not a muscle (actuators, ligaments without Hill parameters, ...)
            }
            muscles.push(self.muscle(f, &frames, &coord_index, &wrap_objects)?);
        }

        Ok(Model { name, document_version: version, gravity_m_s2, bodies, joints, coordinates, couplers, muscles, wrap_objects })
    }

    fn offset_frame(&self, f: Node) -> Result<OffsetFrame> {
        if !f.has_tag_name("PhysicalOffsetFrame") {
            return Err(OsimError::Unsupported { file: self.file.clone(), element: desc(f), what: format!("a <{}> frame", f.tag_name().name()), hint: "use a PhysicalOffsetFrame".into() });
        }
        Ok(OffsetFrame { parent: text(self.req(f, "socket_parent")?).to_string(), translation: self.opt_vec3(f, "translation")?, orientation: self.opt_vec3(f, "orientation")?, element: desc(f) })
    }

    fn axis(&self, n: Node, coordinates: &[Coordinate], joint_coords: &[CoordIndex]) -> Result<TransformAxis> {
        let names = child(n, "coordinates").map(text).unwrap_or("");
        let mut coords = Vec::new();
        for nm in names.split_whitespace() {
            let ci =
                joint_coords.iter().copied().find(|&c| coordinates[c].name == nm).ok_or_else(|| OsimError::UnknownReference { file: self.file.clone(), element: desc(n), reference: nm.into() })?;
            coords.push(ci);
        }
        if coords.len() > 1 {
            return Err(OsimError::Unsupported { file: self.file.clone(), element: desc(n), what: "a transform axis of several coordinates".into(), hint: "use one coordinate per axis".into() });
        }
        let axis = self.vec3(self.req(n, "axis")?)?;
        let norm = axis.norm();
        if norm < 1e-12 {
            return Err(self.bad(n, "the axis is zero"));
        }
        let func = elements(n).find(|c| !c.has_tag_name("coordinates") && !c.has_tag_name("axis"));
        let function = match func {
            Some(f) => self.function(f)?,
            None if coords.is_empty() => Function::Constant(0.0),
            None => Function::Linear { slope: 1.0, intercept: 0.0 },
        };
        Ok(TransformAxis { coordinates: coords, axis: axis / norm, function })
    }

    fn spatial_transform(&self, j: Node, coordinates: &[Coordinate], joint_coords: &[CoordIndex]) -> Result<SpatialTransform> {
        let st = self.req(j, "SpatialTransform")?;
        let axes: Vec<Node> = elements(st).filter(|c| c.has_tag_name("TransformAxis")).collect();
        if axes.len() != 6 {
            return Err(self.bad(st, format!("has {} TransformAxis elements; a SpatialTransform has 6 (rotation1..3, translation1..3)", axes.len())));
        }
        let find = |nm: &str, k: usize| axes.iter().copied().find(|a| a.attribute("name") == Some(nm)).unwrap_or(axes[k]);
        let names = ["rotation1", "rotation2", "rotation3", "translation1", "translation2", "translation3"];
        let mut parsed = Vec::with_capacity(6);
        for (k, nm) in names.iter().enumerate() {
            parsed.push(self.axis(find(nm, k), coordinates, joint_coords)?);
        }
        let t: [TransformAxis; 3] = [parsed[3].clone(), parsed[4].clone(), parsed[5].clone()];
        let r: [TransformAxis; 3] = [parsed[0].clone(), parsed[1].clone(), parsed[2].clone()];
        Ok(SpatialTransform { rotations: r, translations: t })
    }

    fn standard_transform(&self, j: Node, kind: JointKind, coords: &[CoordIndex]) -> Result<SpatialTransform> {
        let need = match kind {
            JointKind::Pin | JointKind::Slider => 1,
            JointKind::Weld => 0,
            JointKind::Universal => 2,
            JointKind::Ball => 3,
            JointKind::Free => 6,
            JointKind::Custom => coords.len(),
        };
        if coords.len() != need {
            return Err(self.bad(j, format!("a {} has {need} coordinates, found {}", kind.tag(), coords.len())));
        }
        let ax = |c: Option<CoordIndex>, axis: Vector3<f64>| TransformAxis {
            coordinates: c.into_iter().collect(),
            axis,
            function: if c.is_some() { Function::Linear { slope: 1.0, intercept: 0.0 } } else { Function::Constant(0.0) },
        };
        let (x, y, z) = (Vector3::x(), Vector3::y(), Vector3::z());
        let c = |i: usize| coords.get(i).copied();
        let (r, t) = match kind {
            JointKind::Pin => ([ax(c(0), z), ax(None, x), ax(None, y)], [ax(None, x), ax(None, y), ax(None, z)]),
            JointKind::Universal => ([ax(c(0), x), ax(c(1), y), ax(None, z)], [ax(None, x), ax(None, y), ax(None, z)]),
            JointKind::Slider => ([ax(None, x), ax(None, y), ax(None, z)], [ax(c(0), x), ax(None, y), ax(None, z)]),
            JointKind::Ball => ([ax(c(0), x), ax(c(1), y), ax(c(2), z)], [ax(None, x), ax(None, y), ax(None, z)]),
            JointKind::Free => ([ax(c(0), x), ax(c(1), y), ax(c(2), z)], [ax(c(3), x), ax(c(4), y), ax(c(5), z)]),
            JointKind::Weld | JointKind::Custom => ([ax(None, x), ax(None, y), ax(None, z)], [ax(None, x), ax(None, y), ax(None, z)]),
        };
        Ok(SpatialTransform { rotations: r, translations: t })
    }
}

struct FrameResolver<'a> {
    body_index: &'a HashMap<String, BodyIndex>,
    offsets: &'a HashMap<String, OffsetFrame>,
}

impl FrameResolver<'_> {
    /// Resolves a frame socket as OpenSim would: a joint's own offset frame by name, a body or
    /// the ground by path, or an offset frame by its full path.
    fn resolve(&self, r: &Reader, n: Node, sock: &str, joint: &str, depth: usize) -> Result<FixedFrame> {
        let unknown = || OsimError::UnknownReference { file: r.file.clone(), element: desc(n), reference: sock.into() };
        if depth > 16 {
            return Err(r.bad(n, format!("the frame '{sock}' is part of a cycle of offset frames")));
        }
        let trimmed = sock.trim().trim_start_matches("../").trim_start_matches("./");
        // A joint's own frame, by name or relative path.
        if !joint.is_empty() && !trimmed.contains("bodyset") && !trimmed.starts_with('/') {
            let key = format!("/jointset/{joint}/{}", last_segment(trimmed));
            if let Some(o) = self.offsets.get(&key) {
                return self.compose(r, n, o, sock, depth);
            }
        }
        let seg = last_segment(trimmed);
        if trimmed == "ground" || trimmed == "/ground" {
            return Ok(FixedFrame::body_frame("ground", 0));
        }
        if let (true, Some(&b)) = (trimmed.starts_with("/bodyset/") || !trimmed.contains('/'), self.body_index.get(seg)) {
            return Ok(FixedFrame::body_frame(seg, b));
        }
        let full = if trimmed.starts_with('/') { trimmed.to_string() } else { format!("/{trimmed}") };
        if let Some(o) = self.offsets.get(&full) {
            return self.compose(r, n, o, sock, depth);
        }
        Err(unknown())
    }

    fn compose(&self, r: &Reader, n: Node, o: &OffsetFrame, sock: &str, depth: usize) -> Result<FixedFrame> {
        let parent = self.resolve(r, n, &o.parent, "", depth + 1).map_err(|_| OsimError::UnknownReference { file: r.file.clone(), element: o.element.clone(), reference: o.parent.clone() })?;
        let rot: Rotation3<f64> = body_fixed_xyz(o.orientation);
        Ok(FixedFrame { name: last_segment(sock).to_string(), body: parent.body, translation_m: parent.translation_m + parent.rotation * o.translation, rotation: parent.rotation * rot })
    }
}
