#version 300 es
// avatar.vert — one layer of the avatar: morph targets + skinning on the GPU.
// Outputs world position, world normal and uv for the shading pass (or nothing else for the
// depth pre-pass, which uses this same shader: gl_Position is invariant across both).
precision highp float;
precision highp int;

#include "deform.glsl"

in vec3 a_position;
in vec3 a_normal;
in vec2 a_uv;
in uvec4 a_joints;
in vec4 a_weights;

uniform mat4 u_viewProj;

out vec3 v_world;
out vec3 v_normal;
out vec2 v_uv;
invariant gl_Position;

void main() {
  vec3 xd, nd;
  hb_deform(a_position, a_normal, a_joints, a_weights, gl_VertexID, xd, nd);
  v_world = xd;
  v_normal = nd;
  v_uv = a_uv;
  gl_Position = u_viewProj * vec4(xd, 1.0);
}
