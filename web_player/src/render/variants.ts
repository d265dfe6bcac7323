/** The #define sets of the player's shader variants (shared by the renderer and the native-harness dump). */
import type { ShadingSpec } from '../loader/hb_extension';
import type { Defines } from './shader_lib';

export const MORPH_TEX_SHIFT = 11; // morph texture width 2048 texels

export interface VariantOptions {
  exactBilinear: boolean;
  thetaSource: 'ubo' | 'texture' | 'const';
  debug: 'none' | 'normals' | 'uv' | 'alpha' | 'coef';
}

/**
 * A layer's normal morph targets in the capture pass: 'none' = the layer has none (one texel per
 * (vertex, target)); 'apply' = two texels, the normal deltas are added before skinning;
 * 'ignore' = two texels, the normal deltas are left out (a debug view of what they change).
 */
export type MorphNormals = 'none' | 'apply' | 'ignore';

/** The capture pass (avatar.vert deforms; transform feedback records v_world, v_normal). */
export function captureDefines(nTargets: number, nBones: number, normals: MorphNormals = 'none'): Defines {
  return {
    N_TARGETS: nTargets,
    N_BONES: nBones,
    MORPH_TEX_SHIFT,
    MORPH_TEXELS: normals === 'none' ? undefined : 2,
    MORPH_NORMALS: normals === 'apply',
  };
}

/** The varyings the capture pass records, interleaved (a_world, a_wnormal of the later passes). */
export const CAPTURE_VARYINGS = ['v_world', 'v_normal'];

/** The depth pre-pass and the shading passes: vertices already deformed by the capture pass. */
export function vertexDefines(nTargets: number, nBones: number): Defines {
  return { ...captureDefines(nTargets, nBones), PREDEFORMED: true };
}

export function shadeDefines(spec: ShadingSpec, nTargets: number, nBones: number, o: VariantOptions, inner: boolean): Defines {
  return {
    ...vertexDefines(nTargets, nBones),
    DIM_POS: spec.dim_pos_feature,
    NUM_BASIS: spec.num_texture_basis,
    PIXEL_IN: spec.dim_pos_feature + 6,
    INNER_LAYER: inner,
    EXACT_BILINEAR: o.exactBilinear,
    THETA_TEXTURE: o.thetaSource === 'texture',
    DEBUG_NORMALS: o.debug === 'normals',
    DEBUG_UV: o.debug === 'uv',
    DEBUG_ALPHA: o.debug === 'alpha',
    DEBUG_COEF: o.debug === 'coef',
  };
}

export function meshDefines(nTargets: number, nBones: number, inner: boolean): Defines {
  return { ...vertexDefines(nTargets, nBones), INNER_LAYER: inner };
}
