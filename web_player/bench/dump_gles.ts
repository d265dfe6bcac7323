/**
 * `npm run bench:dump -- [bundle.glb] [--frame N]`: everything the native GLES harness
 * (bench/gles_bench.py, run by scripts/gpu/gles_bench.sh) needs to draw one frame of a bundle
 * with the player's own shaders, into bench/out/gles/:
 *   manifest.json        camera, uniforms of the frame, per-layer sizes and file names, variants
 *   *.vert / *.frag      the exact preprocessed GLSL ES 3.00 sources the player compiles
 *                        (+ probe_* sources: the same with one part of the work removed)
 *   l<i>_*.bin.gz        vertex arrays, indices, morph texture (as uploaded by the player)
 *   l<i>_pos.* / _rad.*  the atlas images as stored in the bundle (PNG/WebP)
 * Default bundle: env HB_BUNDLE, else bench/out/default.glb (see bench/swiftshader.ts).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { quatToAxisAngle } from '../src/flame';
import { animationFrame } from '../src/loader/animation';
import { loadAvatar } from '../src/loader/avatar';
import { OnnxRunner } from '../src/onnx/interpret';
import { morphTextureData } from '../src/render/gpu_layer';
import { computeFrame } from '../src/render/frame_state';
import { pixelModelChunk } from '../src/render/pixel_program';
import { preprocess } from '../src/render/shader_lib';
import { CAPTURE_VARYINGS, captureDefines, meshDefines, shadeDefines, vertexDefines } from '../src/render/variants';
import { REPO, ROOT } from '../test/browser/harness';

const args = process.argv.slice(2);
const fi = args.indexOf('--frame');
const frame = fi >= 0 ? Number(args[fi + 1]) : 0;
const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
const bundle = positional[0] ? path.resolve(positional[0]) : process.env.HB_BUNDLE ? path.resolve(REPO, process.env.HB_BUNDLE) : path.join(ROOT, 'bench', 'out', 'default.glb');
if (!existsSync(bundle)) throw new Error(`${bundle}: not found (run npm run bench once, or pass a bundle)`);
const OUT = path.join(ROOT, 'bench', 'out', 'gles');
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

const av = await loadAvatar(new Uint8Array(readFileSync(bundle)), path.basename(bundle), async (bytes, mime) => ({ width: 0, height: 0, source: null, encoded: { bytes, mime } }));
if (!av.camera) throw new Error(`${bundle}: no training camera in the extension`);
const runner = new OnnxRunner(av.frameModel, 'models.frame');
const E = av.spec.n_exp;
const expression = new Float32Array(E);
const pose = new Float32Array(15);
const anim = av.animations[0];
if (anim) {
  const s = animationFrame(anim, frame);
  for (let e = 0; e < E; e++) expression[e] = s.weights[e];
  for (let j = 0; j < 5; j++) pose.set(quatToAxisAngle(s.rotations.subarray(4 * j, 4 * j + 4)), 3 * j);
}
const fs = computeFrame(av, runner, expression, pose);
const names = av.ext.models.pixel.inputs;
const pixel = pixelModelChunk(av.pixelModel, 'models.pixel', { z: names[0] ?? 'z', theta: names[1] ?? 'theta', coef: av.ext.models.pixel.outputs[0] });
const T = av.layers[0].nTargets;
// the harness draws every layer with one capture program: the layers must agree on normal
// morph targets (the exporter writes them for every layer or none)
const morphNormals = !!av.layers[0].normalTargets;
if (av.layers.some((L) => !!L.normalTargets !== morphNormals)) throw new Error(`${bundle}: only some layers have normal morph targets; the native harness needs all or none`);
const extra = { 'pixel_model.glsl': pixel.source };
const write = (name: string, text: string) => writeFileSync(path.join(OUT, name), text);
write('capture.vert', preprocess('avatar.vert', captureDefines(T, av.nBones, morphNormals ? 'apply' : 'none')));
write('avatar.vert', preprocess('avatar.vert', vertexDefines(T, av.nBones)));
write('depth.frag', preprocess('depth.frag', vertexDefines(T, av.nBones)));
type Variant = { inner: string; outer: string; theta: string; prepass?: boolean; capture?: string };
const variants: Record<string, Variant> = {};
const shading = {
  neural_exact: { exactBilinear: true, thetaSource: 'ubo', debug: 'none' },
  neural_hw: { exactBilinear: false, thetaSource: 'ubo', debug: 'none' },
  neural_hw_thetatex: { exactBilinear: false, thetaSource: 'texture', debug: 'none' },
} as const;
for (const [vname, o] of Object.entries(shading)) {
  write(`${vname}_inner.frag`, preprocess('shade.frag', shadeDefines(av.spec, T, av.nBones, o, true), extra));
  write(`${vname}_outer.frag`, preprocess('shade.frag', shadeDefines(av.spec, T, av.nBones, o, false), extra));
  variants[vname] = { inner: `${vname}_inner.frag`, outer: `${vname}_outer.frag`, theta: o.thetaSource };
}
write('mesh_inner.frag', preprocess('mesh.frag', meshDefines(T, av.nBones, true)));
write('mesh_outer.frag', preprocess('mesh.frag', meshDefines(T, av.nBones, false)));
variants.mesh = { inner: 'mesh_inner.frag', outer: 'mesh_outer.frag', theta: 'none' };
// the player's depthPrepass = false (one pass, depth LESS)
variants.neural_exact_noprepass = { ...variants.neural_exact, prepass: false };
variants.neural_hw_noprepass = { ...variants.neural_hw, prepass: false };
// Probes (timing only, not player variants): the same sources with one part of the work removed,
// to attribute the frame time (per-pixel MLP, radiance fetches, morph-target fetches).
const probe = (name: string, from: string, edits: [string, string][]) => {
  let src = readFileSync(path.join(OUT, from), 'utf8');
  for (const [a, b] of edits) {
    if (!src.includes(a)) throw new Error(`probe ${name}: '${a}' not in ${from}`);
    src = src.replaceAll(a, b);
  }
  write(name, src);
  return name;
};
const noMlp: [string, string][] = [['hb_pixel_model(z, coef);', 'for (int k = 0; k < NUM_BASIS; k++) coef[k] = z[k % PIXEL_IN];']];
const noRad: [string, string][] = [['rgba += coef[k] * hb_tile(u_radAtlas, rt, k);', 'rgba += coef[k] * vec4(0.5);']];
const hw = variants.neural_hw;
variants.probe_hw_nomlp = { ...hw, inner: probe('probe_nomlp_inner.frag', hw.inner, noMlp), outer: probe('probe_nomlp_outer.frag', hw.outer, noMlp) };
variants.probe_hw_norad = { ...hw, inner: probe('probe_norad_inner.frag', hw.inner, noRad), outer: probe('probe_norad_outer.frag', hw.outer, noRad) };
const noMorph: [string, string][] = [['x += w * texelFetch(u_morphTex, ivec2(i & mask, i >> MORPH_TEX_SHIFT), 0).xyz;', 'x += w * 1e-6;']];
if (morphNormals) noMorph.push(['n += w * texelFetch(u_morphTex, ivec2(i & mask, i >> MORPH_TEX_SHIFT), 0).xyz;', 'n += w * 1e-6;']);
const noMorphVs = probe('probe_nomorph.vert', 'capture.vert', noMorph);
variants.probe_hw_nomorph = { ...hw, capture: noMorphVs };
variants.probe_mesh_nomorph = { ...variants.mesh, capture: noMorphVs };

const bin = (name: string, a: ArrayBufferView) => {
  writeFileSync(path.join(OUT, name), gzipSync(Buffer.from(a.buffer, a.byteOffset, a.byteLength), { level: 6 }));
  return name;
};
const ext = (mime: string) => (mime === 'image/webp' ? 'webp' : 'png');
const layers = av.layers.map((L, i) => {
  const m = morphTextureData(L);
  const img = (k: string, im: { encoded: { bytes: Uint8Array; mime: string } }) => {
    const n = `l${i}_${k}.${ext(im.encoded.mime)}`;
    writeFileSync(path.join(OUT, n), im.encoded.bytes);
    return n;
  };
  return {
    name: L.name,
    vertexCount: L.vertexCount,
    indexCount: L.indices.length,
    positions: bin(`l${i}_positions.f32.gz`, L.positions),
    normals: bin(`l${i}_normals.f32.gz`, L.normals),
    uvs: bin(`l${i}_uvs.f32.gz`, L.uvs),
    joints: bin(`l${i}_joints.u16.gz`, Uint16Array.from(L.joints)),
    weights: bin(`l${i}_weights.f32.gz`, L.weights),
    indices: bin(`l${i}_indices.u32.gz`, L.indices),
    morph: bin(`l${i}_morph.f32.gz`, m.data),
    morphSize: [m.width, m.rows],
    posAtlas: img('pos', L.posAtlas.image),
    radAtlas: img('rad', L.radAtlas.image),
    baseColor: L.baseColor ? img('base', L.baseColor) : null,
    // atlas grids (cols, rows, tile w, tile h): the harness splits the images into array layers
    posGrid: [L.posAtlas.grid[0], L.posAtlas.grid[1], L.posAtlas.tileSize[0], L.posAtlas.tileSize[1]],
    radGrid: [L.radAtlas.grid[0], L.radAtlas.grid[1], L.radAtlas.tileSize[0], L.radAtlas.tileSize[1]],
    sharedAlpha: L.radAtlas.sharedAlpha ? 1 : 0,
  };
});
const theta = new Float32Array(Math.ceil(fs.theta.length / 4) * 4);
theta.set(fs.theta);
const manifest = {
  bundle: path.basename(bundle),
  frame,
  camera: { K: Array.from(av.camera.K), w2c: Array.from(av.camera.w2c), width: av.camera.width, height: av.camera.height, near: 0.1, far: 100 },
  background: av.background,
  nBones: av.nBones,
  nTargets: T,
  // the morph textures hold 2 texels per (vertex, target): position then normal delta
  morphNormals,
  uniforms: { bones: Array.from(fs.bones), boneShift: Array.from(fs.boneShift), morphWeights: Array.from(fs.morphWeights), theta: Array.from(theta) },
  pixelStatements: pixel.statements,
  atlasLayout: 'array',
  // capture pass (transform feedback of these varyings, interleaved), then the passes drawing
  // the captured vertices with `vertex`
  capture: { vertex: 'capture.vert', fragment: 'depth.frag', varyings: CAPTURE_VARYINGS },
  vertex: 'avatar.vert',
  depth: 'depth.frag',
  variants,
  layers,
};
write('manifest.json', JSON.stringify(manifest, null, 1));
console.log(`dumped ${av.layers.length} layers of ${path.basename(bundle)} (frame ${frame}) to ${path.relative(process.cwd(), OUT)}`);
