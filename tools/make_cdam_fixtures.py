#!/usr/bin/python3
"""Generate the CDAM reference fixture on the embedded ViT-Ti (float64 torch).

Run with:  /usr/bin/python3 tools/make_cdam_fixtures.py        (from anywhere)

Reads  weights/ (the embedded ViT-Ti/16, F16 tensors, upcast exactly)
       examples/catcoffee_224.png (224x224: no resampling)
Writes test/fixtures/cdam/catcoffee_vit_tiny.json (one key per line, float reprs).

Follows spec/cdam.md (in the shared folder). Everything is computed in float64: the F16
weights and the float32 input tensor ((pixel/255 - 0.5)/0.5, CHW, rounded once to
float32) are upcast. Notation: X = input of the last block (all 197 tokens), T = LN1(X).
Gradients: T is made a leaf (T = LN1(X).detach().requires_grad_()), the last block
is run as X + Attn(T) then its MLP half, final norm and head, and torch.autograd.grad
gives d target / d T. (Equivalent to the full-graph gradient because T feeds only the
attention branch: checked in this script.) Maps are S_i = sum_j T[i,j] dF/dT[i,j] for
patch tokens (row 0 = [CLS] dropped), signed, 196 values in row-major 14x14 order.

Keys:
  logits            top5 indices/logits, and the logits of 285 and 967
  attention         mean over heads of the last block's A[h, 0, 1:]   [196]
  attention_heads   A[h, 0, 1:]                                       [3][196]
  cdam              {"285": [196], "967": [196]}   raw-logit targets
  cdam_diff         target logit[285] - logit[967]
  concept_vector    l_c = mean of latents (final-normed [CLS], [192]) of the catcoffee
                    tensor and its horizontal mirror (normalised tensor flipped on W)
  concept_map       target g = l(x) . l_c (plain dot product) on the catcoffee image
  integrated        m = 50, X_k = (k/m) X, k = 1..49, mean of the 49 maps, target 285
  smooth            n = 8, nu = 0.05, seed 1234, sigma = nu (max X - min X),
                    X_k = X + sigma eps_k, eps from mulberry32(1234) + Box-Muller with a
                    spare (one sampler; eps_1 row-major token-then-feature, then eps_2, ...)
The per-head [CLS] attention for the appendix check is `attention_heads` (not repeated).
"""
import json
import math
import os
import shutil
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_vit import load_model_dir, load_rgb, to_tensor  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "cdam", "catcoffee_vit_tiny.json")
MODEL = "vit_tiny_patch16_224.augreg_in21k_ft_in1k"
WEIGHTS = os.path.join(ROOT, "weights")
IMAGE = os.path.join(ROOT, "examples", "catcoffee_224.png")
CAT, ESPRESSO = 285, 967
SMOOTH_N, SMOOTH_NU, SMOOTH_SEED = 8, 0.05, 1234
INTEGRATED_M = 50
# first five normals of normalSampler(rng(1234)) from src/tensor/tensor.ts, run in node 20
JS_FIRST5 = [-0.6596911495059279, -2.1889115913387425, 0.4443709237817734, -0.08317964440617916,
             1.8668758804622678]


# --------------------------------------------------------------------------- #
# mulberry32 + Box-Muller, bit-exact port of src/tensor/tensor.ts rng/normalSampler
# --------------------------------------------------------------------------- #
M32 = 0xFFFFFFFF


def _imul(a, b):
    return (a * b) & M32


def mulberry32(seed):
    s = seed & M32

    def nxt():
        nonlocal s
        s = (s + 0x6D2B79F5) & M32
        t = s
        t = _imul(t ^ (t >> 15), t | 1)
        t = (t ^ ((t + _imul(t ^ (t >> 7), t | 61)) & M32)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296.0
    return nxt


def normal_sampler(uniform):
    spare = None

    def nxt():
        nonlocal spare
        if spare is not None:
            s, spare = spare, None
            return s
        u = 0.0
        while u == 0.0:
            u = uniform()
        v = uniform()
        r = math.sqrt(-2.0 * math.log(u))
        spare = r * math.sin(2.0 * math.pi * v)
        return r * math.cos(2.0 * math.pi * v)
    return nxt


def js_normals(count):
    """Run the project's own JS sampler if node and the build are available (else None)."""
    js = os.path.join(ROOT, "build", "src", "tensor", "tensor.js")
    if not (shutil.which("node") and os.path.exists(js)):
        return None
    code = (f"import {{ rng, normalSampler }} from {json.dumps(js)};"
            f"const next = normalSampler(rng({SMOOTH_SEED})); const o = new Array({count});"
            f"for (let i = 0; i < {count}; i++) o[i] = next(); console.log(JSON.stringify(o));")
    r = subprocess.run(["node", "--input-type=module", "-e", code], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


# --------------------------------------------------------------------------- #
# CDAM
# --------------------------------------------------------------------------- #
def cdam_maps(model, Xb, target):
    """Xb: [B, N, D] last-block inputs. target(logits, latent) -> [B] scalars.
    Returns S [B, P] = sum_j T * dtarget/dT over patch tokens (samples are independent)."""
    L = model.depth - 1
    T = model.ln(Xb, f"blocks.{L}.norm1").detach().requires_grad_(True)
    out = model.block(L, Xb, t=T)
    logits, latent = model.head_from_tokens(out)
    s = target(logits, latent)
    (g,) = torch.autograd.grad(s.sum(), T)
    return (T * g).sum(-1)[:, model.num_prefix:].detach()


def full_graph_cdam(model, x, cls):
    """Same map via the whole network from the input image, grad of T kept in the graph."""
    h = model.embed(x)
    L = model.depth - 1
    for i in range(L):
        h = model.block(i, h)
    T = model.ln(h, f"blocks.{L}.norm1")
    T.retain_grad()
    logits, _ = model.head_from_tokens(model.block(L, h, t=T))
    logits[0, cls].backward()
    return (T * T.grad).sum(-1)[:, model.num_prefix:].detach()


def logit(c):
    return lambda lg, lat: lg[:, c]


def lst(t):
    return [float(v) for v in t.reshape(-1).tolist()]


def main():
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    model, cfg = load_model_dir(WEIGHTS, torch.float64)
    pc = cfg["pretrained_cfg"]
    img = load_rgb(IMAGE)
    assert img.size == (224, 224)
    x = to_tensor(img, pc["mean"], pc["std"])  # float32 [1,3,224,224]
    L = model.depth - 1

    with torch.no_grad():
        fw = model.forward(x, keep=True)
    X = fw["block_inputs"][L]  # input of the last block, [1, 197, 192]
    lg = fw["logits"][0]
    top = torch.topk(lg, 5)
    print("top-5:", list(zip(top.indices.tolist(), [round(v, 4) for v in top.values.tolist()])))

    # attention map
    with torch.no_grad():
        A = model.attention_probs(L, X)  # [1, H, N, N]
    heads = A[0, :, 0, model.num_prefix:]
    att = heads.mean(0)

    # vanilla CDAM (raw logits)
    cd = {c: cdam_maps(model, X, logit(c))[0] for c in (CAT, ESPRESSO)}
    ref = full_graph_cdam(model, x.double().requires_grad_(True), CAT)[0]
    err = (ref - cd[CAT]).abs().max().item()
    print(f"cdam 285: detached-T vs full-graph max |d| = {err:.2e}")
    assert err < 1e-10 * max(1.0, cd[CAT].abs().max().item())

    diff = cdam_maps(model, X, lambda lg_, lat: lg_[:, CAT] - lg_[:, ESPRESSO])[0]
    lin_err = (diff - (cd[CAT] - cd[ESPRESSO])).abs().max().item()
    print(f"cdam_diff vs cdam285 - cdam967: max |d| = {lin_err:.2e}")
    assert lin_err < 1e-9

    # concept: mean latent of the image and its mirror (flip W of the normalised tensor)
    with torch.no_grad():
        lat_a = model.forward(x)["latent"][0]
        lat_b = model.forward(x.flip(-1))["latent"][0]
    lc = (lat_a + lat_b) / 2
    cmap = cdam_maps(model, X, lambda lg_, lat: lat @ lc)[0]
    g = float(lat_a @ lc)

    # integrated CDAM: X_k = (k/m) X, k = 1..m-1
    alphas = torch.arange(1, INTEGRATED_M, dtype=torch.float64) / INTEGRATED_M
    integ = cdam_maps(model, alphas[:, None, None] * X, logit(CAT)).mean(0)

    # smooth CDAM
    N, D = X.shape[1], X.shape[2]
    nxt = normal_sampler(mulberry32(SMOOTH_SEED))
    eps = [nxt() for _ in range(SMOOTH_N * N * D)]
    assert eps[:5] == JS_FIRST5, (eps[:5], JS_FIRST5)
    js = js_normals(len(eps))
    if js is None:
        print("node/build not available: checked the first five normals against stored JS values only")
    else:
        nd = sum(a != b for a, b in zip(eps, js))
        md = max(abs(a - b) for a, b in zip(eps, js))
        print(f"JS sampler vs Python port: {len(eps)} normals, {nd} differ (max |d| = {md:.1e})")
        assert eps[:5] == js[:5] and md < 1e-12
    E = torch.tensor(eps, dtype=torch.float64).reshape(SMOOTH_N, N, D)
    xmin, xmax = X.min().item(), X.max().item()
    sigma = SMOOTH_NU * (xmax - xmin)
    smooth = cdam_maps(model, X + sigma * E, logit(CAT)).mean(0)

    # sanity: class-discriminative halves (cat left, espresso right)
    def halves(m):
        m = m.reshape(14, 14)
        return round(m[:, :7].sum().item(), 4), round(m[:, 7:].sum().item(), 4)
    for nm, m in (("attention", att), ("cdam 285", cd[CAT]), ("cdam 967", cd[ESPRESSO]), ("diff", diff),
                  ("concept", cmap), ("integrated", integ), ("smooth", smooth)):
        print(f"  {nm:10s} left/right sums {halves(m)}")

    res = {
        "model": "weights/ (embedded " + MODEL + ", F16)",
        "image": os.path.basename(IMAGE),
        "preprocess": "no resampling; (pixel/255 - 0.5)/0.5 per channel, CHW, rounded once to float32",
        "compute": "float64 torch (weights and input upcast from float32); gradients by autograd w.r.t. "
                   "T = LN1(X) of the last block taken as a leaf; maps = sum over D of T * dF/dT, patch rows",
        "grid": [14, 14],
        "logits": {"top5": top.indices.tolist(), "top5_logits": lst(top.values),
                   str(CAT): float(lg[CAT]), str(ESPRESSO): float(lg[ESPRESSO])},
        "attention": lst(att),
        "attention_heads": [lst(h) for h in heads],
        "cdam": {str(CAT): lst(cd[CAT]), str(ESPRESSO): lst(cd[ESPRESSO])},
        "cdam_diff": {"target": "logit[285] - logit[967]", "pos": CAT, "neg": ESPRESSO, "map": lst(diff)},
        "concept": {"examples": ["catcoffee_224 tensor", "same tensor flipped on W (horizontal mirror)"],
                    "latent": "final-normed [CLS] token LNf(X_L)[0], 192 values",
                    "score": "g = l(x) . l_c (plain dot product)", "g": g},
        "concept_vector": lst(lc),
        "concept_map": lst(cmap),
        "integrated": {"m": INTEGRATED_M, "target": CAT, "steps": "alpha = k/m, k = 1..m-1 (49 maps)",
                       "map": lst(integ)},
        "smooth": {"n": SMOOTH_N, "nu": SMOOTH_NU, "seed": SMOOTH_SEED, "target": CAT,
                   "x_min": xmin, "x_max": xmax, "sigma": sigma, "first_normals": eps[:5],
                   "map": lst(smooth)},
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    lines = [f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in res.items()]
    with open(OUT, "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} B)")


if __name__ == "__main__":
    main()
