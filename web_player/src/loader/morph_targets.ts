/**
 * A layer primitive's morph targets (glTF `targets`) as the player uploads them: the POSITION
 * deltas and, in bundles with normal blendshapes, the NORMAL deltas (every target or none).
 * Both are stored divided by the same per-target scale (HB_neural_shading morphTargets.scale),
 * so one morph weight drives both (docs/bundle.md).
 */
import type { Gltf, GltfPrimitive } from './gltf';

export interface MorphTargets {
  /** Position deltas, vertex-major: element ((v * T + t) * 3 + axis). */
  positions: Float32Array;
  /** Normal deltas in the same layout; null when the targets have no NORMAL. */
  normals: Float32Array | null;
}

/** Read the `T` targets of `prim` (`V` vertices); `field` names the layer in messages. */
export function readMorphTargets(gltf: Gltf, prim: GltfPrimitive, V: number, T: number, field: string): MorphTargets {
  const tl = prim.targets ?? [];
  if (tl.length !== T) gltf.fail(`${field}: mesh has ${tl.length} morph targets; the extension declares ${T}`);
  const lacking = tl.findIndex((t) => t.NORMAL === undefined);
  const withNormal = tl.filter((t) => t.NORMAL !== undefined).length;
  if (withNormal > 0 && lacking >= 0)
    gltf.fail(`${field}.targets[${lacking}].NORMAL: missing, while ${withNormal} of the ${T} morph targets have NORMAL deltas (normal blendshapes need all or none)`);
  const read = (key: 'POSITION' | 'NORMAL'): Float32Array => {
    const out = new Float32Array(V * T * 3);
    tl.forEach((t, ti) => {
      if (t[key] === undefined) return; // a target may leave POSITION out: zero deltas
      const f = `${field}.targets[${ti}].${key}`;
      const d = gltf.accessor(t[key], f);
      if (d.count !== V || d.width !== 3) gltf.fail(`${f}: ${d.count} x ${d.width} deltas; ${V} x 3 expected (one VEC3 per vertex)`);
      for (let v = 0; v < V; v++) for (let a = 0; a < 3; a++) out[(v * T + ti) * 3 + a] = d.data[3 * v + a];
    });
    return out;
  };
  return { positions: read('POSITION'), normals: withNormal ? read('NORMAL') : null };
}
