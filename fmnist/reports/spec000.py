"""Spec 000 (the reference CNN): its report items (section 1.3) in the spec's order, answered
from the `reference` study and analyze.py's analysis.json."""
import numpy as np

from fmnist.core import plotting, stats, storage
from fmnist.core.assignment import MODELS
from fmnist.core.layers import summary_line
from fmnist.core.storage import NULL, NUMBER
from fmnist.core.words import ci, listing, sentence, training_words
from fmnist.reports.build import (
    Item,
    curve_words,
    handin_lines,
    kernel_words,
    mean_of,
    rows,
    study_figures,
    study_lines,
)
from fmnist.reports.latex import TEXT_INCHES
from fmnist.studies import figures, groups, reference, reference_assignment
from fmnist.studies.networks import ReferenceNet
from fmnist.studies.study import planned
from fmnist.studies.tables import summary_table, table_notes

R = "study:reference"
FOLDER = "experiments/reference"
TARGET = 96.0  # the spec's test accuracy target (%)


def _records(src) -> list[dict]:
    return planned(src.studies["reference"])


def _best(src) -> dict:
    return reference.best_run(_records(src))


def _table(src):
    titles, body = summary_table(reference.STUDY, src.studies["reference"])
    notes = table_notes(reference.STUDY, src.studies["reference"])
    return figures.table_figures(reference.STUDY.title, titles, body, notes)


def configuration(src) -> str:
    records = _records(src)
    b = _best(src)
    c = b["config"]
    by = rows(src.studies["reference"])
    trials = "; ".join(f"{row}: validation loss {mean_of(runs, 'val_loss')['mean']:.4f}, accuracy "
                       f"{mean_of(runs, 'val_acc')['mean']:.2f}%" for row, runs in by.items())
    acc = 100 * b["test"]["accuracy"]
    gap = acc - TARGET
    return (
        f"Best model: {groups.row_of(c)} (seed {c['seed']}), chosen as the run of lowest validation loss of all "
        f"{sum(len(runs) for runs in by.values())} runs. Its setting: {training_words(c)} (best epoch "
        f"{b['best_epoch']} of "
        f"{len(b['history'])} run), batch norm on the logits {'on' if c['batch_norm'] else 'off'}, "
        f"{b['sizes']['train']:,} training images." + batch_rule(c["batch_size"]) + "\n"
        f"The learning-rate and initialisation trials, mean over seeds: {trials}.\n"
        f"{sentence(groups.best_line(records, 'val_loss'))}.\n"
        f"The 96 % target: this model reaches {acc:.2f}% on the test set, {abs(gap):.2f} points "
        f"{'above' if gap >= 0 else 'below'} it, after {len(b['history'])} epochs on {b['sizes']['train']:,} images "
        f"(the default budget); python experiments.py reference --budget spec trains on every image."
        + conv_net_target(src)
    )


def batch_rule(batch: int) -> str:
    """What the spec's batch-size rule (1 or a multiple of 5) makes of the study's batch in run.sh."""
    if batch == 1 or batch % 5 == 0:
        return ""
    return (f" Its batch of {batch} is not one train.py accepts (the spec allows 1 or a multiple of 5), so "
            f"run.sh uses {reference_assignment.spec_batch(batch)}, the nearest it allows.")


def conv_net_target(src) -> str:
    """The package's own Conv_Net against the 96 % target: spec 000 allows any network of at most
    5 conv and 3 fully connected layers, and Conv_Net (3 conv, 2 fully connected) is one."""
    cnn = (src.metrics or {}).get("networks", {}).get("cnn")
    if not cnn:
        return ""
    acc = 100 * cnn["test"]["accuracy"]
    return (
        f"\nWithin the spec's limits (at most 5 conv and 3 fully connected layers), the hand-in's Conv_Net "
        f"(3 conv, 2 fully connected layers, {cnn['parameters']['total']:,} parameters), trained by fashionmnist.py "
        "on all "
        f"{src.metrics.get('sizes', {}).get('train', 55000):,} training images, reaches {acc:.2f}% on the test set: "
        f"{abs(acc - TARGET):.2f} points {'above' if acc >= TARGET else 'below'} the 96 % target."
    )


def curve(src) -> str:
    b = _best(src)
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
    b = _best(src)
    runs = rows(src.studies["reference"])[groups.row_of(b["config"])]
    cnn = (src.metrics or {}).get("networks", {}).get("cnn")
    beside = ""
    if cnn:
        val = kept_val_acc(cnn)
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
    t = _layer_table(src)
    shape = lambda s: " x ".join(map(str, s))  # noqa: E731
    steps = [f"input {shape(t['layers'][0]['input'])}"] + [f"{layer['name'].split('.')[-1]} {shape(layer['output'])}"
                                                            for layer in t["layers"]]
    return "Input and output of each layer, channels x height x width: " + " -> ".join(steps) + "."


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


def batch_norm(src) -> str:
    by = rows(src.studies["reference"])
    out = []
    on, off = (by.get(r) for r in BN_ROWS)
    if on and off:
        budget = groups.budget(on + off)  # the epochs both rows ran
        for measure, unit, higher in (("test_acc", " points", True), ("val_loss", "", False)):
            d = groups.difference(off, on, measure)
            digits = 2 if unit else 4
            seeds = lambda runs: ", ".join(f"{v:.{digits}f}" for v in groups.per_seed(runs, measure).values())  # noqa: E731
            out.append(f"{groups.MEASURES[measure][0]} with batch norm on the logits (He, lr 0.05) "
                       f"{ci(mean_of(on, measure), digits, '' if not unit else '%')} (per seed {seeds(on)}), without "
                       f"{ci(mean_of(off, measure), digits, '' if not unit else '%')} (per seed {seeds(off)}): "
                       + stats.verdict(d, "without", "with", unit=unit, higher_is_better=higher, budget=budget)
                       + groups.caveat({"with": on, "without": off}) + ".")
        a, b = groups.per_seed(off, "test_acc"), groups.per_seed(on, "test_acc")
        wins = sum(b[s] > a[s] for s in a if s in b)
        out.append(f"Seed by seed, batch norm is ahead in {wins} of {len(set(a) & set(b))} pairs on test accuracy."
                   + collapse(on, "with batch norm") + collapse(off, "without batch norm"))
        if all("val_loss" in e for r in on + off for e in r["history"]):  # curves recorded
            out.append(batch_norm_curves(on, off))
    elif on:
        out.append("Every run without batch norm diverged.")
    return "\n".join(out)


BN_ROWS = ("He, lr 0.05", "He, lr 0.05, no batch norm")


def batch_norm_figure(src) -> list:
    """Both rows' training and validation curves, each row's first seed."""
    by = rows(src.studies["reference"])
    if not all(by.get(r) for r in BN_ROWS):
        return []
    first = lambda runs: min(runs, key=lambda r: r["config"]["seed"])  # noqa: E731
    on, off = (first(by[r]) for r in BN_ROWS)
    return [figures.curves_figure(f"Reference network, He, lr 0.05, seed {on['config']['seed']}: with and without "
                                  "batch norm on the logits", {"with batch norm": on["history"],
                                                               "without": off["history"]})]


def batch_norm_curves(on: list[dict], off: list[dict]) -> str:
    """The figure read: when each row reached its lowest validation loss and the gap to the training
    loss there (means over seeds); then a mechanism, hedged, only where the gap points to one."""
    def at_best(runs: list[dict]) -> tuple[float, float]:
        best = [r["history"][r["best_epoch"] - 1] for r in runs]
        return (float(np.mean([r["best_epoch"] for r in runs])),
                float(np.mean([e["val_loss"] - e["train_loss"] for e in best])))
    (epoch_on, gap_on), (epoch_off, gap_off) = at_best(on), at_best(off)
    read = (f"The figure shows one seed's curves; over all {len(on)} seeds (means), the lowest validation loss comes "
            f"at epoch {epoch_on:.1f} with batch norm and {epoch_off:.1f} without, where the validation loss sits "
            f"{gap_on:+.3f} from the training loss with it and {gap_off:+.3f} without.")
    early = min(EARLY, *(len(r["history"]) for r in on + off))
    fall_on, fall_off = (float(np.mean([r["history"][early - 1]["train_loss"] for r in runs])) for runs in (on, off))
    if fall_on < fall_off:
        read += (f" The training loss falls faster with it: {fall_on:.3f} against {fall_off:.3f} after epoch {early}, "
                 "the usual sign of an easier optimisation.")
    if gap_on < gap_off:
        return read + (" The smaller gap fits a regularising effect. A likely mechanism, not tested on its own here: "
                       "normalising the 10 logits over each batch holds their scale, and so the softmax's confidence, "
                       "in check while the weights grow.")
    return read + (" The gap is not smaller with batch norm, so these curves show no regularising effect"
                   + ("; a likely mechanism for the faster fall, not tested on its own here: rescaling the 10 logits "
                      "over each batch keeps their gradients well scaled whatever the scale the weights have reached."
                      if fall_on < fall_off else "; these curves do not pin down what batch norm on the logits does."))


EARLY = 3  # the epoch after which the training losses are compared, for how fast each row starts


COLLAPSE = 15.0  # points of test accuracy below a row's best seed that make a seed's run a collapse


def collapse(runs: list[dict], name: str) -> str:
    """A sentence when a seed of the row collapsed (COLLAPSE points or more below its best seed):
    the spread of the row is then instability, not noise around one mean."""
    acc = groups.per_seed(runs, "test_acc")
    top = max(acc.values())
    low = {s: v for s, v in acc.items() if v <= top - COLLAPSE}
    if not low:
        return ""
    return (
        f" Instability {name}: seed{'s' if len(low) > 1 else ''} "
        + ", ".join(f"{s} ({v:.2f}%)" for s, v in low.items())
        + f" collapsed, against {top:.2f}% for its best seed, so that row's interval measures the collapse more than "
        "an average."
    )


def filter_patterns(filters: np.ndarray) -> dict:
    """Counts of the 3x3 filters by pattern: same-sign blobs against mixed-sign (edge-like)
    ones, and each edge-like filter's orientation by its largest correlation with a vertical,
    horizontal or diagonal edge template (Sobel-like)."""
    templates = {
        "vertical": np.array([[-1, 0, 1]] * 3, float),
        "horizontal": np.array([[-1] * 3, [0] * 3, [1] * 3], float),
        "diagonal /": np.array([[0, 1, 1], [-1, 0, 1], [-1, -1, 0]], float),
        "diagonal \\": np.array([[1, 1, 0], [1, 0, -1], [0, -1, -1]], float),
    }
    out = {"filters": len(filters), "blob": 0, "edge": 0, **{k: 0 for k in templates}}
    for w in filters:
        w = np.asarray(w, float) - 0.0
        if abs(w.sum()) > 0.5 * np.abs(w).sum():
            out["blob"] += 1
            continue
        out["edge"] += 1
        z = (w - w.mean()) / (w.std() + 1e-12)
        corr = {k: abs(float((z * (t - t.mean()) / t.std()).mean())) for k, t in templates.items()}
        out[max(corr, key=corr.get)] += 1
    return out


RANDOM_DRAWS = 200  # stacks of Gaussian kernels the filter counts are set against


def filters(src) -> str:
    kernels = np.asarray(_best(src)["extras"]["first_filters"])
    p = filter_patterns(kernels)
    kinds = sorted(("vertical", "horizontal", "diagonal /", "diagonal \\"), key=lambda k: -p[k])
    rng = np.random.default_rng(0)
    blobs = [filter_patterns(rng.standard_normal(kernels.shape))["blob"] for _ in range(RANDOM_DRAWS)]
    low, high = np.percentile(blobs, [2.5, 97.5])
    where = "more than" if p["blob"] > high else "fewer than" if p["blob"] < low else "as many as"
    return (f"Of the {p['filters']} CONV1 filters, {p['blob']} are same-signed blobs (the sum of the weights is more "
            f"than half the sum of their sizes: they respond to brightness) and {p['edge']} mix signs, like edge "
            f"detectors. By their closest edge template the edge-like ones are " + ", ".join(
                f"{p[k]} {k}" for k in kinds) + f": {kinds[0]} edges are the most common. Against chance: "
            f"{len(kernels)} kernels of independent Gaussian taps give {low:.0f}-{high:.0f} blobs (95 % of "
            f"{RANDOM_DRAWS} draws), so {p['blob']} is {where} random kernels give. In the filters, "
            + kernel_words(kernels) + " (Measured on the best model's filters; the grid shows each scaled to its own "
            "range.)")


def setup(src) -> list[str]:
    """The report's set-up: data, the networks and the items each answers, the study behind them,
    and where this differs from the spec, with why."""
    records = _records(src) if src.studies.get("reference") else []
    images = sorted({r["sizes"]["train"] for r in records if r.get("sizes")})
    return (
        handin_lines(src)
        + [
            "Networks:",
            "- the spec's reference network (ReferenceNet, fmnist/studies/networks.py): "
            f"{summary_line(ReferenceNet())}, "
            "the 10 logits through batch norm before the softmax; it answers 1.3.1-1.3.9.",
            f"- the hand-in's Conv_Net (cnn.py): {summary_line(MODELS['cnn']())}, trained by fashionmnist.py; it "
            "answers 1.3.10 (with the hand-in's FFN, analyze.py) and is set against the 96 % target in 1.3.1.",
            "Study:",
        ]
        + study_lines(src, "reference")
        + [
            "Spec 000's code: python train.py --lr LR --batch_size B --init 1|2 --save_dir DIR trains the reference "
            "network with the spec's flags and writes DIR/model.pth, DIR/test_submission.csv (id,label) and a numbered "
            "copy in Kaggle_subs/; outputs/spec000/run.sh holds the best setting below, as a command."
        ]
        + submission_lines(src)
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


RUN_JSON = {"flags": {"train_per_class?": (str, int, NULL), "seed?": (str, int), "batch_size?": (str, int)},
            "best_epoch": int, "epochs": int, "val": {"accuracy": NUMBER}, "test": {"accuracy": NUMBER}}  # train.py's


def submission_lines(src) -> list[str]:
    """What the committed submission is: the run.sh run that wrote it, its budget and its test accuracy."""
    run = storage.load_checked(src.png("spec000/model/run.json"), RUN_JSON,
                               "delete it or run bash outputs/spec000/run.sh again")
    if not run:
        return []
    flags = run["flags"]
    subset = str(flags.get("train_per_class")).isdigit()
    images = f"{10 * int(flags['train_per_class']):,} training images" if subset else "every training image"
    return [
        "The committed submission, outputs/spec000/model/test_submission.csv (and Kaggle_subs/submission_001.csv), "
        "comes from bash outputs/spec000/run.sh"
        + (f" --train_per_class {flags['train_per_class']}" if subset else "")
        + f": {images}, seed {flags.get('seed', 0)}, batch {flags.get('batch_size')}, best epoch {run['best_epoch']} "
        f"of {run['epochs']}, validation accuracy (the whole validation split) "
        f"{100 * run['val']['accuracy']:.2f}%, test accuracy {100 * run['test']['accuracy']:.2f}% on Fashion-MNIST's "
        "test labels (a Kaggle score needs Kaggle's site, which this package does not reach)."
    ] + best_submission(src, run)


def kept_val_acc(network: dict) -> float:
    """A hand-in network's validation accuracy at the epoch whose weights it kept (metrics.json)."""
    history = network["history"]
    return history["epochs"][history["best_epoch"] - 1]["val_acc"]


def best_submission(src, run: dict) -> list[str]:
    """Which committed Kaggle file to upload: the network best on validation accuracy, of the
    reference network's run.sh run and the hand-in's Conv_Net (whose predictions_cnn.csv has the
    same id,label form)."""
    cnn = (src.metrics or {}).get("networks", {}).get("cnn")
    if not cnn or not src.png("predictions_cnn.csv").is_file():
        return []
    val = kept_val_acc(cnn)
    images = (src.metrics.get("sizes") or {}).get("train")
    handin = {"name": "the hand-in's Conv_Net (cnn.py)" + (f", trained on {images:,} images" if images else ""),
              "val": val,
              "test": cnn["test"]["accuracy"], "file": "outputs/predictions_cnn.csv"}
    reference = {"name": "the reference network's run above", "val": run["val"]["accuracy"],
                 "test": run["test"]["accuracy"], "file": "outputs/spec000/model/test_submission.csv"}
    best, other = sorted((handin, reference), key=lambda n: -n["val"])
    return [f"The file to upload is {best['file']}: it comes from {best['name']}, the better of the package's two "
            f"networks on validation accuracy ({100 * best['val']:.2f}% against {100 * other['val']:.2f}% for "
            f"{other['name']}; test {100 * best['test']:.2f}% against {100 * other['test']:.2f}%). Both files have "
            "spec 000's id,label form, one row per test image."]


def run_sh(src) -> str | None:
    """The best setting of the reference study as spec 000's run.sh (None before the study ran)."""
    if not src.studies.get("reference"):
        return None
    b = _best(src)
    c = b["config"]
    return reference_assignment.run_sh(
        c,
        f"{groups.row_of(c)}, the run of lowest validation loss ({b['val']['loss']:.4f}, "
        f"seed {c['seed']}) of the {len(_records(src))} runs of python experiments.py reference",
    )


def guided(src) -> str:
    """1.3.9 from the reference study's finish: the best model's channels, chosen on validation and
    described on test, with their controls, and what each channel's images and maps show."""
    g = src.studies[reference.STUDY.name]["finish"]["guided"]
    rows = g["rows"]
    pure, mixed = [], []
    for r in rows:
        top = max(dict.fromkeys(r["classes"]), key=r["classes"].count)
        if r["classes"].count(top) == len(r["classes"]) and top == r["picked_for"]:
            pure.append(r["picked_for"])
        else:
            counts = ", ".join(f"{r['classes'].count(c)} {c}" for c in sorted(dict.fromkeys(r["classes"]),
                                                                          key=lambda c: -r["classes"].count(c)))
            mixed.append(f"for {r['picked_for']}: {counts}")
    reading = (f" Each channel's {len(rows[0]['classes'])} most exciting test images are all of its class for "
               f"{listing(pure) if pure else 'none of them'}" + (f"; {'; '.join(mixed)}" if mixed else "") + ".")
    return ("On the best model's last conv layer (spec 000's CONV5 has no counterpart: its network has four). "
            + reference.guided_sentence(g)
            + reading)


def guided_figure(src) -> list:
    """1.3.9's figure: every channel in one figure drawn for the column."""
    g = src.studies[reference.STUDY.name]["finish"]["guided"]
    title = (f"Guided backpropagation on {len(g['rows'])} channels of CONV4 (features.{g['stage']}) of the best model: "
             f"each row a channel's {len(g['rows'][0]['images'])} most exciting test images, each beside d channel / d "
             "pixel (red raises the channel). At left: the channel, the class it was chosen for, that class's share of "
             "its 20 most exciting test images (of the validation images, where it was chosen) and, where its maps "
             "sit in one quarter of the image, which and how much.")
    return plotting.guided_figures(reference.guided_rows(g), title, per_page=len(g["rows"]), width=TEXT_INCHES)


def fooling_figure(src) -> list:
    """1.3.10's curves, drawn again from analysis.json (the examples of analysis.pdf's page left out)."""
    f = src.analysis["fooling"]
    return [plotting.fooling_figure(f["counts"], {k.upper(): f[k]["random_accuracy"] for k in ("ffn", "cnn")},
                                    {k.upper(): f[k]["greedy_accuracy"] for k in ("ffn", "cnn")}, f["greedy_note"],
                                    f["random_note"], {}, f"accuracy (%) on the first {f['random_images']:,} (random) "
                                    f"or {f['greedy_images']:,} (greedy) test images")]


def fooling(src) -> str:
    f = src.analysis["fooling"]
    out = []
    zero, halves = {}, {}
    for key in ("ffn", "cnn"):
        g = f[key]["greedy_accuracy"]
        zero[key] = next((k for k, v in enumerate(g) if v == 0), None)
        share = lambda q: next((k for k, v in enumerate(g) if v <= (1 - q) * g[0]), None)  # noqa: E731
        half, most = share(0.5), share(0.9)
        halves[key] = half
        n = f.get("greedy_images")
        reach = (f"the last falls at {zero[key]} pixels, a number one image sets" if zero[key] is not None else
                 f"{100 * g[-1]:.1f}% are still right at {len(g) - 1} pixels")
        out.append(f"{key.upper()}: greedy attack{f' on {n:,} test images' if n else ''}, {100 * g[0]:.1f}% right "
                   f"before and {100 * g[1]:.1f}% after 1 pixel; "
                   + (f"half the right ones are wrong by {half} pixels" if half is not None else "")
                   + (f" and 90 % by {most}" if most is not None else "") + f"; {reach}. "
                   f"Random pixels leave {100 * f[key]['random_accuracy'][-1]:.1f}% at {f['counts'][-1]} pixels.")
    if f.get("greedy_note"):
        out.append(f"The greedy attack runs on {f['greedy_note']}; the random one on {f['random_note']}.")
    words = []
    if None not in halves.values() and halves["ffn"] != halves["cnn"]:
        fewer = min(halves, key=halves.get)
        other = "cnn" if fewer == "ffn" else "ffn"
        words.append(f"the greedy attack turns half the {fewer.upper()}'s right images with fewer pixels "
                     f"({halves[fewer]} against {halves[other]})")
    left = {key: 100 * f[key]["random_accuracy"][-1] for key in ("ffn", "cnn")}
    if abs(left["ffn"] - left["cnn"]) >= 1:
        hurt = min(left, key=left.get)
        other = "cnn" if hurt == "ffn" else "ffn"
        contrast = " by contrast" if words and hurt != fewer else ""
        words.append(f"random pixels{contrast} hurt the {hurt.upper()} more ({left[hurt]:.1f}% left against "
                     f"{left[other]:.1f}% at {f['counts'][-1]} pixels)")
    if words:
        out.append("On these two trained networks (one seed each: a measurement over images, not a verdict on the "
                   "architectures), " + "; ".join(words) + ".")
    return "\n".join(out)


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
        batch_norm_figure,
        batch_norm,
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
