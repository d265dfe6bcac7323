/**
 * ONNX ModelProto -> a small in-memory graph (nodes, initializers, inputs/outputs with shapes).
 * Only what the player needs: dense tensors (float, double, int32/64, uint8/int8, bool), attributes
 * of the scalar/list/tensor kinds. Field numbers follow onnx.proto3.
 */

import { asDoubles, asFloat32, asFloats, asInt, asInts, asString, readMessage, type FieldValue, ProtobufError } from './protobuf';

export class OnnxError extends Error {}

/** Dense tensor: data as a Float64Array (floats) or number[] (ints); dims row-major. */
export interface Tensor {
  dims: number[];
  /** 'float' for FLOAT/DOUBLE/FLOAT16 and 'int' for integer/bool types. */
  kind: 'float' | 'int';
  data: Float64Array;
}

export type AttrValue = number | string | number[] | string[] | Tensor;

export interface OnnxNode {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

export interface ValueInfo {
  name: string;
  elemType: number;
  /** Dimension sizes; a string for a symbolic dimension, null when unknown. */
  shape: (number | string | null)[] | null;
}

export interface OnnxModel {
  irVersion: number;
  opset: number;
  producer: string;
  graphName: string;
  nodes: OnnxNode[];
  initializers: Map<string, Tensor>;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13 } as const;

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function decodeRaw(raw: Uint8Array, dt: number, n: number, where: string): Float64Array {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const size: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8 };
  const b = size[dt];
  if (!b) throw new OnnxError(`${where}: unsupported tensor data type ${dt}`);
  if (raw.byteLength !== n * b) throw new OnnxError(`${where}: raw_data has ${raw.byteLength} bytes; ${n} elements of ${b} bytes expected`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * b;
    switch (dt) {
      case DT.FLOAT: out[i] = dv.getFloat32(o, true); break;
      case DT.DOUBLE: out[i] = dv.getFloat64(o, true); break;
      case DT.FLOAT16: out[i] = f16(dv.getUint16(o, true)); break;
      case DT.UINT8: case DT.BOOL: out[i] = dv.getUint8(o); break;
      case DT.INT8: out[i] = dv.getInt8(o); break;
      case DT.UINT16: out[i] = dv.getUint16(o, true); break;
      case DT.INT16: out[i] = dv.getInt16(o, true); break;
      case DT.INT32: out[i] = dv.getInt32(o, true); break;
      case DT.UINT32: out[i] = dv.getUint32(o, true); break;
      case DT.INT64: out[i] = Number(dv.getBigInt64(o, true)); break;
      case DT.UINT64: out[i] = Number(dv.getBigUint64(o, true)); break;
    }
  }
  return out;
}

export function decodeTensor(buf: Uint8Array, where: string): Tensor & { name: string } {
  const m = readMessage(buf, where);
  const dims = asInts(m.get(1));
  const dt = asInt(m.get(2)?.[0], DT.FLOAT);
  const name = asString(m.get(8)?.[0]);
  const at = `${where} '${name}'`;
  if (asInt(m.get(14)?.[0], 0) === 1 || m.has(13)) throw new OnnxError(`${at}: external data is not supported (export with external_data=False)`);
  const n = dims.reduce((a, b) => a * b, 1);
  let data: Float64Array;
  if (m.has(9)) {
    const raw = m.get(9)![0];
    if (raw.wire !== 2) throw new OnnxError(`${at}: raw_data has wire type ${raw.wire}`);
    data = decodeRaw(raw.bytes, dt, n, at);
  } else {
    let vals: number[];
    if (dt === DT.FLOAT) vals = asFloats(m.get(4));
    else if (dt === DT.DOUBLE) vals = asDoubles(m.get(10));
    else if (dt === DT.INT64) vals = asInts(m.get(7));
    else if (dt === DT.UINT64 || dt === DT.UINT32) vals = asInts(m.get(11));
    else if ([DT.INT32, DT.INT16, DT.INT8, DT.UINT16, DT.UINT8, DT.BOOL].includes(dt as never)) vals = asInts(m.get(5));
    else if (dt === DT.FLOAT16) vals = asInts(m.get(5)).map(f16);
    else throw new OnnxError(`${at}: unsupported tensor data type ${dt}`);
    if (vals.length !== n) throw new OnnxError(`${at}: holds ${vals.length} values; dims ${JSON.stringify(dims)} need ${n}`);
    data = Float64Array.from(vals);
  }
  const kind = dt === DT.FLOAT || dt === DT.DOUBLE || dt === DT.FLOAT16 ? 'float' : 'int';
  return { name, dims, kind, data };
}

function decodeAttribute(buf: Uint8Array, where: string): [string, AttrValue] {
  const m = readMessage(buf, where);
  const name = asString(m.get(1)?.[0]);
  const type = asInt(m.get(20)?.[0], 0);
  const one = (f: number) => m.get(f)?.[0];
  // AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, GRAPH 5, FLOATS 6, INTS 7, STRINGS 8, TENSORS 9
  switch (type) {
    case 1: return [name, asFloat32(one(2))];
    case 2: return [name, asInt(one(3))];
    case 3: return [name, asString(one(4))];
    case 4: return [name, decodeTensor((one(5) as { bytes: Uint8Array }).bytes, `${where}.${name}`)];
    case 6: return [name, asFloats(m.get(7))];
    case 7: return [name, asInts(m.get(8))];
    case 8: return [name, (m.get(9) ?? []).map((v) => asString(v))];
    default:
      throw new OnnxError(`${where}: attribute '${name}' has unsupported type ${type} (subgraphs and tensor lists are not supported)`);
  }
}

function decodeNode(buf: Uint8Array, where: string): OnnxNode {
  const m = readMessage(buf, where);
  const attrs: Record<string, AttrValue> = {};
  const name = asString(m.get(3)?.[0]);
  for (const a of m.get(5) ?? []) {
    const [k, v] = decodeAttribute((a as { bytes: Uint8Array }).bytes, `${where} ${name}`);
    attrs[k] = v;
  }
  return {
    inputs: (m.get(1) ?? []).map((v) => asString(v)),
    outputs: (m.get(2) ?? []).map((v) => asString(v)),
    name,
    opType: asString(m.get(4)?.[0]),
    domain: asString(m.get(7)?.[0]),
    attrs,
  };
}

function decodeValueInfo(buf: Uint8Array, where: string): ValueInfo {
  const m = readMessage(buf, where);
  const name = asString(m.get(1)?.[0]);
  let elemType = 0;
  let shape: (number | string | null)[] | null = null;
  const type = m.get(2)?.[0];
  if (type && type.wire === 2) {
    const tm = readMessage(type.bytes, `${where} ${name}.type`);
    const tt = tm.get(1)?.[0];
    if (tt && tt.wire === 2) {
      const ttm = readMessage(tt.bytes, `${where} ${name}.tensor_type`);
      elemType = asInt(ttm.get(1)?.[0], 0);
      const sh = ttm.get(2)?.[0];
      if (sh && sh.wire === 2) {
        shape = [];
        for (const d of readMessage(sh.bytes, `${where} ${name}.shape`).get(1) ?? []) {
          const dm = readMessage((d as { bytes: Uint8Array }).bytes, `${where} ${name}.dim`);
          if (dm.has(1)) shape.push(asInt(dm.get(1)![0]));
          else if (dm.has(2)) shape.push(asString(dm.get(2)![0]));
          else shape.push(null);
        }
      }
    }
  }
  return { name, elemType, shape };
}

/** Decode ONNX model bytes. `where` names the source (file, buffer view) in every error. */
export function decodeModel(bytes: Uint8Array, where = 'onnx model'): OnnxModel {
  let m: Map<number, FieldValue[]>;
  try {
    m = readMessage(bytes, where);
    const g = m.get(7)?.[0];
    if (!g || g.wire !== 2) throw new OnnxError(`${where}: not an ONNX model (no graph field)`);
    const gm = readMessage(g.bytes, `${where} graph`);
    let opset = 0;
    for (const o of m.get(8) ?? []) {
      const om = readMessage((o as { bytes: Uint8Array }).bytes, `${where} opset_import`);
      const dom = asString(om.get(1)?.[0]);
      if (dom === '' || dom === 'ai.onnx') opset = asInt(om.get(2)?.[0]);
    }
    const initializers = new Map<string, Tensor>();
    for (const t of gm.get(5) ?? []) {
      const tt = decodeTensor((t as { bytes: Uint8Array }).bytes, `${where} initializer`);
      initializers.set(tt.name, tt);
    }
    if (gm.has(15)) throw new OnnxError(`${where}: sparse initializers are not supported`);
    const nodes = (gm.get(1) ?? []).map((n, i) => decodeNode((n as { bytes: Uint8Array }).bytes, `${where} node ${i}`));
    const inputs = (gm.get(11) ?? []).map((v) => decodeValueInfo((v as { bytes: Uint8Array }).bytes, `${where} input`)).filter((v) => !initializers.has(v.name));
    const outputs = (gm.get(12) ?? []).map((v) => decodeValueInfo((v as { bytes: Uint8Array }).bytes, `${where} output`));
    if (!nodes.length) throw new OnnxError(`${where}: graph has no nodes`);
    return {
      irVersion: asInt(m.get(1)?.[0]),
      opset,
      producer: asString(m.get(2)?.[0]),
      graphName: asString(gm.get(2)?.[0]),
      nodes,
      initializers,
      inputs,
      outputs,
    };
  } catch (e) {
    if (e instanceof ProtobufError) throw new OnnxError(`${where}: damaged ONNX data (${e.message})`);
    throw e;
  }
}
