#!/bin/bash
# A Slurm job array for `cdam eval`: each array task takes every n-th image of
# the manifest (cdam reads SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT and
# SLURM_ARRAY_TASK_MIN itself), writes its own folder, and can be requeued:
# a task that is killed or preempted resumes where it stopped.
#
#   sbatch docs/cluster/slurm-eval.sh
#   # when every task has finished:
#   npx cdam merge runs/shard-* --out runs/all
#
#SBATCH --job-name=cdam-eval
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --requeue
#SBATCH --output=runs/logs/%A_%a.log

set -euo pipefail
mkdir -p runs/logs
# one folder per task: the shard index is in run.json, the folder name is only for people
npx cdam eval \
  --manifest manifest.jsonl \
  --methods all \
  --model models/vit_tiny_patch16_224.augreg_in21k_ft_in1k \
  --out "runs/shard-${SLURM_ARRAY_TASK_ID}"
