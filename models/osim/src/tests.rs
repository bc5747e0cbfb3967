//! Reader tests on small inline models (the real models are tested end to end in coxa-tests).

use approx::assert_relative_eq;

use crate::*;

const TWO_BODIES: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
<OpenSimDocument Version="40000">
  <Model name="tiny">
    <gravity>0 -9.81 0</gravity>
    <Ground name="ground">
      <WrapObjectSet name="wrapobjectset"><objects>
        <WrapSphere name="ball"><translation>0 0.5 0</translation><radius>0.05</radius></WrapSphere>
      </objects></WrapObjectSet>
    </Ground>
    <BodySet name="bodyset"><objects>
      <Body name="thigh">
        <mass>8</mass><mass_center>0 -0.2 0</mass_center><inertia>0.1 0.02 0.1 0 0 0</inertia>
        <WrapObjectSet name="wrapobjectset"><objects>
          <WrapCylinder name="cyl"><xyz_body_rotation>0 0 1.5</xyz_body_rotation><translation>0 -0.4 0</translation>
            <quadrant>-x</quadrant><radius>0.03</radius><length>0.1</length></WrapCylinder>
        </objects></WrapObjectSet>
      </Body>
    </objects></BodySet>
    <JointSet name="jointset"><objects>
      <PinJoint name="hip">
        <socket_parent_frame>ground_offset</socket_parent_frame>
        <socket_child_frame>thigh_offset</socket_child_frame>
        <coordinates><Coordinate name="flex"><default_value>0.1</default_value><range>-1 2</range></Coordinate></coordinates>
        <frames>
          <PhysicalOffsetFrame name="ground_offset"><socket_parent>/ground</socket_parent><translation>0 1 0</translation><orientation>0 0 0</orientation></PhysicalOffsetFrame>
          <PhysicalOffsetFrame name="thigh_offset"><socket_parent>/bodyset/thigh</socket_parent><translation>0 0 0</translation><orientation>0 0 0</orientation></PhysicalOffsetFrame>
        </frames>
      </PinJoint>
    </objects></JointSet>
    <ForceSet name="forceset"><objects>
      <Thelen2003Muscle name="m1">
        <GeometryPath name="path">
          <PathPointSet><objects>
            <PathPoint name="p1"><socket_parent_frame>/ground</socket_parent_frame><location>0.05 1.1 0</location></PathPoint>
            <ConditionalPathPoint name="p2"><socket_parent_frame>/bodyset/thigh</socket_parent_frame><location>0.04 -0.1 0</location>
              <socket_coordinate>/jointset/hip/flex</socket_coordinate><range>0 1</range></ConditionalPathPoint>
            <MovingPathPoint name="p3"><socket_parent_frame>/bodyset/thigh</socket_parent_frame>
              <socket_x_coordinate>/jointset/hip/flex</socket_x_coordinate>
              <x_location><SimmSpline><x>-1 0 1 2</x><y>0.01 0.02 0.04 0.08</y></SimmSpline></x_location>
              <socket_y_coordinate>/jointset/hip/flex</socket_y_coordinate>
              <y_location><LinearFunction><coefficients>0 -0.3</coefficients></LinearFunction></y_location>
            </MovingPathPoint>
          </objects></PathPointSet>
          <PathWrapSet><objects><PathWrap name="w"><wrap_object>cyl</wrap_object><method>hybrid</method><range>-1 -1</range></PathWrap></objects></PathWrapSet>
        </GeometryPath>
        <max_isometric_force>1000</max_isometric_force><optimal_fiber_length>0.1</optimal_fiber_length>
        <tendon_slack_length>0.2</tendon_slack_length><pennation_angle_at_optimal>0.1</pennation_angle_at_optimal>
        <FmaxTendonStrain>0.033</FmaxTendonStrain>
      </Thelen2003Muscle>
      <CoordinateActuator name="act"><coordinate>flex</coordinate></CoordinateActuator>
    </objects></ForceSet>
  </Model>
</OpenSimDocument>
"#;

#[test]
fn reads_a_small_model() {
    let m = parse_osim(TWO_BODIES, "tiny.osim").unwrap();
    assert_eq!(m.name, "tiny");
    assert_eq!(m.bodies.len(), 2);
    assert_eq!(m.bodies[0].name, "ground");
    assert_relative_eq!(m.bodies[1].mass_kg, 8.0);
    assert_eq!(m.joints.len(), 1);
    let j = &m.joints[0];
    assert_eq!(j.kind, JointKind::Pin);
    assert_eq!(j.parent.body, 0);
    assert_relative_eq!(j.parent.translation_m.y, 1.0);
    assert_eq!(j.child.body, 1);
    assert_eq!(j.coordinates, vec![0]);
    assert_eq!(j.transform.rotations[0].coordinates, vec![0]);
    assert_relative_eq!(j.transform.rotations[0].axis.z, 1.0);
    assert_relative_eq!(m.coordinates[0].default_value, 0.1);
    assert_eq!(m.muscles.len(), 1, "the CoordinateActuator is not a muscle");
    let mu = &m.muscles[0];
    assert!(matches!(&mu.model, MuscleModel::Thelen2003(p) if (p.fmax_tendon_strain - 0.033).abs() < 1e-15 && p.kshape_active == 0.45));
    assert_eq!(mu.path_points.len(), 3);
    assert!(mu.path_points[1].is_active(&[0.5]));
    assert!(!mu.path_points[1].is_active(&[-0.5]));
    let p3 = mu.path_points[2].location(&[1.0]);
    assert_relative_eq!(p3.x, 0.04);
    assert_relative_eq!(p3.y, -0.3);
    assert_relative_eq!(p3.z, 0.0);
    assert_eq!(m.wrap_objects.len(), 2);
    assert_eq!(m.wrap_objects[1].body, 1);
    assert_eq!(m.wrap_objects[1].quadrant, Some((0, -1.0)));
    assert_eq!(mu.path_wraps.len(), 1);
    assert_eq!(mu.path_wraps[0].wrap_object, 1);
    assert!(mu.path_wraps[0].range.is_none());
}

fn err_of(text: &str) -> String {
    parse_osim(text, "bad.osim").unwrap_err().to_string()
}

#[test]
fn bad_input_is_a_clear_error() {
    let e = err_of("<not xml");
    assert!(e.contains("bad.osim") && e.contains("XML"), "{e}");
    let e = err_of("<Foo/>");
    assert!(e.contains("OpenSimDocument"), "{e}");
    let e = err_of(&TWO_BODIES.replace("<max_isometric_force>1000</max_isometric_force>", "<max_isometric_force>abc</max_isometric_force>"));
    assert!(e.contains("Thelen2003Muscle name=\"m1\"") && e.contains("'abc'"), "{e}");
    let e = err_of(&TWO_BODIES.replace("<wrap_object>cyl</wrap_object>", "<wrap_object>nope</wrap_object>"));
    assert!(e.contains("'nope'") && e.contains("PathWrap"), "{e}");
    let e = err_of(&TWO_BODIES.replace("/jointset/hip/flex</socket_coordinate>", "/jointset/hip/knee</socket_coordinate>"));
    assert!(e.contains("/jointset/hip/knee") && e.contains("ConditionalPathPoint name=\"p2\""), "{e}");
    let e = err_of(&TWO_BODIES.replace("<socket_parent>/bodyset/thigh</socket_parent>", "<socket_parent>/bodyset/shank</socket_parent>"));
    assert!(e.contains("/bodyset/shank"), "{e}");
    let e = err_of(&TWO_BODIES.replace("<radius>0.03</radius>", "<radius>-0.03</radius>"));
    assert!(e.contains("WrapCylinder name=\"cyl\"") && e.contains("positive"), "{e}");
    let e = err_of(&TWO_BODIES.replace("<x>-1 0 1 2</x>", "<x>-1 0 1</x>"));
    assert!(e.contains("SimmSpline") && e.contains("as many x as y"), "{e}");
    let e = err_of(&TWO_BODIES.replace("Version=\"40000\"", "Version=\"30000\""));
    assert!(e.contains("OpenSim 3"), "{e}");
    let e = err_of(&TWO_BODIES.replace("<SimmSpline><x>", "<GCVSpline><x>").replace("</y></SimmSpline>", "</y></GCVSpline>"));
    assert!(e.contains("GCVSpline") && e.contains("not supported"), "{e}");
}

#[test]
fn orientation_round_trips_through_xyz_angles() {
    let a = nalgebra::Vector3::new(0.3, -0.7, 1.2);
    let r = body_fixed_xyz(a);
    assert_relative_eq!(xyz_from_rotation(&r), a, epsilon = 1e-12);
}

#[test]
fn writer_round_trips_changed_values() {
    let mut m = parse_osim(TWO_BODIES, "tiny.osim").unwrap();
    m.muscles[0].optimal_fiber_length_m = 0.123;
    m.muscles[0].path_points[0].location_m.x = 0.5;
    m.joints[0].parent.translation_m.y = 1.25;
    m.bodies[1].mass_center_m.y = -0.25;
    if let WrapShape::Cylinder { radius_m, .. } = &mut m.wrap_objects[1].shape {
        *radius_m = 0.031;
    }
    if let PathPointKind::Moving { x: Some((_, f)), .. } = &mut m.muscles[0].path_points[2].kind {
        **f = Function::SimmSpline(Spline::simm(vec![-1.0, 0.0, 1.0, 2.0], vec![0.02, 0.04, 0.08, 0.16]));
    }
    let text = update_osim(TWO_BODIES, "tiny.osim", &m).unwrap();
    let back = parse_osim(&text, "out.osim").unwrap();
    assert_relative_eq!(back.muscles[0].optimal_fiber_length_m, 0.123);
    assert_relative_eq!(back.muscles[0].path_points[0].location_m.x, 0.5);
    assert_relative_eq!(back.joints[0].parent.translation_m.y, 1.25);
    assert_relative_eq!(back.bodies[1].mass_center_m.y, -0.25);
    assert_eq!(back.wrap_objects[1].shape, WrapShape::Cylinder { radius_m: 0.031, length_m: 0.1 });
    assert_relative_eq!(back.muscles[0].path_points[2].location(&[1.0]).x, 0.08);
    // Everything else is kept, comments and unknown elements included.
    assert!(text.contains("<CoordinateActuator name=\"act\"><coordinate>flex</coordinate></CoordinateActuator>"));
    // Unchanged model: identical text.
    let same = parse_osim(TWO_BODIES, "tiny.osim").unwrap();
    let t2 = update_osim(TWO_BODIES, "tiny.osim", &same).unwrap();
    assert_eq!(parse_osim(&t2, "t2").unwrap().muscles[0].tendon_slack_length_m, 0.2);
}

#[test]
fn writer_refuses_to_overwrite() {
    let dir = std::env::temp_dir().join(format!("coxa-osim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("in.osim");
    std::fs::write(&src, TWO_BODIES).unwrap();
    let m = read_osim(&src).unwrap();
    let out = dir.join("out.osim");
    write_osim_update(&src, &m, &out).unwrap();
    let e = write_osim_update(&src, &m, &out).unwrap_err().to_string();
    assert!(e.contains("exists already"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// gait2392's pelvis carries three display meshes and each femur one, at scale 1.
#[test]
fn body_meshes_of_gait2392() {
    let m = crate::body_meshes(crate::embedded::GAIT2392_OSIM, "gait2392").unwrap();
    let of = |b: &str| m.iter().filter(|x| x.body == b).map(|x| x.mesh_file.as_str()).collect::<Vec<_>>();
    assert_eq!(of("pelvis"), ["sacrum.vtp", "pelvis.vtp", "l_pelvis.vtp"]);
    assert_eq!(of("femur_r"), ["femur_r.vtp"]);
    assert!(m.iter().all(|x| x.scale_factors == [1.0; 3]));
}

/// `set_body_meshes` replaces the listed bodies' display meshes and keeps everything else: the
/// model reads back the same, the other bodies keep theirs, an unknown body is an error.
#[test]
fn body_meshes_are_replaced() {
    let text = crate::embedded::GAIT2392_OSIM;
    let mesh = |name: &str, file: &str| MeshGeometry { name: name.into(), mesh_file: file.into(), colour: [0.9, 0.8, 0.7] };
    let meshes = vec![("pelvis".to_string(), vec![mesh("pelvis_patient", "p_pelvis.stl")]), ("femur_l".to_string(), vec![mesh("femur_l_patient", "p_femur_l.stl"), mesh("stem", "stem.stl")])];
    let out = set_body_meshes(text, "gait2392", &meshes).unwrap();
    let m = crate::body_meshes(&out, "gait2392").unwrap();
    let of = |b: &str| m.iter().filter(|x| x.body == b).map(|x| x.mesh_file.as_str()).collect::<Vec<_>>();
    assert_eq!(of("pelvis"), ["p_pelvis.stl"]);
    assert_eq!(of("femur_l"), ["p_femur_l.stl", "stem.stl"]);
    assert_eq!(of("femur_r"), ["femur_r.vtp"]);
    let (a, b) = (parse_osim(&out, "out").unwrap(), parse_osim(text, "in").unwrap());
    assert_eq!((a.bodies.len(), a.muscles.len(), a.coordinates.len()), (b.bodies.len(), b.muscles.len(), b.coordinates.len()));
    assert!(a.bodies.iter().zip(&b.bodies).all(|(x, y)| x.name == y.name && x.mass_kg == y.mass_kg && x.mass_center_m == y.mass_center_m));
    let e = set_body_meshes(text, "gait2392", &[("thorax".to_string(), Vec::new())]).unwrap_err().to_string();
    assert!(e.contains("thorax"), "{e}");
}
