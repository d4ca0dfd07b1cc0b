"""Spec 004 (a team report on Fashion-MNIST-1 and -2): items 3.1-3.5 in the spec's order,
answered from the `transfer`, `variants` and `pretrain` studies and the hand-in's outputs."""

import numpy as np
from torch import nn

from fmnist.core import plotting, stats, words
from fmnist.core.data import CLASSES
from fmnist.core.layers import summary_line
from fmnist.core.words import ci, number_words
from fmnist.reports.build import (
    Item,
    convergence_words,
    curve_words,
    handin_lines,
    mean_of,
    rows,
    study_figures,
    study_lines,
)
from fmnist.reports.spec004_upstream import (
    autoencoder,
    autoencoder_converged,
    encoder_copy,
    same_structure,
    source,
    tuning_answer,
    tuning_figures,
)
from fmnist.reports.spec004_variants import (
    base_info,
    feature_maps_answer,
    feature_maps_converged,
    feature_maps_figures,
    feature_maps_net,
    kept_table,
    lowest_test_loss,
    variants_answer,
    variants_table,
)
from fmnist.reports.sweeps import best_each, in_short, sweep_answer, sweep_figures
from fmnist.studies import figures, groups, sweep, variants
from fmnist.studies.networks import ConvAutoencoder, HalfCNN, VariantCNN
from fmnist.studies.pretrain import STUDY as PRETRAIN
from fmnist.studies.study import planned

T, P, V = "study:transfer", "study:pretrain", "study:variants"
HALF1_NAMES = [CLASSES[k] for k in sweep.HALF1]
# what each class is, for the hypothesis of why two classes are confused: (one of them, several)
GARMENT, FOOTWEAR = ("an upper-body garment", "upper-body garments"), ("footwear", "footwear")
KIND = {
    "T-shirt/top": GARMENT,
    "Trouser": ("legwear", "legwear"),
    "Pullover": GARMENT,
    "Dress": GARMENT,
    "Coat": GARMENT,
    "Sandal": FOOTWEAR,
    "Shirt": GARMENT,
    "Sneaker": FOOTWEAR,
    "Bag": ("a bag", "bags"),
    "Ankle boot": FOOTWEAR,
}


def _full(src, study: str = "transfer", start: str = "random") -> list[dict]:
    """The sweep's runs of `start` on all of the labelled Fashion-MNIST-1 data (100 %)."""
    return rows(src.studies[study]).get(f"{start} 100%", [])


def half_cnn_words(model: nn.Module) -> str:
    """A HalfCNN's layers in words, read off the module (fmnist/studies/networks.py)."""
    layers = list(model.features.children())
    convs = [(i, m) for i, m in enumerate(layers) if isinstance(m, nn.Conv2d)]
    ends = [i for i, _ in convs[1:]] + [len(layers)]

    def block(i, m, end):
        pooled = any(isinstance(layer, nn.MaxPool2d) for layer in layers[i:end])
        return f"{m.out_channels} ({m.kernel_size[0]}x{m.kernel_size[1]}{', 2x2 max-pooling' if pooled else ''})"
    drop = [m.p for m in model.classifier.modules() if isinstance(m, nn.Dropout)]
    fcs = [m.out_features for m in model.classifier.modules() if isinstance(m, nn.Linear)]
    return (f"conv {words.listing([block(i, m, end) for (i, m), end in zip(convs, ends)])} channels, each with batch "
            f"norm and ReLU, dropout {number_words(drop[0]) if drop else 0}, " + ", ".join(f"FC {n}" for n in fcs))


def network(src) -> str:
    r = _full(src)[0]
    return (
        f"HalfCNN (fmnist/studies/networks.py): {half_cnn_words(HalfCNN(len(sweep.HALF1)))}; "
        f"{r['parameters']:,} parameters, cross-entropy loss. It is the "
        "random-start network of the transfer study at 100 % of its labelled Fashion-MNIST-1 pool: "
        f"{r['sizes']['train']:,} training images ({r['sizes']['train'] // len(sweep.HALF1):,} a class; the fractions "
        f"of 3.4 and 3.5 are shares of this pool), validated on {r['sizes']['val']:,} and tested on "
        f"{r['sizes']['test']:,} images."
    )


def converged(src) -> str:
    return convergence_words(_full(src))


def curves(src):
    r = _full(src)[0]
    return [figures.curves_figure(f"HalfCNN on Fashion-MNIST-1 ({r['sizes']['train']:,} training images, the whole "
                                  f"pool), seed {r['config']['seed']}", {"HalfCNN": r["history"]})]


def curves_answer(src) -> str:
    """3.1.3: the curves of the figure read."""
    r = _full(src)[0]
    return f"Seed {r['config']['seed']}: " + curve_words(r["history"], r["best_epoch"])


def accuracies(src) -> str:
    runs = _full(src)
    return (
        f"Final accuracy (weights of the lowest validation loss), mean over {len(runs)} seeds: training "
        f"{ci(mean_of(runs, 'train_acc'))}, validation {ci(mean_of(runs, 'val_acc'))}, test "
        f"{ci(mean_of(runs, 'test_acc'))}."
    )


def _confusion(src) -> np.ndarray:
    return np.sum([np.asarray(r["test"]["confusion"]) for r in _full(src)], axis=0)


def confusion_figure(src):
    return [plotting.confusion_figure(f"HalfCNN on Fashion-MNIST-1, test set, summed over {len(_full(src))} seeds",
                                   _confusion(src), HALF1_NAMES, column=True)]


CONFUSED_PAIRS = 3  # the pairs of classes 3.1.5 reads


def confused_pairs(c: np.ndarray, names: list[str], top: int = CONFUSED_PAIRS) -> list[dict]:
    """The pairs of classes confused most, both ways together, most first: {"a", "b", "errors",
    "a_as_b", "b_as_a"} (a the class more often taken for the other); pairs without errors left out."""
    pairs = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if c[i, j] + c[j, i]:
                i_, j_ = (i, j) if c[i, j] >= c[j, i] else (j, i)
                pairs.append({"a": names[i_], "b": names[j_], "errors": int(c[i, j] + c[j, i]),
                              "a_as_b": int(c[i_, j_]), "b_as_a": int(c[j_, i_])})
    return sorted(pairs, key=lambda p: -p["errors"])[:top]


def why_confused(a: str, b: str) -> str:
    """A hypothesis for why two classes are confused, from what each is (KIND)."""
    if KIND[a] == KIND[b]:
        return (f"both are {KIND[a][1]}, whose 28x28 silhouettes share their outline; what tells them apart (a "
                "collar, a zip, a strap, the length of a sleeve or a shaft) is a few pixels of detail")
    return (f"{a} is {KIND[a][0]} and {b} {KIND[b][0]}: not alike in kind, so these errors are more likely unusual "
            "images of either class than a systematic likeness")


def confused(src) -> str:
    c = _confusion(src)
    errors = int(c.sum() - np.trace(c))
    pairs = confused_pairs(c, HALF1_NAMES)
    recall = np.diag(c) / np.maximum(c.sum(1), 1)
    worst = int(recall.argmin())
    seeds = len(_full(src))
    lines = [(f"Summed over the {seeds} seeds, " if seeds > 1 else "") + f"{errors:,} of {int(c.sum()):,} test "
             "predictions are wrong" + (". The pair of classes confused most, both ways together:" if len(pairs) == 1
                                        else f". The {len(pairs)} pairs of classes confused most, both ways together:"
                                        if pairs else ".")]
    lines += [f"- {p['a']} and {p['b']}: {p['errors']} errors, {100 * p['errors'] / max(errors, 1):.0f} % of all "
              f"({p['a_as_b']} {p['a']} taken for {p['b']}, {p['b_as_a']} the other way). Hypothesis: "
              f"{why_confused(p['a'], p['b'])}." for p in pairs]
    lines.append(f"Recall is lowest for {HALF1_NAMES[worst]} ({100 * recall[worst]:.1f} %), highest for "
                 f"{HALF1_NAMES[int(recall.argmax())]} ({100 * recall.max():.1f} %).")
    return "\n".join(lines)


def discussion(src) -> list[str]:
    """What the studies found, item by item, in computed sentences; then what they leave open."""
    out = ["What the measurements say, in short:"]
    if src.studies.get("variants"):
        records = planned(src.studies["variants"])
        best = groups.ranked(records, "val_loss")
        test = {row: mean_of(runs, "test_loss")["mean"] for row, runs in best}
        base = rows(src.studies["variants"])[variants.BASE_ROW]
        fall = stats.flipped(groups.difference(base, best[0][1], "val_loss"))  # > 0: the best row's loss is lower
        span = f"95 % CI {stats.bound(fall['low'], 4)} to {stats.bound(fall['high'], 4)}"
        out.append(f"- 3.2: tuning took the mean validation loss from {mean_of(base, 'val_loss')['mean']:.4f} "
                   f"({variants.BASE_ROW}) to {mean_of(best[0][1], 'val_loss')['mean']:.4f} ({best[0][0]}); paired by "
                   f"seed the fall is {fall['mean']:+.4f} ({span}): "
                   + ("beyond the seeds' spread" if stats.excludes_zero(fall) and fall["low"] > 0 else
                      "not beyond the seeds' spread") + ". The row best on validation was "
                   + ("also" if min(test, key=test.get) == best[0][0] else "not") + " the best on test (3.2.3).")
    for name, starts, item in (("pretrain", RANDOM_PRE, "3.4"), ("transfer", RANDOM_TRANS, "3.5")):
        if src.studies.get(name):
            out.append(f"- {item}: " + in_short(planned(src.studies[name]), starts))
    out += ["What they leave open: these are findings at each study's budget (set-up); python experiments.py NAME "
            "--budget spec uses every image. A difference not detected is not shown to be absent."]
    return out


# Each item's text word for word as spec 004 heads it (its slips included: they are the spec's).
SPEC_TEXT = {
    "3.1.1": "Implement a multi-class, convolutional neural network with cross-entropy loss for the "
             "Fashion-MNIST-1 data",
    "3.1.2": "Train your final model to convergence on the training set using an optimisation algorithm of your "
             "choice",
    "3.1.3": "Provide a plot of the loss on the training set and validation set for each epoch of training",
    "3.1.4": "Provide the final accuracy on the training, validation, and test set",
    "3.1.5": "Analyse the errors of your models by constructing a confusion matrix. Which classes are easily "
             "\"confused\" by the model? Hypothesise why",
    "3.2.1": "Implement a multi-class, convolutional neural network with cross-entropy loss for the "
             "Fashion-MNIST-1 data, then fill in the information regarding it into a table",
    "3.2.2": "Iteratively makemodifications to your model based on how your changes affect the validation loss, "
             "try to minimise it by producing nine additional variants. Note that you will need to construct one "
             "loss function without regularisation and one with regularisation, the former to obtain the loss to "
             "enter into your table and the latter to obtain your gradients, or your losses will not be comparable"
             " as you change the regulariser. It is also a good idea to plot the training and validation loss "
             "across epochs, rather than simply observing the final validation loss as the shape of the curves "
             "provide further insights into the model performance",
    "3.2.3": "Was the lowest test loss obtained for model with the lowest validation loss? If not, why do you "
             "think this was the case?",
    "3.3.1": "Implement a multi-class, convolutional neural network with cross-entropy loss for the "
             "Fashion-MNIST-1 data",
    "3.3.2": "Train your final model to convergence on the training set using an optimisation algorithm of your "
             "choice",
    "3.3.3": "Retrieve and visualise the feature maps for each layer of your convolutional neural network",
    "3.3.4": "Qualitatively analyse the feature maps and hypothesise what they capture and if possible – in "
             "particular for the deeper layers – associate them with the output classes",
    "3.4.1": "Implement a convolutional autoencoder with mean squared error loss for the Fashion-MNIST-1 and "
             "Fashion-MNIST-2 data",
    "3.4.2": "Train your model to convergence on the combined training, validation, and test set of "
             "Fashion-MNIST-2 and training set of Fashion-MNIST-1 using an optimisation algorithm of your choice",
    "3.4.3": "Implement a multi-class, multi-layer CNN with cross-entropy loss for the Fashion-MNIST-1 data, which"
             " shares the same structure as the encoder of your autoencoder",
    "3.4.4": "Compare using random weights to those from your autoencoder to initialise the multi-layer perceptron"
             " by plotting the training and validation loss for both options when you use 5%, 10%, . . . , 100% of"
             " the available Fashion-MNIST-1 training data to train your model. Is there a point where one "
             "initialisation option is superior to the other? Is one option always superior to the other?",
    "3.4.5": "Provide the final accuracy on the training, validation, and test set for the best model you obtained"
             " for each of the two initialisation strategies",
    "3.5.1": "Implement a multi-class, convolutional neural network with cross-entropy loss for the "
             "Fashion-MNIST-2 data",
    "3.5.2": "Iteratively tune your model structure and hyperparameters using the validation set of Fasion-MNIST-2"
             " data, until you arrive at a model performance you are comfortable with",
    "3.5.3": "Implement a multi-class, convolutional neural network with cross-entropy loss for the "
             "Fashion-MNIST-1 data, which shares the same structure as the one you used for the Fashion- MNIST-2 "
             "data",
    "3.5.4": "Compare using random weights to those obtained by training on Fashion-MNIST-2 – you should randomly "
             "re-initialise the classification layer though – to initialise the multi-class, convolutional neural "
             "network by plotting the training and validation loss for both options when you use 5%, 10%, . . . , "
             "100% of the available Fashion-MNIST-1 training data to train your model. Is there a point where one "
             "initialisation option is superior to the other? Is one option always superior to the other?",
    "3.5.5": "Provide the final accuracy on the training, validation, and test set for the best model you obtained"
             " for each of the two initialisation strategies",
}


RANDOM_PRE, RANDOM_TRANS = ("random", "pretrained"), ("random", "transferred")


def variant_line(src) -> str:
    """3.2's base network as the study built it (its first row's configuration)."""
    if not src.studies.get("variants"):
        return f"- VariantCNN (3.2-3.3), its default: {summary_line(VariantCNN(num_classes=len(sweep.HALF1)))}."
    r = rows(src.studies["variants"])[variants.BASE_ROW][0]
    return (f"- VariantCNN, the base of 3.2: {variants.network_words(r['config'])}; {r['parameters']:,} parameters; "
            "each "
            "variant changes one setting of the best so far (3.2-3.3).")


def setup(src) -> list[str]:
    """Introduction and set-up: what the report does, the data halves, the networks and the items
    each answers, the studies behind them, and where this differs from the spec, with why."""
    return (
        [
            "Introduction: spec 004 asks how far a CNN for half of Fashion-MNIST can be improved by tuning "
            "(3.1-3.3), and whether starting from an autoencoder's weights (3.4) or from a network trained on the "
            "other "
            "half (3.5) beats random weights when labels are few. Every answer here comes from studies that train "
            "each setting with 3 seeds until its validation loss stops falling (a run that reaches the epoch ceiling "
            "first is marked), and a difference is claimed only when the 95 % interval of the per-seed differences "
            "excludes zero."
        ]
        + handin_lines(src, with_cnn=False)
        + [
            "Fashion-MNIST-1 is classes "
            + words.listing(HALF1_NAMES)
            + " and Fashion-MNIST-2 classes "
            + words.listing([CLASSES[k] for k in sweep.HALF2])
            + ", each relabelled 0-4 and taken from the splits "
            "above.",
            "Networks (fmnist/studies/networks.py):",
            f"- HalfCNN: {summary_line(HalfCNN(len(sweep.HALF1)))}; 3.1, 3.4.3-3.4.5 and 3.5 (its conv part is "
            "exactly the autoencoder's encoder).",
            variant_line(src),
            f"- ConvAutoencoder: {summary_line(ConvAutoencoder())}; 3.4.1-3.4.2.",
            "Studies:",
        ]
        + [line for name in ("variants", "pretrain", "tuning", "transfer") for line in study_lines(src, name)]
        + [
            "Departures from the spec, and why:",
            "- Budgets: the studies train on stratified subsets of the training images (each budget line above says "
            "how many) so that each fits 2 cores; --budget spec uses every image. The conclusions are about these "
            "sizes.",
        ]
        + autoencoder_departure(src)
        + ["- One person's package, not a team's: the spec's division of work does not apply."]
    )


IMAGES_PER_CLASS = 7000  # Fashion-MNIST: 6,000 training and 1,000 test images of each class


def autoencoder_departure(src) -> list[str]:
    """The autoencoder's sample against the spec's data (Fashion-MNIST-1's training pool and all of
    Fashion-MNIST-2), from the pretrain study's upstream run."""
    results = src.studies.get("pretrain")
    upstream = [r for r in planned(results) if r["config"].get("kind") == "upstream"] if results else []
    if not upstream or not results.get("pool"):
        return []
    images, spec = upstream[0]["images"], results["pool"] + IMAGES_PER_CLASS * len(sweep.HALF2)
    if images >= spec:
        return []
    return [f"- The autoencoder (3.4.1-3.4.2) trains on {images:,} images, a stratified "
            f"{upstream[0]['config']['train_per_class']:,} a class of each half: {100 * images / spec:.0f} % of the "
            f"{spec:,} the spec's data holds (Fashion-MNIST-1's training images and all of Fashion-MNIST-2), so that "
            "it fits 2 cores; --budget spec trains it on all of them."]
ITEMS = [
    Item("3.1.1", "a CNN for Fashion-MNIST-1, cross-entropy", SPEC_TEXT["3.1.1"], (T,), lambda src: [], network),
    Item("3.1.2", "trained to convergence", SPEC_TEXT["3.1.2"], (T,), lambda src: [], converged),
    Item("3.1.3", "training and validation loss per epoch", SPEC_TEXT["3.1.3"], (T,), curves, curves_answer),
    Item("3.1.4", "final training, validation and test accuracy", SPEC_TEXT["3.1.4"], (T,), lambda src: [], accuracies),
    Item(
        "3.1.5",
        "confusion matrix; which classes are confused, and why",
        SPEC_TEXT["3.1.5"],
        (T,),
        confusion_figure,
        confused,
    ),
    Item("3.2.1", "the base CNN and its table", SPEC_TEXT["3.2.1"], (V,), variants_table, base_info),
    Item(
        "3.2.2",
        "variants that lower the validation loss, with their curves",
        SPEC_TEXT["3.2.2"],
        (V,),
        lambda src: kept_table(src) + study_figures(variants.STUDY, "variants_curves")(src),
        variants_answer,
    ),
    Item(
        "3.2.3",
        "was the lowest test loss the lowest-validation-loss model's?",
        SPEC_TEXT["3.2.3"],
        (V,),
        lambda src: [],
        lowest_test_loss,
    ),
    Item(
        "3.3.1",
        "a CNN for Fashion-MNIST-1 whose feature maps are inspected",
        SPEC_TEXT["3.3.1"],
        (V,),
        lambda src: [],
        feature_maps_net,
    ),
    Item("3.3.2", "trained to convergence", SPEC_TEXT["3.3.2"], (V,), lambda src: [], feature_maps_converged),
    Item("3.3.3", "feature maps of every layer", SPEC_TEXT["3.3.3"], (V,), feature_maps_figures, None),
    Item(
        "3.3.4",
        "what the feature maps capture, associated with classes",
        SPEC_TEXT["3.3.4"],
        (V,),
        lambda src: [],
        feature_maps_answer,
    ),
    Item(
        "3.4.1",
        "a convolutional autoencoder, mean squared error",
        SPEC_TEXT["3.4.1"],
        (P,),
        study_figures(PRETRAIN, "pretrain_autoencoder"),
        autoencoder,
    ),
    Item(
        "3.4.2",
        "trained to convergence on the combined sets",
        SPEC_TEXT["3.4.2"],
        (P,),
        lambda src: [],
        autoencoder_converged,
    ),
    Item("3.4.3", "a CNN with the encoder's structure", SPEC_TEXT["3.4.3"], (P,), lambda src: [], encoder_copy),
    Item(
        "3.4.4",
        "random against autoencoder weights, 5-100 % of the data",
        SPEC_TEXT["3.4.4"],
        (P,),
        sweep_figures("pretrain", RANDOM_PRE),
        sweep_answer("pretrain", RANDOM_PRE),
    ),
    Item(
        "3.4.5",
        "the best model of each initialisation: train, validation, test accuracy",
        SPEC_TEXT["3.4.5"],
        (P,),
        lambda src: [],
        best_each("pretrain", RANDOM_PRE),
    ),
    Item("3.5.1", "a CNN for Fashion-MNIST-2", SPEC_TEXT["3.5.1"], (T,), lambda src: [], source),
    Item(
        "3.5.2",
        "tuning on Fashion-MNIST-2's validation set",
        SPEC_TEXT["3.5.2"],
        ("study:tuning",),
        tuning_figures,
        tuning_answer,
    ),
    Item("3.5.3", "the same structure for Fashion-MNIST-1", SPEC_TEXT["3.5.3"], (T,), lambda src: [], same_structure),
    Item(
        "3.5.4",
        "random against transferred weights, 5-100 % of the data",
        SPEC_TEXT["3.5.4"],
        (T,),
        sweep_figures("transfer", RANDOM_TRANS),
        sweep_answer("transfer", RANDOM_TRANS),
    ),
    Item(
        "3.5.5",
        "the best model of each initialisation: train, validation, test accuracy",
        SPEC_TEXT["3.5.5"],
        (T,),
        lambda src: [],
        best_each("transfer", RANDOM_TRANS),
    ),
]
