"""Each report as LaTeX, the one way a report becomes a PDF (spec 000 accepts only LaTeX reports;
a student rewrites the words in their own hand before handing in): report_SPEC.tex holds the
items in the spec's order, each with its question, the computed answer as paragraphs and lists,
its tables as booktabs tables at the text's width and its figures as floats; the figures go to
report_SPEC_figures/ as vector PDFs drawn at the text's width with no text under 8 pt at print
size. pdflatex (Debian: texlive-latex-base and texlive-latex-recommended) typesets it into
report_SPEC.pdf; without it the source and figures are still written, for a TeX installation or
Overleaf.
"""
import re
import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path
from typing import NamedTuple

from PIL import Image

from fmnist.core.storage import write_atomic, write_text
from fmnist.reports.build import Item, Sources, command
from fmnist.reports.column import ROOM_PT, for_column

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


def escape(text: str) -> str:
    """Text as LaTeX source: its special characters escaped, other non-ASCII letters decomposed."""
    out, text = [], str(text)
    for i, ch in enumerate(text):
        if ch == "-" and text[i + 1:i + 2] == "-":  # a flag's --: not an en dash
            out.append("-{}")
        elif ch in SPECIAL:  # a long identifier may break after an underscore, a short name (FF_Net) not
            out.append(SPECIAL[ch] + (r"\allowbreak{}" if ch == "_" and len(_word(text, i)) > SHORT else ""))
        elif ch == "/":  # a path may break after a slash
            out.append(r"/\allowbreak{}")
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode() or "?")
    return "".join(out)


SHORT = 12  # characters: a word this long or shorter is kept whole at its underscores


def _word(text: str, i: int) -> str:
    """The whitespace-delimited word of `text` that holds position i."""
    return text[text.rfind(" ", 0, i) + 1:(text.find(" ", i) + 1 or len(text) + 1) - 1]


LONGEST = 120  # words: a longer paragraph is split at its sentences into paragraphs about as long as each other
SENTENCE_END = re.compile(r"(?<=[a-z0-9%)][.!?])\s+(?=[A-Z])")


def split_long(text: str, longest: int = LONGEST) -> list[str]:
    """A paragraph of more than `longest` words as several, cut only between sentences, each about
    as long as the others (one sentence longer than that stays whole)."""
    total = len(text.split())
    if total <= longest:
        return [text]
    parts = -(-total // longest)
    out, before = [[] for _ in range(parts)], 0
    for sentence in SENTENCE_END.split(text):  # each to the part its middle word falls in
        size = len(sentence.split())
        out[min(parts - 1, int((before + size / 2) * parts // total))].append(sentence)
        before += size
    return [" ".join(part) for part in out if part]


def paragraphs(lines: list[str]) -> str:
    """Lines of computed text: a line starting '- ' an item of a list, an indented line the
    continuation of the one before, every other line a paragraph (split_long cuts a long one)."""
    blocks = []  # [kind, text]: "item", "paragraph" or "blank"
    for line in lines:
        if line.startswith("- "):
            blocks.append(["item", line[2:]])
        elif line.startswith("  ") and blocks:
            blocks[-1][1] += " " + line.strip()
        else:
            blocks.append(["paragraph", line] if line.strip() else ["blank", ""])
    out, in_list = [], False
    for kind, text in blocks:
        if kind == "item":
            out.append(("" if in_list else "\\begin{itemize}\n") + f"\\item {escape(text)}")
            in_list = True
            continue
        if in_list:
            out.append("\\end{itemize}")
            in_list = False
        out += [escape(part) + "\n" for part in split_long(text)] if kind == "paragraph" else [""]
    if in_list:
        out.append("\\end{itemize}")
    return "\n".join(out) + "\n"


CHAR_PT = 4.6  # an average character of \footnotesize Latin Modern (9 pt), in points
PAD_PT = 6.0  # \tabcolsep on both sides of a column


NARROWEST = 14  # characters: a column wrapped narrower reads as a stack of fragments


def widths(columns: list[str], rows: list[list[str]], room: float) -> list[int] | None:
    """Characters per column so that the table fits `room` points at \\footnotesize: each column as
    wide as its longest cell, then the widest of those that can still wrap narrowed one character
    at a time (never below its longest word). None when even that does not fit."""
    cells = [[str(c)] + [str(r[i]) for r in rows] for i, c in enumerate(columns)]
    width = [max(len(v) for v in col) for col in cells]
    floor = [max(min(w, NARROWEST), max(len(w) for v in col for w in v.split() or [""]))
             for w, col in zip(width, cells)]  # a column wraps no narrower than NARROWEST or its longest word
    while sum(w * CHAR_PT + PAD_PT for w in width) > room:
        can = [i for i in range(len(width)) if width[i] > floor[i]]
        if not can:
            return None
        width[max(can, key=lambda i: width[i])] -= 1
    return width


def column_groups(columns: list[str], rows: list[list[str]], room: float = ROOM_PT) -> list[list[int]]:
    """The columns in groups that each fit `room` (the first column, the row's name, repeated in
    every group): a table too wide for the text is split, not shrunk or turned sideways."""
    groups, current = [], [0]
    for i in range(1, len(columns)):
        trial = current + [i]
        fits = widths([columns[k] for k in trial], [[r[k] for k in trial] for r in rows], room) is not None
        if len(current) > 1 and not fits:
            groups.append(current)
            current = [0, i]
        else:
            current = trial
    return groups + [current]


def tabular(table: dict) -> str:
    """A table as a booktabs longtable at \\footnotesize (9 pt), which breaks across pages: columns
    wrap (ragged right) where the table would be wider than the text, and a table that is too wide
    even so is split into groups of columns, each repeating the first. Its notes go under it."""
    columns, rows = table["columns"], table["rows"]
    groups = column_groups(columns, rows)
    out = []
    for n, group in enumerate(groups, start=1):
        cols, body_rows = [columns[k] for k in group], [[r[k] for k in group] for r in rows]
        natural = widths(cols, body_rows, float("inf"))
        fitted = widths(cols, body_rows, ROOM_PT) or natural
        spec = ("l" * len(cols) if fitted == natural else
                "".join(f">{{\\raggedright\\arraybackslash}}p{{{w * CHAR_PT:.0f}pt}}" for w in fitted))
        head = " & ".join(f"\\textbf{{{escape(c)}}}" for c in cols)
        body = "\n".join(" & ".join(escape(v) for v in row) + r" \\" for row in body_rows)
        title = escape(table["title"]) + (f" (columns {n} of {len(groups)})" if len(groups) > 1 else "")
        out.append(
            "{\\footnotesize\\setlength{\\tabcolsep}{3pt}\n"
            f"\\begin{{longtable}}{{{spec}}}\n\\caption*{{\\normalsize\\textbf{{{title}}}}}\\\\\n"
            f"\\toprule\n{head} \\\\\n\\midrule\n\\endhead\n\\bottomrule\n\\endfoot\n{body}\n\\end{{longtable}}}}\n")
    notes = "".join(f"{{\\footnotesize {escape(n)}\\par}}\n" for n in table["notes"])
    return "".join(out) + notes


def merged(visuals: list) -> list:
    """The visuals with a table that the page renderer split over several pages ("... (rows 1-20
    of 45)") joined back into one (a longtable breaks across pages itself)."""
    out = []
    for v in visuals:
        table = getattr(v, "table_text", False)
        if table is None:  # a page of notes the table's text copy already holds
            continue
        title = table["title"].split(" (rows ")[0] if table else None
        last = getattr(out[-1], "table_text", None) if out else None
        if table and last and last["title"].split(" (rows ")[0] == title:
            out[-1] = Table({**last, "title": title, "rows": last["rows"] + table["rows"], "notes": table["notes"]})
        else:
            out.append(Table({**table, "title": title}) if table else v)
    return out


class Table:
    """A table dict ({title, columns, rows, notes}) as a visual of an item: set as a longtable."""

    def __init__(self, table_text: dict):
        self.table_text = table_text


class Text:
    """Lines of computed text as a visual of an item: read where it stands, beside the figure it
    reads (in the hand-in, whose figures and tables keep the item's order)."""

    def __init__(self, lines: list[str]):
        self.lines = lines


def visual(v, src: Sources, folder: Path, stem: str, item: Item, place: str = "!tbp") -> str:
    """A visual of an item: a table as a longtable, a figure as a float placed by `place` (H: where
    it stands in the text), drawn for the column as a vector PDF (a PNG another script wrote is
    placed as it is)."""
    table = getattr(v, "table_text", False)
    if table:
        return tabular(table)
    if isinstance(v, Text):
        return paragraphs(v.lines)
    if isinstance(v, (str, Path)):
        shutil.copyfile(src.png(str(v)), folder / f"{stem}.png")
        name, caption = f"{stem}.png", ""
    else:
        fig, caption = for_column(v)
        name = f"{stem}.pdf"
        write_atomic(folder / name, lambda tmp: fig.savefig(tmp, format="pdf", metadata={"CreationDate": None}))
    caption = caption or f"Item {item.number}: {item.short}."
    size = "scale=1"  # drawn for the column
    if name.endswith(".png"):  # a page drawn for figures.pdf: a landscape one turned to fill the portrait page
        with Image.open(folder / name) as png:
            turn = "angle=90," if png.width > png.height else ""
        size = turn + "width=\\linewidth,height=0.9\\textheight,keepaspectratio"
    return (f"\\begin{{figure}}[{place}]\n\\centering\n"
            f"\\includegraphics[{size}]{{{folder.name}/{name}}}\n"
            f"\\caption{{{escape(caption)}}}\\label{{fig:{stem}}}\n\\end{{figure}}\n")


def tall(v) -> str:
    """How tall a figure visual is set (after `visual` drew it): a figure as for_column sized it, a PNG
    page at most 0.9 of the text's height."""
    return "0.9\\textheight" if isinstance(v, (str, Path)) else f"{v.get_size_inches()[1] * 72.27:.0f}pt"


def label(item: Item) -> str:
    return "item-" + item.number.replace(".", "-")


def contents(spec: str, items: list[Item], src: Sources) -> str:
    """Every item of the spec with the page that answers it, or the command that would produce it."""
    rows = []
    for item in items:
        at = (f"\\pageref{{{label(item)}}}" if not item.missing(src) else
              escape("not yet: run " + " and ".join(command(n) for n in item.missing(src)) + " first"))
        points = f" [{item.points}]" if item.points else ""
        rows.append(f"{escape(item.number)} & {escape(item.short + points)} & {at} \\\\")
    return ("{\\footnotesize\\setlength{\\tabcolsep}{3pt}\n\\begin{longtable}{l>{\\raggedright\\arraybackslash}"
            "p{310pt}>{\\raggedright\\arraybackslash}p{120pt}}\n\\toprule\n"
            "\\textbf{Item} & \\textbf{What it asks} & \\textbf{Page} \\\\\n\\midrule\n\\endhead\n"
            + "\n".join(rows) + "\n\\bottomrule\n\\end{longtable}}\n")


PREAMBLE = r"""\documentclass[11pt,a4paper]{article}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage{textcomp}
\usepackage{microtype}
\usepackage{graphicx}
\usepackage{float}
\usepackage{array}
\usepackage{booktabs}
\usepackage{longtable}
\usepackage[margin=2cm]{geometry}
\usepackage[font=small,labelfont=bf]{caption}
\setlength{\parindent}{0pt}
\setlength{\parskip}{4pt}
\setlength{\emergencystretch}{3em}
\renewcommand{\topfraction}{0.9}
\renewcommand{\bottomfraction}{0.8}
\renewcommand{\textfraction}{0.1}
\renewcommand{\floatpagefraction}{0.75}
\setcounter{topnumber}{3}
\setcounter{totalnumber}{4}
\makeatletter  % \needspace{length}: a new page unless that much room is left on this one (needspace.sty's)
\newcommand{\needspace}[1]{\par\penalty-100\begingroup\setlength{\dimen@}{#1}\dimen@ii\pagegoal
  \advance\dimen@ii-\pagetotal\ifdim\dimen@>\dimen@ii\ifdim\dimen@ii>\z@\vfil\fi\break\fi\endgroup}
\makeatother
"""
QUESTION_ROOM = "7\\baselineskip"  # an item's heading, its question and a figure's caption


def write(path: Path, spec: str, title: str, items: list[Item], src: Sources, setup=None, closing=None,
          place: str = "!tbp") -> Path:
    """report_SPEC.tex and its figures folder (report_SPEC_figures/): the items and where each is
    answered, the set-up, each answered item with its figures and tables, the discussion. Figures
    float (`place`); "H" keeps each where it stands, for a document whose figures are the answers
    (the hand-in), where floating would carry them pages past their question."""
    folder = path.with_name(path.stem + "_figures")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    body = ["\\section*{Items}\n" + contents(spec, items, src)]
    quick = sorted(name for name, results in src.studies.items() if results and any(
        r["config"].get("quick") for r in results["runs"].values()))
    if quick:
        body.append(escape(f"--quick results (tiny subsets, one epoch: a smoke run, not measurements): "
                           f"{', '.join(quick)}.") + "\n")
    if setup is not None:
        body.append("\\section*{Set-up}\n" + paragraphs(setup(src)))
    for item in items:
        if item.missing(src):
            continue
        points = f" ({escape(item.points)} point{'' if item.points == '1' else 's'})" if item.points else ""
        head = f"\\subsection*{{Item {escape(item.number)}{points}}}\\label{{{label(item)}}}\n"
        safe = item.number.replace(".", "-")
        visuals = merged(list(item.visuals(src)))
        shown = [visual(v, src, folder, f"item-{safe}-{k}", item, place) for k, v in enumerate(visuals, start=1)]
        floats = [v for v in shown if v.startswith("\\begin{figure}")]
        answer = [paragraphs(item.answer(src).split("\n"))] if item.answer else []
        tables = [v for v in shown if v not in floats]
        if place == "H":  # figures and tables kept where they stand, in the item's order, then the answer
            text = [f"\\emph{{{escape(item.question)}}}\n"] + shown + answer
            if floats:  # the heading and question kept on the page of the first figure
                first = next(v for v in visuals if not getattr(v, "table_text", False))
                head = f"\\needspace{{\\dimexpr {tall(first)}+{QUESTION_ROOM}\\relax}}\n" + head
        else:  # floating figures set right under the question, before the answer that reads them: they
            # land at the top of this page or the next rather than pages after their item; tables last
            text = [f"\\emph{{{escape(item.question)}}}\n"] + floats + answer + tables
        body.append(head + "\n".join(text))
    for heading, lines in closing or []:  # (heading, its lines) after the items: a discussion, the code's files
        body.append(f"\\section*{{{escape(heading)}}}\n" + paragraphs(lines(src)))
    write_text(
        path,
        "% " + escape(title) + f": written by python report.py {spec} from what fashionmnist.py, analyze.py and\n"
        "% experiments.py wrote; it trains nothing, and every number comes from those files. Before you hand it\n"
        "% in, put every sentence in your own words; the numbers and figures are what your runs measured.\n"
        + PREAMBLE
        + f"\\title{{{escape(title)}}}\n\\author{{}}  % your name and roll number\n\\date{{\\today}}\n"
        "\\begin{document}\n\\maketitle\n" + "\n".join(body) + "\\end{document}\n")
    return path


TEX_PACKAGES = "texlive-latex-base texlive-latex-recommended"  # Debian's: pdflatex and the packages above


class Typeset(NamedTuple):
    pdf: Path
    drift: dict[str, int]  # {figure: the pages it stands after its item's heading}


def typeset(tex: Path, out: Path | None = None) -> Typeset | None:
    """pdflatex the source twice (the contents' page numbers come from the first pass) into `out`
    (default: the .tex's own name as .pdf), its auxiliary files left in a scratch folder, with how
    far each figure floated from its item; None where pdflatex is not installed. A source that does
    not compile raises RuntimeError with the end of pdflatex's log."""
    if shutil.which("pdflatex") is None:
        return None
    out = out or tex.with_suffix(".pdf")
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(2):
            done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                                   f"-output-directory={scratch}", tex.name], cwd=tex.parent, capture_output=True,
                                  text=True, timeout=300)
            if done.returncode != 0:
                raise RuntimeError(f"pdflatex could not typeset {tex.name}: " + done.stdout[-1500:])
        made = Path(scratch) / tex.with_suffix(".pdf").name  # copied in whole: a reader never sees half of it
        write_atomic(out, lambda tmp: shutil.copyfile(made, tmp))
        aux = (Path(scratch) / tex.with_suffix(".aux").name).read_text(errors="replace")
    return Typeset(out, drift(aux))


def drift(aux: str) -> dict[str, int]:
    """{figure stem: pages from its item's heading to the figure} read from pdflatex's .aux, where
    `visual` labels each figure fig:item-N-k and `write` each item item-N."""
    pages = dict(re.findall(r"\\newlabel\{([^}]*)\}\{\{[^}]*\}\{(\d+)\}", aux))
    return {key[4:]: int(page) - int(pages[key[4:].rsplit("-", 1)[0]])
            for key, page in pages.items() if key.startswith("fig:") and key[4:].rsplit("-", 1)[0] in pages}
