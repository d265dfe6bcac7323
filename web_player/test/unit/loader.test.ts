import { describe, expect, it } from 'vitest';
import { BundleError } from '../../src/loader/errors';
import { parseGlb } from '../../src/loader/glb';
import { Gltf, type GltfDocument } from '../../src/loader/gltf';
import { readExtension } from '../../src/loader/hb_extension';
import { locate, sampleAnimation, type AvatarAnimation } from '../../src/loader/animation';

function glb(json: object, bin: Uint8Array): Uint8Array {
  const s = JSON.stringify(json);
  const jb = new TextEncoder().encode(s.padEnd(Math.ceil(s.length / 4) * 4, ' '));
  const bl = Math.ceil(bin.length / 4) * 4;
  const out = new Uint8Array(28 + jb.length + bl);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x46546c67, true);
  dv.setUint32(4, 2, true);
  dv.setUint32(8, out.length, true);
  dv.setUint32(12, jb.length, true);
  dv.setUint32(16, 0x4e4f534a, true);
  out.set(jb, 20);
  dv.setUint32(20 + jb.length, bl, true);
  dv.setUint32(24 + jb.length, 0x004e4942, true);
  out.set(bin, 28 + jb.length);
  return out;
}

describe('GLB container', () => {
  it('splits JSON and BIN', () => {
    const g = parseGlb(glb({ asset: { version: '2.0' } }, new Uint8Array([1, 2, 3, 4])), 'a.glb');
    expect((g.json as { asset: { version: string } }).asset.version).toBe('2.0');
    expect(Array.from(g.bin)).toEqual([1, 2, 3, 4]);
  });
  it('names the file and the damage', () => {
    const good = glb({ asset: { version: '2.0' } }, new Uint8Array(8));
    expect(() => parseGlb(good.subarray(0, good.length - 4), 'cut.glb')).toThrow(/cut\.glb: header says \d+ bytes but the file has \d+/);
    expect(() => parseGlb(new TextEncoder().encode('{"asset":{}}'), 'x.gltf')).toThrow(/text \.gltf file/);
    expect(() => parseGlb(new Uint8Array(40), 'zeros.glb')).toThrow(/not a glTF binary/);
    const bad = good.slice();
    bad[20] = 0x7d; // '}' where the JSON starts
    expect(() => parseGlb(bad, 'json.glb')).toThrow(/JSON chunk is not valid JSON/);
  });
});

describe('accessors', () => {
  // bin: int16 normalised VEC2 with stride 8 (2 vertices), sparse indices u16 + values int16
  const bin = new Uint8Array(32);
  const dv = new DataView(bin.buffer);
  dv.setInt16(0, 32767, true); dv.setInt16(2, -32768, true); // vertex 0
  dv.setInt16(8, 16384, true); dv.setInt16(10, 0, true); // vertex 1
  dv.setUint16(16, 1, true); // sparse index
  dv.setInt16(20, -16384, true); dv.setInt16(22, 32767, true); // sparse value
  const doc: GltfDocument = {
    asset: { version: '2.0' },
    bufferViews: [{ buffer: 0, byteOffset: 0, byteLength: 16, byteStride: 8 }, { buffer: 0, byteOffset: 16, byteLength: 2 }, { buffer: 0, byteOffset: 20, byteLength: 4 }],
    accessors: [
      { bufferView: 0, componentType: 5122, normalized: true, count: 2, type: 'VEC2' },
      { bufferView: 0, componentType: 5122, normalized: true, count: 2, type: 'VEC2', sparse: { count: 1, indices: { bufferView: 1, componentType: 5123 }, values: { bufferView: 2 } } },
      { componentType: 5126, count: 3, type: 'SCALAR' },
      { bufferView: 7, componentType: 5126, count: 1, type: 'SCALAR' },
    ],
  };
  const g = new Gltf(doc, bin, 'acc.glb');
  it('decodes strided normalised SHORT like glTF (max(c/32767, -1))', () => {
    expect(Array.from(g.accessor(0, 'a').data)).toEqual([1, -1, Math.fround(16384 / 32767), 0]);
  });
  it('applies sparse substitution', () => {
    expect(Array.from(g.accessor(1, 'b').data)).toEqual([1, -1, Math.fround(-16384 / 32767), 1]);
  });
  it('gives zeros without a bufferView, and a clear error for a missing view', () => {
    expect(Array.from(g.accessor(2, 'c').data)).toEqual([0, 0, 0]);
    expect(() => g.accessor(3, 'layers[0].NORMAL')).toThrow(/acc\.glb: layers\[0\]\.NORMAL \(accessor 3\): bufferView 7 does not exist/);
  });
});

describe('HB_neural_shading', () => {
  it('tells a foreign glTF apart', () => {
    const g = new Gltf({ asset: { version: '2.0', generator: 'Blender' } }, new Uint8Array(0), 'cube.glb');
    try {
      readExtension(g);
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(BundleError);
      expect((e as BundleError).kind).toBe('foreign');
      expect((e as Error).message).toMatch(/cube\.glb: this glTF file \(made by "Blender"\) is not a headbake avatar bundle/);
    }
  });
  it('names a malformed field', () => {
    const doc = { asset: { version: '2.0' }, extensionsUsed: ['HB_neural_shading'], extensions: { HB_neural_shading: { version: 1, shading: { n_exp: 'x' } } } };
    expect(() => readExtension(new Gltf(doc, new Uint8Array(0), 'b.glb'))).toThrow(/b\.glb: extensions\.HB_neural_shading\.shading\.n_exp must be an integer; got "x"/);
  });
});

describe('animation sampling', () => {
  const anim: AvatarAnimation = {
    name: 'a', times: new Float32Array([0, 0.04, 0.08]), nTargets: 1, duration: 0.08,
    weights: new Float32Array([0, 1, 3]),
    rotations: new Float32Array(3 * 20).map((_, i) => (i % 4 === 3 ? 1 : 0)),
  };
  it('locates keyframes and interpolates weights linearly', () => {
    expect(locate(anim.times, 0.06)).toEqual([1, expect.closeTo(0.5, 5)]);
    expect(sampleAnimation(anim, 0.06).weights[0]).toBeCloseTo(2, 5);
    expect(sampleAnimation(anim, 1).weights[0]).toBe(3);
  });
});
