/**
 * glTF JSON access: buffer views and accessors (dense, strided, normalised/quantised and sparse,
 * KHR_mesh_quantization's integer types) decoded to Float32Array as a viewer would. Buffer views
 * compressed with EXT_meshopt_compression are decoded on first use (`await meshoptReady()` once
 * before reading them).
 */
import { MeshoptDecoder } from 'meshoptimizer/decoder';
import { BundleError } from './errors';

export const MESHOPT = 'EXT_meshopt_compression';

/** Resolves when the meshopt decoder (WebAssembly) can decode. */
export function meshoptReady(): Promise<void> {
  return MeshoptDecoder.ready;
}

interface MeshoptView {
  buffer: number;
  byteOffset?: number;
  byteLength: number;
  byteStride: number;
  count: number;
  mode: string;
  filter?: string;
}

// the subset of the glTF 2.0 schema the player reads
export interface GltfAccessor {
  bufferView?: number;
  byteOffset?: number;
  componentType: number;
  normalized?: boolean;
  count: number;
  type: string;
  sparse?: { count: number; indices: { bufferView: number; byteOffset?: number; componentType: number }; values: { bufferView: number; byteOffset?: number } };
}
export interface GltfNode {
  name?: string;
  mesh?: number;
  skin?: number;
  camera?: number;
  children?: number[];
  translation?: number[];
  rotation?: number[];
  scale?: number[];
  matrix?: number[];
}
export interface GltfPrimitive {
  attributes: Record<string, number>;
  indices?: number;
  mode?: number;
  material?: number;
  targets?: Record<string, number>[];
}
export interface GltfDocument {
  asset?: { version?: string; generator?: string };
  extensionsUsed?: string[];
  extensionsRequired?: string[];
  extensions?: Record<string, unknown>;
  accessors?: GltfAccessor[];
  bufferViews?: { buffer: number; byteOffset?: number; byteLength: number; byteStride?: number; extensions?: Record<string, unknown> }[];
  buffers?: { byteLength: number; uri?: string }[];
  nodes?: GltfNode[];
  meshes?: { name?: string; primitives: GltfPrimitive[]; weights?: number[]; extras?: { targetNames?: string[] } }[];
  skins?: { joints: number[]; inverseBindMatrices?: number }[];
  images?: { bufferView?: number; mimeType?: string; uri?: string; name?: string }[];
  textures?: { source?: number; sampler?: number; extensions?: Record<string, { source: number }> }[];
  animations?: { name?: string; samplers: { input: number; output: number; interpolation?: string }[]; channels: { sampler: number; target: { node?: number; path: string } }[] }[];
  cameras?: unknown[];
  materials?: { name?: string; pbrMetallicRoughness?: { baseColorTexture?: { index: number } }; alphaMode?: string }[];
}

const WIDTH: Record<string, number> = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4, MAT2: 4, MAT3: 9, MAT4: 16 };
const SIZE: Record<number, number> = { 5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4 };

export interface DecodedAccessor {
  count: number;
  width: number;
  /** Values as floats (normalised integers divided as glTF specifies; plain integers as is). */
  data: Float32Array;
}

export class Gltf {
  private decoded = new Map<number, Uint8Array>();

  constructor(readonly doc: GltfDocument, readonly bin: Uint8Array, readonly where: string) {}

  fail(msg: string): never {
    throw new BundleError(`${this.where}: ${msg}`);
  }

  bufferView(index: number, field: string): Uint8Array {
    const v = this.doc.bufferViews?.[index];
    if (!v) this.fail(`${field}: bufferView ${index} does not exist`);
    const mo = v.extensions?.[MESHOPT] as MeshoptView | undefined;
    if (mo) return this.meshoptView(index, mo, field);
    if (v.buffer !== 0) this.fail(`${field}: bufferView ${index} uses buffer ${v.buffer}; a .glb bundle keeps everything in buffer 0`);
    const start = v.byteOffset ?? 0;
    if (start + v.byteLength > this.bin.byteLength)
      this.fail(`${field}: bufferView ${index} (bytes ${start}..${start + v.byteLength}) runs past the binary chunk (${this.bin.byteLength} bytes): damaged or truncated file`);
    return this.bin.subarray(start, start + v.byteLength);
  }

  private meshoptView(index: number, mo: MeshoptView, field: string): Uint8Array {
    const hit = this.decoded.get(index);
    if (hit) return hit;
    const start = mo.byteOffset ?? 0;
    if ((mo.buffer ?? 0) !== 0 || start + mo.byteLength > this.bin.byteLength)
      this.fail(`${field}: bufferView ${index}: compressed data (bytes ${start}..${start + mo.byteLength}) outside the binary chunk: damaged or truncated file`);
    if (!MeshoptDecoder.supported) this.fail(`${field}: bufferView ${index} is meshopt-compressed and this browser lacks WebAssembly`);
    const out = new Uint8Array(mo.count * mo.byteStride);
    try {
      MeshoptDecoder.decodeGltfBuffer(out, mo.count, mo.byteStride, this.bin.subarray(start, start + mo.byteLength), mo.mode, mo.filter);
    } catch (e) {
      this.fail(`${field}: bufferView ${index}: undecodable meshopt data (${(e as Error).message})`);
    }
    this.decoded.set(index, out);
    return out;
  }

  private readComponents(view: Uint8Array, offset: number, stride: number, count: number, width: number, ctype: number, normalized: boolean, out: Float32Array, field: string): void {
    const size = SIZE[ctype];
    if (!size) this.fail(`${field}: unsupported componentType ${ctype}`);
    const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
    const st = stride || size * width;
    const need = count ? offset + (count - 1) * st + width * size : 0;
    if (need > view.byteLength) this.fail(`${field}: accessor data (${need} bytes) runs past its bufferView (${view.byteLength} bytes)`);
    for (let i = 0; i < count; i++) {
      for (let c = 0; c < width; c++) {
        const o = offset + i * st + c * size;
        let x: number;
        switch (ctype) {
          case 5126: x = dv.getFloat32(o, true); break;
          case 5120: x = dv.getInt8(o); if (normalized) x = Math.max(x / 127, -1); break;
          case 5121: x = dv.getUint8(o); if (normalized) x /= 255; break;
          case 5122: x = dv.getInt16(o, true); if (normalized) x = Math.max(x / 32767, -1); break;
          case 5123: x = dv.getUint16(o, true); if (normalized) x /= 65535; break;
          default: x = dv.getUint32(o, true);
        }
        out[i * width + c] = x;
      }
    }
  }

  /** Decode accessor `index`; `field` names where it is referenced (for messages). */
  accessor(index: number, field: string): DecodedAccessor {
    const a = this.doc.accessors?.[index];
    if (!a) this.fail(`${field}: accessor ${index} does not exist`);
    const width = WIDTH[a.type];
    if (!width) this.fail(`${field}: accessor ${index} has unknown type ${a.type}`);
    const out = new Float32Array(a.count * width);
    const norm = !!a.normalized;
    if (a.bufferView !== undefined) {
      const view = this.bufferView(a.bufferView, `${field} (accessor ${index})`);
      const stride = this.doc.bufferViews![a.bufferView].byteStride ?? 0;
      this.readComponents(view, a.byteOffset ?? 0, stride, a.count, width, a.componentType, norm, out, `${field} (accessor ${index})`);
    }
    if (a.sparse) {
      const sp = a.sparse;
      const iv = this.bufferView(sp.indices.bufferView, `${field} (accessor ${index} sparse indices)`);
      const vv = this.bufferView(sp.values.bufferView, `${field} (accessor ${index} sparse values)`);
      const idx = new Float32Array(sp.count);
      this.readComponents(iv, sp.indices.byteOffset ?? 0, 0, sp.count, 1, sp.indices.componentType, false, idx, `${field} sparse indices`);
      const vals = new Float32Array(sp.count * width);
      this.readComponents(vv, sp.values.byteOffset ?? 0, 0, sp.count, width, a.componentType, norm, vals, `${field} sparse values`);
      for (let k = 0; k < sp.count; k++) {
        const r = idx[k];
        if (r >= a.count) this.fail(`${field}: sparse index ${r} >= count ${a.count}`);
        out.set(vals.subarray(k * width, k * width + width), r * width);
      }
    }
    return { count: a.count, width, data: out };
  }

  /** Integer accessor (indices, joints) as Uint32Array. */
  indices(index: number, field: string): Uint32Array {
    const a = this.accessor(index, field);
    return Uint32Array.from(a.data);
  }

  imageBytes(imageIndex: number, field: string): { bytes: Uint8Array; mime: string } {
    const img = this.doc.images?.[imageIndex];
    if (!img) this.fail(`${field}: image ${imageIndex} does not exist`);
    if (img.bufferView === undefined) this.fail(`${field}: image ${imageIndex} is not embedded in the .glb (uri images are not supported)`);
    return { bytes: this.bufferView(img.bufferView, `${field} (image ${imageIndex})`), mime: img.mimeType ?? 'image/png' };
  }

  /** Image index of texture `t` (core `source` or EXT_texture_webp). */
  textureImage(t: number, field: string): number {
    const tex = this.doc.textures?.[t];
    if (!tex) this.fail(`${field}: texture ${t} does not exist`);
    const src = tex.source ?? tex.extensions?.EXT_texture_webp?.source;
    if (src === undefined) this.fail(`${field}: texture ${t} has no image source`);
    return src;
  }
}
