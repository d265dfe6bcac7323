/**
 * Numeric ONNX interpreter for small graphs (the per-frame model runs once per frame in JS).
 * Float values are computed in float64 and rounded to float32 after every operator, which
 * tracks onnxruntime's float32 results to ~1e-6 relative.
 */

import { OnnxError, type OnnxModel } from './model';
import { fromTensor, runGraph, type Alg, type Val } from './ops';

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
    const env = runGraph(numberAlg, this.model.nodes, bound, this.model.opset);
    const out: Record<string, NamedArray> = {};
    for (const o of this.model.outputs) {
      const v = env.get(o.name);
      if (!v) throw new OnnxError(`${this.where}: output '${o.name}' was not computed`);
      out[o.name] = { dims: v.dims, data: Float32Array.from(v.data) };
    }
    return out;
  }
}
