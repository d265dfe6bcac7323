import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAvatar, type Avatar } from '../../src/loader/avatar';
import { BundleError } from '../../src/loader/errors';
import { parseGlb } from '../../src/loader/glb';
import { Gltf, type GltfDocument, type GltfPrimitive } from '../../src/loader/gltf';
import { readExtension } from '../../src/loader/hb_extension';
import { locate, sampleAnimation, type AvatarAnimation } from '../../src/loader/animation';
import { readMorphTargets } from '../../src/loader/morph_targets';

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

describe('morph targets', () => {
  // 2 vertices, 2 targets: POSITION float32; NORMAL int16 normalised (target 0) and sparse
  // without a bufferView (target 1: only vertex 1 non-zero)
  const bin = new Uint8Array(72);
  const dv = new DataView(bin.buffer);
  [1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6].forEach((x, i) => dv.setFloat32(4 * i, x, true));
  [32767, 0, -32767, 0, 16384, 0].forEach((x, i) => dv.setInt16(48 + 2 * i, x, true));
  dv.setUint16(60, 1, true);
  [0, 0, 32767].forEach((x, i) => dv.setInt16(64 + 2 * i, x, true));
  const doc: GltfDocument = {
    asset: { version: '2.0' },
    bufferViews: [{ buffer: 0, byteOffset: 0, byteLength: 24 }, { buffer: 0, byteOffset: 24, byteLength: 24 }, { buffer: 0, byteOffset: 48, byteLength: 12 },
      { buffer: 0, byteOffset: 60, byteLength: 2 }, { buffer: 0, byteOffset: 64, byteLength: 6 }],
    accessors: [
      { bufferView: 0, componentType: 5126, count: 2, type: 'VEC3' },
      { bufferView: 1, componentType: 5126, count: 2, type: 'VEC3' },
      { bufferView: 2, componentType: 5122, normalized: true, count: 2, type: 'VEC3' },
      { componentType: 5122, normalized: true, count: 2, type: 'VEC3', sparse: { count: 1, indices: { bufferView: 3, componentType: 5123 }, values: { bufferView: 4 } } },
      { componentType: 5126, count: 3, type: 'VEC3' },
    ],
  };
  const g = new Gltf(doc, bin, 'm.glb');
  const prim = (targets: Record<string, number>[]): GltfPrimitive => ({ attributes: {}, targets });
  const f = 'layers[0] (skin)';
  it('reads POSITION and NORMAL deltas vertex-major ((v * T + t) * 3 + axis)', () => {
    const m = readMorphTargets(g, prim([{ POSITION: 0, NORMAL: 2 }, { POSITION: 1, NORMAL: 3 }]), 2, 2, f);
    expect(Array.from(m.positions)).toEqual([1, 2, 3, -1, -2, -3, 4, 5, 6, -4, -5, -6]);
    expect(Array.from(m.normals!)).toEqual([1, 0, -1, 0, 0, 0, 0, Math.fround(16384 / 32767), 0, 0, 0, 1]);
  });
  it('gives no normal deltas when no target has NORMAL', () => {
    expect(readMorphTargets(g, prim([{ POSITION: 0 }, { POSITION: 1 }]), 2, 2, f).normals).toBeNull();
  });
  it('names the target when only some have NORMAL or a count is off', () => {
    expect(() => readMorphTargets(g, prim([{ POSITION: 0, NORMAL: 2 }, { POSITION: 1 }]), 2, 2, f)).toThrow(
      /m\.glb: layers\[0\] \(skin\)\.targets\[1\]\.NORMAL: missing, while 1 of the 2 morph targets have NORMAL deltas/,
    );
    expect(() => readMorphTargets(g, prim([{ POSITION: 0, NORMAL: 4 }, { POSITION: 1, NORMAL: 3 }]), 2, 2, f)).toThrow(
      /layers\[0\] \(skin\)\.targets\[0\]\.NORMAL: 3 x 3 deltas; 2 x 3 expected/,
    );
    expect(() => readMorphTargets(g, prim([{ POSITION: 0 }]), 2, 2, f)).toThrow(/mesh has 1 morph targets; the extension declares 2/);
  });
});

// The test bundle with normal blendshapes, written and read back by the repo's Python
// (export.testbundle, export.gltf_read.read_bundle): the player decodes the same normal deltas.
const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const PYTHON = [process.env.HB_PYTHON, path.join(REPO, '.venv', 'bin', 'python')].find((p) => p && existsSync(p));
const READBACK = `
import sys, numpy as np
from export import testbundle
from export.gltf_read import read_bundle
out = sys.argv[1]
testbundle.main(["-o", out + "/n.glb", "--normal-blendshapes"])
for i, L in enumerate(read_bundle(out + "/n.glb").layers):  # (V, n_exp + 36, 3), scale applied
    np.concatenate([L.arrays["normal_expr"], L.arrays["normal_pose"]], 1).astype("<f4").tofile(f"{out}/normals_{i}.f32")
`;

describe.skipIf(!PYTHON)('normal morph targets of the Python test bundle (needs ../.venv)', () => {
  let dir = '';
  let av: Avatar;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hb-normals-'));
    const r = spawnSync(PYTHON!, ['-c', READBACK, dir], { cwd: REPO, encoding: 'utf8', env: { ...process.env, PYTHONWARNINGS: 'ignore' } });
    if (r.status !== 0) throw new Error(`Python read-back failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    av = await loadAvatar(new Uint8Array(readFileSync(path.join(dir, 'n.glb'))), 'n.glb', async (bytes, mime) => ({ width: 0, height: 0, source: null, encoded: { bytes, mime } }));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('equal read_bundle\'s normal_expr / normal_pose (x morphTargets.scale)', () => {
    const { expression: E, pose, scale } = av.ext.morphTargets;
    const T = E + pose.length;
    av.layers.forEach((L, i) => {
      const py = new Float32Array(readFileSync(path.join(dir, `normals_${i}.f32`)).buffer.slice(0));
      const V = L.vertexCount;
      expect(py.length).toBe(V * (E + 36) * 3);
      expect(L.normalTargets!.length).toBe(V * T * 3);
      let err = 0, peak = 0;
      for (let v = 0; v < V; v++)
        for (let t = 0; t < T; t++) {
          const col = t < E ? t : E + pose[t - E];
          for (let a = 0; a < 3; a++) {
            const want = py[(v * (E + 36) + col) * 3 + a];
            err = Math.max(err, Math.abs(L.normalTargets![(v * T + t) * 3 + a] * scale[t] - want));
            peak = Math.max(peak, Math.abs(want));
          }
        }
      console.log(`${L.name}: ${V} x ${T} normal deltas, max abs error vs read_bundle ${err.toExponential(2)} (largest |delta| ${peak.toFixed(3)})`);
      expect(peak, L.name).toBeGreaterThan(0.1); // large deltas (the test bundle turns normals a lot)
      expect(err, L.name).toBeLessThan(1e-6 * peak); // float32 rounding of value x scale
    });
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
