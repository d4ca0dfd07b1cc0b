"""Spec 004 (a team report on Fashion-MNIST-1 and -2): items 3.1-3.5 in the spec's order,
answered from the `transfer`, `variants` and `pretrain` studies and the hand-in's outputs."""


from fmnist.core import stats, words
from fmnist.core.data import CLASSES
from fmnist.core.layers import summary_line
from fmnist.reports.build import (
    Item,
    handin_lines,
    mean_of,
    rows,
    study_figures,
    study_lines,
)
from fmnist.reports.spec004_base import (
    HALF1_NAMES,
    accuracies,
    confused,
    confusion_figure,
    converged,
    curves,
    curves_answer,
    network,
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
    class_maps_visuals,
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
from fmnist.studies import groups, sweep, variants
from fmnist.studies.networks import ConvAutoencoder, HalfCNN, VariantCNN
from fmnist.studies.pretrain import STUDY as PRETRAIN
from fmnist.studies.study import planned

T, P, V = "study:transfer", "study:pretrain", "study:variants"
def discussion(src) -> list[str]:
    """What the studies found, item by item, in computed sentences; then what they leave open."""
    out = ["What the measurements say, in short:"]
    if src.studies.get("variants"):
        records = planned(src.studies["variants"])
        best = groups.ranked(records, "val_loss")
        test = {row: mean_of(runs, "test_loss")["mean"] for row, runs in best}
        base = rows(src.studies["variants"])[variants.BASE_ROW]
        fall = stats.flipped(groups.difference(base, best[0][1], "val_loss"))  # > 0: the best row's loss is lower
        out.append(f"- 3.2: tuning took the mean validation loss from {mean_of(base, 'val_loss')['mean']:.4f} "
                   f"({variants.BASE_ROW}) to {mean_of(best[0][1], 'val_loss')['mean']:.4f} ({best[0][0]}); paired by "
                   f"seed the fall is {fall['mean']:+.4f} (95 % CI {stats.span(fall, 4)}): "
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
    upstream = sweep.upstream_record(planned(results)) if results else None
    if upstream is None or not results.get("pool"):
        return []
    images, spec = upstream["images"], results["pool"] + IMAGES_PER_CLASS * len(sweep.HALF2)
    if images >= spec:
        return []
    return [f"- The autoencoder (3.4.1-3.4.2) trains on {images:,} images, a stratified "
            f"{upstream['config']['train_per_class']:,} a class of each half: {100 * images / spec:.0f} % of the "
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
        lambda src: study_figures(variants.STUDY, "variants_curves")(src) + kept_table(src),  # floats first, as 3.4.4
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
        class_maps_visuals,
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
