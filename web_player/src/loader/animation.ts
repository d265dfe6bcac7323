/**
 * glTF animations -> per-frame FLAME parameters: joint rotations (quaternions of the 5 FLAME
 * joint nodes) and morph weights (expression coefficients first, then pose-corrective weights).
 */
import type { Gltf } from './gltf';

export interface AvatarAnimation {
  name: string;
  /** Keyframe times in seconds (N). */
  times: Float32Array;
  /** Per keyframe, per FLAME joint, a unit quaternion [x,y,z,w]: (N*5*4). Identity where not animated. */
  rotations: Float32Array;
  /** Per keyframe morph-target values (N*T), T = number of morph targets of the layers: the stored
   * weights divided by the extension's morphTargets.scale, i.e. expression coefficients, then pose-feature entries. */
  weights: Float32Array;
  nTargets: number;
  duration: number;
}

/** The FLAME parameters of one instant: expression (E) and joint rotations as quaternions (5*4). */
export interface AnimationSample {
  weights: Float32Array;
  rotations: Float32Array;
}

function slerpInto(out: Float32Array, o: number, a: Float32Array, ao: number, b: Float32Array, bo: number, t: number): void {
  let d = a[ao] * b[bo] + a[ao + 1] * b[bo + 1] + a[ao + 2] * b[bo + 2] + a[ao + 3] * b[bo + 3];
  const s = d < 0 ? -1 : 1;
  d *= s;
  let wa: number, wb: number;
  if (d > 0.9995) {
    wa = 1 - t;
    wb = t * s;
  } else {
    const th = Math.acos(d), sn = Math.sin(th);
    wa = Math.sin((1 - t) * th) / sn;
    wb = (Math.sin(t * th) / sn) * s;
  }
  let n = 0;
  for (let k = 0; k < 4; k++) {
    out[o + k] = wa * a[ao + k] + wb * b[bo + k];
    n += out[o + k] ** 2;
  }
  n = Math.sqrt(n) || 1;
  for (let k = 0; k < 4; k++) out[o + k] /= n;
}

/** Locate time t: keyframe index i and fraction f in [0,1] between i and i+1 (clamped). */
export function locate(times: Float32Array, t: number): [number, number] {
  const n = times.length;
  if (n === 0 || t <= times[0]) return [0, 0];
  if (t >= times[n - 1]) return [n - 1, 0];
  let lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (times[mid] <= t) lo = mid;
    else hi = mid;
  }
  return [lo, (t - times[lo]) / (times[hi] - times[lo])];
}

/** Sample an animation at time t (seconds, clamped to its range). */
export function sampleAnimation(anim: AvatarAnimation, t: number): AnimationSample {
  const [i, f] = locate(anim.times, t);
  const j = Math.min(i + 1, anim.times.length - 1);
  const T = anim.nTargets;
  const weights = new Float32Array(T);
  for (let k = 0; k < T; k++) weights[k] = anim.weights[i * T + k] * (1 - f) + anim.weights[j * T + k] * f;
  const rotations = new Float32Array(20);
  for (let q = 0; q < 5; q++) slerpInto(rotations, 4 * q, anim.rotations, (i * 5 + q) * 4, anim.rotations, (j * 5 + q) * 4, f);
  return { weights, rotations };
}

/** Keyframe `frame` exactly (no interpolation): the deterministic mode's ?frame=N. */
export function animationFrame(anim: AvatarAnimation, frame: number): AnimationSample {
  const i = Math.max(0, Math.min(anim.times.length - 1, Math.floor(frame)));
  const T = anim.nTargets;
  return { weights: anim.weights.slice(i * T, i * T + T), rotations: anim.rotations.slice(i * 20, i * 20 + 20) };
}

function resample(times: Float32Array, inTimes: Float32Array, values: Float32Array, width: number, quat: boolean): Float32Array {
  const out = new Float32Array(times.length * width);
  for (let n = 0; n < times.length; n++) {
    const [i, f] = locate(inTimes, times[n]);
    const j = Math.min(i + 1, inTimes.length - 1);
    if (quat) slerpInto(out, n * width, values, i * width, values, j * width, f);
    else for (let k = 0; k < width; k++) out[n * width + k] = values[i * width + k] * (1 - f) + values[j * width + k] * f;
  }
  return out;
}

/**
 * Read every animation. `jointNodes` are the 5 FLAME joint nodes, `meshNodes` the layer nodes
 * (the first animated one supplies the morph weights), `nTargets` the morph-target count,
 * `scale` the extension's per-target scales: stored weights are divided by them, so `weights`
 * holds expression coefficients and pose-feature values (docs/bundle.md).
 */
export function readAnimations(gltf: Gltf, jointNodes: number[], meshNodes: number[], nTargets: number, scale?: number[]): AvatarAnimation[] {
  const out: AvatarAnimation[] = [];
  (gltf.doc.animations ?? []).forEach((a, ai) => {
    const field = `animations[${ai}]`;
    const chans = a.channels.map((c) => ({ c, s: a.samplers[c.sampler] }));
    const wch = chans.find((x) => x.c.target.path === 'weights' && meshNodes.includes(x.c.target.node ?? -1));
    const first = wch ?? chans[0];
    if (!first?.s) return;
    const cubic = (s: { interpolation?: string }) => s.interpolation === 'CUBICSPLINE';
    const times = gltf.accessor(first.s.input, `${field} sampler input`).data;
    const N = times.length;
    const rotations = new Float32Array(N * 20);
    for (let n = 0; n < N * 5; n++) rotations[4 * n + 3] = 1;
    jointNodes.forEach((node, q) => {
      const ch = chans.find((x) => x.c.target.node === node && x.c.target.path === 'rotation');
      if (!ch) return;
      const inT = gltf.accessor(ch.s.input, `${field} rotation input`).data;
      let vals = gltf.accessor(ch.s.output, `${field} rotation output`).data;
      if (cubic(ch.s)) vals = Float32Array.from({ length: inT.length * 4 }, (_, k) => vals[(Math.floor(k / 4) * 3 + 1) * 4 + (k % 4)]);
      const r = resample(times, inT, vals, 4, true);
      for (let n = 0; n < N; n++) rotations.set(r.subarray(4 * n, 4 * n + 4), (n * 5 + q) * 4);
    });
    let weights: Float32Array = new Float32Array(N * nTargets);
    if (wch) {
      let vals = gltf.accessor(wch.s.output, `${field} weights output`).data;
      if (cubic(wch.s)) vals = Float32Array.from({ length: N * nTargets }, (_, k) => vals[(Math.floor(k / nTargets) * 3 + 1) * nTargets + (k % nTargets)]);
      if (vals.length !== N * nTargets) gltf.fail(`${field}: weights output has ${vals.length} values; ${N} keyframes x ${nTargets} targets expected`);
      weights = vals;
      if (scale) {
        weights = Float32Array.from(vals);
        for (let k = 0; k < weights.length; k++) weights[k] /= scale[k % nTargets] || 1;
      }
    }
    out.push({ name: a.name ?? `animation ${ai}`, times, rotations, weights, nTargets, duration: N ? times[N - 1] : 0 });
  });
  return out;
}
