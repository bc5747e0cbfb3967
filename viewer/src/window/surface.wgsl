// The window's shading of the translucent bones and muscles (viewer/src/window/surface.rs):
// diffuse light from the eye and from one key light above the left shoulder of an AP view,
// plus ambient, in the material's colour and opacity. No physically based terms: on Mesa's
// lavapipe every fragment runs on the CPU and this is a fraction of bevy's PBR shader.

#import bevy_pbr::{forward_io::VertexOutput, mesh_view_bindings::view}

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> colour: vec4<f32>;

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let n = normalize(in.world_normal);
    let to_eye = normalize(view.world_position - in.world_position.xyz);
    let key = normalize(vec3<f32>(-1.0, 1.5, 2.0));
    let light = 0.40 + 0.45 * abs(dot(n, to_eye)) + 0.25 * max(dot(n, key), 0.0);
    return vec4<f32>(colour.rgb * light, colour.a);
}
