"""Each report as LaTeX source beside its PDF (spec 000 accepts only LaTeX reports, and a
student rewrites the words in their own hand before handing in): the same set-up, questions and
computed answers as text, every table as a `tabular`, every figure as a PNG in a folder beside
the .tex. It compiles with a minimal TeX (Debian's texlive-latex-base: pdflatex); where pdflatex
is installed, report.py also typesets it, as report_SPEC_latex.pdf."""
import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path

from fmnist.core.storage import write_atomic, write_text
from fmnist.reports.build import Item, Sources

# What pdflatex with T1 fonts and textcomp cannot take as it is
SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "±": r"\textpm{}",
    "×": r"\texttimes{}",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "→": r"$\rightarrow$",
    "–": "--",
    "—": "---",
    "−": "-",
    "’": "'",
    "‘": "`",
    "“": "``",
    "”": "''",
    "…": "...",
    "°": r"\textdegree{}",
    "µ": r"\textmu{}",
    "·": r"\textperiodcentered{}",
    "≈": r"$\approx$",
    "²": r"\textsuperscript{2}",
}


WIDE = 6  # columns beyond which a table turns the page


def escape(text: str) -> str:
    """Text as LaTeX source: its special characters escaped, other non-ASCII letters decomposed."""
    out, text = [], str(text)
    for i, ch in enumerate(text):
        if ch == "-" and text[i + 1:i + 2] == "-":  # a flag's --: not an en dash
            out.append("-{}")
        elif ch in SPECIAL:
            out.append(SPECIAL[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode() or "?")
    return "".join(out)


def paragraphs(lines: list[str]) -> str:
    """Lines of computed text: a line starting '- ' an item of a list, an indented line the
    continuation of the one before, every other line a paragraph."""
    out, in_list = [], False
    for line in lines:
        if line.startswith("- "):
            out.append(("" if in_list else "\\begin{itemize}\n") + f"\\item {escape(line[2:])}")
            in_list = True
            continue
        if line.startswith("  ") and out:
            out[-1] += " " + escape(line.strip())
            continue
        if in_list:
            out.append("\\end{itemize}")
            in_list = False
        out.append(escape(line) + "\n" if line.strip() else "")
    if in_list:
        out.append("\\end{itemize}")
    return "\n".join(out) + "\n"


CHAR_PT = 4.6  # an average character of \footnotesize Latin Modern (9 pt), in points
ROOM_PT = {False: 483.0, True: 728.0}  # A4's text width less the 2 cm margins, portrait and landscape
PAD_PT = 6.0  # \tabcolsep on both sides of a column


def widths(columns: list[str], rows: list[list[str]], room: float) -> list[int] | None:
    """Characters per column so that the table fits `room` points at \\footnotesize: each column as
    wide as its longest cell, then the widest of those that can still wrap narrowed one character
    at a time (never below its longest word). None when even that does not fit."""
    cells = [[str(c)] + [str(r[i]) for r in rows] for i, c in enumerate(columns)]
    width = [max(len(v) for v in col) for col in cells]
    floor = [max(len(w) for v in col for w in v.split() or [""]) for col in cells]
    while sum(w * CHAR_PT + PAD_PT for w in width) > room:
        can = [i for i in range(len(width)) if width[i] > floor[i]]
        if not can:
            return None
        width[max(can, key=lambda i: width[i])] -= 1
    return width


def tabular(table: dict) -> str:
    """A table as a `tabular` at \\footnotesize (9 pt): its columns wrap (ragged right) where it
    would be wider than the text, so nothing is shrunk below print size; a table that cannot fit
    even so is scaled to the width. Its notes go under it."""
    columns, rows = table["columns"], table["rows"]
    head = " & ".join(f"\\textbf{{{escape(c)}}}" for c in columns)
    body = "\n".join(" & ".join(escape(v) for v in row) + r" \\" for row in rows)
    notes = "".join(f"\\par\\footnotesize {escape(n)}\n" for n in table["notes"])
    wide = len(columns) > WIDE  # a wide table gets a landscape page of its own
    natural = widths(columns, rows, float("inf"))
    fitted = widths(columns, rows, ROOM_PT[wide])
    if fitted == natural:  # fits as it is
        spec, start, end = "l" * len(columns), "", ""
    elif fitted:  # wrapped to fit
        spec = "".join(f">{{\\raggedright\\arraybackslash}}p{{{w * CHAR_PT:.0f}pt}}" for w in fitted)
        start, end = "", ""
    else:  # too wide even wrapped: scaled
        spec = "l" * len(columns)
        start, end = "\\resizebox{\\linewidth}{!}{%\n", "}"
    return (
        ("\\begin{landscape}\n" if wide else "")
        + f"\\begin{{center}}\\textbf{{{escape(table['title'])}}}\\\\[4pt]\n"
        + "\\footnotesize\\setlength{\\tabcolsep}{3pt}\n"
        + start
        + f"\\begin{{tabular}}{{{spec}}}\n\\hline\n{head} \\\\\n\\hline\n{body}\n\\hline\n"
        f"\\end{{tabular}}{end}\n\\end{{center}}\n{notes}" + ("\\end{landscape}\n" if wide else "")
    )


def visual(v, src: Sources, folder: Path, stem: str) -> str:
    """A visual of an item: a table as text, a figure (or a PNG another script wrote) as a PNG in `folder`."""
    table = getattr(v, "table_text", False)
    if table is None:
        return ""
    if table:
        return tabular(table)
    if isinstance(v, (str, Path)):
        shutil.copyfile(src.png(str(v)), folder / f"{stem}.png")
    else:
        write_atomic(folder / f"{stem}.png", lambda tmp: v.savefig(tmp, dpi=150, format="png"))
    return (f"\\begin{{center}}\n\\includegraphics[width=\\linewidth,height=0.85\\textheight,keepaspectratio]"
            f"{{{folder.name}/{stem}.png}}\n\\end{{center}}\n")


def write(path: Path, spec: str, title: str, items: list[Item], src: Sources, setup=None, closing=None) -> Path:
    """report_SPEC.tex and its figures folder (report_SPEC_figures/), from the same sources as the PDF."""
    folder = path.with_name(path.stem + "_figures")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    body = []
    if setup is not None:
        body.append("\\section*{Set-up}\n" + paragraphs(setup(src)))
    for item in items:
        head = (
            f"\\section*{{Item {escape(item.number)}"
            + (f" ({escape(item.points)} points)" if item.points else "")
            + "}\n"
        )
        if item.missing(src):
            body.append(head + escape("Not answered yet: run " + ", ".join(item.missing(src)) + " first.") + "\n")
            continue
        text = [f"\\emph{{{escape(item.question)}}}\n"]
        if item.answer:
            text.append(paragraphs(item.answer(src).split("\n")))
        safe = item.number.replace(".", "-")
        text += [visual(v, src, folder, f"item-{safe}-{k}") for k, v in enumerate(item.visuals(src), start=1)]
        body.append(head + "\n".join(text))
    if closing is not None:
        body.append("\\section*{Discussion}\n" + paragraphs(closing(src)))
    write_text(
        path,
        "% " + escape(title) + ": written by report.py from the measurements. Before you hand it in, put every\n"
        "% sentence in your own words; the numbers and figures are what your runs measured.\n"
        "\\documentclass[11pt,a4paper]{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{lmodern}\n"
        "\\usepackage{textcomp}\n\\usepackage{graphicx}\n\\usepackage{array}\n\\usepackage{lscape}\n\\usepackage[margin=2cm]{geometry}\n"
        "\\setlength{\\parindent}{0pt}\n\\setlength{\\parskip}{4pt}\n"
        f"\\title{{{escape(title)}}}\n\\author{{}}  % your name and roll number\n\\date{{\\today}}\n"
        "\\begin{document}\n\\maketitle\n" + "\n".join(body) + "\\end{document}\n")
    return path


def typeset(tex: Path) -> Path | None:
    """pdflatex the source (once: it has no cross-references) into report_SPEC_latex.pdf beside it,
    its auxiliary files left in a scratch folder; None where pdflatex is not installed. A source
    that does not compile raises RuntimeError with the end of pdflatex's log."""
    if shutil.which("pdflatex") is None:
        return None
    out = tex.with_name(tex.stem + "_latex.pdf")
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={scratch}",
                               tex.name], cwd=tex.parent, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"pdflatex could not typeset {tex.name}: " + done.stdout[-1500:])
        made = Path(scratch) / tex.with_suffix(".pdf").name  # copied in whole: a reader never sees half of it
        write_atomic(out, lambda tmp: shutil.copyfile(made, tmp))
    return out
