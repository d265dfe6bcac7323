/**
 * Conventions shared with the Python stages — the TypeScript twin of `train/conventions.py`.
 *
 * - Units: FLAME model space scaled by FLAME_SCALE (= 4).
 * - Camera: OpenGL axes (x right, y up, looking along -z); intrinsics K in pixels with NEGATIVE fx;
 *   pixel (col,row) covers [col,col+1) x [row,row+1) (centre at +0.5).
 *   Projection of world p: q = R p + t (w2c), u = fx qx/qz + cx, v = fy qy/qz + cy.
 * - Clip space: `glProjection` maps so that framebuffer row r (row 0 at NDC y = -1, which is
 *   WebGL's bottom row) is image row r. The player therefore reads pixels back with
 *   `readPixels` (row 0 = image row 0) and presents the canvas flipped with CSS (`flipCanvasCss`),
 *   so no maths anywhere flips.
 * - Textures: row 0 <-> v = 0; uploaded WITHOUT UNPACK_FLIP_Y (glTF's and WebGL's convention).
 * - Colour: sRGB values used as-is (no linearisation); straight alpha; "over" inner -> outer.
 * - Matrices: row-major 4x4 (Float64Array(16), m[4*r+c]) applied to column vectors, like numpy.
 *   glTF stores column-major: use `fromColumnMajor`. WebGL uploads use transpose = true.
 */

export const FLAME_SCALE = 4.0;
export const JOINT_NAMES = ['root', 'neck', 'jaw', 'eye_left', 'eye_right'] as const;
export const GHOST_NAME = 'ghost';
export const N_POSE = 15;
export const N_POSE_FEATURE = 36;
export const UV_ORIGIN = 'top-left, v down the image rows (row 0 = v 0)';

/** Row-major 4x4. */
export type Mat4 = Float64Array;
/** Row-major 3x3 intrinsics in pixels (fx < 0). */
export type Mat3 = Float64Array;

export function mat4(values?: ArrayLike<number>): Mat4 {
  const m = new Float64Array(16);
  if (values) m.set(values);
  else m[0] = m[5] = m[10] = m[15] = 1;
  return m;
}

/** glTF column-major 16 floats -> row-major Mat4. */
export function fromColumnMajor(cm: ArrayLike<number>): Mat4 {
  const m = new Float64Array(16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) m[4 * r + c] = cm[4 * c + r];
  return m;
}

/** (a b) row-major. */
export function matmul4(a: Mat4, b: Mat4): Mat4 {
  const o = new Float64Array(16);
  for (let r = 0; r < 4; r++)
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[4 * r + k] * b[4 * k + c];
      o[4 * r + c] = s;
    }
  return o;
}

/** Inverse of a rigid transform [R|t] (R orthonormal). */
export function invertRigid(m: Mat4): Mat4 {
  const o = mat4();
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) o[4 * r + c] = m[4 * c + r];
  for (let r = 0; r < 3; r++) o[4 * r + 3] = -(o[4 * r] * m[3] + o[4 * r + 1] * m[7] + o[4 * r + 2] * m[11]);
  return o;
}

/** IMavatar intrinsics [fx_n, fy_n, cx_n, cy_n] -> row-major 3x3 pixel K (legacy 512-px files normalised). */
export function intrinsicsFromNormalized(values: ArrayLike<number>, width: number, height: number): Mat3 {
  let [fx, fy, cx, cy] = [values[0], values[1], values[2], values[3]];
  if (cy > 1.0) [fx, fy, cx, cy] = [fx / 512, fy / 512, cx / 512, cy / 512];
  return new Float64Array([fx * width, 0, cx * width, 0, fy * height, cy * height, 0, 0, 1]);
}

/** World point -> continuous pixel coordinates [u (col), v (row)]. */
export function project(p: ArrayLike<number>, K: Mat3, w2c: Mat4): [number, number] {
  const q = [0, 1, 2].map((r) => w2c[4 * r] * p[0] + w2c[4 * r + 1] * p[1] + w2c[4 * r + 2] * p[2] + w2c[4 * r + 3]);
  return [(K[0] * q[0]) / q[2] + K[2], (K[4] * q[1]) / q[2] + K[5]];
}

/** Ray through continuous pixel (u, v): origin and unit direction in world space. */
export function pixelRay(K: Mat3, c2w: Mat4, u: number, v: number): { o: number[]; d: number[] } {
  const x = (u - K[2]) / K[0];
  const y = (v - K[5]) / K[4];
  const dc = [-x, -y, -1];
  const d = [0, 1, 2].map((r) => c2w[4 * r] * dc[0] + c2w[4 * r + 1] * dc[1] + c2w[4 * r + 2] * dc[2]);
  const n = Math.hypot(d[0], d[1], d[2]);
  return { o: [c2w[3], c2w[7], c2w[11]], d: d.map((x) => x / n) };
}

/** Row-major 4x4 clip matrix: NDC x/y map to image columns/rows directly (see header). */
export function glProjection(K: Mat3, width: number, height: number, near = 1.0, far = 10.0): Mat4 {
  const fx = K[0], fy = K[4], cx = K[2], cy = K[5];
  return new Float64Array([
    (-2 * fx) / width, 0, 1 - (2 * cx) / width, 0,
    0, (-2 * fy) / height, 1 - (2 * cy) / height, 0,
    0, 0, -(far + near) / (far - near), (-2 * far * near) / (far - near),
    0, 0, -1, 0,
  ]);
}

/** [0,1] -> uint8 by rounding (Python: np.rint, half to even; identical away from exact .5). */
export function srgbToUint8(x: number): number {
  const y = Math.min(255, Math.max(0, x * 255));
  const f = Math.floor(y);
  const d = y - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Texel (row-major image, row 0 = v 0) holding texture coordinate (u, v) for a W x H image. */
export function uvToTexel(u: number, v: number, width: number, height: number): [number, number] {
  return [Math.min(width - 1, Math.floor(u * width)), Math.min(height - 1, Math.floor(v * height))];
}
