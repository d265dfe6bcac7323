import { describe, expect, it } from 'vitest';
import { preprocess, SHADER_CHUNKS } from '../../src/render/shader_lib';

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
