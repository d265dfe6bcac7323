/** The GLB container: 12-byte header, a JSON chunk, an optional BIN chunk (glTF 2.0, section 4.4). */
import { BundleError } from './errors';

const MAGIC = 0x46546c67; // 'glTF'
const CHUNK_JSON = 0x4e4f534a;
const CHUNK_BIN = 0x004e4942;

export interface GlbParts {
  json: unknown;
  bin: Uint8Array;
}

/** Split a .glb into its JSON document and BIN chunk; `where` names the file in errors. */
export function parseGlb(data: ArrayBuffer | Uint8Array, where: string): GlbParts {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength >= 1 && bytes[0] === 0x7b) {
    throw new BundleError(`${where}: this is a text .gltf file; headbake bundles are binary .glb files`, 'foreign');
  }
  if (bytes.byteLength < 20) throw new BundleError(`${where}: too short for a .glb file (${bytes.byteLength} bytes)`);
  if (dv.getUint32(0, true) !== MAGIC) throw new BundleError(`${where}: not a glTF binary (.glb) file (bad magic)`, 'foreign');
  const version = dv.getUint32(4, true);
  if (version !== 2) throw new BundleError(`${where}: glTF container version ${version}; only 2 is supported`, 'unsupported');
  const total = dv.getUint32(8, true);
  if (total !== bytes.byteLength)
    throw new BundleError(`${where}: header says ${total} bytes but the file has ${bytes.byteLength} (truncated or damaged download?)`);
  const jlen = dv.getUint32(12, true);
  if (dv.getUint32(16, true) !== CHUNK_JSON || 20 + jlen > bytes.byteLength)
    throw new BundleError(`${where}: the first chunk must be JSON and fit in the file`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(20, 20 + jlen)));
  } catch (e) {
    throw new BundleError(`${where}: the JSON chunk is not valid JSON (${(e as Error).message})`);
  }
  let bin: Uint8Array = new Uint8Array(0);
  const at = 20 + jlen;
  if (at + 8 <= bytes.byteLength) {
    const blen = dv.getUint32(at, true);
    if (dv.getUint32(at + 4, true) !== CHUNK_BIN || at + 8 + blen > bytes.byteLength)
      throw new BundleError(`${where}: the second chunk must be BIN and fit in the file`);
    bin = bytes.subarray(at + 8, at + 8 + blen);
  }
  return { json, bin };
}
