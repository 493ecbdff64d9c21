#!/usr/bin/python3
"""Generate reference fixtures for the cdam autodiff engine from PyTorch.

Writes:
  test/fixtures/ops.json    one case per engine op (forward output + input grads)
  test/fixtures/block.json  one pre-norm ViT block (timm semantics) with all grads

Run with:  /usr/bin/python3 tools/make_op_fixtures.py

Conventions:
  * torch.manual_seed(0); everything is deterministic.
  * Inputs are sampled as float32 (so they are exactly representable in float32),
    then ALL computation is done in float64 with requires_grad=True.
  * A random upstream gradient `g` (float32-representable) of the output's shape is
    back-propagated: grads = torch.autograd.grad(out, inputs, g).
  * Tensor encoding: {"shape": [...], "data": [flat row-major values]}; floats are
    written with repr (shortest round-trip => full float64 precision).
  * Inputs are kept away from non-differentiable points (relu/clamp kinks, max ties,
    log/sqrt near 0, small denominators).

The JS test suite never needs torch: the generated JSON files are committed.
"""
import json
import os

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures")
GENERATOR = "tools/make_op_fixtures.py"
MARGIN = 0.05  # min distance from kinks / ties


# --------------------------------------------------------------------------- #
# sampling helpers (all return float32 tensors)
# --------------------------------------------------------------------------- #
def randn(*shape, scale=1.0):
    return (torch.randn(tuple(shape)) * scale).float()


def uniform(*shape, lo=-1.0, hi=1.0):
    return (torch.rand(tuple(shape)) * (hi - lo) + lo).float()


def away_from(*shape, points=(0.0,), scale=1.0):
    """randn, resampled element-wise until every value is >= MARGIN from `points`."""
    x = randn(*shape, scale=scale)
    while True:
        bad = torch.zeros(x.shape, dtype=torch.bool)
        for p in points:
            bad |= (x - p).abs() < MARGIN
        if not bad.any():
            return x
        x[bad] = randn(int(bad.sum()), scale=scale)


def no_ties(*shape, dim):
    """randn whose top-2 values along `dim` differ by >= MARGIN (unique, smooth max)."""
    while True:
        x = randn(*shape)
        top2 = x.topk(2, dim=dim).values
        if ((top2.select(dim, 0) - top2.select(dim, 1)) >= MARGIN).all():
            return x


def signed_mag(*shape, lo=0.5, hi=2.0):
    """values with |v| in [lo, hi] and random sign (safe denominators)."""
    mag = uniform(*shape, lo=lo, hi=hi)
    sign = torch.where(torch.rand(tuple(shape)) < 0.5, -1.0, 1.0)
    return (mag * sign).float()


# --------------------------------------------------------------------------- #
# encoding
# --------------------------------------------------------------------------- #
def enc(t, integer=False):
    t = t.detach()
    flat = t.reshape(-1).tolist()
    if integer:
        flat = [int(v) for v in flat]
    else:
        flat = [float(v) for v in flat]
    return {"shape": list(t.shape), "data": flat}


def upstream_like(out):
    return randn(*out.shape).double()


# --------------------------------------------------------------------------- #
# ops.json
# --------------------------------------------------------------------------- #
CASES = []


def add_case(name, op, inputs, fn, params=None, nondiff=()):
    """inputs: ordered dict name -> float32 tensor. fn(**float64 tensors) -> output.
    Inputs named in `nondiff` (conditions / indices) are encoded as integers and get
    no gradient."""
    xs = {}
    for k, v in inputs.items():
        assert v.dtype == torch.float32, (name, k)
        d = v.double()
        if k not in nondiff:
            d.requires_grad_(True)
        xs[k] = d
    out = fn(**xs)
    g = upstream_like(out)
    diff_names = [k for k in inputs if k not in nondiff]
    grads = torch.autograd.grad(out, [xs[k] for k in diff_names], g)
    CASES.append({
        "name": name,
        "op": op,
        "params": params or {},
        "inputs": {k: enc(v, integer=(k in nondiff)) for k, v in inputs.items()},
        "upstream": enc(g),
        "output": enc(out),
        "grads": {k: enc(gr) for k, gr in zip(diff_names, grads)},
    })


def build_ops():
    # ---- elementwise binary (broadcasting) ----
    add_case("add", "add", {"x": randn(3, 4), "y": randn(4)}, lambda x, y: x + y)
    add_case("add_bcast", "add", {"x": randn(2, 1, 4), "y": randn(3, 1)}, lambda x, y: x + y)
    add_case("sub", "sub", {"x": randn(3, 4), "y": randn(3, 4)}, lambda x, y: x - y)
    add_case("sub_bcast", "sub", {"x": randn(3, 1), "y": randn(1, 4)}, lambda x, y: x - y)
    add_case("mul", "mul", {"x": randn(3, 4), "y": randn(3, 4)}, lambda x, y: x * y)
    add_case("mul_bcast", "mul", {"x": randn(2, 3, 4), "y": randn(4)}, lambda x, y: x * y)
    add_case("div", "div", {"x": randn(3, 4), "y": signed_mag(3, 4)}, lambda x, y: x / y)
    add_case("div_bcast", "div", {"x": randn(3, 4), "y": signed_mag(3, 1)}, lambda x, y: x / y)

    # ---- elementwise unary ----
    add_case("neg", "neg", {"x": randn(3, 5)}, lambda x: -x)
    add_case("exp", "exp", {"x": randn(3, 5)}, torch.exp)
    add_case("log", "log", {"x": uniform(3, 5, lo=0.5, hi=2.0)}, torch.log)
    add_case("sqrt", "sqrt", {"x": uniform(3, 5, lo=0.5, hi=2.0)}, torch.sqrt)
    add_case("tanh", "tanh", {"x": randn(3, 5)}, torch.tanh)
    add_case("erf", "erf", {"x": randn(3, 5)}, torch.erf)
    add_case("relu", "relu", {"x": away_from(3, 5, points=(0.0,))}, torch.relu)
    add_case("clamp", "clamp", {"x": away_from(3, 5, points=(-0.5, 0.5))},
             lambda x: torch.clamp(x, -0.5, 0.5), params={"min": -0.5, "max": 0.5})
    cond = (torch.rand(3, 4) < 0.5).float()
    add_case("where", "where", {"cond": cond, "x": randn(3, 4), "y": randn(3, 4)},
             lambda cond, x, y: torch.where(cond.bool(), x, y), nondiff=("cond",))

    # ---- reductions ----
    add_case("sum_axis1_keep", "sum", {"x": randn(2, 3, 4)},
             lambda x: x.sum(dim=1, keepdim=True), params={"axes": [1], "keepdim": True})
    add_case("sum_all", "sum", {"x": randn(2, 3, 4)},
             lambda x: x.sum(), params={"axes": None, "keepdim": False})
    add_case("sum_axes02", "sum", {"x": randn(2, 3, 4)},
             lambda x: x.sum(dim=(0, 2)), params={"axes": [0, 2], "keepdim": False})
    add_case("mean_last_keep", "mean", {"x": randn(2, 3, 4)},
             lambda x: x.mean(dim=-1, keepdim=True), params={"axes": [-1], "keepdim": True})
    add_case("mean_all", "mean", {"x": randn(2, 3, 4)},
             lambda x: x.mean(), params={"axes": None, "keepdim": False})
    add_case("max_axis1", "max", {"x": no_ties(2, 3, 4, dim=1)},
             lambda x: torch.amax(x, dim=1), params={"axes": [1], "keepdim": False})
    add_case("max_last_keep", "max", {"x": no_ties(2, 3, 4, dim=-1)},
             lambda x: torch.amax(x, dim=-1, keepdim=True), params={"axes": [-1], "keepdim": True})

    # ---- matmul ----
    mm = lambda x, y: torch.matmul(x, y)
    add_case("matmul_2d", "matmul", {"x": randn(3, 4), "y": randn(4, 5)}, mm)
    add_case("matmul_batched", "matmul", {"x": randn(2, 3, 4), "y": randn(2, 4, 5)}, mm)
    add_case("matmul_bcast", "matmul", {"x": randn(2, 3, 4), "y": randn(4, 5)}, mm)
    add_case("matmul_transA", "matmul", {"x": randn(4, 3), "y": randn(4, 5)},
             lambda x, y: x.transpose(-1, -2) @ y, params={"transA": True})
    add_case("matmul_transB", "matmul", {"x": randn(3, 4), "y": randn(5, 4)},
             lambda x, y: x @ y.transpose(-1, -2), params={"transB": True})
    add_case("matmul_batched_transB", "matmul", {"x": randn(2, 3, 4), "y": randn(2, 5, 4)},
             lambda x, y: x @ y.transpose(-1, -2), params={"transB": True})

    # ---- softmax / layer norm / gelu ----
    add_case("softmax", "softmax", {"x": randn(2, 3, 5)}, lambda x: torch.softmax(x, dim=-1),
             params={"axis": -1})
    add_case("softmax_wide", "softmax", {"x": randn(4, 33, scale=2.0)},
             lambda x: torch.softmax(x, dim=-1), params={"axis": -1})
    add_case("layer_norm", "layer_norm",
             {"x": randn(3, 8), "weight": 1.0 + uniform(8, lo=-0.2, hi=0.2), "bias": randn(8, scale=0.1)},
             lambda x, weight, bias: F.layer_norm(x, (8,), weight, bias, eps=1e-6),
             params={"eps": 1e-6})
    add_case("layer_norm_3d", "layer_norm",
             {"x": randn(2, 3, 8, scale=2.0) + 0.5, "weight": 1.0 + uniform(8, lo=-0.2, hi=0.2),
              "bias": randn(8, scale=0.1)},
             lambda x, weight, bias: F.layer_norm(x, (8,), weight, bias, eps=1e-5),
             params={"eps": 1e-5})
    add_case("gelu", "gelu", {"x": uniform(3, 7, lo=-4.0, hi=4.0)}, lambda x: F.gelu(x))

    # ---- shape ops ----
    add_case("concat_axis0", "concat", {"x": randn(2, 3), "y": randn(1, 3)},
             lambda x, y: torch.cat([x, y], dim=0), params={"axis": 0})
    add_case("concat_axis1", "concat", {"x": randn(2, 3, 2), "y": randn(2, 1, 2)},
             lambda x, y: torch.cat([x, y], dim=1), params={"axis": 1})
    add_case("slice", "slice", {"x": randn(4, 6)}, lambda x: x[1:3, 2:5],
             params={"starts": [1, 2], "ends": [3, 5]})
    add_case("gather_row", "gather", {"x": randn(5, 4)}, lambda x: x[2],
             params={"axis": 0, "index": 2})
    add_case("gather_rows", "gather", {"x": randn(5, 4)},
             lambda x: torch.index_select(x, 0, torch.tensor([3, 0, 3])),
             params={"axis": 0, "indices": [3, 0, 3]})
    add_case("reshape", "reshape", {"x": randn(2, 6)}, lambda x: x.reshape(3, 4),
             params={"shape": [3, 4]})
    add_case("permute", "permute", {"x": randn(2, 3, 4)}, lambda x: x.permute(2, 0, 1),
             params={"perm": [2, 0, 1]})
    add_case("transpose", "permute", {"x": randn(2, 3, 4)}, lambda x: x.transpose(1, 2),
             params={"perm": [0, 2, 1]})
    add_case("expand", "expand", {"x": randn(3, 1)}, lambda x: x.expand(2, 3, 4),
             params={"shape": [2, 3, 4]})

    # ---- patch embedding (timm PatchEmbed: conv stride=patch, flatten(2).transpose(1,2)) ----
    add_case("patch_embed", "patch_embed",
             {"x": randn(1, 3, 8, 8), "weight": randn(4, 3, 4, 4, scale=0.3), "bias": randn(4, scale=0.1)},
             lambda x, weight, bias: F.conv2d(x, weight, bias, stride=4).flatten(2).transpose(1, 2),
             params={"patch": 4})

    # ---- resize (2-D maps; align_corners=False) ----
    def resize(size, mode, antialias=False):
        def fn(x):
            kw = {"antialias": True} if antialias else {}
            return F.interpolate(x[None, None], size=size, mode=mode, align_corners=False, **kw)[0, 0]
        return fn

    add_case("resize_bilinear", "resize", {"x": randn(4, 5)}, resize((7, 9), "bilinear"),
             params={"size": [7, 9], "mode": "bilinear"})
    add_case("resize_bicubic", "resize", {"x": randn(4, 5)}, resize((7, 9), "bicubic"),
             params={"size": [7, 9], "mode": "bicubic"})
    add_case("resize_bicubic_down", "resize", {"x": randn(6, 6)}, resize((4, 3), "bicubic"),
             params={"size": [4, 3], "mode": "bicubic"})
    add_case("resize_bicubic_down_aa", "resize", {"x": randn(6, 6)},
             resize((4, 3), "bicubic", antialias=True),
             params={"size": [4, 3], "mode": "bicubic", "antialias": True})

    # ---- fused linear layer (x W^T + b, weight stored [out, in]) ----
    add_case("linear", "linear", {"x": randn(2, 3, 4), "weight": randn(5, 4), "bias": randn(5)},
             lambda x, weight, bias: torch.nn.functional.linear(x, weight, bias))
    add_case("linear_nobias", "linear", {"x": randn(3, 4), "weight": randn(5, 4)},
             lambda x, weight: torch.nn.functional.linear(x, weight))

    # ---- linear with the residual add and with the GELU fused in (added later:
    # drawn from a fork of the RNG so every case above and block.json stay as they were) ----
    state = torch.get_rng_state()
    torch.manual_seed(1)
    add_case("linear_residual", "linear",
             {"x": randn(2, 3, 4), "weight": randn(5, 4), "bias": randn(5), "residual": randn(2, 3, 5)},
             lambda x, weight, bias, residual: residual + torch.nn.functional.linear(x, weight, bias))
    add_case("linear_residual_nobias", "linear",
             {"x": randn(3, 4), "weight": randn(5, 4), "residual": randn(3, 5)},
             lambda x, weight, residual: residual + torch.nn.functional.linear(x, weight))
    add_case("linear_gelu", "linear_gelu", {"x": randn(2, 3, 4), "weight": randn(6, 4), "bias": randn(6)},
             lambda x, weight, bias: torch.nn.functional.gelu(torch.nn.functional.linear(x, weight, bias)))
    torch.set_rng_state(state)

    # ---- multi-head attention from a fused qkv projection (the attention primitive) ----
    state = torch.get_rng_state()
    torch.manual_seed(2)

    def attention(heads):
        def f(qkv):
            b, n, d3 = qkv.shape
            hd = d3 // 3 // heads
            q, k, v = qkv.reshape(b, n, 3, heads, hd).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-1, -2) * hd ** -0.5, dim=-1)
            return (a @ v).transpose(1, 2).reshape(b, n, d3 // 3)
        return f
    add_case("attention", "attention", {"qkv": randn(2, 5, 24, scale=1.5)}, attention(2), params={"heads": 2})
    add_case("attention_one_head", "attention", {"qkv": randn(1, 7, 12, scale=1.5)}, attention(1), params={"heads": 1})
    torch.set_rng_state(state)

    # ---- a dense copy of a transposed view (the copy primitive), from its own RNG fork ----
    state = torch.get_rng_state()
    torch.manual_seed(3)
    add_case("copy_transposed", "copy", {"x": randn(3, 4)}, lambda x: x.t().contiguous(), params={"transpose": True})
    torch.set_rng_state(state)


# --------------------------------------------------------------------------- #
# block.json: one pre-norm ViT block, timm semantics
# --------------------------------------------------------------------------- #
def build_block():
    D, H, HID, N, B, EPS = 8, 2, 16, 5, 1, 1e-6
    hd = D // H
    p32 = {
        "norm1.weight": 1.0 + uniform(D, lo=-0.2, hi=0.2),
        "norm1.bias": randn(D, scale=0.1),
        "attn.qkv.weight": randn(3 * D, D, scale=0.4),
        "attn.qkv.bias": randn(3 * D, scale=0.1),
        "attn.proj.weight": randn(D, D, scale=0.35),
        "attn.proj.bias": randn(D, scale=0.1),
        "norm2.weight": 1.0 + uniform(D, lo=-0.2, hi=0.2),
        "norm2.bias": randn(D, scale=0.1),
        "mlp.fc1.weight": randn(HID, D, scale=0.35),
        "mlp.fc1.bias": randn(HID, scale=0.1),
        "mlp.fc2.weight": randn(D, HID, scale=0.25),
        "mlp.fc2.bias": randn(D, scale=0.1),
    }
    x32 = randn(B, N, D)
    p = {k: v.double().requires_grad_(True) for k, v in p32.items()}
    x = x32.double().requires_grad_(True)

    h1 = F.layer_norm(x, (D,), p["norm1.weight"], p["norm1.bias"], eps=EPS)
    h1.retain_grad()
    qkv = F.linear(h1, p["attn.qkv.weight"], p["attn.qkv.bias"])          # (B,N,3D)
    qkv = qkv.reshape(B, N, 3, H, hd).permute(2, 0, 3, 1, 4)              # (3,B,H,N,hd)
    q, k, v = qkv[0], qkv[1], qkv[2]
    attn = torch.softmax((q @ k.transpose(-2, -1)) * hd ** -0.5, dim=-1)   # (B,H,N,N)
    a = (attn @ v).transpose(1, 2).reshape(B, N, D)
    y = x + F.linear(a, p["attn.proj.weight"], p["attn.proj.bias"])
    h2 = F.layer_norm(y, (D,), p["norm2.weight"], p["norm2.bias"], eps=EPS)
    m = F.linear(F.gelu(F.linear(h2, p["mlp.fc1.weight"], p["mlp.fc1.bias"])),
                 p["mlp.fc2.weight"], p["mlp.fc2.bias"])
    out = y + m

    g = upstream_like(out)
    out.backward(g)

    return {
        "generator": GENERATOR,
        "torch": torch.__version__,
        "config": {"dim": D, "heads": H, "mlp": HID, "eps": EPS},
        "params": {k: enc(v) for k, v in p32.items()},
        "input": enc(x32),
        "upstream": enc(g),
        "output": enc(out),
        "attn": enc(attn),
        "grads": {"input": enc(x.grad), **{k: enc(v.grad) for k, v in p.items()}},
        "grad_norm1_out": enc(h1.grad),
    }


# --------------------------------------------------------------------------- #
def write_json(path, obj, list_key=None):
    """Compact JSON; if list_key is given, one list element per line (diff-friendly)."""
    with open(path, "w") as f:
        if list_key is None:
            f.write("{\n")
            items = list(obj.items())
            for i, (k, v) in enumerate(items):
                sep = "," if i < len(items) - 1 else ""
                f.write(f" {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}{sep}\n")
            f.write("}\n")
        else:
            head = {k: v for k, v in obj.items() if k != list_key}
            f.write(json.dumps(head, separators=(",", ":"))[:-1])
            f.write(f',"{list_key}":[\n')
            rows = [json.dumps(c, separators=(",", ":")) for c in obj[list_key]]
            f.write(",\n".join(rows))
            f.write("\n]}\n")


def main():
    torch.manual_seed(0)
    os.makedirs(OUT_DIR, exist_ok=True)
    build_ops()
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    ops = {"generator": GENERATOR, "torch": torch.__version__, "cases": CASES}
    write_json(os.path.join(OUT_DIR, "ops.json"), ops, list_key="cases")
    block = build_block()
    write_json(os.path.join(OUT_DIR, "block.json"), block)
    for fn in ("ops.json", "block.json"):
        path = os.path.join(OUT_DIR, fn)
        print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")
    print(f"{len(CASES)} op cases: {' '.join(names)}")


if __name__ == "__main__":
    main()
