#!/usr/bin/env bash
# The pictures in docs/img/, made with the CLI and the embedded model from the
# sample photos (run after npm run build; nothing else needed).
set -euo pipefail
cd "$(dirname "$0")/.."
cdam() { node build/src/cli/main.js "$@" --quiet; }
# the README quick start: the classes of the two halves, so the maps show class discrimination
cdam explain examples/catcoffee_224.png --target "Egyptian cat",espresso --compare --out docs/img/quickstart.png
cdam explain examples/catcoffee_224.png --method attention,cdam,smooth-cdam,integrated-cdam \
  --target "Egyptian cat",espresso,285-967 --compare --out docs/img/catcoffee_all_methods.png
cdam explain examples/catcoffee_224.png --target 285-967 --out docs/img/catcoffee_cdam_cat_minus_espresso.png
cdam explain examples/catcoffee_224.png --method cdam,input-x-grad,smoothgrad,intgrad,expected-grad,gradcam,relevance,partial-lrp,rollout,attnlrp \
  --target "Egyptian cat",espresso,285-967 --compare --out docs/img/catcoffee_baselines.png
cdam explain examples/catcoffee_224.png --method attention --per-head --compare --out docs/img/catcoffee_attention_heads.png
cdam explain examples/catcoffee_224.png --method cdam --target "Egyptian cat",espresso --per-head --compare --out docs/img/catcoffee_cdam_heads.png
cdam explain examples/chelsea.png --method cdam,smooth-cdam --target "Egyptian cat" --compare --out docs/img/chelsea_cdam.png
cdam explain examples/chelsea.png --method cdam,smooth-cdam --target "Egyptian cat" --compare --clip-outliers --out docs/img/chelsea_cdam_clipped.png
