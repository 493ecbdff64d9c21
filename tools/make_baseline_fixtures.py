#!/usr/bin/python3
"""PyTorch references for the baselines (spec/cdam.md, "Baselines"), written
from the definitions in float64, so that src/baselines/ is held to
them on every run.

Run with:  /usr/bin/python3 tools/make_baseline_fixtures.py

Writes
  test/fixtures/baselines/small_models.json     the generated models of every layout
      (timm_plain, timm_reg_ls: registers + LayerScale, hf_vit, timm_distilled),
      targets 1 and 3, on the input stored in each expected.json
  test/fixtures/baselines/vit_ti_catcoffee.safetensors   the embedded ViT-Ti
      (weights/) on examples/catcoffee_224.png, targets 285 (Egyptian cat)
      and 967 (espresso)

Methods, each as defined there:
  input-x-grad  mean_c(x * df/dx), gradients to the normalised input
  smoothgrad    mean_c(mean_k df(x + eps_k)/dx), sigma = 0.15 (max x - min x);
                eps from the same mulberry32 + Box-Muller sampler as the
                library (sample-major, CHW order), seed 7; noisy inputs rounded
                to float32 as the library feeds them
  intgrad       mean_c(x * mean_i df((i/m) x)/dx), i = 1..m (float32 points)
  gradcam       on T = LN1(X) of the last block: w = mean over patch tokens of
                df/dT, cam = ReLU(T w) over patches, min-max, bilinear
                (align_corners=False) to the input size; the raw cam too
  relevance     Chefer 2021: R = I; R += mean_h(ReLU(dA * A)) @ R per block;
                R[0] over patch tokens
  expected-grad Erion et al.: mean_c(mean_k (x - x'_k) * df(x'_k + a_k (x - x'_k))/dx),
                references a blurred copy (sigma 8 px) and 3 pixel shuffles,
                draws (reference, alpha) from the same mulberry32 stream, seed 7
  partial-lrp   Chefer's ViT_LRP rules (alpha 1, beta 0; Add z-rule rescaled; A @ v halved;
                norms, GELU, softmax unchanged) from a one-hot down to the last
                block's attention, computed on the whole block with autograd
  attnlrp       AttnLRP (Achtibat et al. 2024) as lxt computes it for ViTs
                (tools/torch_attnlrp.py): CP-LRP inside attention ("attnlrp") and
                the full AttnLRP rules ("attnlrp-full"), LRP-gamma 0.05 on the MLP
                and head, 0.25 on the patch embedding
  rollout       Abnar & Zuidema: R = (0.5 I + 0.5 mean_h A_b) rows renormalised,
                later blocks on the left; R[0] over patch tokens; per head too
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_vit import FIXTURE_MODELS, load_fixture_model, write_safetensors, load_model_dir, load_rgb, to_tensor  # noqa: E402
from make_cdam_fixtures import mulberry32, normal_sampler, lst  # noqa: E402
from torch_attnlrp import attnlrp  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "baselines")
SG_N, SG_NOISE, SG_SEED = 4, 0.15, 7
IG_STEPS = 8
EG_N, EG_SEED, EG_BLUR, EG_SHUFFLES = 4, 7, 8, 3
WEIGHTS = os.path.join(ROOT, "weights")  # the embedded ViT-Ti (F16, computed in float64)


def score_fn(c):
    return lambda model, x: model.forward(x)["logits"][:, c].sum()


def input_grad(model, xs, c):
    xs = xs.detach().to(torch.float64).requires_grad_(True)
    s = model.forward(xs)["logits"][:, c].sum()
    (g,) = torch.autograd.grad(s, [xs])
    return g


def input_x_grad(model, x, c):
    g = input_grad(model, x, c)
    return (x.double() * g).mean(1)[0]


def smoothgrad(model, x, c, n=SG_N, noise=SG_NOISE, seed=SG_SEED):
    sigma = noise * (x.max().item() - x.min().item())
    nxt = normal_sampler(mulberry32(seed))
    E = torch.tensor([nxt() for _ in range(n * x.numel())], dtype=torch.float64).reshape(n, *x.shape[1:])
    noisy = (x.double() + sigma * E).float()
    return input_grad(model, noisy, c).mean(0).mean(0)


def intgrad(model, x, c, m=IG_STEPS):
    alphas = torch.arange(1, m + 1, dtype=torch.float64) / m
    pts = (alphas[:, None, None, None] * x.double()).float()
    g = input_grad(model, pts, c).mean(0, keepdim=True)
    return (x.double() * g).mean(1)[0]


def eg_references(x, nxt, sigma=EG_BLUR, shuffles=EG_SHUFFLES):
    """A Gaussian-blurred copy (separable, radius ceil(3 sigma), edges clamped,
    float64 then float32) and `shuffles` pixel permutations (Fisher-Yates on
    the stream), as src/baselines/ makes them."""
    _, c, h, w = x.shape
    r = math.ceil(3 * sigma)
    k = torch.tensor([math.exp(-((i - r) ** 2) / (2 * sigma * sigma)) for i in range(2 * r + 1)], dtype=torch.float64)
    k = k / k.sum()
    xd = x.double()[0]
    iw = (torch.arange(w)[:, None] + torch.arange(-r, r + 1)[None, :]).clamp(0, w - 1)
    ih = (torch.arange(h)[:, None] + torch.arange(-r, r + 1)[None, :]).clamp(0, h - 1)
    tmp = (xd[:, :, iw] * k).sum(-1)                                   # along W
    blurred = (tmp.permute(0, 2, 1)[:, :, ih] * k).sum(-1).permute(0, 2, 1)  # along H
    refs = [blurred.float()[None]]
    hw = h * w
    flat = x.reshape(1, c, hw)
    for _ in range(shuffles):
        perm = list(range(hw))
        for i in range(hw - 1, 0, -1):
            j = int(nxt() * (i + 1))
            perm[i], perm[j] = perm[j], perm[i]
        refs.append(flat[:, :, torch.tensor(perm)].reshape(x.shape))
    return refs


def expected_grad(model, x, c, n=EG_N, seed=EG_SEED):
    nxt = mulberry32(seed)
    refs = eg_references(x, nxt)
    acc = 0
    for _ in range(n):
        ref = refs[int(nxt() * len(refs))]
        alpha = nxt()
        pt = (ref.double() + alpha * (x.double() - ref.double())).float()
        acc = acc + (x.double() - ref.double()) * input_grad(model, pt, c)
    return (acc / n).mean(1)[0]


def safe_divide(a, b):
    """Chefer's safe_divide (ViT_LRP layers)."""
    den = b.clamp(min=1e-9) + b.clamp(max=1e-9)
    den = den + den.eq(0).type(den.type()) * 1e-9
    return a / den * b.ne(0).type(b.type())


def lin_relprop(R, x, w):
    """Chefer's Linear.relprop with alpha = 1, beta = 0 (bias left out), by autograd."""
    pw, nw = w.clamp(min=0), w.clamp(max=0)
    with torch.enable_grad():
        x1 = x.clamp(min=0).detach().requires_grad_(True)
        x2 = x.clamp(max=0).detach().requires_grad_(True)
        z1, z2 = F.linear(x1, pw), F.linear(x2, nw)
        S = safe_divide(R, z1 + z2).detach()
        c1, c2 = torch.autograd.grad((z1, z2), (x1, x2), (S, S))
    return (x1 * c1 + x2 * c2).detach()


def add_relprop(R, a_in, b_in):
    """Chefer's Add.relprop: z-rule, then each side rescaled to its share of sum(R)."""
    S = safe_divide(R, a_in + b_in)
    a, b = a_in * S, b_in * S
    sa, sb = a.sum(), b.sum()
    fa = safe_divide(sa.abs(), sa.abs() + sb.abs()) * R.sum()
    fb = safe_divide(sb.abs(), sa.abs() + sb.abs()) * R.sum()
    return a * safe_divide(fa, sa), b * safe_divide(fb, sb)


def partial_lrp(model, x, c):
    """One-hot at c through head (alpha-beta), final norm (unchanged) and the
    whole last block (all tokens, not read-out mode) down to its attention;
    LayerNorm, GELU, softmax, LayerScale pass relevance unchanged."""
    L = model.depth - 1
    b = f"blocks.{L}."
    p = model.p
    with torch.no_grad():
        X = last_input(model, x)
        T = model.ln(X, b + "norm1")
        B, N, D = T.shape
        q, k, v = model.qkv_heads(L, T)
        A = torch.softmax((q @ k.transpose(-2, -1)) * (D // model.H) ** -0.5, dim=-1)
    A = A.detach().requires_grad_(True)
    v = v.detach().requires_grad_(True)
    O = A @ v
    with torch.no_grad():
        merged = O.transpose(1, 2).reshape(B, N, D)
        proj = model.lin(merged, b + "attn.proj")
        brA = proj * p[b + "ls1.gamma"] if b + "ls1.gamma" in p else proj
        Y = X + brA
        U = model.ln(Y, b + "norm2")
        G = F.gelu(model.lin(U, b + "mlp.fc1"))
        M = model.lin(G, b + "mlp.fc2")
        brM = M * p[b + "ls2.gamma"] if b + "ls2.gamma" in p else M
        out = Y + brM
        Z = model.ln(out, "norm")
        rows = [("head", 0)] + ([("head_dist", 1)] if model.has_dist else [])
        Rz = torch.zeros_like(Z)
        for name, row in rows:
            seed = torch.zeros(1, p[name + ".weight"].shape[0], dtype=Z.dtype)
            seed[0, c] = 1.0 / len(rows)
            Rz[:, row] = lin_relprop(seed, Z[:, row], p[name + ".weight"])
    Ry, Rm = add_relprop(Rz, Y, brM)
    Rg = lin_relprop(Rm, G, p[b + "mlp.fc2.weight"])
    Ru = lin_relprop(Rg, U, p[b + "mlp.fc1.weight"])
    Ra = add_relprop(Ry + Ru, X, brA)[1]
    Ro = lin_relprop(Ra, merged, p[b + "attn.proj.weight"]).reshape(B, N, model.H, D // model.H).transpose(1, 2)
    S = safe_divide(Ro, O.detach())
    cA, cv = torch.autograd.grad(O, (A, v), S)
    cam = (A * cA).detach() / 2
    return cam[0].clamp(min=0).mean(0)[0, model.num_prefix:]


def last_input(model, x):
    h = model.embed(x)
    for i in range(model.depth - 1):
        h = model.block(i, h)
    return h


def gradcam(model, x, c):
    L = model.depth - 1
    with torch.no_grad():
        X = last_input(model, x)
    T = model.ln(X, f"blocks.{L}.norm1").detach().requires_grad_(True)
    logits, _ = model.head_from_tokens(model.block(L, X, t=T))
    (G,) = torch.autograd.grad(logits[:, c].sum(), [T])
    pre = model.num_prefix
    w = G[0, pre:].mean(0)
    cam = torch.relu((T[0, pre:] * w).sum(-1)).detach()
    lo, hi = cam.min(), cam.max()
    scaled = (cam - lo) / (hi - lo) if hi > lo else torch.zeros_like(cam)
    gh, gw = x.shape[2] // model.patch, x.shape[3] // model.patch
    px = F.interpolate(scaled.reshape(1, 1, gh, gw), size=tuple(x.shape[2:]), mode="bilinear", align_corners=False)[0, 0]
    return px, cam


def traced(model, x):
    attns = []
    h = model.embed(x)
    for i in range(model.depth):
        h = model.block(i, h, keep_attn=attns)
    logits, _ = model.head_from_tokens(h)
    return logits, attns


def relevance(model, x, c):
    logits, attns = traced(model, x.double().requires_grad_(True))  # so the graph is recorded
    grads = torch.autograd.grad(logits[:, c].sum(), attns)
    N = attns[0].shape[-1]
    R = torch.eye(N, dtype=torch.float64)
    for a, g in zip(attns, grads):
        cam = (g * a).clamp(min=0).mean(dim=1)[0]
        R = R + cam @ R
    return R[0, model.num_prefix:].detach()


def rollout(model, x, head=None):
    with torch.no_grad():
        _, attns = traced(model, x)
    N = attns[0].shape[-1]
    R = torch.eye(N, dtype=torch.float64)
    for a in attns:
        A = a[0].mean(0) if head is None else a[0, head]
        aug = 0.5 * A + 0.5 * torch.eye(N, dtype=torch.float64)
        aug = aug / aug.sum(-1, keepdim=True)
        R = aug @ R
    return R[0, model.num_prefix:]


def all_maps(model, x, c):
    px, cam = gradcam(model, x, c)
    return {
        "input-x-grad": input_x_grad(model, x, c), "smoothgrad": smoothgrad(model, x, c), "intgrad": intgrad(model, x, c),
        "gradcam": px, "gradcam_patch": cam, "relevance": relevance(model, x, c), "expected-grad": expected_grad(model, x, c),
        "partial-lrp": partial_lrp(model, x, c),
        "attnlrp": attnlrp(model, x, c, "cp"), "attnlrp-full": attnlrp(model, x, c, "full"),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    targets = [1, 3]
    res = {"generator": "tools/make_baseline_fixtures.py", "targets": targets,
           "smoothgrad": {"n": SG_N, "noise": SG_NOISE, "seed": SG_SEED}, "intgrad": {"steps": IG_STEPS},
           "expected_grad": {"n": EG_N, "seed": EG_SEED}, "models": {}}
    for name in FIXTURE_MODELS:
        model, x = load_fixture_model(name)
        m = {str(c): {k: lst(v) for k, v in all_maps(model, x, c).items()} for c in targets}
        m["rollout"] = lst(rollout(model, x))
        m["rollout_heads"] = [lst(rollout(model, x, h)) for h in range(model.H)]
        res["models"][name] = m
        print(f"{name}: done")
    path = os.path.join(OUT, "small_models.json")
    with open(path, "w") as f:
        json.dump(res, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} B)")

    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    model, cfg = load_model_dir(WEIGHTS, torch.float64)
    pc = cfg["pretrained_cfg"]
    x = to_tensor(load_rgb(os.path.join(ROOT, "examples", "catcoffee_224.png")), pc["mean"], pc["std"])
    out = {"rollout": rollout(model, x).float()}
    for c in (285, 967):
        for k, v in all_maps(model, x, c).items():
            out[f"{k}.{c}"] = v.float().contiguous()
        print(f"ViT-Ti target {c}: done")
    path = os.path.join(OUT, "vit_ti_catcoffee.safetensors")
    write_safetensors(path, out, {"generator": "tools/make_baseline_fixtures.py", "smoothgrad_n": str(SG_N),
                                  "smoothgrad_noise": str(SG_NOISE), "smoothgrad_seed": str(SG_SEED), "intgrad_steps": str(IG_STEPS),
                                  "expected_grad_n": str(EG_N), "expected_grad_seed": str(EG_SEED)})
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} B)")


if __name__ == "__main__":
    main()
