import { describe, expect, it } from 'vitest';
import type { AvatarLayer } from '../../src/loader/avatar';
import { morphTextureData } from '../../src/render/gpu_layer';
import { preprocess, SHADER_CHUNKS } from '../../src/render/shader_lib';
import { captureDefines } from '../../src/render/variants';

describe('shader chunks', () => {
  it('are plain GLSL ES 3.00 files', () => {
    for (const name of ['avatar.vert', 'shade.frag', 'depth.frag', 'mesh.frag']) expect(SHADER_CHUNKS[name]).toMatch(/^#version 300 es/);
    for (const name of ['deform.glsl', 'atlas.glsl']) expect(SHADER_CHUNKS[name]).toBeTruthy();
  });
  it('resolves #include and inserts defines right after #version', () => {
    const src = preprocess('avatar.vert', { N_TARGETS: 52, N_BONES: 6, MORPH_TEX_SHIFT: 11, OFF: false, ON: true });
    expect(src.split('\n').slice(0, 5)).toEqual(['#version 300 es', '#define N_TARGETS 52', '#define N_BONES 6', '#define MORPH_TEX_SHIFT 11', '#define ON']);
    expect(src).toContain('void hb_deform(');
    expect(src).not.toMatch(/#include/);
  });
  it('uses generated chunks and reports a missing one', () => {
    const src = preprocess('shade.frag', {}, { 'pixel_model.glsl': '// generated' });
    expect(src).toContain('// generated');
    expect(() => preprocess('shade.frag', {})).toThrow(/shader chunk "pixel_model.glsl" not found/);
  });
});

describe('normal morph targets', () => {
  it('only layers with them get another capture variant', () => {
    // without normal targets: the defines of before
    expect(captureDefines(26, 6)).toEqual({ N_TARGETS: 26, N_BONES: 6, MORPH_TEX_SHIFT: 11, MORPH_TEXELS: undefined, MORPH_NORMALS: false });
    const lines = (n: 'apply' | 'ignore') => preprocess('avatar.vert', captureDefines(26, 6, n)).split('\n').slice(1, 6);
    expect(lines('apply')).toEqual(['#define N_TARGETS 26', '#define N_BONES 6', '#define MORPH_TEX_SHIFT 11', '#define MORPH_TEXELS 2', '#define MORPH_NORMALS']);
    expect(lines('ignore').slice(0, 4)).toEqual(['#define N_TARGETS 26', '#define N_BONES 6', '#define MORPH_TEX_SHIFT 11', '#define MORPH_TEXELS 2']);
    expect(lines('ignore')[4]).not.toMatch(/#define/);
  });
  it('interleave with the position deltas in the morph texture', () => {
    // 2 vertices x 2 targets; deltas numbered (v * T + t) * 3 + axis
    const L = { vertexCount: 2, nTargets: 2, targets: Float32Array.from({ length: 12 }, (_, i) => i), normalTargets: null } as unknown as AvatarLayer;
    const plain = morphTextureData(L);
    expect([plain.texels, plain.width, plain.rows]).toEqual([1, 2048, 1]);
    expect(Array.from(plain.data.subarray(0, 8))).toEqual([0, 1, 2, 0, 3, 4, 5, 0]);
    const withN = morphTextureData({ ...L, normalTargets: Float32Array.from({ length: 12 }, (_, i) => -i) });
    expect(withN.texels).toBe(2);
    // texel 2 (v T + t): position delta, the next one: normal delta
    expect(Array.from(withN.data.subarray(8 * 3, 8 * 3 + 8))).toEqual([9, 10, 11, 0, -9, -10, -11, 0]);
  });
});
