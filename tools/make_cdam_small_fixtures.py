#!/usr/bin/python3
"""CDAM-family references on the small generated models (float64 torch), so that
every method is held to PyTorch on every run and every backend, in more layouts
than the embedded model's.

Run with:  /usr/bin/python3 tools/make_cdam_small_fixtures.py

Reads  test/fixtures/vit/{timm_reg_ls,hf_vit,timm_distilled}/ (made by make_vit_fixtures.py)
       and the input tensor stored in each expected.json
Writes test/fixtures/cdam/small_models.json

Per model: the attention map (mean over heads and per head, [CLS] row over
patch keys), CDAM for classes 1 and 3 and for logit[3] - logit[1], Integrated
CDAM (m = 8, target 3), Smooth CDAM (n = 4, nu = 0.05, seed 7, target 3; the
noise from the same mulberry32 + Box-Muller sampler as src/tensor/tensor.ts),
all as in make_cdam_fixtures.py.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_vit import load_fixture_model  # noqa: E402
from make_cdam_fixtures import cdam_maps, mulberry32, normal_sampler, logit, lst  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "cdam", "small_models.json")
MODELS = ["timm_reg_ls", "hf_vit", "timm_distilled"]
A, B = 1, 3
INTEGRATED_M = 8
SMOOTH_N, SMOOTH_NU, SMOOTH_SEED = 4, 0.05, 7


def main():
    res = {"generator": "tools/make_cdam_small_fixtures.py", "targets": [A, B], "models": {}}
    for name in MODELS:
        model, x = load_fixture_model(name)
        L = model.depth - 1
        with torch.no_grad():
            X = model.forward(x, keep=True)["block_inputs"][L]
            heads = model.attention_probs(L, X)[0, :, 0, model.num_prefix:]
        N, D = X.shape[1], X.shape[2]
        alphas = torch.arange(1, INTEGRATED_M, dtype=torch.float64) / INTEGRATED_M
        nxt = normal_sampler(mulberry32(SMOOTH_SEED))
        E = torch.tensor([nxt() for _ in range(SMOOTH_N * N * D)], dtype=torch.float64).reshape(SMOOTH_N, N, D)
        sigma = SMOOTH_NU * (X.max().item() - X.min().item())
        res["models"][name] = {
            "num_prefix": model.num_prefix,
            "attention": lst(heads.mean(0)),
            "attention_heads": [lst(h) for h in heads],
            "cdam": {str(c): lst(cdam_maps(model, X, logit(c))[0]) for c in (A, B)},
            "cdam_diff": lst(cdam_maps(model, X, lambda lg, lat: lg[:, B] - lg[:, A])[0]),
            "integrated": {"m": INTEGRATED_M, "target": B, "map": lst(cdam_maps(model, alphas[:, None, None] * X, logit(B)).mean(0))},
            "smooth": {"n": SMOOTH_N, "nu": SMOOTH_NU, "seed": SMOOTH_SEED, "target": B, "sigma": sigma,
                       "map": lst(cdam_maps(model, X + sigma * E, logit(B)).mean(0))},
        }
        print(f"{name}: {model.num_prefix} prefix tokens, {N - model.num_prefix} patches")
    with open(OUT, "w") as f:
        json.dump(res, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} B)")


if __name__ == "__main__":
    main()
