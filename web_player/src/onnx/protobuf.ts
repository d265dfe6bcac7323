/**
 * A minimal protobuf wire-format reader (enough for ONNX): varints, 64-bit and 32-bit fixed
 * values, length-delimited fields. Messages are read lazily as (field number -> raw values).
 */

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export class ProtobufError extends Error {}

/** One field occurrence: varints as bigint-free numbers (exact up to 2^53), LEN as a byte view. */
export type FieldValue = { wire: 0; v: number } | { wire: 1; bytes: Uint8Array } | { wire: 2; bytes: Uint8Array } | { wire: 5; bytes: Uint8Array };

export class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly where = 'protobuf') {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): number {
    // int64 values are read exactly up to 2^53; negative int64 (ten bytes) map to negative numbers
    let lo = 0, hi = 0, shift = 0, b: number;
    let i = 0;
    do {
      if (this.pos >= this.buf.length) throw new ProtobufError(`${this.where}: truncated varint at byte ${this.pos}`);
      b = this.buf[this.pos++];
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      shift += 7;
      i++;
      if (i > 10) throw new ProtobufError(`${this.where}: varint longer than 10 bytes at byte ${this.pos}`);
    } while (b & 0x80);
    lo >>>= 0;
    if (hi & 0x80000000) {
      // two's complement negative 64-bit value
      const nlo = (~lo + 1) >>> 0;
      const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
      return -(nhi * 4294967296 + nlo);
    }
    return (hi >>> 0) * 4294967296 + lo;
  }

  take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.buf.length)
      throw new ProtobufError(`${this.where}: field of ${n} bytes at byte ${this.pos} runs past the end (${this.buf.length})`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Next (field number, value), or null at the end. */
  next(): [number, FieldValue] | null {
    if (this.done) return null;
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 0) throw new ProtobufError(`${this.where}: field number 0 at byte ${this.pos}`);
    switch (wire) {
      case WIRE_VARINT:
        return [field, { wire: 0, v: this.varint() }];
      case WIRE_I64:
        return [field, { wire: 1, bytes: this.take(8) }];
      case WIRE_LEN:
        return [field, { wire: 2, bytes: this.take(this.varint()) }];
      case WIRE_I32:
        return [field, { wire: 5, bytes: this.take(4) }];
      default:
        throw new ProtobufError(`${this.where}: unsupported wire type ${wire} at byte ${this.pos}`);
    }
  }
}

/** Group all fields of a message: field number -> list of occurrences in order. */
export function readMessage(buf: Uint8Array, where: string): Map<number, FieldValue[]> {
  const r = new Reader(buf, where);
  const out = new Map<number, FieldValue[]>();
  for (let f = r.next(); f; f = r.next()) {
    const list = out.get(f[0]);
    if (list) list.push(f[1]);
    else out.set(f[0], [f[1]]);
  }
  return out;
}

const utf8 = new TextDecoder('utf-8');

export function asString(v: FieldValue | undefined): string {
  if (!v) return '';
  if (v.wire !== WIRE_LEN) throw new ProtobufError(`expected a string field; got wire type ${v.wire}`);
  return utf8.decode(v.bytes);
}

export function asInt(v: FieldValue | undefined, dflt = 0): number {
  if (!v) return dflt;
  if (v.wire !== WIRE_VARINT) throw new ProtobufError(`expected a varint field; got wire type ${v.wire}`);
  return v.v;
}

export function asFloat32(v: FieldValue | undefined, dflt = 0): number {
  if (!v) return dflt;
  if (v.wire !== WIRE_I32) throw new ProtobufError(`expected a fixed32 field; got wire type ${v.wire}`);
  return new DataView(v.bytes.buffer, v.bytes.byteOffset, 4).getFloat32(0, true);
}

/** Repeated varint field: packed (LEN) or unpacked occurrences. */
export function asInts(vs: FieldValue[] | undefined): number[] {
  const out: number[] = [];
  for (const v of vs ?? []) {
    if (v.wire === WIRE_VARINT) out.push(v.v);
    else if (v.wire === WIRE_LEN) {
      const r = new Reader(v.bytes, 'packed varints');
      while (!r.done) out.push(r.varint());
    } else throw new ProtobufError(`expected repeated varints; got wire type ${v.wire}`);
  }
  return out;
}

/** Repeated float field: packed (LEN) or unpacked fixed32 occurrences. */
export function asFloats(vs: FieldValue[] | undefined): number[] {
  const out: number[] = [];
  for (const v of vs ?? []) {
    if (v.wire === WIRE_VARINT) throw new ProtobufError('expected repeated floats; got a varint');
    const dv = new DataView(v.bytes.buffer, v.bytes.byteOffset, v.bytes.byteLength);
    if (v.wire === WIRE_I32) out.push(dv.getFloat32(0, true));
    else if (v.wire === WIRE_LEN) {
      if (v.bytes.byteLength % 4) throw new ProtobufError('packed floats: length not a multiple of 4');
      for (let i = 0; i < v.bytes.byteLength; i += 4) out.push(dv.getFloat32(i, true));
    } else throw new ProtobufError(`expected repeated floats; got wire type ${v.wire}`);
  }
  return out;
}

/** Repeated double field (packed or not). */
export function asDoubles(vs: FieldValue[] | undefined): number[] {
  const out: number[] = [];
  for (const v of vs ?? []) {
    if (v.wire === WIRE_VARINT) throw new ProtobufError('expected repeated doubles; got a varint');
    const dv = new DataView(v.bytes.buffer, v.bytes.byteOffset, v.bytes.byteLength);
    if (v.wire === WIRE_I64) out.push(dv.getFloat64(0, true));
    else if (v.wire === WIRE_LEN) for (let i = 0; i + 8 <= v.bytes.byteLength; i += 8) out.push(dv.getFloat64(i, true));
    else throw new ProtobufError(`expected repeated doubles; got wire type ${v.wire}`);
  }
  return out;
}
