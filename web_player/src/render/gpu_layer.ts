/** Upload one avatar layer: vertex arrays (VAO), indices, morph-target texture, atlases. */
import type { AtlasImage, AvatarLayer, DecodedImage } from '../loader/avatar';
import { MORPH_TEX_SHIFT } from './variants';

/**
 * Morph deltas as the GPU reads them (deform.glsl): a (2^SHIFT x rows) RGBA32F texture with
 * `texels` = 1 texel per (vertex v, target t), the position delta at texel (v * T + t); with normal
 * targets `texels` = 2: the position delta at texel 2 (v * T + t), the normal delta right after.
 */
export function morphTextureData(L: AvatarLayer): { data: Float32Array; width: number; rows: number; texels: number } {
  const W = 1 << MORPH_TEX_SHIFT;
  const texels = L.normalTargets ? 2 : 1;
  const m = L.vertexCount * L.nTargets;
  const rows = Math.ceil(Math.max(1, texels * m) / W);
  const data = new Float32Array(W * rows * 4);
  const N = L.normalTargets;
  for (let i = 0; i < m; i++) {
    const o = 4 * texels * i;
    for (let a = 0; a < 3; a++) data[o + a] = L.targets[3 * i + a];
    if (N) for (let a = 0; a < 3; a++) data[o + 4 + a] = N[3 * i + a];
  }
  return { data, width: W, rows, texels };
}

export interface GpuLayer {
  /** The bundle's vertex attributes: the capture pass (drawArrays POINTS, transform feedback). */
  vao: WebGLVertexArrayObject;
  /** The captured vertices (a_world, a_wnormal) + a_uv + indices: depth and shading passes. */
  drawVao: WebGLVertexArrayObject;
  /** Transform-feedback target: vertexCount x (world position, world normal), float32. */
  deformed: WebGLBuffer;
  vertexCount: number;
  buffers: WebGLBuffer[];
  indexCount: number;
  morphTex: WebGLTexture;
  /** The morph texture also holds normal deltas (2 texels per (vertex, target), morphTextureData). */
  morphNormals: boolean;
  /** 2D array textures, one layer per atlas tile (atlasArrayTexture). */
  posAtlas: WebGLTexture;
  radAtlas: WebGLTexture;
  baseColor: WebGLTexture | null;
  /** 1: the radiance alpha is stored once, in tile 0 (HB_neural_shading radiance.sharedAlpha). */
  sharedAlpha: number;
  bytes: number;
}

export function imageTexture(gl: WebGL2RenderingContext, img: DecodedImage, linear = true): WebGLTexture {
  if (!img.source) throw new Error('image was not decoded for the GPU');
  const t = gl.createTexture()!;
  gl.bindTexture(gl.TEXTURE_2D, t);
  // data textures: row 0 <-> v = 0 (no flip), no premultiplication, no colour conversion
  gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
  gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
  gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, img.source);
  const f = linear ? gl.LINEAR : gl.NEAREST;
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, f);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, f);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  return t;
}

/**
 * An atlas (a grid of equal tiles in one image) as a 2D array texture, one layer per tile, read
 * by atlas.glsl: the image is uploaded once as a 2D texture and each tile is copied into its
 * layer on the GPU (copyTexSubImage3D through a framebuffer: exact RGBA8 copies, no decoding
 * or colour handling in between). Bilinear, no mipmaps, clamp to edge (per tile).
 */
export function atlasArrayTexture(gl: WebGL2RenderingContext, a: AtlasImage): WebGLTexture {
  const [cols, rows] = a.grid;
  const [tw, th] = a.tileSize;
  const src = imageTexture(gl, a.image, false);
  const fb = gl.createFramebuffer()!;
  const prevRead = gl.getParameter(gl.READ_FRAMEBUFFER_BINDING) as WebGLFramebuffer | null;
  gl.bindFramebuffer(gl.READ_FRAMEBUFFER, fb);
  gl.framebufferTexture2D(gl.READ_FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, src, 0);
  const t = gl.createTexture()!;
  gl.bindTexture(gl.TEXTURE_2D_ARRAY, t);
  gl.texStorage3D(gl.TEXTURE_2D_ARRAY, 1, gl.RGBA8, tw, th, cols * rows);
  for (let k = 0; k < cols * rows; k++) gl.copyTexSubImage3D(gl.TEXTURE_2D_ARRAY, 0, 0, 0, k, (k % cols) * tw, Math.floor(k / cols) * th, tw, th);
  gl.texParameteri(gl.TEXTURE_2D_ARRAY, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
  gl.texParameteri(gl.TEXTURE_2D_ARRAY, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
  gl.texParameteri(gl.TEXTURE_2D_ARRAY, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D_ARRAY, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  gl.bindFramebuffer(gl.READ_FRAMEBUFFER, prevRead);
  gl.deleteFramebuffer(fb);
  gl.deleteTexture(src);
  return t;
}

export function uploadLayer(gl: WebGL2RenderingContext, L: AvatarLayer, baseColor: DecodedImage | null): GpuLayer {
  const vao = gl.createVertexArray()!;
  gl.bindVertexArray(vao);
  const buffers: WebGLBuffer[] = [];
  let bytes = 0;
  const attr = (loc: number, data: Float32Array | Uint16Array, size: number, integer = false) => {
    const b = gl.createBuffer()!;
    gl.bindBuffer(gl.ARRAY_BUFFER, b);
    gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
    gl.enableVertexAttribArray(loc);
    if (integer) gl.vertexAttribIPointer(loc, size, gl.UNSIGNED_SHORT, 0, 0);
    else gl.vertexAttribPointer(loc, size, gl.FLOAT, false, 0, 0);
    buffers.push(b);
    bytes += data.byteLength;
  };
  attr(0, L.positions, 3);
  attr(1, L.normals, 3);
  attr(2, L.uvs, 2);
  attr(3, Uint16Array.from(L.joints), 4, true);
  attr(4, L.weights, 4);
  const ib = gl.createBuffer()!;
  gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, ib);
  gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, L.indices, gl.STATIC_DRAW);
  buffers.push(ib);
  bytes += L.indices.byteLength;
  gl.bindVertexArray(null);

  // the deformed vertices of this frame (capture pass, transform feedback): world position and
  // normal interleaved; the depth and shading passes draw them (drawVao) with the same indices
  const deformed = gl.createBuffer()!;
  gl.bindBuffer(gl.ARRAY_BUFFER, deformed);
  gl.bufferData(gl.ARRAY_BUFFER, L.vertexCount * 24, gl.DYNAMIC_COPY);
  buffers.push(deformed);
  bytes += L.vertexCount * 24;
  const drawVao = gl.createVertexArray()!;
  gl.bindVertexArray(drawVao);
  gl.enableVertexAttribArray(5);
  gl.vertexAttribPointer(5, 3, gl.FLOAT, false, 24, 0);
  gl.enableVertexAttribArray(6);
  gl.vertexAttribPointer(6, 3, gl.FLOAT, false, 24, 12);
  gl.bindBuffer(gl.ARRAY_BUFFER, buffers[2]);
  gl.enableVertexAttribArray(2);
  gl.vertexAttribPointer(2, 2, gl.FLOAT, false, 0, 0);
  gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, ib);
  gl.bindVertexArray(null);
  gl.bindBuffer(gl.ARRAY_BUFFER, null);

  // morph deltas (and normal deltas) in a (2^SHIFT x rows) RGBA32F texture
  const { data, width: W, rows, texels } = morphTextureData(L);
  const morphTex = gl.createTexture()!;
  gl.bindTexture(gl.TEXTURE_2D, morphTex);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 4);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, W, rows, 0, gl.RGBA, gl.FLOAT, data);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
  bytes += data.byteLength;
  return {
    vao,
    drawVao,
    deformed,
    vertexCount: L.vertexCount,
    buffers,
    indexCount: L.indices.length,
    morphTex,
    morphNormals: texels === 2,
    posAtlas: atlasArrayTexture(gl, L.posAtlas),
    radAtlas: atlasArrayTexture(gl, L.radAtlas),
    baseColor: baseColor ? imageTexture(gl, baseColor) : null,
    sharedAlpha: L.radAtlas.sharedAlpha ? 1 : 0,
    bytes,
  };
}

export function disposeLayer(gl: WebGL2RenderingContext, g: GpuLayer): void {
  gl.deleteVertexArray(g.vao);
  gl.deleteVertexArray(g.drawVao);
  for (const b of g.buffers) gl.deleteBuffer(b);
  for (const t of [g.morphTex, g.posAtlas, g.radAtlas, g.baseColor]) if (t) gl.deleteTexture(t);
}
