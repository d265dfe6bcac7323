/**
 * Per-frame FLAME joint maths (docs/formats.md, "Playback maths" step 1), in float64.
 *
 *   J   = joints_template + joints_expr_basis . psi            (5, 3)
 *   R_j = rodrigues(theta[3j : 3j+3])                          FLAME's +1e-8 convention
 *   T_j = [R_j | J_j - J_parent(j)] (root: J_0);  G_j = G_parent(j) T_j;  A_j = G_j T(-J_j)
 *   pf  = row-major (R_j - I) for joints 1..4                  (36)
 *   with a ghost bone, an identity is prepended: bones = [ghost, root, neck, jaw, eye, eye]
 */

import { N_POSE, N_POSE_FEATURE, type Mat4 } from './conventions';

export interface JointData {
  /** (5*3) joints at zero expression, original space, row-major (joint, xyz). */
  template: Float64Array | Float32Array;
  /** (5*3*E) d joints / d expression, row-major (joint, xyz, e). */
  exprBasis: Float64Array | Float32Array;
  /** Parent of each of the 5 FLAME joints (-1 for the root). */
  parents: number[];
  /** Number of expression coefficients E. */
  nExp: number;
  /** Whether an identity ghost bone is prepended to the skinning bones. */
  ghostbone: boolean;
}

export interface FrameJoints {
  /** Skinning bone transforms, row-major 4x4 each: (nBones*16). */
  A: Float64Array;
  /** Pose feature (36). */
  poseFeature: Float64Array;
  /** Posed joint rotations R_j (5*9, row-major each). */
  rotations: Float64Array;
  /** Joint positions for this expression (5*3). */
  joints: Float64Array;
  nBones: number;
}

/** Axis-angle (3) -> row-major 3x3 rotation, FLAME's convention (1e-8 added before the norm). */
export function rodrigues(r: ArrayLike<number>, out = new Float64Array(9), at = 0): Float64Array {
  const ax = r[0] + 1e-8, ay = r[1] + 1e-8, az = r[2] + 1e-8;
  const angle = Math.sqrt(ax * ax + ay * ay + az * az);
  const kx = r[0] / angle, ky = r[1] / angle, kz = r[2] / angle;
  const s = Math.sin(angle), c1 = 1 - Math.cos(angle);
  // K = [k]x ; R = I + s K + (1 - cos) K^2, with K^2 = k k^T - |k|^2 I
  const kk = kx * kx + ky * ky + kz * kz;
  const K = [0, -kz, ky, kz, 0, -kx, -ky, kx, 0];
  const kv = [kx, ky, kz];
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      const k2 = kv[i] * kv[j] - (i === j ? kk : 0);
      out[at + 3 * i + j] = (i === j ? 1 : 0) + s * K[3 * i + j] + c1 * k2;
    }
  return out;
}

/** Unit quaternion [x, y, z, w] (glTF order) -> row-major 3x3 rotation. */
export function quatToMat3(q: ArrayLike<number>, out = new Float64Array(9), at = 0): Float64Array {
  const n = Math.hypot(q[0], q[1], q[2], q[3]) || 1;
  const x = q[0] / n, y = q[1] / n, z = q[2] / n, w = q[3] / n;
  const m = [
    1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
    2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
    2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
  ];
  for (let i = 0; i < 9; i++) out[at + i] = m[i];
  return out;
}

/** Unit quaternion [x, y, z, w] -> axis-angle (3), angle in [0, pi]. */
export function quatToAxisAngle(q: ArrayLike<number>): [number, number, number] {
  let x = q[0], y = q[1], z = q[2], w = q[3];
  if (w < 0) [x, y, z, w] = [-x, -y, -z, -w];
  const s = Math.hypot(x, y, z);
  if (s < 1e-12) return [0, 0, 0];
  const angle = 2 * Math.atan2(s, w);
  return [(x / s) * angle, (y / s) * angle, (z / s) * angle];
}

/** Row-major 3x3 rotation -> axis-angle (3), the inverse of `rodrigues` for angles < pi. */
export function mat3ToAxisAngle(R: ArrayLike<number>, at = 0): [number, number, number] {
  const tr = R[at] + R[at + 4] + R[at + 8];
  const angle = Math.acos(Math.min(1, Math.max(-1, (tr - 1) / 2)));
  const v = [R[at + 7] - R[at + 5], R[at + 2] - R[at + 6], R[at + 3] - R[at + 1]];
  const s = Math.hypot(v[0], v[1], v[2]);
  if (s < 1e-12) return [0, 0, 0];
  return [(v[0] / s) * angle, (v[1] / s) * angle, (v[2] / s) * angle];
}

/** Joint positions J (5*3) for expression psi. */
export function jointPositions(jd: JointData, expression: ArrayLike<number>): Float64Array {
  const J = new Float64Array(15);
  const E = jd.nExp;
  for (let j = 0; j < 5; j++)
    for (let a = 0; a < 3; a++) {
      let s = jd.template[3 * j + a];
      const base = (3 * j + a) * E;
      for (let e = 0; e < E; e++) s += jd.exprBasis[base + e] * (expression[e] ?? 0);
      J[3 * j + a] = s;
    }
  return J;
}

/**
 * Bone transforms and pose feature for one frame, from rotations R_j (5*9 row-major).
 * Split from `frameJoints` so that glTF animations (quaternions) can drive it directly.
 */
export function frameJointsFromRotations(jd: JointData, expression: ArrayLike<number>, rotations: Float64Array): FrameJoints {
  if (jd.parents.length !== 5) throw new Error(`joint data: parents must list 5 joints; got ${jd.parents.length}`);
  const J = jointPositions(jd, expression);
  const G: Float64Array[] = [];
  for (let j = 0; j < 5; j++) {
    const p = jd.parents[j];
    const T = new Float64Array(16);
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) T[4 * r + c] = rotations[9 * j + 3 * r + c];
      T[4 * r + 3] = J[3 * j + r] - (p >= 0 ? J[3 * p + r] : 0);
    }
    T[15] = 1;
    if (p < 0) G.push(T);
    else {
      if (p >= j) throw new Error(`joint data: parent ${p} of joint ${j} must come before it`);
      const Gp = G[p];
      const o = new Float64Array(16);
      for (let r = 0; r < 4; r++)
        for (let c = 0; c < 4; c++) {
          let s = 0;
          for (let k = 0; k < 4; k++) s += Gp[4 * r + k] * T[4 * k + c];
          o[4 * r + c] = s;
        }
      G.push(o);
    }
  }
  const nBones = jd.ghostbone ? 6 : 5;
  const A = new Float64Array(16 * nBones);
  let b = 0;
  if (jd.ghostbone) {
    A[0] = A[5] = A[10] = A[15] = 1;
    b = 1;
  }
  for (let j = 0; j < 5; j++, b++) {
    const g = G[j];
    const o = 16 * b;
    for (let r = 0; r < 4; r++) for (let c = 0; c < 3; c++) A[o + 4 * r + c] = g[4 * r + c];
    for (let r = 0; r < 3; r++)
      A[o + 4 * r + 3] = g[4 * r + 3] - (g[4 * r] * J[3 * j] + g[4 * r + 1] * J[3 * j + 1] + g[4 * r + 2] * J[3 * j + 2]);
    A[o + 15] = 1;
  }
  const pf = new Float64Array(N_POSE_FEATURE);
  for (let j = 1; j < 5; j++)
    for (let i = 0; i < 9; i++) pf[9 * (j - 1) + i] = rotations[9 * j + i] - (i % 4 === 0 ? 1 : 0);
  return { A, poseFeature: pf, rotations, joints: J, nBones };
}

/** Bone transforms and pose feature for expression psi (E) and pose theta (15). */
export function frameJoints(jd: JointData, expression: ArrayLike<number>, pose: ArrayLike<number>): FrameJoints {
  if (pose.length !== N_POSE) throw new Error(`pose must have ${N_POSE} values; got ${pose.length}`);
  const R = new Float64Array(45);
  for (let j = 0; j < 5; j++) rodrigues([pose[3 * j], pose[3 * j + 1], pose[3 * j + 2]], R, 9 * j);
  return frameJointsFromRotations(jd, expression, R);
}

/** The per-frame MLP condition [theta[6:15], psi[:E]] (formats.md step 3). */
export function frameCondition(expression: ArrayLike<number>, pose: ArrayLike<number>, nExp: number): Float32Array {
  const c = new Float32Array(9 + nExp);
  for (let i = 0; i < 9; i++) c[i] = pose[6 + i];
  for (let e = 0; e < nExp; e++) c[9 + e] = expression[e] ?? 0;
  return c;
}

/** Row-major bone b of A as a Mat4 view copy. */
export function boneMatrix(A: Float64Array, b: number): Mat4 {
  return A.slice(16 * b, 16 * b + 16);
}
