"""Spec 000's Kaggle submission: what the committed file is (the run.sh run that wrote it), which
of the package's two networks' files to upload, and the best setting of the reference study as
run.sh."""
from fmnist.core import storage
from fmnist.core.storage import NULL, NUMBER
from fmnist.studies import groups, reference, reference_assignment
from fmnist.studies.study import planned

RUN_JSON = {"flags": {"train_per_class?": (str, int, NULL), "seed?": (str, int), "batch_size?": (str, int)},
            "best_epoch": int, "epochs": int, "val": {"accuracy": NUMBER}, "test": {"accuracy": NUMBER}}  # train.py's


def committed_run(src) -> dict | None:
    """train.py's record of the run.sh run that wrote the committed submission (None before it ran)."""
    return storage.load_checked(src.png("spec000/model/run.json"), RUN_JSON,
                                "delete it or run bash outputs/spec000/run.sh again")


def submission_lines(src) -> list[str]:
    """What the committed submission is: the run.sh run that wrote it, its budget and its test accuracy."""
    run = committed_run(src)
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


HANDIN_UPLOAD = "spec000/Kaggle_subs/conv_net_submission.csv"  # under the output folder: report.py 000 copies it


def ranked_networks(src, run: dict) -> list[dict]:
    """The reference network's run.sh run and the hand-in's Conv_Net (whose predictions_cnn.csv has
    the same id,label form), best on validation accuracy first; [] before fashionmnist.py ran."""
    cnn = (src.metrics or {}).get("networks", {}).get("cnn")
    if not cnn or not src.png("predictions_cnn.csv").is_file():
        return []
    images = (src.metrics.get("sizes") or {}).get("train")
    handin = {"name": "the hand-in's Conv_Net (cnn.py)" + (f", trained on {images:,} images" if images else ""),
              "val": kept_val_acc(cnn), "test": cnn["test"]["accuracy"], "file": f"outputs/{HANDIN_UPLOAD}",
              "copied_from": "predictions_cnn.csv"}
    reference = {"name": "the reference network's run above", "val": run["val"]["accuracy"],
                 "test": run["test"]["accuracy"], "file": "outputs/spec000/Kaggle_subs/submission_001.csv"}
    return sorted((handin, reference), key=lambda n: -n["val"])


def upload_source(src) -> str | None:
    """The file report.py 000 copies to HANDIN_UPLOAD (the output folder's name for it), when the
    hand-in's Conv_Net is the network to upload; None otherwise."""
    run = committed_run(src)
    ranked = ranked_networks(src, run) if run else []
    return ranked[0].get("copied_from") if ranked else None


def best_submission(src, run: dict) -> list[str]:
    """Which committed Kaggle file to upload: the network best on validation accuracy (the spec
    allows any network within its limits for the Kaggle score), and where Kaggle_subs/ keeps both."""
    ranked = ranked_networks(src, run)
    if not ranked:
        return []
    best, other = ranked
    copy = f" (report.py 000 copies it from outputs/{best['copied_from']})" if "copied_from" in best else ""
    return [f"The file to upload is {best['file']}{copy}: it comes from {best['name']}, the better of the package's "
            f"two networks on validation accuracy ({100 * best['val']:.2f}% against {100 * other['val']:.2f}% for "
            f"{other['name']}; test {100 * best['test']:.2f}% against {100 * other['test']:.2f}%). "
            "outputs/spec000/Kaggle_subs/ holds both submissions, each in spec 000's id,label form, one row per test "
            "image."]


def run_sh(src) -> str | None:
    """The best setting of the reference study as spec 000's run.sh (None before the study ran)."""
    if not src.studies.get("reference"):
        return None
    records = planned(src.studies["reference"])
    b = reference.best_run(records)
    c = b["config"]
    return reference_assignment.run_sh(
        c,
        f"{groups.row_of(c)}, the run of lowest validation loss ({b['val']['loss']:.4f}, "
        f"seed {c['seed']}) of the {len(records)} runs of python experiments.py reference",
    )
