"""The page standard (fmnist/core/pages.py): every page of every PDF is US letter landscape,
with no text under 8 pt, outside the page, within 0.2 in of its edge or on top of other text;
checked by reading the written PDFs back with poppler's pdftotext."""
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.text import Text

from fmnist.core import pages, readback
from fmnist.core.device import cores

ROOT = Path(__file__).resolve().parent.parent
needs_reader = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                  reason="pdftotext missing: apt-get install poppler-utils")


def chart(title: str = "a chart") -> Figure:
    fig = Figure(layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_title(title)
    return fig


def test_fit_sets_the_page_size_and_raises_small_text():
    fig = Figure(figsize=(16, 4))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1])
    ax.tick_params(labelsize=5)
    note = fig.text(0.1, 0.1, "small", fontsize=6)
    big = fig.text(0.5, 0.5, "big", fontsize=14)
    fig.suptitle("word " * 80, fontsize=12)
    pages.fit(fig)
    assert tuple(fig.get_size_inches()) == pages.PAGE_INCHES
    assert note.get_fontsize() == pages.MIN_POINTS and big.get_fontsize() == 14
    fig.canvas.draw()  # the ticks drawn take the raised size too
    assert min(t.get_fontsize() for t in ax.get_xticklabels() + ax.get_yticklabels()) == pages.MIN_POINTS
    assert max(len(line) for line in fig.get_suptitle().split("\n")) <= pages.TITLE_CHARS


def test_the_texts_raised_are_findobjs_but_for_hidden_axes_ticks():
    fig = Figure()
    shown, hidden = fig.subplots(1, 2)
    shown.plot([0, 1], [0, 1])
    shown.set_title("shown")
    hidden.imshow(np.zeros((4, 4)))
    hidden.set_title("hidden's title")
    hidden.text(1, 1, "a label on the image", fontsize=5)
    hidden.set_axis_off()
    legend = shown.legend(["line"])
    fig.suptitle("a page")
    hidden_axis_texts = set(hidden.xaxis.findobj(Text) + hidden.yaxis.findobj(Text))
    oracle = [t for t in fig.findobj(Text) if t not in hidden_axis_texts]
    assert set(pages.texts(fig)) == set(oracle) and len(pages.texts(fig)) == len(oracle)
    assert legend.get_texts()[0] in pages.texts(fig) and hidden.texts[0] in pages.texts(fig)
    pages.raise_small_text(fig)
    assert hidden.texts[0].get_fontsize() == pages.MIN_POINTS


def test_text_flows_onto_as_many_pages_as_it_needs():
    lines = [f"line {i} " + "x" * 200 for i in range(60)]  # each wraps onto two lines
    figs = pages.text_pages("Title", lines)
    chars, per_page, _ = pages.TEXT[False]
    assert len(figs) == -(-120 // per_page)
    shown = "\n".join(f.texts[1].get_text() for f in figs)
    assert all(f"line {i} " in shown for i in range(60))
    assert max(len(line) for line in shown.split("\n")) <= chars
    assert [f.texts[0].get_text() for f in figs][-1] == f"Title ({len(figs)} of {len(figs)})"


@pytest.mark.parametrize("n, size", [(0, 5), (1, 5), (5, 5), (23, 20), (43, 42), (100, 7), (6, 1)])
def test_chunks_are_as_few_as_the_size_allows_and_as_even_as_can_be(n, size):
    items = list(range(n))
    runs = pages.chunks(items, size)
    assert [i for run in runs for i in run] == items
    assert len(runs) == -(-n // size)  # as few as runs of `size` need
    lengths = [len(r) for r in runs]
    assert all(0 < k <= size for k in lengths) and lengths == sorted(lengths, reverse=True)
    assert not lengths or max(lengths) - min(lengths) <= 1
    assert pages.chunks(list(range(23)), 20) == [list(range(12)), list(range(12, 23))]


def test_unwrap_undoes_wrap_so_text_can_be_wrapped_to_another_width():
    text = "\n".join(["first paragraph " + " ".join(["word"] * 30), "- a point " + " ".join(["more"] * 25), "",
                      "a short line"])
    for narrow in (30, 50, 70):
        assert pages.unwrap(pages.wrap(text, narrow)) == pages.unwrap(text) == text
        assert pages.wrap(pages.unwrap(pages.wrap(text, narrow)), 90) == pages.wrap(text, 90)
    assert pages.unwrap("a title\nconv1\n24 x 28") == "a title\nconv1\n24 x 28"  # lines of their own stay


def test_series_numbers_the_pages_of_one_figure():
    out = pages.series("stem", "Heading", "caption", [chart(), chart()])
    assert [p.stem for p in out] == ["stem", "stem_2"]
    assert [p.heading for p in out] == ["Heading (1 of 2)", "Heading (2 of 2)"]
    assert [p.stem for p in pages.series("one", "Heading", "c", [chart()])] == ["one"]


@needs_reader
def test_a_standard_document_passes_the_check(tmp_path):
    path = tmp_path / "good.pdf"
    count = pages.write_document(path, "A document", ["a summary line"] * 50,
                                 [pages.Page("p", "Page", "a caption", chart())], "good")
    assert count == 3 and readback.check_pdf(path) == []
    assert [(round(w), round(h)) for w, h, _ in readback.read_words(path)] == [(792, 612)] * 3


@needs_reader
def test_the_check_finds_each_kind_of_fault(tmp_path):
    path = tmp_path / "bad.pdf"
    off = Figure(figsize=pages.PAGE_INCHES)
    off.text(0.9, 0.5, "overhanging words")
    off.text(0.5, -0.2, "Below")  # wholly off the paper
    off.text(0.5, 0.01, "Edge")  # on it, but 6 pt from its edge
    overlap = Figure(figsize=pages.PAGE_INCHES)
    overlap.text(0.3, 0.5, "Alpha")
    overlap.text(0.3, 0.505, "Bravo")
    with PdfPages(path) as pdf:
        pdf.savefig(chart())  # matplotlib's default size, 6.4 x 4.8 in
        pdf.savefig(off)
        pdf.savefig(overlap)
    problems = readback.check_pdf(path)
    on = {n: sorted(p for p in problems if p.startswith(f"bad.pdf page {n}: ")) for n in (1, 2, 3)}
    assert "bad.pdf page 1: 460.8 x 345.6 pt, not 792 x 612" in on[1]
    assert on[2][0] == "bad.pdf page 2: 'Below' lies outside the page"
    assert on[2][1] == "bad.pdf page 2: 'Edge' lies within 0.2 in of the page's edge"
    assert on[2][2] == "bad.pdf page 2: 'words' lies outside the page"  # 'overhanging' ends on the paper
    assert len(on[2]) == 3
    assert on[3] in (["bad.pdf page 3: 'Alpha' and 'Bravo' overlap"], ["bad.pdf page 3: 'Bravo' and 'Alpha' overlap"])


@needs_reader
def test_the_check_takes_a4_reports_and_finds_small_text_and_mixed_sizes(tmp_path):
    path = tmp_path / "report.pdf"
    a4 = tuple(v / 72 for v in readback.A4_POINTS)
    small = Figure(figsize=a4)
    small.text(0.3, 0.5, "tiny words", fontsize=6)
    small.text(0.3, 0.4, "x", fontsize=5)  # a lone character (a power's exponent) is left alone
    small.text(0.3, 0.3, "large enough", fontsize=9)
    with PdfPages(path) as pdf:
        pdf.savefig(small)
        pdf.savefig(chart())  # 6.4 x 4.8 in: neither standard size, and not the document's
    problems = readback.check_pdf(path)
    assert problems[0] == "report.pdf: text under 8 pt: 'tiny words'" and len([p for p in problems if "pt:" in p]) == 1
    assert "report.pdf page 2: 460.8 x 345.6 pt, not 595.276 x 841.89" in problems
    assert not any(p.startswith("report.pdf page 1") for p in problems)


@needs_reader
def test_a_page_left_nearly_empty_is_found_but_the_last_is_not(tmp_path):
    path = tmp_path / "doc.pdf"
    with PdfPages(path) as pdf:
        for lines in (3, 40, 30, 2):  # text from the top: 3 lines is thin, 30 of 9-pt lines over half
            fig = Figure(figsize=pages.PAGE_INCHES)
            fig.text(0.05, 0.95, "\n".join(f"line {i} " + "word " * 20 for i in range(lines)), va="top",
                     fontsize=9, linespacing=1.6)
            pdf.savefig(fig)
    assert readback.thin_pages(path) == [1]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm missing: apt-get install poppler-utils")
@pytest.mark.parametrize("path", sorted((ROOT / "outputs").glob("*.pdf")), ids=lambda p: p.name)
def test_no_committed_page_but_a_documents_last_is_less_than_half_used(path):
    assert readback.thin_pages(path) == []


def written_pdfs() -> list[Path]:
    """The PDFs of a run: $PRINT_DIR's (CI sets it to its quick run's folder), else the committed ones."""
    folder = Path(os.environ.get("PRINT_DIR", ROOT / "outputs"))
    return sorted(folder.glob("*.pdf"))


@needs_reader
@pytest.mark.parametrize("path", written_pdfs(), ids=lambda p: p.name)
def test_every_page_written_meets_the_standard(path):
    assert readback.check_pdf(path) == []


def test_a_table_flows_the_notes_that_do_not_fit_onto_text_pages():
    from fmnist.studies.tables import table_figures
    rows = [[f"row {i}", "a long setting " * 4, "1.00 ± 0.10"] for i in range(12)]
    notes = [f"note {i}: " + "words " * 30 for i in range(40)]
    figs = table_figures("A study", ["setting", "what changed", "val loss"], rows, notes)
    assert len(figs) >= 2
    shown = " ".join(t.get_text() for f in figs for t in f.findobj(Text)).replace("\n", " ")
    assert all(f"note {i}:" in shown for i in range(40))
    assert "(the notes continue on the next page)" in shown
    assert len(table_figures("A study", ["setting"], [["base"]], ["one note"])) == 1


def test_a_short_table_page_is_set_larger_to_cover_half_the_page_and_a_long_one_is_not():
    from fmnist.studies.tables import LARGEST, TABLE_CHARS, largest_scale, table_figures
    assert largest_scale(4.0, 7.0, 100) == 1.0  # already more than half
    assert largest_scale(3.4, 7.1, 100) == pytest.approx(0.55 * 7.1 / 3.4)  # just enough for FILL
    assert largest_scale(1.0, 7.1, 100) == LARGEST  # at most LARGEST
    assert largest_scale(1.0, 7.1, TABLE_CHARS) == 1.0  # a table as wide as the page stays at 8 pt
    rows = [[f"row {i}", "a setting", "1.00 ± 0.10"] for i in range(4)]
    (short,) = table_figures("A study", ["setting", "what changed", "val loss"], rows, ["one note"] * 5)
    assert short.table_scale == LARGEST
    table = short.axes[0].tables[0]
    assert table[1, 0].get_text().get_fontsize() == 8 * LARGEST
    long = table_figures("A study", ["setting", "what changed", "val loss"], rows * 8, ["one note"] * 30)
    assert long[0].table_scale == 1.0


def test_a_long_table_shares_its_rows_evenly_and_its_notes_go_on_as_flowing_text():
    from fmnist.studies.tables import table_figures
    rows = [[f"row {i}", "a setting", "1.00 ± 0.10"] for i in range(40)]
    notes = [f"note {i}" for i in range(40)]
    figs = table_figures("A study", ["setting", "what changed", "val loss"], rows, notes)
    tables = [f for f in figs if getattr(f, "table_text", None)]
    assert [len(f.table_text["rows"]) for f in tables] == [20, 20]  # not 26 and 14
    shown = "\n".join(t.get_text() for f in figs for t in f.findobj(Text))
    assert all(f"note {i}\n" in shown + "\n" for i in range(40))
    (extra,) = [f for f in figs if getattr(f, "table_text", 0) is None]  # the notes that did not fit: flowing text
    assert extra.texts[1].get_fontfamily() != ["monospace"] and extra.texts[1].get_text().startswith("note ")


def test_the_contents_give_a_series_one_line_and_every_other_page_its_own():
    fig = lambda: Figure(figsize=pages.PAGE_INCHES, layout="constrained")  # noqa: E731
    doc = pages.series("maps", "Maps", "what the maps show", [fig(), fig()]) + [
        pages.Page("roc", "ROC", "the curves", fig()), pages.Page("roc2", "ROC", "other curves", fig())]
    assert pages.contents(doc, 3) == ["  pages 3-4: Maps: what the maps show", "     page 5: ROC: the curves",
                                      "     page 6: ROC: other curves"]


def test_the_learning_curve_turns_logarithmic_only_when_an_early_spike_would_flatten_it():
    import numpy as np

    from fmnist.studies.figures import iteration_curve_figure
    calm = [{"epoch": e, "val_loss": 1.0 / e} for e in range(1, 5)]
    spike = [{"epoch": 1, "val_loss": 16.0}] + calm[1:]
    batches = list(np.linspace(2.0, 0.3, 40))
    assert iteration_curve_figure("t", batches, calm).axes[0].get_yscale() == "linear"
    fig = iteration_curve_figure("t", batches, spike)
    assert fig.axes[0].get_yscale() == "log" and fig.axes[0].get_ylabel().endswith("log scale")



def test_the_epoch_curves_turn_logarithmic_only_for_a_spike():
    from fmnist.studies.figures import curves_figure

    calm = [
        {"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.2 / e, "train_acc": 0.8, "val_acc": 0.8} for e in (1, 2, 3)
    ]
    spike = [{**calm[0], "val_loss": 7.1}] + calm[1:]
    assert curves_figure("t", {"a": calm}).axes[0].get_yscale() == "linear"
    assert curves_figure("t", {"a": calm, "b": spike}).axes[0].get_yscale() == "log"


def _small_pages(n: int) -> list[pages.Page]:
    out = []
    for k in range(n):
        fig = Figure(layout="constrained")
        fig.subplots().plot([0, 1], [k, 1 - k])
        out.append(pages.Page(f"p{k}", f"page {k}", "a line", fig))
    return out


def test_pngs_drawn_aside_are_the_pngs_drawn_here(tmp_path):
    here, aside = tmp_path / "here", tmp_path / "aside"
    here.mkdir(), aside.mkdir()
    for page in _small_pages(3):
        page.fig.savefig(here / f"{page.stem}.png", dpi=40, format="png")
    made = _small_pages(3)
    with pages.PngsAside(made, aside, 40) as pngs:
        assert pngs.process is not None or cores() < 2 or sys.platform != "linux"  # a fork where it can
        pages.write_pages(tmp_path / "doc.pdf", [p.fig for p in made], "t")  # the PDF meanwhile
        pngs.wait()
    assert sorted(p.name for p in aside.iterdir()) == ["p0.png", "p1.png", "p2.png"]
    for name in ("p0.png", "p1.png", "p2.png"):  # the same picture as drawn in this process
        assert np.array_equal(imread(here / name), imread(aside / name))


def test_pngs_are_drawn_here_when_the_second_process_fails(tmp_path):
    folder = tmp_path / "later"  # missing when the second process draws: it fails and exits 1
    with pages.PngsAside(_small_pages(2), folder, 40) as pngs:
        if pngs.process is not None:
            pngs.process.join()
            assert pngs.process.exitcode == 1
        folder.mkdir()
        pngs.wait()
    assert sorted(p.name for p in folder.iterdir()) == ["p0.png", "p1.png"]


def test_a_second_process_that_hangs_is_stopped_and_the_pngs_drawn_here(tmp_path, monkeypatch):
    monkeypatch.setattr(pages, "_draw_pngs", lambda jobs, dpi: time.sleep(600))  # the fork runs this
    monkeypatch.setattr(pages.PngsAside, "PATIENCE", (1.0, 0.0))
    start = time.monotonic()
    with pages.PngsAside(_small_pages(2), tmp_path, 40) as pngs:
        pngs.wait()
        assert pngs.process is None or not pngs.process.is_alive()
    assert time.monotonic() - start < 60
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p0.png", "p1.png"]


def test_pngs_are_drawn_here_on_one_core(tmp_path, monkeypatch):
    monkeypatch.setattr("fmnist.core.device.cores", lambda: 1)
    with pages.PngsAside(_small_pages(2), tmp_path, 40) as pngs:
        assert pngs.process is None
        pngs.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p0.png", "p1.png"]


def test_the_cover_pages_contents_keep_each_page_label_level_with_its_wrapped_entry():
    rows = [("page 2", "Q1 (FFN): short"), ("pages 3-5", "Question 9: " + "a long entry " * 10), ("page 6", "last")]
    fig = pages.cover_page("Title", ["a summary"], rows)
    labels, entries = (t.get_text().split("\n") for t in fig.texts[-2:])
    assert len(labels) == len(entries) and labels.index("pages 3-5") == entries.index(next(
        e for e in entries if e.startswith("Question 9")))
    assert labels[labels.index("pages 3-5") + 1] == "" and labels[-1] == "page 6" and entries[-1] == "last"
    assert all("monospace" not in t.get_fontfamily() for t in fig.texts)
    assert pages.cover_page("Title", ["a summary"], [(f"page {i}", "an entry") for i in range(60)]) is None
