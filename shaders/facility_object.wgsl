// Facility objects (racks, CDUs, CRAHs, plant) in one material: each instance reads its colour
// from a storage buffer by its MeshTag, so thousands of racks are a handful of draw calls.
#import bevy_pbr::{
    mesh_functions,
    view_transformations::position_world_to_clip
}

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<storage, read> colors: array<vec4<f32>>;

struct Vertex {
    @builtin(instance_index) instance_index: u32,
    @location(0) position: vec3<f32>,
    @location(1) normal: vec3<f32>,
};

struct VertexOutput {
    @builtin(position) clip_position: vec4<f32>,
    @location(0) world_position: vec4<f32>,
    @location(1) world_normal: vec3<f32>,
    @location(2) local_position: vec3<f32>,
    @location(3) color: vec4<f32>,
};

@vertex
fn vertex(vertex: Vertex) -> VertexOutput {
    var out: VertexOutput;
    let tag = mesh_functions::get_tag(vertex.instance_index);
    let world_from_local = mesh_functions::get_world_from_local(vertex.instance_index);
    out.world_position = mesh_functions::mesh_position_local_to_world(world_from_local, vec4(vertex.position, 1.0));
    out.clip_position = position_world_to_clip(out.world_position.xyz);
    out.world_normal = mesh_functions::mesh_normal_local_to_world(vertex.normal, vertex.instance_index);
    out.local_position = vertex.position;
    out.color = colors[tag];
    return out;
}

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let n = normalize(in.world_normal);
    // Key light from above-front, sky/ground hemisphere fill.
    let key = max(dot(n, normalize(vec3(0.35, 1.0, 0.55))), 0.0);
    let hemi = 0.5 + 0.5 * n.y;
    var c = in.color.rgb * (0.30 + 0.40 * hemi + 0.45 * key);

    // Dark bezel along the box edges: on a face, the other two coordinates near ±0.5.
    let a = abs(in.local_position) * 2.0;
    let e = max(max(min(a.x, a.y), min(a.y, a.z)), min(a.x, a.z));
    c = mix(c, c * 0.22, smoothstep(0.93, 0.975, e));

    // Server slots on the vertical faces; alpha < 1 marks objects without slots.
    if (in.color.a > 0.99) {
        let slot = fract((in.local_position.y + 0.5) * 28.0);
        let groove = smoothstep(0.0, 0.12, slot) * smoothstep(1.0, 0.88, slot);
        c = c * mix(1.0, mix(0.72, 1.0, groove), 1.0 - abs(n.y));
    }
    return vec4(c, 1.0);
}
