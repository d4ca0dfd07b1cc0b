"""One report per spec, from what the other scripts wrote (it trains nothing): a first page
that lists every item of the spec with the page that answers it, or the command that would
produce it; then one page per item, in the spec's order: its number and question, its
figures or table, and, where the spec asks a question, the answer computed from the run.
"""
import io
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import matplotlib.image as mpimg
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from fmnist.core import files, plotting, stats
from fmnist.studies import groups
from fmnist.studies.engine import planned

COMMANDS = {"metrics": "python fashionmnist.py", "analysis": "python analyze.py"}
MEASURED = "Measured facts to build on (the words are yours to write):"


@dataclass
class Sources:
    """What the other scripts wrote under one output folder (None: not there, or not finished)."""
    out_dir: Path
    metrics: dict | None = None
    analysis: dict | None = None
    studies: dict = field(default_factory=dict)

    def has(self, need: str) -> bool:
        if need in ("metrics", "analysis"):
            return bool(getattr(self, need))
        return bool(self.studies.get(need.split(":", 1)[1]))

    def png(self, relative: str) -> Path:
        return self.out_dir / relative


def studies(items: list) -> list[str]:
    """The studies some item needs ("study:NAME"), in the order they are first named."""
    return list(dict.fromkeys(n.split(":", 1)[1] for i in items for n in i.needs if n.startswith("study:")))


def command(need: str) -> str:
    return COMMANDS.get(need) or f"python experiments.py {need.split(':', 1)[1]}"


def load(out_dir: Path, study_names) -> Sources:
    """Every file a report may read, each checked by its own loader."""
    out_dir = Path(out_dir)
    studies = {}
    for name in study_names:
        results = files.load_results(out_dir / "experiments" / name / "results.json", name)
        studies[name] = results if results.get("finished") else None
    metrics = files.load_metrics(out_dir) or None
    analysis = files.load_analysis(out_dir) or None
    return Sources(out_dir, metrics, analysis, studies)


@dataclass(frozen=True)
class Item:
    """One item of a spec: its number, a short form of its words, its points (if the spec gives
    them), the question in the spec's words, what it needs, its visuals (figures or PNG paths)
    and, where the spec asks a question, its answer (a paragraph computed from the sources)."""
    number: str
    short: str
    question: str
    needs: tuple = ()
    visuals: Callable = lambda src: []
    answer: Callable | None = None
    points: str | None = None

    def missing(self, src: Sources) -> list[str]:
        return [n for n in self.needs if not src.has(n)]


def draw_image(visual, src: Sources) -> np.ndarray:
    """A figure or a PNG path as an image array."""
    if isinstance(visual, (str, Path)):
        return mpimg.imread(src.png(str(visual)))
    buffer = io.BytesIO()
    visual.savefig(buffer, format="png", dpi=100)
    buffer.seek(0)
    return mpimg.imread(buffer)


def item_page(spec: str, item: Item, src: Sources) -> Figure:
    """The item's number and question, its visuals side by side under it, its answer under them."""
    images = [draw_image(v, src) for v in item.visuals(src)]
    answer = item.answer(src) if item.answer else ""
    width, height = 11, 8.5
    fig = Figure(figsize=(width, height))
    head = textwrap.fill(f"{item.number}  {item.question}", 120)
    fig.text(0.04, 0.97, f"Spec {spec}, item {item.number}" + (f" ({item.points} points)" if item.points else ""),
             fontsize=13, fontweight="bold", va="top")
    fig.text(0.04, 0.935, head, fontsize=10, va="top", style="italic")
    wrapped = "\n".join(textwrap.fill(p, 150) for p in answer.split("\n")) if answer else ""
    text_height = (0.0175 * (wrapped.count("\n") + 1) + 0.02) if wrapped else 0
    top = 0.91 - 0.017 * head.count("\n")
    room = max(top - 0.03 - text_height, 0.15)  # the page height left for the visuals
    y = top
    if images:
        ratios = [im.shape[1] / im.shape[0] for im in images]  # width / height of each
        row_height = min(room, 0.94 * width / sum(ratios) / height)  # as tall as the width allows
        left = 0.5 - sum(ratios) * row_height * height / width / 2
        for im, r in zip(images, ratios):
            span = r * row_height * height / width
            ax = fig.add_axes([left, top - row_height, span, row_height])
            ax.imshow(im)
            ax.set_axis_off()
            left += span
        y = top - row_height - 0.015
    if wrapped:
        fig.text(0.04, y, wrapped, fontsize=8.5, va="top", linespacing=1.35)
    return fig


def first_page(spec: str, title: str, items: list[Item], pages: dict, src: Sources) -> Figure:
    """Every item of the spec, with the page that answers it or the command that would produce it."""
    lines = [f"Spec {spec}: every item in the spec's order, with its page in this report.", ""]
    for item in items:
        where = (f"page {pages[item.number]}" if item.number in pages
                 else "not yet: run " + " and ".join(f"`{command(n)}`" for n in item.missing(src)) + " first")
        points = f" [{item.points}]" if item.points else ""
        lines += textwrap.wrap(f"{item.number:7} {item.short}{points}: {where}", 100, subsequent_indent=" " * 8)
    quick = sorted(name for name, results in src.studies.items() if results and any(
        r["config"].get("quick") for r in results["runs"].values()))
    lines += ["", f"Made by python report.py {spec} from {src.out_dir}: it reads what fashionmnist.py, analyze.py",
              "and experiments.py wrote, and trains nothing. Every number on the pages comes from those files."]
    if quick:
        lines += textwrap.wrap(f"--quick results (tiny subsets, one epoch: a smoke run, not measurements): "
                               f"{', '.join(quick)}.", 100)
    return plotting.text_figure(title, lines)


def write(path: Path, spec: str, title: str, items: list[Item], src: Sources) -> dict:
    """The report: the first page, then one page per item whose sources are there. Returns
    {item number: page} for the items it holds."""
    numbers = [i.number for i in items]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"spec {spec}: an item number appears twice")
    ready = [i for i in items if not i.missing(src)]
    pages = {item.number: n for n, item in enumerate(ready, start=2)}
    with PdfPages(path, metadata={"Title": title}) as pdf:
        pdf.savefig(first_page(spec, title, items, pages, src))
        for item in ready:
            pdf.savefig(item_page(spec, item, src))
    return pages


def rows(results: dict) -> dict:
    """{row: its seeds' records} of a finished study."""
    return groups.by_row(planned(results))


def mean_of(runs: list[dict], measure: str) -> dict:
    return stats.interval(list(groups.per_seed(runs, measure).values()))
