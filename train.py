"""Spec 000's train.py: its reference network, trained with the flags the spec names.

    python train.py --lr 0.01 --batch_size 20 --init 1 --save_dir outputs/spec000/model

--init 1 is Xavier, 2 He; --batch_size is 1 or a multiple of 5. Training stops early on the
validation loss (patience 5). Writes SAVE_DIR/model.pth (the weights and biases),
SAVE_DIR/test_submission.csv (id,label, for Kaggle) and a numbered copy of it in Kaggle_subs/
beside SAVE_DIR; outputs/spec000/run.sh (written by report.py 000) holds the best setting.
"""
from fmnist.core.python_version import require  # first, so an old Python gets one clear line

require("train.py")

import sys

from fmnist.studies.reference_assignment import main

if __name__ == "__main__":
    sys.exit(main())
