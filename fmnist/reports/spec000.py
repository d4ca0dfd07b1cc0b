"""Spec 000 (the reference CNN): its report items (section 1.3) in the spec's order, answered
from the `reference` study and analyze.py's analysis.json."""
from fmnist.core import plotting
from fmnist.core.assignment import MODELS
from fmnist.core.layers import summary_line
from fmnist.core.words import ci, sentence, share, training_words
from fmnist.reports import batch_norm, submission
from fmnist.reports.build import (
    Item,
    curve_words,
    handin_lines,
    mean_of,
    rows,
    study_figures,
    study_lines,
)
from fmnist.reports.spec000_seeing import best_model, filters, fooling, fooling_figure, guided, guided_figure
from fmnist.studies import figures, groups, reference, reference_assignment
from fmnist.studies.networks import ReferenceNet
from fmnist.studies.study import planned
from fmnist.studies.tables import report_table

R = "study:reference"
FOLDER = "experiments/reference"
TARGET = 96.0  # the spec's test accuracy target (%)


def _records(src) -> list[dict]:
    return planned(src.studies["reference"])


def _table(src):
    return report_table(reference.STUDY, src.studies["reference"])


def configuration(src) -> str:
    records = _records(src)
    b = best_model(src)
    c = b["config"]
    by = rows(src.studies["reference"])
    acc = 100 * b["test"]["accuracy"]
    gap = acc - TARGET
    pool = src.studies["reference"].get("pool")
    images = f"{b['sizes']['train']:,} training images" + (f" ({share(b['sizes']['train'], pool)})" if pool else "")
    return (
        conv_net_target(src)
        + f"Spec 000's reference network, the experiment this item asks for, at the default budget of {images}: its "
        f"best run is {groups.row_of(c)} (seed {c['seed']}), the lowest validation loss of all "
        f"{sum(len(runs) for runs in by.values())} runs. Its setting: {training_words(c)} (best epoch "
        f"{b['best_epoch']} of {len(b['history'])} run), batch norm on the logits {'on' if c['batch_norm'] else 'off'}."
        + batch_rule(c["batch_size"]) + "\n"
        f"The {len(by)} learning-rate, initialisation and batch-norm settings tried are in the table below, "
        "each over its seeds.\n"
        f"{sentence(groups.best_line(records, 'val_loss'))}.\n"
        f"The 96 % target: this run reaches {acc:.2f}% on the test set, {abs(gap):.2f} points "
        f"{'above' if gap >= 0 else 'below'} it, after {len(b['history'])} epochs on {b['sizes']['train']:,} images; "
        "python experiments.py reference --budget spec trains on every image."
    )


def batch_rule(batch: int) -> str:
    """What the spec's batch-size rule (1 or a multiple of 5) makes of the study's batch in run.sh."""
    if batch == 1 or batch % 5 == 0:
        return ""
    return (f" Its batch of {batch} is not one train.py accepts (the spec allows 1 or a multiple of 5), so "
            f"run.sh uses {reference_assignment.spec_batch(batch)}, the nearest it allows.")


def conv_net_target(src) -> str:
    """The package's best model, its own Conv_Net, against the 96 % target: spec 000 allows any
    network of at most 5 conv and 3 fully connected layers, and Conv_Net (3 conv, 2 fully
    connected) is one; its recipe, from metrics.json. Empty before fashionmnist.py has run."""
    cnn = (src.metrics or {}).get("networks", {}).get("cnn")
    if not cnn:
        return ""
    acc = 100 * cnn["test"]["accuracy"]
    return (
        f"Best performing model: the hand-in's Conv_Net (3 conv, 2 fully connected layers, within the spec's limit of "
        f"5 and 3; {cnn['parameters']['total']:,} parameters), trained by fashionmnist.py on all "
        f"{src.metrics.get('sizes', {}).get('train', 55000):,} training images: {acc:.2f}% on the test set, "
        f"{abs(acc - TARGET):.2f} points {'above' if acc >= TARGET else 'below'} the 96 % target. Its setting: "
        f"{training_words(cnn.get('config', {}))}.\n"
    )


def curve(src) -> str:
    b = best_model(src)
    h = b["history"]
    per = len(b["iterations"]) // len(h)
    val = [e["val_loss"] for e in h]
    low = min(val)
    swings = [k for k, v in enumerate(val[:b["best_epoch"]]) if v > 2 * low]  # epochs far above the best
    plotted = [v for v in b["iterations"] + val if v > 0]
    spike = (
        f" The y axis is logarithmic because the plotted losses span about {max(plotted) / min(plotted):.0f}-fold "
        f"(training {min(b['iterations']):.3f}-{max(b['iterations']):.2f}, validation {low:.2f}-{max(val):.2f}): "
        "over epochs "
        f"1-{swings[-1] + 1} the validation loss swings between {min(val[: swings[-1] + 1]):.2f} and {max(val):.1f} "
        f"while the training loss, in training mode, falls smoothly; a likely cause is that evaluation mode uses "
        "batch norm's running statistics, which lag weights that still change fast at this learning rate."
        if figures.spiky(b["iterations"] + val) and swings
        else ""
    )
    return (f"{len(b['iterations'])} iterations ({len(h)} epochs of {per} batches): "
            + curve_words(h, b["best_epoch"]) + spike)


def test_performance(src) -> str:
    b = best_model(src)
    runs = rows(src.studies["reference"])[groups.row_of(b["config"])]
    cnn = (src.metrics or {}).get("networks", {}).get("cnn")
    beside = ""
    if cnn:
        val = submission.kept_val_acc(cnn)
        images = (src.metrics.get("sizes") or {}).get("train")
        beside = (" Of every network in the package, the one best on validation is the hand-in's Conv_Net "
                  f"({100 * val:.2f}% validation accuracy, {100 * cnn['test']['accuracy']:.2f}% on test"
                  + (f", trained on {images:,} images" if images else "")
                  + "); its predictions are the Kaggle file named in the set-up.")
    return (f"The reference network's run best on validation, by the lowest validation loss "
            f"({b['val']['loss']:.4f}; validation accuracy {100 * b['val']['accuracy']:.2f}%; "
            f"{groups.row_of(b['config'])}, seed {b['config']['seed']}): test accuracy "
            f"{100 * b['test']['accuracy']:.2f}%, test loss "
            f"{b['test']['loss']:.4f} on {b['sizes']['test']:,} test images. Its row over seeds: test accuracy "
            f"{ci(mean_of(runs, 'test_acc'))}." + beside)


def _layer_table(src) -> dict:
    return next(r["extras"]["layer_table"] for r in _records(src) if "layer_table" in r.get("extras", {}))


def dimensions(src) -> str:
    """1.3.4 in a sentence that reads the table under it: where the image enters, what the
    convolutions and poolings make of it, what the fully connected layers take and give."""
    layers = _layer_table(src)["layers"]
    shape = lambda s: " x ".join(map(str, s))  # noqa: E731
    name = lambda layer: layer["name"].split(".")[-1]  # noqa: E731
    convs = [layer for layer in layers if layer.get("kind") == "conv"]
    pools = [layer for layer in layers if layer.get("kind") == "pool"]
    flat = next((layer for layer in layers if len(layer["input"]) == 1), None)
    same = all(c["input"][1:] == c["output"][1:] for c in convs)
    return (f"The table gives every layer's input and output (channels x height x width, per image). The image enters "
            f"{name(layers[0])} as {shape(layers[0]['input'])}; the {len(convs)} conv layers "
            + ("keep its height and width " if same else "")
            + f"and the {len(pools)} poolings halve them (rounding down)"
            + (f", so {name(flat)} takes {flat['input'][0]:,} values ({shape(pools[-1]['output'])} flattened)"
               if flat and pools else "")
            + f", and {name(layers[-1])} gives the {shape(layers[-1]['output'])} outputs.")


def parameters(src) -> str:
    t = _layer_table(src)["totals"]
    total = t["total"]["parameters"]
    conv, fc = t["convolutional"]["parameters"], t["fully connected"]["parameters"]
    return (f"Exactly {total:,} parameters: {conv:,} in the convolutional layers ({100 * conv / total:.1f}%) and "
            f"{fc:,} in the fully connected layers ({100 * fc / total:.1f}%), batch norm's scale and shift counted "
            "with the layer they follow. Counted from the trained network's tensors (fmnist/core/layers.py).")


def neurons(src) -> str:
    table = _layer_table(src)
    t = table["totals"]
    total = t["total"]["neurons"]
    return (f"Exactly {total:,} neurons: {t['convolutional']['neurons']:,} in the convolutional layers and "
            f"{t['fully connected']['neurons']:,} in the fully connected layers. Here {table['definition']}.")


def code_lines(src) -> list[str]:
    """The report's last section: spec 000's code and the Kaggle files it and report.py wrote."""
    return (["python train.py --lr LR --batch_size B --init 1|2 --save_dir DIR trains the reference network with the "
             "spec's flags and writes DIR/model.pth, DIR/test_submission.csv (id,label) and a numbered copy in "
             "Kaggle_subs/; outputs/spec000/run.sh holds the best setting of 1.3.1, as a command."]
            + submission.submission_lines(src))


def setup(src) -> list[str]:
    """The report's set-up: data, the networks and the items each answers, the study behind them,
    and where this differs from the spec, with why."""
    records = _records(src) if src.studies.get("reference") else []
    images = sorted({r["sizes"]["train"] for r in records if r.get("sizes")})
    return (
        handin_lines(src)
        + [
            "Networks:",
            "- the spec's reference network: "
            f"{summary_line(ReferenceNet())}, "
            "the 10 logits through batch norm before the softmax; it answers 1.3.1-1.3.9.",
            f"- the hand-in's Conv_Net (cnn.py): {summary_line(MODELS['cnn']())}, trained by fashionmnist.py; it "
            "answers 1.3.10 (with the hand-in's FFN, analyze.py) and is set against the 96 % target in 1.3.1.",
            "Study:",
        ]
        + study_lines(src, "reference")
        + [
            "Departures from the spec, and why:",
            "- PyTorch, not TensorFlow: the package is PyTorch throughout; the layers, their sizes, the batch norm "
            "before the softmax, the initialisations and the learning rates tried are the spec's.",
            "- One input channel, not three: Fashion-MNIST is grey, so CONV1 takes 1 channel where the spec's "
            "images have 3 (RGB); FC1 then takes the flattened 256 x 3 x 3 = 2,304 values of CONV4's pooled output "
            "on 28 x 28 images, not the spec's 256 inputs.",
            "- The split: the package's own 55,000 training / 5,000 validation images (seed 0), not PA1's; the "
            "study's runs train on a stratified subset of the first"
            + (f" and validate on a stratified {records[0]['sizes']['val']:,} of the second" if records else "")
            + ".",
            "- 1.3.9 asks for CONV5, which the reference network (four conv layers) does not have; guided "
            "backpropagation runs on its last conv layer, CONV4.",
            (
                f"- The default budget trains the reference network on {images[0]:,} training images a run"
                if images
                else "- The default budget trains the reference network on a subset of the training images"
            )
            + " (stratified, drawn per seed), not on every image, so that its runs fit 2 cores; python experiments.py "
            "reference --budget spec runs the spec's protocol on every image (hours on 2 cores, a GPU job).",
        ]
    )


ITEMS = [
    Item(
        "1.3.1",
        "configuration of the best model, the setting that gave it (lr x init trials, the 96 % target)",
        "Configuration and training details of your best performing model; the parameter setting which gave you the "
        "best results (experiment with learning rate and initialisations, Xavier and He; the task is 96 % on the "
        "test data).",
        (R,),
        _table,
        configuration,
    ),
    Item(
        "1.3.2",
        "learning curve over iterations, training and validation loss",
        "A plot of the learning curve showing "
        "iterations on the x-axis and negative log likelihood over labels on the y-axis, training and validation "
        "loss on a single plot.",
        (R,),
        study_figures(reference.STUDY, "reference_curve"),
        curve,
    ),
    Item(
        "1.3.3",
        "test performance of the model best on validation",
        "The performance on the test data of the model that performs best on the validation data.",
        (R,),
        lambda src: [],
        test_performance,
    ),
    Item(
        "1.3.4",
        "dimensions of the input and output at each layer",
        "Write down the dimensions of the input and output at each layer.",
        (R,),
        lambda src: [plotting.layer_table_figure("Spec 000's reference network", _layer_table(src), "")],
        dimensions,
    ),
    Item(
        "1.3.5",
        "exact parameter count, conv and FC",
        "Exactly how many parameters does your network have? How many "
        "of these are in the fully connected layers and how many are in the convolutional layers?",
        (R,),
        lambda src: [],
        parameters,
    ),
    Item(
        "1.3.6",
        "exact neuron count, conv and FC",
        "Exactly how many neurons does your network have? How many of "
        "these are in the fully connected layers and how many are in the convolutional layers?",
        (R,),
        lambda src: [],
        neurons,
    ),
    Item(
        "1.3.7",
        "the effect of batch normalisation",
        "What was the effect of using batch normalization?",
        (R,),
        batch_norm.batch_norm_figure,
        batch_norm.batch_norm,
    ),
    Item(
        "1.3.8",
        "the 64 CONV1 filters in an 8x8 grid, their patterns",
        "Plot all the 64 layer 1 filters in an 8x8 grid. Do you observe any interesting patterns?",
        (R,),
        study_figures(reference.STUDY, "reference_best_filters"),
        filters,
    ),
    Item(
        "1.3.9",
        "guided backpropagation on 10 neurons",
        "Apply guided back propagation on any 10 neurons in the CONV5 "
        "layer and plot the images which excite this neuron.",
        (R,),
        guided_figure,
        guided,
    ),
    Item(
        "1.3.10",
        "fooling: accuracy against pixels changed (extra credit)",
        "Find ways to fool the network, e.g. "
        "change some pixels so that the class changes; plot accuracy against the number of pixels changed on the "
        "test set.",
        ("analysis",),
        fooling_figure,
        fooling,
    ),
]
