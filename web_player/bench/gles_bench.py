"""Native GPU timing of the web player's own shaders (EGL, no browser).

    python3 web_player/bench/gles_bench.py DUMP [DUMP ...] [--sizes 512 1024] [--frames 300] [--out DIR]

Each DUMP is a folder written by `npm run bench:dump` (the exact preprocessed GLSL ES 3.00
sources the player compiles, the vertex arrays / morph texture / atlases it uploads, and one
frame's uniforms); several dumps (e.g. of two versions of the shaders) are timed side by side,
each variant named `<dump folder>/<variant>`. A frame is drawn the way `src/render/renderer.ts`
draws it: a capture pass deforming each layer's vertices once (transform feedback; dumps
that have one), then per layer inner -> outer a fresh depth buffer, depth pre-pass, shading pass with depth
EQUAL, "over" blending, frontFace CW (variants with `"prepass": false`: one pass, depth LESS).
The shaders are compiled as `#version 300 es` in a desktop GL 4.3+ context created through EGL
by moderngl (ARB_ES3_compatibility accepts ES 3.00 shaders unchanged).

The hot loop calls GL through ctypes (moderngl only creates the objects), and per size and
variant it reports separately:
  gpu_ms      GPU time per frame: median of per-frame GL_TIME_ELAPSED queries, uniforms set once
              (a still frame; the CPU submits a frame in far less time than the GPU draws it,
              so the GPU never waits for commands; results are read after the whole run)
  batch_ms    one GL_TIME_ELAPSED query around all those frames / frames (throughput)
  player_gpu_ms / player_cpu_ms   the same with every uniform re-sent before every draw, as the
              player does (CPU = Python/ctypes submit time per frame, no glFinish inside)
  wall_ms     wall-clock per frame of the player-style run, glFinish once at the end
  passes      per layer: GPU time of the capture pass, the depth pre-pass and the shading pass
              (medians of GL_TIMESTAMP pairs around each draw; the GPU overlaps consecutive
              draws, so these attribute work only roughly: the differences between variants
              are the reliable attribution) and the fragments each pass shaded (GL_SAMPLES_PASSED)
It saves a montage of the 512 px images and the PSNR of every variant against the first dump's
first variant (the same frame: a correctness check of optimised shaders).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

GL_DEPTH_BUFFER_BIT, GL_COLOR_BUFFER_BIT = 0x100, 0x4000
GL_BLEND, GL_DEPTH_TEST, GL_CULL_FACE = 0x0BE2, 0x0B71, 0x0B44
GL_LESS, GL_EQUAL, GL_CW, GL_BACK = 0x0201, 0x0202, 0x0900, 0x0405
GL_TRIANGLES, GL_UNSIGNED_INT = 0x0004, 0x1405
GL_TEXTURE0, GL_TEXTURE_2D, GL_TEXTURE_2D_ARRAY = 0x84C0, 0x0DE1, 0x8C1A
GL_TIME_ELAPSED, GL_TIMESTAMP, GL_SAMPLES_PASSED = 0x88BF, 0x8E28, 0x8914
GL_QUERY_RESULT, GL_UNIFORM_BUFFER, GL_FRAMEBUFFER = 0x8866, 0x8A11, 0x8D40
GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA, GL_ONE = 0x0302, 0x0303, 1
GL_POINTS, GL_RASTERIZER_DISCARD, GL_TRANSFORM_FEEDBACK_BUFFER = 0x0000, 0x8C89, 0x8C8E


def gl_projection(K: np.ndarray, width: int, height: int, near: float, far: float) -> np.ndarray:
    """Same as train.conventions.gl_projection (repeated here: the GPU machine needs no repo install)."""
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    return np.array([
        [-2 * fx / width, 0, 1 - 2 * cx / width, 0],
        [0, -2 * fy / height, 1 - 2 * cy / height, 0],
        [0, 0, -(far + near) / (far - near), -2 * far * near / (far - near)],
        [0, 0, -1, 0],
    ])


class RawGL:
    """The GL entry points of the hot loop, called directly (ctypes)."""

    SIGS = {
        "glClear": ["u"], "glClearColor": ["f"] * 4, "glDepthMask": ["b"], "glColorMask": ["b"] * 4,
        "glDepthFunc": ["u"], "glEnable": ["u"], "glDisable": ["u"], "glFrontFace": ["u"], "glCullFace": ["u"],
        "glBlendFuncSeparate": ["u"] * 4, "glUseProgram": ["u"], "glBindVertexArray": ["u"],
        "glActiveTexture": ["u"], "glBindTexture": ["u", "u"], "glUniform1i": ["i", "i"], "glUniform1f": ["i", "f"],
        "glUniform3fv": ["i", "i", "p"], "glUniform4fv": ["i", "i", "p"], "glUniformMatrix4fv": ["i", "i", "b", "p"],
        "glBindBufferBase": ["u", "u", "u"], "glBufferSubData": ["u", "l", "l", "p"], "glBindBuffer": ["u", "u"],
        "glDrawElements": ["u", "i", "u", "p"], "glGenQueries": ["i", "p"], "glBeginQuery": ["u", "u"],
        "glEndQuery": ["u"], "glQueryCounter": ["u", "u"], "glGetQueryObjectui64v": ["u", "u", "p"],
        "glFinish": [], "glFlush": [], "glDrawArrays": ["u", "i", "i"], "glBeginTransformFeedback": ["u"], "glEndTransformFeedback": [], "glViewport": ["i"] * 4, "glBindFramebuffer": ["u", "u"],
    }
    TYPES = {"u": ctypes.c_uint, "i": ctypes.c_int, "f": ctypes.c_float, "b": ctypes.c_ubyte, "p": ctypes.c_void_p, "l": ctypes.c_ssize_t}

    def __init__(self):
        lib = None
        for name in ("libOpenGL.so.0", "libGL.so.1", ctypes.util.find_library("OpenGL"), ctypes.util.find_library("GL")):
            if name:
                try:
                    lib = ctypes.CDLL(name)
                    break
                except OSError:
                    continue
        if lib is None:
            raise RuntimeError("no libOpenGL/libGL to call GL from")
        for name, sig in self.SIGS.items():
            fn = getattr(lib, name)
            fn.argtypes = [self.TYPES[c] for c in sig]
            fn.restype = None
            setattr(self, name[2:], fn)

    def queries(self, n: int) -> np.ndarray:
        ids = np.zeros(n, np.uint32)
        self.GenQueries(n, ids.ctypes.data)
        return ids

    def results(self, ids) -> np.ndarray:
        out = np.zeros(1, np.uint64)
        vals = np.zeros(len(ids), np.uint64)
        for i, q in enumerate(ids):
            self.GetQueryObjectui64v(int(q), GL_QUERY_RESULT, out.ctypes.data)
            vals[i] = out[0]
        return vals


def load_bin(d: Path, name: str, dtype) -> np.ndarray:
    return np.frombuffer(gzip.decompress((d / name).read_bytes()), dtype=dtype)


def load_rgba(d: Path, name: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(d / name).convert("RGBA"))  # row 0 = top = v 0: uploaded as is (no flip)


class Variant:
    """The programs of one variant of one dump, and the raw-GL op lists that draw a frame."""

    def __init__(self, scene: "Scene", name: str, v: dict):
        self.scene, self.name = scene, name
        m, d, ctx = scene.m, scene.d, scene.ctx
        vs = (d / v.get("vertex", m["vertex"])).read_text()
        self.depth = scene.program(vs, (d / v.get("depth", m["depth"])).read_text())
        self.inner = scene.program(vs, (d / v["inner"]).read_text())
        self.outer = scene.program(vs, (d / v["outer"]).read_text())
        self.theta_mode = v.get("theta", "ubo")
        self.prepass = v.get("prepass", True)
        self.vaos = {}
        cap = m.get("capture")  # capture pass: the vertices deformed once per frame (transform feedback)
        self.capture = None
        if cap:
            self.capture = scene.program((d / v.get("capture", cap["vertex"])).read_text(), (d / cap["fragment"]).read_text(), tuple(cap["varyings"]))
            for li, L in enumerate(scene.layers):
                present = [(b, f, n) for b, f, n in L["fmt"] if n in self.capture]
                self.vaos[(id(self.capture), li)] = ctx.vertex_array(self.capture, present).glo
        for prog in (self.depth, self.inner, self.outer):
            for li, L in enumerate(scene.layers):
                fmt = L["draw_fmt"] if cap else L["fmt"]
                present = [(b, f, n) for b, f, n in fmt if n in prog]
                self.vaos[(id(prog), li)] = ctx.vertex_array(prog, present, index_buffer=L["ibo"], index_element_size=4).glo
        for prog in self.programs():
            if "HbTheta" in prog:
                prog["HbTheta"].binding = 0

    def programs(self) -> list:
        return [p for p in (self.capture, self.depth, self.inner, self.outer) if p is not None]

    def uniform_ops(self, prog, L: dict, per_layer_only: bool = False) -> list:
        """The uniform and texture calls before a draw (what renderer.bindCommon sends);
        per_layer_only: just what differs between layers (textures, atlas grids)."""
        gl, s = self.scene.gl, self.scene
        ops = []

        def loc(name):
            for n in (name, name + "[0]"):
                if n in prog:
                    return prog[n].location
            return None

        def arr(name, a, fn, count, *extra):
            lo = loc(name)
            if lo is not None:
                ops.append((fn, (lo, count, *extra, a.ctypes.data)))

        if not per_layer_only:
            arr("u_viewProj", s.vp, gl.UniformMatrix4fv, 1, 1)
            arr("u_bones", s.bones, gl.UniformMatrix4fv, len(s.bones) // 16, 1)
            arr("u_boneShift", s.shift, gl.Uniform4fv, len(s.shift) // 4)
            arr("u_morphWeights", s.morph_w, gl.Uniform4fv, len(s.morph_w) // 4)
            arr("u_camPos", s.cam_pos, gl.Uniform3fv, 1)
        units = [("u_morphTex", L["morph"], GL_TEXTURE_2D), ("u_posAtlas", L["pos"], L["atlas_target"]),
                 ("u_radAtlas", L["rad"], L["atlas_target"]), ("u_baseColor", L["base"], GL_TEXTURE_2D)]
        if self.theta_mode == "texture":
            units.append(("u_thetaTex", s.theta_tex, GL_TEXTURE_2D))
        for unit, (name, tex, target) in enumerate(units):
            lo = loc(name)
            if lo is None or tex is None:
                continue
            ops += [(gl.ActiveTexture, (GL_TEXTURE0 + unit,)), (gl.BindTexture, (target, tex))]
            if not per_layer_only:
                ops.append((gl.Uniform1i, (lo, unit)))
        arr("u_posGrid", L["posGrid"], gl.Uniform4fv, 1)
        arr("u_radGrid", L["radGrid"], gl.Uniform4fv, 1)
        lo = loc("u_radSharedAlpha")
        if lo is not None:
            ops.append((gl.Uniform1f, (lo, L["sharedAlpha"])))
        return ops

    def frame_ops(self, player: bool, timestamps: list | None = None, samples: list | None = None) -> list:
        """Raw-GL calls of one frame. player: re-send every uniform before every draw (as the
        player does); else only the per-layer texture bindings (uniforms were set once).
        timestamps: a list to fill with one (query before, query after) pair per draw;
        samples: a list to fill with one GL_SAMPLES_PASSED query per draw."""
        gl, s = self.scene.gl, self.scene
        bg = s.m["background"]
        ops = [(gl.BindFramebuffer, (GL_FRAMEBUFFER, s.fbo_glo)), (gl.Viewport, (0, 0, s.W, s.H)),
               (gl.ClearColor, (bg[0], bg[1], bg[2], 1.0)), (gl.DepthMask, (1,)), (gl.ColorMask, (1, 1, 1, 1)),
               (gl.Clear, (GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT,)), (gl.Enable, (GL_DEPTH_TEST,)),
               (gl.Enable, (GL_CULL_FACE,)), (gl.CullFace, (GL_BACK,)), (gl.FrontFace, (GL_CW,)),
               (gl.BlendFuncSeparate, (GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA, GL_ONE, GL_ONE_MINUS_SRC_ALPHA))]
        if player:
            ops.append((gl.BindBuffer, (GL_UNIFORM_BUFFER, s.theta_ubo_glo)))
            ops.append((gl.BufferSubData, (GL_UNIFORM_BUFFER, 0, s.theta.nbytes, s.theta.ctypes.data)))
        ops.append((gl.BindBufferBase, (GL_UNIFORM_BUFFER, 0, s.theta_ubo_glo)))

        def draw(prog, li, L, tag):
            ops.append((gl.UseProgram, (prog.glo,)))
            ops.append((gl.BindVertexArray, (self.vaos[(id(prog), li)],)))
            ops.extend(self.uniform_ops(prog, L, per_layer_only=not player))
            if samples is not None:
                q = s.gl.queries(1)[0]
                samples.append((li, tag, int(q)))
                ops.append((gl.BeginQuery, (GL_SAMPLES_PASSED, int(q))))
            if timestamps is not None:
                q0, q1 = (int(q) for q in s.gl.queries(2))
                timestamps.append((li, tag, q0, q1))
                ops.append((gl.QueryCounter, (q0, GL_TIMESTAMP)))
            ops.append((gl.DrawElements, (GL_TRIANGLES, L["count"], GL_UNSIGNED_INT, None)))
            if timestamps is not None:
                ops.append((gl.QueryCounter, (q1, GL_TIMESTAMP)))
            if samples is not None:
                ops.append((gl.EndQuery, (GL_SAMPLES_PASSED,)))

        if self.capture is not None:
            ops.append((gl.Enable, (GL_RASTERIZER_DISCARD,)))
            for li, L in enumerate(s.layers):
                ops += [(gl.UseProgram, (self.capture.glo,)), (gl.BindVertexArray, (self.vaos[(id(self.capture), li)],))]
                ops += self.uniform_ops(self.capture, L, per_layer_only=not player)
                ops.append((gl.BindBufferBase, (GL_TRANSFORM_FEEDBACK_BUFFER, 0, L["deformed"].glo)))
                if timestamps is not None:
                    q0, q1 = (int(q) for q in s.gl.queries(2))
                    timestamps.append((li, "capture", q0, q1))
                    ops.append((gl.QueryCounter, (q0, GL_TIMESTAMP)))
                ops += [(gl.BeginTransformFeedback, (GL_POINTS,)), (gl.DrawArrays, (GL_POINTS, 0, L["vertices"])), (gl.EndTransformFeedback, ())]
                if timestamps is not None:
                    ops.append((gl.QueryCounter, (q1, GL_TIMESTAMP)))
            ops += [(gl.BindBufferBase, (GL_TRANSFORM_FEEDBACK_BUFFER, 0, 0)), (gl.Disable, (GL_RASTERIZER_DISCARD,))]
        for li, L in enumerate(s.layers):
            ops += [(gl.DepthMask, (1,)), (gl.Clear, (GL_DEPTH_BUFFER_BIT,))]
            if self.prepass:
                ops += [(gl.ColorMask, (0, 0, 0, 0)), (gl.Disable, (GL_BLEND,)), (gl.DepthFunc, (GL_LESS,))]
                draw(self.depth, li, L, "depth")
                ops += [(gl.ColorMask, (1, 1, 1, 1)), (gl.DepthMask, (0,)), (gl.DepthFunc, (GL_EQUAL,))]
            else:
                ops.append((gl.DepthFunc, (GL_LESS,)))
            ops.append((gl.Enable, (GL_BLEND,)))
            draw(self.inner if li == 0 else self.outer, li, L, "shade")
        ops += [(gl.BindVertexArray, (0,)), (gl.DepthMask, (1,)), (gl.DepthFunc, (GL_LESS,))]
        return ops

    def set_static_uniforms(self) -> None:
        """Send the uniforms once (all layers share their values; textures are bound per draw)."""
        for prog in self.programs():
            self.scene.gl.UseProgram(prog.glo)
            for fn, a in self.uniform_ops(prog, self.scene.layers[0]):
                fn(*a)


class Scene:
    def __init__(self, ctx, gl: RawGL, d: Path):
        import moderngl

        self.ctx, self.gl, self.d = ctx, gl, d
        self.m = m = json.loads((d / "manifest.json").read_text())
        self.label = d.name
        self._progs = {}
        u = m["uniforms"]
        self.bones = np.ascontiguousarray(np.asarray(u["bones"], np.float32))  # row-major, sent with transpose = true
        self.shift = np.ascontiguousarray(np.asarray(u["boneShift"], np.float32))
        self.morph_w = np.ascontiguousarray(np.asarray(u["morphWeights"], np.float32))
        self.theta = np.ascontiguousarray(np.asarray(u["theta"], np.float32))
        self.theta_ubo = ctx.buffer(self.theta.tobytes())
        self.theta_ubo_glo = self.theta_ubo.glo
        tt = ctx.texture((len(self.theta) // 4, 1), 4, self.theta.tobytes(), dtype="f4")
        tt.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self.theta_tex = tt.glo
        self._keep = [tt]
        array_atlas = m.get("atlasLayout", "grid") == "array"
        self.layers = []
        for L in m["layers"]:
            bufs = {k: ctx.buffer(load_bin(d, L[k], dt).tobytes()) for k, dt in
                    (("positions", np.float32), ("normals", np.float32), ("uvs", np.float32), ("joints", np.uint16), ("weights", np.float32))}
            ibo = ctx.buffer(load_bin(d, L["indices"], np.uint32).tobytes())
            morph = ctx.texture(tuple(L["morphSize"]), 4, load_bin(d, L["morph"], np.float32).tobytes(), dtype="f4")
            morph.filter = (moderngl.NEAREST, moderngl.NEAREST)
            deformed = ctx.buffer(reserve=L["vertexCount"] * 24)  # capture pass output: world position, normal
            self._keep += [morph, ibo, deformed, *bufs.values()]

            def tex(name, grid=None):
                im = load_rgba(d, name)
                if grid is None:  # one 2D texture (the bundle's grid image as is)
                    t = ctx.texture((im.shape[1], im.shape[0]), 4, im.tobytes())
                else:  # the tiles as the layers of a 2D array texture (gpu_layer.ts atlasArray)
                    cols, rows, tw, th = (int(x) for x in grid)
                    tiles = [im[r * th:(r + 1) * th, c * tw:(c + 1) * tw] for r in range(rows) for c in range(cols)]
                    t = ctx.texture_array((tw, th, len(tiles)), 4, np.ascontiguousarray(np.stack(tiles)).tobytes())
                t.filter = (moderngl.LINEAR, moderngl.LINEAR)
                t.repeat_x = t.repeat_y = False
                self._keep.append(t)
                return t.glo

            self.layers.append({
                "count": L["indexCount"], "vertices": L["vertexCount"], "morph": morph.glo, "ibo": ibo, "deformed": deformed,
                "pos": tex(L["posAtlas"], L["posGrid"] if array_atlas else None),
                "rad": tex(L["radAtlas"], L["radGrid"] if array_atlas else None),
                "atlas_target": GL_TEXTURE_2D_ARRAY if array_atlas else GL_TEXTURE_2D,
                "base": tex(L["baseColor"]) if L.get("baseColor") else None,
                "posGrid": np.asarray(L["posGrid"], np.float32), "radGrid": np.asarray(L["radGrid"], np.float32),
                "sharedAlpha": float(L.get("sharedAlpha", 0.0)),
                "fmt": [(bufs["positions"], "3f", "a_position"), (bufs["normals"], "3f", "a_normal"), (bufs["uvs"], "2f", "a_uv"),
                        (bufs["joints"], "4u2", "a_joints"), (bufs["weights"], "4f", "a_weights")],
                "draw_fmt": [(deformed, "3f 12x", "a_world"), (deformed, "12x 3f", "a_wnormal"), (bufs["uvs"], "2f", "a_uv")],
            })
        self.variants = {name: Variant(self, name, v) for name, v in m["variants"].items()}

    def program(self, vs: str, fs: str, varyings: tuple = ()):
        key = (vs, fs, varyings)
        if key not in self._progs:
            self._progs[key] = self.ctx.program(vertex_shader=vs, fragment_shader=fs, varyings=varyings)
        return self._progs[key]

    def set_view(self, size: int, fbo) -> None:
        cam = self.m["camera"]
        s = size / cam["width"]
        self.W, self.H = size, int(round(cam["height"] * s))
        K = np.asarray(cam["K"], np.float64).reshape(3, 3).copy()
        K[:2] *= s
        w2c = np.asarray(cam["w2c"], np.float64).reshape(4, 4)
        self.vp = np.ascontiguousarray((gl_projection(K, self.W, self.H, cam["near"], cam["far"]) @ w2c).astype(np.float32))
        self.cam_pos = np.ascontiguousarray(np.linalg.inv(w2c)[:3, 3].astype(np.float32))
        self.fbo_glo = fbo.glo


def run_ops(ops) -> None:
    for fn, a in ops:
        fn(*a)


def measure(var: Variant, frames: int) -> dict:
    """All timings of one variant at the current size (see the module docstring)."""
    gl = var.scene.gl
    # still frame: uniforms once, per-frame GL_TIME_ELAPSED, then one query around a batch
    var.set_static_uniforms()
    ops = var.frame_ops(player=False)
    for _ in range(10):
        run_ops(ops)
    gl.Finish()
    qs = gl.queries(frames)
    t0 = time.perf_counter()
    for q in qs:
        gl.BeginQuery(GL_TIME_ELAPSED, int(q))
        run_ops(ops)
        gl.EndQuery(GL_TIME_ELAPSED)
    cpu_static = (time.perf_counter() - t0) / frames
    gl.Finish()
    per_frame = gl.results(qs) / 1e6
    qb = gl.queries(1)
    gl.BeginQuery(GL_TIME_ELAPSED, int(qb[0]))
    for _ in range(frames):
        run_ops(ops)
    gl.EndQuery(GL_TIME_ELAPSED)
    gl.Finish()
    batch = gl.results(qb)[0] / 1e6 / frames
    # the player's way: every uniform before every draw, theta re-uploaded per frame
    pops = var.frame_ops(player=True)
    run_ops(pops)
    gl.Finish()
    qp = gl.queries(frames)
    cpu = np.zeros(frames)
    t0 = time.perf_counter()
    for i, q in enumerate(qp):
        c0 = time.perf_counter()
        gl.BeginQuery(GL_TIME_ELAPSED, int(q))
        run_ops(pops)
        gl.EndQuery(GL_TIME_ELAPSED)
        cpu[i] = time.perf_counter() - c0
    gl.Finish()
    wall = (time.perf_counter() - t0) / frames
    player_gpu = gl.results(qp) / 1e6
    # per pass: timestamps around every draw (separate frames: the queries cost a little)
    var.set_static_uniforms()
    nts = max(20, frames // 5)
    ts_frames, sp = [], []
    tops = []
    for _ in range(nts):
        ts = []
        tops.append(var.frame_ops(player=False, timestamps=ts))
        ts_frames.append(ts)
    sops = var.frame_ops(player=False, samples=sp)
    for o in tops:
        run_ops(o)
    run_ops(sops)
    gl.Finish()
    passes = {}
    for ts in ts_frames:
        vals = gl.results([q for t in ts for q in t[2:]]) / 1e6
        for k, (li, tag, _, _) in enumerate(ts):
            passes.setdefault((li, tag), []).append(vals[2 * k + 1] - vals[2 * k])
    frags = {(li, tag): int(v) for (li, tag, _), v in zip(sp, gl.results([q for _, _, q in sp]))}
    pass_rows = [{"layer": li, "pass": tag, "gpu_ms": float(np.median(v)), "fragments": frags.get((li, tag))}
                 for (li, tag), v in sorted(passes.items())]
    med = float(np.median(per_frame))
    return {
        "gpu_ms": med, "gpu_ms_p10": float(np.percentile(per_frame, 10)), "gpu_ms_p90": float(np.percentile(per_frame, 90)),
        "fps_gpu": 1e3 / med if med > 0 else None, "batch_ms": float(batch), "cpu_submit_ms_static": cpu_static * 1e3,
        "player_gpu_ms": float(np.median(player_gpu)), "player_cpu_ms": float(np.median(cpu) * 1e3), "wall_ms": wall * 1e3,
        "sum_passes_ms": float(sum(r["gpu_ms"] for r in pass_rows)),
        "capture_ms": float(sum(r["gpu_ms"] for r in pass_rows if r["pass"] == "capture")),
        "depth_ms": float(sum(r["gpu_ms"] for r in pass_rows if r["pass"] == "depth")),
        "shade_ms": float(sum(r["gpu_ms"] for r in pass_rows if r["pass"] == "shade")),
        "fragments_shaded": int(sum(r["fragments"] or 0 for r in pass_rows if r["pass"] == "shade")),
        "passes": pass_rows,
    }


ALU_LOOP = """
  float a = x * 1e-3, b = y * 1e-3, c = 0.5 + a, d = 0.5 - b;
  for (int i = 0; i < 512; i++) { a = a * b + 0.5; b = b * a - 0.25; c = c * d + 0.125; d = d * c - 0.0625; }
"""  # 2048 dependent-in-pairs FMAs per invocation


def alu_rates(ctx, gl: RawGL, size: int = 1024, reps: int = 10) -> dict:
    """FP32 FMA throughput of a fragment shader (full-screen triangle) and of a compute shader
    running the same loop: how much of the chip the graphics pipeline gets."""
    vs = "#version 300 es\nvoid main() { vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2); gl_Position = vec4(2.0 * p - 1.0, 0.0, 1.0); }"
    fs = ("#version 300 es\nprecision highp float;\nout vec4 o;\nvoid main() { float x = gl_FragCoord.x, y = gl_FragCoord.y;"
          + ALU_LOOP + "  o = vec4(a, b, c, d); }")
    prog = ctx.program(vertex_shader=vs, fragment_shader=fs)
    vao = ctx.vertex_array(prog, [])
    fbo = ctx.framebuffer(color_attachments=[ctx.texture((size, size), 4, dtype="f4")])
    fbo.use()
    for cap in (GL_DEPTH_TEST, GL_CULL_FACE, GL_BLEND):
        gl.Disable(cap)
    gl.ColorMask(1, 1, 1, 1)
    q = gl.queries(2)
    vao.render(mode=GL_TRIANGLES, vertices=3)
    gl.Finish()
    t0 = time.perf_counter()
    gl.BeginQuery(GL_TIME_ELAPSED, int(q[0]))
    for _ in range(reps):
        vao.render(mode=GL_TRIANGLES, vertices=3)
    gl.EndQuery(GL_TIME_ELAPSED)
    gl.Finish()
    fwall = (time.perf_counter() - t0) / reps
    cs = ctx.compute_shader("#version 430\nlayout(local_size_x = 16, local_size_y = 16) in;\n"
                            "layout(rgba32f, binding = 0) writeonly uniform image2D img;\nvoid main() { float x = float(gl_GlobalInvocationID.x), y = float(gl_GlobalInvocationID.y);"
                            + ALU_LOOP + "  imageStore(img, ivec2(gl_GlobalInvocationID.xy), vec4(a, b, c, d)); }")
    img = ctx.texture((size, size), 4, dtype="f4")
    img.bind_to_image(0, read=False, write=True)
    cs.run(size // 16, size // 16)
    gl.Finish()
    t0 = time.perf_counter()
    gl.BeginQuery(GL_TIME_ELAPSED, int(q[1]))
    for _ in range(reps):
        cs.run(size // 16, size // 16)
    gl.EndQuery(GL_TIME_ELAPSED)
    gl.Finish()
    wall = (time.perf_counter() - t0) / reps
    t = gl.results(q) / 1e9 / reps
    flop = 2 * 2048 * size * size
    return {"fragment_tflops": flop / t[0] / 1e12, "compute_tflops": flop / t[1] / 1e12, "compute_tflops_wall": flop / wall / 1e12,
            "fragment_tflops_wall": flop / fwall / 1e12,
            "fragment_ms": t[0] * 1e3, "compute_ms": t[1] * 1e3, "compute_wall_ms": wall * 1e3, "invocations": size * size,
            "fma_per_invocation": 2048}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dumps", type=Path, nargs="+")
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--only", nargs="*", default=None, help="variant names (or dump/variant) to time; default all")
    ap.add_argument("--budget-s", type=float, default=0, help="stop timing new variants after this many seconds (0: no limit)")
    ap.add_argument("--alu", action="store_true", help="also measure the FP32 FMA rate of fragment vs compute shaders")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    import moderngl

    t_start = time.perf_counter()
    ctx = moderngl.create_standalone_context(backend="egl", require=430)
    gl = RawGL()
    info = {k: ctx.info.get(k) for k in ("GL_RENDERER", "GL_VERSION", "GL_VENDOR")}
    print(json.dumps(info))
    scenes = [Scene(ctx, gl, d) for d in args.dumps]
    print(f"loaded {len(scenes)} dump(s) in {time.perf_counter() - t_start:.1f} s")
    out = args.out
    if out:
        out.mkdir(parents=True, exist_ok=True)
    results, images, skipped = [], {}, []
    report = {"gl": info, "bundles": [s.m["bundle"] for s in scenes], "frames": args.frames, "results": results, "skipped": skipped}

    def save():
        report["seconds"] = time.perf_counter() - t_start
        if out:
            (out / "gles_bench.json").write_text(json.dumps(report, indent=1))

    if args.alu:
        report["alu"] = alu_rates(ctx, gl)
        print(f"FP32 FMA rate, same loop: fragment shader {report['alu']['fragment_tflops']:.2f} TFLOP/s, "
              f"compute shader {report['alu']['compute_tflops']:.2f} TFLOP/s (wall clock {report['alu']['compute_tflops_wall']:.2f})")
    for size in args.sizes:
        for scene in scenes:
            cam = scene.m["camera"]
            W, H = size, int(round(cam["height"] * size / cam["width"]))
            fbo = ctx.framebuffer(color_attachments=[ctx.texture((W, H), 4)], depth_attachment=ctx.depth_renderbuffer((W, H)))
            scene.set_view(size, fbo)
            for name, var in scene.variants.items():
                full = f"{scene.label}/{name}"
                if args.only and name not in args.only and full not in args.only:
                    continue
                if args.budget_s and time.perf_counter() - t_start > args.budget_s:
                    skipped.append(f"{W}x{H} {full}")
                    continue
                r = {"size": f"{W}x{H}", "dump": scene.label, "variant": name, **measure(var, args.frames)}
                run_ops(var.frame_ops(player=True))
                gl.Finish()
                img = np.frombuffer(fbo.read(components=4), np.uint8).reshape(H, W, 4)[..., :3].copy()
                images[(size, full)] = img
                ref = images.get((size, f"{scenes[0].label}/{next(iter(scenes[0].variants))}"))
                r["psnr_vs_ref"] = psnr(img, ref) if ref is not None else None
                results.append(r)
                print(f"{W}x{H} {full:<34} GPU {r['gpu_ms']:7.3f} ms ({r['fps_gpu']:7.1f} FPS) batch {r['batch_ms']:7.3f}"
                      f" | capture {r['capture_ms']:6.3f} depth {r['depth_ms']:6.3f} shade {r['shade_ms']:6.3f} frags {r['fragments_shaded']:>8}"
                      f" | player GPU {r['player_gpu_ms']:7.3f} CPU {r['player_cpu_ms']:6.3f} wall {r['wall_ms']:7.3f}"
                      f" | PSNR {r['psnr_vs_ref'] if r['psnr_vs_ref'] is not None else float('nan'):6.2f}")
                sys.stdout.flush()
                save()
            fbo.release()
    save()
    if out:
        small = [(k, v) for k, v in images.items() if k[0] == min(args.sizes)]
        if small:
            from PIL import Image

            Image.fromarray(np.concatenate([v for _, v in small], axis=1)).save(out / "gles_montage.png")
            (out / "gles_montage.txt").write_text("\n".join(k[1] for k, _ in small) + "\n")
    print(f"done in {time.perf_counter() - t_start:.1f} s" + (f"; skipped (budget): {skipped}" if skipped else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
