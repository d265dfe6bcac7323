// deform.glsl — GPU deformation of one baked layer (docs/formats.md, playback step 2; the
// reference is bake/lbs.py deform_layer):
//   x = sum_j w_j A_j (x_o + sum_t m_t dX_t + fold_shift)
//   n = normalize(mat3(sum_j w_j A_j) (n_o + sum_t m_t dN_t))
// Morph weights m_t: expression coefficients then pose-corrective weights. The deltas sit in a
// float texture, MORPH_TEXELS texels per (vertex v, target t) from texel
// MORPH_TEXELS (v N_TARGETS + t): the position delta dX_t, then (MORPH_TEXELS 2: layers with
// normal morph targets) the normal delta dN_t, added only with MORPH_NORMALS (without it the
// morph targets do not turn normals).
// fold_shift = sum_j w_j (J_j(psi) - J_j^0) undoes the joint fold the exporter added to the
// expression targets (docs/bundle.md); zero without it.
// Needs defines: N_TARGETS, N_BONES, MORPH_TEX_SHIFT (log2 of the morph texture width).
#ifndef MORPH_TEXELS
#define MORPH_TEXELS 1
#endif

uniform highp sampler2D u_morphTex;
uniform vec4 u_morphWeights[(N_TARGETS + 3) / 4];
uniform mat4 u_bones[N_BONES];
uniform vec4 u_boneShift[N_BONES];

void hb_morph(inout vec3 x, inout vec3 n, int vertex) {
  int base = vertex * N_TARGETS;
  const int mask = (1 << MORPH_TEX_SHIFT) - 1;
  for (int t = 0; t < N_TARGETS; t++) {
    float w = u_morphWeights[t >> 2][t & 3];
    int i = (base + t) * MORPH_TEXELS;
    x += w * texelFetch(u_morphTex, ivec2(i & mask, i >> MORPH_TEX_SHIFT), 0).xyz;
#ifdef MORPH_NORMALS
    i += 1;
    n += w * texelFetch(u_morphTex, ivec2(i & mask, i >> MORPH_TEX_SHIFT), 0).xyz;
#endif
  }
}

void hb_deform(vec3 position, vec3 normal, uvec4 joints, vec4 weights, int vertex, out vec3 xd, out vec3 nd) {
  mat4 S = weights.x * u_bones[joints.x] + weights.y * u_bones[joints.y]
         + weights.z * u_bones[joints.z] + weights.w * u_bones[joints.w];
  vec3 shift = weights.x * u_boneShift[joints.x].xyz + weights.y * u_boneShift[joints.y].xyz
             + weights.z * u_boneShift[joints.z].xyz + weights.w * u_boneShift[joints.w].xyz;
  vec3 x = position, n = normal;
  hb_morph(x, n, vertex);
  x += shift;
  xd = (S * vec4(x, 1.0)).xyz;
  nd = normalize(mat3(S) * n);
}
