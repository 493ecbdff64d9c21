#!/bin/bash
# A Slurm job array for `cdam eval`: each array task takes every n-th image of
# the manifest (cdam reads SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT and
# SLURM_ARRAY_TASK_MIN itself), writes its own folder, and can be requeued:
# a task that is killed or preempted resumes where it stopped.
#
# Submit from the directory that holds the run (Slurm opens the log there,
# before this script starts, so it must be an existing directory):
#
#   sbatch docs/cluster/slurm-eval.sh
#   # when every task has finished:
#   npx cdam merge runs/shard-* --out runs/all
#
# Settings (environment variables; sbatch passes the caller's environment):
#   CDAM_MANIFEST   manifest file            (default manifest.jsonl)
#   CDAM_METHODS    comma list of methods    (default all)
#   CDAM_MODEL      model folder             (default: the embedded ViT-Ti/16)
#   CDAM_OUT        folder of the shard dirs (default runs)
#   CDAM_EVAL_ARGS  more `cdam eval` options, e.g. "--steps 10 --workers 1"
#   CDAM_CLI        the command that runs cdam (default: build/src/cli/main.js
#                   of a built clone in the submission directory, else `npx --no-install cdam`)
# Options on the sbatch line override the #SBATCH lines below, e.g.
#   sbatch --array=0-1 --mem=2G docs/cluster/slurm-eval.sh
#
#SBATCH --job-name=cdam-eval
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --requeue
#SBATCH --output=cdam-eval-%A_%a.log

set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"
if [ -z "${CDAM_CLI:-}" ]; then
  if [ -f build/src/cli/main.js ]; then CDAM_CLI="node build/src/cli/main.js"; else CDAM_CLI="npx --no-install cdam"; fi
fi
model=()
if [ -n "${CDAM_MODEL:-}" ]; then model=(--model "$CDAM_MODEL"); fi
# one folder per task: the shard index is in run.json, the folder name is only for people
# shellcheck disable=SC2086 # CDAM_CLI and CDAM_EVAL_ARGS are word lists
$CDAM_CLI eval \
  --manifest "${CDAM_MANIFEST:-manifest.jsonl}" \
  --methods "${CDAM_METHODS:-all}" \
  "${model[@]}" \
  ${CDAM_EVAL_ARGS:-} \
  --out "${CDAM_OUT:-runs}/shard-${SLURM_ARRAY_TASK_ID}"
