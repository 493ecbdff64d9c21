#!/usr/bin/python3
"""AttnLRP and CP-LRP on TorchViT, written from the authors' code: lxt's
"efficient" rules (lxt/efficient/rules.py, patches.py: divide_gradient,
identity_rule_implicit, stop_gradient, layer_norm_forward) and zennit's
generalised Gamma rule as lxt's zennit patch turns it into a gradient
(lxt/efficient/zennit_patches.py). Not a script: imported by
tools/make_baseline_fixtures.py and bench/torch_bench.py.

Which layers get LRP-gamma follows the authors' ViT example (torchvision
ViT + zennit LayerMapComposite over Conv2d and Linear): the patch embedding
(Conv2d), the MLP linears and the head. torchvision's attention projections
run inside F.multi_head_attention_forward, out of reach of module hooks, so
they keep the plain gradient.

Relevance map: (x * x.grad).sum over channels, x the normalised input.
"""
import torch
import torch.nn.functional as F
from torch.autograd import Function


class DivideGradient(Function):
    """lxt divide_gradient: the identity forward, the gradient divided by `factor`."""
    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return g / ctx.factor, None


class IdentityRule(Function):
    """lxt identity_rule_implicit: fn(x) forward, g * fn(x) / (x + 1e-10) backward."""
    @staticmethod
    def forward(ctx, fn, x):
        out = fn(x)
        ctx.save_for_backward(out / (x + 1e-10))
        return out

    @staticmethod
    def backward(ctx, g):
        return None, ctx.saved_tensors[0] * g


def stabilize(v, eps):
    """zennit.core.stabilize(clip=False): v + eps * sign(v), sign(0) = +1."""
    return v + eps * ((v == 0).to(v) + v.sign())


class GammaRule(Function):
    """zennit.rules.Gamma(gamma) on a layer fn(x, W, b) (F.linear or the patch
    conv), inside lxt's gradient x input framework: the upstream gradient
    times the layer output is the output relevance, the input relevance
    divided by the (stabilised) input is the gradient. `vjp(g, W)`, when
    given, is fn's input gradient (g W for a linear layer: the bench's oneDNN
    products); otherwise autograd differentiates fn, as zennit does."""
    @staticmethod
    def forward(ctx, x, fn, weight, bias, gamma, vjp=None):
        ctx.fn, ctx.gamma, ctx.vjp = fn, gamma, vjp
        ctx.save_for_backward(x, weight, bias)
        return fn(x, weight, bias)

    @staticmethod
    def backward(ctx, g):
        x, w, b = ctx.saved_tensors
        gm, fn = ctx.gamma, ctx.fn
        mod = lambda t, lo, hi: t + gm * t.clamp(min=lo, max=hi)  # zennit GammaMod
        wp, wn = mod(w, 0.0, None), mod(w, None, 0.0)
        bp, bn = mod(b, 0.0, None), mod(b, None, 0.0)
        zero = torch.zeros_like(b)
        with torch.enable_grad():
            ins = [x.clamp(min=0), x.clamp(max=0), x.clamp(min=0), x.clamp(max=0), x]
            ins = [t.detach().requires_grad_(True) for t in ins]
            params = [(wp, bp), (wn, zero), (wn, bn), (wp, zero), (w, b)]
            outs = [fn(i, pw, pb) for i, (pw, pb) in zip(ins, params)]
        R = g * outs[4].detach()
        gp = (outs[4] > 0).to(R) * R / stabilize(outs[0] + outs[1], 1e-6)
        gn = (outs[4] < 0).to(R) * R / stabilize(outs[2] + outs[3], 1e-6)
        if ctx.vjp is None:
            grads = torch.autograd.grad(outs[:4], ins[:4], [gp, gp, gn, gn])
        else:
            grads = [ctx.vjp(gr, pw) for gr, (pw, _) in zip([gp, gp, gn, gn], params[:4])]
        rel = sum(i * gr for i, gr in zip(ins[:4], grads))
        return rel / stabilize(x, 1e-10), None, None, None, None, None


def ln_identity(model, x, name):
    """lxt layer_norm_forward: (x - mean) / stop_gradient(std) * w + b."""
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    std = (var + model.eps).sqrt()
    return (x - mean) / std.detach() * model.p[name + ".weight"] + model.p[name + ".bias"]


def _nt(a, b):
    return a @ b.transpose(-2, -1)


def attnlrp_logits(model, x, variant="cp", gamma=0.05, patch_gamma=0.25, nt=_nt, gamma_linear=(F.linear, None)):
    """The forward pass with the relevance rules in place: its backward is AttnLRP's.
    The plain linear layers are model.lin; nt(a, b) = a @ b^T (differentiable) is
    the attention's products; gamma_linear = (fn(x, W, b), vjp(g, W) or None) the
    LRP-gamma layers' products (the bench swaps in oneDNN for all three)."""
    p = model.p
    lin_fn, lin_vjp = gamma_linear
    gl = lambda t, name: GammaRule.apply(t, lin_fn, p[name + ".weight"], p[name + ".bias"], gamma, lin_vjp)
    h = model.embed(x, patch_fn=lambda im: GammaRule.apply(
        im, model.patch_conv, p["patch_embed.proj.weight"], p["patch_embed.proj.bias"], patch_gamma))
    for i in range(model.depth):
        b = f"blocks.{i}."
        T = ln_identity(model, h, b + "norm1")
        B, N, D = T.shape
        qkv = model.lin(T, b + "attn.qkv")
        q, k, v = qkv.reshape(B, N, 3, model.H, D // model.H).permute(2, 0, 3, 1, 4)
        if variant == "cp":
            q, k = q.detach(), k.detach()
        else:
            q, k, v = DivideGradient.apply(q, 4), DivideGradient.apply(k, 4), DivideGradient.apply(v, 2)
        a = torch.softmax(nt(q, k) * (D // model.H) ** -0.5, dim=-1)
        o = model.lin(nt(a, v.transpose(-2, -1)).transpose(1, 2).reshape(B, N, D), b + "attn.proj")
        if b + "ls1.gamma" in p:
            o = o * p[b + "ls1.gamma"]
        y = h + o
        m = gl(IdentityRule.apply(F.gelu, gl(ln_identity(model, y, b + "norm2"), b + "mlp.fc1")), b + "mlp.fc2")
        if b + "ls2.gamma" in p:
            m = m * p[b + "ls2.gamma"]
        h = y + m
    z = ln_identity(model, h, "norm")
    logits = gl(z[:, 0], "head")
    if model.has_dist:
        logits = (logits + gl(z[:, 1], "head_dist")) / 2
    return logits


def attnlrp(model, x, c, variant="cp", gamma=0.05, patch_gamma=0.25, **products):
    """AttnLRP relevance of logit c at every input pixel [H, W] (sum over channels)."""
    x = x.detach().to(model.dtype).requires_grad_(True)
    logits = attnlrp_logits(model, x, variant, gamma, patch_gamma, **products)
    (g,) = torch.autograd.grad(logits[:, c].sum(), [x])
    return (x * g).sum(1)[0].detach()
