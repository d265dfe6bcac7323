/**
 * ONNX -> GLSL ES 3.00 generator for the per-pixel model.
 *
 * The graph is traced once for ONE pixel (symbolic batch dimensions bound to 1) with an algebra
 * whose elements are GLSL expressions: shape arithmetic, Reshape/Slice/Concat/Transpose and
 * constant weights fold away at generation time, every arithmetic result becomes one `float`
 * temporary, and the code is fully unrolled (no loops, no dynamic indexing). Constant weights
 * become literals; per-frame inputs (theta) are read through caller-provided expressions
 * (a uniform block or a float texture, see `render/shading_program.ts`).
 *
 * The emitted body uses only `float t = a op b;`, max/min/exp/log/sqrt/abs/tanh and array or
 * `.xyzw` accesses, so `evaluateGlslBody` can run it in JS for tests without a GPU.
 */

import { OnnxError, type OnnxModel } from './model';
import { fromTensor, runGraph, type Alg, type Val } from './ops';

type Sym = number | string;

/** Float literal with float32 precision and a decimal point (GLSL needs one). */
export function glslFloat(x: number): string {
  if (!Number.isFinite(x)) throw new OnnxError(`cannot write ${x} as a GLSL constant`);
  const f = Math.fround(x);
  if (Number.isInteger(f) && Math.abs(f) < 1e7) return `${f}.0`;
  // shortest decimal that reads back to the same float32
  let s = f.toPrecision(9);
  for (let p = 1; p <= 9; p++) {
    const c = f.toPrecision(p);
    if (Math.fround(Number(c)) === f) {
      s = c;
      break;
    }
  }
  if (s.includes('e')) {
    const [m, e] = s.split('e');
    return `${m.includes('.') ? m : `${m}.0`}e${e}`;
  }
  return s.includes('.') ? s : `${s}.0`;
}

class Emitter {
  lines: string[] = [];
  private n = 0;
  constructor(private readonly prefix: string) {}
  emit(expr: string): string {
    const name = `${this.prefix}${this.n++}`;
    this.lines.push(`float ${name} = ${expr};`);
    return name;
  }
}

function lit(a: Sym): string {
  return typeof a === 'number' ? glslFloat(a) : a;
}

function symAlg(em: Emitter): Alg<Sym> {
  const isNum = (a: Sym): a is number => typeof a === 'number';
  const f32 = Math.fround;
  const alg: Alg<Sym> = {
    c: (x) => x,
    num: (a) => (isNum(a) ? a : null),
    add: (a, b) => (isNum(a) && isNum(b) ? f32(a + b) : a === 0 ? b : b === 0 ? a : em.emit(`${lit(a)} + ${lit(b)}`)),
    sub: (a, b) => (isNum(a) && isNum(b) ? f32(a - b) : b === 0 ? a : em.emit(`${lit(a)} - ${lit(b)}`)),
    mul: (a, b) => {
      if (isNum(a) && isNum(b)) return f32(a * b);
      if (a === 0 || b === 0) return 0;
      if (a === 1) return b;
      if (b === 1) return a;
      return em.emit(`${lit(a)} * ${lit(b)}`);
    },
    div: (a, b) => (isNum(a) && isNum(b) ? f32(a / b) : b === 1 ? a : em.emit(`${lit(a)} / ${lit(b)}`)),
    max: (a, b) => (isNum(a) && isNum(b) ? Math.max(a, b) : em.emit(`max(${lit(a)}, ${lit(b)})`)),
    min: (a, b) => (isNum(a) && isNum(b) ? Math.min(a, b) : em.emit(`min(${lit(a)}, ${lit(b)})`)),
    pow: (a, b) => {
      if (isNum(a) && isNum(b)) return f32(a ** b);
      if (b === 2) return em.emit(`${lit(a)} * ${lit(a)}`);
      if (b === 1) return a;
      return em.emit(`pow(${lit(a)}, ${lit(b)})`);
    },
    unary: (op, a) => {
      if (isNum(a)) {
        const v = { neg: -a, exp: Math.exp(a), log: Math.log(a), sqrt: Math.sqrt(a), abs: Math.abs(a), tanh: Math.tanh(a), sigmoid: 1 / (1 + Math.exp(-a)), relu: Math.max(a, 0) }[op];
        return f32(v);
      }
      switch (op) {
        case 'neg': return em.emit(`-${a}`);
        case 'relu': return em.emit(`max(${a}, 0.0)`);
        case 'sigmoid': return em.emit(`1.0 / (1.0 + exp(-${a}))`);
        default: return em.emit(`${op}(${a})`);
      }
    },
    dot: (a, b) => {
      let c = 0;
      const terms: string[] = [];
      for (let i = 0; i < a.length; i++) {
        const x = a[i], y = b[i];
        if (x === 0 || y === 0) continue;
        if (isNum(x) && isNum(y)) c += x * y;
        else if (x === 1) terms.push(lit(y));
        else if (y === 1) terms.push(lit(x));
        else terms.push(`${lit(x)} * ${lit(y)}`);
      }
      if (!terms.length) return f32(c);
      if (c !== 0) terms.push(glslFloat(c));
      if (terms.length === 1 && !terms[0].includes(' ')) return terms[0];
      return em.emit(terms.join(' + '));
    },
    sum: (a) => {
      let c = 0;
      const terms: string[] = [];
      for (const x of a) {
        if (isNum(x)) c += x;
        else terms.push(x);
      }
      if (!terms.length) return f32(c);
      if (c !== 0) terms.push(glslFloat(c));
      return terms.length === 1 ? terms[0] : em.emit(terms.join(' + '));
    },
    prelu: (a, s) => {
      if (isNum(a) && isNum(s)) return a >= 0 ? a : f32(a * s);
      if (s === 0) return alg.unary('relu', a);
      return em.emit(`max(${lit(a)}, 0.0) + ${lit(s)} * min(${lit(a)}, 0.0)`);
    },
  };
  return alg;
}

export interface InputBinding {
  /** Concrete dims used for tracing (symbolic batch dims -> 1). Defaults to the model's, with 1 for symbols. */
  dims?: number[];
  /** GLSL expression for flat element i of this input, or a number (a constant, folded). */
  element: (i: number) => string | number;
}

export interface GeneratedGlsl {
  /** Body statements; the caller wraps them in a function. */
  body: string;
  /** Output name -> GLSL expression (literal or temporary) per flat element. */
  outputs: Record<string, { dims: number[]; elements: string[] }>;
  /** Number of emitted temporaries (a cost measure). */
  statements: number;
}

/** Trace `model` with each input element bound to a GLSL expression. */
export function generateGlsl(model: OnnxModel, bindings: Record<string, InputBinding>, prefix = 't'): GeneratedGlsl {
  const em = new Emitter(prefix);
  const alg = symAlg(em);
  const bound = new Map<string, Val<Sym>>();
  for (const [k, t] of model.initializers) bound.set(k, fromTensor(alg, t));
  for (const info of model.inputs) {
    const b = bindings[info.name];
    if (!b) throw new OnnxError(`per-pixel model: no shader binding for input '${info.name}' (bound: ${Object.keys(bindings).join(', ')})`);
    const dims = b.dims ?? info.shape?.map((d) => (typeof d === 'number' ? d : 1));
    if (!dims) throw new OnnxError(`per-pixel model: input '${info.name}' has no shape; give dims in its binding`);
    const n = dims.reduce((a, q) => a * q, 1);
    bound.set(info.name, { dims, kind: 'float', data: Array.from({ length: n }, (_, i): Sym => { const e = b.element(i); return typeof e === 'number' ? Math.fround(e) : e; }) });
  }
  const env = runGraph(alg, model.nodes, bound, model.opset);
  const outputs: GeneratedGlsl['outputs'] = {};
  for (const o of model.outputs) {
    const v = env.get(o.name);
    if (!v) throw new OnnxError(`per-pixel model: output '${o.name}' was not computed`);
    outputs[o.name] = { dims: v.dims, elements: v.data.map(lit) };
  }
  return { body: em.lines.join('\n'), outputs, statements: em.lines.length };
}

/**
 * Evaluate a generated body in JS (tests): `scope` provides the arrays/objects the binding
 * expressions refer to. Returns the values of `elements`.
 */
export function evaluateGlslBody(body: string, elements: string[], scope: Record<string, unknown>): number[] {
  const js = body.replace(/\bfloat (\w+) =/g, 'const $1 =');
  const names = Object.keys(scope);
  const fns = { max: Math.max, min: Math.min, exp: Math.exp, log: Math.log, sqrt: Math.sqrt, abs: Math.abs, tanh: Math.tanh, pow: Math.pow };
  const f = new Function(...Object.keys(fns), ...names, `${js}\nreturn [${elements.join(', ')}];`);
  return f(...Object.values(fns), ...names.map((n) => scope[n]));
}
