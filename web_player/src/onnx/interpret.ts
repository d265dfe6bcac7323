/**
 * Numeric ONNX interpreter for small graphs (the per-frame model runs once per frame in JS).
 * Float values are computed in float64 and rounded to float32 after every operator, which
 * tracks onnxruntime's float32 results to ~1e-6 relative.
 */

import { OnnxError, type OnnxModel } from './model';
import { fromTensor, runNode, type Alg, type Val } from './ops';
import type { OnnxNode } from './model';

const f32 = Math.fround;

export const numberAlg: Alg<number> = {
  c: (x) => x,
  num: (a) => a,
  add: (a, b) => f32(a + b),
  sub: (a, b) => f32(a - b),
  mul: (a, b) => f32(a * b),
  div: (a, b) => f32(a / b),
  max: (a, b) => (a >= b || Number.isNaN(a) ? a : b),
  min: (a, b) => (a <= b || Number.isNaN(a) ? a : b),
  pow: (a, b) => f32(a ** b),
  unary: (op, a) => {
    switch (op) {
      case 'neg': return -a;
      case 'exp': return f32(Math.exp(a));
      case 'log': return f32(Math.log(a));
      case 'sqrt': return f32(Math.sqrt(a));
      case 'abs': return Math.abs(a);
      case 'tanh': return f32(Math.tanh(a));
      case 'sigmoid': return f32(1 / (1 + Math.exp(-a)));
      case 'relu': return a > 0 ? a : 0;
    }
  },
  dot: (a, b) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
    return f32(s);
  },
  sum: (a) => f32(a.reduce((s, x) => s + x, 0)),
  prelu: (a, s) => (a >= 0 ? a : f32(a * s)),
};

export interface NamedArray {
  dims: number[];
  data: Float32Array;
}

/** A compiled-once runner for one model: initializers decoded once, graph inputs checked per call. */
export class OnnxRunner {
  private readonly inits: Map<string, Val<number>>;
  constructor(readonly model: OnnxModel, readonly where = 'onnx model') {
    this.inits = new Map();
    for (const [k, t] of model.initializers) this.inits.set(k, fromTensor(numberAlg, t));
  }

  get inputNames(): string[] {
    return this.model.inputs.map((i) => i.name);
  }

  /** Run with inputs name -> (dims, data); returns every graph output. */
  run(inputs: Record<string, { dims: number[]; data: ArrayLike<number> }>): Record<string, NamedArray> {
    const bound = new Map(this.inits);
    for (const info of this.model.inputs) {
      const v = inputs[info.name];
      if (!v) throw new OnnxError(`${this.where}: input '${info.name}' was not given`);
      const n = v.dims.reduce((a, b) => a * b, 1);
      if (v.data.length !== n) throw new OnnxError(`${this.where}: input '${info.name}' has ${v.data.length} values for dims ${JSON.stringify(v.dims)}`);
      if (info.shape) {
        if (info.shape.length !== v.dims.length) throw new OnnxError(`${this.where}: input '${info.name}' must have rank ${info.shape.length}; got dims ${JSON.stringify(v.dims)}`);
        info.shape.forEach((d, i) => {
          if (typeof d === 'number' && d !== v.dims[i]) throw new OnnxError(`${this.where}: input '${info.name}' dim ${i} must be ${d}; got ${v.dims[i]}`);
        });
      }
      bound.set(info.name, { dims: v.dims.slice(), kind: 'float', data: Array.from(v.data, (x) => f32(x)) });
    }
    const env = bound;
    for (const node of this.model.nodes) {
      const ins = node.inputs.map((name) => {
        if (name === '') return undefined;
        const v = env.get(name);
        if (!v) throw new OnnxError(`${this.where}: node '${node.name}' (${node.opType}) input '${name}' is not produced by any earlier node`);
        return v;
      });
      const outs = fastNode(node, ins) ?? runNode(numberAlg, node, ins, this.model.opset);
      node.outputs.forEach((name, i) => {
        if (name && outs[i]) env.set(name, outs[i]);
      });
    }
    const out: Record<string, NamedArray> = {};
    for (const o of this.model.outputs) {
      const v = env.get(o.name);
      if (!v) throw new OnnxError(`${this.where}: output '${o.name}' was not computed`);
      out[o.name] = { dims: v.dims, data: Float32Array.from(v.data) };
    }
    return out;
  }
}

/**
 * Typed fast paths for the heavy operators of small MLPs (2-D Gemm / MatMul): plain index
 * loops, no per-element closures. Returns null to fall back to the generic implementation.
 */
function fastNode(node: OnnxNode, ins: (Val<number> | undefined)[]): Val<number>[] | null {
  if (node.opType !== 'Gemm' && node.opType !== 'MatMul') return null;
  const a = ins[0], b = ins[1];
  if (!a || !b || a.dims.length !== 2 || b.dims.length !== 2) return null;
  const gemm = node.opType === 'Gemm';
  const tA = gemm && node.attrs.transA === 1, tB = gemm && node.attrs.transB === 1;
  const alpha = gemm ? ((node.attrs.alpha as number | undefined) ?? 1) : 1;
  const beta = gemm ? ((node.attrs.beta as number | undefined) ?? 1) : 1;
  const M = tA ? a.dims[1] : a.dims[0], K = tA ? a.dims[0] : a.dims[1];
  const N = tB ? b.dims[0] : b.dims[1], K2 = tB ? b.dims[1] : b.dims[0];
  if (K !== K2) return null;
  const c = gemm ? ins[2] : undefined;
  if (c && !(c.dims.length <= 2 && (c.dims.length === 0 || c.dims[c.dims.length - 1] === N || c.dims[c.dims.length - 1] === 1))) return null;
  const A = a.data, B = b.data;
  const out = new Array<number>(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (tA ? A[k * M + i] : A[i * K + k]) * (tB ? B[j * K + k] : B[k * N + j]);
      let y = f32(s);
      if (alpha !== 1) y = f32(y * alpha);
      if (c) {
        const cd = c.dims;
        const ci = cd.length === 0 ? 0 : cd.length === 1 ? (cd[0] === 1 ? 0 : j) : (cd[0] === 1 ? 0 : i) * cd[1] + (cd[1] === 1 ? 0 : j);
        y = f32(y + (beta === 1 ? c.data[ci] : f32(beta * c.data[ci])));
      }
      out[i * N + j] = y;
    }
  return [{ dims: [M, N], kind: 'float', data: out }];
}
