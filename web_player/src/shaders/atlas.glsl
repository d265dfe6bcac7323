// atlas.glsl — tiles of a texture atlas sampled as separate textures: bilinear, no mipmaps,
// clamp-to-edge PER TILE (the uv is clamped to the tile's outer texel centres, so filtering
// never reads a neighbouring tile). grid = (cols, rows, tile width, tile height).
// With EXACT_BILINEAR the four texels are fetched and mixed in float32 (hardware bilinear
// weights have only ~8 fractional bits on many GPUs and in SwiftShader).

vec4 hb_tile(sampler2D s, vec4 grid, vec2 uv, int t) {
  int cols = int(grid.x);
  vec2 cell = vec2(float(t % cols), float(t / cols));
#ifdef EXACT_BILINEAR
  vec2 p = clamp(uv * grid.zw - 0.5, vec2(0.0), grid.zw - 1.0);
  vec2 f = fract(p);
  ivec2 i0 = ivec2(floor(p));
  ivec2 i1 = min(i0 + 1, ivec2(grid.zw) - 1);
  ivec2 o = ivec2(cell * grid.zw);
  vec4 a = texelFetch(s, o + i0, 0);
  vec4 b = texelFetch(s, o + ivec2(i1.x, i0.y), 0);
  vec4 c = texelFetch(s, o + ivec2(i0.x, i1.y), 0);
  vec4 d = texelFetch(s, o + i1, 0);
  return mix(mix(a, b, f.x), mix(c, d, f.x), f.y);
#else
  vec2 h = 0.5 / grid.zw;
  vec2 c = clamp(uv, h, 1.0 - h);
  return texture(s, (c + cell) / grid.xy);
#endif
}
