// Facility objects (racks, CDUs, CRAHs, plant, pipes, busways) in one material: each instance
// reads its colour and its details from storage buffers by its MeshTag, so thousands of racks
// are a handful of draw calls. Every object is a unit cube scaled to size; what makes a rack
// read as a rack (door mesh, trays, status light, rear manifolds), a dry cooler as a dry cooler
// (turning fans) and a pipe as a pipe (round shading, water running) is drawn here, in metres.
#import bevy_pbr::{
    mesh_functions,
    mesh_view_bindings::globals,
    view_transformations::position_world_to_clip
}

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<storage, read> colors: array<vec4<f32>>;
// [look, facing, phase, level]: see `app::tags::look` and `colours::fill_details`.
@group(#{MATERIAL_BIND_GROUP}) @binding(1) var<storage, read> details: array<vec4<f32>>;

const FLOW_REVERSED: u32 = 0x80000000u;
const FITTING: u32 = 0x40000000u;
const INDEX: u32 = 0x3fffffffu;

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
    @location(3) @interpolate(flat) color: vec4<f32>,
    @location(4) @interpolate(flat) detail: vec4<f32>,
    // The cube's size in metres (its scale: objects are never rotated).
    @location(5) @interpolate(flat) size: vec3<f32>,
    @location(6) @interpolate(flat) bits: u32,
};

@vertex
fn vertex(vertex: Vertex) -> VertexOutput {
    var out: VertexOutput;
    let raw = mesh_functions::get_tag(vertex.instance_index);
    let tag = raw & INDEX;
    let world_from_local = mesh_functions::get_world_from_local(vertex.instance_index);
    out.world_position = mesh_functions::mesh_position_local_to_world(world_from_local, vec4(vertex.position, 1.0));
    out.clip_position = position_world_to_clip(out.world_position.xyz);
    out.world_normal = mesh_functions::mesh_normal_local_to_world(vertex.normal, vertex.instance_index);
    out.local_position = vertex.position;
    out.color = colors[tag];
    out.detail = details[tag];
    out.size = vec3(length(world_from_local[0].xyz), length(world_from_local[1].xyz), length(world_from_local[2].xyz));
    out.bits = raw & (FLOW_REVERSED | FITTING);
    return out;
}

// 1 on thin lines `width` (a share of the period) wide, every `period` metres; fades out where
// the lines are finer than the pixels (`fw`: the coordinate's change per pixel), so far-off
// racks do not shimmer.
fn lines(x: f32, period: f32, width: f32, fw: f32) -> f32 {
    let t = x / period;
    let w = fw / period;
    let d = abs(fract(t) - 0.5) * 2.0;
    let line = smoothstep(1.0 - width - w, 1.0 - width + w, d);
    return line * (1.0 - smoothstep(0.3, 0.6, w));
}

// 1 inside round holes on a grid `period` metres apart (a door's perforation), faded like `lines`.
fn holes(u: f32, v: f32, period: f32, fw: f32) -> f32 {
    let w = fw / period;
    let p = vec2(fract(u / period), fract(v / period)) - 0.5;
    let hole = 1.0 - smoothstep(0.28 - w, 0.28 + w, length(p));
    return hole * (1.0 - smoothstep(0.25, 0.5, w));
}

fn inside(x: f32, lo: f32, hi: f32) -> f32 {
    return step(lo, x) * step(x, hi);
}

fn front_normal(facing: u32) -> vec3<f32> {
    switch facing {
        case 0u: { return vec3(0.0, 0.0, -1.0); }
        case 1u: { return vec3(0.0, 0.0, 1.0); }
        case 2u: { return vec3(1.0, 0.0, 0.0); }
        default: { return vec3(-1.0, 0.0, 0.0); }
    }
}

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let n = normalize(in.world_normal);
    let size = in.size;
    // Metres from the object's centre, and how much they change per pixel. Derivatives are
    // taken here, in uniform control flow, and handed to the patterns below.
    let m = in.local_position * size;
    let fwm = fwidth(m);
    let fww = fwidth(in.world_position.xyz);
    let look = u32(in.detail.x + 0.5);
    let facing = u32(in.detail.y + 0.5);
    let phase = in.detail.z;
    let level = in.detail.w;
    let t = globals.time;

    // On a vertical face: `u` across it (to the right as one faces it), `v` up from the floor.
    let on_z = abs(n.z) > 0.5;
    let vertical = abs(n.y) < 0.5;
    let top = n.y > 0.5;
    let u = select(m.z * sign(-n.x), m.x * sign(n.z), on_z);
    let fu = select(fwm.z, fwm.x, on_z);
    let width = select(size.z, size.x, on_z);
    let v = m.y + size.y * 0.5;
    let fv = fwm.y;
    let height = size.y;

    // Key light from above-front (the scene's directional light), sky/ground hemisphere fill:
    // vertical faces stay near the legend's colour.
    let key = max(dot(n, normalize(vec3(0.35, 1.0, 0.55))), 0.0);
    let hemi = 0.5 + 0.5 * n.y;
    var light = 0.52 + 0.22 * hemi + 0.36 * key;
    var base = in.color.rgb;
    var glow = vec3(0.0);

    // Dark bezel along the box edges: on a face, the other two coordinates near ±0.5.
    let a = abs(in.local_position) * 2.0;
    let e = max(max(min(a.x, a.y), min(a.y, a.z)), min(a.x, a.z));
    var bezel = smoothstep(0.93, 0.975, e);

    let is_rack = look >= 1u && look <= 4u;
    if (look == 9u || look == 10u) {
        bezel = 0.0;
    }
    // Contact shadow: the lowest half metre of anything standing on the floor darkens.
    if (vertical && look != 9u && look != 10u) {
        light *= mix(0.62, 1.0, smoothstep(0.0, 0.45, v));
    }

    if (is_rack) {
        let fn_ = front_normal(facing);
        let front = dot(n, fn_) > 0.5;
        let back = dot(n, fn_) < -0.5;
        let state = u32(phase + 0.5);
        let frame = 0.035;
        let door = inside(u, -width * 0.5 + frame, width * 0.5 - frame) * inside(v, 0.06, height - 0.05);
        if (front) {
            var pattern = 0.0;
            if (look == 1u) {
                // NVL72: compute trays above and below the switch trays, a power shelf on top.
                let switch_band = inside(v, height * 0.44, height * 0.56);
                let trays = lines(v, 0.0445 * 2.0, 0.10, fv);
                pattern = max(trays * 0.45, holes(u, v, 0.016, max(fu, fv)) * 0.35);
                base = mix(base, base * 0.45, switch_band * door);
                // Port lights on the switch trays.
                let port = holes(u, v, 0.03, max(fu, fv)) * switch_band * inside(fract(v / 0.0445), 0.3, 0.7);
                glow += vec3(0.25, 0.95, 0.55) * port * 0.35 * door;
            } else if (look == 2u) {
                // An air-cooled server rack: a full-height mesh door with a handle.
                pattern = holes(u, v, 0.012, max(fu, fv)) * 0.45;
                let handle = inside(u, -width * 0.5 + frame + 0.03, -width * 0.5 + frame + 0.05) * inside(v, height * 0.4, height * 0.6);
                base = mix(base, vec3(0.08), handle);
            } else if (look == 3u) {
                // Storage: drive shelves, each a row of drive carriers with a light.
                let shelves = lines(v, 0.089, 0.12, fv);
                let drives = lines(u, 0.022, 0.25, fu);
                pattern = max(shelves * 0.6, drives * 0.3);
                let led = inside(fract(v / 0.089), 0.78, 0.86) * inside(fract(u / 0.022), 0.35, 0.65);
                glow += vec3(0.2, 0.85, 0.4) * led * 0.4 * door * (1.0 - smoothstep(0.2, 0.4, max(fu, fv) / 0.022));
            } else {
                // Network: rows of ports, cable bundles down both sides.
                let ports = inside(fract(v / 0.0445), 0.3, 0.75) * inside(fract(u / 0.016), 0.2, 0.8) * inside(abs(u), 0.0, width * 0.5 - 0.12);
                pattern = ports * 0.55 * (1.0 - smoothstep(0.25, 0.5, max(fu, fv) / 0.016));
                let cables = inside(abs(u), width * 0.5 - 0.11, width * 0.5 - frame);
                base = mix(base, base * 0.35 + vec3(0.05, 0.07, 0.12), cables * door);
            }
            base = base * (1.0 - pattern * door);
            // Status light strip down the door's right edge: green, amber when throttled, red when stopped.
            let strip = inside(u, width * 0.5 - frame - 0.042, width * 0.5 - frame - 0.012) * inside(v, height * 0.12, height * 0.88);
            var lamp = vec3(0.15, 0.95, 0.45);
            var lamp_on = 0.85;
            if (state == 1u) {
                lamp = vec3(1.0, 0.62, 0.05);
                lamp_on = 0.35 + 0.65 * step(0.5, fract(t * 2.0));
            } else if (state == 2u) {
                lamp = vec3(1.0, 0.08, 0.05);
                lamp_on = 1.0;
            }
            base = mix(base, vec3(0.02), strip);
            glow += lamp * lamp_on * strip * 1.4;
            // Throttled or stopped: warning stripes across the top of the door.
            if (state >= 1u) {
                let band = inside(v, height - 0.16, height - 0.06) * door;
                let diag = step(0.5, fract((u + v) / 0.08));
                let warn = select(vec3(1.0, 0.62, 0.05), vec3(0.95, 0.08, 0.05), state == 2u);
                base = mix(base, mix(vec3(0.03), warn, diag), band);
                glow += warn * diag * band * 0.3;
            }
            // A hot rack glows through its door.
            glow += in.color.rgb * level * 0.25 * door;
        } else if (back) {
            // Rear door: fine vertical fins; liquid racks show their supply and return manifolds.
            base = base * (1.0 - lines(u, 0.012, 0.3, fu) * 0.3 * door);
            if (look == 1u) {
                let sup = inside(u, -width * 0.5 + 0.06, -width * 0.5 + 0.1) * inside(v, 0.1, height - 0.1);
                let ret = inside(u, width * 0.5 - 0.1, width * 0.5 - 0.06) * inside(v, 0.1, height - 0.1);
                base = mix(base, vec3(0.12, 0.42, 0.95), sup);
                base = mix(base, vec3(0.95, 0.38, 0.12), ret);
            }
            // Heat leaves by the back: hot racks glow there.
            glow += vec3(1.0, 0.42, 0.1) * level * level * 0.6 * door;
        } else if (top) {
            base *= 0.82;
        }
    } else if (look == 5u) {
        // CDU: a lit status screen (cyan when pumping, red when not), louvres below.
        if (vertical) {
            let screen = inside(u, -0.16, 0.16) * inside(v, 1.42, 1.66);
            let screen_frame = inside(u, -0.19, 0.19) * inside(v, 1.38, 1.70);
            base = mix(base, vec3(0.05), screen_frame);
            let lit = mix(vec3(1.0, 0.1, 0.05), vec3(0.1, 0.85, 0.9), clamp(level, 0.0, 1.0));
            glow += lit * screen * 0.9;
            base = base * (1.0 - lines(v, 0.03, 0.3, fv) * 0.35 * inside(v, 0.15, 1.25) * inside(abs(u), 0.0, width * 0.5 - 0.05));
        }
    } else if (look == 6u) {
        // CRAH: a louvred grille on its faces, fans on top.
        if (vertical) {
            base = base * (1.0 - lines(v, 0.025, 0.3, fv) * 0.35 * inside(v, 0.2, height - 0.15));
        } else if (top) {
            let c = vec2(abs(m.x) - size.x * 0.25, m.z);
            let r = length(c) / (min(size.x * 0.5, size.z) * 0.42);
            base = base * mix(1.0, 0.35, inside(r, 0.0, 1.0));
        }
    } else if (look == 7u) {
        // Dry cooler: a row of fans on top, turning while it runs; finned coils on the sides.
        if (top) {
            let along_x = size.x >= size.z;
            let span_long = select(size.z, size.x, along_x);
            let span_short = select(size.x, size.z, along_x);
            let a_ = select(m.z, m.x, along_x);
            let b_ = select(m.x, m.z, along_x);
            let count = max(floor(span_long / span_short), 1.0);
            let cell = span_long / count;
            let la = (fract((a_ + span_long * 0.5) / cell) - 0.5) * cell;
            let r = length(vec2(la, b_)) / (span_short * 0.5);
            let shroud = inside(r, 0.78, 0.92);
            let theta = atan2(b_, la);
            let blades = smoothstep(0.2, 0.6, sin(theta * 5.0 + phase * 6.2831853)) * inside(r, 0.16, 0.78);
            var c = base * 0.75;
            c = mix(c, vec3(0.06), shroud);
            c = mix(c, vec3(0.10), inside(r, 0.0, 0.78) * (1.0 - blades));
            c = mix(c, base * 0.9, blades * 0.7);
            c = mix(c, vec3(0.05), inside(r, 0.0, 0.14));
            base = c;
        } else if (vertical) {
            // Coils above an open frame on legs.
            base = base * (1.0 - lines(u, 0.01, 0.35, fu) * 0.35);
            base = base * (1.0 - lines(u, 2.4, 0.04, fu) * 0.6);
            base = mix(base, base * 0.22, inside(v, 0.0, 0.45) * (1.0 - lines(u, 1.2, 0.08, fu)));
        }
    } else if (look == 8u) {
        // Chiller: two shells (evaporator and condenser) along its length, a control panel.
        if (vertical) {
            let s1 = (v - height * 0.3) / (height * 0.22);
            let s2 = (v - height * 0.72) / (height * 0.2);
            let shell = max(sqrt(max(1.0 - s1 * s1, 0.0)), sqrt(max(1.0 - s2 * s2, 0.0)));
            base = base * mix(0.55, 1.1, shell);
            let panel = inside(u, width * 0.5 - 0.9, width * 0.5 - 0.2) * inside(v, 0.6, 1.9);
            base = mix(base, vec3(0.16, 0.18, 0.2), panel);
            glow += vec3(0.1, 0.8, 0.4) * level * panel * inside(v, 1.6, 1.75) * inside(u, width * 0.5 - 0.8, width * 0.5 - 0.6);
        }
    } else if (look == 9u) {
        // Pipe: shaded round, water running along it at the flow's speed and direction.
        let axis = select(select(2u, 1u, size.y >= size.z), 0u, size.x >= size.y && size.x >= size.z);
        if ((in.bits & FITTING) != 0u) {
            base *= 0.7;
            light = 0.55 + 0.4 * key;
        } else {
            // The cross-section coordinate on this face: the axis neither along the pipe nor the normal.
            let k = select(select(2u, 1u, abs(n.y) > 0.5), 0u, abs(n.x) > 0.5);
            var j = 3u - axis - k;
            if (j > 2u) { j = 0u; }
            let c = in.local_position[j];
            let roundness = sqrt(max(1.0 - 4.0 * c * c, 0.0));
            light = 0.42 + 0.55 * roundness + 0.3 * key * roundness;
            let spec = exp(-pow((c + 0.18) * 9.0, 2.0)) * 0.35;
            glow += vec3(spec);
            if (k != axis && level > 0.0) {
                let dir = select(1.0, -1.0, (in.bits & FLOW_REVERSED) != 0u);
                let s = in.world_position[axis] * dir - phase;
                let w = fww[axis] / 0.6;
                let f = fract(s / 0.6);
                let band = smoothstep(0.0, 0.1 + w, f) * (1.0 - smoothstep(0.3, 0.4 + w, f));
                let fade = 1.0 - smoothstep(0.2, 0.45, w);
                base = base * (1.0 + 0.55 * band * fade * min(level, 1.0));
            }
        }
    } else if (look == 10u) {
        // Busway: a bar with tap-off boxes every 0.6 m.
        let along = select(m.z, m.x, size.x >= size.z);
        let fa = select(fwm.z, fwm.x, size.x >= size.z);
        base = base * (1.0 - lines(along, 0.6, 0.2, fa) * 0.35);
        light = 0.6 + 0.45 * key;
    }

    var c = base * light;
    c = mix(c, c * 0.22, bezel);
    return vec4(c + glow, 1.0);
}
