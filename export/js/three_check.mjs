// Load a bundle with three.js GLTFLoader in headless Chromium and report what a standard
// viewer sees: skinned meshes (bone counts, morph target names), animations, and the deformed
// vertex positions of every layer at the requested keyframes (three.js' own CPU skinning:
// SkinnedMesh.getVertexPosition = morph targets + bone transforms).
// usage: node three_check.mjs bundle.glb '{"frames": [0, 5], "fps": 25, "vertices": [0, 10, 20]}'
//   optional "normals": true: also the deformed unit normals of those vertices (world space) as
//   three.js' vertex shader forms them: base normal + morph NORMAL deltas x influences, then the
//   bone matrices (bindMatrixInverse . sum_j w_j boneMatrix_j . bindMatrix), from three.js' own
//   decoded attributes, influences and bones.
//   optional "screenshot": 256, "screenshotPath": "look.png": render the standard-viewer look
//   (base-colour materials, ambient light, training camera, first animation at frames[0]).
// prints one JSON object on stdout.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const [bundlePath, optJson] = process.argv.slice(2);
const opts = JSON.parse(optJson || '{}');

const page = `<!doctype html><html><head>
<script type="importmap">{"imports": {"three": "/node_modules/three/build/three.module.js",
  "three/addons/": "/node_modules/three/examples/jsm/"}}</script></head><body>
<script type="module">
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { MeshoptDecoder } from 'three/addons/libs/meshopt_decoder.module.js';
window.runCheck = async (opts) => {
  const gltf = await new GLTFLoader().setMeshoptDecoder(MeshoptDecoder).loadAsync('/bundle.glb');
  const scene = gltf.scene;
  const meshes = [];
  scene.traverse((o) => { if (o.isSkinnedMesh) meshes.push(o); });
  const out = {
    skinnedMeshes: meshes.map((m) => ({
      name: m.name, bones: m.skeleton.bones.map((b) => b.name), vertexCount: m.geometry.attributes.position.count,
      morphNormals: (m.geometry.morphAttributes.normal || []).length,
      morphTargets: Object.keys(m.morphTargetDictionary || {}).sort((a, b) => m.morphTargetDictionary[a] - m.morphTargetDictionary[b]),
      transparent: m.material.transparent,
    })),
    animations: gltf.animations.map((a) => ({ name: a.name, tracks: a.tracks.length, duration: a.duration })),
    cameras: gltf.cameras.length,
    positions: {},
    normals: {},
  };
  const skinnedNormal = (m, i) => {
    const g = m.geometry, n = new THREE.Vector3().fromBufferAttribute(g.attributes.normal, i), d = new THREE.Vector3();
    (g.morphAttributes.normal || []).forEach((a, t) => { n.addScaledVector(d.fromBufferAttribute(a, i), m.morphTargetInfluences[t]); });
    const acc = new THREE.Matrix4().multiplyScalar(0), bm = new THREE.Matrix4();
    for (let k = 0; k < 4; k++) {
      const w = g.attributes.skinWeight.getComponent(i, k), j = g.attributes.skinIndex.getComponent(i, k);
      if (!w) continue;
      bm.multiplyMatrices(m.skeleton.bones[j].matrixWorld, m.skeleton.boneInverses[j]);
      for (let e = 0; e < 16; e++) acc.elements[e] += w * bm.elements[e];
    }
    const S = new THREE.Matrix4().multiplyMatrices(m.bindMatrixInverse, acc).multiply(m.bindMatrix).premultiply(m.matrixWorld);
    return n.applyMatrix3(new THREE.Matrix3().setFromMatrix4(S)).normalize();
  };
  const mixer = new THREE.AnimationMixer(scene);
  for (const clip of gltf.animations) {
    mixer.stopAllAction();
    const action = mixer.clipAction(clip);
    action.play();
    out.positions[clip.name] = [];
    out.normals[clip.name] = [];
    for (const f of opts.frames) {
      mixer.setTime(f / opts.fps);
      scene.updateMatrixWorld(true);
      const perMesh = meshes.map((m) => {
        m.skeleton.update();
        const v = new THREE.Vector3();
        return opts.vertices.filter((i) => i < m.geometry.attributes.position.count).map((i) => {
          m.getVertexPosition(i, v);
          v.applyMatrix4(m.matrixWorld);
          return [v.x, v.y, v.z];
        });
      });
      out.positions[clip.name].push(perMesh);
      if (opts.normals) out.normals[clip.name].push(meshes.map((m) => opts.vertices
        .filter((i) => i < m.geometry.attributes.position.count).map((i) => skinnedNormal(m, i).toArray())));
    }
    action.stop();
  }
  if (opts.screenshot) {  // the fallback look a standard viewer shows, from the training camera
    const renderer = new THREE.WebGLRenderer({ antialias: false, preserveDrawingBuffer: true });
    renderer.setSize(opts.screenshot, opts.screenshot);
    renderer.setClearColor(0xffffff, 1);
    document.body.appendChild(renderer.domElement);
    scene.add(new THREE.AmbientLight(0xffffff, 3.0));
    const cam = gltf.cameras[0];
    cam.aspect = 1; cam.updateProjectionMatrix();
    mixer.stopAllAction();
    if (gltf.animations.length) { mixer.clipAction(gltf.animations[0]).play(); mixer.setTime(opts.frames[0] / opts.fps); }
    scene.updateMatrixWorld(true);
    renderer.render(scene, cam);
  }
  return out;
};
window.ready = true;
</script></body></html>`;

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://x');
    let body, type = 'application/octet-stream';
    if (url.pathname === '/favicon.ico') { res.writeHead(204); res.end(); return; }
    if (url.pathname === '/check.html') { body = page; type = 'text/html'; }
    else if (url.pathname === '/bundle.glb') { body = await readFile(bundlePath); type = 'model/gltf-binary'; }
    else if (url.pathname.startsWith('/node_modules/three/')) {
      const p = normalize(join(here, url.pathname));
      if (!p.startsWith(join(here, 'node_modules', 'three'))) throw new Error('outside');
      body = await readFile(p); type = 'text/javascript';
    } else throw new Error('not found');
    res.writeHead(200, { 'content-type': type }); res.end(body);
  } catch (e) { res.writeHead(404); res.end(String(e)); }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const profile = mkdtempSync(join(tmpdir(), 'hb-chromium-'));
// a fresh profile per run (playwright passes it as --user-data-dir)
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
    '--disable-quic'],
});
let code = 0;
try {
  const p = await browser.newPage();
  const errors = [];
  p.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.goto(`http://127.0.0.1:${port}/check.html`);
  await p.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
  const result = await p.evaluate((o) => window.runCheck(o), { frames: opts.frames || [0], fps: opts.fps || 25, vertices: opts.vertices || [0], screenshot: opts.screenshot || 0, normals: !!opts.normals });
  result.consoleErrors = errors;
  if (opts.screenshot && opts.screenshotPath) await p.locator('canvas').screenshot({ path: opts.screenshotPath });
  process.stdout.write(JSON.stringify(result) + '\n');
} catch (e) {
  process.stderr.write(String(e.stack || e) + '\n');
  code = 1;
} finally {
  await browser.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(code);
