#!/usr/bin/python3
"""Write a timm-layout ViT folder with random weights (for the speed bench).

    /usr/bin/python3 bench/make_random_vit.py --arch vit_small_patch16_224 --out DIR [--seed 0] [--img 224]
        [--num-classes 1000]

DIR gets model.safetensors (timm tensor names, F32, metadata {"format": "pt"})
and a timm-style config.json (with model_args: embed_dim, depth, num_heads,
patch_size, img_size, and random_weights: true). Architectures:
vit_{tiny,small,base,large}_patch{P}_{IMG} (e.g. vit_small_patch8_224:
dim 384, depth 12, 6 heads, MLP 1536, patch 8, 28x28 + 1 = 785 tokens).
--img overrides the image size in the name (grid = img / patch).

Weights ("realistic scales", as timm's init): linear and patch-embedding
weights ~ N(0, 0.02), biases 0, LayerNorm weights 1 and biases 0,
cls_token and pos_embed ~ N(0, 0.02). Deterministic for a given seed.
Progress goes to stderr; nothing is printed on stdout.
"""
import argparse
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from torch_vit import write_safetensors  # noqa: E402

FAMILIES = {  # name -> (embed_dim, depth, num_heads)
    "tiny": (192, 12, 3),
    "small": (384, 12, 6),
    "base": (768, 12, 12),
    "large": (1024, 24, 16),
}


def parse_arch(arch):
    m = re.fullmatch(r"vit_(tiny|small|base|large)_patch(\d+)_(\d+)", arch)
    if not m:
        raise SystemExit(f"make_random_vit: unsupported --arch {arch!r} "
                         f"(expected vit_{{{','.join(FAMILIES)}}}_patch<P>_<IMG>)")
    dim, depth, heads = FAMILIES[m.group(1)]
    return dict(embed_dim=dim, depth=depth, num_heads=heads, patch_size=int(m.group(2)),
                img_size=int(m.group(3)))


def make_state_dict(a, num_classes, seed):
    g = torch.Generator().manual_seed(seed)
    D, P, depth = a["embed_dim"], a["patch_size"], a["depth"]
    grid = a["img_size"] // P
    if grid * P != a["img_size"]:
        raise SystemExit(f"make_random_vit: img {a['img_size']} is not a multiple of patch {P}")
    hidden = 4 * D

    def normal(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float32) * 0.02

    def zeros(*shape):
        return torch.zeros(*shape, dtype=torch.float32)

    def ones(*shape):
        return torch.ones(*shape, dtype=torch.float32)

    sd = {
        "cls_token": normal(1, 1, D),
        "pos_embed": normal(1, 1 + grid * grid, D),
        "patch_embed.proj.weight": normal(D, 3, P, P),
        "patch_embed.proj.bias": zeros(D),
    }
    for i in range(depth):
        b = f"blocks.{i}."
        sd[b + "norm1.weight"], sd[b + "norm1.bias"] = ones(D), zeros(D)
        sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"] = normal(3 * D, D), zeros(3 * D)
        sd[b + "attn.proj.weight"], sd[b + "attn.proj.bias"] = normal(D, D), zeros(D)
        sd[b + "norm2.weight"], sd[b + "norm2.bias"] = ones(D), zeros(D)
        sd[b + "mlp.fc1.weight"], sd[b + "mlp.fc1.bias"] = normal(hidden, D), zeros(hidden)
        sd[b + "mlp.fc2.weight"], sd[b + "mlp.fc2.bias"] = normal(D, hidden), zeros(D)
    sd["norm.weight"], sd["norm.bias"] = ones(D), zeros(D)
    if num_classes > 0:
        sd["head.weight"], sd["head.bias"] = normal(num_classes, D), zeros(num_classes)
    return sd


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", required=True, help="e.g. vit_small_patch16_224, vit_small_patch8_224")
    ap.add_argument("--out", required=True, help="output folder (created if missing)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--img", type=int, default=None, help="image size (default: from the arch name)")
    ap.add_argument("--num-classes", type=int, default=1000, help="0 = headless")
    args = ap.parse_args(argv)

    a = parse_arch(args.arch)
    if args.img is not None:
        a["img_size"] = args.img
    sd = make_state_dict(a, args.num_classes, args.seed)
    os.makedirs(args.out, exist_ok=True)
    cfg = {
        "architecture": args.arch,
        "num_classes": args.num_classes,
        "num_features": a["embed_dim"],
        "global_pool": "token",
        "model_args": dict(a, mlp_ratio=4.0),
        "random_weights": True,
        "seed": args.seed,
        "pretrained_cfg": {
            "tag": f"random_seed{args.seed}",
            "custom_load": False,
            "input_size": [3, a["img_size"], a["img_size"]],
            "fixed_input_size": True,
            "interpolation": "bicubic",
            "crop_pct": 0.9,
            "crop_mode": "center",
            "mean": [0.485, 0.456, 0.406],
            "std": [0.229, 0.224, 0.225],
            "num_classes": args.num_classes,
            "pool_size": None,
            "first_conv": "patch_embed.proj",
            "classifier": "head",
        },
    }
    # write to temporary names, then rename: a reader never sees a half-written folder
    st, cj = os.path.join(args.out, "model.safetensors"), os.path.join(args.out, "config.json")
    write_safetensors(st + ".tmp", sd, metadata={"format": "pt"})
    with open(cj + ".tmp", "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    os.replace(st + ".tmp", st)
    os.replace(cj + ".tmp", cj)
    n_params = sum(t.numel() for t in sd.values())
    grid = a["img_size"] // a["patch_size"]
    print(f"make_random_vit: wrote {args.out} ({args.arch}, {n_params:,} params, "
          f"{1 + grid * grid} tokens, seed {args.seed})", file=sys.stderr)


if __name__ == "__main__":
    main()
