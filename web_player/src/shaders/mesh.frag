#version 300 es
// mesh.frag — the plain textured mesh (glTF base colour), the benchmark's baseline: same
// deformation and compositing, no neural shading.
precision highp float;

in vec3 v_world;
in vec3 v_normal;
in vec2 v_uv;
uniform sampler2D u_baseColor;
out vec4 o_color;

void main() {
  vec4 c = texture(u_baseColor, v_uv);
#ifdef INNER_LAYER
  c.a = 1.0;
#endif
  o_color = c;
}
