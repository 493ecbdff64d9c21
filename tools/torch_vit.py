#!/usr/bin/python3
"""Reference Vision Transformer in plain PyTorch (timm semantics), plus helpers.

Not a script: imported by tools/make_vit_fixtures.py and tools/make_cdam_fixtures.py
(run those with /usr/bin/python3; needs torch, numpy, PIL; no timm/transformers).

What it provides
  * read_safetensors(path) / write_safetensors(path, tensors, metadata): a tiny
    reader/writer of the safetensors format (8-byte little-endian header length,
    JSON header, raw little-endian data). Only F32/F64 are handled.
  * hf_to_timm(state_dict) / timm_to_hf(state_dict, prefix): rename between
    timm names and Hugging Face transformers ViT names (query|key|value <-> qkv).
  * TorchViT(state_dict, num_heads, eps, no_embed_class, dtype): the forward pass
        tokens = [CLS, dist?, reg..., patches]           (timm order)
        pos    = covers all tokens (timm default) or patches only
                 (no_embed_class=True, as timm DINOv2-reg: added to the patches
                 before the prefix tokens are concatenated)
        block  = X + ls1 * Attn(LN1(X)); X' = Y + ls2 * MLP(LN2(Y))   (pre-norm)
        attn   = qkv rows q|k|v, each split into H heads of size D/H,
                 softmax(q k^T / sqrt(d)) v, heads concatenated, proj
        MLP    = fc2(GELU_exact(fc1(.)))
        latent = LNf(X_L)[:, 0]                          (normed [CLS])
        logits = head(latent); with a distillation token (timm DeiT-distilled,
                 eval mode): (head(x[:,0]) + head_dist(x[:,1])) / 2
    LayerScale gammas `blocks.N.ls1.gamma` / `ls2.gamma` are used when present.
    Image sizes other than the native grid resample the position embedding with
    resample_abs_pos_embed (timm's algorithm: prefix kept, grid bicubic with
    antialias=True, align_corners=False).
  * Pieces used by CDAM: embed(), block(i, x, t=None) where `t` overrides the
    LN1 output that enters the attention branch (the residual still uses x),
    attention_probs(i, x), head_from_tokens(x_L).
  * Preprocessing: load_rgb(path), resize_center_crop(img, size, crop_pct),
    to_tensor(img, mean, std) -> [1,3,H,W] float32, CHW, (p/255 - mean)/std.
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn.functional as F

# --------------------------------------------------------------------------- #
# safetensors
# --------------------------------------------------------------------------- #
_DT = {"F16": (np.float16, torch.float16), "F32": (np.float32, torch.float32), "F64": (np.float64, torch.float64)}


def read_safetensors(path):
    """Return (dict name -> torch tensor (native dtype), metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        npdt, _ = _DT[info["dtype"]]
        a, b = info["data_offsets"]
        arr = np.frombuffer(raw[base + a:base + b], dtype=np.dtype(npdt).newbyteorder("<"))
        out[name] = torch.from_numpy(arr.astype(npdt).reshape(info["shape"]).copy())
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """Write tensors (float32 or float64) sorted by name, header padded to 8 bytes."""
    names = sorted(tensors)
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs = []
    off = 0
    for name in names:
        t = tensors[name].detach().contiguous()
        if t.dtype == torch.float32:
            code, npdt = "F32", "<f4"
        elif t.dtype == torch.float64:
            code, npdt = "F64", "<f8"
        else:
            raise ValueError(f"unsupported dtype {t.dtype} for {name}")
        data = t.numpy().astype(npdt).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


# --------------------------------------------------------------------------- #
# naming conventions
# --------------------------------------------------------------------------- #
def timm_to_hf(sd, prefix="vit."):
    """timm ViT names -> Hugging Face ViTForImageClassification names."""
    p = prefix
    out = {}
    D = sd["cls_token"].shape[-1]
    out[p + "embeddings.cls_token"] = sd["cls_token"]
    out[p + "embeddings.position_embeddings"] = sd["pos_embed"]
    out[p + "embeddings.patch_embeddings.projection.weight"] = sd["patch_embed.proj.weight"]
    out[p + "embeddings.patch_embeddings.projection.bias"] = sd["patch_embed.proj.bias"]
    depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
    for i in range(depth):
        b, l = f"blocks.{i}.", f"{p}encoder.layer.{i}."
        out[l + "layernorm_before.weight"] = sd[b + "norm1.weight"]
        out[l + "layernorm_before.bias"] = sd[b + "norm1.bias"]
        qw, qb = sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"]
        for j, nm in enumerate(("query", "key", "value")):
            out[l + f"attention.attention.{nm}.weight"] = qw[j * D:(j + 1) * D].clone()
            out[l + f"attention.attention.{nm}.bias"] = qb[j * D:(j + 1) * D].clone()
        out[l + "attention.output.dense.weight"] = sd[b + "attn.proj.weight"]
        out[l + "attention.output.dense.bias"] = sd[b + "attn.proj.bias"]
        out[l + "layernorm_after.weight"] = sd[b + "norm2.weight"]
        out[l + "layernorm_after.bias"] = sd[b + "norm2.bias"]
        out[l + "intermediate.dense.weight"] = sd[b + "mlp.fc1.weight"]
        out[l + "intermediate.dense.bias"] = sd[b + "mlp.fc1.bias"]
        out[l + "output.dense.weight"] = sd[b + "mlp.fc2.weight"]
        out[l + "output.dense.bias"] = sd[b + "mlp.fc2.bias"]
    out[p + "layernorm.weight"] = sd["norm.weight"]
    out[p + "layernorm.bias"] = sd["norm.bias"]
    if "head.weight" in sd:
        out["classifier.weight"] = sd["head.weight"]
        out["classifier.bias"] = sd["head.bias"]
    return out


def hf_to_timm(sd):
    """Hugging Face ViT names (with or without the `vit.` prefix) -> timm names."""
    p = "vit." if any(k.startswith("vit.") for k in sd) else ""
    out = {}
    out["cls_token"] = sd[p + "embeddings.cls_token"]
    out["pos_embed"] = sd[p + "embeddings.position_embeddings"]
    out["patch_embed.proj.weight"] = sd[p + "embeddings.patch_embeddings.projection.weight"]
    out["patch_embed.proj.bias"] = sd[p + "embeddings.patch_embeddings.projection.bias"]
    depth = 1 + max(int(k[len(p):].split(".")[2]) for k in sd if k.startswith(p + "encoder.layer."))
    for i in range(depth):
        b, l = f"blocks.{i}.", f"{p}encoder.layer.{i}."
        out[b + "norm1.weight"] = sd[l + "layernorm_before.weight"]
        out[b + "norm1.bias"] = sd[l + "layernorm_before.bias"]
        out[b + "attn.qkv.weight"] = torch.cat([sd[l + f"attention.attention.{n}.weight"] for n in ("query", "key", "value")], 0)
        out[b + "attn.qkv.bias"] = torch.cat([sd[l + f"attention.attention.{n}.bias"] for n in ("query", "key", "value")], 0)
        out[b + "attn.proj.weight"] = sd[l + "attention.output.dense.weight"]
        out[b + "attn.proj.bias"] = sd[l + "attention.output.dense.bias"]
        out[b + "norm2.weight"] = sd[l + "layernorm_after.weight"]
        out[b + "norm2.bias"] = sd[l + "layernorm_after.bias"]
        out[b + "mlp.fc1.weight"] = sd[l + "intermediate.dense.weight"]
        out[b + "mlp.fc1.bias"] = sd[l + "intermediate.dense.bias"]
        out[b + "mlp.fc2.weight"] = sd[l + "output.dense.weight"]
        out[b + "mlp.fc2.bias"] = sd[l + "output.dense.bias"]
    out["norm.weight"] = sd[p + "layernorm.weight"]
    out["norm.bias"] = sd[p + "layernorm.bias"]
    if "classifier.weight" in sd:
        out["head.weight"] = sd["classifier.weight"]
        out["head.bias"] = sd["classifier.bias"]
    return out


# --------------------------------------------------------------------------- #
# position embedding resampling (timm resample_abs_pos_embed)
# --------------------------------------------------------------------------- #
def resample_abs_pos_embed(posemb, new_size, old_size=None, num_prefix_tokens=1,
                           interpolation="bicubic", antialias=True):
    """timm's algorithm. Unlike timm (which casts to float32), this keeps the
    input dtype, so a float64 model resamples in float64."""
    n_pos = posemb.shape[1]
    if n_pos == new_size[0] * new_size[1] + num_prefix_tokens and new_size[0] == new_size[1]:
        return posemb
    if old_size is None:
        hw = int(math.sqrt(n_pos - num_prefix_tokens))
        old_size = (hw, hw)
    if num_prefix_tokens:
        prefix, grid = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    else:
        prefix, grid = None, posemb
    D = grid.shape[-1]
    grid = grid.reshape(1, old_size[0], old_size[1], D).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=tuple(new_size), mode=interpolation,
                         antialias=antialias, align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, D)
    if prefix is not None:
        grid = torch.cat([prefix, grid], dim=1)
    return grid


# --------------------------------------------------------------------------- #
# the model
# --------------------------------------------------------------------------- #
class TorchViT:
    def __init__(self, sd, num_heads, eps=1e-6, no_embed_class=False, dtype=torch.float64,
                 head=None):
        """sd: timm-named state dict. head: optional (weight, bias) for headless backbones."""
        self.p = {k: v.detach().to(dtype) for k, v in sd.items()}
        if head is not None:
            self.p["head.weight"] = head[0].detach().to(dtype)
            self.p["head.bias"] = head[1].detach().to(dtype)
        self.dtype = dtype
        self.H = num_heads
        self.eps = eps
        self.no_embed_class = no_embed_class
        self.D = self.p["cls_token"].shape[-1]
        self.depth = 1 + max(int(k.split(".")[1]) for k in self.p if k.startswith("blocks."))
        self.patch = self.p["patch_embed.proj.weight"].shape[-1]
        self.has_dist = "dist_token" in self.p
        self.n_reg = self.p["reg_token"].shape[1] if "reg_token" in self.p else 0
        self.num_prefix = 1 + (1 if self.has_dist else 0) + self.n_reg
        n_pos_prefix = 0 if no_embed_class else self.num_prefix
        n_grid = self.p["pos_embed"].shape[1] - n_pos_prefix
        g = int(round(math.sqrt(n_grid)))
        assert g * g == n_grid, "pos_embed grid must be square"
        self.grid = (g, g)

    # -- pieces --------------------------------------------------------------
    def ln(self, x, name):
        return F.layer_norm(x, (self.D,), self.p[name + ".weight"], self.p[name + ".bias"], self.eps)

    def lin(self, x, name):
        return F.linear(x, self.p[name + ".weight"], self.p[name + ".bias"])

    def pos_embed(self, grid):
        pe = self.p["pos_embed"]
        if tuple(grid) != self.grid:
            npt = 0 if self.no_embed_class else self.num_prefix
            pe = resample_abs_pos_embed(pe, grid, old_size=self.grid, num_prefix_tokens=npt)
        return pe

    def patch_conv(self, x, weight, bias):
        return F.conv2d(x, weight, bias, stride=self.patch)

    def embed(self, x, patch_fn=None):
        """patch_fn(x) replaces the patch convolution (AttnLRP's LRP-gamma, say)."""
        x = x.to(self.dtype)
        B = x.shape[0]
        if patch_fn is None:
            t = self.patch_conv(x, self.p["patch_embed.proj.weight"], self.p["patch_embed.proj.bias"])
        else:
            t = patch_fn(x)
        grid = (t.shape[2], t.shape[3])
        t = t.flatten(2).transpose(1, 2)  # [B, P, D], row-major patches
        pe = self.pos_embed(grid)
        prefix = [self.p["cls_token"].expand(B, -1, -1)]
        if self.has_dist:
            prefix.append(self.p["dist_token"].expand(B, -1, -1))
        if self.n_reg:
            prefix.append(self.p["reg_token"].expand(B, -1, -1))
        if self.no_embed_class:
            t = t + pe
            return torch.cat(prefix + [t], dim=1)
        return torch.cat(prefix + [t], dim=1) + pe

    def qkv_heads(self, i, t):
        B, N, D = t.shape
        qkv = self.lin(t, f"blocks.{i}.attn.qkv").reshape(B, N, 3, self.H, D // self.H).permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]  # [B, H, N, d]

    def attn(self, i, t, return_probs=False):
        B, N, D = t.shape
        q, k, v = self.qkv_heads(i, t)
        a = torch.softmax((q @ k.transpose(-2, -1)) * (D // self.H) ** -0.5, dim=-1)
        o = (a @ v).transpose(1, 2).reshape(B, N, D)
        o = self.lin(o, f"blocks.{i}.attn.proj")
        return (o, a) if return_probs else o

    def attention_probs(self, i, x):
        """Softmax attention [B, H, N, N] of block i given its input x."""
        return self.attn(i, self.ln(x, f"blocks.{i}.norm1"), return_probs=True)[1]

    def block(self, i, x, t=None, keep_attn=None):
        """Pre-norm block i. If t is given it replaces LN1(x) in the attention
        branch (the residual path still adds x). keep_attn: a list that gets
        the block's softmax probabilities [B, H, N, N] (on the graph)."""
        b = f"blocks.{i}."
        if t is None:
            t = self.ln(x, b + "norm1")
        a, probs = self.attn(i, t, return_probs=True)
        if keep_attn is not None:
            keep_attn.append(probs)
        if b + "ls1.gamma" in self.p:
            a = a * self.p[b + "ls1.gamma"]
        y = x + a
        act = self.mlp_act(i, F.gelu(self.lin(self.ln(y, b + "norm2"), b + "mlp.fc1")))
        m = self.lin(act, b + "mlp.fc2")
        if b + "ls2.gamma" in self.p:
            m = m * self.p[b + "ls2.gamma"]
        return y + m

    def mlp_act(self, i, act):
        """The MLP activations of block i after GELU [B, N, hidden]: a hook point
        (a forward hook on timm's mlp.act); subclasses may change them."""
        return act

    def head_from_tokens(self, xl):
        """Final norm + head. Returns (logits, latent = normed [CLS])."""
        z = self.ln(xl, "norm")
        latent = z[:, 0]
        if "head.weight" not in self.p:
            return None, latent
        logits = self.lin(latent, "head")
        if self.has_dist:
            logits = (logits + self.lin(z[:, 1], "head_dist")) / 2
        return logits, latent

    # -- full pass -----------------------------------------------------------
    def forward(self, x, keep=False):
        """Returns dict(logits, latent[, block_inputs (list, len depth+1)])."""
        h = self.embed(x)
        ins = [h]
        for i in range(self.depth):
            h = self.block(i, h)
            ins.append(h)
        logits, latent = self.head_from_tokens(h)
        out = {"logits": logits, "latent": latent}
        if keep:
            out["block_inputs"] = ins
        return out


# --------------------------------------------------------------------------- #
# preprocessing
# --------------------------------------------------------------------------- #
def load_rgb(path):
    from PIL import Image
    return Image.open(path).convert("RGB")


def resize_center_crop(img, size=224, crop_pct=0.9):
    """timm eval transform: short side to floor(size / crop_pct), bicubic, centre crop."""
    from PIL import Image
    scale = int(math.floor(size / crop_pct))
    w, h = img.size
    if w <= h:
        nw, nh = scale, int(scale * h / w)
    else:
        nh, nw = scale, int(scale * w / h)
    img = img.resize((nw, nh), Image.BICUBIC)
    left = int(round((nw - size) / 2.0))
    top = int(round((nh - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def to_tensor(img, mean, std):
    """PIL RGB -> [1, 3, H, W] float32: (pixel/255 - mean) / std per channel, CHW.
    Computed in float64 and rounded once to float32."""
    a = np.asarray(img, dtype=np.float64) / 255.0
    a = (a - np.asarray(mean, dtype=np.float64)) / np.asarray(std, dtype=np.float64)
    return torch.from_numpy(a.transpose(2, 0, 1)[None].astype(np.float32).copy())


def load_model_dir(folder, dtype=torch.float64):
    """Load /work/shared/weights/<model>/ (timm layout). Returns (TorchViT, config)."""
    import os
    sd, _ = read_safetensors(os.path.join(folder, "model.safetensors"))
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    D = sd["cls_token"].shape[-1]
    heads = cfg.get("model_args", {}).get("num_heads")
    if heads is None:
        heads = D // 64  # ViT-Ti/S/B all use head dim 64
    model = TorchViT(sd, num_heads=heads, eps=1e-6,
                     no_embed_class=cfg.get("model_args", {}).get("no_embed_class", False), dtype=dtype)
    return model, cfg


# --------------------------------------------------------------------------- #
# the small generated models (test/fixtures/vit, made by make_vit_fixtures.py)
# --------------------------------------------------------------------------- #
FIXTURE_MODELS = {
    # name: (layout, eps, no_embed_class)
    "timm_plain": ("timm", 1e-6, False),
    "timm_reg_ls": ("timm", 1e-6, True),
    "hf_vit": ("hf", 1e-12, False),
    "timm_distilled": ("timm", 1e-6, False),
}


def load_fixture_model(name):
    """A generated model of test/fixtures/vit (float64) and the input stored in its expected.json."""
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = os.path.join(root, "test", "fixtures", "vit", name)
    layout, eps, no_embed_class = FIXTURE_MODELS[name]
    sd, _ = read_safetensors(os.path.join(folder, "model.safetensors"))
    if layout == "hf":
        sd = hf_to_timm(sd)
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    heads = cfg.get("num_attention_heads") or cfg["model_args"]["num_heads"]
    with open(os.path.join(folder, "expected.json")) as f:
        inp = json.load(f)["input"]
    x = torch.tensor(inp["data"], dtype=torch.float32).reshape(inp["shape"])
    return TorchViT(sd, heads, eps=eps, no_embed_class=no_embed_class), x
