// atlas.glsl — the tiles of a texture atlas, uploaded as the layers of a 2D array texture
// (gpu_layer.ts): bilinear, no mipmaps, CLAMP_TO_EDGE, so filtering never reads a neighbouring
// tile and a tile costs one fetch with no address arithmetic. Every tile of an atlas has the
// same size, so the sample position is computed once per fragment (hb_tap) for all its tiles.
// With EXACT_BILINEAR the four texels are fetched and mixed in float32 (hardware bilinear
// weights have only ~8 fractional bits on many GPUs and in SwiftShader).

#ifdef EXACT_BILINEAR
struct HbTap { ivec2 i0; ivec2 i1; vec2 f; };

HbTap hb_tap(highp sampler2DArray s, vec2 uv) {
  vec2 size = vec2(textureSize(s, 0).xy);
  vec2 p = clamp(uv * size - 0.5, vec2(0.0), size - 1.0);
  HbTap a;
  a.f = fract(p);
  a.i0 = ivec2(floor(p));
  a.i1 = min(a.i0 + 1, ivec2(size) - 1);
  return a;
}

vec4 hb_tile(highp sampler2DArray s, HbTap a, int t) {
  vec4 x = texelFetch(s, ivec3(a.i0, t), 0);
  vec4 y = texelFetch(s, ivec3(a.i1.x, a.i0.y, t), 0);
  vec4 z = texelFetch(s, ivec3(a.i0.x, a.i1.y, t), 0);
  vec4 w = texelFetch(s, ivec3(a.i1, t), 0);
  return mix(mix(x, y, a.f.x), mix(z, w, a.f.x), a.f.y);
}
#else
struct HbTap { vec2 uv; };

HbTap hb_tap(highp sampler2DArray s, vec2 uv) { return HbTap(uv); }

vec4 hb_tile(highp sampler2DArray s, HbTap a, int t) { return texture(s, vec3(a.uv, float(t))); }
#endif
