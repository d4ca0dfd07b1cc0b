"""Spec 003's items read from the mobilenet study's figures: the learning curves (and where
accuracy dips), right and wrong predictions, the first layers' filters and the ROC curves; and
the study's runs as the report reads them."""
import numpy as np

from fmnist.core import stats
from fmnist.core.metrics import NEIGHBOURS, neighbour_purity
from fmnist.core.words import count, tsne_words
from fmnist.reports.build import kernel_words, pointwise_words, rows
from fmnist.studies import groups, mobilenet
from fmnist.studies.study import planned

PLAIN = "conv 4 + mobile 0"  # the plain network


def mobilenet_results(src) -> dict:
    return src.studies["mobilenet"]


def runs_by_row(src) -> dict:
    return rows(mobilenet_results(src))


def figures_runs(src) -> dict:
    """{row: its figures run (first seed)} for the rows whose figures the study drew."""
    return {row: next((r for r in runs if "extras" in r), runs[0]) for row, runs in runs_by_row(src).items()}


def curves_answer(src) -> str:
    """V7: each shown network's curves read: where the validation loss started, peaked and ended."""
    out = []
    for row, r in mobilenet.shown(planned(mobilenet_results(src))).items():
        h = r["history"]
        val = [e["val_loss"] for e in h]
        peak = int(np.argmax(val))
        gap = h[r["best_epoch"] - 1]["val_loss"] - h[r["best_epoch"] - 1]["train_loss"]
        unsteady = dip_words([100 * e["val_acc"] for e in h])
        out.append(f"{row} (seed {r['config']['seed']}): validation loss {val[0]:.3f} after epoch 1"
                   + (f", peaking at {val[peak]:.3f} in epoch {peak + 1} (an unstable start at the full learning rate)"
                      if peak > 0 and val[peak] > 1.5 * val[0] else "")
                   + f", lowest {min(val):.3f} in epoch {r['best_epoch']} of {len(h)}; there the validation loss is "
                   f"{abs(gap):.3f} {'above' if gap > 0 else 'below'} the training loss (the training loss is the mean "
                   "over the epoch, with mirroring, in training mode)." + unsteady)
    return "\n".join(out)


def dip_words(acc: list[float], points: float = 10.0) -> str:
    """The largest fall of validation accuracy below its best so far, when it is `points` or more:
    an unsteady stretch of training that the curves show."""
    drops = [(max(acc[:i]) - acc[i], i) for i in range(1, len(acc))]
    drop, i = max(drops, default=(0.0, 0))
    if drop < points:
        return ""
    top = acc.index(max(acc[:i]))
    return (f" Validation accuracy falls from {acc[top]:.0f}% (epoch {top + 1}) to {acc[i]:.0f}% in epoch {i + 1} "
            "before it recovers: an unsteady stretch that early stopping's patience rides out.")


def right_wrong_answer(src) -> str:
    out = []
    for row, r in figures_runs(src).items():
        if "extras" in r:
            wrong = [e for e in r["extras"]["right_wrong"] if e["true"] != e["pred"]]
            out.append(f"{row}: its most confident mistakes are " + "; ".join(
                f"{e['true_name']} taken for {e['pred_name']} at {100 * e['confidence']:.0f}%" for e in wrong) + ".")
    return "\n".join(out)


def filters_answer(src) -> str:
    """R5: the last conv layer's kernels of the networks the figures show, read by their measures."""
    out = []
    for row, r in mobilenet.shown(planned(mobilenet_results(src))).items():
        f = r["extras"]["filters"]
        out.append(f"{row}, {f['kernels_label']}: " + kernel_words(np.asarray(f["kernels"]))
                   + (" " + pointwise_words(np.asarray(f["pointwise"])) if "pointwise" in f else ""))
    return "\n".join(out)


def roc_words(shown: dict) -> str:
    """The ROC curves read: the classes where the two networks' areas differ most, and the class
    both find hardest (one seed each: a reading, not a verdict)."""
    (a, ra), (b, rb) = shown.items()
    auc = {n: {k: v["auc"] for k, v in r["extras"]["roc"]["classes"].items()} for n, r in ((a, ra), (b, rb))}
    gaps = sorted(auc[a], key=lambda k: -abs(auc[b][k] - auc[a][k]))[:2]
    hardest = {n: min(v, key=v.get) for n, v in auc.items()}
    said = " and ".join(f"{k} ({auc[a][k]:.4f} against {auc[b][k]:.4f})" for k in gaps)
    return (f"Read from the ROC curves (each network's first seed): the areas differ most for {said}, {a} first; "
            + (f"both find {hardest[a]} hardest" if hardest[a] == hardest[b] else
               f"{a} finds {hardest[a]} hardest and {b} {hardest[b]}")
            + ", whose curve rises latest.")


def roc_answer(src) -> str:
    out = []
    for row, r in figures_runs(src).items():
        if "extras" in r:
            aucs = r["extras"]["roc"]["classes"]
            worst = min(aucs, key=lambda k: aucs[k]["auc"])
            out.append(f"{row}: macro AUC {r['extras']['roc']['macro_auc']:.4f}, lowest for {worst} "
                       f"({aucs[worst]['auc']:.4f}).")
    runs = runs_by_row(src)
    shown = mobilenet.shown(planned(mobilenet_results(src)))
    if len(shown) == 2 and all(row in runs for row in shown):
        a, b = shown
        loss, acc = (groups.difference(runs[a], runs[b], m) for m in ("val_loss", "test_acc"))
        out.append(f"The figures of this item show {a} and {b}, of one depth, {b} the MobileNet network of that depth "
                   f"with the best mean validation accuracy ({shown[b]['parameters']:,} parameters against "
                   f"{shown[a]['parameters']:,}). Paired by seed, validation loss: "
                   + stats.verdict(loss, a, b, unit="", higher_is_better=False) + "; test accuracy: "
                   + stats.verdict(acc, a, b) + ". Their accuracy and loss curves are item V7's figure, their "
                   "confusion matrices item R3's.")
        out.append(roc_words(shown))
    out += [tsne_words(row, r["extras"]["tsne"]) for row, r in shown.items()]
    if len(shown) == 2:
        (a, ra), (b, rb) = shown.items()
        pa, pb = (np.mean([v["purity"] for v in neighbour_purity(r["extras"]["tsne"]["points"], r["extras"]["tsne"][
            "labels"], NEIGHBOURS).values()]) for r in (ra, rb))
        gap = abs(round(100 * pb) - round(100 * pa))  # as the two shares are printed
        out.append(f"{b}'s plot keeps {count(gap, 'point')} {'more' if pb > pa else 'fewer'} per 100 of the "
                   f"neighbours in their class than {a}'s" if round(100 * pa) != round(100 * pb) else
                   f"{a}'s and {b}'s plots keep as many neighbours in their class")
        out[-1] += (" (one seed's plot each, so no verdict). t-SNE keeps neighbours, not distances: the gaps between "
                    "clusters and their sizes mean little.")
    return "\n".join(out)
