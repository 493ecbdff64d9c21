#!/usr/bin/python3
"""PyTorch reference for SmoothGrad-Squared (Hooker et al. 2019, "A Benchmark
for Interpretability Methods in Deep Neural Networks"), written from the
definition in float64, so that src/baselines/smoothGradSquared.ts is held to it.

Run with:  /usr/bin/python3 tools/make_smoothgrad_squared_fixture.py

Writes test/fixtures/baselines/smoothgrad_squared.json: on the generated models
of every layout (timm_plain, timm_reg_ls, hf_vit, timm_distilled), targets 1
and 3, on the input stored in each expected.json,

  smoothgrad-squared   mean_c(mean_k (df(x + eps_k)/dx)^2), sigma = 0.15 (max x - min x)

with eps from the same mulberry32 + Box-Muller sampler as the library
(sample-major, CHW order; ported in tools/make_cdam_fixtures.py), seed 7, and
the noisy inputs rounded to float32 as the library feeds them: the same noise
as SmoothGrad's fixture (tools/make_baseline_fixtures.py).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_vit import FIXTURE_MODELS, load_fixture_model  # noqa: E402
from make_cdam_fixtures import mulberry32, normal_sampler, lst  # noqa: E402
from make_baseline_fixtures import input_grad  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "baselines", "smoothgrad_squared.json")
N, NOISE, SEED = 4, 0.15, 7
TARGETS = [1, 3]


def noisy_copies(x, n, noise, seed):
    """x + sigma eps for n copies, eps drawn entry by entry, copy by copy, as src/cdam/averaging.ts noisyCopies."""
    sigma = noise * (x.max().item() - x.min().item())
    nxt = normal_sampler(mulberry32(seed))
    E = torch.tensor([nxt() for _ in range(n * x.numel())], dtype=torch.float64).reshape(n, *x.shape[1:])
    return (x.double() + sigma * E).float()


def smoothgrad_squared(model, x, c, n=N, noise=NOISE, seed=SEED):
    g = input_grad(model, noisy_copies(x, n, noise, seed), c)  # [n, 3, H, W], float64
    return (g * g).mean(0).mean(0)


def main():
    res = {"generator": "tools/make_smoothgrad_squared_fixture.py", "targets": TARGETS,
           "smoothgrad_squared": {"n": N, "noise": NOISE, "seed": SEED}, "models": {}}
    for name in FIXTURE_MODELS:
        model, x = load_fixture_model(name)
        res["models"][name] = {str(c): lst(smoothgrad_squared(model, x, c)) for c in TARGETS}
        print(f"{name}: done")
    with open(OUT, "w") as f:
        json.dump(res, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} B)")


if __name__ == "__main__":
    main()
