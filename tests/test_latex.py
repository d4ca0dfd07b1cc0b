"""The reports as LaTeX, the one way a report becomes a PDF: text escaped for pdflatex, tables as
booktabs longtables at the text's width, figures redrawn for the column beside the .tex, the
contents' page numbers where the items are, and every source compiling (CI installs Debian's
texlive-latex-base and texlive-latex-recommended; without pdflatex the compile tests are skipped)."""
import shutil
import subprocess
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from fmnist.reports import build, column, latex
from fmnist.studies import figures
from fmnist.studies.tables import table_figures

ROOT = Path(__file__).resolve().parent.parent
PDFLATEX = shutil.which("pdflatex")


def compile_tex(tex: Path) -> tuple[str, dict]:
    """Typeset the source as report.py does (latex.typeset); return the PDF's text and how far
    each figure floated from its item."""
    pdf, drift = latex.typeset(tex)
    assert pdf == tex.with_suffix(".pdf") and pdf.is_file()
    assert not tex.with_suffix(".aux").exists() and not tex.with_suffix(".log").exists()  # left in a scratch folder
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout, drift


def test_escape_keeps_what_pdflatex_would_misread():
    assert (
        latex.escape("95 % CI, a_b & c $5 #1 {x} ~ ^")
        == r"95 \% CI, a\_b \& c \$5 \#1 \{x\} \textasciitilde{} \textasciicircum{}"
    )
    assert latex.escape("(FF_Net) mobilenet_assignment.py") == r"(FF\_Net) mobilenet\_\allowbreak{}assignment.py"
    assert latex.escape("python train.py --lr 0.01") == "python train.py -{}-lr 0.01"
    assert latex.escape("0.48 ± 0.07, 4 × 4, 12–18 — é") == r"0.48 \textpm{} 0.07, 4 \texttimes{} 4, 12--18 --- e"
    assert latex.escape(r"C:\path") == r"C:\textbackslash{}path"


def test_lines_become_paragraphs_and_lists():
    text = latex.paragraphs(["Networks:", "- one", "  more of one", "- two", "After."])
    assert text == "Networks:\n\n\\begin{itemize}\n\\item one more of one\n\\item two\n\\end{itemize}\nAfter.\n\n"


def _item(tmp_path):
    png = tmp_path / "made.png"
    fig = Figure(figsize=(4, 3))
    fig.add_subplot().plot([0, 1], [1, 0])
    fig.savefig(png)
    table = table_figures(
        "A table_1", ["setting", "val loss"], [["lr 0.05 *", "0.48 ± 0.07"], ["50 % data", "1"]], ["Note: 95 % CI."]
    )
    return build.Item("1.1", "an item", "What is 5 % of a_b?", (), lambda src: table + [fig, "made.png"],
                      lambda src: "Answer: 0.25 ± 0.01 (95 % CI).\n- a point", "2.5")


def test_a_report_source_holds_the_question_answer_table_and_figures(tmp_path):
    src = build.Sources(tmp_path)
    tex = latex.write(tmp_path / "report_x.tex", "x", "Spec x: a test", [_item(tmp_path)], src,
                      lambda src: ["Data: 10 images.", "- a network"],
                      [("Code and submissions", lambda src: ["train.py writes model.pth."])])
    source = tex.read_text()
    assert source.index("\\section*{Code and submissions}\ntrain.py writes model.pth.") > source.index("Item 1.1")
    assert "Made by python report.py" not in source.split("\\begin{document}")[1]  # the source's header says it
    assert "\\section*{Set-up}" in source and "\\subsection*{Item 1.1 (2.5 points)}\\label{item-1-1}" in source
    assert "\\emph{What is 5 \\% of a\\_b?}" in source and "0.25 \\textpm{} 0.01" in source
    assert "\\begin{longtable}{ll}" in source and "\\toprule" in source
    assert "lr 0.05 * & 0.48 \\textpm{} 0.07 \\\\" in source
    assert sorted(p.name for p in (tmp_path / "report_x_figures").iterdir()) == ["item-1-1-2.pdf", "item-1-1-3.png"]
    assert "\\caption{Item 1.1: an item.}" in source  # a figure without a title of its own
    # the figures go into the float queue under the question, before the answer; the table after it
    question, figure, answer, table = (source.index(t) for t in ("\\emph{What is", "\\begin{figure}[!tbp]",
                                                                 "0.25 \\textpm{}", "\\begin{longtable}{ll}"))
    assert question < figure < answer < table and source.count("\\begin{figure}[!tbp]") == 2
    if PDFLATEX:
        text, _ = compile_tex(tex)
        assert "What is 5 % of a_b?" in text and "0.48 ± 0.07" in text


@pytest.mark.slow
@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (CI installs texlive-latex-base)")
@pytest.mark.parametrize("spec", ["000", "001", "003", "004"])
def test_the_committed_report_sources_compile(spec, tmp_path):
    for name in (f"report_{spec}.tex", f"report_{spec}_figures"):
        source = ROOT / "outputs" / name
        (shutil.copytree if source.is_dir() else shutil.copyfile)(source, tmp_path / name)
    text, drift = compile_tex(tmp_path / f"report_{spec}.tex")
    assert "Set-up" in text and "Item " in text
    # each figure near its item: floated at most 2 pages on (the hand-in's stay where they stand, its
    # longest item spanning 4 pages)
    assert drift and 0 <= min(drift.values()) and max(drift.values()) <= (3 if spec == "001" else 2), drift


def test_typeset_is_skipped_without_pdflatex_and_a_broken_source_is_one_error(tmp_path, monkeypatch):
    tex = tmp_path / "report_x.tex"
    tex.write_text("\\documentclass{article}\\begin{document}\\undefinedcommand\\end{document}\n")
    if PDFLATEX:
        with pytest.raises(RuntimeError, match="pdflatex could not typeset report_x.tex"):
            latex.typeset(tex)
        assert not (tmp_path / "report_x.pdf").exists()
    monkeypatch.setattr(latex.shutil, "which", lambda name: None)
    assert latex.typeset(tex) is None


def test_a_table_wider_than_the_text_wraps_its_columns_and_splits_rather_than_shrinking():
    columns = ["setting", "settings", "val loss", "test acc %"]
    rows = [
        [
            f"{k}. change",
            "2 conv, dropout 0, SGD, momentum 0, L2 0, lr 0.05, BN no, flip no " * 2,
            "0.0859 ± 0.0084",
            "97.36 ± 0.26",
        ]
        for k in range(5)
    ]
    fitted = latex.widths(columns, rows, latex.ROOM_PT)
    assert sum(w * latex.CHAR_PT + latex.PAD_PT for w in fitted) <= latex.ROOM_PT
    assert fitted[1] < len(rows[0][1]) and fitted[0] == len("1. change")  # the long column wraps, the short keep
    source = latex.tabular({"title": "t", "columns": columns, "rows": rows, "notes": []})
    assert "resizebox" not in source and "landscape" not in source and source.count("p{") == 4
    assert latex.widths(["a"], [["x" * 200]], 100.0) is None  # one unbreakable word wider than the room
    # twelve columns of 15-character cells: no wrap fits them, so they split into groups, each with the names
    wide = [f"column {k}" for k in range(12)]
    cells = [[f"row {r} " + "x" * 8 for _ in range(12)] for r in range(3)]
    groups = latex.column_groups(wide, cells)
    assert len(groups) > 1 and all(g[0] == 0 for g in groups) and sorted({k for g in groups for k in g}) == list(
        range(12))
    assert all(latex.widths([wide[k] for k in g], [[r[k] for k in g] for r in cells], latex.ROOM_PT) for g in groups)
    source = latex.tabular({"title": "Wide", "columns": wide, "rows": cells, "notes": ["a note"]})
    assert source.count("\\begin{longtable}") == len(groups) and f"(columns {len(groups)} of {len(groups)})" in source


def test_a_figure_is_redrawn_for_the_column_with_its_title_as_the_caption():
    fig = Figure(figsize=(20, 4), layout="constrained")
    axes = fig.subplots(1, 4)
    for ax in axes:
        ax.plot([0, 1], [0, 1])
        ax.set_title("a title much too long for a quarter of the column's width, which must wrap")
        ax.tick_params(labelsize=5)
    fig.suptitle("What the figure shows")
    fig, caption = column.for_column(fig)
    assert caption == "What the figure shows" and not fig.get_suptitle()
    assert fig.get_size_inches()[0] == pytest.approx(column.TEXT_INCHES)
    # four panels of 5 in would shrink below SHRINK of their width: two columns, two rows, reading order kept
    assert [(ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start) for ax in axes] == [
        (0, 0), (0, 1), (1, 0), (1, 1)]
    assert all("\n" in ax.get_title() for ax in axes)
    assert min(t.get_fontsize() for ax in axes for t in ax.get_xticklabels()) >= 8


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (CI installs texlive-latex-base)")
def test_the_contents_give_the_page_each_item_is_on(tmp_path):
    def item(number, lines, figures=0):
        def draw(src):
            out = []
            for _ in range(figures):
                fig = Figure(figsize=(8, 5))
                fig.add_subplot().plot([0, 1], [1, 0])
                out.append(fig)
            return out
        return build.Item(number, f"item {number}", f"Question {number}?", (), draw,
                          lambda src: "\n".join(["Some words of an answer, long enough to fill a line. " * 3] * lines))
    items = [item("1", 3), item("2", 30, figures=2), item("3", 40), item("4", 3)]
    tex = latex.write(tmp_path / "report_x.tex", "x", "Spec x", items + [
        build.Item("5", "waits", "Question 5?", ("study:mobilenet",))], build.Sources(tmp_path))
    pdf, drift = latex.typeset(tex)
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    listed = {line.split()[0]: line.split()[-1] for line in pages[0].splitlines()
              if line.strip()[:1].isdigit() and "item" in line}
    found = {n: next(k for k, page in enumerate(pages, start=1) if f"Item {n}" in page) for n in "1234"}
    assert {n: int(listed[n]) for n in "1234"} == found and found["4"] > found["1"]
    assert "5 waits not yet: run python experiments.py mobilenet first" in " ".join(pages[0].split()), pages[0]
    # how far each figure floated: the page its caption is on, less its item's
    captions = {f"item-2-{k}": next(p for p, page in enumerate(pages, start=1) if f"Figure {k}:" in page)
                for k in (1, 2)}
    assert drift == {stem: page - found["2"] for stem, page in captions.items()}


def test_a_figure_that_says_its_column_height_gets_it_and_its_page_margins_go():
    from fmnist.core.pages import Page
    images = [[[0.0] * 14] * 14] * 5
    fig = figures.feature_maps_figure("t", images, ["a", "b", "c", "d", "e"], "relu2",
                                      [[[[1.0] * 14] * 14] * 8] * 5, [f"ch. {c}\n2.00x" for c in range(8)],
                                      {(0, 1)}, "a note under the maps")
    fig = Page("maps", "h", "c", fig).fig  # on a page: its labels placed inside the page's margins
    assert fig.column_inches == pytest.approx(0.5 * 5 + 0.15 * 1 + 0.45 + 0.9)  # rows, a head's 2nd line, the note
    fig, _ = column.for_column(fig)
    assert tuple(fig.get_size_inches()) == pytest.approx((column.TEXT_INCHES, fig.column_inches))
    assert fig.get_layout_engine().get()["rect"] == (0, 0, 1, 1) and fig._supxlabel.get_in_layout()


def test_a_paragraph_over_120_words_is_cut_between_sentences_into_even_parts():
    sentence = lambda k, n: f"Sentence {k} has " + " ".join(["word"] * (n - 4)) + " 93.6 %."  # noqa: E731
    short = " ".join(sentence(k, 20) for k in range(5))  # 100 words: one paragraph
    assert latex.split_long(short) == [short]
    long = " ".join(sentence(k, 25) for k in range(10))  # 250 words: three parts of 75-100
    parts = latex.split_long(long)
    assert " ".join(parts) == long and len(parts) == 3
    assert all(p.startswith("Sentence ") and p.endswith(" %.") for p in parts)
    assert all(len(p.split()) <= latex.LONGEST for p in parts)
    one = " ".join(["word"] * 150) + "."  # a single sentence stays whole
    assert latex.split_long(one) == [one]
    source = latex.paragraphs([long, "- an item", "  its continuation"])
    assert source.count("\n\n") >= 3 and "\\item an item its continuation" in source


def test_a_title_wrapped_for_a_narrow_panel_keeps_its_words_whole():
    from fmnist.reports import column
    fig = Figure(figsize=(6.68, 2))
    axes = fig.subplots(1, 8)
    axes[0].set_title("T-shirt/top, predicted Pullover", fontsize=8)  # a panel under an inch wide
    column.wrap_titles(fig)
    assert axes[0].get_title().split("\n") == ["T-shirt/top,", "predicted", "Pullover"]  # centred: no indents


def test_text_among_an_items_visuals_is_set_as_its_paragraphs_where_it_stands(tmp_path):
    item = build.Item("9", "q", "Question?", (), lambda src: [latex.Text(["A reading of 5 % of it.", "- a point"])])
    v = latex.visual(item.visuals(None)[0], build.Sources(tmp_path), tmp_path, "item-9-1", item, "H")
    assert v == latex.paragraphs(["A reading of 5 % of it.", "- a point"]) and "5 \\%" in v and "\\item a point" in v
