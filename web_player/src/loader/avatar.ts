/**
 * Load a headbake bundle (.glb bytes) into CPU-side arrays the renderer uploads: the pieces
 * (container, glTF accessors, morph targets, extension, ONNX models, images, animations) are
 * separate modules; this one wires them together and reports progress. Image decoding is
 * injected (browser: createImageBitmap; node tools: raw bytes).
 */
import { fromColumnMajor, invertRigid, mat4, type Mat3, type Mat4 } from '../conventions';
import { quatToMat3, type JointData } from '../flame';
import { decodeModel, OnnxError, type OnnxModel } from '../onnx/model';
import { BundleError } from './errors';
import { parseGlb } from './glb';
import { Gltf, MESHOPT, meshoptReady, type GltfDocument } from './gltf';
import { readExtension, type AtlasRef, type HbExtension, type ShadingSpec } from './hb_extension';
import { readAnimations, type AvatarAnimation } from './animation';
import { readMorphTargets } from './morph_targets';

export interface DecodedImage {
  width: number;
  height: number;
  /** Something texImage2D accepts (ImageBitmap) or null when only the encoded bytes are kept. */
  source: TexImageSource | null;
  encoded: { bytes: Uint8Array; mime: string };
}
export type ImageDecoder = (bytes: Uint8Array, mime: string, where: string) => Promise<DecodedImage>;
export type Progress = (fraction: number, label: string) => void;

export interface AtlasImage extends AtlasRef {
  image: DecodedImage;
}

export interface AvatarLayer {
  name: string;
  level: number;
  opaque: boolean;
  vertexCount: number;
  indices: Uint32Array;
  positions: Float32Array;
  normals: Float32Array;
  uvs: Float32Array;
  /** (V*4) bone indices and (V*4) weights (JOINTS_0 / WEIGHTS_0). */
  joints: Uint32Array;
  weights: Float32Array;
  /** Morph-target position deltas, vertex-major (V*T*3). */
  targets: Float32Array;
  /** Morph-target normal deltas (normal blendshapes), laid out as `targets`; null without them. */
  normalTargets: Float32Array | null;
  nTargets: number;
  posAtlas: AtlasImage;
  radAtlas: AtlasImage;
  /** The glTF material's base colour (the plain textured-mesh look), when present. */
  baseColor: DecodedImage | null;
}

export interface TrainingCamera {
  K: Mat3;
  w2c: Mat4;
  width: number;
  height: number;
}

export interface Avatar {
  source: string;
  byteLength: number;
  spec: ShadingSpec;
  ext: HbExtension;
  joints: JointData;
  boneNames: string[];
  nBones: number;
  /** Expression targets carry the joint fold of docs/bundle.md (undone in the vertex shader). */
  jointFold: boolean;
  layers: AvatarLayer[];
  frameModel: OnnxModel;
  pixelModel: OnnxModel;
  animations: AvatarAnimation[];
  camera: TrainingCamera | null;
  background: [number, number, number];
}

export const browserImageDecoder: ImageDecoder = async (bytes, mime, where) => {
  try {
    const blob = new Blob([bytes.slice()], { type: mime });
    // data textures: no premultiplication, no colour management
    const bmp = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    return { width: bmp.width, height: bmp.height, source: bmp, encoded: { bytes, mime } };
  } catch (e) {
    throw new BundleError(`${where}: the ${mime} image cannot be decoded (${(e as Error).message || e})`);
  }
};

function nodeMatrix(gltf: Gltf, index: number, field: string): Mat4 {
  const n = gltf.doc.nodes?.[index];
  if (!n) gltf.fail(`${field}: node ${index} does not exist`);
  if (n.matrix) return fromColumnMajor(n.matrix);
  const m = mat4();
  const R = quatToMat3(n.rotation ?? [0, 0, 0, 1]);
  const s = n.scale ?? [1, 1, 1];
  const t = n.translation ?? [0, 0, 0];
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) m[4 * r + c] = R[3 * r + c] * s[c];
    m[4 * r + 3] = t[r];
  }
  return m;
}

function readCamera(gltf: Gltf, ext: HbExtension): TrainingCamera | null {
  const c = ext.camera;
  if (!c.K || !c.width || !c.height || c.node === undefined) return null;
  const K = new Float64Array(9);
  for (let r = 0; r < 3; r++) for (let q = 0; q < 3; q++) K[3 * r + q] = c.K[r][q];
  // the camera node may sit under a parent: walk up the hierarchy
  const parents = new Map<number, number>();
  (gltf.doc.nodes ?? []).forEach((n, i) => (n.children ?? []).forEach((ch) => parents.set(ch, i)));
  let c2w = nodeMatrix(gltf, c.node, 'camera');
  for (let p = parents.get(c.node); p !== undefined; p = parents.get(p)) {
    const P = nodeMatrix(gltf, p, 'camera parent');
    const o = new Float64Array(16);
    for (let r = 0; r < 4; r++) for (let q = 0; q < 4; q++) for (let k = 0; k < 4; k++) o[4 * r + q] += P[4 * r + k] * c2w[4 * k + q];
    c2w = o;
  }
  return { K, w2c: invertRigid(c2w), width: c.width, height: c.height };
}

/** Parse and decode a whole bundle. Every failure is a BundleError naming the file and field. */
export async function loadAvatar(data: ArrayBuffer | Uint8Array, source: string, decodeImage: ImageDecoder, onProgress: Progress = () => {}): Promise<Avatar> {
  onProgress(0.02, 'reading container');
  const { json, bin } = parseGlb(data, source);
  if (!json || typeof json !== 'object') throw new BundleError(`${source}: the JSON chunk is not a glTF document`);
  const doc = json as GltfDocument;
  if (!doc.asset || String(doc.asset.version ?? '').split('.')[0] !== '2')
    throw new BundleError(`${source}: asset.version must be 2.x (glTF 2.0); got ${JSON.stringify(doc.asset?.version)}`, 'foreign');
  const gltf = new Gltf(doc, bin, source);
  const ext = readExtension(gltf);
  if ((doc.extensionsUsed ?? []).includes(MESHOPT)) await meshoptReady();
  const spec = ext.shading;
  onProgress(0.08, 'shading models');
  let frameModel: OnnxModel, pixelModel: OnnxModel;
  try {
    frameModel = decodeModel(gltf.bufferView(ext.models.frame.bufferView, 'models.frame'), `${source}: models.frame`);
    pixelModel = decodeModel(gltf.bufferView(ext.models.pixel.bufferView, 'models.pixel'), `${source}: models.pixel`);
  } catch (e) {
    if (e instanceof OnnxError) throw new BundleError(e.message);
    throw e;
  }

  // joints
  const E = spec.n_exp;
  const tmpl = gltf.accessor(ext.joints.template, 'joints.template');
  const eb = gltf.accessor(ext.joints.exprBasis, 'joints.exprBasis');
  if (tmpl.count !== 5 || tmpl.width !== 3) gltf.fail(`joints.template must be 5 VEC3; got ${tmpl.count} x ${tmpl.width}`);
  if (eb.count !== 5 * E || eb.width !== 3) gltf.fail(`joints.exprBasis must be ${5 * E} VEC3 (5 joints x n_exp ${E}); got ${eb.count}`);
  const exprBasis = new Float64Array(5 * 3 * E); // (joint, xyz, e)
  for (let j = 0; j < 5; j++) for (let e = 0; e < E; e++) for (let a = 0; a < 3; a++) exprBasis[(3 * j + a) * E + e] = eb.data[(j * E + e) * 3 + a];
  const ghost = ext.joints.ghostNode !== null;
  let parents = ext.joints.parents.slice();
  if (parents.length === 6) parents = parents.slice(1).map((q) => (q > 0 ? q - 1 : -1));
  if (parents.length !== 5) gltf.fail(`joints.parents must have 5 or 6 entries; got ${ext.joints.parents.length}`);
  const joints: JointData = { template: Float64Array.from(tmpl.data), exprBasis, parents, nExp: E, ghostbone: ghost };
  const nBones = ghost ? 6 : 5;

  // layers
  const nTargets = ext.morphTargets.expression + ext.morphTargets.pose.length;
  const layers: AvatarLayer[] = [];
  const meshNodes: number[] = [];
  for (let i = 0; i < ext.layers.length; i++) {
    const L = ext.layers[i];
    const f = `layers[${i}] (${L.name})`;
    onProgress(0.1 + (0.75 * i) / ext.layers.length, `layer ${i + 1}/${ext.layers.length}: geometry`);
    const mesh = doc.meshes?.[L.mesh];
    if (!mesh || !mesh.primitives?.length) gltf.fail(`${f}: mesh ${L.mesh} does not exist or has no primitive`);
    const prim = mesh!.primitives[0];
    if ((prim.mode ?? 4) !== 4) gltf.fail(`${f}: primitive mode ${prim.mode} is not TRIANGLES`);
    const need = (k: string) => {
      const a = prim.attributes[k];
      if (a === undefined) gltf.fail(`${f}: mesh ${L.mesh} lacks attribute ${k}`);
      return gltf.accessor(a, `${f}.${k}`);
    };
    const pos = need('POSITION'), nrm = need('NORMAL'), uv = need('TEXCOORD_0'), jn = need('JOINTS_0'), wt = need('WEIGHTS_0');
    const V = pos.count;
    for (const [k, a, w] of [['NORMAL', nrm, 3], ['TEXCOORD_0', uv, 2], ['JOINTS_0', jn, 4], ['WEIGHTS_0', wt, 4]] as const)
      if (a.count !== V || a.width !== w) gltf.fail(`${f}.${k}: ${a.count} x ${a.width} values; ${V} x ${w} expected`);
    if (prim.indices === undefined) gltf.fail(`${f}: the primitive has no indices`);
    const indices = gltf.indices(prim.indices!, `${f}.indices`);
    for (let k = 0; k < indices.length; k++) if (indices[k] >= V) gltf.fail(`${f}.indices: index ${indices[k]} >= vertex count ${V}`);
    const jointsArr = Uint32Array.from(jn.data);
    for (let k = 0; k < jointsArr.length; k++) if (jointsArr[k] >= nBones) gltf.fail(`${f}.JOINTS_0: bone ${jointsArr[k]} >= ${nBones}`);
    const morph = readMorphTargets(gltf, prim, V, nTargets, f);
    onProgress(0.1 + (0.75 * (i + 0.5)) / ext.layers.length, `layer ${i + 1}/${ext.layers.length}: textures`);
    const img = async (ref: AtlasRef, field: string): Promise<AtlasImage> => {
      const ii = gltf.textureImage(ref.texture, field);
      const { bytes, mime } = gltf.imageBytes(ii, field);
      const image = await decodeImage(bytes, mime, `${source}: ${field}`);
      if (image.source && (image.width !== ref.grid[0] * ref.tileSize[0] || image.height !== ref.grid[1] * ref.tileSize[1]))
        gltf.fail(`${field}: image is ${image.width}x${image.height}; grid ${ref.grid} of ${ref.tileSize} tiles expected`);
      return { ...ref, image };
    };
    const posAtlas = await img(L.positionFeatures, `${f}.positionFeatures`);
    const radAtlas = await img(L.radiance, `${f}.radiance`);
    if (posAtlas.count !== spec.dim_pos_feature) gltf.fail(`${f}.positionFeatures.channels is ${posAtlas.count}; shading.dim_pos_feature is ${spec.dim_pos_feature}`);
    if (radAtlas.count !== spec.num_texture_basis) gltf.fail(`${f}.radiance.bases is ${radAtlas.count}; shading.num_texture_basis is ${spec.num_texture_basis}`);
    let baseColor: DecodedImage | null = null;
    const bct = prim.material !== undefined ? doc.materials?.[prim.material]?.pbrMetallicRoughness?.baseColorTexture : undefined;
    if (bct) {
      const { bytes, mime } = gltf.imageBytes(gltf.textureImage(bct.index, `${f}.material`), `${f}.material`);
      baseColor = await decodeImage(bytes, mime, `${source}: ${f}.material.baseColorTexture`);
    }
    layers.push({
      name: L.name, level: L.level, opaque: L.opaque, vertexCount: V, indices,
      positions: pos.data, normals: nrm.data, uvs: uv.data, joints: jointsArr, weights: wt.data,
      targets: morph.positions, normalTargets: morph.normals, nTargets, posAtlas, radAtlas, baseColor,
    });
    meshNodes.push(L.node);
  }
  onProgress(0.9, 'animations');
  const animations = readAnimations(gltf, ext.joints.nodes, meshNodes, nTargets, ext.morphTargets.scale);
  const bg = ext.compositing.background;
  onProgress(1, 'ready');
  return {
    source,
    byteLength: data.byteLength,
    spec,
    ext,
    joints,
    boneNames: ext.joints.names,
    nBones,
    jointFold: ext.morphTargets.jointFold,
    layers,
    frameModel,
    pixelModel,
    animations,
    camera: readCamera(gltf, ext),
    background: [bg[0] ?? 1, bg[1] ?? 1, bg[2] ?? 1],
  };
}
