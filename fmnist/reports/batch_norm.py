"""Spec 000's item 1.3.7, what batch normalisation on the logits did: the two rows' verdicts, a
collapsed seed named, both rows' curves drawn and read, and a mechanism only where they point
to one."""
import numpy as np

from fmnist.core import stats
from fmnist.core.words import ci, sentence
from fmnist.reports.build import mean_of, rows
from fmnist.studies import figures, groups


def batch_norm(src) -> str:
    by = rows(src.studies["reference"])
    out = []
    on, off = (by.get(r) for r in BN_ROWS)
    if on and off:
        budget = groups.budget(on + off)  # the epochs both rows ran
        clear = {}
        for measure, unit, higher in (("test_acc", " points", True), ("val_loss", "", False)):
            d = groups.difference(off, on, measure)
            clear[measure] = stats.excludes_zero(d)
            digits = 2 if unit else 4
            seeds = lambda runs: ", ".join(f"{v:.{digits}f}" for v in groups.per_seed(runs, measure).values())  # noqa: E731
            out.append(f"{sentence(groups.MEASURES[measure][0])} with batch norm on the logits (He, lr 0.05) "
                       f"{ci(mean_of(on, measure), digits, '' if not unit else '%')} (per seed {seeds(on)}), without "
                       f"{ci(mean_of(off, measure), digits, '' if not unit else '%')} (per seed {seeds(off)}): "
                       + stats.verdict(d, "without", "with", unit=unit, higher_is_better=higher, budget=budget)
                       + groups.caveat({"with": on, "without": off}) + ".")
        if clear["test_acc"] != clear["val_loss"]:
            told, untold = ("test accuracy", "validation loss") if clear["test_acc"] else ("validation loss",
                                                                                          "test accuracy")
            out.append(f"The two measures disagree: the {told} tells the rows apart and the {untold} does not. "
                       "Accuracy counts only each image's top answer, while the loss also weighs how sure every "
                       "answer is, so a network can get more answers right and still be as unsure on the rest; with "
                       "3 seeds the measure whose seeds spread more is the one that cannot tell them apart.")
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
    matched = min(len(r["history"]) for r in on + off)  # the last epoch every run of both rows trained
    at = lambda runs: {r["config"]["seed"]: min(e["val_loss"] for e in r["history"][:matched])  # noqa: E731
                       for r in runs}
    read += (f" By one epoch for all, epoch {matched} (the last every run of both rows reached; the kept weights "
             "above come from different epochs), the lowest validation loss so far: "
             + stats.verdict(stats.paired(at(off), at(on)), "without", "with", unit="", higher_is_better=False,
                             budget=f"epoch {matched}") + ".")
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
