"""The assignment's two networks: their classes, the names the pages give them, and the recipe
each trains with (fashionmnist.py trains them with it, benchmark.py times it; the flags
--epochs, --batch-size, --lr, --patience and --precision override it through
`cli.settings`)."""
from cnn import Conv_Net
from ffn import FF_Net
from fmnist.core.training import TrainSettings

MODELS = {"ffn": FF_Net, "cnn": Conv_Net}
NAMES = {"ffn": "Feed-forward network (FF_Net)", "cnn": "Convolutional network (Conv_Net)"}
# The FFN trains on the images as they are: mirrored copies cost it accuracy (90.5 % without,
# 90.1 % with flips and flip averaging); the CNN gains from both.
RECIPES = {"ffn": TrainSettings(epochs=12, batch_size=256, lr=0.1, flip=False),
           "cnn": TrainSettings(epochs=11, batch_size=256, lr=0.2, flip=True)}
QUICK_EPOCHS = 2  # --quick: a smoke run
# What a study run trains with where its configuration sets nothing: no label smoothing (the
# studies compare plain cross-entropy), float32, and no early stopping unless the run asks for it
# (patience: the run's own epochs), and epochs of at least 32 optimizer steps (a training set of
# fewer than 32 batches is passed over several times an epoch), so that patience, the plateau's
# rate cuts and the ceiling allow as many steps to a run on 125 images as to one on 5,000. A run's
# configuration sets the rest (epochs, batch, rate, optimizer, ...), applied by the same
# cli.settings as the hand-in's flags.
STUDY_RECIPE = TrainSettings(epochs=60, batch_size=128, lr=0.05, label_smoothing=0.0, precision="fp32",
                             min_steps=32)
