/**
 * `npm run bench`: frames per second of the player at 512 px in CPU-only Chromium (SwiftShader),
 * neural shading side by side with the plain textured mesh (glTF base colour) of the same bundle.
 *
 *   npm run bench [-- path/to/bundle.glb] [--frames N] [--size 512]
 *
 * Without a bundle: env HB_BUNDLE, else the synthetic test bundle at the default preset (the
 * sizes of configs/synthetic.yaml), written once to bench/out/default.glb.
 * Writes bench/out/swiftshader.json and prints a table. Configurations marked * draw a still
 * frame (theta baked into the shader as constants is recompiled whenever theta changes).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, openPlayer, REPO, ROOT, startServer } from '../test/browser/harness';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const frames = Number(opt('frames', '12'));
const size = Number(opt('size', '512'));
const OUT = path.join(ROOT, 'bench', 'out');
mkdirSync(OUT, { recursive: true });

function defaultBundle(): string {
  const positional = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1].startsWith('--')));
  if (positional) return path.resolve(positional);
  if (process.env.HB_BUNDLE) return path.resolve(REPO, process.env.HB_BUNDLE);
  const p = path.join(OUT, 'default.glb');
  if (!existsSync(p)) {
    console.log('writing the default-preset test bundle (once) ...');
    const py = process.env.HB_PYTHON ?? path.join(REPO, '.venv', 'bin', 'python');
    const r = spawnSync(py, ['-m', 'export.testbundle', '-o', p, '--preset', 'default'], { cwd: REPO, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('export.testbundle failed');
  }
  return p;
}

const bundle = defaultBundle();
const only = opt('only', '');
const configs: { name: string; state: Record<string, unknown> }[] = [
  { name: 'neural (theta UBO, float32 bilinear)', state: { mode: 'neural', thetaSource: 'ubo', exactBilinear: true } },
  { name: 'neural (theta UBO, hardware bilinear)', state: { mode: 'neural', thetaSource: 'ubo', exactBilinear: false } },
  { name: 'neural (theta texture, float32 bilinear)', state: { mode: 'neural', thetaSource: 'texture', exactBilinear: true } },
  { name: 'neural (theta texture, hardware bilinear)', state: { mode: 'neural', thetaSource: 'texture', exactBilinear: false } },
  { name: 'neural (theta constants, hardware bilinear)*', state: { mode: 'neural', thetaSource: 'const', exactBilinear: false } },
  { name: 'plain textured mesh', state: { mode: 'mesh' } },
];

const server = await startServer({ 'bench.glb': bundle });
const chrome = await launchBrowser();
const results: Record<string, unknown>[] = [];
try {
  const { page, consoleErrors } = await openPlayer(chrome.browser, server.url, `bundle=files/bench.glb&paused=1&size=${size}`);
  const err = await page.evaluate(() => (window as any).__hb.error);
  if (err) throw new Error(err);
  const info = await page.evaluate(() => {
    const p = (window as any).__hb.player;
    const av = p.avatar;
    return { layers: av.layers.length, triangles: av.layers.reduce((s: number, l: any) => s + l.indices.length / 3, 0), width: p.camera().width, height: p.camera().height, renderer: (() => { const e = p.gl.getExtension('WEBGL_debug_renderer_info'); return e ? p.gl.getParameter(e.UNMASKED_RENDERER_WEBGL) : p.gl.getParameter(p.gl.RENDERER); })(), pixelStatements: p.renderer.pixel.statements };
  });
  console.log(`bundle ${path.relative(process.cwd(), bundle)}: ${info.layers} layers, ${info.triangles} triangles, ${info.width}x${info.height}, ${info.renderer}`);
  for (const c of configs.filter((k) => !only || only.split(',').some((w) => k.name.includes(w)))) {
    const r = await page.evaluate(
      ({ state, n }) => {
        const p = (window as any).__hb.player;
        Object.assign(p.state, state);
        const advance = (state as { thetaSource?: string }).thetaSource !== 'const';
        p.renderer.warmUp(p.state);
        p.bench(2, advance); // warm-up
        const b = p.bench(n, advance);
        return { ...b, frameMlpMs: p.renderer.frameMlpMs };
      },
      { state: c.state, n: frames },
    );
    results.push({ config: c.name, ...r });
    console.log(`${c.name.padEnd(44)} ${r.fps.toFixed(2).padStart(8)} FPS  ${r.msPerFrame.toFixed(1).padStart(8)} ms/frame`);
  }
  if (consoleErrors.length) console.warn('console errors:', consoleErrors);
  const report = { date: new Date().toISOString(), bundle: path.basename(bundle), size, frames, cpus: os.cpus().length, loadavg: os.loadavg(), ...info, results };
  writeFileSync(path.join(OUT, 'swiftshader.json'), JSON.stringify(report, null, 1));
  console.log(`load average during the run: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} cores (shared machine: numbers are noisy)`);
  console.log(`written ${path.relative(process.cwd(), path.join(OUT, 'swiftshader.json'))}`);
} finally {
  await chrome.close();
  await server.close();
}
