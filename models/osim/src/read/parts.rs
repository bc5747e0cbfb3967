//! Reading a model's functions (splines, linear, constant, multiplier), wrap objects and muscles.

use super::*;

impl Reader {
    /// The function element inside a property element (`<x_location><SimmSpline>..`).
    pub(super) fn function_in(&self, n: Node) -> Result<Function> {
        let f = elements(n).next().ok_or_else(|| OsimError::Missing { file: self.file.clone(), element: desc(n), child: "a function".into() })?;
        self.function(f)
    }

    pub(super) fn xy(&self, f: Node) -> Result<(Vec<f64>, Vec<f64>)> {
        let x = self.numbers(self.req(f, "x")?)?;
        let y = self.numbers(self.req(f, "y")?)?;
        if x.len() != y.len() || x.is_empty() {
            return Err(self.bad(f, format!("needs as many x as y values, at least one; found {} and {}", x.len(), y.len())));
        }
        if x.windows(2).any(|w| w[1] < w[0]) {
            return Err(self.bad(f, "x values must not decrease"));
        }
        Ok((x, y))
    }

    pub(super) fn function(&self, f: Node) -> Result<Function> {
        Ok(match f.tag_name().name() {
            "function" => return self.function_in(f),
            "Constant" => Function::Constant(self.opt_scalar(f, "value", 0.0)?),
            "LinearFunction" => {
                let c = self.numbers(self.req(f, "coefficients")?)?;
                if c.len() != 2 {
                    return Err(self.bad(f, format!("a LinearFunction has 2 coefficients (slope, intercept), found {}", c.len())));
                }
                Function::Linear { slope: c[0], intercept: c[1] }
            }
            "PolynomialFunction" => {
                let c = self.numbers(self.req(f, "coefficients")?)?;
                if c.is_empty() {
                    return Err(self.bad(f, "no coefficients"));
                }
                Function::Polynomial(c)
            }
            "SimmSpline" => {
                let (x, y) = self.xy(f)?;
                Function::SimmSpline(Spline::simm(x, y))
            }
            "NaturalCubicSpline" => {
                let (x, y) = self.xy(f)?;
                Function::NaturalCubicSpline(Spline::natural(x, y))
            }
            "PiecewiseLinearFunction" => {
                let (x, y) = self.xy(f)?;
                Function::PiecewiseLinear { x, y }
            }
            "MultiplierFunction" => {
                let inner = self.function_in(self.req(f, "function")?)?;
                Function::Multiplier { inner: Box::new(inner), scale: self.opt_scalar(f, "scale", 1.0)? }
            }
            other => {
                return Err(OsimError::Unsupported {
                    file: self.file.clone(),
                    element: desc(f),
                    what: format!("the function type {other}"),
                    hint: "use a SimmSpline, NaturalCubicSpline, PiecewiseLinearFunction, LinearFunction, PolynomialFunction or Constant".into(),
                });
            }
        })
    }

    pub(super) fn wrap_object(&self, w: Node, body: BodyIndex) -> Result<WrapObject> {
        let name = self.name(w)?;
        let positive = |what: &str, v: f64| if v > 0.0 { Ok(v) } else { Err(self.bad(w, format!("{what} must be positive, is {v}"))) };
        let shape = match w.tag_name().name() {
            "WrapSphere" => WrapShape::Sphere { radius_m: positive("radius", self.req_scalar(w, "radius")?)? },
            "WrapCylinder" => WrapShape::Cylinder { radius_m: positive("radius", self.req_scalar(w, "radius")?)?, length_m: positive("length", self.opt_scalar(w, "length", 1.0)?)? },
            "WrapEllipsoid" => {
                let d = self.vec3(self.req(w, "dimensions")?)?;
                if d.iter().any(|&v| v <= 0.0) {
                    return Err(self.bad(w, "dimensions must be positive"));
                }
                WrapShape::Ellipsoid { dimensions_m: d }
            }
            "WrapTorus" => {
                WrapShape::Torus { inner_radius_m: positive("inner_radius", self.req_scalar(w, "inner_radius")?)?, outer_radius_m: positive("outer_radius", self.req_scalar(w, "outer_radius")?)? }
            }
            other => {
                return Err(OsimError::Unsupported {
                    file: self.file.clone(),
                    element: desc(w),
                    what: format!("wrap object type {other}"),
                    hint: "use WrapSphere, WrapCylinder, WrapEllipsoid or WrapTorus".into(),
                });
            }
        };
        let quadrant = match child(w, "quadrant").map(text).unwrap_or("all") {
            "all" | "" => None,
            "x" | "+x" => Some((0, 1.0)),
            "-x" => Some((0, -1.0)),
            "y" | "+y" => Some((1, 1.0)),
            "-y" => Some((1, -1.0)),
            "z" | "+z" => Some((2, 1.0)),
            "-z" => Some((2, -1.0)),
            q => return Err(self.bad(w, format!("quadrant '{q}' is not one of all, +x, -x, +y, -y, +z, -z"))),
        };
        Ok(WrapObject {
            name,
            body,
            translation_m: self.opt_vec3(w, "translation")?,
            xyz_body_rotation_rad: self.opt_vec3(w, "xyz_body_rotation")?,
            quadrant,
            active: self.opt_bool(w, "active", true)?,
            shape,
        })
    }

    pub(super) fn muscle(&self, f: Node, frames: &FrameResolver, coord_index: &HashMap<String, CoordIndex>, wraps: &[WrapObject]) -> Result<Muscle> {
        let name = self.name(f)?;
        let positive = |tag: &str| -> Result<f64> {
            let v = self.req_scalar(f, tag)?;
            if v > 0.0 { Ok(v) } else { Err(self.bad(f, format!("<{tag}> must be positive, is {v}"))) }
        };
        let max_isometric_force_n = positive("max_isometric_force")?;
        let optimal_fiber_length_m = positive("optimal_fiber_length")?;
        let tendon_slack_length_m = self.req_scalar(f, "tendon_slack_length")?;
        if tendon_slack_length_m < 0.0 {
            return Err(self.bad(f, "negative tendon_slack_length"));
        }
        let pennation = self.opt_scalar(f, "pennation_angle_at_optimal", 0.0)?;
        if !(0.0..std::f64::consts::FRAC_PI_2).contains(&pennation) {
            return Err(self.bad(f, format!("pennation_angle_at_optimal {pennation} rad is outside [0, pi/2)")));
        }
        let model = match f.tag_name().name() {
            "Thelen2003Muscle" => {
                let d = ThelenParams::default();
                MuscleModel::Thelen2003(ThelenParams {
                    fmax_tendon_strain: self.opt_scalar(f, "FmaxTendonStrain", d.fmax_tendon_strain)?,
                    fmax_muscle_strain: self.opt_scalar(f, "FmaxMuscleStrain", d.fmax_muscle_strain)?,
                    kshape_active: self.opt_scalar(f, "KshapeActive", d.kshape_active)?,
                    kshape_passive: self.opt_scalar(f, "KshapePassive", d.kshape_passive)?,
                    af: self.opt_scalar(f, "Af", d.af)?,
                    flen: self.opt_scalar(f, "Flen", d.flen)?,
                })
            }
            "Millard2012EquilibriumMuscle" => {
                let d = MillardParams::default();
                let sub = |curve: &str, tag: &str, def: f64| -> Result<f64> { child(f, curve).map_or(Ok(def), |c| self.opt_scalar(c, tag, def)) };
                MuscleModel::Millard2012(MillardParams {
                    min_norm_active_fiber_length: sub("ActiveForceLengthCurve", "min_norm_active_fiber_length", d.min_norm_active_fiber_length)?,
                    transition_norm_fiber_length: sub("ActiveForceLengthCurve", "transition_norm_fiber_length", d.transition_norm_fiber_length)?,
                    max_norm_active_fiber_length: sub("ActiveForceLengthCurve", "max_norm_active_fiber_length", d.max_norm_active_fiber_length)?,
                    shallow_ascending_slope: sub("ActiveForceLengthCurve", "shallow_ascending_slope", d.shallow_ascending_slope)?,
                    minimum_value: sub("ActiveForceLengthCurve", "minimum_value", d.minimum_value)?,
                    fiber_strain_at_zero_force: sub("FiberForceLengthCurve", "strain_at_zero_force", d.fiber_strain_at_zero_force)?,
                    fiber_strain_at_one_norm_force: sub("FiberForceLengthCurve", "strain_at_one_norm_force", d.fiber_strain_at_one_norm_force)?,
                    tendon_strain_at_one_norm_force: sub("TendonForceLengthCurve", "strain_at_one_norm_force", d.tendon_strain_at_one_norm_force)?,
                    max_eccentric_velocity_force_multiplier: sub("ForceVelocityCurve", "max_eccentric_velocity_force_multiplier", d.max_eccentric_velocity_force_multiplier)?,
                    ignore_tendon_compliance: self.opt_bool(f, "ignore_tendon_compliance", false)?,
                })
            }
            other => MuscleModel::Other(other.to_string()),
        };
        let gp = self.req(f, "GeometryPath")?;
        let coord = |n: Node, sock: &str| -> Result<CoordIndex> {
            let s = text(self.req(n, sock)?);
            coord_index.get(last_segment(s)).copied().ok_or_else(|| OsimError::UnknownReference { file: self.file.clone(), element: desc(n), reference: s.into() })
        };
        let mut path_points = Vec::new();
        for p in set_objects(child(gp, "PathPointSet")) {
            let pname = self.name(p)?;
            let sock = text(self.req(p, "socket_parent_frame")?);
            let frame = frames.resolve(self, p, sock, "", 0)?;
            let offset = frame.translation_m.norm() > 0.0 || frame.rotation.angle() > 0.0;
            let raw = self.opt_vec3(p, "location")?;
            let location_m = frame.rotation * raw + frame.translation_m;
            let kind = match p.tag_name().name() {
                "PathPoint" => PathPointKind::Fixed,
                "ConditionalPathPoint" => {
                    let r = self.vec_n(self.req(p, "range")?, 2)?;
                    PathPointKind::Conditional { coordinate: coord(p, "socket_coordinate")?, range: [r[0], r[1]] }
                }
                "MovingPathPoint" => {
                    if offset {
                        return Err(OsimError::Unsupported {
                            file: self.file.clone(),
                            element: desc(p),
                            what: "a moving path point on an offset frame".into(),
                            hint: "attach it to the body itself".into(),
                        });
                    }
                    let comp = |loc: &str, sock: &str| -> Result<Option<(CoordIndex, Box<Function>)>> {
                        match child(p, loc) {
                            Some(l) if elements(l).next().is_some() => Ok(Some((coord(p, sock)?, Box::new(self.function_in(l)?)))),
                            _ => Ok(None),
                        }
                    };
                    PathPointKind::Moving { x: comp("x_location", "socket_x_coordinate")?, y: comp("y_location", "socket_y_coordinate")?, z: comp("z_location", "socket_z_coordinate")? }
                }
                other => {
                    return Err(OsimError::Unsupported {
                        file: self.file.clone(),
                        element: desc(p),
                        what: format!("path point type {other}"),
                        hint: "use PathPoint, ConditionalPathPoint or MovingPathPoint".into(),
                    });
                }
            };
            path_points.push(PathPoint { name: pname, body: frame.body, location_m, kind });
        }
        if path_points.len() < 2 {
            return Err(self.bad(gp, format!("muscle {name} has {} path points; a path needs at least two", path_points.len())));
        }
        let mut path_wraps = Vec::new();
        for w in set_objects(child(gp, "PathWrapSet")) {
            let wname = text(self.req(w, "wrap_object")?);
            let wrap_object = wraps.iter().position(|o| o.name == wname).ok_or_else(|| OsimError::UnknownReference { file: self.file.clone(), element: desc(w), reference: wname.into() })?;
            let method = match child(w, "method").map(text).unwrap_or("hybrid") {
                "hybrid" | "" => WrapMethod::Hybrid,
                "midpoint" => WrapMethod::Midpoint,
                "axial" => WrapMethod::Axial,
                other => return Err(self.bad(w, format!("method '{other}' is not hybrid, midpoint or axial"))),
            };
            // OpenSim: a start below 1 means the first point, an end below 1 the last point.
            let n_points = path_points.len();
            let range = match child(w, "range") {
                Some(r) => {
                    let v = self.vec_n(r, 2)?;
                    if v[0] < 1.0 && v[1] < 1.0 {
                        None
                    } else {
                        let a = if v[0] < 1.0 { 1 } else { v[0] as usize };
                        let b = if v[1] < 1.0 { n_points } else { v[1] as usize };
                        if a > n_points || b > n_points || a > b {
                            return Err(self.bad(w, format!("range {} {} is outside the path's {n_points} points", v[0], v[1])));
                        }
                        Some([a, b])
                    }
                }
                None => None,
            };
            path_wraps.push(PathWrap { wrap_object, method, range });
        }
        Ok(Muscle {
            name,
            model,
            max_isometric_force_n,
            optimal_fiber_length_m,
            tendon_slack_length_m,
            pennation_angle_at_optimal_rad: pennation,
            max_contraction_velocity: self.opt_scalar(f, "max_contraction_velocity", 10.0)?,
            applies_force: self.opt_bool(f, "appliesForce", true)?,
            path_points,
            path_wraps,
        })
    }
}
