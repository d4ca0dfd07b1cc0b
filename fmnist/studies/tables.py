"""A study's tables and notes (table.md, table.csv), its figures, and experiments.pdf, all drawn
from results.json alone, so that a finished study is redrawn without training.
"""
import csv
import io
import textwrap
from pathlib import Path

from matplotlib.figure import Figure

from fmnist.core import files, pages, provenance, storage
from fmnist.core.pages import PAGE_INCHES, series, write_document
from fmnist.core.storage import write_atomic
from fmnist.core.words import listing
from fmnist.studies import groups
from fmnist.studies.study import Study, planned

PDF_NAME = "experiments.pdf"


def notes(study: Study, results: dict) -> list[str]:
    """The lines under a study's table: its own notes, the rows too unsettled to read, and the
    rows that did not converge."""
    return ([groups.study_budget(results, planned(results))] + marked(study, results)
            + study.notes(results) + unsettled(planned(results)) + unfinished(planned(results), study.compared))


def marked(study: Study, results: dict) -> list[str]:
    """What the summary table's mark means: * the row ranked first, and by what."""
    best = groups.ranked(planned(results), study.measure, study.compared)[:1]
    if not best:
        return []
    label, _, higher = groups.MEASURES[study.measure]
    return [f"* {best[0][0]}: the {'highest' if higher else 'lowest'} mean {label} of the compared rows (not by "
            "itself a verdict: the intervals say whether it is ahead)."]


def table_notes(study: Study, results: dict) -> list[str]:
    """The notes a report prints under a study's summary table: what a cell holds and the mark."""
    return [groups.CELLS] + marked(study, results)


def unfinished(records: list[dict], compared=lambda config: True) -> list[str]:
    """A sentence naming the compared rows with a run that stopped at an epoch limit rather than
    by early stopping: what they measure is training cut short, and every verdict over them says so."""
    rows = {row: runs for row, runs in groups.by_row(records).items() if compared(runs[0]["config"])}
    names = groups.unconverged(rows)
    if not names:
        return []
    return [f"Not converged: {listing([f'{n} ({groups.stopped(rows[n])})' for n in names])} reached the epoch "
            "ceiling before early stopping stopped them; verdicts over these rows compare unfinished training and "
            "say so."]


def unsettled(records: list[dict]) -> list[str]:
    """A sentence naming the rows whose seeds disagree so much that the 95 % interval of their
    test accuracy runs past 0-100 %: a number there says only that it is not known."""
    wide = []
    for row, runs in groups.by_row(records).items():
        iv = groups.summary(runs)["test_acc"]
        if iv["half_width"] is not None and (iv["mean"] - iv["half_width"] < 0 or iv["mean"] + iv["half_width"] > 100):
            wide.append(f"{row} ({groups.cell(iv, 2)} over {len(runs)} seeds)")
    return [f"Too unsettled to read: the seeds of {listing(wide)} disagree so much that the 95 % interval of test "
            "accuracy runs past 0-100 %; more seeds would be needed before these rows say anything."] if wide else []


def summary_table(study: Study, results: dict) -> tuple[list[str], list[list[str]]]:
    """One row per setting over its seeds: mean ± the 95 % interval's half-width, n, the best
    epochs and why the runs stopped (early stopping, or an epoch limit: not converged)."""
    rows, records = [], planned(results)
    best = groups.ranked(records, study.measure, study.compared)[:1]
    for row, runs in groups.by_row(records).items():
        s = groups.summary(runs)
        described = study.describe(runs, records)
        mark = " *" if best and best[0][0] == row else ""
        cells = {"setting": row + mark, **described, "n": str(s["n"]),
                 "val loss": groups.cell(s["val_loss"], 4), "val acc %": groups.cell(s["val_acc"], 2),
                 "test acc %": groups.cell(s["test_acc"], 2),
                 "best epoch": ",".join(map(str, s["best_epochs"])),
                 "stopped": s["stopped"], "s / run": f"{s['seconds']:.0f}"}
        rows.append(cells)
    titles = list(dict.fromkeys(k for cells in rows for k in cells))  # every row's columns, in order
    return titles, [[cells.get(k, "-") for k in titles] for cells in rows]


def table(study: Study, results: dict) -> tuple[list[str], list[list]]:
    """The column titles and, per planned run, the raw values (None where not measured)."""
    rows = study.rows(planned(results))
    return [c.title for c in study.columns], [[r.get(c.key) for c in study.columns] for r in rows]


def formatted(study: Study, results: dict) -> tuple[list[str], list[list[str]]]:
    titles, rows = table(study, results)
    return titles, [["-" if v is None else c.fmt.format(v) for c, v in zip(study.columns, row)] for row in rows]


def _markdown_table(titles: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)] + ["| " + " | ".join(r) + " |" for r in rows]


def markdown(study: Study, results: dict) -> str:
    """The summary over seeds (mean ± 95 % half-width), its notes, then every run."""
    lines = _markdown_table(*summary_table(study, results)) + [""] + [f"{n}  " for n in notes(study, results)]
    for title, columns, rows, below in study.tables(results):
        lines += ["", f"{title}:", ""] + _markdown_table(columns, rows) + [""] + [f"{n}  " for n in below]
    lines += ["", "Every run:", ""] + _markdown_table(*formatted(study, results))
    return "\n".join(lines) + "\n"


def csv_text(study: Study, results: dict) -> str:
    titles, rows = table(study, results)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(titles)
    writer.writerows([[round(v, 6) if isinstance(v, float) else v for v in row] for row in rows])
    return buffer.getvalue()


def write_outputs(study: Study, results: dict, folder: Path, dpi: int) -> list:
    """table.md, table.csv and the figures (PNG; --quick draws them coarser, to be quick);
    returns the pages, so that the PDF need not draw them again."""
    storage.write_text(folder / "table.md", markdown(study, results))
    storage.write_text(folder / "table.csv", csv_text(study, results))
    pages = study.pages(results)
    for page in pages:
        write_atomic(folder / f"{page.stem}.png", lambda tmp: page.save_png(tmp, dpi))
    return pages


def write_pdf(studies: dict, out_dir: Path, drawn: dict | None = None) -> list[str]:
    """experiments.pdf from every finished study under out_dir/experiments (the pages of the
    studies in `drawn`, name -> pages, are reused); returns the studies' names."""
    drawn = drawn or {}
    lines, shown, included = ["Every study, its runs and its headline. A number written 'mean ± h (n N)' is the mean "
                              "over "
                              "N seeds and h the half-width of its 95 % t-interval: the interval runs from mean - h "
                              "to mean + h.", ""], [], []
    for name, study in studies.items():
        path = out_dir / "experiments" / name / "results.json"
        results = files.load_results(path, name)
        if not results.get("finished"):
            continue
        included.append(name)
        records = planned(results)
        lines += [f"{name} ({study.spec}): {study.title}",
                  f"  {len(records)} runs, finished {results['finished']}, "
                  f"{sum(r['seconds'] for r in records) / 60:.1f} min of runs"]
        if results.get("provenance"):
            lines.append(textwrap.fill(provenance.line(results["provenance"]), 96, initial_indent="  ",
                                       subsequent_indent="    "))
        lines += [textwrap.fill(line, 96, initial_indent="  ", subsequent_indent="    ")
                  for line in [groups.study_budget(results, records)] + study.headline(results)
                  + unfinished(records, study.compared)] + [""]
        titles, rows = summary_table(study, results)
        shown += series(f"{name}_table", f"{study.spec}, {name}", "the table (mean ± 95 % half-width)",
                        table_figures(study.title, titles, rows, notes(study, results)))
        shown += drawn[name] if name in drawn else study.pages(results)
    if included:
        write_atomic(out_dir / PDF_NAME, lambda tmp: write_document(
            tmp, "Fashion-MNIST experiments", lines, shown, "Fashion-MNIST experiments"))
    return included


def timing_row(study: Study, results: dict, make_run: float) -> str:
    """The README's row of a study, from its results.json: its runs and how each stopped, the
    training images of its compared runs, the time its runs took with the machines and days they
    ran on (each run's own record), and that time over `make_run` (seconds of a make run measured
    on a machine of the same name)."""
    records = planned(results)
    early = sum(groups.converged(r) for r in records)
    fixed = sum("patience" not in r["config"] for r in records)
    sizes = sorted({r["sizes"]["train"] for r in records if study.compared(r["config"]) and r.get("sizes")})
    images = f"{sizes[0]:,}" + (f"-{sizes[-1]:,}" if len(sizes) > 1 else "")
    seconds = sum(r.get("seconds", 0) for r in records)
    stops = (f"{len(records)}, every one stopped early" if early == len(records) else
             f"{len(records)}: {early} stopped early" + (f", {fixed} of fixed epochs by design" if fixed else "")
             + (f", {len(records) - early - fixed} at the ceiling" if len(records) - early - fixed else ""))
    machines = ", ".join(sorted({(r.get("provenance") or {}).get("cpu", "?") for r in records}))
    days = sorted({(r.get("finished_at") or "?")[:10] for r in records})
    when = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
    return (f"| `{study.name}` | {study.spec.replace('Spec ', '')} | {images} images a run | {stops} | "
            f"{seconds / 60:.1f} min ({machines}, {when}) | {seconds / make_run:.1f} |")


CELL_CHARS = 24  # a table cell's longest line before it wraps (shorter where the table would not fit)
TABLE_CHARS = 165  # 8-pt characters across the page's width
LINE = 0.16  # inches per line of 8-pt text in a cell
NOTE_LINE = 8 * 1.2 / 72  # inches per line of the 8-pt notes


def report_table(study: Study, results: dict) -> list[Figure]:
    """A study's summary table with its notes, as table_figures draws it (a report's visual)."""
    titles, body = summary_table(study, results)
    return table_figures(study.title, titles, body, table_notes(study, results))


def table_figures(title: str, columns: list[str], rows: list[list[str]], notes: list[str]) -> list[Figure]:
    """A study's table across the page, each long cell wrapped, with its notes underneath; rows
    that do not fit go on to further pages (the header repeated), and the notes that do not fit
    flow onto text pages after the last."""
    width, height = PAGE_INCHES
    labels = [textwrap.fill(c, 11) for c in columns]
    for limit in range(CELL_CHARS, 7, -1):  # a table too wide for the page wraps its cells shorter
        cells = [[textwrap.fill(str(v), limit) for v in row] for row in rows]
        chars = [max(len(line) for text in [label] + [r[i] for r in cells] for line in text.split("\n")) + 2
                 for i, label in enumerate(labels)]  # each column as wide as its longest line
        if sum(chars) <= TABLE_CHARS:
            break
    tall = lambda row: LINE * max(t.count("\n") + 1 for t in row) + 0.08  # noqa: E731  (inches)
    axes_height = height - 1.4
    parts, part, used = [], [], tall(labels)
    for i, row in enumerate(cells):  # rows in runs that fit under the header
        if part and used + tall(row) > axes_height - 0.3:
            parts.append(part)
            part, used = [], tall(labels)
        part.append(i)
        used += tall(row)
    parts.append(part)
    even = pages.chunks(list(range(len(cells))), -(-len(cells) // len(parts)))  # as many pages, rows shared evenly
    if all(tall(labels) + sum(tall(cells[i]) for i in run) <= axes_height - 0.3 for run in even):
        parts = even  # the last page keeps room for the notes
    figs = []
    for n, part in enumerate(parts, start=1):
        last = n == len(parts)
        fig, rest = _table_page(f"{title}" + (f" (rows {part[0] + 1}-{part[-1] + 1} of {len(rows)})" if len(parts) > 1
                                                else ""), labels, [cells[i] for i in part], [rows[i] for i in part],
                                chars, notes if last else [], tall, title)
        figs += [fig] + rest
    return figs


FILL = 0.55  # a table page whose table and notes would cover less than half its height is set larger, to this
LARGEST = 1.25  # ... but at most this much larger (10-pt cells)


def largest_scale(natural: float, room: float, chars: int) -> float:
    """How much larger than 8 pt a table page is set: 1 where its table and notes (`natural`
    inches tall at 8 pt) cover half of `room` or more; otherwise enough to cover FILL of it, at most
    LARGEST, and never wider than the page (`chars` 8-pt characters across, TABLE_CHARS fit)."""
    if natural >= room / 2:
        return 1.0
    return max(1.0, min(LARGEST, FILL * room / natural, TABLE_CHARS / chars))


def _table_page(title: str, labels: list[str], cells: list[list[str]], rows: list[list[str]], chars: list[int],
                notes: list[str], tall, table_title: str) -> tuple[Figure, list[Figure]]:
    """One page of a table, its notes under it; returns it and the text pages the notes flow onto."""
    width, height = PAGE_INCHES
    per_note = [pages.wrap(note, pages.TEXT[False][0]).split("\n") for note in notes]  # as text pages set them
    wrapped = [line for lines in per_note for line in lines]
    fig = Figure(figsize=PAGE_INCHES)
    axes_height = height - 1.4
    ax = fig.add_axes([0.4 / width, 0.4 / height, 1 - 0.8 / width, axes_height / height])
    ax.axis("off")
    heights = [tall(labels)] + [tall(row) for row in cells]
    natural = sum(heights) + 0.2 + len(wrapped) * NOTE_LINE  # inches, at 8 pt
    scale = largest_scale(natural, axes_height, sum(chars))
    heights = [scale * h for h in heights]
    span = min(1.0, scale * sum(chars) / TABLE_CHARS)  # narrow tables keep their proportions
    table = ax.table(cellText=cells, colLabels=labels, cellLoc="center", loc="upper center",
                     colWidths=[span * c / sum(chars) for c in chars])
    table.auto_set_font_size(False)
    table.set_fontsize(8 * scale)
    for (r, _c), cell in table.get_celld().items():
        cell.set_height(heights[r] / axes_height)
    for col in range(len(labels)):
        table[0, col].set_text_props(fontweight="bold")
        table[0, col].set_facecolor("#eeeeee")
    for r, row in enumerate(rows, start=1):
        if any(str(v).endswith(" *") for v in row):  # the marked row
            for col in range(len(labels)):
                table[r, col].set_facecolor("#fff3c4")
    used = sum(heights) + 0.2  # inches, down to the notes
    room = max(1, int((axes_height - used) / (scale * NOTE_LINE)))
    if len(wrapped) > room:  # whole notes while they fit, the last line saying where the rest went
        lines = [len(note) for note in per_note]
        shown = max([k for k in range(len(notes) + 1) if sum(lines[:k]) <= room - 1])
        prose = lambda k: len(pages.wrap("\n".join(notes[k:]), pages.TEXT[True][0]).split("\n"))  # noqa: E731
        while (shown > 0 and prose(shown) < pages.TEXT[True][1] // 2  # the next page half empty: give it a note
               and used + sum(lines[:shown - 1]) * scale * NOTE_LINE >= axes_height / 2):  # while this stays half full
            shown -= 1
        here = [line for note in per_note[:shown] for line in note] + ["(the notes continue on the next page)"]
        rest = notes[shown:]
    else:
        here, rest = wrapped, []
    ax.text(0, 1 - used / axes_height, "\n".join(here), va="top", fontsize=8 * scale, family="monospace",
            transform=ax.transAxes)
    fig.table_scale = scale
    fig.suptitle(title, fontsize=12, y=1 - 0.35 / height, va="top")
    fig.table_text = {"title": title, "columns": [label.replace("\n", " ") for label in labels],
                      "rows": [[str(v) for v in row] for row in rows], "notes": notes}  # for a text copy (LaTeX)
    rest = pages.text_pages(f"{table_title}: notes", rest, prose=True) if rest else []  # flowing text
    for page in rest:
        page.table_text = None  # the notes are in the table's text copy already
    return fig, rest
