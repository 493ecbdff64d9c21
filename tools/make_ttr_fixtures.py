#!/usr/bin/python3
"""PyTorch reference for test-time registers (Jiang, Dravid, Efros, Gandelsman,
"Vision Transformers Don't Need Trained Registers", NeurIPS 2025), applied to
the project's TorchViT exactly as the authors' code applies it to DINOv2 and
OpenCLIP (github.com/nickjiang2378/test-time-registers):

  * the extra token: torch.zeros, appended AFTER the patches once the position
    embedding has been added (dinov2 prepare_tokens_with_masks / the CLIP
    VisionTransformer.forward "extra_tokens"): no position embedding;
  * in each block that has register neurons, a forward hook on the MLP's
    activation module (dinov2 `mlp.act`, CLIP `mlp.gelu`: the output of GELU)
    runs their shared/hook_fn.py activate_on_registers with their defaults
    (scale 1, normal_values "zero"), copied below verbatim: the register
    token's entries at the neurons get sign_max over every token and every
    neuron of the block, tokens 1:-1 get 0, [CLS] is left alone;
  * outputs read [CLS] (the head) and patches 1+prefix:-1; the register is dropped.
Gradients are PyTorch autograd's through those in-place assignments.
Their hook handles batch element 0 only; here it is applied to each element
of a batch (one image at a time, as their run_model does).

Run with:  /usr/bin/python3 tools/make_ttr_fixtures.py

Reads  weights/ (the embedded ViT-Ti, F16 upcast, float64), its register
       neurons weights/test_time_registers.json (from `cdam registers`),
       examples/catcoffee_224.png, and the generated models of test/fixtures/vit
Writes test/fixtures/ttr/catcoffee_vit_tiny.safetensors (float32 tensors):
  logits, logits.ttr                  [1000]   without / with the register
  norms, norms.ttr                    [197] / [198]  L2 norm of every token of the
                                      last block's input, in their order ([CLS],
                                      patches, then the register)
  attention.ttr                       [196]    mean over heads of the last block's
                                      [CLS] row over the patches
  attention_register.ttr              [3]      per head, [CLS] -> register
  cdam.ttr.285, cdam.ttr.967          [196]    CDAM (T = LN1 of the last block input)
  input-x-grad.ttr.285                [224, 224]  mean_c(x * df/dx), through every
                                      intervened block
  relevance.ttr.285                   [196]    Chefer 2021 (as make_baseline_fixtures.py)
  rollout.ttr                         [196]
test/fixtures/ttr/small_models.json: the generated models timm_plain,
  timm_reg_ls (registers, LayerScale, position embedding on patches only),
  timm_distilled (distillation token: the register's zeroing reaches it, and
  the last block is intervened too), register neurons {0: [1, 5], 1: [2, 7, 9]},
  target 1: logits, input-x-grad, CDAM, norms of the last block input; and a
  toy of the hook alone on raw values (a tie at the max, a negative sign_max).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_vit import TorchViT, load_fixture_model, load_model_dir, load_rgb, to_tensor, write_safetensors  # noqa: E402
from make_baseline_fixtures import input_x_grad, relevance, rollout  # noqa: E402
from make_cdam_fixtures import lst  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "ttr")
WEIGHTS = os.path.join(ROOT, "weights")
NEURONS = os.path.join(WEIGHTS, "test_time_registers.json")
SMALL_NEURONS = {0: [1, 5], 1: [2, 7, 9]}


# --------------------------------------------------------------------------- #
# their code (shared/utils.py sign_max, shared/hook_fn.py activate_on_registers), verbatim
# --------------------------------------------------------------------------- #
def sign_max(tensor):
    pos_max = torch.max(tensor)
    neg_max = torch.min(tensor)
    return pos_max if abs(pos_max) > abs(neg_max) else neg_max


def activate_on_registers(module, input, output, num_registers, neuron_indices, scale=1.0, normal_values="zero"):
    # For all register neurons, set the activations of the extra registers to their max activation across patches
    if isinstance(scale, list):
        assert len(scale) == num_registers
        for i in range(num_registers):
            output[0, -num_registers + i, neuron_indices] = scale[i] * sign_max(output[0, :, neuron_indices])
    else:
        output[0, -num_registers:, neuron_indices] = scale * sign_max(output[0, :, neuron_indices]).unsqueeze(0).expand(num_registers, -1)
    if normal_values == "zero":
        # Set all image patch activations to 0
        output[0, 1:-num_registers, neuron_indices] = 0
    else:
        raise ValueError("only the default normal_values='zero' is reproduced here")


def hook_batch(act, neurons):
    """Their hook on each image of a batch (their run_model passes one image)."""
    for b in range(act.shape[0]):
        activate_on_registers(None, None, act[b:b + 1], num_registers=1, neuron_indices=neurons)
    return act


# --------------------------------------------------------------------------- #
# the model with a test-time register
# --------------------------------------------------------------------------- #
class TorchViTTTR(TorchViT):
    """TorchViT plus one test-time register (appended last) and the hooks on the blocks in `neurons`."""

    def __init__(self, base, neurons):
        self.__dict__.update(base.__dict__)
        self.neurons = {int(k): list(v) for k, v in neurons.items()}

    def embed(self, x, patch_fn=None):
        h = TorchViT.embed(self, x, patch_fn)
        return torch.cat([h, torch.zeros(h.shape[0], 1, h.shape[2], dtype=h.dtype)], dim=1)

    def mlp_act(self, i, act):
        # the forward hook on mlp.act, in place, in the blocks with register neurons
        return hook_batch(act, self.neurons[i]) if i in self.neurons else act


def last_block_input(model, x):
    with torch.no_grad():
        h = model.embed(x)
        for i in range(model.depth - 1):
            h = model.block(i, h)
    return h


def cdam(model, x, c, ttr):
    L = model.depth - 1
    X = last_block_input(model, x)
    T = model.ln(X, f"blocks.{L}.norm1").detach().requires_grad_(True)
    logits, _ = model.head_from_tokens(model.block(L, X, t=T))
    (g,) = torch.autograd.grad(logits[:, c].sum(), [T])
    s = (T * g).sum(-1)[0, model.num_prefix:]
    return (s[:-1] if ttr else s).detach()


def neurons_of(path):
    with open(path) as f:
        r = json.load(f)
    out = {}
    for n in r["neurons"]:
        out.setdefault(n["layer"], []).append(n["neuron"])
    return out


def toy():
    """The hook alone on raw values [2, 5, 6], neurons [1, 3, 4]: image 0 has its
    max (3.0) twice (at [CLS] and a patch: torch shares the gradient), image 1 a
    negative sign_max (-4.0, the register row itself)."""
    torch.manual_seed(3)
    h = torch.randn(2, 5, 6, dtype=torch.float64)
    h[0, 0, 1] = 3.0
    h[0, 2, 4] = 3.0
    h[1, 4, 3] = -4.0
    w = torch.randn(2, 5, 6, dtype=torch.float64)
    hh = h.clone().requires_grad_(True)
    out = hook_batch(hh * 1.0, [1, 3, 4])  # a non-leaf copy, as a module output is
    (g,) = torch.autograd.grad((out * w).sum(), [hh])
    return {"neurons": [1, 3, 4], "token": 4, "h": lst(h), "w": lst(w), "out": lst(out.detach()), "grad": lst(g), "shape": list(h.shape)}


def main():
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    os.makedirs(OUT, exist_ok=True)

    small = {"generator": "tools/make_ttr_fixtures.py", "neurons": {str(k): v for k, v in SMALL_NEURONS.items()}, "target": 1,
             "toy": toy(), "models": {}}
    for name in ("timm_plain", "timm_reg_ls", "timm_distilled"):
        base, x = load_fixture_model(name)
        m = TorchViTTTR(base, SMALL_NEURONS)
        small["models"][name] = {
            "logits": lst(base.forward(x)["logits"].detach()),
            "logits_ttr": lst(m.forward(x)["logits"].detach()),
            "input_x_grad_ttr": lst(input_x_grad(m, x, 1)),
            "cdam_ttr": lst(cdam(m, x, 1, True)),
            "norms_ttr": lst(last_block_input(m, x)[0].norm(dim=-1)),
        }
        print(f"{name}: done")
    path = os.path.join(OUT, "small_models.json")
    with open(path, "w") as f:
        json.dump(small, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} B)")

    base, cfg = load_model_dir(WEIGHTS, torch.float64)
    neurons = neurons_of(NEURONS)
    model = TorchViTTTR(base, neurons)
    pc = cfg["pretrained_cfg"]
    x = to_tensor(load_rgb(os.path.join(ROOT, "examples", "catcoffee_224.png")), pc["mean"], pc["std"])
    with torch.no_grad():
        out = {
            "logits": base.forward(x)["logits"][0],
            "logits.ttr": model.forward(x)["logits"][0],
            "norms": last_block_input(base, x)[0].norm(dim=-1),
            "norms.ttr": last_block_input(model, x)[0].norm(dim=-1),
        }
        A = model.attention_probs(model.depth - 1, last_block_input(model, x))[0]  # [H, N, N]
        out["attention.ttr"] = A[:, 0, 1:-1].mean(0)
        out["attention_register.ttr"] = A[:, 0, -1]
    for c in (285, 967):
        out[f"cdam.ttr.{c}"] = cdam(model, x, c, True)
    out["input-x-grad.ttr.285"] = input_x_grad(model, x, 285)
    out["relevance.ttr.285"] = relevance(model, x, 285)[:-1]
    out["rollout.ttr"] = rollout(model, x)[:-1]
    out = {k: v.detach().float().contiguous() for k, v in out.items()}
    path = os.path.join(OUT, "catcoffee_vit_tiny.safetensors")
    write_safetensors(path, out, {"generator": "tools/make_ttr_fixtures.py", "neurons": json.dumps({str(k): v for k, v in neurons.items()})})
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} B)")
    top = out["logits.ttr"].argmax().item()
    print(f"top-1 with the register: {top} ({out['logits.ttr'][top]:.3f}); corners {[round(out['norms'][i].item()) for i in (1, 14, 183, 196)]} -> "
          f"{[round(out['norms.ttr'][i].item()) for i in (1, 14, 183, 196)]}, register {out['norms.ttr'][-1]:.1f}")


if __name__ == "__main__":
    main()
