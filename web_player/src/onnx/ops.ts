/**
 * The ONNX operators the player supports, written once over an element "algebra" so that the
 * same code evaluates numbers (the per-frame model in JS) and traces GLSL expressions (the
 * per-pixel model). Shapes are always concrete: symbolic batch dimensions are bound to 1 when
 * tracing a per-pixel graph. Unsupported operators or attributes raise OnnxError naming the node.
 */

import { OnnxError, type AttrValue, type OnnxNode, type Tensor } from './model';

/** Element algebra. `num` returns the value when the element is a known constant. */
export interface Alg<T> {
  c(x: number): T;
  num(a: T): number | null;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  max(a: T, b: T): T;
  min(a: T, b: T): T;
  unary(op: 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'tanh' | 'sigmoid' | 'relu', a: T): T;
  pow(a: T, b: T): T;
  /** sum_i a_i * b_i (the matmul kernel). */
  dot(a: T[], b: T[]): T;
  /** sum_i a_i */
  sum(a: T[]): T;
  /** where(a >= 0, a, slope * a) */
  prelu(a: T, slope: T): T;
}

export interface Val<T> {
  dims: number[];
  kind: 'float' | 'int';
  data: T[];
}

export const SUPPORTED_OPS = [
  'Identity', 'Constant', 'Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Pow', 'Neg', 'Exp', 'Log', 'Sqrt',
  'Abs', 'Tanh', 'Sigmoid', 'Relu', 'LeakyRelu', 'PRelu', 'Clip', 'MatMul', 'Gemm', 'Softmax', 'Concat',
  'Slice', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Gather', 'Shape', 'Cast', 'Expand',
  'ReduceSum', 'ReduceMax', 'ReduceMean', 'ConstantOfShape',
] as const;

const prod = (d: number[]) => d.reduce((a, b) => a * b, 1);

function strides(d: number[]): number[] {
  const s = new Array(d.length).fill(1);
  for (let i = d.length - 2; i >= 0; i--) s[i] = s[i + 1] * d[i + 1];
  return s;
}

function normAxis(a: number, rank: number, where: string): number {
  const r = a < 0 ? a + rank : a;
  if (r < 0 || r >= Math.max(rank, 1)) throw new OnnxError(`${where}: axis ${a} out of range for rank ${rank}`);
  return r;
}

export function fromTensor<T>(alg: Alg<T>, t: Tensor): Val<T> {
  return { dims: t.dims.slice(), kind: t.kind, data: Array.from(t.data, (x) => alg.c(x)) };
}

function ints<T>(alg: Alg<T>, v: Val<T>, where: string): number[] {
  return v.data.map((x) => {
    const n = alg.num(x);
    if (n === null) throw new OnnxError(`${where}: needs a constant integer input (got a per-pixel value)`);
    return n;
  });
}

function broadcastDims(a: number[], b: number[], where: string): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new OnnxError(`${where}: shapes ${JSON.stringify(a)} and ${JSON.stringify(b)} do not broadcast`);
    out.push(Math.max(x, y));
  }
  return out;
}

/** Index into `src` (dims sd) for every element of the broadcast output dims od. */
function broadcastIndex(sd: number[], od: number[]): number[] {
  const n = prod(od), os = strides(od), ss = strides(sd), off = od.length - sd.length;
  const idx = new Array(n);
  for (let i = 0; i < n; i++) {
    let rem = i, j = 0;
    for (let k = 0; k < od.length; k++) {
      const c = Math.floor(rem / os[k]);
      rem -= c * os[k];
      const sk = k - off;
      if (sk >= 0 && sd[sk] !== 1) j += c * ss[sk];
    }
    idx[i] = j;
  }
  return idx;
}

function elementwise<T>(vals: Val<T>[], f: (...x: T[]) => T, where: string): Val<T> {
  let dims = vals[0].dims;
  for (const v of vals.slice(1)) dims = broadcastDims(dims, v.dims, where);
  const maps = vals.map((v) => broadcastIndex(v.dims, dims));
  const n = prod(dims);
  const data = new Array<T>(n);
  for (let i = 0; i < n; i++) data[i] = f(...vals.map((v, k) => v.data[maps[k][i]]));
  return { dims, kind: vals[0].kind, data };
}

function transpose<T>(v: Val<T>, perm: number[]): Val<T> {
  const od = perm.map((p) => v.dims[p]);
  const is = strides(v.dims), os = strides(od);
  const data = new Array<T>(v.data.length);
  for (let i = 0; i < data.length; i++) {
    let rem = i, j = 0;
    for (let k = 0; k < od.length; k++) {
      const c = Math.floor(rem / os[k]);
      rem -= c * os[k];
      j += c * is[perm[k]];
    }
    data[i] = v.data[j];
  }
  return { dims: od, kind: v.kind, data };
}

function matmul<T>(alg: Alg<T>, a: Val<T>, b: Val<T>, where: string): Val<T> {
  const ad = a.dims.length === 1 ? [1, a.dims[0]] : a.dims;
  const bd = b.dims.length === 1 ? [b.dims[0], 1] : b.dims;
  const M = ad[ad.length - 2], K = ad[ad.length - 1], K2 = bd[bd.length - 2], N = bd[bd.length - 1];
  if (K !== K2) throw new OnnxError(`${where}: MatMul inner sizes differ (${JSON.stringify(a.dims)} x ${JSON.stringify(b.dims)})`);
  const batch = broadcastDims(ad.slice(0, -2), bd.slice(0, -2), where);
  const am = broadcastIndex(ad.slice(0, -2), batch), bm = broadcastIndex(bd.slice(0, -2), batch);
  const nb = prod(batch);
  const data: T[] = [];
  for (let q = 0; q < nb; q++) {
    const ao = am[q] * M * K, bo = bm[q] * K * N;
    for (let i = 0; i < M; i++) {
      const row = a.data.slice(ao + i * K, ao + i * K + K);
      for (let j = 0; j < N; j++) {
        const col = new Array<T>(K);
        for (let k = 0; k < K; k++) col[k] = b.data[bo + k * N + j];
        data.push(alg.dot(row, col));
      }
    }
  }
  let dims = [...batch, M, N];
  if (a.dims.length === 1) dims = [...batch, N];
  if (b.dims.length === 1) dims = a.dims.length === 1 ? batch : [...batch, M];
  return { dims, kind: 'float', data };
}

function attr(node: OnnxNode, name: string): AttrValue | undefined {
  return node.attrs[name];
}

function reduceAxes<T>(alg: Alg<T>, node: OnnxNode, x: Val<T>, axesIn: Val<T> | undefined, where: string): number[] {
  let axes = attr(node, 'axes') as number[] | undefined;
  if (axesIn) axes = ints(alg, axesIn, where);
  if (!axes || !axes.length) {
    if (attr(node, 'noop_with_empty_axes') === 1) return [];
    return x.dims.map((_, i) => i);
  }
  return axes.map((a) => normAxis(a, x.dims.length, where));
}

function reduce<T>(x: Val<T>, axes: number[], keep: boolean, f: (xs: T[]) => T): Val<T> {
  const od = x.dims.map((d, i) => (axes.includes(i) ? 1 : d));
  const n = prod(od), os = strides(od), is = strides(x.dims);
  const groups: T[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < x.data.length; i++) {
    let rem = i, j = 0;
    for (let k = 0; k < x.dims.length; k++) {
      const c = Math.floor(rem / is[k]);
      rem -= c * is[k];
      if (!axes.includes(k)) j += c * os[k];
    }
    groups[j].push(x.data[i]);
  }
  const dims = keep ? od : x.dims.filter((_, i) => !axes.includes(i));
  return { dims, kind: x.kind, data: groups.map(f) };
}

/** Evaluate one node. `inputs[i]` is undefined for an omitted optional input. */
export function runNode<T>(alg: Alg<T>, node: OnnxNode, inputs: (Val<T> | undefined)[], opset: number): Val<T>[] {
  const where = `ONNX node '${node.name || node.outputs[0]}' (${node.opType})`;
  if (node.domain && node.domain !== 'ai.onnx')
    throw new OnnxError(`${where}: operator domain '${node.domain}' is not supported; supported: ${SUPPORTED_OPS.join(', ')}`);
  const x = inputs[0]!;
  const need = (i: number) => {
    const v = inputs[i];
    if (!v) throw new OnnxError(`${where}: input ${i} is missing`);
    return v;
  };
  const un = (op: Parameters<Alg<T>['unary']>[0]) => [elementwise([need(0)], (a) => alg.unary(op, a), where)];
  switch (node.opType) {
    case 'Identity':
      return [need(0)];
    case 'Constant': {
      const v = attr(node, 'value');
      if (v && typeof v === 'object' && !Array.isArray(v)) return [fromTensor(alg, v as Tensor)];
      if (attr(node, 'value_float') !== undefined) return [{ dims: [], kind: 'float', data: [alg.c(attr(node, 'value_float') as number)] }];
      if (attr(node, 'value_int') !== undefined) return [{ dims: [], kind: 'int', data: [alg.c(attr(node, 'value_int') as number)] }];
      const fl = attr(node, 'value_floats') as number[] | undefined;
      if (fl) return [{ dims: [fl.length], kind: 'float', data: fl.map((q) => alg.c(q)) }];
      const il = attr(node, 'value_ints') as number[] | undefined;
      if (il) return [{ dims: [il.length], kind: 'int', data: il.map((q) => alg.c(q)) }];
      throw new OnnxError(`${where}: unsupported Constant attribute (${Object.keys(node.attrs).join(', ')})`);
    }
    case 'Add': return [elementwise([need(0), need(1)], alg.add, where)];
    case 'Sub': return [elementwise([need(0), need(1)], alg.sub, where)];
    case 'Mul': return [elementwise([need(0), need(1)], alg.mul, where)];
    case 'Div':
      if (x.kind === 'int') return [elementwise([need(0), need(1)], (a, b) => alg.c(Math.trunc(alg.num(a)! / alg.num(b)!)), where)];
      return [elementwise([need(0), need(1)], alg.div, where)];
    case 'Pow': return [elementwise([need(0), need(1)], alg.pow, where)];
    case 'Max': return [inputs.reduce((acc, v) => elementwise([acc!, v!], alg.max, where))!];
    case 'Min': return [inputs.reduce((acc, v) => elementwise([acc!, v!], alg.min, where))!];
    case 'Neg': return un('neg');
    case 'Exp': return un('exp');
    case 'Log': return un('log');
    case 'Sqrt': return un('sqrt');
    case 'Abs': return un('abs');
    case 'Tanh': return un('tanh');
    case 'Sigmoid': return un('sigmoid');
    case 'Relu': return un('relu');
    case 'LeakyRelu': {
      const s = alg.c((attr(node, 'alpha') as number | undefined) ?? 0.01);
      return [elementwise([need(0)], (a) => alg.prelu(a, s), where)];
    }
    case 'PRelu': return [elementwise([need(0), need(1)], alg.prelu, where)];
    case 'Clip': {
      let lo = attr(node, 'min') as number | undefined, hi = attr(node, 'max') as number | undefined;
      let v = need(0);
      const loV = inputs[1] ?? (lo !== undefined ? { dims: [], kind: 'float' as const, data: [alg.c(lo)] } : undefined);
      const hiV = inputs[2] ?? (hi !== undefined ? { dims: [], kind: 'float' as const, data: [alg.c(hi)] } : undefined);
      if (loV) v = elementwise([v, loV], alg.max, where);
      if (hiV) v = elementwise([v, hiV], alg.min, where);
      return [v];
    }
    case 'MatMul': return [matmul(alg, need(0), need(1), where)];
    case 'Gemm': {
      let a = need(0), b = need(1);
      if (a.dims.length !== 2 || b.dims.length !== 2) throw new OnnxError(`${where}: Gemm needs 2-D inputs`);
      if (attr(node, 'transA') === 1) a = transpose(a, [1, 0]);
      if (attr(node, 'transB') === 1) b = transpose(b, [1, 0]);
      const alpha = (attr(node, 'alpha') as number | undefined) ?? 1, beta = (attr(node, 'beta') as number | undefined) ?? 1;
      let y = matmul(alg, a, b, where);
      if (alpha !== 1) y = elementwise([y], (q) => alg.mul(q, alg.c(alpha)), where);
      if (inputs[2]) {
        const c = beta === 1 ? inputs[2] : elementwise([inputs[2]], (q) => alg.mul(q, alg.c(beta)), where);
        y = elementwise([y, c], alg.add, where);
      }
      return [y];
    }
    case 'Softmax': {
      const v = need(0);
      const dflt = opset >= 13 ? -1 : 1;
      const ax = normAxis((attr(node, 'axis') as number | undefined) ?? dflt, v.dims.length, where);
      if (opset < 13 && ax !== v.dims.length - 1) throw new OnnxError(`${where}: Softmax (opset ${opset}) only over the last axis`);
      const perm = v.dims.map((_, i) => i).filter((i) => i !== ax).concat([ax]);
      const inv = perm.map((_, i) => perm.indexOf(i));
      const t = transpose(v, perm);
      const L = v.dims[ax];
      const out: T[] = [];
      for (let o = 0; o < t.data.length; o += L) {
        const row = t.data.slice(o, o + L);
        let m = row[0];
        for (const q of row.slice(1)) m = alg.max(m, q);
        const e = row.map((q) => alg.unary('exp', alg.sub(q, m)));
        const s = alg.sum(e);
        const r = alg.div(alg.c(1), s);
        for (const q of e) out.push(alg.mul(q, r));
      }
      return [transpose({ dims: t.dims, kind: 'float', data: out }, inv)];
    }
    case 'Concat': {
      const vs = inputs.filter((v): v is Val<T> => !!v && prod(v.dims) > 0);
      if (!vs.length) return [need(0)];
      const rank = vs[0].dims.length;
      const ax = normAxis(attr(node, 'axis') as number, rank, where);
      const outer = prod(vs[0].dims.slice(0, ax));
      const data: T[] = [];
      for (let o = 0; o < outer; o++)
        for (const v of vs) {
          const inner = prod(v.dims.slice(ax));
          for (let i = 0; i < inner; i++) data.push(v.data[o * inner + i]);
        }
      const dims = vs[0].dims.slice();
      dims[ax] = vs.reduce((s, v) => s + v.dims[ax], 0);
      return [{ dims, kind: vs[0].kind, data }];
    }
    case 'Slice': {
      const v = need(0);
      let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
      if (opset < 10) {
        starts = attr(node, 'starts') as number[];
        ends = attr(node, 'ends') as number[];
        axes = attr(node, 'axes') as number[] | undefined;
      } else {
        starts = ints(alg, need(1), where);
        ends = ints(alg, need(2), where);
        axes = inputs[3] ? ints(alg, inputs[3], where) : undefined;
        steps = inputs[4] ? ints(alg, inputs[4], where) : undefined;
      }
      axes = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, v.dims.length, where));
      const ranges = v.dims.map((d) => ({ start: 0, step: 1, count: d }));
      axes.forEach((ax, i) => {
        const d = v.dims[ax], step = steps?.[i] ?? 1;
        if (step === 0) throw new OnnxError(`${where}: step 0`);
        let s = starts[i], e = ends[i];
        if (s < 0) s += d;
        if (e < 0) e += d;
        if (step > 0) {
          s = Math.min(Math.max(s, 0), d);
          e = Math.min(Math.max(e, 0), d);
        } else {
          s = Math.min(Math.max(s, -1), d - 1);
          e = Math.min(Math.max(e, -1), d - 1);
        }
        const count = Math.max(0, Math.ceil((e - s) / step));
        ranges[ax] = { start: s, step, count };
      });
      const od = ranges.map((r) => r.count), is = strides(v.dims), os = strides(od);
      const data = new Array<T>(prod(od));
      for (let i = 0; i < data.length; i++) {
        let rem = i, j = 0;
        for (let k = 0; k < od.length; k++) {
          const c = Math.floor(rem / os[k]);
          rem -= c * os[k];
          j += (ranges[k].start + c * ranges[k].step) * is[k];
        }
        data[i] = v.data[j];
      }
      return [{ dims: od, kind: v.kind, data }];
    }
    case 'Reshape': {
      const v = need(0);
      const shape = opset < 5 ? (attr(node, 'shape') as number[]) : ints(alg, need(1), where);
      const allowZero = attr(node, 'allowzero') === 1;
      const dims = shape.map((s, i) => (s === 0 && !allowZero ? v.dims[i] : s));
      const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      const out = dims.map((d) => (d === -1 ? v.data.length / known : d));
      if (prod(out) !== v.data.length || !out.every(Number.isInteger))
        throw new OnnxError(`${where}: cannot reshape ${JSON.stringify(v.dims)} to ${JSON.stringify(shape)}`);
      return [{ dims: out, kind: v.kind, data: v.data }];
    }
    case 'Flatten': {
      const v = need(0);
      const ax = (attr(node, 'axis') as number | undefined) ?? 1;
      const a = ax < 0 ? ax + v.dims.length : ax;
      return [{ dims: [prod(v.dims.slice(0, a)), prod(v.dims.slice(a))], kind: v.kind, data: v.data }];
    }
    case 'Transpose': {
      const v = need(0);
      const perm = (attr(node, 'perm') as number[] | undefined) ?? v.dims.map((_, i) => v.dims.length - 1 - i);
      return [transpose(v, perm)];
    }
    case 'Squeeze': {
      const v = need(0);
      let axes = (inputs[1] ? ints(alg, inputs[1], where) : (attr(node, 'axes') as number[] | undefined))?.map((a) => normAxis(a, v.dims.length, where));
      axes ??= v.dims.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
      return [{ dims: v.dims.filter((_, i) => !axes!.includes(i)), kind: v.kind, data: v.data }];
    }
    case 'Unsqueeze': {
      const v = need(0);
      const raw = inputs[1] ? ints(alg, inputs[1], where) : (attr(node, 'axes') as number[]);
      const rank = v.dims.length + raw.length;
      const axes = raw.map((a) => normAxis(a, rank, where)).sort((a, b) => a - b);
      const dims = v.dims.slice();
      for (const a of axes) dims.splice(a, 0, 1);
      return [{ dims, kind: v.kind, data: v.data }];
    }
    case 'Gather': {
      const v = need(0), ind = need(1);
      const ax = normAxis((attr(node, 'axis') as number | undefined) ?? 0, v.dims.length, where);
      const idx = ints(alg, ind, where).map((i) => (i < 0 ? i + v.dims[ax] : i));
      const outer = prod(v.dims.slice(0, ax)), inner = prod(v.dims.slice(ax + 1)), D = v.dims[ax];
      const data: T[] = [];
      for (let o = 0; o < outer; o++)
        for (const i of idx) {
          if (i < 0 || i >= D) throw new OnnxError(`${where}: index ${i} out of range ${D}`);
          for (let k = 0; k < inner; k++) data.push(v.data[(o * D + i) * inner + k]);
        }
      return [{ dims: [...v.dims.slice(0, ax), ...ind.dims, ...v.dims.slice(ax + 1)], kind: v.kind, data }];
    }
    case 'Shape': {
      const v = need(0);
      let s = (attr(node, 'start') as number | undefined) ?? 0, e = (attr(node, 'end') as number | undefined) ?? v.dims.length;
      if (s < 0) s += v.dims.length;
      if (e < 0) e += v.dims.length;
      const d = v.dims.slice(s, e);
      return [{ dims: [d.length], kind: 'int', data: d.map((q) => alg.c(q)) }];
    }
    case 'Cast': {
      const v = need(0);
      const to = attr(node, 'to') as number;
      const isFloat = to === 1 || to === 10 || to === 11;
      if (isFloat) return [{ dims: v.dims, kind: 'float', data: v.data }];
      return [{ dims: v.dims, kind: 'int', data: v.data.map((q) => alg.c(Math.trunc(alg.num(q) ?? NaN))) }];
    }
    case 'ConstantOfShape': {
      const shape = ints(alg, need(0), where);
      const t = attr(node, 'value') as Tensor | undefined;
      const val = t ? t.data[0] : 0;
      return [{ dims: shape, kind: t?.kind ?? 'float', data: new Array(prod(shape)).fill(alg.c(val)) }];
    }
    case 'Expand': {
      const v = need(0);
      const shape = ints(alg, need(1), where);
      const dims = broadcastDims(v.dims, shape, where);
      const map = broadcastIndex(v.dims, dims);
      return [{ dims, kind: v.kind, data: map.map((j) => v.data[j]) }];
    }
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceMean': {
      const v = need(0);
      const useInput = node.opType === 'ReduceSum' ? opset >= 13 : opset >= 18;
      const axes = reduceAxes(alg, node, v, useInput ? inputs[1] : undefined, where);
      const keep = ((attr(node, 'keepdims') as number | undefined) ?? 1) === 1;
      if (!axes.length) return [v];
      if (node.opType === 'ReduceSum') return [reduce(v, axes, keep, (xs) => alg.sum(xs))];
      if (node.opType === 'ReduceMean') return [reduce(v, axes, keep, (xs) => alg.mul(alg.sum(xs), alg.c(1 / xs.length)))];
      return [reduce(v, axes, keep, (xs) => xs.slice(1).reduce((a, b) => alg.max(a, b), xs[0]))];
    }
    default:
      throw new OnnxError(`${where}: operator '${node.opType}' is not supported by the player; supported: ${SUPPORTED_OPS.join(', ')}`);
  }
}

/** Run a whole graph in topological order; `bound` maps graph inputs and initializers to values. */
export function runGraph<T>(
  alg: Alg<T>,
  nodes: OnnxNode[],
  bound: Map<string, Val<T>>,
  opset: number,
): Map<string, Val<T>> {
  const env = new Map(bound);
  for (const node of nodes) {
    const ins = node.inputs.map((name) => {
      if (name === '') return undefined;
      const v = env.get(name);
      if (!v) throw new OnnxError(`ONNX node '${node.name}' (${node.opType}): input '${name}' is not produced by any earlier node`);
      return v;
    });
    const outs = runNode(alg, node, ins, opset);
    node.outputs.forEach((name, i) => {
      if (name && outs[i]) env.set(name, outs[i]);
    });
  }
  return env;
}
