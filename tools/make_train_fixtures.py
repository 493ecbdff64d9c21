#!/usr/bin/python3
"""Generate reference fixtures for src/train (losses and optimizers) from PyTorch.

Writes:
  test/fixtures/train_losses.json  each loss's value and input gradients (float64)
  test/fixtures/train_optim.json   three steps of AdamW (clipping, warm-up + cosine,
                                   weight decay groups) and of SGD with momentum
                                   (plain and Nesterov), float32 as torch runs them

Run with:  /usr/bin/python3 tools/make_train_fixtures.py

Conventions (as tools/make_op_fixtures.py):
  * torch.manual_seed(0); everything is deterministic.
  * Inputs are sampled as float32 (exactly representable in float32). The losses
    are computed in float64 with requires_grad=True and differentiated with seed 1.
  * The optimizers run on float32 parameters (float32 state, as torch keeps it)
    with fixed float32 gradients, one set per step; `null` means the parameter
    has no gradient that step (torch skips it).
  * Tensor encoding: {"shape": [...], "data": [flat row-major values]}.
  * Huber inputs keep |x - y| at least MARGIN from delta (the kink).

The JS test suite never needs torch: the generated JSON files are committed.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures")
GENERATOR = "tools/make_train_fixtures.py"
MARGIN = 0.05


def randn(*shape, scale=1.0):
    return (torch.randn(tuple(shape)) * scale).float()


def enc(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


# --------------------------------------------------------------------------- #
# train_losses.json
# --------------------------------------------------------------------------- #
LOSS_CASES = []


def add_loss(name, loss, inputs, fn, params=None, targets=None):
    """inputs: name -> float32 tensor (all differentiable); fn(**float64) -> scalar."""
    xs = {k: v.double().requires_grad_(True) for k, v in inputs.items()}
    out = fn(**xs)
    grads = torch.autograd.grad(out, list(xs.values()))
    LOSS_CASES.append({
        "name": name,
        "loss": loss,
        "params": params or {},
        "targets": targets,
        "inputs": {k: enc(v) for k, v in inputs.items()},
        "value": float(out),
        "grads": {k: enc(g) for k, g in zip(xs, grads)},
    })


def huber_inputs(shape, delta):
    x = randn(*shape, scale=1.5)
    y = randn(*shape)
    while True:
        bad = ((x - y).abs() - delta).abs() < MARGIN
        if not bad.any():
            return x, y
        x[bad] = randn(int(bad.sum()), scale=1.5)


def make_losses():
    logits = randn(4, 5, scale=2.0)
    t = [1, 0, 4, 2]
    idx = torch.tensor(t)
    add_loss("cross_entropy", "crossEntropy", {"input": logits},
             lambda input: F.cross_entropy(input, idx), targets=t)
    add_loss("cross_entropy label_smoothing=0.1", "crossEntropy", {"input": logits},
             lambda input: F.cross_entropy(input, idx, label_smoothing=0.1),
             params={"labelSmoothing": 0.1}, targets=t)
    ti = [1, -100, 4, 2]
    idx_i = torch.tensor(ti)
    add_loss("cross_entropy label_smoothing=0.2 ignore_index=-100", "crossEntropy",
             {"input": randn(4, 5, scale=2.0)},
             lambda input: F.cross_entropy(input, idx_i, label_smoothing=0.2),
             params={"labelSmoothing": 0.2}, targets=ti)
    # a large logit shift: log-softmax must not overflow
    add_loss("cross_entropy shifted by 80", "crossEntropy", {"input": randn(3, 4) + 80.0},
             lambda input: F.cross_entropy(input, torch.tensor([3, 1, 0]), label_smoothing=0.1),
             params={"labelSmoothing": 0.1}, targets=[3, 1, 0])

    x = randn(3, 4, scale=3.0)
    x[0, 0] = 0.0  # softplus's gradient at exactly 0 is 1/2
    x[2, 3] = 30.0  # and far out on both sides
    x[1, 2] = -30.0
    add_loss("bce_with_logits soft targets", "bceWithLogits",
             {"input": x, "target": torch.rand(3, 4).float()},
             lambda input, target: F.binary_cross_entropy_with_logits(input, target))

    add_loss("mse", "mse", {"input": randn(3, 4), "target": randn(3, 4)},
             lambda input, target: F.mse_loss(input, target))

    for delta in (1.0, 0.5):
        x, y = huber_inputs((3, 5), delta)
        add_loss(f"huber delta={delta}", "huber", {"input": x, "target": y},
                 lambda input, target, d=delta: F.huber_loss(input, target, delta=d),
                 params={"delta": delta})


# --------------------------------------------------------------------------- #
# train_optim.json
# --------------------------------------------------------------------------- #
PARAM_SHAPES = {
    "cls_token": (1, 1, 4),
    "pos_embed": (1, 3, 4),
    "blocks.0.norm1.weight": (4,),
    "blocks.0.norm1.bias": (4,),
    "blocks.0.attn.qkv.weight": (12, 4),
    "blocks.0.attn.qkv.bias": (12,),
    "head.weight": (3, 4),
    "head.bias": (3,),
}
# written by hand (not from the engine's rule): the test checks paramGroups agrees
DECAY = ["blocks.0.attn.qkv.weight", "head.weight"]
MISSING = {1: "head.bias"}  # step index (0-based) -> parameter with no gradient


def warmup_cosine(step, warmup, total, base, lo):
    if step < warmup:
        return base * step / warmup
    if step >= total:
        return lo
    p = (step - warmup) / (total - warmup)
    return lo + (base - lo) * (1 + math.cos(math.pi * p)) / 2


def run_optimizer(kind, cfg, init, grads):
    params = {n: init[n].clone().requires_grad_(True) for n in PARAM_SHAPES}
    groups = [
        {"params": [params[n] for n in DECAY], "weight_decay": cfg["weightDecay"]},
        {"params": [params[n] for n in PARAM_SHAPES if n not in DECAY], "weight_decay": 0.0},
    ]
    if kind == "adamw":
        opt = torch.optim.AdamW(groups, lr=0.0, betas=tuple(cfg["betas"]), eps=cfg["eps"])
    else:
        opt = torch.optim.SGD(groups, lr=cfg["lr"], momentum=cfg["momentum"], nesterov=cfg["nesterov"])
    steps = []
    for s, gs in enumerate(grads):
        for n, p in params.items():
            p.grad = None if gs[n] is None else gs[n].clone()
        rec = {}
        if "clip" in cfg:
            with_grad = [p for p in params.values() if p.grad is not None]
            rec["norm"] = float(torch.nn.utils.clip_grad_norm_(with_grad, cfg["clip"]))
        if "schedule" in cfg:
            lr = warmup_cosine(s + 1, **cfg["schedule"])
            for g in opt.param_groups:
                g["lr"] = lr
            rec["lr"] = lr
        opt.step()
        rec["params"] = {n: enc(p) for n, p in params.items()}
        steps.append(rec)
    return steps


def make_optim():
    init = {n: randn(*s) for n, s in PARAM_SHAPES.items()}
    grads = []
    for s in range(3):
        gs = {n: randn(*shape, scale=0.5 if s == 2 else 1.0) for n, shape in PARAM_SHAPES.items()}
        if s in MISSING:
            gs[MISSING[s]] = None
        grads.append(gs)
    configs = [
        ("adamw clip warmup-cosine groups", "adamw", {
            "betas": [0.9, 0.95], "eps": 1e-8, "weightDecay": 0.05, "clip": 1.0,
            "schedule": {"warmup": 2, "total": 10, "base": 0.01, "lo": 1e-4}}),
        ("sgd momentum groups", "sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": False, "weightDecay": 0.01}),
        ("sgd nesterov groups clip", "sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weightDecay": 0.01, "clip": 2.0}),
    ]
    runs = [{"name": name, "kind": kind, "config": cfg, "steps": run_optimizer(kind, cfg, init, grads)}
            for name, kind, cfg in configs]
    schedule = {"warmup": 3, "total": 10, "base": 0.1, "lo": 0.001}
    return {
        "params": {n: enc(t) for n, t in init.items()},
        "decay": DECAY,
        "grads": [{n: (None if g is None else enc(g)) for n, g in gs.items()} for gs in grads],
        "runs": runs,
        "schedule": {"config": schedule, "lr": [warmup_cosine(s, **schedule) for s in range(12)]},
    }


def write(name, obj):
    obj = {"generator": GENERATOR, "torch": torch.__version__, **obj}
    path = os.path.join(OUT_DIR, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    torch.manual_seed(0)
    make_losses()
    write("train_losses.json", {"cases": LOSS_CASES})
    optim = make_optim()
    write("train_optim.json", optim)


if __name__ == "__main__":
    main()
