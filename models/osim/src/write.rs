//! The .osim writer: a personalised model written back into its original file's XML, so that
//! everything coxa does not model (geometry, markers, controllers, comments) is kept as it
//! was and the result opens in OpenSim.
//!
//! [`update_osim`] takes the original text and a [`Model`] read from it and changed by coxa
//! (scaled, attachments moved, muscle parameters changed) and rewrites the values coxa owns:
//! body centres of mass and masses; joint offset frame translations; joint translation
//! functions; muscle forces, fibre and tendon lengths; path point locations and moving path
//! point functions; wrap object placements (centre and orientation) and sizes. Elements are matched by name.

use std::ops::Range;
use std::path::Path;

use roxmltree::{Document, Node};

use crate::error::{OsimError, Result};
use crate::function::Function;
use crate::model::{Model, PathPointKind, WrapShape};

fn fmt(v: f64) -> String {
    format!("{v}")
}

fn fmt3(v: &nalgebra::Vector3<f64>) -> String {
    format!("{} {} {}", v.x, v.y, v.z)
}

fn elements<'a, 'i>(n: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(|c| c.is_element())
}

fn child<'a, 'i>(n: Node<'a, 'i>, tag: &str) -> Option<Node<'a, 'i>> {
    elements(n).find(|c| c.has_tag_name(tag))
}

fn set_objects<'a, 'i>(set: Option<Node<'a, 'i>>) -> Vec<Node<'a, 'i>> {
    set.and_then(|s| child(s, "objects")).map(|o| elements(o).collect()).unwrap_or_default()
}

struct Edits<'f> {
    file: &'f Path,
    list: Vec<(Range<usize>, String)>,
}

impl Edits<'_> {
    /// Replaces the text of element `e` (or the whole empty element).
    fn set(&mut self, e: Node, value: String) {
        match e.children().find(|c| c.is_text()) {
            Some(t) => self.list.push((t.range(), value)),
            None => {
                let tag = e.tag_name().name();
                self.list.push((e.range(), format!("<{tag}>{value}</{tag}>")));
            }
        }
    }

    fn set_child(&mut self, parent: Node, tag: &str, value: String) -> Result<()> {
        match child(parent, tag) {
            Some(c) => {
                self.set(c, value);
                Ok(())
            }
            None => Err(OsimError::Missing { file: self.file.to_path_buf(), element: parent.tag_name().name().to_string(), child: tag.into() }),
        }
    }

    /// Writes a function's values into its element (`<SimmSpline>`, `<LinearFunction>`, ...).
    fn function(&mut self, e: Node, f: &Function) -> Result<()> {
        let tag = e.tag_name().name();
        match (tag, f) {
            ("function", _) => match elements(e).next() {
                Some(inner) => self.function(inner, f),
                None => Ok(()),
            },
            ("Constant", Function::Constant(v)) => self.set_child(e, "value", fmt(*v)),
            ("LinearFunction", Function::Linear { slope, intercept }) => self.set_child(e, "coefficients", format!("{} {}", slope, intercept)),
            ("PolynomialFunction", Function::Polynomial(c)) => self.set_child(e, "coefficients", c.iter().map(|v| fmt(*v)).collect::<Vec<_>>().join(" ")),
            ("SimmSpline", Function::SimmSpline(s)) | ("NaturalCubicSpline", Function::NaturalCubicSpline(s)) => self.set_child(e, "y", s.y.iter().map(|v| fmt(*v)).collect::<Vec<_>>().join(" ")),
            ("PiecewiseLinearFunction", Function::PiecewiseLinear { y, .. }) => self.set_child(e, "y", y.iter().map(|v| fmt(*v)).collect::<Vec<_>>().join(" ")),
            ("MultiplierFunction", Function::Multiplier { scale, .. }) => self.set_child(e, "scale", fmt(*scale)),
            (other, _) => Err(OsimError::Unsupported {
                file: self.file.to_path_buf(),
                element: format!("<{other}>"),
                what: "writing a function of a different type than the file's".into(),
                hint: "keep the function type when changing a model".into(),
            }),
        }
    }
}

/// Rewrites the values coxa owns in `original` (the text `model` was read from) with `model`'s.
/// `file` names the source in errors.
pub fn update_osim(original: &str, file: impl AsRef<Path>, model: &Model) -> Result<String> {
    let file = file.as_ref();
    let doc = Document::parse(original).map_err(|source| OsimError::Xml { file: file.to_path_buf(), source })?;
    let root = doc.root_element();
    let m = child(root, "Model").ok_or_else(|| OsimError::NotAModel { file: file.to_path_buf(), why: "no <Model>".into() })?;
    let mut ed = Edits { file, list: Vec::new() };
    let name_of = |n: Node| n.attribute("name").unwrap_or("").trim().to_string();

    for b in set_objects(child(m, "BodySet")) {
        if let Some(body) = model.bodies.iter().find(|x| x.name == name_of(b)) {
            if let Some(c) = child(b, "mass_center") {
                ed.set(c, fmt3(&body.mass_center_m));
            }
            if let Some(c) = child(b, "mass") {
                ed.set(c, fmt(body.mass_kg));
            }
        }
    }
    for j in set_objects(child(m, "JointSet")) {
        let Some(joint) = model.joints.iter().find(|x| x.name == name_of(j)) else { continue };
        let local_frames: Vec<Node> = child(j, "frames").map(|f| elements(f).collect()).unwrap_or_default();
        for (sock, frame) in [("socket_parent_frame", &joint.parent), ("socket_child_frame", &joint.child)] {
            let s = child(j, sock).and_then(|c| c.text()).unwrap_or("").trim();
            match local_frames.iter().find(|f| f.attribute("name") == Some(s)) {
                Some(f) => {
                    let parent = child(*f, "socket_parent").and_then(|c| c.text()).unwrap_or("").trim();
                    let direct = parent.trim_start_matches('/').trim_start_matches("bodyset/") == model.bodies.get(frame.body).map_or("", |b| b.name.as_str()) || parent == "/ground";
                    if direct {
                        ed.set_child(*f, "translation", fmt3(&frame.translation_m))?;
                    } else if frame.translation_m.norm() > 0.0 {
                        return Err(OsimError::Unsupported {
                            file: file.to_path_buf(),
                            element: format!("<PhysicalOffsetFrame name=\"{s}\">"),
                            what: "writing an offset frame on another offset frame".into(),
                            hint: "attach the frame to its body".into(),
                        });
                    }
                }
                None if frame.translation_m.norm() > 0.0 => {
                    return Err(OsimError::Unsupported {
                        file: file.to_path_buf(),
                        element: format!("<{} name=\"{}\">", j.tag_name().name(), joint.name),
                        what: "moving a joint frame that is a body's own frame".into(),
                        hint: "give the joint PhysicalOffsetFrames".into(),
                    });
                }
                None => {}
            }
        }
        if let Some(st) = child(j, "SpatialTransform") {
            for (k, nm) in ["translation1", "translation2", "translation3"].iter().enumerate() {
                let ax = elements(st).find(|a| a.attribute("name") == Some(nm));
                if let Some(f) = ax.and_then(|ax| elements(ax).find(|c| !c.has_tag_name("coordinates") && !c.has_tag_name("axis"))) {
                    ed.function(f, &joint.transform.translations[k].function)?;
                }
            }
        }
    }
    for body in std::iter::once(child(m, "Ground")).chain(set_objects(child(m, "BodySet")).into_iter().map(Some)).flatten() {
        for w in set_objects(child(body, "WrapObjectSet")) {
            let Some(wo) = model.wrap_objects.iter().find(|x| x.name == name_of(w)) else { continue };
            if let Some(c) = child(w, "translation") {
                ed.set(c, fmt3(&wo.translation_m));
            }
            if let Some(c) = child(w, "xyz_body_rotation") {
                ed.set(c, fmt3(&wo.xyz_body_rotation_rad));
            }
            match &wo.shape {
                WrapShape::Sphere { radius_m } => ed.set_child(w, "radius", fmt(*radius_m))?,
                WrapShape::Cylinder { radius_m, length_m } => {
                    ed.set_child(w, "radius", fmt(*radius_m))?;
                    if let Some(c) = child(w, "length") {
                        ed.set(c, fmt(*length_m));
                    }
                }
                WrapShape::Ellipsoid { dimensions_m } => ed.set_child(w, "dimensions", fmt3(dimensions_m))?,
                WrapShape::Torus { inner_radius_m, outer_radius_m } => {
                    ed.set_child(w, "inner_radius", fmt(*inner_radius_m))?;
                    ed.set_child(w, "outer_radius", fmt(*outer_radius_m))?;
                }
            }
        }
    }
    for f in set_objects(child(m, "ForceSet")) {
        let Some(mu) = model.muscles.iter().find(|x| x.name == name_of(f)) else { continue };
        ed.set_child(f, "max_isometric_force", fmt(mu.max_isometric_force_n))?;
        ed.set_child(f, "optimal_fiber_length", fmt(mu.optimal_fiber_length_m))?;
        ed.set_child(f, "tendon_slack_length", fmt(mu.tendon_slack_length_m))?;
        let Some(gp) = child(f, "GeometryPath") else { continue };
        for p in set_objects(child(gp, "PathPointSet")) {
            let Some(pp) = mu.path_points.iter().find(|x| x.name == name_of(p)) else { continue };
            let sock = child(p, "socket_parent_frame").and_then(|c| c.text()).unwrap_or("").trim();
            let on_body = sock.trim_start_matches('/').trim_start_matches("bodyset/") == model.bodies.get(pp.body).map_or("", |b| b.name.as_str()) || sock == "/ground";
            if let (Some(c), true) = (child(p, "location"), on_body) {
                ed.set(c, fmt3(&pp.location_m));
            }
            if let PathPointKind::Moving { x, y, z } = &pp.kind {
                for (tag, comp) in [("x_location", x), ("y_location", y), ("z_location", z)] {
                    if let (Some(fe), Some((_, func))) = (child(p, tag).and_then(|l| elements(l).next()), comp) {
                        ed.function(fe, func)?;
                    }
                }
            }
        }
    }

    ed.list.sort_by_key(|(r, _)| r.start);
    if ed.list.windows(2).any(|w| w[0].0.end > w[1].0.start) {
        return Err(OsimError::BadValue { file: file.to_path_buf(), element: "<Model>".into(), why: "overlapping edits (an element is written twice)".into() });
    }
    let mut out = String::with_capacity(original.len() + 1024);
    let mut at = 0;
    for (r, v) in &ed.list {
        out.push_str(&original[at..r.start]);
        out.push_str(v);
        at = r.end;
    }
    out.push_str(&original[at..]);
    Ok(out)
}

/// Writes `model` (read from `original`) to the new file `out`, keeping everything else of the
/// original file. Refuses to overwrite an existing file.
pub fn write_osim_update(original: impl AsRef<Path>, model: &Model, out: impl AsRef<Path>) -> Result<()> {
    let (original, out) = (original.as_ref(), out.as_ref());
    let text = std::fs::read_to_string(original).map_err(|source| OsimError::Io { file: original.to_path_buf(), source })?;
    let updated = update_osim(&text, original, model)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|source| if source.kind() == std::io::ErrorKind::AlreadyExists { OsimError::Exists { file: out.to_path_buf() } } else { OsimError::Io { file: out.to_path_buf(), source } })?;
    std::io::Write::write_all(&mut f, updated.as_bytes()).map_err(|source| OsimError::Io { file: out.to_path_buf(), source })
}

/// A display mesh to attach to a body ([`set_body_meshes`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MeshGeometry {
    /// The `<Mesh>`'s name.
    pub name: String,
    /// Its `mesh_file`, as OpenSim finds it (beside the model, or in its `Geometry` folder).
    pub mesh_file: String,
    /// Its colour (red, green, blue in 0..1).
    pub colour: [f64; 3],
}

/// `original` with the display meshes of each listed body replaced by the given ones (the
/// body's `<attached_geometry>` rewritten; other bodies and everything else kept as written).
///
/// # Errors
/// [`OsimError::Xml`] for text that is not XML; [`OsimError::Missing`] for a body that is not in
/// the model or has no `<attached_geometry>`.
pub fn set_body_meshes(original: &str, file: impl AsRef<Path>, meshes: &[(String, Vec<MeshGeometry>)]) -> Result<String> {
    let file = file.as_ref();
    let doc = Document::parse(original).map_err(|source| OsimError::Xml { file: file.to_path_buf(), source })?;
    let m = child(doc.root_element(), "Model").ok_or_else(|| OsimError::NotAModel { file: file.to_path_buf(), why: "no <Model>".into() })?;
    let bodies = set_objects(child(m, "BodySet"));
    let mut list: Vec<(Range<usize>, String)> = Vec::new();
    for (body, geometry) in meshes {
        let b = bodies.iter().find(|b| b.attribute("name") == Some(body.as_str())).ok_or_else(|| OsimError::Missing {
            file: file.to_path_buf(),
            element: "BodySet".into(),
            child: format!("Body {body}"),
        })?;
        let g = child(*b, "attached_geometry").ok_or_else(|| OsimError::Missing { file: file.to_path_buf(), element: format!("Body {body}"), child: "attached_geometry".into() })?;
        let inner: String = geometry
            .iter()
            .map(|x| {
                let [r, gr, bl] = x.colour;
                format!(
                    "<Mesh name=\"{}\"><socket_frame>..</socket_frame><scale_factors>1 1 1</scale_factors><Appearance><visible>true</visible><opacity>1</opacity><color>{r} {gr} {bl}</color></Appearance><mesh_file>{}</mesh_file></Mesh>",
                    x.name, x.mesh_file
                )
            })
            .collect();
        list.push((g.range(), format!("<attached_geometry>{inner}</attached_geometry>")));
    }
    list.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(original.len() + 1024);
    let mut at = 0;
    for (r, v) in &list {
        out.push_str(&original[at..r.start]);
        out.push_str(v);
        at = r.end;
    }
    out.push_str(&original[at..]);
    Ok(out)
}
