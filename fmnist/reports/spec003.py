"""Spec 003 (MobileNet blocks against standard blocks): its report items in the spec's order,
answered from the `mobilenet` study and the `settings` study."""
import numpy as np

from fmnist.core import plotting, stats
from fmnist.core.data import CLASSES
from fmnist.core.layers import summary_line
from fmnist.core.metrics import confusion_pair, recall
from fmnist.core.words import ci, listing, pct, sentence
from fmnist.reports.build import (
    Item,
    handin_lines,
    mean_of,
    spread,
    study_figures,
    study_lines,
)
from fmnist.reports.spec003_figures import (
    PLAIN,
    curves_answer,
    figures_runs,
    filters_answer,
    mobilenet_results,
    right_wrong_answer,
    roc_answer,
    runs_by_row,
)
from fmnist.studies import figures, groups, mobilenet, settings
from fmnist.studies.networks import init_network
from fmnist.studies.study import planned
from fmnist.studies.tables import report_table

M = "study:mobilenet"
FOLDER = "experiments/mobilenet"


def task(src) -> str:
    """Task 1: at least 60 % test accuracy with a MobileNet network."""
    mobile = {row: mean_of(runs, "test_acc") for row, runs in runs_by_row(src).items()
              if runs[0]["config"]["mobilenet_blocks"] > 0}
    low = min(mobile, key=lambda k: mobile[k]["mean"])
    ok = all(v["mean"] >= 60 for v in mobile.values())
    return (f"{'Yes' if ok else 'No'}: {'every' if ok else 'not every'} network with MobileNet blocks reaches 60 % "
            f"test accuracy; the lowest mean is {low}'s {ci(mobile[low])}, the highest "
            f"{max(v['mean'] for v in mobile.values()):.2f}%.")


def compare(src) -> str:
    """Report 1: plain against MobileNet blocks, results with reasons, from the measurements."""
    records = [r for runs in runs_by_row(src).values() for r in runs]
    out = []
    for m in mobilenet.matched(records):
        d = m["difference"]
        name = f"conv {m['combo'][0]} + mobile {m['combo'][1]}"
        out.append(f"At the plain network's depth, {name} against conv 4 + mobile 0: {m['verdict']}. It has "
                   f"{m['parameters']:.2f} times the parameters and {m['multiply_adds']:.2f} times the multiply-adds, "
                   f"and takes {m['seconds_per_epoch']:.2f} times as long per epoch.")
        if m["combo"] == (0, 4):
            why = ("With no standard block at all, the first block is a depthwise conv on a one-channel image: a "
                   "single "
                   "3x3 filter")
            out.append(
                f"{why}, the likely reason {name} is behind by {-d['mean']:.2f} points."
                if stats.excludes_zero(d) and d["mean"] < 0
                else f"{why}; its mean is {abs(d['mean']):.2f} points "
                f"{'lower' if d['mean'] < 0 else 'higher'}, but the interval includes 0, so no difference is "
                "claimed."
            )
    ratios = mobilenet_results(src)["finish"]["cost_ratios"]
    flops = [r["flops"] for r in ratios]
    times = [r["time"] for r in ratios]
    out.append(f"Reasons, measured per block: a depthwise-separable block needs {min(flops):.3f} to {max(flops):.3f} "
               "of a "
               f"standard block's FLOPs (theory 1/N + 1/9), but {min(times):.2f} to {max(times):.2f} of its time here: "
               "the saving in arithmetic is " + ("larger" if np.mean(times) > np.mean(flops) else "smaller")
               + " than the saving in time; likely because a depthwise conv reads each value for only 9 "
               "multiply-adds (memory, not arithmetic, sets its pace) and its extra batch norm and ReLU cost time that "
               "FLOPs do not count (not timed apart here).")
    return "\n".join(out)


def counts(src) -> str:
    """Report 2: accuracy for different numbers of conv and MobileNet blocks."""
    records = [r for runs in runs_by_row(src).values() for r in runs]
    four = [row for row, runs in runs_by_row(src).items()
            if sum((runs[0]["config"]["conv_blocks"], runs[0]["config"]["mobilenet_blocks"])) == 4]
    acc = {row: mean_of(runs, "test_acc") for row, runs in runs_by_row(src).items()}
    seq = ", ".join(f"{row} {acc[row]['mean']:.2f}%" for row in four)
    falls = all(acc[a]["mean"] >= acc[b]["mean"] for a, b in zip(four, four[1:]))
    return (f"Every network's numbers are in the table under T1. Four blocks in all, a standard block traded for a "
            f"MobileNet block one at a time: {seq} (mean test "
            f"accuracy over seeds); accuracy {'falls at every step' if falls else 'does not fall at every step'}. "
            f"{sentence(groups.best_line(records, 'val_acc', digits=2))}.")


def confusion_answer(src) -> str:
    out = []
    for row, r in figures_runs(src).items():
        if "extras" not in r:
            continue
        rec = recall(r["test"]["confusion"])
        worst, best = int(rec.argmin()), int(rec.argmax())
        true, taken, n, of = confusion_pair(r["test"]["confusion"], list(CLASSES))
        out.append(
            f"{row} (seed {r['config']['seed']}): test accuracy {pct(100 * r['test']['accuracy'])}, macro "
            f"recall {pct(100 * rec.mean())}, macro F1 {r['test']['macro_f1']:.4f}; recall is lowest for "
            f"{CLASSES[worst]} ({pct(100 * rec[worst], 1)}) "
            f"and highest for {CLASSES[best]} ({pct(100 * rec[best], 1)}); the most frequent confusion is "
            f"{true} taken for {taken}, {n} of its {of} test images."
        )
    sizes = np.asarray(next(iter(figures_runs(src).values()))["test"]["confusion"]).sum(1)
    if len(set(sizes.tolist())) == 1:
        out.append(f"Every class has {sizes[0]:,} test images, so macro recall equals accuracy.")
    return "\n".join(out)


def conclusion(src) -> str:
    """R7: what the measurements teach, every sentence computed from them."""
    runs = runs_by_row(src)
    records = [r for rs in runs.values() for r in rs]
    acc = {row: mean_of(rs, "test_acc") for row, rs in runs.items()}
    best = max(acc, key=lambda k: acc[k]["mean"])
    out = []
    swaps = []
    for m in mobilenet.matched(records):
        name, d = f"conv {m['combo'][0]} + mobile {m['combo'][1]}", m["difference"]
        cost = (f"no accuracy cost that 3 seeds can detect ({d['mean']:+.2f} points, 95 % CI {d['low']:+.2f} to "
                f"{d['high']:+.2f})" if not stats.excludes_zero(d) else
                f"a cost of {-d['mean']:.2f} points of test accuracy" if d["mean"] < 0 else
                f"a gain of {d['mean']:.2f} points of test accuracy")
        swaps.append(f"{name}, {m['multiply_adds']:.2f} times the multiply-adds and {m['parameters']:.2f} times the "
                     f"parameters, at {cost}")
    if swaps:
        out.append("Swapping standard blocks for MobileNet blocks at the same depth cut the cost against the plain "
                   "network: " + "; ".join(swaps) + ". An accuracy cost not detected is not shown to be absent.")
    ratios = mobilenet_results(src)["finish"]["cost_ratios"]
    flops, times = [r["flops"] for r in ratios], [r["time"] for r in ratios]
    out.append(f"FLOPs are not time: one separable block does {min(flops):.2f}-{max(flops):.2f} of a standard block's "
               f"arithmetic but takes {min(times):.2f}-{max(times):.2f} of its time here, so the saving in time is "
               + ("smaller" if np.mean(times) > np.mean(flops) else "larger") + " than the FLOP count promises.")
    if best == PLAIN or PLAIN not in runs:
        out.append(f"No network beat the plain one on mean test accuracy ({acc[best]['mean']:.2f} %).")
    else:
        d = groups.difference(runs[PLAIN], runs[best], "test_acc")
        out.append(f"The highest mean test accuracy is {best}'s {acc[best]['mean']:.2f} %; against the plain network "
                   f"({acc[PLAIN]['mean']:.2f} %): " + stats.verdict(d, PLAIN, best) + ".")
    hardest = [CLASSES[int(recall(r["test"]["confusion"]).argmin())] for r in figures_runs(src).values()
               if "confusion" in r["test"]]
    if hardest:
        top = max(set(hardest), key=hardest.count)
        every = hardest.count(top) == len(hardest)
        out.append(f"{top} is the hardest class (the lowest recall) for {hardest.count(top)} of the {len(hardest)} "
                   "networks" + (", whatever their blocks: among these networks, which class is hard does not "
                                 "depend on the blocks (one seed each)." if every else "."))
    wide = max(acc, key=lambda k: acc[k]["half_width"] or 0)
    if wide != PLAIN and PLAIN in acc and acc[wide]["half_width"]:
        out.append(f"Worth knowing: {wide}'s seeds disagree most (test accuracy {ci(acc[wide])}, against ± "
                   f"{acc[PLAIN]['half_width'] or 0:.2f} for the plain network), so one run of it could mislead by "
                   "several points; every verdict here pairs 3 seeds for that reason.")
    found = src.studies.get("settings")
    if found:
        diffs = settings.differences(planned(found))
        told = [
            f"{d['row']} ({d['difference']['mean']:+.2f} points"
            + ("; not converged)" if "not converged" in d["verdict"] else ")")
            for d in diffs
            if stats.excludes_zero(d["difference"])
        ]
        out.append("Of the training settings (R8), " + (f"only {listing(told)} changed test accuracy detectably "
                                                        "against "
                   f"the base; the other {len(diffs) - len(told)} did not" if told else
                   f"none of the {len(diffs)} changes moved test accuracy detectably") + " at 3 seeds"
                   + (f" ({stats.chance_words(len(told), len(diffs), 'changes')})." if told else "."))
    return "\n".join(out)


def setup(src) -> list[str]:
    """The report's set-up: data, the networks and the items each answers, the studies behind them,
    and where this differs from the spec, with why."""
    params = [r["parameters"] for rs in runs_by_row(src).values() for r in rs] if src.studies.get("mobilenet") else []
    return (
        handin_lines(src, with_cnn=False)
        + [
            "Networks (init_network(conv_block_count, mobilenet_block_count), fmnist/studies/networks.py): standard "
            "blocks (3x3 conv, batch norm, ReLU), then ConvDw blocks (3x3 depthwise conv, batch norm, ReLU, 1x1 "
            "pointwise conv, batch norm, ReLU), global average pooling and one linear layer; channels and strides by "
            "block position.",
            f"- the plain network (4, 0): {summary_line(init_network(4, 0))}; the spec's second architecture (4 "
            "convolution layers, then GAP and an FC layer); it answers R8 (the settings study) and is the base of "
            "R1-R6.",
            f"- a MobileNet network of its depth, (1, 3): {summary_line(init_network(1, 3))}; with (0, 4), (2, 2) "
            "and (3, 1) of the same depth and the deeper (1, 5) and (1, 7) it answers T1 and R1-R7"
            + (f" ({spread(params)} parameters among the seven)." if params else "."),
            "Studies:",
        ]
        + study_lines(src, "mobilenet")
        + study_lines(src, "settings")
        + [
            "Departures from the spec, and why:",
            "- Fashion-MNIST, not the spec's own imbalanced MNIST folders, which are not distributed with this "
            "package; the spec's folder-and-CSV layout is still read by its Dataset class (python -m "
            "fmnist.studies.mobilenet_assignment export writes Fashion-MNIST that way, run trains on it).",
            "- Each network trains on a stratified subset of the training images (the budget lines above say how "
            "many) with early stopping, 3 seeds a row, so that every row fits 2 cores; python experiments.py "
            "mobilenet --budget spec uses every image.",
            "- The spec's Figure 3 (its sample network) is a picture that its text does not carry; every network "
            "here follows the pattern the text gives for it (input, conv blocks, MobileNet blocks, average pooling, "
            "FC layer, output), and (1, 3), the plain network's depth with MobileNet blocks, stands for it.",
            "- The numbers of this report come from python experiments.py mobilenet and settings, which read "
            "Fashion-MNIST's own files rather than the folder layout; every mobilenet run trains through the spec's "
            "train and is scored through its test (fmnist/studies/mobilenet_assignment.py, with the study's recipe "
            "and seeds; a test checks that this gives the engine's numbers exactly). The spec's other functions (the "
            "Dataset over a folder and CSV, save, load, visualize with its F1 and accuracy figure, and "
            "main(is_training)) are there too, with init_network and ConvDw in fmnist/studies/networks.py.",
            "- The spec's main prints a name and roll number: the code takes them as --name and --roll-no.",
        ]
    )


def settings_answer(src) -> str:
    return "\n".join(settings.answer(src.studies["settings"]))


def confusions(src) -> list:
    """The confusion matrices of the networks the figures show, side by side in one figure."""
    shown = mobilenet.shown(planned(mobilenet_results(src)))
    return [plotting.column_confusion_figure({row: r["test"]["confusion"] for row, r in shown.items()}, CLASSES)]


def right_wrong(src) -> list:
    """The shown networks' right and wrong predictions, a row each in one figure."""
    shown = mobilenet.shown(planned(mobilenet_results(src)))
    return [plotting.right_wrong_rows_figure({row: r["extras"]["right_wrong"] for row, r in shown.items()})]


def filters(src) -> list:
    """Each shown network's last-layer filters, a row each in one figure."""
    shown = mobilenet.shown(planned(mobilenet_results(src)))
    return [figures.filters_figure({row: r["extras"]["filters"] for row, r in shown.items()})]


def _png(*names):
    return study_figures(mobilenet.STUDY, *names)


def _table(src):
    return report_table(mobilenet.STUDY, mobilenet_results(src))


ITEMS = [
    Item(
        "T1",
        "MobileNet network, at least 60 % test accuracy",
        "Build the MobileNet network and achieve at least 60% test accuracy.",
        (M,),
        _table,
        task,
    ),
    Item(
        "V7",
        "loss and accuracy curves, training and validation",
        "Plot loss and accuracy curves (training and validation, per epoch), sample images and predictions.",
        (M,),
        _png("mobilenet_curves"),
        curves_answer,
    ),
    Item(
        "R1",
        "standard against MobileNet blocks, results and reasons",
        "Compare results of simple convolution block "
        "base architecture vs mobilenet block based architecture and report results with reasoning.",
        (M,),
        _png("mobilenet_costs"),
        compare,
        "5.0",
    ),
    Item(
        "R2",
        "numbers of conv and MobileNet blocks",
        "Use no of different conv block and mobileNet block and compare its accuracy.",
        (M,),
        lambda src: [],  # the table is T1's, a page or two before: not set twice
        counts,
        "5.0",
    ),
    Item(
        "R3",
        "confusion matrices, recall and accuracy (test set)",
        "Confusion matrices, Recall, and Accuracy for the testing set.",
        (M,),
        confusions,
        confusion_answer,
        "2.5",
    ),
    Item(
        "R4",
        "correct and wrong predictions with labels",
        "Figures along with labels for correct predictions and wrong ones.",
        (M,),
        right_wrong,
        right_wrong_answer,
        "2.5",
    ),
    Item(
        "R5",
        "learned filters of the last conv layer",
        "Plot learned filters of your last convolution layer using matplotlib.",
        (M,),
        filters,
        filters_answer,
        "5.0",
    ),
    Item(
        "R6",
        "without and with MobileNet blocks: ROC, curves, confusion, t-SNE",
        "Show what happens when we do not use "
        "MobileNet block and when we use MobileNet block in your architecture. Show ROC curves, accuracy/loss curve, "
        "confusion matrix, and tsne plot.",
        (M,),
        _png("mobilenet_roc", "mobilenet_tsne"),
        roc_answer,
        "10.0",
    ),
    Item(
        "R7",
        "conclusion: what you learned",
        "Report what you learned from this assignment, your analysis, and if you "
        "find something innovative or interesting in the conclusion section.",
        (M,),
        lambda src: [],
        conclusion,
        "5.0",
    ),
    Item(
        "R8",
        "accuracy against loss function, batch size, learning rate, epochs, train/test ratio",
        "Report the "
        "accuracy by changing loss functions, batch size, learning rate, epochs, and the ratio of training and testing "
        "data, etc.",
        ("study:settings",),
        lambda src: settings.factor_figures(src.studies["settings"]),
        settings_answer,
        "5.0",
    ),
]
