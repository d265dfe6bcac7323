/**
 * Draws a loaded avatar with WebGL2 exactly as bake/baked_render.py composites it: a capture
 * pass deforms every layer's vertices once (transform feedback), then layers inner -> outer, per
 * layer a fresh depth buffer, a depth-only pre-pass then the shading pass on the nearest
 * front-facing fragment (depth EQUAL), "over" blending with straight alpha, layer 0 opaque,
 * background colour underneath.
 *
 * Clip space follows conventions.ts: NDC y grows DOWN the image, so triangles that are
 * counter-clockwise as seen by the camera are clockwise in GL window space (frontFace CW).
 */
import { glProjection, invertRigid, type Mat3, type Mat4 } from '../conventions';
import type { FrameJoints } from '../flame';
import { computeFrame } from './frame_state';
import { CAPTURE_VARYINGS, captureDefines, meshDefines, shadeDefines, vertexDefines, type MorphNormals } from './variants';
import type { Avatar } from '../loader/avatar';
import { OnnxRunner } from '../onnx/interpret';
import { disposeLayer, uploadLayer, type GpuLayer } from './gpu_layer';
import { pixelModelChunk, type PixelChunk } from './pixel_program';
import { ShaderCache, type Defines } from './shader_lib';

export const NEAR = 0.1;
export const FAR = 100.0;

export type DebugView = 'none' | 'normals' | 'uv' | 'alpha' | 'coef';

/** Everything that selects how a frame is drawn (the UI edits this one object). */
export interface RenderState {
  /** Per layer: drawn or not. */
  layers: boolean[];
  /** Debug view instead of the shaded colour. */
  debug: DebugView;
  /** 'neural' = the bundle's neural shading; 'mesh' = plain textured mesh (glTF base colour). */
  mode: 'neural' | 'mesh';
  /** Fetch 4 texels and mix in float32 instead of hardware bilinear filtering. */
  exactBilinear: boolean;
  /**
   * Per-frame MLP weights via a uniform block ('ubo'), a float texture ('texture'), or baked into
   * the shader as constants ('const': recompiled whenever theta changes, for still frames).
   */
  thetaSource: 'ubo' | 'texture' | 'const';
  /** Depth pre-pass per layer (exact nearest-fragment compositing); off = one pass, LESS. */
  depthPrepass: boolean;
  /**
   * Add the layers' normal morph targets (normal blendshapes) to the normals before skinning, as
   * bake/lbs.py does; off = leave them out (a debug view of what they change). No effect on
   * layers without them.
   */
  morphNormals: boolean;
  background: [number, number, number];
}

/** Whether WebGL runs on a CPU rasteriser (SwiftShader, llvmpipe). */
export function isSoftwareRenderer(gl: WebGL2RenderingContext): boolean {
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const name = String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  return /swiftshader|llvmpipe|software/i.test(name);
}

export function defaultRenderState(avatar: Avatar, gl?: WebGL2RenderingContext): RenderState {
  return {
    layers: avatar.layers.map(() => true),
    debug: 'none',
    mode: 'neural',
    // float32 weights where hardware filtering is coarse (SwiftShader, the parity tests); on a GPU
    // the hardware weights (8 fractional bits) land 70 dB from the float32 result and the frame
    // takes 0.56x the time (H100, docs/results/gpu_gles_bench.txt)
    exactBilinear: gl ? isSoftwareRenderer(gl) : true,
    // measured in SwiftShader (bench/swiftshader.ts): UBO and texture within noise of each other
    thetaSource: 'ubo',
    depthPrepass: true,
    morphNormals: true,
    background: avatar.background,
  };
}

/** A camera as the training camera is stored: pixel intrinsics (fx < 0) and world->camera. */
export interface CameraView {
  K: Mat3;
  w2c: Mat4;
  width: number;
  height: number;
}

/** The FLAME parameters of a frame. */
export interface FrameParams {
  expression: ArrayLike<number>;
  pose: ArrayLike<number>;
}

export class AvatarRenderer {
  readonly cache: ShaderCache;
  readonly layers: GpuLayer[];
  readonly pixel: PixelChunk;
  readonly frameRunner: OnnxRunner;
  private readonly thetaUbo: WebGLBuffer;
  private readonly capture: WebGLTransformFeedback;
  private readonly thetaTex: WebGLTexture;
  private bones: Float32Array;
  private shift: Float32Array;
  private morphWeights: Float32Array;
  private theta: Float32Array;
  readonly nTargets: number;
  lastJoints: FrameJoints | null = null;
  /** Milliseconds spent in the per-frame MLP (JS) at the last setFrame. */
  frameMlpMs = 0;

  constructor(readonly gl: WebGL2RenderingContext, readonly avatar: Avatar) {
    if (!gl.getExtension('EXT_color_buffer_float')) {
      // not needed for drawing; float textures are sampled with texelFetch only
    }
    this.cache = new ShaderCache(gl);
    this.layers = avatar.layers.map((L) => uploadLayer(gl, L, L.baseColor));
    const names = avatar.ext.models.pixel.inputs;
    this.pixel = pixelModelChunk(avatar.pixelModel, `${avatar.source}: models.pixel`, { z: names[0] ?? 'z', theta: names[1] ?? 'theta', coef: avatar.ext.models.pixel.outputs[0] });
    const spec = avatar.spec;
    if (this.pixel.pixelIn !== spec.dim_pos_feature + 6)
      throw new Error(`${avatar.source}: per-pixel model input has ${this.pixel.pixelIn} values; dim_pos_feature + 6 = ${spec.dim_pos_feature + 6} expected`);
    if (this.pixel.nOut !== spec.num_texture_basis)
      throw new Error(`${avatar.source}: per-pixel model gives ${this.pixel.nOut} coefficients; num_texture_basis is ${spec.num_texture_basis}`);
    this.frameRunner = new OnnxRunner(avatar.frameModel, `${avatar.source}: models.frame`);
    this.nTargets = avatar.layers[0].nTargets;
    this.bones = new Float32Array(avatar.nBones * 16);
    this.shift = new Float32Array(avatar.nBones * 4);
    this.morphWeights = new Float32Array(Math.ceil(this.nTargets / 4) * 4);
    const vec4s = Math.ceil(this.pixel.nTheta / 4);
    this.theta = new Float32Array(vec4s * 4);
    this.thetaUbo = gl.createBuffer()!;
    gl.bindBuffer(gl.UNIFORM_BUFFER, this.thetaUbo);
    gl.bufferData(gl.UNIFORM_BUFFER, this.theta.byteLength, gl.DYNAMIC_DRAW);
    this.capture = gl.createTransformFeedback()!;
    this.thetaTex = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, this.thetaTex);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, vec4s, 1, 0, gl.RGBA, gl.FLOAT, this.theta);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    this.setFrame({ expression: new Float32Array(spec.n_exp), pose: new Float32Array(15) });
  }

  get gpuBytes(): number {
    return this.layers.reduce((s, l) => s + l.bytes, 0);
  }

  /** Per-frame CPU work: joints, pose feature, morph weights, joint-fold shift, per-frame MLP. */
  setFrame(p: FrameParams): void {
    const av = this.avatar;
    const fs = computeFrame(av, this.frameRunner, p.expression, p.pose);
    this.lastJoints = fs.joints;
    this.bones.set(fs.bones);
    this.shift.set(fs.boneShift);
    this.morphWeights.set(fs.morphWeights);
    if (fs.theta.length !== this.pixel.nTheta) throw new Error(`${av.source}: the per-frame model gives ${fs.theta.length} weights; the per-pixel model reads ${this.pixel.nTheta}`);
    this.theta.set(fs.theta);
    this.frameMlpMs = fs.frameMlpMs;
    const gl = this.gl;
    gl.bindBuffer(gl.UNIFORM_BUFFER, this.thetaUbo);
    gl.bufferSubData(gl.UNIFORM_BUFFER, 0, this.theta);
    gl.bindTexture(gl.TEXTURE_2D, this.thetaTex);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, this.theta.length / 4, 1, gl.RGBA, gl.FLOAT, this.theta);
  }

  /** The theta the last setFrame computed (tests compare it with onnxruntime). */
  get frameTheta(): Float32Array {
    return this.theta.slice(0, this.pixel.nTheta);
  }

  private vertexDefines(): Defines {
    return vertexDefines(this.nTargets, this.avatar.nBones);
  }

  shadeDefines(state: RenderState, inner: boolean): Defines {
    return shadeDefines(this.avatar.spec, this.nTargets, this.avatar.nBones, state, inner);
  }

  /** The capture pass of layer `L`: deforms every vertex once per frame into its `deformed` buffer. */
  private captureProgram(L: GpuLayer, state: RenderState): { program: WebGLProgram; vs: string } {
    const normals: MorphNormals = !L.morphNormals ? 'none' : state.morphNormals ? 'apply' : 'ignore';
    return this.cache.program('avatar.vert', 'depth.frag', captureDefines(this.nTargets, this.avatar.nBones, normals), {}, CAPTURE_VARYINGS);
  }

  /** The exact preprocessed sources the GPU compiles for `state` (native harness, debugging); capture: layer 0's. */
  shaderSources(state: RenderState): { capture: string; vertex: string; depth: string; shadeInner: string; shadeOuter: string } {
    const extra = { 'pixel_model.glsl': this.pixel.source };
    return {
      capture: this.captureProgram(this.layers[0], state).vs,
      vertex: this.cache.program('avatar.vert', 'depth.frag', this.vertexDefines()).vs,
      depth: this.cache.program('avatar.vert', 'depth.frag', this.vertexDefines()).fs,
      shadeInner: this.cache.program('avatar.vert', 'shade.frag', this.shadeDefines(state, true), extra).fs,
      shadeOuter: this.cache.program('avatar.vert', 'shade.frag', this.shadeDefines(state, false), extra).fs,
    };
  }

  private programFor(state: RenderState, inner: boolean, depthOnly: boolean): WebGLProgram {
    if (depthOnly) return this.cache.program('avatar.vert', 'depth.frag', this.vertexDefines()).program;
    if (state.mode === 'mesh') return this.cache.program('avatar.vert', 'mesh.frag', meshDefines(this.nTargets, this.avatar.nBones, inner)).program;
    return this.cache.program('avatar.vert', 'shade.frag', this.shadeDefines(state, inner), { 'pixel_model.glsl': this.pixelSource(state) }).program;
  }

  private constChunk: { theta: Float32Array; source: string } | null = null;

  /** The generated chunk for `state`: shared, or with this frame's theta as constants. */
  private pixelSource(state: RenderState): string {
    if (state.thetaSource !== 'const') return this.pixel.source;
    const theta = this.theta.subarray(0, this.pixel.nTheta);
    if (!this.constChunk || this.constChunk.theta.some((x, i) => x !== theta[i])) {
      if (this.constChunk) this.cache.evict((key) => key.includes(this.constChunk!.source));
      const names = this.avatar.ext.models.pixel.inputs;
      const src = pixelModelChunk(this.avatar.pixelModel, `${this.avatar.source}: models.pixel`, { z: names[0] ?? 'z', theta: names[1] ?? 'theta', coef: this.avatar.ext.models.pixel.outputs[0] }, theta).source;
      this.constChunk = { theta: Float32Array.from(theta), source: src };
    }
    return this.constChunk.source;
  }

  /** Compile every program `state` needs now (so the first frame does not stall). */
  warmUp(state: RenderState): void {
    for (const L of this.layers) this.captureProgram(L, state);
    this.programFor(state, true, true);
    this.programFor(state, true, false);
    if (this.layers.length > 1) this.programFor(state, false, false);
  }

  private bindCommon(prog: WebGLProgram, L: GpuLayer, viewProj: Float32Array, camPos: Float32Array, state: RenderState): void {
    const gl = this.gl;
    const u = (n: string) => gl.getUniformLocation(prog, n);
    gl.useProgram(prog);
    gl.uniformMatrix4fv(u('u_viewProj'), true, viewProj);
    gl.uniformMatrix4fv(u('u_bones[0]') ?? u('u_bones'), true, this.bones);
    gl.uniform4fv(u('u_boneShift[0]') ?? u('u_boneShift'), this.shift);
    gl.uniform4fv(u('u_morphWeights[0]') ?? u('u_morphWeights'), this.morphWeights);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, L.morphTex);
    gl.uniform1i(u('u_morphTex'), 0);
    const cp = u('u_camPos');
    if (cp) gl.uniform3fv(cp, camPos);
    const pa = u('u_posAtlas');
    if (pa) {
      gl.activeTexture(gl.TEXTURE1);
      gl.bindTexture(gl.TEXTURE_2D_ARRAY, L.posAtlas);
      gl.uniform1i(pa, 1);
      gl.activeTexture(gl.TEXTURE2);
      gl.bindTexture(gl.TEXTURE_2D_ARRAY, L.radAtlas);
      gl.uniform1i(u('u_radAtlas'), 2);
      gl.uniform1f(u('u_radSharedAlpha'), L.sharedAlpha);
      if (state.thetaSource === 'texture') {
        gl.activeTexture(gl.TEXTURE3);
        gl.bindTexture(gl.TEXTURE_2D, this.thetaTex);
        gl.uniform1i(u('u_thetaTex'), 3);
      } else {
        const bi = gl.getUniformBlockIndex(prog, 'HbTheta');
        if (bi !== gl.INVALID_INDEX) {
          gl.uniformBlockBinding(prog, bi, 0);
          gl.bindBufferBase(gl.UNIFORM_BUFFER, 0, this.thetaUbo);
        }
      }
    }
    const bc = u('u_baseColor');
    if (bc) {
      gl.activeTexture(gl.TEXTURE4);
      gl.bindTexture(gl.TEXTURE_2D, L.baseColor);
      gl.uniform1i(bc, 4);
    }
  }

  /** Draw the current frame from `cam` into the bound framebuffer (viewport = cam size). */
  draw(cam: CameraView, state: RenderState): void {
    const gl = this.gl;
    const P = glProjection(cam.K, cam.width, cam.height, NEAR, FAR);
    const VP = new Float32Array(16);
    for (let r = 0; r < 4; r++)
      for (let c = 0; c < 4; c++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += P[4 * r + k] * cam.w2c[4 * k + c];
        VP[4 * r + c] = s;
      }
    const c2w = invertRigid(cam.w2c);
    const camPos = new Float32Array([c2w[3], c2w[7], c2w[11]]);
    gl.viewport(0, 0, cam.width, cam.height);
    const bg = state.background;
    gl.clearColor(bg[0], bg[1], bg[2], 1);
    gl.depthMask(true);
    gl.colorMask(true, true, true, true);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.enable(gl.DEPTH_TEST);
    gl.enable(gl.CULL_FACE);
    gl.cullFace(gl.BACK);
    gl.frontFace(gl.CW);
    gl.blendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    // capture pass: morph targets + skinning once per vertex (not once per pass), recorded by
    // transform feedback; the passes below draw the recorded vertices
    gl.enable(gl.RASTERIZER_DISCARD);
    gl.bindTransformFeedback(gl.TRANSFORM_FEEDBACK, this.capture);
    this.layers.forEach((L, i) => {
      if (!state.layers[i]) return;
      this.bindCommon(this.captureProgram(L, state).program, L, VP, camPos, state);
      gl.bindVertexArray(L.vao);
      gl.bindBufferBase(gl.TRANSFORM_FEEDBACK_BUFFER, 0, L.deformed);
      gl.beginTransformFeedback(gl.POINTS);
      gl.drawArrays(gl.POINTS, 0, L.vertexCount);
      gl.endTransformFeedback();
    });
    gl.bindBufferBase(gl.TRANSFORM_FEEDBACK_BUFFER, 0, null);
    gl.bindTransformFeedback(gl.TRANSFORM_FEEDBACK, null);
    gl.disable(gl.RASTERIZER_DISCARD);
    this.layers.forEach((L, i) => {
      if (!state.layers[i]) return;
      const inner = i === 0;
      gl.depthMask(true);
      gl.clear(gl.DEPTH_BUFFER_BIT);
      gl.bindVertexArray(L.drawVao);
      if (state.depthPrepass) {
        this.bindCommon(this.programFor(state, inner, true), L, VP, camPos, state);
        gl.colorMask(false, false, false, false);
        gl.disable(gl.BLEND);
        gl.depthFunc(gl.LESS);
        gl.drawElements(gl.TRIANGLES, L.indexCount, gl.UNSIGNED_INT, 0);
        gl.colorMask(true, true, true, true);
        gl.depthMask(false);
        gl.depthFunc(gl.EQUAL);
      } else {
        gl.depthFunc(gl.LESS);
      }
      gl.enable(gl.BLEND);
      this.bindCommon(this.programFor(state, inner, false), L, VP, camPos, state);
      gl.drawElements(gl.TRIANGLES, L.indexCount, gl.UNSIGNED_INT, 0);
    });
    gl.bindVertexArray(null);
    gl.depthMask(true);
    gl.depthFunc(gl.LESS);
  }

  dispose(): void {
    for (const L of this.layers) disposeLayer(this.gl, L);
    this.gl.deleteBuffer(this.thetaUbo);
    this.gl.deleteTransformFeedback(this.capture);
    this.gl.deleteTexture(this.thetaTex);
    this.cache.dispose();
  }
}
