#!/usr/bin/env bash
# Spec 000's best setting: Xavier, lr 0.05, the run of lowest validation loss (0.4565, seed 1) of the 15 runs of python experiments.py reference.
# --batch_size 130 (the study's batch 128 rounded to the spec's rule); early stopping on the validation loss, patience 5.
# Every training image: hours on 2 cores, minutes on a GPU; add --train_per_class N for a stratified subset.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=python; [ -x .venv/bin/python ] && PY=.venv/bin/python  # make's virtual environment, where there is one
"$PY" train.py --lr 0.05 --batch_size 130 --init 1 --save_dir outputs/spec000/model "$@"
