#!/usr/bin/env bash
# The test-time register pictures of docs/TTR.md (docs/img/ttr_*.png): each
# photo without and with the register, on the shared ViT-Ti and DeiT-Ti
# (../shared, read only), with the register neurons committed in
# weights/test-time-registers/. Run after npm run build.
set -euo pipefail
cd "$(dirname "$0")/.."
cdam() { node build/src/cli/main.js "$@" --quiet; }
S=../shared/images
VIT=../shared/weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k
DEIT=../shared/weights/deit_tiny_patch16_224.fb_in1k
METHODS=attention,cdam,smooth-cdam,smooth-cdam-robust
pair() { # model tag photo out-name [explain options...]
  local model=$1 tag=$2 photo=$3 name=$4; shift 4
  cdam explain "$S/$photo" --model "$model" --method $METHODS --compare "$@" --out "docs/img/ttr_${tag}_${name}_without.png"
  cdam explain "$S/$photo" --model "$model" --test-time-register --method $METHODS --compare "$@" --out "docs/img/ttr_${tag}_${name}_with.png"
}
pair $VIT vit catcoffee_224.png catcoffee --target "Egyptian cat",espresso
pair $VIT vit chelsea.png chelsea --target "Egyptian cat"
pair $DEIT deit catcoffee_224.png catcoffee --target "Egyptian cat",espresso
