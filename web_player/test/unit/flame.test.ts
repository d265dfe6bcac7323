import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { frameJoints, frameJointsFromRotations, mat3ToAxisAngle, quatToMat3, rodrigues } from '../../src/flame';

const fx = JSON.parse(readFileSync(new URL('../fixtures/flame.json', import.meta.url), 'utf8'));

describe('joint transforms and pose features vs bake.lbs.joint_transforms', () => {
  for (const c of fx.cases) {
    it(`ghostbone=${c.ghostbone}`, () => {
      const parents = c.ghostbone ? c.parents.slice(1).map((p: number) => (p > 0 ? p - 1 : -1)) : c.parents;
      const jd = { template: Float64Array.from(c.joints_template), exprBasis: Float64Array.from(c.joints_expr_basis), parents, nExp: c.n_exp, ghostbone: c.ghostbone };
      c.expression.forEach((expr: number[], b: number) => {
        const out = frameJoints(jd, expr, c.pose[b]);
        expect(out.nBones).toBe(c.ghostbone ? 6 : 5);
        // float64 on both sides: agreement to rounding error
        const A = Array.from(out.A);
        const ref = c.A[b] as number[];
        expect(A.length).toBe(ref.length);
        for (let i = 0; i < A.length; i++) expect(Math.abs(A[i] - ref[i])).toBeLessThan(1e-9);
        const pf = Array.from(out.poseFeature);
        for (let i = 0; i < 36; i++) expect(Math.abs(pf[i] - c.pose_feature[b][i])).toBeLessThan(1e-9);
      });
    });
  }

  it('drives identically from rotation matrices (glTF quaternion path)', () => {
    const c = fx.cases[0];
    const parents = c.parents.slice(1).map((p: number) => (p > 0 ? p - 1 : -1));
    const jd = { template: Float64Array.from(c.joints_template), exprBasis: Float64Array.from(c.joints_expr_basis), parents, nExp: c.n_exp, ghostbone: true };
    const pose = c.pose[2];
    const R = new Float64Array(45);
    for (let j = 0; j < 5; j++) rodrigues(pose.slice(3 * j, 3 * j + 3), R, 9 * j);
    const a = frameJointsFromRotations(jd, c.expression[2], R);
    for (let i = 0; i < a.A.length; i++) expect(Math.abs(a.A[i] - c.A[2][i])).toBeLessThan(1e-9);
  });
});

describe('rotation helpers', () => {
  it('quaternion -> matrix matches Rodrigues, and axis-angle round-trips', () => {
    const r = [0.3, -0.2, 0.5];
    const ang = Math.hypot(...r);
    const q = [...r.map((x) => (x / ang) * Math.sin(ang / 2)), Math.cos(ang / 2)];
    const Rq = quatToMat3(q), Rr = rodrigues(r);
    for (let i = 0; i < 9; i++) expect(Math.abs(Rq[i] - Rr[i])).toBeLessThan(1e-7);
    const back = mat3ToAxisAngle(Rr);
    for (let i = 0; i < 3; i++) expect(Math.abs(back[i] - r[i])).toBeLessThan(1e-7);
  });
  it('rejects a pose of the wrong length', () => {
    const jd = { template: new Float64Array(15), exprBasis: new Float64Array(0), parents: [-1, 0, 1, 1, 1], nExp: 0, ghostbone: false };
    expect(() => frameJoints(jd, [], [0, 0, 0])).toThrow(/pose must have 15 values; got 3/);
  });
});
