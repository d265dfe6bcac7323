/**
 * The `HB_neural_shading` extension (docs/bundle.md; Python twin export/hb_neural_shading.py):
 * shading spec, ONNX model buffer views, joint data, morph-target mapping, per-layer atlases,
 * compositing rules and the training camera. Validates every field it reads.
 */
import { BundleError } from './errors';
import type { Gltf } from './gltf';

export const EXTENSION_NAME = 'HB_neural_shading';
export const EXTENSION_VERSION = 1;

export interface ShadingSpec {
  n_exp: number;
  dim_pos_feature: number;
  num_texture_basis: number;
  temperature: number;
  frame_hidden: number[];
  pixel_hidden: number[];
}

export interface AtlasRef {
  texture: number;
  /** channels (position features) or bases (radiance) */
  count: number;
  grid: [number, number];
  tileSize: [number, number];
  /** Radiance: one alpha for every basis, stored in tile 0's A channel (the other tiles' A is unused). */
  sharedAlpha: boolean;
}

export interface HbLayer {
  name: string;
  level: number;
  opaque: boolean;
  mesh: number;
  node: number;
  positionFeatures: AtlasRef;
  radiance: AtlasRef;
}

export interface HbExtension {
  version: number;
  shading: ShadingSpec;
  models: Record<'frame' | 'pixel', { bufferView: number; inputs: string[]; outputs: string[] }>;
  joints: { names: string[]; nodes: number[]; ghostNode: number | null; parents: number[]; template: number; exprBasis: number };
  /** scale[t]: stored deltas x scale = deltas, so morph weight t = expression/pose value x scale[t] (all 1 when absent). */
  morphTargets: { expression: number; pose: number[]; jointFold: boolean; scale: number[] };
  layers: HbLayer[];
  compositing: { order: string; blend: string; alpha: string; innerLayerAlpha: number; depth: string; background: number[] };
  camera: { node?: number; K?: number[][]; width?: number; height?: number };
}

type Obj = Record<string, unknown>;

function obj(v: unknown, field: string, where: string): Obj {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new BundleError(`${where}: ${field} must be an object`);
  return v as Obj;
}
function num(v: unknown, field: string, where: string, int = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (int && !Number.isInteger(v)))
    throw new BundleError(`${where}: ${field} must be ${int ? 'an integer' : 'a number'}; got ${JSON.stringify(v)}`);
  return v;
}
function nums(v: unknown, field: string, where: string, int = false): number[] {
  if (!Array.isArray(v)) throw new BundleError(`${where}: ${field} must be a list; got ${JSON.stringify(v)}`);
  return v.map((x, i) => num(x, `${field}[${i}]`, where, int));
}
function str(v: unknown, field: string, where: string): string {
  if (typeof v !== 'string') throw new BundleError(`${where}: ${field} must be a string; got ${JSON.stringify(v)}`);
  return v;
}

function atlas(v: unknown, key: 'channels' | 'bases', field: string, where: string): AtlasRef {
  const o = obj(v, field, where);
  const grid = nums(o.grid, `${field}.grid`, where, true);
  const tile = nums(o.tileSize, `${field}.tileSize`, where, true);
  if (grid.length !== 2 || tile.length !== 2) throw new BundleError(`${where}: ${field}.grid and .tileSize must have 2 entries`);
  const count = num(o[key], `${field}.${key}`, where, true);
  if (count < 1 || count > 4 * grid[0] * grid[1]) throw new BundleError(`${where}: ${field}.${key} = ${count} does not fit grid ${grid}`);
  return { texture: num(o.texture, `${field}.texture`, where, true), count, grid: [grid[0], grid[1]], tileSize: [tile[0], tile[1]], sharedAlpha: o.sharedAlpha === true };
}

/** Read and validate the extension of a parsed document. Throws BundleError('foreign') if absent. */
export function readExtension(gltf: Gltf): HbExtension {
  const where = gltf.where;
  const doc = gltf.doc;
  const raw = doc.extensions?.[EXTENSION_NAME];
  if (!raw || !(doc.extensionsUsed ?? []).includes(EXTENSION_NAME)) {
    const gen = doc.asset?.generator ? ` (made by "${doc.asset.generator}")` : '';
    throw new BundleError(
      `${where}: this glTF file${gen} is not a headbake avatar bundle: it has no ${EXTENSION_NAME} extension. ` +
        'Export one with `python -m export -c <config> -o dist/`.',
      'foreign',
    );
  }
  const p = `extensions.${EXTENSION_NAME}`;
  const e = obj(raw, p, where);
  const version = num(e.version, `${p}.version`, where, true);
  if (version !== EXTENSION_VERSION)
    throw new BundleError(`${where}: ${p}.version is ${version}; this player reads version ${EXTENSION_VERSION}`, 'unsupported');
  const sh = obj(e.shading, `${p}.shading`, where);
  const shading: ShadingSpec = {
    n_exp: num(sh.n_exp, `${p}.shading.n_exp`, where, true),
    dim_pos_feature: num(sh.dim_pos_feature, `${p}.shading.dim_pos_feature`, where, true),
    num_texture_basis: num(sh.num_texture_basis, `${p}.shading.num_texture_basis`, where, true),
    temperature: num(sh.temperature, `${p}.shading.temperature`, where),
    frame_hidden: nums(sh.frame_hidden, `${p}.shading.frame_hidden`, where, true),
    pixel_hidden: nums(sh.pixel_hidden, `${p}.shading.pixel_hidden`, where, true),
  };
  const m = obj(e.models, `${p}.models`, where);
  const model = (k: 'frame' | 'pixel') => {
    const o = obj(m[k], `${p}.models.${k}`, where);
    return {
      bufferView: num(o.bufferView, `${p}.models.${k}.bufferView`, where, true),
      inputs: (o.inputs as unknown[] | undefined ?? []).map((x, i) => str(x, `${p}.models.${k}.inputs[${i}]`, where)),
      outputs: (o.outputs as unknown[] | undefined ?? []).map((x, i) => str(x, `${p}.models.${k}.outputs[${i}]`, where)),
    };
  };
  const j = obj(e.joints, `${p}.joints`, where);
  const names = (j.names as unknown[] | undefined ?? []).map((x, i) => str(x, `${p}.joints.names[${i}]`, where));
  const joints = {
    names,
    nodes: nums(j.nodes, `${p}.joints.nodes`, where, true),
    ghostNode: j.ghostNode === null || j.ghostNode === undefined ? null : num(j.ghostNode, `${p}.joints.ghostNode`, where, true),
    parents: nums(j.parents, `${p}.joints.parents`, where, true),
    template: num(j.template, `${p}.joints.template`, where, true),
    exprBasis: num(j.exprBasis, `${p}.joints.exprBasis`, where, true),
  };
  if (joints.nodes.length !== 5) throw new BundleError(`${where}: ${p}.joints.nodes must list the 5 FLAME joints; got ${joints.nodes.length}`);
  const mt = obj(e.morphTargets, `${p}.morphTargets`, where);
  const morphTargets = {
    expression: num(mt.expression, `${p}.morphTargets.expression`, where, true),
    pose: nums(mt.pose, `${p}.morphTargets.pose`, where, true),
    jointFold: mt.jointFold === true,
    scale: [] as number[],
  };
  if (morphTargets.pose.some((q) => q < 0 || q >= 36)) throw new BundleError(`${where}: ${p}.morphTargets.pose indices must be in [0, 36)`);
  const nT = morphTargets.expression + morphTargets.pose.length;
  morphTargets.scale = mt.scale === undefined ? new Array<number>(nT).fill(1) : nums(mt.scale, `${p}.morphTargets.scale`, where);
  if (morphTargets.scale.length !== nT) throw new BundleError(`${where}: ${p}.morphTargets.scale has ${morphTargets.scale.length} entries; ${nT} targets`);
  if (!Array.isArray(e.layers) || !e.layers.length) throw new BundleError(`${where}: ${p}.layers must be a non-empty list`);
  const layers = e.layers.map((l, i): HbLayer => {
    const f = `${p}.layers[${i}]`;
    const o = obj(l, f, where);
    return {
      name: typeof o.name === 'string' ? o.name : `layer${i}`,
      level: typeof o.level === 'number' ? o.level : 0,
      opaque: o.opaque === true,
      mesh: num(o.mesh, `${f}.mesh`, where, true),
      node: num(o.node, `${f}.node`, where, true),
      positionFeatures: atlas(o.positionFeatures, 'channels', `${f}.positionFeatures`, where),
      radiance: atlas(o.radiance, 'bases', `${f}.radiance`, where),
    };
  });
  const c = (e.compositing ?? {}) as Obj;
  const compositing = {
    order: String(c.order ?? 'inner-to-outer'),
    blend: String(c.blend ?? 'over'),
    alpha: String(c.alpha ?? 'straight'),
    innerLayerAlpha: typeof c.innerLayerAlpha === 'number' ? c.innerLayerAlpha : 1,
    depth: String(c.depth ?? 'nearest-front-face-per-layer'),
    background: Array.isArray(c.background) ? nums(c.background, `${p}.compositing.background`, where) : [1, 1, 1],
  };
  if (compositing.order !== 'inner-to-outer' || compositing.blend !== 'over' || compositing.alpha !== 'straight')
    throw new BundleError(`${where}: ${p}.compositing ${JSON.stringify(c)} is not supported (inner-to-outer, over, straight only)`, 'unsupported');
  const cam = (e.camera ?? {}) as Obj;
  return {
    version,
    shading,
    models: { frame: model('frame'), pixel: model('pixel') },
    joints,
    morphTargets,
    layers,
    compositing,
    camera: {
      node: typeof cam.node === 'number' ? cam.node : undefined,
      K: Array.isArray(cam.K) ? (cam.K as number[][]) : undefined,
      width: typeof cam.width === 'number' ? cam.width : undefined,
      height: typeof cam.height === 'number' ? cam.height : undefined,
    },
  };
}
