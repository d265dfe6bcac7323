// deform.glsl — GPU deformation of one baked layer (docs/formats.md, playback step 2):
//   x = sum_j w_j A_j (x_o + morph + fold_shift),  n = normalize(mat3(sum_j w_j A_j) n_o)
// Morph targets: expression coefficients then pose-corrective weights, deltas in a float
// texture, texel (v * N_TARGETS + t). fold_shift = sum_j w_j (J_j(psi) - J_j^0) undoes the
// joint fold the exporter added to the expression targets (docs/bundle.md); zero without it.
// Needs defines: N_TARGETS, N_BONES, MORPH_TEX_SHIFT (log2 of the morph texture width).

uniform highp sampler2D u_morphTex;
uniform vec4 u_morphWeights[(N_TARGETS + 3) / 4];
uniform mat4 u_bones[N_BONES];
uniform vec4 u_boneShift[N_BONES];

vec3 hb_morph(vec3 x, int vertex) {
  int base = vertex * N_TARGETS;
  const int mask = (1 << MORPH_TEX_SHIFT) - 1;
  for (int t = 0; t < N_TARGETS; t++) {
    float w = u_morphWeights[t >> 2][t & 3];
    int i = base + t;
    x += w * texelFetch(u_morphTex, ivec2(i & mask, i >> MORPH_TEX_SHIFT), 0).xyz;
  }
  return x;
}

void hb_deform(vec3 position, vec3 normal, uvec4 joints, vec4 weights, int vertex, out vec3 xd, out vec3 nd) {
  mat4 S = weights.x * u_bones[joints.x] + weights.y * u_bones[joints.y]
         + weights.z * u_bones[joints.z] + weights.w * u_bones[joints.w];
  vec3 shift = weights.x * u_boneShift[joints.x].xyz + weights.y * u_boneShift[joints.y].xyz
             + weights.z * u_boneShift[joints.z].xyz + weights.w * u_boneShift[joints.w].xyz;
  vec3 x = hb_morph(position, vertex) + shift;
  xd = (S * vec4(x, 1.0)).xyz;
  nd = normalize(mat3(S) * normal);
}
