#!/usr/bin/python3
"""Generate ViT loader / forward-pass fixtures (tiny synthetic models + real-weight logits).

Run with:  /usr/bin/python3 tools/make_vit_fixtures.py        (from anywhere)

Writes (all committed; the JS tests never need torch):
  test/fixtures/vit/<name>/model.safetensors   float32 weights, header metadata {"format": "pt"}
  test/fixtures/vit/<name>/config.json         timm-style or HF-style config
  test/fixtures/vit/<name>/preprocessor_config.json   (HF models only)
  test/fixtures/vit/<name>/expected.json       {"input", "logits", "latent"}: {"shape", "data"}
      for name in timm_plain, timm_reg_ls, timm_distilled, hf_vit, hf_noprefix, timm_headless
  test/fixtures/vit/timm_headless_head.safetensors   `weight` [5,16], `bias` [5] for timm_headless
  test/fixtures/vit/timm_plain/expected_posinterp.json  timm_plain on a [1,3,24,20] input
      (grid 6x5; pos_embed resampled like timm resample_abs_pos_embed: prefix kept,
      grid bicubic, antialias=True, align_corners=False; done in float64 here)
  test/fixtures/vit/real_logits.json   logits of the real ViT-Ti and DeiT-Ti (from
      /work/shared/weights, never copied) on /work/shared/images/catcoffee_224.png

Tiny models: dim 16, 2 heads (head dim 8), depth 2, MLP 32, patch 4, 16x16 images
(grid 4x4), 5 classes. Seeded random float32 weights (norm weights 1 + 0.1*N(0,1),
LayerScale gammas 0.1 + 0.05*N(0,1), everything else 0.2*N(0,1)); random float32
input ~ N(0,1). Expected outputs come from tools/torch_vit.py in float64 (weights and
input upcast from their float32 values). `latent` is the final-normed [CLS] token.
Input data are float32 values written exactly (float64 repr of the float32 value);
outputs are float64 reprs. Reference semantics: see tools/torch_vit.py docstring.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_vit import (TorchViT, hf_to_timm, load_model_dir, load_rgb,  # noqa: E402
                       read_safetensors, resize_center_crop, timm_to_hf, to_tensor,
                       write_safetensors)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "vit")
WEIGHTS = "/work/shared/weights"
IMAGES = "/work/shared/images"
REAL = ["vit_tiny_patch16_224.augreg_in21k_ft_in1k", "deit_tiny_patch16_224.fb_in1k"]

D, HEADS, DEPTH, MLP, PATCH, IMG, NCLS = 16, 2, 2, 32, 4, 16, 5
LABELS = {str(i): n for i, n in enumerate(["zero", "one", "two", "three", "four"])}


# --------------------------------------------------------------------------- #
# JSON helpers: one key per line, compact values, float repr
# --------------------------------------------------------------------------- #
def f32s(values):
    """float32 values as their shortest round-trip float32 decimals (for rounded outputs)."""
    return [float(repr(np.float32(v))) for v in np.asarray(values, dtype=np.float32).ravel()]


def f32exact(values):
    """float32 values written exactly (as float64 reprs): parse identically as float32 or float64."""
    return [float(v) for v in np.asarray(values, dtype=np.float32).astype(np.float64).ravel()]


def tjson(t, f32=False):
    t = t.detach()
    data = f32exact(t.float().numpy()) if f32 else [float(v) for v in t.double().reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": data}


def dump(path, obj):
    lines = [f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in obj.items()]
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")


# --------------------------------------------------------------------------- #
# synthetic weights
# --------------------------------------------------------------------------- #
def rand_vit(seed, n_pos, reg=0, dist=False, ls=False, head=True):
    g = torch.Generator().manual_seed(seed)

    def w(*shape, std=0.2):
        return (torch.randn(shape, generator=g) * std).float()

    def nw(n):
        return (1 + 0.1 * torch.randn((n,), generator=g)).float()

    sd = {"cls_token": w(1, 1, D), "pos_embed": w(1, n_pos, D),
          "patch_embed.proj.weight": w(D, 3, PATCH, PATCH), "patch_embed.proj.bias": w(D)}
    if dist:
        sd["dist_token"] = w(1, 1, D)
    if reg:
        sd["reg_token"] = w(1, reg, D)
    for i in range(DEPTH):
        b = f"blocks.{i}."
        sd[b + "norm1.weight"], sd[b + "norm1.bias"] = nw(D), w(D)
        sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"] = w(3 * D, D), w(3 * D)
        sd[b + "attn.proj.weight"], sd[b + "attn.proj.bias"] = w(D, D), w(D)
        sd[b + "norm2.weight"], sd[b + "norm2.bias"] = nw(D), w(D)
        sd[b + "mlp.fc1.weight"], sd[b + "mlp.fc1.bias"] = w(MLP, D), w(MLP)
        sd[b + "mlp.fc2.weight"], sd[b + "mlp.fc2.bias"] = w(D, MLP), w(D)
        if ls:
            sd[b + "ls1.gamma"] = (0.1 + 0.05 * torch.randn((D,), generator=g)).float()
            sd[b + "ls2.gamma"] = (0.1 + 0.05 * torch.randn((D,), generator=g)).float()
    sd["norm.weight"], sd["norm.bias"] = nw(D), w(D)
    if head:
        sd["head.weight"], sd["head.bias"] = w(NCLS, D), w(NCLS)
    if dist:
        sd["head_dist.weight"], sd["head_dist.bias"] = w(NCLS, D), w(NCLS)
    return sd


def timm_config(arch, model_args, num_classes=NCLS, labels=True):
    cfg = {"architecture": arch, "num_classes": num_classes, "num_features": D, "global_pool": "token",
           "model_args": dict(embed_dim=D, depth=DEPTH, num_heads=HEADS, patch_size=PATCH, img_size=IMG,
                              mlp_ratio=MLP / D, **model_args),
           "pretrained_cfg": {"input_size": [3, IMG, IMG], "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                              "interpolation": "bicubic", "crop_pct": 0.9, "crop_mode": "center",
                              "num_classes": num_classes, "first_conv": "patch_embed.proj",
                              "classifier": "head"}}
    if labels:
        cfg["id2label"] = dict(LABELS)
    return cfg


def hf_config():
    return {"architectures": ["ViTForImageClassification"], "model_type": "vit", "hidden_size": D,
            "num_hidden_layers": DEPTH, "num_attention_heads": HEADS, "intermediate_size": MLP,
            "hidden_act": "gelu", "layer_norm_eps": 1e-12, "image_size": IMG, "patch_size": PATCH,
            "num_channels": 3, "qkv_bias": True, "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0, "id2label": dict(LABELS),
            "label2id": {v: int(k) for k, v in LABELS.items()}}


HF_PREPROC = {"image_processor_type": "ViTImageProcessor", "do_resize": True, "do_rescale": True,
              "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": [0.5, 0.5, 0.5],
              "image_std": [0.5, 0.5, 0.5], "size": {"height": IMG, "width": IMG}, "resample": 2}


def write_model(name, tensors, config, expected, preproc=None):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "model.safetensors"), tensors, {"format": "pt"})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    if preproc is not None:
        with open(os.path.join(d, "preprocessor_config.json"), "w") as f:
            json.dump(preproc, f, indent=2)
            f.write("\n")
    dump(os.path.join(d, "expected.json"), expected)
    # round trip: what we wrote is what we computed with
    back, meta = read_safetensors(os.path.join(d, "model.safetensors"))
    assert meta == {"format": "pt"} and set(back) == set(tensors)
    for k in tensors:
        assert torch.equal(back[k], tensors[k]), k


def run(model, x):
    with torch.no_grad():
        o = model.forward(x)
    return {"input": tjson(x, f32=True), "logits": tjson(o["logits"]), "latent": tjson(o["latent"])}


def rand_input(seed, h=IMG, w=IMG):
    g = torch.Generator().manual_seed(seed)
    return torch.randn((1, 3, h, w), generator=g).float()


def crosscheck_nn(sd, x, eps, out):
    """Independent check of the reference block math with torch.nn.TransformerEncoderLayer
    (norm_first=True, exact GELU, in_proj rows q|k|v): plain ViT without LayerScale/registers."""
    import torch.nn as nn
    sdd = {k: v.double() for k, v in sd.items()}
    with torch.no_grad():
        h = torch.nn.functional.conv2d(x.double(), sdd["patch_embed.proj.weight"], sdd["patch_embed.proj.bias"],
                                       stride=PATCH).flatten(2).transpose(1, 2)
        h = torch.cat([sdd["cls_token"], h], 1) + sdd["pos_embed"]
        for i in range(DEPTH):
            b = f"blocks.{i}."
            L = nn.TransformerEncoderLayer(D, HEADS, MLP, dropout=0.0, activation="gelu", layer_norm_eps=eps,
                                           batch_first=True, norm_first=True).double().eval()
            L.self_attn.in_proj_weight.copy_(sdd[b + "attn.qkv.weight"])
            L.self_attn.in_proj_bias.copy_(sdd[b + "attn.qkv.bias"])
            L.self_attn.out_proj.weight.copy_(sdd[b + "attn.proj.weight"])
            L.self_attn.out_proj.bias.copy_(sdd[b + "attn.proj.bias"])
            for a, c in (("norm1", "norm1"), ("norm2", "norm2"), ("linear1", "mlp.fc1"), ("linear2", "mlp.fc2")):
                getattr(L, a).weight.copy_(sdd[b + c + ".weight"])
                getattr(L, a).bias.copy_(sdd[b + c + ".bias"])
            h = L(h)
        z = torch.nn.functional.layer_norm(h, (D,), sdd["norm.weight"], sdd["norm.bias"], eps)[:, 0]
        lg = torch.nn.functional.linear(z, sdd["head.weight"], sdd["head.bias"])
    err = max(abs(a - b) for a, b in zip(lg.reshape(-1).tolist(), out["logits"]["data"]))
    assert err < 1e-12, err
    return err


def crosscheck_resample(pe, grid_new, ref):
    """Independent check of bicubic antialias=True upsampling: PIL-style separable kernel,
    cubic a = -0.5, support 2 (scale <= 1 when upsampling), taps outside the input dropped and the
    remaining weights renormalised, centre = (o + 0.5) * in/out."""
    def weights(n_in, n_out):
        Wm = np.zeros((n_out, n_in))
        scale = n_in / n_out
        support = 2.0 * max(scale, 1.0)
        fs = max(scale, 1.0)
        def cubic(t, a=-0.5):
            t = abs(t)
            if t < 1:
                return ((a + 2) * t - (a + 3)) * t * t + 1
            if t < 2:
                return (((t - 5) * t + 8) * t - 4) * a
            return 0.0
        for o in range(n_out):
            c = (o + 0.5) * scale
            lo, hi = max(int(c - support + 0.5), 0), min(int(c + support + 0.5), n_in)
            ws = [cubic((j - c + 0.5) / fs) for j in range(lo, hi)]
            tot = sum(ws)
            for j, wv in zip(range(lo, hi), ws):
                Wm[o, j] = wv / tot
        return Wm
    g = pe[0, 1:].double().numpy().reshape(4, 4, -1)
    Wh, Ww = weights(4, grid_new[0]), weights(4, grid_new[1])
    mine = np.einsum("ai,bj,ijd->abd", Wh, Ww, g).reshape(-1, g.shape[-1])
    err = np.abs(mine - ref[0, 1:].numpy()).max()
    assert err < 1e-12, err
    return err


def synthetic():
    os.makedirs(OUT, exist_ok=True)
    n_grid = (IMG // PATCH) ** 2
    summary = {}

    # a) timm_plain
    sd = rand_vit(101, 1 + n_grid)
    m = TorchViT(sd, HEADS, eps=1e-6)
    x = rand_input(1)
    exp = run(m, x)
    write_model("timm_plain", sd, timm_config("vit_custom_patch4_16", {}), exp)
    summary["timm_plain"] = exp
    print("  cross-check vs nn.TransformerEncoderLayer: max |dlogit| = %.2e" % crosscheck_nn(sd, x, 1e-6, exp))
    from torch_vit import resample_abs_pos_embed
    ref = resample_abs_pos_embed(sd["pos_embed"].double(), (6, 5), old_size=(4, 4), num_prefix_tokens=1)
    print("  cross-check of bicubic-antialias resampling (a=-0.5, renormalised edges): max err %.2e"
          % crosscheck_resample(sd["pos_embed"], (6, 5), ref))
    # position-embedding interpolation: [1,3,24,20] -> grid 6x5
    x2 = rand_input(2, 24, 20)
    dump(os.path.join(OUT, "timm_plain", "expected_posinterp.json"),
         dict(run(m, x2), grid=[6, 5],
              note="pos_embed resampled as timm resample_abs_pos_embed: [CLS] row kept, 4x4 grid "
                   "-> F.interpolate(size=(6,5), mode='bicubic', antialias=True, align_corners=False), float64"))

    # b) timm_reg_ls: 4 register tokens, LayerScale, pos embed on patches only
    sd = rand_vit(102, n_grid, reg=4, ls=True)
    m = TorchViT(sd, HEADS, eps=1e-6, no_embed_class=True)
    exp = run(m, rand_input(3))
    write_model("timm_reg_ls", sd, timm_config("vit_custom_reg4_patch4_16",
                                               {"reg_tokens": 4, "no_embed_class": True, "init_values": 0.1}),
                exp)
    summary["timm_reg_ls"] = exp

    # c) timm_distilled: dist token + head_dist, pos covers cls+dist+patches
    sd = rand_vit(103, 2 + n_grid, dist=True)
    m = TorchViT(sd, HEADS, eps=1e-6)
    exp = run(m, rand_input(4))
    write_model("timm_distilled", sd, timm_config("deit_custom_distilled_patch4_16", {}), exp)
    summary["timm_distilled"] = exp

    # d) hf_vit and e) hf_noprefix (HF eps 1e-12)
    for name, seed, prefix in (("hf_vit", 104, "vit."), ("hf_noprefix", 105, "")):
        sd = rand_vit(seed, 1 + n_grid)
        hf = timm_to_hf(sd, prefix=prefix)
        back = hf_to_timm(hf)
        assert set(back) == set(sd) and all(torch.equal(back[k], sd[k]) for k in sd)
        m = TorchViT(back, HEADS, eps=1e-12)
        exp = run(m, rand_input(5 if prefix else 6))
        write_model(name, hf, hf_config(), exp, preproc=HF_PREPROC)
        summary[name] = exp

    # f) timm_headless + separate head file
    sd = rand_vit(106, 1 + n_grid, head=False)
    g = torch.Generator().manual_seed(1060)
    hw = (torch.randn((NCLS, D), generator=g) * 0.2).float()
    hb = (torch.randn((NCLS,), generator=g) * 0.2).float()
    write_safetensors(os.path.join(OUT, "timm_headless_head.safetensors"), {"weight": hw, "bias": hb},
                      {"format": "pt"})
    m = TorchViT(sd, HEADS, eps=1e-6, head=(hw, hb))
    exp = run(m, rand_input(7))
    write_model("timm_headless", sd, timm_config("vit_custom_patch4_16", {}, num_classes=0, labels=False), exp)
    summary["timm_headless"] = exp

    # consistency check: HF eps 1e-12 vs timm 1e-6 makes a small but real difference
    for k, e in summary.items():
        lg = e["logits"]["data"]
        print(f"  {k:15s} logits {[round(v, 4) for v in lg]}  latent[0:3] {[round(v, 4) for v in e['latent']['data'][:3]]}")


# --------------------------------------------------------------------------- #
# real weights
# --------------------------------------------------------------------------- #
def real():
    img = load_rgb(os.path.join(IMAGES, "catcoffee_224.png"))
    assert img.size == (224, 224)
    res = {"image": "catcoffee_224.png",
           "preprocess": "no resampling; (pixel/255 - mean)/std per channel with the model's config.json "
                         "mean/std, CHW, rounded to float32",
           "compute": "tools/torch_vit.py in float64 from the float32 weights; logits rounded to float32",
           "models": {}}
    synsets = [l.split(",")[0].split(" ", 1)[1] if " " in l else l
               for l in open(os.path.join(WEIGHTS, "imagenet_synsets.txt")).read().splitlines()]
    for name in REAL:
        folder = os.path.join(WEIGHTS, name)
        m64, cfg = load_model_dir(folder, torch.float64)
        m32, _ = load_model_dir(folder, torch.float32)
        pc = cfg["pretrained_cfg"]
        x = to_tensor(img, pc["mean"], pc["std"])
        with torch.no_grad():
            l64 = m64.forward(x)["logits"][0]
            l32 = m32.forward(x)["logits"][0].double()
        top = torch.topk(l64, 5)
        p = torch.softmax(l64, 0)
        print(f"  {name}: catcoffee top-5 " + ", ".join(
            f"{i} {synsets[i]} {l64[i]:.3f} (p {p[i]:.3f})" for i in top.indices.tolist()))
        print(f"     float32 vs float64 compute: max |dlogit| = {(l64 - l32).abs().max():.3e}")
        res["models"][name] = {
            "mean": pc["mean"], "std": pc["std"],
            "input_sum": float(x.double().sum()), "input_first5": f32exact(x.reshape(-1)[:5]),
            "top5": top.indices.tolist(), "top5_logits": f32s(top.values.numpy()),
            "top5_prob": [float(v) for v in p[top.indices].tolist()],
            "max_abs_diff_float32_compute": float((l64 - l32).abs().max()),
            "logits": f32s(l64.numpy()),
        }
        # sanity check with the timm eval transform (not stored)
        for fn, want in (("chelsea.png", 285), ("coffee.png", 967)):
            for crop in sorted({pc["crop_pct"], 0.875}):
                xi = to_tensor(resize_center_crop(load_rgb(os.path.join(IMAGES, fn)), 224, crop),
                               pc["mean"], pc["std"])
                with torch.no_grad():
                    pr = torch.softmax(m64.forward(xi)["logits"][0], 0)
                t1 = int(pr.argmax())
                print(f"     {fn} (short side {int(224 / crop)}): top-1 {t1} {synsets[t1]} p={pr[t1]:.2f}"
                      f" {'OK' if t1 == want else 'MISMATCH (README says ' + str(want) + ')'}")
                assert t1 == want
    dump(os.path.join(OUT, "real_logits.json"), res)


if __name__ == "__main__":
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    print("synthetic models ->", OUT)
    synthetic()
    print("real weights")
    real()
    for dp, _, fs in sorted(os.walk(OUT)):
        for f in sorted(fs):
            print(f"  {os.path.relpath(os.path.join(dp, f), ROOT)}  {os.path.getsize(os.path.join(dp, f))} B")
