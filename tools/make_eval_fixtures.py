#!/usr/bin/python3
"""The evaluation parity fixture: docs/EVAL.md's protocol (tools/torch_eval.py) on the
embedded ViT-Ti for the photos the issue names, so that src/eval is held to PyTorch.

Run with:  /usr/bin/python3 tools/make_eval_fixtures.py [--threads 2] [--check-only]

Reads  weights/ (the embedded ViT-Ti/16, F16 tensors, upcast exactly; computed in float64)
       examples/catcoffee_224.png, targets [285, 967] (two-class: the four pairings)
       ../shared/images/{chelsea.png, coffee.png, dog.jpg}, one target each: the model's
       top-1 class on the squashed 224x224 image (found here, in float64)
Writes test/fixtures/eval/parity.json:
  generator, protocol, torch / numpy / pillow versions, model, settings (every default
  used), boxes (boxes.json's format: mulberry32 seed 0, 100 per size 16..96),
  manifest (the JSON lines, paths relative to the repository root: "../shared/..." for the
  shared photos), images: one entry per manifest line with
    image, line, shared (true: under ../shared, skip when it is missing), sha256 of the
    file, targets, logits (the clean logit of each target), boxDrops (f_c(x) - f_c(x_box)
    per target, boxes in boxes.json's order), records (results.jsonl's lines for that
    image, `ms` left out: timings are not fixture material).
  Every number rounded to 6 significant digits.

Before the run it checks torch_eval.py's batched, vectorised map code against the
committed small-sample fixtures (test/fixtures/cdam/*.json, test/fixtures/baselines/*):
same noise streams, same maps (float64: within 1e-9 of max|s|).
"""
import argparse
import hashlib
import json
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # tools/torch_eval.py's speed configuration,
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # set before torch loads
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_eval as te  # noqa: E402
from torch_vit import FIXTURE_MODELS, load_fixture_model, load_model_dir, read_safetensors  # noqa: E402
from make_baseline_fixtures import SG_N, SG_NOISE, SG_SEED, IG_STEPS, EG_N, EG_SEED  # noqa: E402

ROOT = te.ROOT
OUT = os.path.join(ROOT, "test", "fixtures", "eval", "parity.json")
WEIGHTS = os.path.join(ROOT, "weights")
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "images")
CATCOFFEE = ("examples/catcoffee_224.png", [285, 967])
SHARED_PHOTOS = ["chelsea.png", "coffee.png", "dog.jpg"]


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64).reshape(-1), np.asarray(b, dtype=np.float64).reshape(-1)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def check_against_fixtures(tol=1e-9):
    """torch_eval's map code with the small fixtures' settings reproduces them."""
    te.check_streams()
    worst = {}

    def note(what, e, bound=tol):
        worst[what] = max(worst.get(what, 0.0), e)
        assert e < bound, f"{what}: {e:.2e} of max|s|"

    cd = json.load(open(os.path.join(ROOT, "test", "fixtures", "cdam", "small_models.json")))
    for name, want in cd["models"].items():
        model, x = load_fixture_model(name)
        mk = te.MapMaker(model, x)
        s, it = want["smooth"], want["integrated"]
        note("smooth-cdam (small models)", rel_err(mk.smooth(s["target"], n=s["n"], seed=s["seed"]), s["map"]))
        note("integrated-cdam (small models)", rel_err(mk.integrated(it["target"], m=it["m"]), it["map"]))
        for c in cd["targets"]:
            note("cdam (small models)", rel_err(mk.make("cdam", c)[0], want["cdam"][str(c)]))
        note("attention (small models)", rel_err(mk.make("attention", 0)[0], want["attention"]))

    bl = json.load(open(os.path.join(ROOT, "test", "fixtures", "baselines", "small_models.json")))
    for name, want in bl["models"].items():
        model, x = load_fixture_model(name)
        mk = te.MapMaker(model, x)
        note("rollout (small models)", rel_err(mk.make("rollout", 0)[0], want["rollout"]))
        for c in bl["targets"]:
            w = want[str(c)]
            note("smoothgrad (small models)", rel_err(mk.smoothgrad(c, n=SG_N, noise=SG_NOISE, seed=SG_SEED), w["smoothgrad"]))
            note("intgrad (small models)", rel_err(mk.intgrad(c, m=IG_STEPS), w["intgrad"]))
            note("expected-grad (small models)", rel_err(mk.expected_grad(c, n=EG_N, seed=EG_SEED), w["expected-grad"]))
            for m in ("input-x-grad", "gradcam", "relevance", "partial-lrp", "attnlrp"):
                note(f"{m} (small models)", rel_err(mk.make(m, c)[0], w[m]))

    model, cfg = load_model_dir(WEIGHTS, torch.float64)
    pp = te.model_preprocess(cfg)
    img = np.asarray(te.load_image(os.path.join(ROOT, "examples", "catcoffee_224.png")), dtype=np.uint8)
    x = te.normalise(img[None], pp)
    mk = te.MapMaker(model, x)
    fx = json.load(open(os.path.join(ROOT, "test", "fixtures", "cdam", "catcoffee_vit_tiny.json")))
    s, it = fx["smooth"], fx["integrated"]
    note("smooth-cdam (ViT-Ti)", rel_err(mk.smooth(s["target"], n=s["n"], seed=s["seed"]), s["map"]))
    note("integrated-cdam (ViT-Ti)", rel_err(mk.integrated(it["target"], m=it["m"]), it["map"]))
    for c in (285, 967):
        note("cdam (ViT-Ti)", rel_err(mk.make("cdam", c)[0], fx["cdam"][str(c)]))
    note("attention (ViT-Ti)", rel_err(mk.make("attention", 0)[0], fx["attention"]))
    st, _ = read_safetensors(os.path.join(ROOT, "test", "fixtures", "baselines", "vit_ti_catcoffee.safetensors"))
    # the safetensors fixture stores float32 maps: held to float32 precision
    note32 = lambda what, e: note(what, e, 1e-6)  # noqa: E731
    note32("rollout (ViT-Ti, f32 fixture)", rel_err(mk.make("rollout", 0)[0], st["rollout"]))
    for c in (285, 967):
        note32("smoothgrad (ViT-Ti, f32 fixture)", rel_err(mk.smoothgrad(c, n=SG_N, noise=SG_NOISE, seed=SG_SEED), st[f"smoothgrad.{c}"]))
        note32("intgrad (ViT-Ti, f32 fixture)", rel_err(mk.intgrad(c, m=IG_STEPS), st[f"intgrad.{c}"]))
        note32("expected-grad (ViT-Ti, f32 fixture)", rel_err(mk.expected_grad(c, n=EG_N, seed=EG_SEED), st[f"expected-grad.{c}"]))
        for m in ("input-x-grad", "gradcam", "relevance", "partial-lrp", "attnlrp"):
            note32(f"{m} (ViT-Ti, f32 fixture)", rel_err(mk.make(m, c)[0], st[f"{m}.{c}"]))
    for k, v in worst.items():
        print(f"  check {k}: max {v:.1e} of max|s|")
    return worst


def r6(v):
    if isinstance(v, float):
        return float(f"{v:.6g}")
    if isinstance(v, list):
        return [r6(u) for u in v]
    if isinstance(v, dict):
        return {k: r6(u) for k, u in v.items()}
    return v


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--check-only", action="store_true")
    ap.add_argument("--skip-check", action="store_true")
    ap.add_argument("--add-methods", help="comma list: compute only these methods and add their records to the committed fixture "
                    "(the other records, logits and boxes stay as they are; for a method added by docs/recipes/add-a-method.md)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if not args.skip_check:
        t0 = time.perf_counter()
        check_against_fixtures()
        print(f"map code matches the committed fixtures ({time.perf_counter() - t0:.0f} s)")
    if args.check_only:
        return
    if not os.path.isdir(SHARED):
        raise SystemExit(f"make_eval_fixtures: {SHARED} is missing (the shared photos are part of the fixture)")

    dtype = torch.float64
    model, cfg = load_model_dir(WEIGHTS, dtype)
    if args.add_methods:
        return add_methods(model, cfg, args.add_methods.split(","))
    pp = te.model_preprocess(cfg)
    H, W = pp["size"]
    boxes = te.make_boxes(W, H, 0)
    entries = [(CATCOFFEE[0], os.path.join(ROOT, CATCOFFEE[0]), False, CATCOFFEE[1])]
    for name in SHARED_PHOTOS:
        path = os.path.join(SHARED, name)
        img = np.asarray(te.to_model_resolution(te.load_image(path), pp, "squash"), dtype=np.uint8)
        with torch.no_grad():
            top = int(model.forward(te.normalise(img[None], pp))["logits"][0].argmax())
        print(f"{name}: top-1 {top} {cfg['label_names'][top]}")
        entries.append((f"../shared/images/{name}", path, True, [top]))

    images, manifest = [], []
    t_all = time.perf_counter()
    for line, (image, path, shared, targets) in enumerate(entries, 1):
        img = np.asarray(te.to_model_resolution(te.load_image(path), pp, "squash"), dtype=np.uint8)
        records, timing, extra = te.evaluate_image(model, pp, img, targets, te.METHODS, boxes, batch=16, round32=False)
        print(f"{image}: {timing['wall_s']:.0f} s (maps {timing['maps_s']:.0f} s, perturbation forwards "
              f"{timing['perturbation_forwards_s']:.0f} s, {timing['forwarded_images']} images)", flush=True)
        manifest.append({"image": image, "targets": targets})
        recs = []
        for r in records:
            r = {"image": image, "line": line, **{k: v for k, v in r.items() if k != "ms"}}
            recs.append(r6(r))
        images.append({"image": image, "line": line, "shared": shared, "sha256": sha256(path), "targets": targets,
                       "logits": {str(c): r6(v) for c, v in extra["clean"].items()},
                       "boxDrops": {str(c): r6(v) for c, v in extra["drops"].items()},
                       "records": recs})
    import PIL
    res = {
        "generator": "tools/make_eval_fixtures.py (tools/torch_eval.py's protocol)",
        "protocol": "docs/EVAL.md",
        "torch": torch.__version__, "numpy": np.__version__, "pillow": PIL.__version__,
        "model": "weights/ (the embedded vit_tiny_patch16_224.augreg_in21k_ft_in1k, F16, computed in float64)",
        "settings": {
            "dtype": "float64 (weights upcast; inputs normalised to float32 as the library does, then upcast)",
            "resize": "squash", "batch": 16, "seed": 0, "steps": te.STEPS, "blurRadius": te.BLUR_RADIUS,
            "boxSizes": boxes["sizes"], "boxesPerSize": te.BOXES_PER_SIZE, "compactness": te.COMPACT,
            "methods": te.METHODS,
            "smooth-cdam": {"samples": te.CDAM["samples"], "nu": te.CDAM["noise"], "seed": te.CDAM["seed"], "scale": "range"},
            "smooth-cdam-robust": {"samples": te.CDAM["samples"], "nu": te.CDAM["noise"], "seed": te.CDAM["seed"],
                                   "scale": f"robust: max - min over the tokens of X with norm <= {te.ROBUST_NORM_FACTOR} x median"},
            "integrated-cdam": {"steps": te.CDAM["steps"]},
            "smoothgrad": {"samples": te.BASE["sg_samples"], "noise": te.BASE["sg_noise"], "seed": te.BASE["seed"]},
            "smoothgrad-squared": {"samples": te.BASE["sg_samples"], "noise": te.BASE["sg_noise"], "seed": te.BASE["seed"]},
            "intgrad": {"steps": te.BASE["ig_steps"]},
            "expected-grad": {"samples": te.BASE["eg_samples"], "blur": 8, "shuffles": 3, "seed": te.BASE["seed"]},
            "attnlrp": {"variant": te.ATTNLRP["variant"], "gamma": te.ATTNLRP["gamma"], "patchGamma": te.ATTNLRP["patch_gamma"]},
        },
        "boxes": boxes,
        "manifest": manifest,
        "images": images,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in res.items() if k != "images"))
        f.write(',\n"images": [\n' + ",\n".join(json.dumps(e, separators=(",", ":")) for e in images) + "\n]\n}\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} B) in {time.perf_counter() - t_all:.0f} s")


def add_methods(model, cfg, methods):
    """The committed fixture with `methods` computed and their records added (replacing any earlier ones of theirs)."""
    unknown = [m for m in methods if m not in te.METHODS]
    if unknown:
        raise SystemExit(f"make_eval_fixtures: unknown methods {unknown} (tools/torch_eval.py METHODS)")
    with open(OUT) as f:
        res = json.load(f)
    pp = te.model_preprocess(cfg)
    boxes = res["boxes"]
    t_all = time.perf_counter()
    for img_entry in res["images"]:
        path = os.path.join(ROOT, img_entry["image"]) if not img_entry["shared"] else os.path.join(SHARED, os.path.basename(img_entry["image"]))
        if sha256(path) != img_entry["sha256"]:
            raise SystemExit(f"{path}: not the photo the fixture was made from (sha256 differs)")
        img = np.asarray(te.to_model_resolution(te.load_image(path), pp, "squash"), dtype=np.uint8)
        records, timing, _ = te.evaluate_image(model, pp, img, img_entry["targets"], methods, boxes, batch=16, round32=False)
        print(f"{img_entry['image']}: {timing['wall_s']:.0f} s", flush=True)
        kept = [r for r in img_entry["records"] if r["method"] not in methods]
        img_entry["records"] = kept + [r6({"image": img_entry["image"], "line": img_entry["line"], **{k: v for k, v in r.items() if k != "ms"}}) for r in records]
    res["settings"]["methods"] = te.METHODS
    res["settings"]["smoothgrad-squared"] = {"samples": te.BASE["sg_samples"], "noise": te.BASE["sg_noise"], "seed": te.BASE["seed"]}
    images = res["images"]
    with open(OUT, "w") as f:
        f.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in res.items() if k != "images"))
        f.write(',\n"images": [\n' + ",\n".join(json.dumps(e, separators=(",", ":")) for e in images) + "\n]\n}\n")
    print(f"added {', '.join(methods)} to {os.path.relpath(OUT, ROOT)} in {time.perf_counter() - t_all:.0f} s")


if __name__ == "__main__":
    main()
