"""The page standard and the documents built on it: every PDF the package writes (the
hand-in, the analysis, the studies, the reports) is text pages followed by `Page`s, and
every page goes through `fit`: US letter, landscape, no text under 8 pt, long text flowed
onto further pages. `check_pdf` reads a written PDF back and lists what breaks the standard.
"""
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.text import Text

# TrueType fonts embedded: the text stays searchable, and a reader's text boxes are the glyphs'
matplotlib.rcParams["pdf.fonttype"] = 42
PAGE_INCHES = (11.0, 8.5)  # US letter, landscape: the one size of every page
MIN_POINTS = 8.0  # the smallest text on any page, at that size
MARGIN = 0.3  # inches of paper left clear beside the axes of a constrained layout, for the printer
TITLE_CHARS = 110  # a 12-pt title line across the page
# (characters per line, lines per page, font) of a text page: fixed-width where columns must
# line up, proportional for prose
TEXT = {False: (118, 44, dict(fontsize=9, family="monospace", linespacing=1.3)),
        True: (120, 34, dict(fontsize=10, linespacing=1.5))}


def fit(fig: Figure) -> Figure:
    """Put a figure on the standard page: its size, and every text at least MIN_POINTS."""
    fig.set_size_inches(*PAGE_INCHES)
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set") and not getattr(fig, "on_page", False):  # constrained layout
        x, y, w, h = engine.get().get("rect", (0, 0, 1, 1))  # inside the margins
        mx, my = MARGIN / PAGE_INCHES[0], MARGIN / PAGE_INCHES[1]
        engine.set(rect=(mx + x * (1 - 2 * mx), my + y * (1 - 2 * my), w * (1 - 2 * mx), h * (1 - 2 * my)))
    fig.on_page = True
    title = fig._suptitle  # matplotlib keeps no public handle on it
    if title is not None:  # wrapped to the page's width at its size
        title.set_text(wrap(title.get_text(), int(TITLE_CHARS * 12 / title.get_fontsize())))
    for text in fig.findobj(Text):
        if text.get_fontsize() < MIN_POINTS:
            text.set_fontsize(MIN_POINTS)
    for ax in fig.axes:  # ticks made at drawing time take their size from the axis's settings
        for which, ticks in (("major", ax.xaxis.get_major_ticks() + ax.yaxis.get_major_ticks()),
                             ("minor", ax.xaxis.get_minor_ticks() + ax.yaxis.get_minor_ticks())):
            if ticks and min(t.label1.get_fontsize() for t in ticks) < MIN_POINTS:
                ax.tick_params(which=which, labelsize=MIN_POINTS)
    return fig


def wrap(text: str, width: int) -> str:
    """Each line of `text` wrapped to `width` characters, its indentation kept."""
    out = []
    for line in text.split("\n"):
        indent = " " * (len(line) - len(line.lstrip(" ")))
        out += textwrap.wrap(line, width, subsequent_indent=indent + "  ", drop_whitespace=True) or [""]
    return "\n".join(out)


class Page:
    """One figure page: its file stem, heading and one-line caption above the figure's own title."""

    def __init__(self, stem: str, heading: str, caption: str, fig: Figure):
        self.stem, self.heading, self.caption, self.fig = stem, heading, caption, fig
        title = fig.get_suptitle()
        text = f"{heading}: {caption}" + (f"\n{title}" if title else "")
        if fig.get_layout_engine() is None and title:  # a fixed layout left room where its title is
            x, y = fig._suptitle.get_position()
            fig.suptitle(text, fontsize=12, x=x, y=y, va="top")
        else:  # constrained layout makes room for the title itself
            fig.suptitle(text, fontsize=12)
        fit(fig)


def series(stem: str, heading: str, caption: str, figs: list[Figure]) -> list[Page]:
    """The pages of one figure too big for a page: stems stem, stem_2, ...; headings numbered."""
    n = len(figs)
    return [Page(stem + (f"_{k}" if k > 1 else ""), heading + (f" ({k} of {n})" if n > 1 else ""), caption, fig)
            for k, fig in enumerate(figs, start=1)]


def text_pages(title: str, lines: list[str], prose: bool = False) -> list[Figure]:
    """Lines of text, wrapped to the page's width and flowed onto as many standard pages as they
    need: in a fixed-width font so that columns line up, or as prose."""
    chars, per_page, font = TEXT[prose]
    body = wrap("\n".join(lines), chars).split("\n")
    chunks = [body[i:i + per_page] for i in range(0, len(body), per_page)] or [[]]
    figs = []
    for k, chunk in enumerate(chunks):
        fig = Figure(figsize=PAGE_INCHES)
        head = title if len(chunks) == 1 else f"{title} ({k + 1} of {len(chunks)})"
        fig.text(0.05, 0.95, head, fontsize=15, fontweight="bold", va="top")
        fig.text(0.05, 0.89, "\n".join(chunk), va="top", **font)
        figs.append(fig)
    return figs


def write_pages(path: Path, figs: list[Figure], pdf_title: str) -> int:
    """Every figure, fitted to the standard page, into one PDF; return the page count."""
    with PdfPages(path, metadata={"Title": pdf_title}) as pdf:
        for fig in figs:
            pdf.savefig(fit(fig))
    return len(figs)


def write_document(path: Path, title: str, lines: list[str], pages: list[Page], pdf_title: str) -> int:
    """The summary (`lines`, then a list of contents) on as many pages as it needs, then `pages`
    in order; return the page count."""
    def summary(first: int) -> list[Figure]:
        return text_pages(title, lines + ["Contents:"] + [f"  page {i:2d}: {p.heading}: {p.caption}"
                                                         for i, p in enumerate(pages, start=first)])
    count = 1
    while len(summary(count + 1)) > count:  # the contents are numbered after the summary's own pages
        count += 1
    return write_pages(path, summary(count + 1) + [p.fig for p in pages], pdf_title)


# Reading a PDF back: poppler's pdftotext gives each word's box, in points from the top left.
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)
OVERLAP = 0.2  # words whose boxes share more than this fraction of the smaller one overlap


def read_words(path: Path) -> list[tuple[float, float, list]]:
    """[(width, height, [(x0, y0, x1, y1, word), ...]) per page] of a PDF, in points."""
    if shutil.which("pdftotext") is None:
        raise RuntimeError("pdftotext is not installed: apt-get install poppler-utils")
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [(float(w), float(h), [(*map(float, m[:4]), m[4]) for m in WORD.findall(body)])
            for w, h, body in PAGE.findall(html)]


def check_pdf(path: Path) -> list[str]:
    """What breaks the standard in a written PDF, one line each: a page of another size, a word
    outside the page, two words on top of each other."""
    size = tuple(72 * v for v in PAGE_INCHES)
    problems = []
    for n, (width, height, words) in enumerate(read_words(path), start=1):
        where = f"{Path(path).name} page {n}"
        if abs(width - size[0]) > 0.5 or abs(height - size[1]) > 0.5:
            problems.append(f"{where}: {width:g} x {height:g} pt, not {size[0]:g} x {size[1]:g}")
        for x0, y0, x1, y1, word in words:
            if x0 < -0.5 or y0 < -0.5 or x1 > width + 0.5 or y1 > height + 0.5:
                problems.append(f"{where}: '{word}' lies outside the page")

        boxes = sorted(words)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                if b[0] >= a[2]:
                    break
                dx, dy = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
                smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
                if dx > 0 and dy > 0 and dx * dy > OVERLAP * smaller:
                    problems.append(f"{where}: '{a[4]}' and '{b[4]}' overlap")
    return problems
