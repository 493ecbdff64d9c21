#!/usr/bin/env bash
# The small Fashion-MNIST ViT of weights/fashion, from scratch, reproducible from
# its seeds: the canvases (tools/fashion-canvases.mjs, seeds 1 and 2), then
# cdam train (seed 0). Safe to stop at any time: run it again and it resumes from
# the last finished epoch, ending with the same weights as a run never stopped.
#   tools/train-fashion.sh [WORK_DIR]     (default /tmp/cdam-fashion; npm run train:small)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/cdam-fashion}
mkdir -p "$work"
[ -d "$work/train" ] || node "$repo/tools/fashion-canvases.mjs" single --split train --out "$work/train" --seed 1
[ -d "$work/test" ] || node "$repo/tools/fashion-canvases.mjs" single --split test --out "$work/test" --seed 2
args=(train "$work/train" --arch "$repo/weights/fashion/arch.json" --out "$work/run"
  --epochs 12 --batch 64 --lr 1e-3 --warmup 1 --weight-decay 0.05 --label-smoothing 0.1 --val 0.05 --seed 0)
[ -f "$work/run/checkpoint.safetensors" ] && args+=(--resume)
node "$repo/build/src/cli/main.js" "${args[@]}"
