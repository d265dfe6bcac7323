"""Can the stage-1 radiance encoding hold the synthetic hair's strands? A capacity check on the CPU.

Fits the radiance field's alpha (`train.fields.radiance.RadianceField`, the stage-1 decoder) to the
synthetic subject's exact hair alpha on the surfaces of its shells (points sampled by area, in
original space), then reports the alpha PSNR on held-out points. No rendering and no deformation:
only whether the encoding can represent the pattern.

    python scripts/hair_alpha_fit.py --grid-res 32,64,128,256 --steps 600
    python scripts/hair_alpha_fit.py --grid-res 32,64,128 --plane-res 1024 --steps 600
"""

from __future__ import annotations

import argparse
import time

import torch

from train.config import load_config
from train.fields import RadianceField, area_samples, canonical_cube
from train.model import build_flame
from train.synth import appearance as app
from train.synth.render import SubjectRenderer


def shell_samples(sr: SubjectRenderer, strands: float, n: int, shell: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n points (n, 3) on shell `shell`, uniform by area, and their exact alpha (n,)."""
    sh = sr.shells
    f = sh.faces.long()
    x = sh.original(sr.x_o, shell)
    t, uv = area_samples(torch.linalg.cross(x[f[:, 1]] - x[f[:, 0]], x[f[:, 2]] - x[f[:, 0]], dim=-1).norm(dim=-1), n, g)
    w = torch.cat([1.0 - uv.sum(-1, keepdim=True), uv], dim=-1)[:, :, None]  # barycentric weights (n, 3, 1)
    p = (w * x[f[t]]).sum(1)
    edge = (w[..., 0] * sh.edge[f[t]]).sum(1)
    return p, app.hair_alpha(p, shell, sh.n_shells, edge, sr.landmarks, sr.noise, strands)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--config", default="configs/synthetic.yaml")
    ap.add_argument("--grid-res", default="32,64,128,256", help="model.radiance_grid_res (comma-separated)")
    ap.add_argument("--plane-res", default="", help="model.radiance_plane_res (comma-separated; empty = none)")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=16384)
    ap.add_argument("--lr", type=float, default=1e-2)
    args = ap.parse_args()
    ints = lambda s: [int(r) for r in s.split(",") if r]  # noqa: E731
    torch.manual_seed(0)
    cfg = load_config(args.config)
    flame = build_flame(cfg, "cpu")
    sr = SubjectRenderer(flame, cfg.synth)
    n_shells, strands = sr.shells.n_shells, cfg.synth.hair_strands
    mc = cfg.model
    lo, hi = canonical_cube(flame.v_template.float(), mc.bbox_margin)  # stage 1's cube (around the template)
    rf = RadianceField(lo, hi, ints(args.grid_res), mc.grid_channels, mc.mlp_hidden,
                       mc.dim_pos_feature, mc.num_texture_basis, 0.5, 0, mc.basis_ladder, ints(args.plane_res))
    g = torch.Generator().manual_seed(1)
    held = [shell_samples(sr, strands, 20000, s, g) for s in range(n_shells)]
    xt, at = torch.cat([h[0] for h in held]), torch.cat([h[1] for h in held])
    opt = torch.optim.Adam(rf.parameters(), lr=args.lr)
    n_params = sum(p.numel() for p in rf.parameters())
    print(f"cube side {float((hi - lo)[0]):.3f}, grids {args.grid_res}, planes {args.plane_res or '-'}: {n_params / 1e6:.1f} M parameters")
    t0 = time.time()
    for it in range(args.steps):
        x, a = shell_samples(sr, strands, args.batch, it % n_shells, g)
        loss = (rf(x)[2] - a).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if it % 200 == 199 or it == args.steps - 1:
            with torch.no_grad():
                mse = torch.cat([(rf(c)[2] - t).pow(2) for c, t in zip(xt.split(20000), at.split(20000))]).mean()
            print(f"step {it + 1}: held-out alpha PSNR {float(-10 * torch.log10(mse)):.2f} dB "
                  f"(alpha variance {float(at.var()):.4f}); {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
