"""The package's own JSON files: the shape each reader relies on, and one loader per kind.

A file written by a crash, a hand edit or a sync tool is refused in one line that names
it, what is wrong ("`runs` is a list, expected an object keyed by run") and the command that
remakes it; nothing is written or deleted when a file is refused.
"""
from pathlib import Path

from fmnist.core import provenance
from fmnist.core.storage import NULL, NUMBER, Each, UserError, load_checked

METRICS_REMAKE = "run python fashionmnist.py to remake it (it replaces the file)"

PROVENANCE = {"commit": str, "dirty": (bool, NULL), "python": str, "torch": str, "torchvision": str, "numpy": str,
              "device": str, "precision": str, "cpu": str, "threads": int, "seed": (int, NULL),
              "data_sha256": Each(str, "data file"), "command": str, "started": str, "ended": str}

EXAMPLE = {"index": int, "true_name": str, "pred_name": str, "confidence": NUMBER, "pixels": [int]}
EPOCH = {"epoch": int, "train_loss": NUMBER, "val_loss": NUMBER, "val_acc": (NUMBER, NULL), "seconds": NUMBER}
NETWORK = {
    "history": {"iterations": [NUMBER], "epochs": [EPOCH], "best_epoch": int},
    "train_seconds": NUMBER, "seed": int, "finished": str, "device": str, "weights_sha256": str,
    "config": {"epochs": int, "batch_size": int, "lr": NUMBER, "init": str},
    "test": {"accuracy": NUMBER, "loss": NUMBER, "leaderboard": NUMBER, "confusion": [[int]],
             "per_class": Each({"precision": NUMBER, "recall": NUMBER, "f1": NUMBER}, "class")},
    "examples": {"correct": EXAMPLE, "wrong": EXAMPLE},
    "parameters": {"total": int, "layers": list, "by_kind": Each(int, "kind of layer")},
}
Q8 = {"networks": Each({"parameters": int, "accuracy": NUMBER, "loss": NUMBER}, "network"),
      "classes": [{"class": str, "images": int, "ffn": NUMBER, "cnn": NUMBER, "points": NUMBER, "gained_images": int}],
      "weight_sharing": [{"layer": str, "input": [int], "output": [int], "kernel": [int], "shared": int,
                          "local": int, "dense": int, "bias": bool}],
      "translation": {"shifts": [int], "accuracy": Each([NUMBER], "network"), "images": int, "fill": NUMBER}}
PATCH = {"index": int, "class": str, "activation": NUMBER, "pixels": [int]}
Q9 = {"stages": [{"stage": str, "shape": [int], "values": int, "receptive_field": int, "zeros": (NUMBER, NULL),
                  "probe": NUMBER, "purity": (NUMBER, NULL)}],
      "patches": [{"stage": str, "receptive_field": int,
                   "channels": [{"channel": int, "patches": [PATCH], "where?": dict, "orientation?": dict,
                                 "class_share?": dict}]}],
      "sizes": {"probe_train": int, "probe_test": int, "purity_top": int, "purity_chance": (NUMBER, NULL)}}
METRICS = {
    "networks": {"ffn?": NETWORK, "cnn?": NETWORK},
    "questions": {"q8?": Q8, "q9?": Q9, "skipped?": str},
    "environment": {"versions": Each(str, "package"), "machine": str, "command": str},
    "data_files": Each(str, "file name"),
    "sizes?": {"train": int, "val": int, "test": int},
    "provenance": PROVENANCE,
}

RUN = {"config": {"name": str, "seed?": int}, "seconds": NUMBER, "finished_at?": str, "diverged?": str,
       "val?": {"loss": NUMBER, "accuracy": (NUMBER, NULL)}, "test?": dict, "train?": dict,
       "history?": [dict], "best_epoch?": int, "sizes?": Each(int, "split"), "fingerprint?": str,
       "threads?": int, "provenance?": PROVENANCE}
RESULTS = {
    "study": str,
    "plan": [str],
    "longer?": [str],
    "budget?": str,
    "pool?": int,
    "runs": Each(RUN, "run"),
    "finished": (str, NULL),
    "finish?": dict,
    "seconds_this_session?": NUMBER,
    "provenance?": PROVENANCE,
}
INTERVAL = {"mean": NUMBER, "low": (NUMBER, NULL), "high": (NUMBER, NULL), "half_width": (NUMBER, NULL), "n": int}
LOCALITY_FINISH = {"comparisons": Each({"label": str, "images": INTERVAL, "scrambled": INTERVAL,
                                        "difference": INTERVAL, "verdict": str,
                                        "per_seed": {"images": [NUMBER], "scrambled": [NUMBER]}}, "network"),
                   "epochs": (int, NULL), "quick": bool,
                   "example": {"images": [[NUMBER]], "scrambled": [[NUMBER]]}}
GUIDED_ROW = {"channel": int, "picked_for": str, "chosen_share": NUMBER, "share": NUMBER, "indices": [int],
              "activations": [NUMBER], "classes": [str], "region": (str, NULL),
              "quadrant": (str, NULL), "quadrant_share": NUMBER, "control_region?": (str, NULL),
              "control_quadrant?": (str, NULL), "images": [[[NUMBER]]],
              "maps": [[[NUMBER]]]}
REFERENCE_FINISH = {"guided?": {"row": str, "seed": int, "stage": str, "shape": [int], "val_loss": NUMBER,
                                "run_val_loss": NUMBER, "rows": [GUIDED_ROW], "channels_in_stage": int,
                                "chosen_on": int, "described_on": int, "median_best_share": NUMBER,
                                "random_share": NUMBER}}
FINISH = {"locality": LOCALITY_FINISH, "reference": REFERENCE_FINISH}  # the studies whose finish other scripts read


def load_metrics(out_dir: Path) -> dict:
    """metrics.json of `out_dir` ({} when there is none yet)."""
    return load_checked(Path(out_dir) / "metrics.json", METRICS, METRICS_REMAKE)


ANALYSIS = {"networks": dict, "fooling": dict, "weights_sha256": dict}  # what report.py reads


def load_analysis(out_dir: Path) -> dict:
    """analysis.json of `out_dir` ({} when there is none yet)."""
    return load_checked(Path(out_dir) / "analysis.json", ANALYSIS, "run python analyze.py to remake it")


def check_weights(metrics: dict, metrics_path: Path, key: str, weights: Path) -> str | None:
    """The SHA-256 of `weights` (None if there is no such file), refused when `metrics` (read
    from `metrics_path`) records another for network `key`: the two come from different runs."""
    weights = Path(weights)
    if not weights.is_file():
        return None
    actual = provenance.sha256(weights)
    recorded = metrics.get("networks", {}).get(key, {}).get("weights_sha256")  # absent: nothing to hold it to
    if recorded is not None and actual != recorded:
        raise UserError(f"{weights} is not the {key.upper()} that {metrics_path} describes (SHA-256 {actual[:12]}..., "
                        f"it records {recorded[:12]}...): the two files come from different runs; run python "
                        "fashionmnist.py to remake both, or keep each checkpoint beside its own metrics.json")
    return actual


def study_remake(name: str) -> str:
    return f"run python experiments.py {name} --fresh to redo the study (it replaces the file)"


def load_results(path: Path, name: str) -> dict:
    """One study's results.json ({} when there is none yet), refused if it is another study's."""
    schema = {**RESULTS, **({"finish?": FINISH[name]} if name in FINISH else {})}
    results = load_checked(path, schema, study_remake(name))
    if results and results["study"] != name:
        raise UserError(f"{path} holds the results of study {results['study']!r}, not {name!r}; "
                        "move it away or pass another --out-dir")
    return results
