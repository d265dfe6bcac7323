/**
 * Per-frame CPU work, as plain arrays (uploaded by the renderer, dumped for the native harness):
 * bone matrices, joint-fold shift, morph weights, and the per-frame MLP's output theta.
 */
import { frameJoints, type FrameJoints } from '../flame';
import type { Avatar } from '../loader/avatar';
import type { OnnxRunner } from '../onnx/interpret';

export interface FrameState {
  joints: FrameJoints;
  /** (nBones*16) row-major A_j. */
  bones: Float32Array;
  /** (nBones*4) xyz = J_j(psi) - J_j^0 when the expression targets carry the joint fold. */
  boneShift: Float32Array;
  /** (ceil(T/4)*4): expression coefficients, then the pose feature at each pose target. */
  morphWeights: Float32Array;
  /** Per-pixel MLP weights (P), the per-frame model's output. */
  theta: Float32Array;
  frameMlpMs: number;
}

export function computeFrame(av: Avatar, runner: OnnxRunner, expression: ArrayLike<number>, pose: ArrayLike<number>): FrameState {
  const E = av.spec.n_exp;
  const fj = frameJoints(av.joints, expression, pose);
  const bones = Float32Array.from(fj.A);
  const boneShift = new Float32Array(av.nBones * 4);
  if (av.jointFold) {
    const g = av.joints.ghostbone ? 1 : 0;
    for (let j = 0; j < 5; j++) for (let a = 0; a < 3; a++) boneShift[4 * (j + g) + a] = fj.joints[3 * j + a] - av.joints.template[3 * j + a];
  }
  const mt = av.ext.morphTargets;
  const T = mt.expression + mt.pose.length;
  const morphWeights = new Float32Array(Math.ceil(T / 4) * 4);
  // stored deltas are normalised per target: weight = value x scale (docs/bundle.md, morphTargets.scale)
  for (let e = 0; e < mt.expression; e++) morphWeights[e] = (expression[e] ?? 0) * mt.scale[e];
  mt.pose.forEach((q, k) => (morphWeights[mt.expression + k] = fj.poseFeature[q] * mt.scale[mt.expression + k]));
  const t0 = performance.now();
  const [ein, pin] = av.ext.models.frame.inputs.length === 2 ? av.ext.models.frame.inputs : ['expression', 'pose'];
  const out = runner.run({
    [ein]: { dims: [1, E], data: Float32Array.from({ length: E }, (_, i) => expression[i] ?? 0) },
    [pin]: { dims: [1, 15], data: Float32Array.from(pose) },
  });
  const theta = out[av.ext.models.frame.outputs[0] ?? Object.keys(out)[0]].data;
  return { joints: fj, bones, boneShift, morphWeights, theta, frameMlpMs: performance.now() - t0 };
}
