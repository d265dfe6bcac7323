/**
 * Browser-test global setup: writes the synthetic test bundles and the Python reference renders
 * (test/browser/reference_render.py through the repo's venv) once per run into test/.out/ (the
 * plain bundle) and test/.out/normals/ (the same with normal morph targets).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { REPO, ROOT } from './harness';

export const OUT = path.join(ROOT, 'test', '.out');
export const FRAMES = [0, 5, 11];

function python(): string {
  for (const p of [process.env.HB_PYTHON, path.join(REPO, '.venv', 'bin', 'python')]) if (p && existsSync(p)) return p;
  throw new Error(`no Python with the repo installed: set HB_PYTHON or create ${path.join(REPO, '.venv')} (make venv)`);
}

/** The bundles the browser tests play: subfolder of OUT -> keyframes and reference_render.py arguments. */
const BUNDLES: Record<string, { frames: number[]; args: string[] }> = {
  '.': { frames: FRAMES, args: [] },
  // every layer also carries normal morph targets (normal blendshapes); keyframe 7 is where they
  // change the image most (31.4 dB between the Python renders with and without them; 0 and 11
  // are near the neutral face: 52.0 and 51.5 dB)
  normals: { frames: [0, 5, 7, 11], args: ['--normal-blendshapes'] },
};

export default function setup(project: TestProject): void {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  for (const [dir, { frames, args }] of Object.entries(BUNDLES)) {
    const out = path.join(OUT, dir);
    const t0 = Date.now();
    const r = spawnSync(python(), [path.join(ROOT, 'test', 'browser', 'reference_render.py'), out, '--frames', ...frames.map(String), ...args], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, PYTHONWARNINGS: 'ignore' },
    });
    if (r.status !== 0) throw new Error(`reference_render.py ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    const meta = JSON.parse(readFileSync(path.join(out, 'reference.json'), 'utf8'));
    console.log(`[browser tests] ${dir}/test.glb + reference renders in ${((Date.now() - t0) / 1000).toFixed(1)} s (${JSON.stringify(meta.seconds)})`);
  }
  project.provide('hbOut', OUT);
}

declare module 'vitest' {
  export interface ProvidedContext {
    hbOut: string;
  }
}
