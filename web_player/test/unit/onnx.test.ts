import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateGlslBody, generateGlsl, glslFloat } from '../../src/onnx/glsl';
import { OnnxRunner } from '../../src/onnx/interpret';
import { decodeModel, OnnxError } from '../../src/onnx/model';

const fx = JSON.parse(readFileSync(new URL('../fixtures/onnx.json', import.meta.url), 'utf8'));
const load = (name: string) => decodeModel(new Uint8Array(readFileSync(new URL(`../fixtures/onnx/${name}.onnx`, import.meta.url))), `${name}.onnx`);

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1e-6 + Math.abs(b[i])));
  return m;
}
function maxAbsErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('ONNX decoder', () => {
  it('reads the exported frame model: opset, inputs with shapes, initializers', () => {
    const m = load('frame');
    expect(m.opset).toBe(18);
    expect(m.inputs.map((i) => i.name)).toEqual(['expression', 'pose']);
    expect(m.inputs[1].shape).toEqual([1, 15]);
    expect(m.initializers.get('mlp.out.weight')!.dims).toEqual([416, 32]);
    expect(m.nodes.map((n) => n.opType)).toContain('PRelu');
  });
  it('reports a damaged model clearly', () => {
    const bytes = new Uint8Array(readFileSync(new URL('../fixtures/onnx/frame.onnx', import.meta.url)));
    expect(() => decodeModel(bytes.subarray(0, 3000), 'cut.onnx')).toThrow(/cut\.onnx.*(damaged|runs past|truncated|no graph)/);
    expect(() => decodeModel(new Uint8Array([1, 2, 3, 4, 5]), 'junk.onnx')).toThrow(OnnxError);
  });
});

describe('JS interpreter vs onnxruntime (random inputs)', () => {
  for (const name of ['frame', 'pixel', 'mix', 'plumbing']) {
    it(name, () => {
      const c = fx.cases[name];
      const runner = new OnnxRunner(load(name), name);
      const out = runner.run(c.inputs);
      for (const [k, ref] of Object.entries(c.outputs) as [string, { dims: number[]; data: number[] }][]) {
        expect(out[k].dims).toEqual(ref.dims);
        // float32 everywhere; summation order differs from onnxruntime's (measured max ~2e-6 abs)
        expect(maxAbsErr(out[k].data, ref.data) < 2e-5 || maxRelErr(out[k].data, ref.data) < 1e-5).toBe(true);
      }
    });
  }
  it('names an unsupported operator', () => {
    const r = new OnnxRunner(load('unsupported'), 'unsupported.onnx');
    expect(() => r.run({ x: { dims: [1, 3], data: [1, 2, 3] } })).toThrow(/operator 'Erf' is not supported by the player; supported: Identity/);
  });
  it('checks input shapes', () => {
    const r = new OnnxRunner(load('frame'), 'frame.onnx');
    expect(() => r.run({ expression: { dims: [1, 7], data: new Float32Array(7) }, pose: { dims: [1, 14], data: new Float32Array(14) } })).toThrow(/input 'pose' dim 1 must be 15; got 14/);
  });
});

describe('GLSL generator (traced per pixel) vs onnxruntime', () => {
  it('per-pixel model: every pixel row of the batch, theta as a uniform vec4 array', () => {
    const c = fx.cases.pixel;
    const model = load('pixel');
    const z = c.inputs.z, theta = c.inputs.theta.data as number[];
    const P = theta.length, D = z.dims[1];
    const gen = generateGlsl(model, {
      z: { element: (i) => `z[${i}]` },
      theta: { element: (i) => `u_theta[${i >> 2}].${'xyzw'[i & 3]}` },
    });
    expect(gen.outputs.coef.dims).toEqual([1, c.outputs.coef.dims[1]]);
    expect(gen.body).not.toMatch(/for|while|\[\s*[a-z]/); // unrolled: constant indices only
    const u_theta = Array.from({ length: P / 4 }, (_, k) => ({ x: theta[4 * k], y: theta[4 * k + 1], z: theta[4 * k + 2], w: theta[4 * k + 3] }));
    const K = c.outputs.coef.dims[1];
    for (let n = 0; n < z.dims[0]; n++) {
      const row = z.data.slice(n * D, n * D + D);
      const got = evaluateGlslBody(gen.body, gen.outputs.coef.elements, { z: row, u_theta });
      const ref = c.outputs.coef.data.slice(n * K, n * K + K);
      expect(maxAbsErr(got, ref)).toBeLessThan(2e-5);
    }
  });
  it('per-pixel model with theta baked in as constants (THETA_CONST): same values, no theta reads', () => {
    const c = fx.cases.pixel;
    const theta = c.inputs.theta.data as number[];
    const z = c.inputs.z, D = z.dims[1], K = c.outputs.coef.dims[1];
    const gen = generateGlsl(load('pixel'), { z: { element: (i) => `z[${i}]` }, theta: { element: (i) => theta[i] } });
    expect(gen.body).not.toMatch(/theta|th\d/);
    for (let n = 0; n < z.dims[0]; n++) {
      const got = evaluateGlslBody(gen.body, gen.outputs.coef.elements, { z: z.data.slice(n * D, n * D + D) });
      expect(maxAbsErr(got, c.outputs.coef.data.slice(n * K, n * K + K))).toBeLessThan(2e-5);
    }
  });
  for (const name of ['mix', 'plumbing']) {
    it(`${name}: constants folded into literals`, () => {
      const c = fx.cases[name];
      const model = load(name);
      const inName = model.inputs[0].name, outName = model.outputs[0].name;
      const x = c.inputs[inName];
      const gen = generateGlsl(model, { [inName]: { element: (i) => `x[${i}]` } });
      const W = x.dims[1], O = c.outputs[outName].dims[1];
      for (let n = 0; n < x.dims[0]; n++) {
        const got = evaluateGlslBody(gen.body, gen.outputs[outName].elements, { x: x.data.slice(n * W, n * W + W) });
        expect(maxRelErr(got, c.outputs[outName].data.slice(n * O, n * O + O))).toBeLessThan(1e-4);
      }
    });
  }
  it('writes float literals GLSL accepts', () => {
    expect(glslFloat(1)).toBe('1.0');
    expect(glslFloat(-0.5)).toBe('-0.5');
    expect(glslFloat(1e-10)).toMatch(/^1(\.0)?e-10$/);
    expect(Number(glslFloat(0.1))).toBeCloseTo(0.1, 7);
  });
});
