#!/usr/bin/python3
"""PyTorch side of the speed comparison (run by bench/run.mjs).

    /usr/bin/python3 bench/torch_bench.py --model-dir DIR [--model-dir DIR2 ...]
        --image-tensor FILE.f32 --threads N --out RESULT.json [--quick]
        [--max-item-seconds 60] [--seed 0] [--variants default,onednn]
        [--items forward,cdam,smooth_cdam_50,integrated_cdam_50,input_x_grad,forward_batch8]

Each DIR is a timm-layout folder (model.safetensors + config.json; heads from
config model_args.num_heads, else the architecture family tiny=3, small=6,
base=12, large=16, else dim/64). FILE.f32 is a raw little-endian float32
[1,3,H,W] normalised input (H = W). Progress goes to stderr; stdout stays
empty; the result is written atomically to --out. Results are keyed by the
folder's basename.

The model is tools/torch_vit.py's TorchViT in float32 (plain functional torch,
timm semantics), eager mode. Every item is timed end to end, the reference
way of the CDAM authors' PyTorch code (see /work/shared/spec/cdam.md):

  forward               full model, no_grad, batch 1
  cdam                  blocks 1..L-1 under no_grad, then the last block with
                        T = LN1(X) a leaf requiring grad (residual uses X),
                        final norm, head; backward of the target logit;
                        map = (T * T.grad).sum(-1)[0, prefix:]
  smooth_cdam_50        prefix once, then 50 x (X + N(0, sigma^2) noise,
                        sigma = 0.05 (max X - min X); forward of last block +
                        norm + head; backward), maps averaged
  integrated_cdam_50    prefix once, then 49 x (alpha X, alpha = k/50, k=1..49)
  input_x_grad          full forward with the input requiring grad, backward to
                        the pixels, map = mean_c(x * x.grad)
  forward_batch8        no_grad forward of 8 copies of the input (ms per batch)

The target class is the top-1 class of the input, found once before timing.

Two variants of the same computation (--variants, default both):
  default  eager torch as installed -> "results". Debian's torch 1.13 sends
           fp32 F.linear/addmm and bmm to libblas.so.3, which on this machine is
           the netlib reference BLAS (about 3 GFLOP/s for x W^T, 6 for mm, no
           threading): this is "PyTorch as installed", not PyTorch at its best.
  onednn   every linear layer and both attention products (q k^T, A v), forward
           and backward, through oneDNN (torch._C._nn.mkldnn_linear), which the
           same torch ships -> "results_onednn". Maps agree with the default
           variant to ~1e-6 relative (reported in checks.<model>.onednn).

Timing (see Timer): warm-up, then >= 5 runs and >= 1 s; slow items stop after
3 runs once --max-item-seconds of timed runs have passed; --quick: up to 3 runs
or 2 s. Medians are reported; run counts, min, max, load average in "detail".
The load average is recorded because other processes on the machine distort
multi-threaded (OpenMP) timings badly.

matmul_gflops: torch.mm of random float32 [m,k]@[k,n], 2mnk / median time, at
--threads and again at 1 thread (matmul_gflops_1thread); with the onednn
variant also the same products through oneDNN (matmul_gflops_onednn[_1thread]).
BLAS and threading env vars are reported, never changed.
"""
import argparse
import json
import math
import os
import platform
import re
import resource
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from torch_vit import TorchViT, read_safetensors  # noqa: E402
from torch_attnlrp import attnlrp  # noqa: E402

MATMUL_SHAPES = [(197, 192, 576), (197, 192, 768), (197, 768, 192), (197, 384, 1536), (785, 384, 1152)]
FAMILY_HEADS = {"tiny": 3, "small": 6, "base": 12, "large": 16, "huge": 16, "giant": 24}
ITEMS = ["forward_ms", "cdam_ms", "smooth_cdam_50_ms", "integrated_cdam_50_ms",
         "input_x_grad_ms", "forward_batch8_ms", "smoothgrad_50_ms", "intgrad_50_ms", "relevance_ms", "rollout_ms", "attnlrp_ms"]


def log(*a):
    print("[torch_bench]", *a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- #
# timing
# --------------------------------------------------------------------------- #
class Timer:
    """Warm-up, then timed runs; returns the median.

    full : warm-up >= 1 run and >= 0.5 s; runs until >= 5 runs and >= min_time;
           a slow item stops after 3 runs once max_item_seconds of timed runs
           have passed. A warm-up run that itself took >= 10 s is counted as
           the first timed run (first-run effects are negligible at that scale).
    quick: 1 warm-up, then runs until 3 runs or 2 s; a warm-up run >= 1 s is
           counted as a timed run (so a slow item runs exactly once)."""

    def __init__(self, quick, max_item_seconds):
        self.quick = quick
        self.max_item_seconds = max_item_seconds

    def __call__(self, fn, min_time=1.0):
        """Return (median_ms, detail dict)."""
        long_run = 1.0 if self.quick else 10.0
        ts = []
        t_w = time.perf_counter()
        fn()
        first = time.perf_counter() - t_w
        n_warm = 1
        if first >= long_run:
            ts.append(first)
            n_warm = 0
        elif not self.quick:
            while time.perf_counter() - t_w < 0.5 and n_warm < 50:
                fn()
                n_warm += 1
        total = sum(ts)
        while True:
            if ts:
                if self.quick:
                    if len(ts) >= 3 or total >= 2.0:
                        break
                else:
                    if len(ts) >= 5 and total >= min_time:
                        break
                    if len(ts) >= 3 and total >= self.max_item_seconds:
                        break
                    if len(ts) >= 2000:
                        break
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            ts.append(dt)
            total += dt
        med = statistics.median(ts) * 1e3
        return med, {"runs": len(ts), "warmup_runs": n_warm, "median_ms": round(med, 4),
                     "min_ms": round(min(ts) * 1e3, 4), "max_ms": round(max(ts) * 1e3, 4)}


# --------------------------------------------------------------------------- #
# model loading
# --------------------------------------------------------------------------- #
def heads_for(cfg, D):
    ma = cfg.get("model_args") or {}
    if ma.get("num_heads"):
        return int(ma["num_heads"]), "config model_args.num_heads"
    arch = str(cfg.get("architecture", ""))
    for fam, h in FAMILY_HEADS.items():
        if re.search(rf"(^|_){fam}(_|$)", arch):
            return h, f"architecture family '{fam}'"
    return max(1, D // 64), "embed_dim / 64"


def load_model(folder):
    sd, _ = read_safetensors(os.path.join(folder, "model.safetensors"))
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    sd = {k: v.float() for k, v in sd.items()}
    D = sd["cls_token"].shape[-1]
    heads, heads_src = heads_for(cfg, D)
    head = None
    head_note = None
    if "head.weight" not in sd:
        # headless backbone: a fixed random 1000-class head so there is a logit to explain
        g = torch.Generator().manual_seed(1234)
        head = (torch.randn(1000, D, generator=g) * 0.02, torch.zeros(1000))
        head_note = "headless backbone: random 1000-class head added for timing"
    ma = cfg.get("model_args") or {}
    model = TorchViT(sd, num_heads=heads, eps=1e-6, no_embed_class=bool(ma.get("no_embed_class", False)),
                     dtype=torch.float32, head=head)
    info = {
        "folder": os.path.abspath(folder),
        "architecture": cfg.get("architecture"),
        "random_weights": bool(cfg.get("random_weights", False)),
        "embed_dim": D,
        "depth": model.depth,
        "num_heads": heads,
        "num_heads_from": heads_src,
        "patch": model.patch,
        "params": int(sum(v.numel() for v in sd.values())),
    }
    if head_note:
        info["note"] = head_note
    return model, info


# --------------------------------------------------------------------------- #
# oneDNN variant: same model and algorithm, matrix products through oneDNN
# --------------------------------------------------------------------------- #
def _nt(a, b):
    """a @ b^T for 2-D dense float32 tensors, computed by oneDNN."""
    return torch._C._nn.mkldnn_linear(a.contiguous().to_mkldnn(), b.contiguous().to_mkldnn(), None).to_dense()


def _nt_batched(a, b):
    """a @ b^T over leading dims ([..., M, K] x [..., N, K] -> [..., M, N])."""
    lead = a.shape[:-2]
    a3 = a.reshape(-1, a.shape[-2], a.shape[-1])
    b3 = b.reshape(-1, b.shape[-2], b.shape[-1])
    out = torch.stack([_nt(a3[i], b3[i]) for i in range(a3.shape[0])])
    return out.reshape(*lead, a.shape[-2], b.shape[-2])


class _NT(torch.autograd.Function):
    """C = a @ b^T (batched); grads da = g b, db = g^T a, all through oneDNN."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _nt_batched(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = _nt_batched(g, b.transpose(-2, -1)) if ctx.needs_input_grad[0] else None
        gb = _nt_batched(g.transpose(-2, -1), a.transpose(-2, -1)) if ctx.needs_input_grad[1] else None
        return ga, gb


class _Linear(torch.autograd.Function):
    """y = x W^T + b with fixed (non-trainable) oneDNN weights; grad to x only."""

    @staticmethod
    def forward(ctx, x, layer):
        ctx.layer = layer
        k = x.shape[-1]
        x2 = x.reshape(-1, k).contiguous().to_mkldnn()
        y = torch._C._nn.mkldnn_linear(x2, layer["w"], layer["b"]).to_dense()
        return y.reshape(*x.shape[:-1], y.shape[-1])

    @staticmethod
    def backward(ctx, g):
        layer = ctx.layer
        n = g.shape[-1]
        g2 = g.reshape(-1, n).contiguous().to_mkldnn()
        gx = torch._C._nn.mkldnn_linear(g2, layer["wT"], None).to_dense()
        return gx.reshape(*g.shape[:-1], gx.shape[-1]), None


class OneDNNViT(TorchViT):
    """TorchViT whose linear layers and attention products run on oneDNN
    (Debian's torch 1.13 sends fp32 F.linear / bmm to the netlib reference
    BLAS). Weights get no gradients, which CDAM and Input x Grad never need."""

    def __init__(self, base):
        self.__dict__.update(base.__dict__)
        self._mk = {}
        for k in list(self.p):
            if k.endswith(".weight") and self.p[k].dim() == 2 and k[:-len(".weight")] + ".bias" in self.p:
                name = k[:-len(".weight")]
                w = self.p[k].contiguous()
                self._mk[name] = {"w": w.to_mkldnn(), "wT": w.t().contiguous().to_mkldnn(),
                                  "b": self.p[name + ".bias"].contiguous()}

    @property
    def lrp_products(self):
        """tools/torch_attnlrp.py's products through oneDNN: the attention's a b^T, and the LRP-gamma layers."""
        def lin(x, w, b):
            k = x.shape[-1]
            y = torch._C._nn.mkldnn_linear(x.reshape(-1, k).contiguous().to_mkldnn(), w.contiguous().to_mkldnn(), b).to_dense()
            return y.reshape(*x.shape[:-1], y.shape[-1])

        def vjp(g, w):
            return lin(g, w.t(), None)

        return {"nt": _NT.apply, "gamma_linear": (lin, vjp)}

    def lin(self, x, name):
        layer = self._mk.get(name)
        if layer is None:
            return super().lin(x, name)
        return _Linear.apply(x, layer)

    def attn(self, i, t, return_probs=False):
        B, N, D = t.shape
        q, k, v = self.qkv_heads(i, t)
        a = torch.softmax(_NT.apply(q, k) * (D // self.H) ** -0.5, dim=-1)
        o = _NT.apply(a, v.transpose(-2, -1)).transpose(1, 2).reshape(B, N, D)
        o = self.lin(o, f"blocks.{i}.attn.proj")
        return (o, a) if return_probs else o


# --------------------------------------------------------------------------- #
# the measured computations
# --------------------------------------------------------------------------- #
def prefix_blocks(model, x):
    """Blocks 1..L-1 under no_grad: the input X of the last block."""
    with torch.no_grad():
        h = model.embed(x)
        for i in range(model.depth - 1):
            h = model.block(i, h)
    return h


def last_block_map(model, X, c):
    """Last block with T = LN1(X) as a leaf; backward of logit c to T."""
    L = model.depth - 1
    with torch.no_grad():
        T = model.ln(X, f"blocks.{L}.norm1")
    T.requires_grad_(True)
    logits, _ = model.head_from_tokens(model.block(L, X, t=T))
    logits[0, c].backward()
    with torch.no_grad():
        return (T * T.grad).sum(-1)[0, model.num_prefix:]


def forward(model, x):
    with torch.no_grad():
        return model.forward(x)["logits"]


def cdam(model, x, c):
    return last_block_map(model, prefix_blocks(model, x), c)


def smooth_cdam(model, x, c, n=50, nu=0.05, gen=None):
    X = prefix_blocks(model, x)
    sigma = nu * (X.max() - X.min()).item()
    acc = None
    for _ in range(n):
        Xk = X + torch.randn(X.shape, generator=gen, dtype=X.dtype) * sigma
        m = last_block_map(model, Xk, c)
        acc = m if acc is None else acc + m
    return acc / n


def integrated_cdam(model, x, c, m=50):
    X = prefix_blocks(model, x)
    acc = None
    for k in range(1, m):
        mk = last_block_map(model, X * (k / m), c)
        acc = mk if acc is None else acc + mk
    return acc / (m - 1)


def input_x_grad(model, x, c):
    xi = x.detach().clone().requires_grad_(True)
    logits = model.forward(xi)["logits"]
    logits[0, c].backward()
    with torch.no_grad():
        return (xi * xi.grad).mean(1)[0]


def _input_grad_sum(model, xs, c):
    xs = xs.detach().requires_grad_(True)
    model.forward(xs)["logits"][:, c].sum().backward()
    return xs.grad.sum(0)


def smoothgrad(model, x, c, n=50, noise=0.15, gen=None, batch=8):
    """Batches of 8 noisy copies, as the library runs them (BASELINE_DEFAULTS.batch)."""
    sigma = noise * (x.max() - x.min()).item()
    acc = 0
    for s in range(0, n, batch):
        k = min(batch, n - s)
        acc = acc + _input_grad_sum(model, x + torch.randn((k, *x.shape[1:]), generator=gen) * sigma, c)
    return (acc / n).mean(0)


def intgrad(model, x, c, m=50, batch=8):
    acc = 0
    for i0 in range(1, m + 1, batch):
        a = torch.arange(i0, min(i0 + batch, m + 1), dtype=x.dtype) / m
        acc = acc + _input_grad_sum(model, a[:, None, None, None] * x, c)
    with torch.no_grad():
        return (x[0] * acc / m).mean(0)


def _traced(model, x):
    attns = []
    h = model.embed(x)
    for i in range(model.depth):
        h = model.block(i, h, keep_attn=attns)
    return model.head_from_tokens(h)[0], attns


def relevance(model, x, c):
    logits, attns = _traced(model, x.detach().clone().requires_grad_(True))
    grads = torch.autograd.grad(logits[0, c], attns)
    with torch.no_grad():
        N = attns[0].shape[-1]
        R = torch.eye(N, dtype=x.dtype)
        for a, g in zip(attns, grads):
            R = R + (g * a).clamp(min=0).mean(dim=1)[0] @ R
        return R[0, model.num_prefix:]


def rollout(model, x):
    with torch.no_grad():
        _, attns = _traced(model, x)
        N = attns[0].shape[-1]
        eye = torch.eye(N, dtype=x.dtype)
        R = eye
        for a in attns:
            aug = 0.5 * a[0].mean(0) + 0.5 * eye
            R = (aug / aug.sum(-1, keepdim=True)) @ R
        return R[0, model.num_prefix:]


# --------------------------------------------------------------------------- #
# memory
# --------------------------------------------------------------------------- #
def reset_peak_rss():
    """Reset VmHWM (Linux >= 4.0: write 5 to clear_refs). True on success."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb(reset_ok):
    if reset_ok:
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024.0, "VmHWM since reset before the cdam runs"
        except OSError:
            pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "ru_maxrss (process peak so far)"


# --------------------------------------------------------------------------- #
# matmul
# --------------------------------------------------------------------------- #
def matmul_gflops(timer, onednn=False):
    g = torch.Generator().manual_seed(7)
    out = {}
    for (m, k, n) in MATMUL_SHAPES:
        a = torch.randn(m, k, generator=g)
        if onednn:
            am = a.to_mkldnn()
            wm = torch.randn(n, k, generator=g).to_mkldnn()  # x W^T, same flop count

            def fn():
                torch._C._nn.mkldnn_linear(am, wm, None)
        else:
            b = torch.randn(k, n, generator=g)

            def fn():
                torch.mm(a, b)
        ms, _ = timer(fn, min_time=0.3)
        out[f"{m}x{k}x{n}"] = round(2.0 * m * n * k / (ms * 1e-3) / 1e9, 3)
    return out


# --------------------------------------------------------------------------- #
# environment description
# --------------------------------------------------------------------------- #
def blas_info():
    show = torch.__config__.show()
    m = re.search(r"BLAS_INFO=([^,\s]+)", show)
    short = f"BLAS_INFO={m.group(1)}" if m else "BLAS_INFO not reported"
    if re.search(r"\bMKL\b", show) and "MKL not found" not in torch.__config__.parallel_info():
        short += ", MKL"
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(p).lower()
                if re.search(r"blas|blis|mkl_rt|libmkl|lapack", base):
                    libs.add(p)
    except OSError:
        pass
    loaded = []
    for p in sorted(libs):
        real = os.path.realpath(p)
        low = real.lower()
        if "openblas" in low:
            kind = "OpenBLAS"
        elif "blis" in low:
            kind = "BLIS"
        elif "mkl" in low:
            kind = "MKL"
        elif "atlas" in low:
            kind = "ATLAS"
        elif re.search(r"/blas/libblas\.so", low):
            kind = "netlib reference BLAS (unoptimised, single-threaded)"
        elif re.search(r"/lapack/liblapack\.so", low):
            kind = "netlib reference LAPACK"
        else:
            kind = "unknown"
        loaded.append({"path": p, "real_path": real, "kind": kind})
    return short, loaded


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


# --------------------------------------------------------------------------- #
def read_input(path):
    a = np.fromfile(path, dtype="<f4")
    if a.size % 3:
        raise SystemExit(f"torch_bench: {path}: {a.size} floats is not 3*H*W")
    hw = int(round(math.sqrt(a.size // 3)))
    if 3 * hw * hw != a.size:
        raise SystemExit(f"torch_bench: {path}: {a.size} floats is not [1,3,H,H]")
    return torch.from_numpy(a.astype(np.float32).reshape(1, 3, hw, hw).copy())


def unique_name(name, taken):
    if name not in taken:
        return name
    i = 2
    while f"{name}#{i}" in taken:
        i += 1
    return f"{name}#{i}"


BASELINE_ITEMS = ("smoothgrad_50_ms", "intgrad_50_ms", "relevance_ms", "rollout_ms", "attnlrp_ms")


def bench_model(model, x, c, timer, seed, items, baselines=True):
    """baselines=False leaves out BASELINE_ITEMS (bench/run.mjs times them on the first model only)."""
    res, detail = {}, {}

    def put(key, fn):
        if key[:-3] not in items or (key in BASELINE_ITEMS and not baselines):
            return
        log(f"  {key} ...")
        la = os.getloadavg()[0]
        ms, d = timer(fn)
        d["loadavg_1min_before"] = round(la, 2)
        res[key] = round(ms, 4)
        detail[key] = d
        log(f"  {key} = {ms:.2f} ms ({d['runs']} runs, load avg before {la:.2f})")

    put("forward_ms", lambda: forward(model, x))

    reset_ok = reset_peak_rss()
    put("cdam_ms", lambda: cdam(model, x, c))
    if "cdam" in items:
        mb, how = peak_rss_mb(reset_ok)
        res["peak_rss_mb_cdam"] = round(mb, 1)
        detail["peak_rss_mb_cdam"] = how

    gen = torch.Generator().manual_seed(seed)
    put("smooth_cdam_50_ms", lambda: smooth_cdam(model, x, c, gen=gen))
    put("integrated_cdam_50_ms", lambda: integrated_cdam(model, x, c))
    put("input_x_grad_ms", lambda: input_x_grad(model, x, c))
    xb = x.expand(8, -1, -1, -1).contiguous()
    put("forward_batch8_ms", lambda: forward(model, xb))
    put("smoothgrad_50_ms", lambda: smoothgrad(model, x, c, gen=gen))
    put("intgrad_50_ms", lambda: intgrad(model, x, c))
    put("relevance_ms", lambda: relevance(model, x, c))
    put("rollout_ms", lambda: rollout(model, x))
    # tools/torch_attnlrp.py (CP-LRP, the library's default), its products through oneDNN in that variant
    put("attnlrp_ms", lambda: attnlrp(model, x, c, "cp", **getattr(model, "lrp_products", {})))
    return res, detail


def model_checks(model, x, c, ref=None):
    """Untimed values for cross-checking (and the oneDNN variant against the default)."""
    cm = cdam(model, x, c)
    ig = input_x_grad(model, x, c)
    out = {
        "cdam_map_sum": float(cm.sum()),
        "cdam_map_abs_sum": float(cm.abs().sum()),
        "cdam_map_first4": [float(v) for v in cm[:4]],
        "input_x_grad_map_sum": float(ig.sum()),
    }
    if ref is not None:
        def rel(a, b):
            return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))
        out["max_rel_diff_vs_default"] = {
            "logits": rel(forward(model, x), forward(ref, x)),
            "cdam_map": rel(cm, cdam(ref, x, c)),
            "input_x_grad_map": rel(ig, input_x_grad(ref, x, c)),
        }
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="PyTorch timings for the cdam speed comparison")
    ap.add_argument("--model-dir", action="append", required=True)
    ap.add_argument("--image-tensor", required=True, help="raw little-endian float32 [1,3,H,H]")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--max-item-seconds", type=float, default=60.0,
                    help="slow items stop after 3 runs once this much timed time has passed")
    ap.add_argument("--seed", type=int, default=0, help="noise seed of smooth_cdam")
    ap.add_argument("--variants", default="default,onednn",
                    help="comma list of default (eager torch as installed) and onednn (linear and attention "
                         "products through oneDNN, results in results_onednn); default: both")
    ap.add_argument("--items", default=",".join(i[:-3] for i in ITEMS),
                    help="comma list of items to time (default: all): " + ",".join(i[:-3] for i in ITEMS))
    args = ap.parse_args(argv)

    env = {k: os.environ.get(k) for k in
           ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_CORETYPE", "MKL_NUM_THREADS")}
    default_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    timer = Timer(args.quick, args.max_item_seconds)
    variants = [v for v in args.variants.split(",") if v]
    items = [i for i in args.items.split(",") if i]
    for v in variants:
        if v not in ("default", "onednn"):
            raise SystemExit(f"torch_bench: unknown variant {v!r}")
    for i in items:
        if i + "_ms" not in ITEMS:
            raise SystemExit(f"torch_bench: unknown item {i!r}")
    blas, blas_libs = blas_info()

    x = read_input(args.image_tensor)
    log(f"torch {torch.__version__}, threads {torch.get_num_threads()} (default was {default_threads}), "
        f"{blas}, input {list(x.shape)}{' (quick)' if args.quick else ''}")

    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "threads_requested": args.threads,
        "threads_default": default_threads,
        "interop_threads": torch.get_num_interop_threads(),
        "blas": blas,
        "blas_libraries_loaded": blas_libs,
        "mkldnn_available": bool(torch.backends.mkldnn.is_available()),
        "env": env,
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "quick": bool(args.quick),
        "dtype": "float32",
        "implementation": "tools/torch_vit.py TorchViT (functional eager torch, timm semantics)",
        "target": "top-1 class of the input (found once, untimed)",
        "input_shape": list(x.shape),
        "variants": variants,
        "variant_notes": {
            "default": "eager torch as installed: F.linear/addmm and bmm go to the BLAS above",
            "onednn": "same model and algorithm; every linear layer and both attention products "
                      "(q k^T, A v) forward and backward through oneDNN (torch._C._nn.mkldnn_linear); "
                      "weights get no gradients; results_onednn",
        },
        "loadavg_start": [round(v, 2) for v in os.getloadavg()],
        "models": {},
        "results": {},
        "detail": {},
        "results_onednn": {},
        "detail_onednn": {},
        "checks": {},
    }
    if out["loadavg_start"][0] > 0.5:
        log(f"warning: load average {out['loadavg_start'][0]:.2f} at start: other processes compete "
            f"for the CPU; multi-threaded timings suffer most")

    for mi, d in enumerate(args.model_dir):
        first = mi == 0
        name = unique_name(os.path.basename(os.path.normpath(d)), out["models"])
        log(f"model {name}: loading {d}")
        model, info = load_model(d)
        with torch.no_grad():
            logits = model.forward(x)["logits"]
        c = int(logits[0].argmax())
        info["tokens"] = int(model.embed(x).shape[1])
        out["models"][name] = info
        checks = {"target_class": c, "target_logit": float(logits[0, c])}
        if "default" in variants:
            log(f"model {name}: default eager torch ({blas})")
            res, detail = bench_model(model, x, c, timer, args.seed, items, baselines=first)
            out["results"][name] = res
            out["detail"][name] = detail
            checks.update(model_checks(model, x, c))
        if "onednn" in variants:
            log(f"model {name}: oneDNN variant")
            try:
                om = OneDNNViT(model)
                res, detail = bench_model(om, x, c, timer, args.seed, items, baselines=first)
                out["results_onednn"][name] = res
                out["detail_onednn"][name] = detail
                checks["onednn"] = model_checks(om, x, c, ref=model)
                del om
            except Exception as e:  # an extra: never lose the default results over it
                log(f"oneDNN variant failed: {e!r}")
                out["results_onednn"][name] = {"error": repr(e)}
        out["checks"][name] = checks
        del model

    log("matmul GFLOP/s ...")
    out["matmul_gflops"] = matmul_gflops(timer)
    torch.set_num_threads(1)
    out["matmul_gflops_1thread"] = matmul_gflops(timer)
    torch.set_num_threads(args.threads)
    if "onednn" in variants and torch.backends.mkldnn.is_available():
        try:
            out["matmul_gflops_onednn"] = matmul_gflops(timer, onednn=True)
            torch.set_num_threads(1)
            out["matmul_gflops_onednn_1thread"] = matmul_gflops(timer, onednn=True)
        except Exception as e:  # informational only
            out["matmul_gflops_onednn_error"] = repr(e)
        finally:
            torch.set_num_threads(args.threads)
    log("matmul:", out["matmul_gflops"], "1 thread:", out["matmul_gflops_1thread"])
    out["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
    out["peak_rss_mb_process"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)

    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    os.replace(tmp, args.out)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
