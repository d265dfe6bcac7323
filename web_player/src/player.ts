/**
 * The player: owns the WebGL2 context, the loaded avatar and its renderer, the animation clock,
 * user offsets (expression / jaw / eyes), the orbit camera and frame statistics. No DOM beyond
 * the canvas; the panel (ui/panel.ts) edits its public fields.
 */
import { type Mat4 } from './conventions';
import { quatToAxisAngle } from './flame';
import { animationFrame, sampleAnimation } from './loader/animation';
import { browserImageDecoder, loadAvatar, type Avatar, type Progress } from './loader/avatar';
import { BundleError } from './loader/errors';
import { AvatarRenderer, defaultRenderState, type CameraView, type FrameParams, type RenderState } from './render/renderer';

export interface PlayerOptions {
  /** Fixed clock: time advances by exactly 1/fps per rendered frame (tests). */
  fixedClock?: boolean;
  /** Displayed width in pixels (the training camera is scaled to it); default: training width. */
  size?: number;
}

export class Player {
  readonly gl: WebGL2RenderingContext;
  avatar: Avatar | null = null;
  renderer: AvatarRenderer | null = null;
  state: RenderState | null = null;
  animIndex = 0;
  /** Animation time in seconds. */
  time = 0;
  playing = true;
  speed = 1;
  /** User offsets added to the animation: expression (E), and pose (15, axis-angle). */
  exprOffset = new Float32Array(0);
  poseOffset = new Float32Array(15);
  /** Orbit camera: yaw/pitch (radians) about the head centre, zoom factor (>1 = closer). */
  orbit = { yaw: 0, pitch: 0, zoom: 1 };
  /** Head centre (original space) the orbit turns around. */
  centre: [number, number, number] = [0, 0, 0];
  frameCount = 0;
  /** Show this exact keyframe (deterministic mode) until playback or scrubbing moves on. */
  pinnedFrame: number | undefined = undefined;
  private pending = 0;
  /** Rolling frame statistics (ms). */
  stats = { fps: 0, cpuMs: 0, frameMlpMs: 0 };
  private frameTimes: number[] = [];
  private last = 0;
  private raf = 0;
  onFrame: (() => void) | null = null;
  onLoaded: ((a: Avatar) => void) | null = null;

  constructor(readonly canvas: HTMLCanvasElement, readonly options: PlayerOptions = {}) {
    const gl = canvas.getContext('webgl2', { antialias: false, alpha: false, depth: true, premultipliedAlpha: false, preserveDrawingBuffer: true, powerPreference: 'high-performance' });
    if (!gl) throw new Error('This browser has no WebGL2: the headbake player needs it.');
    this.gl = gl;
  }

  /** Load a bundle from bytes; on failure the previous avatar stays and a BundleError is thrown. */
  async load(data: ArrayBuffer, name: string, onProgress?: Progress): Promise<Avatar> {
    const avatar = await loadAvatar(data, name, browserImageDecoder, onProgress);
    const renderer = new AvatarRenderer(this.gl, avatar);
    const state = defaultRenderState(avatar, this.gl);
    try {
      renderer.warmUp(state);
    } catch (e) {
      renderer.dispose();
      throw new BundleError(`${name}: the shaders generated for this bundle do not compile: ${(e as Error).message}`, 'unsupported');
    }
    this.renderer?.dispose();
    this.avatar = avatar;
    this.renderer = renderer;
    this.state = state;
    this.exprOffset = new Float32Array(avatar.spec.n_exp);
    this.poseOffset = new Float32Array(15);
    this.animIndex = 0;
    this.time = 0;
    this.resetCamera();
    const L0 = avatar.layers[0];
    const c = [0, 0, 0];
    for (let i = 0; i < L0.vertexCount; i++) for (let a = 0; a < 3; a++) c[a] += L0.positions[3 * i + a] / L0.vertexCount;
    this.centre = [c[0], c[1], c[2]];
    this.onLoaded?.(avatar);
    return avatar;
  }

  async loadUrl(url: string, onProgress?: Progress): Promise<Avatar> {
    onProgress?.(0, `downloading ${url}`);
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new BundleError(`${url}: cannot be downloaded (${(e as Error).message})`);
    }
    if (!res.ok) throw new BundleError(`${url}: HTTP ${res.status} ${res.statusText}`);
    const total = Number(res.headers.get('Content-Length') ?? 0);
    let data: ArrayBuffer;
    if (res.body) {
      // stream for the progress bar; Content-Length may be the compressed size, so only a hint
      const reader = res.body.getReader();
      const chunks: Uint8Array[] = [];
      let at = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        at += value.length;
        const of = total > 0 ? ` / ${(total / 1e6).toFixed(1)}` : '';
        onProgress?.(total > 0 ? 0.3 * Math.min(1, at / total) : 0.1, `downloading ${(at / 1e6).toFixed(1)}${of} MB`);
      }
      const out = new Uint8Array(at);
      let o = 0;
      for (const c of chunks) {
        out.set(c, o);
        o += c.length;
      }
      data = out.buffer;
    } else data = await res.arrayBuffer();
    const name = url.split('/').pop()?.split('?')[0] || url;
    return this.load(data, name, (f, l) => onProgress?.(0.3 + 0.7 * f, l));
  }

  resetCamera(): void {
    this.orbit = { yaw: 0, pitch: 0, zoom: 1 };
  }

  /** The camera to draw with: the training camera, orbited/zoomed, scaled to the display size. */
  camera(): CameraView {
    const cam = this.avatar?.camera;
    const base = cam ?? { K: new Float64Array([-1200, 0, 256, 0, 1200, 256, 0, 0, 1]), w2c: new Float64Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, -4.5, 0, 0, 0, 1]), width: 512, height: 512 };
    const s = this.options.size ? this.options.size / base.width : 1;
    const width = Math.round(base.width * s), height = Math.round(base.height * s);
    const K = new Float64Array(base.K);
    for (let i = 0; i < 6; i++) K[i] *= s;
    // orbit: rotate the world about the centre (yaw about world y, pitch about camera x), dolly
    const { yaw, pitch, zoom } = this.orbit;
    const c = this.centre;
    const cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
    // R = Rx(pitch) Ry(yaw), row-major
    const R = [cy, 0, sy, sp * sy, cp, -sp * cy, -cp * sy, sp, cp * cy];
    const M = new Float64Array(16);
    for (let r = 0; r < 3; r++) {
      for (let q = 0; q < 3; q++) M[4 * r + q] = R[3 * r + q];
      M[4 * r + 3] = c[r] - (R[3 * r] * c[0] + R[3 * r + 1] * c[1] + R[3 * r + 2] * c[2]);
    }
    M[15] = 1;
    const w2c: Mat4 = new Float64Array(16);
    for (let r = 0; r < 4; r++) for (let q = 0; q < 4; q++) for (let k = 0; k < 4; k++) w2c[4 * r + q] += base.w2c[4 * r + k] * M[4 * k + q];
    if (zoom !== 1) {
      const zc = base.w2c[8] * c[0] + base.w2c[9] * c[1] + base.w2c[10] * c[2] + base.w2c[11];
      w2c[11] += -zc * (1 - 1 / zoom);
    }
    return { K, w2c, width, height };
  }

  /** FLAME parameters at the current time (or keyframe `frame`), plus the user offsets. */
  frameParams(frame?: number): FrameParams {
    const av = this.avatar!;
    const E = av.spec.n_exp;
    const expression = new Float32Array(E);
    const pose = new Float32Array(15);
    const anim = av.animations[this.animIndex];
    if (anim) {
      const s = frame !== undefined ? animationFrame(anim, frame) : sampleAnimation(anim, this.time);
      for (let e = 0; e < Math.min(E, av.ext.morphTargets.expression); e++) expression[e] = s.weights[e];
      for (let j = 0; j < 5; j++) pose.set(quatToAxisAngle(s.rotations.subarray(4 * j, 4 * j + 4)), 3 * j);
    }
    for (let e = 0; e < E; e++) expression[e] += this.exprOffset[e];
    for (let i = 0; i < 15; i++) pose[i] += this.poseOffset[i];
    return { expression, pose };
  }

  get duration(): number {
    return this.avatar?.animations[this.animIndex]?.duration ?? 0;
  }

  get keyframes(): number {
    return this.avatar?.animations[this.animIndex]?.times.length ?? 0;
  }

  /** Render one frame now. `frame` = exact keyframe index (default: the pinned one, if any). */
  renderNow(frame: number | undefined = this.pinnedFrame): void {
    if (!this.renderer || !this.state) return;
    const t0 = performance.now();
    this.renderer.setFrame(this.frameParams(frame));
    this.renderer.draw(this.camera(), this.state);
    this.stats.cpuMs = performance.now() - t0;
    this.stats.frameMlpMs = this.renderer.frameMlpMs;
    this.frameCount++;
  }

  private tick = (now: number): void => {
    this.raf = requestAnimationFrame(this.tick);
    const dt = this.last ? (now - this.last) / 1000 : 0;
    this.last = now;
    if (this.playing && this.avatar) {
      const step = this.options.fixedClock ? 1 / 25 : dt;
      const d = this.duration;
      this.time += step * this.speed;
      if (d > 0) this.time = ((this.time % d) + d) % d;
    }
    this.renderNow();
    if (dt > 0) {
      this.frameTimes.push(dt);
      if (this.frameTimes.length > 30) this.frameTimes.shift();
      this.stats.fps = this.frameTimes.length / this.frameTimes.reduce((a, b) => a + b, 0);
    }
    this.onFrame?.();
  };

  /** Paused: draw once on the next animation frame (controls changed). Playing: nothing to do. */
  requestRender(): void {
    if (this.raf || this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.renderNow();
      this.onFrame?.();
    });
  }

  /** Start or stop playback (the render loop runs only while playing). */
  setPlaying(on: boolean): void {
    this.playing = on;
    if (on) {
      if (this.pinnedFrame !== undefined) {
        const anim = this.avatar?.animations[this.animIndex];
        if (anim) this.time = anim.times[Math.min(this.pinnedFrame, anim.times.length - 1)];
        this.pinnedFrame = undefined;
      }
      this.start();
    } else {
      this.stop();
      this.requestRender();
    }
  }

  start(): void {
    if (!this.raf) {
      this.last = 0;
      this.raf = requestAnimationFrame(this.tick);
    }
  }

  stop(): void {
    cancelAnimationFrame(this.raf);
    this.raf = 0;
  }

  /**
   * Time `n` frames back to back (setFrame + draw), synchronised with a 1-pixel readback.
   * `advance` = false keeps the animation time (a still frame: the 'const' theta variant).
   */
  bench(n: number, advance = true): { msPerFrame: number; fps: number } {
    const gl = this.gl;
    const px = new Uint8Array(4);
    this.renderNow();
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      if (advance) this.time += 1 / 25;
      if (this.duration > 0) this.time %= this.duration;
      this.renderNow();
    }
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
    const ms = (performance.now() - t0) / n;
    return { msPerFrame: ms, fps: 1000 / ms };
  }

  /** The framebuffer as an image (row 0 = image row 0): RGBA bytes, width, height. */
  readImage(): { width: number; height: number; data: Uint8Array } {
    const gl = this.gl;
    const w = gl.drawingBufferWidth, h = gl.drawingBufferHeight;
    const data = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, data);
    return { width: w, height: h, data };
  }
}
