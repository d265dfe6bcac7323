#version 300 es
// shade.frag — neural shading of one layer (docs/formats.md, playback steps 4-5):
//   z = [f_pos (DIM_POS), n (3), v (3)]; coef = per-pixel model (generated from the bundle's
//   ONNX graph into pixel_model.glsl); rgba = sum_k coef_k basis_k; layer 0: alpha = 1.
// Defines: DIM_POS, NUM_BASIS, PIXEL_IN, INNER_LAYER, EXACT_BILINEAR, THETA_* (see
// pixel_model.glsl), DEBUG_NORMALS | DEBUG_UV | DEBUG_ALPHA | DEBUG_COEF.
precision highp float;
precision highp int;

#include "atlas.glsl"
#include "pixel_model.glsl"

in vec3 v_world;
in vec3 v_normal;
in vec2 v_uv;

uniform highp sampler2DArray u_posAtlas;  // one layer per tile (atlas.glsl)
uniform highp sampler2DArray u_radAtlas;
uniform float u_radSharedAlpha;  // 1: alpha stored once, in tile 0 (the bases share one alpha field)
uniform vec3 u_camPos;

out vec4 o_color;

vec3 hb_heat(float x) {
  return clamp(vec3(1.5 - abs(4.0 * x - 3.0), 1.5 - abs(4.0 * x - 2.0), 1.5 - abs(4.0 * x - 1.0)), 0.0, 1.0);
}

void main() {
  HbTap rt = hb_tap(u_radAtlas, v_uv);
  vec4 r0 = hb_tile(u_radAtlas, rt, 0);
#if !defined(INNER_LAYER) && !defined(DEBUG_NORMALS) && !defined(DEBUG_UV) && !defined(DEBUG_ALPHA) && !defined(DEBUG_COEF)
  // shared alpha 0: this layer adds nothing here ("over" with alpha 0 leaves the pixel as it is)
  if (u_radSharedAlpha > 0.5 && r0.a <= 0.0) { o_color = vec4(0.0); return; }
#endif
  vec3 n = normalize(v_normal);
  vec3 v = normalize(v_world - u_camPos);
  HbTap pt = hb_tap(u_posAtlas, v_uv);
  float z[PIXEL_IN];
  for (int t = 0; t < (DIM_POS + 3) / 4; t++) {
    vec4 q = hb_tile(u_posAtlas, pt, t);
    for (int c = 0; c < 4; c++)
      if (4 * t + c < DIM_POS) z[4 * t + c] = q[c];
  }
  z[DIM_POS] = n.x; z[DIM_POS + 1] = n.y; z[DIM_POS + 2] = n.z;
  z[DIM_POS + 3] = v.x; z[DIM_POS + 4] = v.y; z[DIM_POS + 5] = v.z;
  float coef[NUM_BASIS];
  hb_pixel_model(z, coef);
  vec4 rgba = coef[0] * r0;
  for (int k = 1; k < NUM_BASIS; k++) rgba += coef[k] * hb_tile(u_radAtlas, rt, k);
  if (u_radSharedAlpha > 0.5) rgba.a = r0.a;
#ifdef INNER_LAYER
  rgba.a = 1.0;
#endif
  rgba.a = clamp(rgba.a, 0.0, 1.0);
#if defined(DEBUG_NORMALS)
  rgba = vec4(0.5 * n + 0.5, 1.0);
#elif defined(DEBUG_UV)
  rgba = vec4(v_uv, 0.0, 1.0);
#elif defined(DEBUG_ALPHA)
  rgba = vec4(vec3(rgba.a), 1.0);
#elif defined(DEBUG_COEF)
  // dominant basis index as a heat colour, brightness = its coefficient
  int best = 0;
  for (int k = 1; k < NUM_BASIS; k++) if (coef[k] > coef[best]) best = k;
  rgba = vec4(hb_heat(float(best) / float(max(NUM_BASIS - 1, 1))) * (0.35 + 0.65 * coef[best]), 1.0);
#endif
  o_color = rgba;
}
