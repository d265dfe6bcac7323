"""Native GPU timing of the web player's own shaders (EGL, no browser).

    python3 web_player/bench/gles_bench.py web_player/bench/out/gles [--sizes 512 1024] [--frames 2000] [--out DIR]

Reads the dump of `npm run bench:dump` (the exact preprocessed GLSL ES 3.00 sources the player
compiles, the vertex arrays / morph texture / atlases it uploads, and one frame's uniforms) and
draws that frame the way `src/render/renderer.ts` does: per layer inner -> outer a fresh depth
buffer, depth pre-pass, shading pass with depth EQUAL, "over" blending, frontFace CW.
The shaders are compiled as `#version 300 es` in a desktop GL 4.3+ context created through
EGL by moderngl (ARB_ES3_compatibility accepts ES 3.00 shaders unchanged).
Per size and variant it reports the mean frame time over `--frames` frames (per-frame uniform
uploads included, as in the player) and saves one image per size.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np


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
    """The few GL state calls made directly (moderngl caches masks and applies them lazily,
    and its clear() always clears colour too): masks, depth function, blending, depth clear."""

    def __init__(self):
        import ctypes
        import ctypes.util

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
        ub, ui = ctypes.c_ubyte, ctypes.c_uint
        self.clear, self.depth_mask, self.color_mask = lib.glClear, lib.glDepthMask, lib.glColorMask
        self.depth_func, self.enable, self.disable = lib.glDepthFunc, lib.glEnable, lib.glDisable
        self.clear.argtypes, self.depth_mask.argtypes, self.color_mask.argtypes = [ui], [ub], [ub] * 4
        self.depth_func.argtypes = self.enable.argtypes = self.disable.argtypes = [ui]


GL_DEPTH_BUFFER_BIT, GL_COLOR_BUFFER_BIT, GL_BLEND, GL_LESS, GL_EQUAL = 0x100, 0x4000, 0x0BE2, 0x0201, 0x0202


def load_bin(d: Path, name: str, dtype) -> np.ndarray:
    return np.frombuffer(gzip.decompress((d / name).read_bytes()), dtype=dtype)


def load_image(d: Path, name: str) -> tuple[bytes, tuple[int, int]]:
    from PIL import Image

    im = Image.open(d / name).convert("RGBA")
    return im.tobytes(), im.size  # row 0 = top = v 0: uploaded as is, like the player (no flip)


class Scene:
    def __init__(self, ctx, d: Path, m: dict):
        import moderngl

        self.ctx, self.m = ctx, m
        self.gl = RawGL()
        vs = (d / m["vertex"]).read_text()
        self.depth_prog = ctx.program(vertex_shader=vs, fragment_shader=(d / m["depth"]).read_text())
        self.progs = {}
        for name, v in m["variants"].items():
            self.progs[name] = (
                ctx.program(vertex_shader=vs, fragment_shader=(d / v["inner"]).read_text()),
                ctx.program(vertex_shader=vs, fragment_shader=(d / v["outer"]).read_text()),
                v["theta"],
            )
        u = m["uniforms"]
        self.bones = np.asarray(u["bones"], np.float32).reshape(-1, 4, 4).transpose(0, 2, 1).copy()  # column-major for GL
        self.shift = np.asarray(u["boneShift"], np.float32)
        self.morph_w = np.asarray(u["morphWeights"], np.float32)
        self.theta = np.asarray(u["theta"], np.float32)
        self.theta_ubo = ctx.buffer(self.theta.tobytes())
        self.theta_tex = ctx.texture((len(self.theta) // 4, 1), 4, self.theta.tobytes(), dtype="f4")
        self.theta_tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self.layers = []
        for L in m["layers"]:
            bufs = {
                "a_position": ctx.buffer(load_bin(d, L["positions"], np.float32).tobytes()),
                "a_normal": ctx.buffer(load_bin(d, L["normals"], np.float32).tobytes()),
                "a_uv": ctx.buffer(load_bin(d, L["uvs"], np.float32).tobytes()),
                "a_joints": ctx.buffer(load_bin(d, L["joints"], np.uint16).tobytes()),
                "a_weights": ctx.buffer(load_bin(d, L["weights"], np.float32).tobytes()),
            }
            ibo = ctx.buffer(load_bin(d, L["indices"], np.uint32).tobytes())
            morph = ctx.texture(tuple(L["morphSize"]), 4, load_bin(d, L["morph"], np.float32).tobytes(), dtype="f4")
            morph.filter = (moderngl.NEAREST, moderngl.NEAREST)

            def tex(name):
                data, size = load_image(d, name)
                t = ctx.texture(size, 4, data)
                t.filter = (moderngl.LINEAR, moderngl.LINEAR)
                t.repeat_x = t.repeat_y = False
                return t

            entry = {
                "count": L["indexCount"], "morph": morph, "pos": tex(L["posAtlas"]), "rad": tex(L["radAtlas"]),
                "base": tex(L["baseColor"]) if L.get("baseColor") else None,
                "posGrid": tuple(L["posGrid"]), "radGrid": tuple(L["radGrid"]),
                "sharedAlpha": float(L.get("sharedAlpha", 0.0)), "vaos": {},
            }
            fmt = [(bufs["a_position"], "3f", "a_position"), (bufs["a_normal"], "3f", "a_normal"), (bufs["a_uv"], "2f", "a_uv"),
                   (bufs["a_joints"], "4u2", "a_joints"), (bufs["a_weights"], "4f", "a_weights")]
            for prog in [self.depth_prog] + [p for pair in self.progs.values() for p in pair[:2]]:
                present = [(b, f, n) for b, f, n in fmt if n in prog]
                entry["vaos"][id(prog)] = ctx.vertex_array(prog, [(b, f, n) for b, f, n in present], index_buffer=ibo, index_element_size=4)
            self.layers.append(entry)

    def set_uniforms(self, prog, L, vp: np.ndarray, cam_pos: np.ndarray, theta_mode: str) -> None:
        def put(name, value):
            if name in prog:
                prog[name].write(np.ascontiguousarray(value, np.float32).tobytes())

        put("u_viewProj", vp.T)
        put("u_bones", self.bones)
        put("u_boneShift", self.shift)
        put("u_morphWeights", self.morph_w)
        L["morph"].use(0)
        if "u_morphTex" in prog:
            prog["u_morphTex"].value = 0
        if "u_camPos" in prog:
            put("u_camPos", cam_pos)
        if "u_posAtlas" in prog:
            L["pos"].use(1)
            L["rad"].use(2)
            prog["u_posAtlas"].value = 1
            prog["u_radAtlas"].value = 2
            put("u_posGrid", L["posGrid"])
            put("u_radGrid", L["radGrid"])
            put("u_radSharedAlpha", L["sharedAlpha"])
            if theta_mode == "texture":
                self.theta_tex.use(3)
                prog["u_thetaTex"].value = 3
            elif "HbTheta" in prog:
                prog["HbTheta"].binding = 0
                self.theta_ubo.bind_to_uniform_block(0)
        if "u_baseColor" in prog and L["base"] is not None:
            L["base"].use(4)
            prog["u_baseColor"].value = 4

    def draw(self, fbo, variant: str, vp: np.ndarray, cam_pos: np.ndarray, bg) -> None:
        import moderngl

        ctx = self.ctx
        inner_p, outer_p, theta_mode = self.progs[variant]
        gl = self.gl
        fbo.use()
        fbo.clear(bg[0], bg[1], bg[2], 1.0, depth=1.0)
        ctx.enable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        ctx.front_face = "cw"
        ctx.cull_face = "back"
        ctx.blend_func = (moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA, moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA)
        # per-frame uploads the player also does
        self.theta_ubo.write(self.theta.tobytes())
        for i, L in enumerate(self.layers):
            gl.color_mask(0, 0, 0, 0)
            gl.depth_mask(1)
            gl.clear(GL_DEPTH_BUFFER_BIT)
            gl.disable(GL_BLEND)
            gl.depth_func(GL_LESS)
            self.set_uniforms(self.depth_prog, L, vp, cam_pos, theta_mode)
            L["vaos"][id(self.depth_prog)].render(moderngl.TRIANGLES, vertices=L["count"])
            gl.color_mask(1, 1, 1, 1)
            gl.depth_mask(0)
            gl.depth_func(GL_EQUAL)
            gl.enable(GL_BLEND)
            prog = inner_p if i == 0 else outer_p
            self.set_uniforms(prog, L, vp, cam_pos, theta_mode)
            L["vaos"][id(prog)].render(moderngl.TRIANGLES, vertices=L["count"])
        gl.depth_mask(1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dump", type=Path)
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    import moderngl

    m = json.loads((args.dump / "manifest.json").read_text())
    ctx = moderngl.create_standalone_context(backend="egl", require=430)
    info = {k: ctx.info.get(k) for k in ("GL_RENDERER", "GL_VERSION", "GL_VENDOR")}
    print(json.dumps(info))
    scene = Scene(ctx, args.dump, m)
    cam = m["camera"]
    K0 = np.asarray(cam["K"], np.float64).reshape(3, 3)
    w2c = np.asarray(cam["w2c"], np.float64).reshape(4, 4)
    c2w = np.linalg.inv(w2c)
    cam_pos = c2w[:3, 3].astype(np.float32)
    results = []
    out = args.out
    if out:
        out.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        s = size / cam["width"]
        W, H = size, int(round(cam["height"] * s))
        K = K0.copy()
        K[:2] *= s
        vp = (gl_projection(K, W, H, cam["near"], cam["far"]) @ w2c).astype(np.float32)
        fbo = ctx.framebuffer(color_attachments=[ctx.texture((W, H), 4)], depth_attachment=ctx.depth_renderbuffer((W, H)))
        for variant in m["variants"]:
            for _ in range(20):  # warm-up (driver compiles lazily)
                scene.draw(fbo, variant, vp, cam_pos, m["background"])
            ctx.finish()
            q = ctx.query(time=True)
            t0 = time.perf_counter()
            with q:
                for _ in range(args.frames):
                    scene.draw(fbo, variant, vp, cam_pos, m["background"])
            ctx.finish()
            wall = (time.perf_counter() - t0) / args.frames
            gpu = q.elapsed / 1e9 / args.frames
            r = {"size": f"{W}x{H}", "variant": variant, "ms_per_frame_wall": wall * 1e3, "ms_per_frame_gpu": gpu * 1e3,
                 "fps_wall": 1.0 / wall, "fps_gpu": 1.0 / gpu if gpu > 0 else None}
            results.append(r)
            print(f"{W}x{H}  {variant:<20} wall {wall * 1e3:8.3f} ms  ({1 / wall:9.1f} FPS)   GPU {gpu * 1e3:8.3f} ms  ({(1 / gpu if gpu else 0):9.1f} FPS)")
            sys.stdout.flush()
            if out and variant in ("neural_exact", "mesh"):
                from PIL import Image

                img = np.frombuffer(fbo.read(components=4), np.uint8).reshape(H, W, 4)  # GL row 0 = image row 0
                Image.fromarray(img[..., :3]).save(out / f"gles_{variant}_{W}.png")
        fbo.release()
    report = {"gl": info, "bundle": m["bundle"], "frames": args.frames, "results": results}
    if out:
        (out / "gles_bench.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
