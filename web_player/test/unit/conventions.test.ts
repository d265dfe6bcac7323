import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { glProjection, invertRigid, pixelRay, project, srgbToUint8 } from '../../src/conventions';

const fx = JSON.parse(readFileSync(new URL('../fixtures/conventions.json', import.meta.url), 'utf8'));
const K = Float64Array.from(fx.K.flat());
const w2c = Float64Array.from(fx.w2c.flat());

describe('conventions.ts vs train/conventions.py (one asymmetric asset)', () => {
  it('projects world points to the same pixels', () => {
    fx.points.forEach((p: number[], i: number) => {
      const [u, v] = project(p, K, w2c);
      expect(Math.abs(u - fx.uv[i][0])).toBeLessThan(1e-9);
      expect(Math.abs(v - fx.uv[i][1])).toBeLessThan(1e-9);
    });
  });
  it('builds the same clip matrix, and NDC x/y land on image columns/rows', () => {
    const P = glProjection(K, fx.width, fx.height, fx.near, fx.far);
    const ref = fx.gl_projection.flat();
    for (let i = 0; i < 16; i++) expect(Math.abs(P[i] - ref[i])).toBeLessThan(1e-12);
    const p = fx.points[0];
    const q = [0, 1, 2].map((r) => w2c[4 * r] * p[0] + w2c[4 * r + 1] * p[1] + w2c[4 * r + 2] * p[2] + w2c[4 * r + 3]);
    const clip = [0, 1, 3].map((r) => P[4 * r] * q[0] + P[4 * r + 1] * q[1] + P[4 * r + 2] * q[2] + P[4 * r + 3]);
    expect(Math.abs(((clip[0] / clip[2] + 1) * fx.width) / 2 - fx.uv[0][0])).toBeLessThan(1e-9);
    expect(Math.abs(((clip[1] / clip[2] + 1) * fx.height) / 2 - fx.uv[0][1])).toBeLessThan(1e-9);
  });
  it('casts the same pixel rays', () => {
    const c2w = invertRigid(w2c);
    fx.pixels.forEach((px: number[], i: number) => {
      const { o, d } = pixelRay(K, c2w, px[0], px[1]);
      for (let a = 0; a < 3; a++) {
        expect(Math.abs(o[a] - fx.ray_origins[i][a])).toBeLessThan(1e-9);
        expect(Math.abs(d[a] - fx.ray_dirs[i][a])).toBeLessThan(1e-9);
      }
    });
  });
  it('quantises colours like srgb_to_uint8', () => {
    expect(fx.srgb_in.map(srgbToUint8)).toEqual(fx.srgb_out);
  });
});
