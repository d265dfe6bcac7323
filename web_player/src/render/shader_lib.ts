/**
 * Shader chunks (src/shaders/*.glsl|vert|frag, plain GLSL ES 3.00) assembled by `#include "x"`,
 * permutations chosen by `#define` lists, each variant compiled and linked once (cache).
 * `preprocess` is pure (used by the native-harness dump too).
 */

const files = import.meta.glob('../shaders/*', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;
export const SHADER_CHUNKS: Record<string, string> = Object.fromEntries(
  Object.entries(files).map(([path, src]) => [path.split('/').pop()!, src]),
);

export type Defines = Record<string, string | number | boolean | undefined>;

/** Resolve includes (from `chunks`, then `extra`) and insert the defines after #version. */
export function preprocess(name: string, defines: Defines = {}, extra: Record<string, string> = {}, chunks = SHADER_CHUNKS): string {
  const seen = new Set<string>();
  const resolve = (file: string, depth: number): string => {
    const src = extra[file] ?? chunks[file];
    if (src === undefined) throw new Error(`shader chunk "${file}" not found (known: ${Object.keys({ ...chunks, ...extra }).join(', ')})`);
    if (depth > 16) throw new Error(`shader chunk "${file}": #include nested too deep`);
    if (seen.has(file)) return `// (already included: ${file})`;
    seen.add(file);
    return src.replace(/^[ \t]*#include\s+"([^"]+)"[ \t]*$/gm, (_, inc: string) => `// --- begin ${inc}\n${resolve(inc, depth + 1)}\n// --- end ${inc}`);
  };
  const body = resolve(name, 0);
  const lines = Object.entries(defines)
    .filter(([, v]) => v !== undefined && v !== false)
    .map(([k, v]) => (v === true ? `#define ${k}` : `#define ${k} ${v}`));
  const m = body.match(/^\s*#version[^\n]*\n/);
  if (!m) throw new Error(`shader "${name}" must start with #version 300 es`);
  return m[0] + lines.join('\n') + (lines.length ? '\n' : '') + body.slice(m[0].length);
}

function annotate(src: string, log: string): string {
  const lines = src.split('\n');
  const nums = [...log.matchAll(/ERROR: \d+:(\d+)/g)].map((m) => Number(m[1]));
  const around = nums.slice(0, 3).flatMap((n) => lines.slice(Math.max(0, n - 3), n + 2).map((l, i) => `${Math.max(1, n - 2) + i}: ${l}`));
  return around.length ? `\n${around.join('\n')}` : '';
}

export class ShaderCache {
  private programs = new Map<string, WebGLProgram>();
  private shaders = new Map<string, WebGLShader>();
  compileMs = 0;
  constructor(private readonly gl: WebGL2RenderingContext) {}

  private shader(type: number, src: string): WebGLShader {
    const hit = this.shaders.get(src);
    if (hit) return hit;
    const gl = this.gl;
    const s = gl.createShader(type)!;
    gl.shaderSource(s, src);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) {
      const log = gl.getShaderInfoLog(s) ?? '';
      gl.deleteShader(s);
      throw new Error(`shader compile failed: ${log}${annotate(src, log)}`);
    }
    this.shaders.set(src, s);
    return s;
  }

  /**
   * Program for (vertex, fragment) chunk names under `defines` (+ generated chunks); with
   * `varyings`, those outputs are recorded by transform feedback (interleaved).
   */
  program(vert: string, frag: string, defines: Defines, extra: Record<string, string> = {}, varyings: string[] = []): { program: WebGLProgram; vs: string; fs: string } {
    const vs = preprocess(vert, defines, extra);
    const fs = preprocess(frag, defines, extra);
    const key = `${vs}\u0000${fs}\u0000${varyings.join(',')}`;
    let p = this.programs.get(key);
    if (!p) {
      const t0 = performance.now();
      const gl = this.gl;
      p = gl.createProgram()!;
      gl.attachShader(p, this.shader(gl.VERTEX_SHADER, vs));
      gl.attachShader(p, this.shader(gl.FRAGMENT_SHADER, fs));
      gl.bindAttribLocation(p, 0, 'a_position');
      gl.bindAttribLocation(p, 1, 'a_normal');
      gl.bindAttribLocation(p, 2, 'a_uv');
      gl.bindAttribLocation(p, 3, 'a_joints');
      gl.bindAttribLocation(p, 4, 'a_weights');
      gl.bindAttribLocation(p, 5, 'a_world');
      gl.bindAttribLocation(p, 6, 'a_wnormal');
      if (varyings.length) gl.transformFeedbackVaryings(p, varyings, gl.INTERLEAVED_ATTRIBS);
      gl.linkProgram(p);
      if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(`shader link failed (${vert} + ${frag}): ${gl.getProgramInfoLog(p)}`);
      this.compileMs += performance.now() - t0;
      this.programs.set(key, p);
    }
    return { program: p, vs, fs };
  }

  /** Drop programs whose (vertex + fragment source) key matches (e.g. a stale constants variant). */
  evict(match: (key: string) => boolean): void {
    for (const [key, p] of [...this.programs]) {
      if (!match(key)) continue;
      this.gl.deleteProgram(p);
      this.programs.delete(key);
      const fs = key.split('\u0000')[1];
      const s = this.shaders.get(fs);
      if (s) {
        this.gl.deleteShader(s);
        this.shaders.delete(fs);
      }
    }
  }

  dispose(): void {
    for (const p of this.programs.values()) this.gl.deleteProgram(p);
    for (const s of this.shaders.values()) this.gl.deleteShader(s);
    this.programs.clear();
    this.shaders.clear();
  }
}
