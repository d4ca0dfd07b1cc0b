"""The hand-in: the figures of questions 1-4 rebuilt from metrics.json, and the one PDF.

fashionmnist.py and kernel_vis.py both call `write_pdf`; the pages of questions 1-4 come
from metrics.json alone, so kernel_vis.py can rebuild the whole document without training.
"""
from pathlib import Path

import torch

from fmnist.core import files, plotting, provenance
from fmnist.core.assignment import NAMES as NETWORKS
from fmnist.core.data import CLASSES, shift
from fmnist.core.pages import Page, contents_rows, cover_page, series, text_pages, write_document, write_pages
from fmnist.core.words import listing, share, span, training_words
from fmnist.handin import figures, questions
from fmnist.handin.answers import (
    channel_parts,
    channel_words,
    q8_paragraph,
    q9_paragraph,
    stage_reading,
    stages_note,
    translation_words,
)


def _present(metrics: dict) -> list[tuple[str, str, dict]]:
    """(key, label, record) for each network that metrics.json holds, FFN first."""
    return [(key, NETWORKS[key], metrics["networks"][key]) for key in NETWORKS
            if key in metrics.get("networks", {})]


def training_pages(metrics: dict, column: bool = False) -> list[Page]:
    """Questions 1-4 for each network in metrics.json, in question order; `column`: the confusion
    matrices as one matrix each, for a report's text column."""
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
                          "confusion matrix on the test set, predicted vs true class",
                          plotting.confusion_figure(label, net["test"]["confusion"], CLASSES, column=column)))
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
    runs = [r for r in locality.get("runs", {}).values() if r.get("history")]
    ran = [len(r["history"]) for r in runs]
    stop = (f"early stopping (patience {runs[0]['config']['patience']}) after {span(ran)} epochs"
            if runs and "patience" in runs[0]["config"] else f"{finish.get('epochs')} epochs per run")
    images = (finish.get("sizes") or {}).get("train")
    seeds = next(iter(comparisons.values()))["difference"]["n"]
    pool = locality.get("pool")
    return comparisons, ((f"{images:,} training images a run" + (f" ({share(images, pool)})" if pool else "")
                          + ", " if images else "") + stop
                         + f" ({LOCALITY_COMMAND}, {seeds} seeds each; grey dots: the seeds, bars: 95 % intervals)."
                         + quick)


def read_locality(out_dir: Path) -> dict | None:
    """The locality study's results.json under `out_dir`, if it is there."""
    path = Path(out_dir) / "experiments" / "locality" / "results.json"
    return files.load_results(path, "locality") or None


def shifted_example(metrics: dict) -> list:
    """Question 8's picture of the translation test: the CNN's correctly classified example moved
    right by each shift, the border filled as the test fills it."""
    t = metrics["questions"]["q8"]["translation"]
    example = metrics["networks"]["cnn"]["examples"]["correct"]
    pixels = torch.tensor(example["pixels"], dtype=torch.float32).reshape(28, 28) / 127.5 - 1
    return [shift(pixels, s, 0, t["fill"]).numpy() for s in t["shifts"]]


def question_column(metrics: dict, locality: dict | None = None) -> dict:
    """Questions 8 and 9 for a text column ({"q8": [...], "q9": [...]}, figures and table dicts,
    questions.q8_column and q9_column); empty when metrics.json has no such entry."""
    q = metrics.get("questions") or {}
    if "q8" not in q:
        return {}
    comparisons, note = locality_note(locality)
    readings = {(st["stage"], ch["channel"]): channel_parts(ch) for st in q["q9"]["patches"] for ch in st["channels"]}
    return {"q8": questions.q8_column(q["q8"], shifted_example(metrics), comparisons, note,
                                      translation_words(q["q8"])),
            "q9": questions.q9_column(q["q9"], {k: v for k, v in readings.items() if v},
                                      {st["stage"]: stage_reading(st) for st in q["q9"]["patches"]})}


def question_pages(metrics: dict, locality: dict | None = None) -> list[Page]:
    """Questions 8 and 9 from metrics.json's "questions" (and the locality study's results,
    when it has run); none when metrics.json has no such entry."""
    q = metrics.get("questions") or {}
    if "q8" not in q:
        return []
    comparisons, note = locality_note(locality)
    configs = {k: net.get("config", {}) for k, net in metrics["networks"].items()}
    patches = questions.q9_patches_figures(q["q9"], {(st["stage"], ch["channel"]): channel_words(ch)
                                                     for st in q["q9"]["patches"] for ch in st["channels"]},
                                           {st["stage"]: stage_reading(st) for st in q["q9"]["patches"]})
    q9 = 1 + len(patches)
    return [
        Page(
            "q8_gains",
            "Question 8 (1 of 2)",
            Q8,
            questions.q8_gains_figure(q["q8"], q8_paragraph(q["q8"], comparisons, shift=2, configs=configs), Q8_TEXT),
        ),
        Page(
            "q8_why",
            "Question 8 (2 of 2)",
            "translation and locality",
            questions.q8_why_figure(q["q8"], shifted_example(metrics), comparisons, note, translation_words(q["q8"])),
        ),
        Page(
            "q9_stages",
            f"Question 9 (1 of {q9})",
            Q9,
            questions.q9_stages_figure(q["q9"], q9_paragraph(q["q9"], stages=False) + "\n"
                                       + stages_note(q["q9"], "The next pages"), Q9_TEXT),
        ),
    ] + [
        Page(
            "q9_patches" + (f"_{k}" if k > 1 else ""),
            f"Question 9 ({k + 1} of {q9})",
            "what each conv stage detects",
            fig,
        )
        for k, fig in enumerate(patches, start=1)
    ]


def architecture_words(parameters: dict) -> str:
    """The layers with weights, read from the parameter list: 'conv 24, 48, 96 (3x3), then fully
    connected 864-256-10'."""
    weights = [shape for name, shape, _ in parameters["layers"] if name.endswith(".weight") and len(shape) in (2, 4)]
    convs = [s for s in weights if len(s) == 4]
    linears = [s for s in weights if len(s) == 2]
    parts = [f"conv {', '.join(str(s[0]) for s in convs)} ({listing(sorted({f'{s[2]}x{s[3]}' for s in convs}))})"
             ] if convs else []
    if linears:
        parts.append("fully connected " + "-".join(map(str, [linears[0][1]] + [s[0] for s in linears])))
    return ", then ".join(parts)


def evaluation_words(config: dict) -> str:
    return ("each test image scored by the mean of its own and its mirror image's logits"
            if config.get("test_time_flip") else "each test image scored as it is")


def summary_lines(metrics: dict) -> list[str]:
    """The first page: what the document holds, the two networks, their recipe and results, in
    sentences computed from metrics.json; the provenance last, in a block of its own."""
    nets = _present(metrics)
    if not nets:  # kernel_vis.py on a checkpoint with no metrics.json beside it
        return ["Questions 5-7 of the assignment for a checkpoint with no metrics.json beside it: questions 1-4, 8 "
                "and 9 need python fashionmnist.py.", ""]
    sizes = metrics.get("sizes")
    data = (f"{sizes['train']:,} training images ({sizes['val']:,} more held out for validation), scored on the "
            f"{sizes['test']:,} test images" if sizes else "the training images, scored on the test images")
    lines = [f"Questions 1-9 of the assignment for {listing([f'the {NETWORKS[k]}' for k, _, _ in nets])}, trained "
             f"on Fashion-MNIST's {data}.", ""]
    for key, _, net in nets:
        history = net["history"]
        lines.append(f"{key.upper()}: {architecture_words(net['parameters'])}; {net['parameters']['total']:,} "
                     f"parameters; test accuracy {100 * net['test']['accuracy']:.2f}%, test loss "
                     f"{net['test']['loss']:.4f}; {len(history['epochs'])} epochs, weights of epoch "
                     f"{history['best_epoch']} kept.")
    if len(nets) == 2:
        (_, _, ffn), (_, _, cnn) = nets
        gap = 100 * (cnn["test"]["accuracy"] - ffn["test"]["accuracy"])
        ratio = ffn["parameters"]["total"] / cnn["parameters"]["total"]
        lines += ["", f"The CNN classifies {abs(gap):.2f} percentage points {'more' if gap >= 0 else 'fewer'} of the "
                      f"test images correctly than the FFN, with {ratio if ratio >= 1 else 1 / ratio:.1f} times "
                      f"{'fewer' if ratio >= 1 else 'more'} parameters (question 8 asks why)."]
    lines += ["", "Leaderboard accuracy (the course's): the mean of test accuracy and accuracy on a random "
                  "10,000-image subset of the 60,000 training images: " + "; ".join(
                      f"{key.upper()} {100 * net['test']['leaderboard']:.2f}%" for key, _, net in nets) + ".", ""]
    return lines


def method_lines(metrics: dict) -> list[str]:
    """The last page: how each network was trained and scored, from its configuration in
    metrics.json."""
    lines = ["How each was trained and scored (from its configuration in metrics.json):"]
    for key, _, net in _present(metrics):
        cfg = net["config"]
        lines.append(f"{key.upper()}: {training_words(cfg)}; {cfg.get('precision', 'fp32')}, seed {net['seed']}, "
                     f"the weights of the epoch of lowest validation loss kept; {evaluation_words(cfg)}; trained "
                     f"{net['finished']} on {net['device']} in {net['train_seconds']:.1f} s.")
    return lines + [""]


def provenance_lines(metrics: dict) -> list[str]:
    """Where the numbers come from: versions, machine, command, data and weights hashes."""
    lines = ["Provenance:"]
    if metrics.get("provenance"):  # versions, machine, command and more, in one record
        lines.append("  " + provenance.line(metrics["provenance"]))
    else:
        env = metrics.get("environment", {})
        lines += ["  versions: " + ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items()),
                  f"  machine: {env.get('machine', '?')}"]
    lines.append("  " + "; ".join(f"{key}.pth sha256 {net.get('weights_sha256', '?')[:16]}..."
                                  for key, _, net in _present(metrics)))
    return lines + [""]


TITLE = "Fashion-MNIST: feed-forward and convolutional networks"


def write_pdf(path: Path, metrics: dict, pages: list[Page], note: str = "") -> int:
    """The hand-in: a cover page (the summary of `metrics` beside the contents), then `pages` in
    order, then how they were made (the training recipes, `note`, the provenance) on the last
    page; return the page count. A summary too long for one page flows onto text pages instead."""
    made = series("made", "How these pages were made", "training, scoring and provenance",
                  text_pages("How these pages were made", method_lines(metrics) + ([note, ""] if note else [])
                             + provenance_lines(metrics), prose=True))
    pages = pages + made
    prose = summary_lines(metrics)
    cover = cover_page(TITLE, prose, contents_rows(pages, 2))
    if cover is None:
        return write_document(path, TITLE, prose, pages, "Fashion-MNIST coursework figures")
    return write_pages(path, [cover] + [p.fig for p in pages], "Fashion-MNIST coursework figures")
