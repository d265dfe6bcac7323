/**
 * The GLSL generated from the per-pixel ONNX model, compiled and run by a real GL compiler
 * (Chromium's SwiftShader) on random inputs, vs onnxruntime (fixture from make_fixtures.py).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeModel } from '../../src/onnx/model';
import { pixelModelChunk } from '../../src/render/pixel_program';
import { launchBrowser, type BrowserHandle } from './harness';

const fx = JSON.parse(readFileSync(new URL('../fixtures/onnx.json', import.meta.url), 'utf8'));
let chrome: BrowserHandle;

beforeAll(async () => {
  chrome = await launchBrowser();
});
afterAll(async () => {
  await chrome?.close();
});

it('generated per-pixel shader on the GPU matches onnxruntime (theta via UBO and via texture)', async () => {
  const model = decodeModel(new Uint8Array(readFileSync(new URL('../fixtures/onnx/pixel.onnx', import.meta.url))), 'pixel.onnx');
  const chunk = pixelModelChunk(model, 'pixel.onnx');
  const c = fx.cases.pixel;
  const [N, D] = c.inputs.z.dims as number[];
  const K = c.outputs.coef.dims[1] as number;
  const page = await chrome.browser.newPage();
  await page.setContent('<!doctype html><html><body></body></html>');
  const results = await page.evaluate(
    ({ chunk, z, theta, N, D, K }) => {
      const canvas = document.createElement('canvas');
      const gl = canvas.getContext('webgl2')!;
      if (!gl.getExtension('EXT_color_buffer_float')) return { error: 'no EXT_color_buffer_float' };
      const groups = Math.ceil(K / 4);
      const run = (thetaTexture: boolean) => {
        const vs = `#version 300 es\nvoid main(){ vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2)); gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0); }`;
        const fs = `#version 300 es\nprecision highp float;\nprecision highp int;\n${thetaTexture ? '#define THETA_TEXTURE\n' : ''}#define PIXEL_IN ${D}\n#define NUM_BASIS ${K}\n${chunk}\nuniform highp sampler2D u_z;\nuniform int u_group;\nout vec4 o;\nvoid main(){ int n = int(gl_FragCoord.y); float zz[PIXEL_IN]; for (int i = 0; i < PIXEL_IN; i++) zz[i] = texelFetch(u_z, ivec2(i, n), 0).r; float coef[NUM_BASIS]; hb_pixel_model(zz, coef); vec4 r = vec4(0.0); for (int j = 0; j < 4; j++) { int k = 4 * u_group + j; if (k < NUM_BASIS) r[j] = coef[k]; } o = r; }`;
        const sh = (t: number, s: string) => {
          const x = gl.createShader(t)!;
          gl.shaderSource(x, s);
          gl.compileShader(x);
          if (!gl.getShaderParameter(x, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(x) ?? 'compile');
          return x;
        };
        const prog = gl.createProgram()!;
        gl.attachShader(prog, sh(gl.VERTEX_SHADER, vs));
        gl.attachShader(prog, sh(gl.FRAGMENT_SHADER, fs));
        gl.linkProgram(prog);
        if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(prog) ?? 'link');
        gl.useProgram(prog);
        const tex = (w: number, h: number, fmt: number, f: number, data: Float32Array) => {
          const t = gl.createTexture()!;
          gl.bindTexture(gl.TEXTURE_2D, t);
          gl.texImage2D(gl.TEXTURE_2D, 0, fmt, w, h, 0, f, gl.FLOAT, data);
          gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
          gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
          return t;
        };
        const P4 = Math.ceil(theta.length / 4);
        const th = new Float32Array(P4 * 4);
        th.set(theta);
        gl.activeTexture(gl.TEXTURE0);
        tex(D, N, gl.R32F, gl.RED, Float32Array.from(z));
        gl.uniform1i(gl.getUniformLocation(prog, 'u_z'), 0);
        if (thetaTexture) {
          gl.activeTexture(gl.TEXTURE1);
          tex(P4, 1, gl.RGBA32F, gl.RGBA, th);
          gl.uniform1i(gl.getUniformLocation(prog, 'u_thetaTex'), 1);
        } else {
          const ubo = gl.createBuffer();
          gl.bindBuffer(gl.UNIFORM_BUFFER, ubo);
          gl.bufferData(gl.UNIFORM_BUFFER, th, gl.STATIC_DRAW);
          gl.uniformBlockBinding(prog, gl.getUniformBlockIndex(prog, 'HbTheta'), 0);
          gl.bindBufferBase(gl.UNIFORM_BUFFER, 0, ubo);
        }
        const target = gl.createTexture()!;
        gl.activeTexture(gl.TEXTURE2);
        gl.bindTexture(gl.TEXTURE_2D, target);
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, 1, N, 0, gl.RGBA, gl.FLOAT, null);
        const fb = gl.createFramebuffer();
        gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
        gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, target, 0);
        gl.viewport(0, 0, 1, N);
        const out = new Float32Array(N * K);
        const px = new Float32Array(4 * N);
        for (let g = 0; g < groups; g++) {
          gl.uniform1i(gl.getUniformLocation(prog, 'u_group'), g);
          gl.drawArrays(gl.TRIANGLES, 0, 3);
          gl.readPixels(0, 0, 1, N, gl.RGBA, gl.FLOAT, px);
          for (let n = 0; n < N; n++) for (let j = 0; j < 4; j++) if (4 * g + j < K) out[n * K + 4 * g + j] = px[4 * n + j];
        }
        return Array.from(out);
      };
      return { ubo: run(false), texture: run(true) };
    },
    { chunk: chunk.source, z: c.inputs.z.data, theta: c.inputs.theta.data, N, D, K },
  );
  expect((results as { error?: string }).error).toBeUndefined();
  const ref: number[] = c.outputs.coef.data;
  for (const key of ['ubo', 'texture'] as const) {
    const got = (results as unknown as Record<string, number[]>)[key];
    let err = 0;
    for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(got[i] - ref[i]));
    console.log(`GPU-compiled per-pixel model (theta ${key}): max abs error vs onnxruntime ${err.toExponential(2)} over ${N}x${K}`);
    // float32 on both sides; SwiftShader's exp() is a few ulp off (measured ~1e-6)
    expect(err).toBeLessThan(1e-4);
  }
  await page.close();
});
