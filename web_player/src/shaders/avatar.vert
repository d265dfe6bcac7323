#version 300 es
// avatar.vert — one layer of the avatar: morph targets + skinning on the GPU.
// Without PREDEFORMED (the capture pass): deforms every vertex once per frame; the renderer
// captures v_world and v_normal with transform feedback (rasterizer discarded).
// With PREDEFORMED (the depth pre-pass and the shading pass): reads those captured vertices, so
// the morph targets and skinning run once per vertex and frame, not once per pass; gl_Position
// is invariant across both passes.
precision highp float;
precision highp int;

#ifdef PREDEFORMED
in vec3 a_world;
in vec3 a_wnormal;
#else
#include "deform.glsl"

in vec3 a_position;
in vec3 a_normal;
in uvec4 a_joints;
in vec4 a_weights;
#endif
in vec2 a_uv;

uniform mat4 u_viewProj;

out vec3 v_world;
out vec3 v_normal;
out vec2 v_uv;
invariant gl_Position;

void main() {
  vec3 xd, nd;
#ifdef PREDEFORMED
  xd = a_world;
  nd = a_wnormal;
#else
  hb_deform(a_position, a_normal, a_joints, a_weights, gl_VertexID, xd, nd);
#endif
  v_world = xd;
  v_normal = nd;
  v_uv = a_uv;
  gl_Position = u_viewProj * vec4(xd, 1.0);
}
