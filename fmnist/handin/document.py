"""The hand-in: the figures of questions 1-4 rebuilt from metrics.json, and the one PDF.

fashionmnist.py and kernel_vis.py both call `write_pdf`; the pages of questions 1-4 come
from metrics.json alone, so kernel_vis.py can rebuild the whole document without training.
"""
import textwrap
from pathlib import Path

import matplotlib
import torch

from fmnist.core import files, plotting, provenance
from fmnist.core.assignment import NAMES as NETWORKS
from fmnist.core.data import CLASSES, shift
from fmnist.core.pages import Page, write_document
from fmnist.handin import figures
from fmnist.handin.answers import q8_paragraph, q9_paragraph, translation_words

matplotlib.rcParams["pdf.fonttype"] = 42  # embed TrueType: the PDF's text stays searchable



def _present(metrics: dict) -> list[tuple[str, str, dict]]:
    """(key, label, record) for each network that metrics.json holds, FFN first."""
    return [(key, NETWORKS[key], metrics["networks"][key]) for key in NETWORKS
            if key in metrics.get("networks", {})]


@plotting.fixed_titles()
def training_pages(metrics: dict) -> list[Page]:
    """Questions 1-4 for each network in metrics.json, in question order."""
    nets = _present(metrics)
    pages = []
    for key, label, net in nets:
        pages.append(Page(f"{key}_examples", f"Q1 ({key.upper()})",
                          "a correct and an incorrect test prediction, predicted and true labels",
                          figures.examples_figure(label, net["examples"])))
    for key, label, net in nets:
        pages.append(Page(f"{key}_loss", f"Q2 ({key.upper()})", "training loss over time",
                          figures.loss_figure(label, net["history"], net.get("config"))))
    for key, label, net in nets:
        pages.append(Page(f"{key}_parameters", f"Q3 ({key.upper()})", "parameter counts",
                          figures.params_figure(label, net["parameters"])))
    for key, label, net in nets:
        pages.append(Page(f"{key}_confusion", f"Q4 ({key.upper()})",
                          "confusion matrices on the test set, predicted vs true class",
                          plotting.confusion_figure(label, net["test"]["confusion"], CLASSES)))
    return pages


Q8 = "why the CNN does better"
Q9 = "how the features evolve through the CNN"
# The questions as the assignment (spec 001) asks them, above each answer.
Q8_TEXT = ("Why does the CNN achieve better performance on image classification? Consider the role of "
           "convolutional layers in feature extraction versus the fully connected layers.")
Q9_TEXT = ("Looking at the feature-map progression, how do the features evolve through the CNN's layers? What does "
           "each layer appear to detect, and how does this hierarchy help classification?")
LOCALITY_COMMAND = "python experiments.py locality"


def locality_note(locality: dict | None) -> tuple[dict | None, str]:
    """The locality study's comparisons (None when it has not finished) and a line on where they come from."""
    finish = (locality or {}).get("finish") or {}
    comparisons = finish.get("comparisons") if (locality or {}).get("finished") else None
    if not comparisons or not {"ffn", "cnn"} <= set(comparisons):
        return None, (f"not run for these outputs: {LOCALITY_COMMAND} trains both networks on images and on "
                      "scrambled pixels (3 seeds each); then python kernel_vis.py quotes it here")
    quick = " A --quick run: tiny subsets, one epoch, not a measurement." if finish.get("quick") else ""
    return comparisons, (f"{LOCALITY_COMMAND}, finished {locality['finished']}, {finish.get('epochs')} epochs per run."
                         + quick)


def read_locality(out_dir: Path) -> dict | None:
    """The locality study's results.json under `out_dir`, if it is there."""
    path = Path(out_dir) / "experiments" / "locality" / "results.json"
    return files.load_results(path, "locality") or None


@plotting.fixed_titles()
def question_pages(metrics: dict, locality: dict | None = None) -> list[Page]:
    """Questions 8 and 9 from metrics.json's "questions" (and the locality study's results,
    when it has run); none when metrics.json has no such entry."""
    q = metrics.get("questions") or {}
    if "q8" not in q:
        return []
    comparisons, note = locality_note(locality)
    configs = {k: net.get("config", {}) for k, net in metrics["networks"].items()}
    example = metrics["networks"]["cnn"]["examples"]["correct"]
    pixels = torch.tensor(example["pixels"], dtype=torch.float32).reshape(28, 28) / 127.5 - 1
    shifted = [shift(pixels, s, 0, q["q8"]["translation"]["fill"]).numpy() for s in q["q8"]["translation"]["shifts"]]
    return [Page("q8_gains", "Question 8 (1 of 2)", Q8,
                 figures.q8_gains_figure(q["q8"], q8_paragraph(q["q8"], comparisons, shift=2, configs=configs), Q8_TEXT)),
            Page("q8_why", "Question 8 (2 of 2)", "translation and locality",
                 figures.q8_why_figure(q["q8"], shifted, comparisons, note, translation_words(q["q8"]))),
            Page("q9_stages", "Question 9 (1 of 2)", Q9, figures.q9_stages_figure(q["q9"], q9_paragraph(q["q9"]), Q9_TEXT)),
            Page("q9_patches", "Question 9 (2 of 2)", "what each conv stage detects",
                 figures.q9_patches_figure(q["q9"]))]


def summary_lines(metrics: dict) -> list[str]:
    lines = [f"{'network':8} {'test acc':>9} {'leaderboard':>12} {'parameters':>11} "
             f"{'epochs':>7} {'train time':>11}"]
    for key, _, net in _present(metrics):
        test = net["test"]
        lines.append(f"{key.upper():8} {100 * test['accuracy']:8.2f}% {100 * test['leaderboard']:11.2f}% "
                     f"{net['parameters']['total']:>11,} {len(net['history']['epochs']):>7} "
                     f"{net['train_seconds']:>10.1f}s")
    lines += ["", "leaderboard = mean of test accuracy and accuracy on a random",
              "              10,000-image subset of the 60,000 training images", ""]
    for key, _, net in _present(metrics):
        cfg = net["config"]
        lines += [f"{key.upper()}: trained {net['finished']} on {net['device']}, seed {net['seed']}",
                  f"     epochs {cfg['epochs']}, batch {cfg['batch_size']}, peak lr {cfg['lr']}, "
                  f"init {cfg['init']}, {cfg.get('precision', 'fp32')}, best epoch {net['history']['best_epoch']}"]
    lines.append("")
    if metrics.get("provenance"):  # versions, machine, command and more, in one record
        lines += textwrap.wrap(provenance.line(metrics["provenance"]), 92, subsequent_indent="  ",
                               break_on_hyphens=False)
    else:
        env = metrics.get("environment", {})
        lines += ["versions: " + ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items()),
                  f"machine: {env.get('machine', '?')}"]
    for key, _, net in _present(metrics):
        lines.append(f"{key}.pth sha256 {net.get('weights_sha256', '?')[:16]}...")
    return lines + [""]


def write_pdf(path: Path, metrics: dict, pages: list[Page], note: str = "") -> int:
    """The hand-in: the summary page of `metrics`, then `pages` in order; return the page count."""
    return write_document(path, "Fashion-MNIST: feed-forward and convolutional networks",
                          summary_lines(metrics) + (textwrap.wrap(note, 92) + [""] if note else []), pages,
                          "Fashion-MNIST coursework figures")
