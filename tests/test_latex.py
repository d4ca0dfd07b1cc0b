"""The reports' LaTeX sources: text escaped for pdflatex, tables as tabular, figures beside the
.tex, and every source compiling (CI installs Debian's texlive-latex-base; without pdflatex the
compile tests are skipped)."""
import shutil
import subprocess
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from fmnist.reports import build, latex
from fmnist.studies import figures

ROOT = Path(__file__).resolve().parent.parent
PDFLATEX = shutil.which("pdflatex")


def compile_tex(tex: Path) -> str:
    """Typeset the source as report.py does (latex.typeset); return the PDF's text."""
    pdf = latex.typeset(tex)
    assert pdf == tex.with_name(tex.stem + "_latex.pdf") and pdf.is_file()
    assert not tex.with_suffix(".aux").exists() and not tex.with_suffix(".log").exists()  # left in a scratch folder
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def test_escape_keeps_what_pdflatex_would_misread():
    assert (
        latex.escape("95 % CI, a_b & c $5 #1 {x} ~ ^")
        == r"95 \% CI, a\_b \& c \$5 \#1 \{x\} \textasciitilde{} \textasciicircum{}"
    )
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
    table = figures.table_figures(
        "A table_1", ["setting", "val loss"], [["lr 0.05 *", "0.48 ± 0.07"], ["50 % data", "1"]], ["Note: 95 % CI."]
    )
    return build.Item("1.1", "an item", "What is 5 % of a_b?", (), lambda src: table + [fig, "made.png"],
                      lambda src: "Answer: 0.25 ± 0.01 (95 % CI).\n- a point", "2.5")


def test_a_report_source_holds_the_question_answer_table_and_figures(tmp_path):
    src = build.Sources(tmp_path)
    tex = latex.write(tmp_path / "report_x.tex", "x", "Spec x: a test", [_item(tmp_path)], src,
                      lambda src: ["Data: 10 images.", "- a network"])
    source = tex.read_text()
    assert "\\section*{Set-up}" in source and "\\section*{Item 1.1 (2.5 points)}" in source
    assert "\\emph{What is 5 \\% of a\\_b?}" in source and "0.25 \\textpm{} 0.01" in source
    assert "\\begin{tabular}{ll}" in source and "lr 0.05 * & 0.48 \\textpm{} 0.07 \\\\" in source
    assert sorted(p.name for p in (tmp_path / "report_x_figures").iterdir()) == ["item-1-1-2.png", "item-1-1-3.png"]
    if PDFLATEX:
        text = compile_tex(tex)
        assert "What is 5 % of a_b?" in text and "0.48 ± 0.07" in text


@pytest.mark.slow
@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (CI installs texlive-latex-base)")
@pytest.mark.parametrize("spec", ["000", "001", "003", "004"])
def test_the_committed_report_sources_compile(spec, tmp_path):
    for name in (f"report_{spec}.tex", f"report_{spec}_figures"):
        source = ROOT / "outputs" / name
        (shutil.copytree if source.is_dir() else shutil.copyfile)(source, tmp_path / name)
    text = compile_tex(tmp_path / f"report_{spec}.tex")
    assert "Set-up" in text and "Item " in text


def test_typeset_is_skipped_without_pdflatex_and_a_broken_source_is_one_error(tmp_path, monkeypatch):
    tex = tmp_path / "report_x.tex"
    tex.write_text("\\documentclass{article}\\begin{document}\\undefinedcommand\\end{document}\n")
    if PDFLATEX:
        with pytest.raises(RuntimeError, match="pdflatex could not typeset report_x.tex"):
            latex.typeset(tex)
        assert not (tmp_path / "report_x_latex.pdf").exists()
    monkeypatch.setattr(latex.shutil, "which", lambda name: None)
    assert latex.typeset(tex) is None


def test_a_table_wider_than_the_page_wraps_its_columns_instead_of_shrinking():
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
    fitted = latex.widths(columns, rows, latex.ROOM_PT[False])
    assert sum(w * latex.CHAR_PT + latex.PAD_PT for w in fitted) <= latex.ROOM_PT[False]
    assert fitted[1] < len(rows[0][1]) and fitted[0] == len("1. change")  # the long column wraps, the short keep
    source = latex.tabular({"title": "t", "columns": columns, "rows": rows, "notes": []})
    assert "resizebox" not in source and source.count("p{") == 4 and "\\raggedright" in source
    assert latex.widths(["a"], [["x" * 200]], 100.0) is None  # one unbreakable word wider than the room
