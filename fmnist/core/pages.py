"""The page standard and the documents built on it: every PDF the package writes (the
hand-in, the analysis, the studies, the reports) is text pages followed by `Page`s, and
every page goes through `fit`: US letter, landscape, no text under 8 pt, long text flowed
onto further pages. fmnist/core/readback.py reads a written PDF back and lists what breaks it.
"""
import multiprocessing
import re
import sys
import textwrap
from pathlib import Path

import matplotlib
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.text import Text

# TrueType fonts embedded: the text stays searchable, and a reader's text boxes are the glyphs'
matplotlib.rcParams["pdf.fonttype"] = 42
PAGE_INCHES = (11.0, 8.5)  # US letter, landscape: the one size of every page
MIN_POINTS = 8.0  # the smallest text on any page, at that size
MARGIN = 0.3  # inches of paper a layout leaves clear on every side, for the printer
EDGE = 0.2  # inches: a word closer than this to the paper's edge breaks the standard (a printer may clip it)
TITLE_CHARS = 110  # a 12-pt title line across the page
# (characters per line, lines per page, font) of a text page: fixed-width where columns must
# line up, proportional for prose
TEXT = {False: (118, 42, dict(fontsize=9, family="monospace", linespacing=1.3)),
        True: (120, 33, dict(fontsize=10, linespacing=1.5))}


def fit(fig: Figure) -> Figure:
    """Put a figure on the standard page: its size, its titles and axes inside the margins, and
    every text at least MIN_POINTS."""
    fig.set_size_inches(*PAGE_INCHES)
    for across in (fig._suptitle, fig._supxlabel):  # matplotlib keeps no public handle on them
        if across is not None:  # wrapped to the page's width at its size
            across.set_text(wrap(across.get_text(), int(TITLE_CHARS * 12 / across.get_fontsize())))
    if not getattr(fig, "on_page", False):
        inside_margins(fig)
    fig.on_page = True
    return raise_small_text(fig)


def raise_small_text(fig: Figure) -> Figure:
    """Every text of the figure at least MIN_POINTS, its ticks' labels included."""
    for text in texts(fig):
        if text.get_fontsize() < MIN_POINTS:
            text.set_fontsize(MIN_POINTS)
    for ax in fig.axes:  # ticks made at drawing time take their size from the axis's settings
        if not ax.axison:  # an axes drawn without its axes never draws their ticks
            continue
        for which, ticks in (("major", ax.xaxis.get_major_ticks() + ax.yaxis.get_major_ticks()),
                             ("minor", ax.xaxis.get_minor_ticks() + ax.yaxis.get_minor_ticks())):
            if ticks and min(t.label1.get_fontsize() for t in ticks) < MIN_POINTS:
                ax.tick_params(which=which, labelsize=MIN_POINTS)
    return fig


def texts(artist: Artist) -> list[Text]:
    """Every text an artist draws, as findobj(Text) finds them, but for the x and y axes of an
    axes drawn without them (set_axis_off): findobj would make those axes' ticks, which are never
    drawn, and on a page of a hundred image panels making them costs seconds."""
    found = [artist] if isinstance(artist, Text) else []
    hidden = isinstance(artist, Axes) and not artist.axison
    for child in artist.get_children():
        if not (hidden and isinstance(child, Axis)):
            found += texts(child)
    return found


def inside_margins(fig: Figure) -> None:
    """A constrained layout inside the page's margins: its title, x and y labels placed MARGIN
    from the edge, the axes in the rectangle left between them (matplotlib would set the
    titles a few points from the paper's edge, whatever rectangle it lays the axes out in)."""
    engine = fig.get_layout_engine()
    if engine is None or not hasattr(engine, "set"):  # a fixed layout places its own titles
        return
    width, height = PAGE_INCHES
    left, bottom, right, top = MARGIN / width, MARGIN / height, 1 - MARGIN / width, 1 - MARGIN / height
    for name in ("_suptitle", "_supxlabel", "_supylabel"):  # matplotlib keeps no public handle on them
        text = getattr(fig, name)
        if text is None or not text.get_text():
            continue
        depth = ((text.get_text().count("\n") + 1) * text.get_fontsize() * 1.25 / 72 + 0.1)  # inches
        text.set_in_layout(False)
        if name == "_suptitle":
            text.set_y(top)
            text.set_verticalalignment("top")
            top -= depth / height
        elif name == "_supxlabel":
            text.set_y(bottom)
            text.set_verticalalignment("bottom")
            bottom += depth / height
        else:
            text.set_x(left)
            text.set_horizontalalignment("left")
            left += depth / width
    x, y, w, h = engine.get().get("rect") or (0, 0, 1, 1)
    engine.set(rect=(left + x * (right - left), bottom + y * (top - bottom), w * (right - left), h * (top - bottom)))


def unwrap(text: str) -> str:
    """`wrap` undone: each line indented two spaces more than the line that starts its paragraph
    (wrap's continuation) joined back onto it, so that the text can be wrapped to another width."""
    out, start = [], None
    for line in text.split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        if out and start is not None and line.strip() and indent == start + 2:
            out[-1] += " " + line.strip()
        else:
            out.append(line)
            start = indent if line.strip() else None
    return "\n".join(out)


def wrap(text: str, width: int, whole_words: bool = False) -> str:
    """Each line of `text` wrapped to `width` characters, its indentation kept; with `whole_words`
    a word longer than the width (a class name over a narrow panel) is not cut."""
    out = []
    for line in text.split("\n"):
        indent = " " * (len(line) - len(line.lstrip(" ")))
        out += textwrap.wrap(line, width, subsequent_indent=indent + "  ", drop_whitespace=True,
                             break_long_words=not whole_words, break_on_hyphens=not whole_words) or [""]
    return "\n".join(out)


class Page:
    """One figure page: its file stem, heading and one-line caption above the figure's own title."""

    def __init__(self, stem: str, heading: str, caption: str, fig: Figure):
        self.stem, self.heading, self.caption, self.fig = stem, heading, caption, fig
        title = fig.get_suptitle()
        stop = "." if title and caption and caption[-1] not in ".:;!?" else ""  # the caption ends before the title
        text = f"{heading}: {caption}{stop}" + (f"\n{title}" if title else "")
        if fig.get_layout_engine() is None:  # a fixed layout left room where its title is, or at the top
            x, y = fig._suptitle.get_position() if title else (0.5, 1 - MARGIN / PAGE_INCHES[1])
            fig.suptitle(text, fontsize=12, x=x, y=y, va="top")
        else:  # constrained layout makes room for the title itself
            fig.suptitle(text, fontsize=12)
        fit(fig)

    def save_png(self, path, dpi: int) -> None:
        """The page as a PNG; its layout, once computed for the PNG, is kept for the PDF (a
        constrained layout would otherwise be solved again for every file the page goes to)."""
        self.fig.savefig(path, dpi=dpi, format="png")
        self.fig.set_layout_engine("none")


def save_pngs(jobs: list[tuple[Figure, str]], dpi: int) -> None:
    """Each figure saved as a PNG at its path."""
    for fig, path in jobs:
        fig.savefig(path, dpi=dpi, format="png")


def _draw_pngs(jobs: list[tuple[Figure, str]], dpi: int) -> None:
    """save_pngs, as a PngsAside's process runs it: a failure is one line on stderr and exit status
    1 (the caller then draws them itself and meets the error there)."""
    try:
        save_pngs(jobs, dpi)
    except Exception as error:  # any failure: the caller redraws and meets it
        print(f"drawing the PNGs in a second process failed ({error}); drawing them in the first", file=sys.stderr)
        sys.exit(1)


class PngsAside:
    """Pages saved as PNGs (folder/STEM.png) by a second process while this one writes the PDF of
    the same pages: on 2 cores the drawing takes about the longer of the two instead of their sum
    (a third less for analyze.py's pages). The process is a fork, which has the figures as they are
    when it starts without copying them through pickle (a spawned process would spend longer
    importing and unpickling than it saves), so the PDF may lay them out meanwhile; it only draws,
    with matplotlib. Where fork is missing (Windows, and macOS by choice), on one core, or where
    the process cannot start, stops early or outlasts `patience`, `wait` draws the PNGs here: none
    is lost and nothing hangs. Use as a context manager; leaving on an error stops the process."""

    PATIENCE = (30.0, 20.0)  # seconds, and seconds a page: far beyond a page's drawing (about 1 s on 2 cores)

    def __init__(self, pages: list, folder: Path, dpi: int):
        from fmnist.core.device import cores
        self.jobs, self.dpi, self.process = [(p.fig, str(folder / f"{p.stem}.png")) for p in pages], dpi, None
        self.patience = self.PATIENCE[0] + self.PATIENCE[1] * len(self.jobs)
        if cores() < 2 or len(self.jobs) < 2 or sys.platform != "linux" or \
                "fork" not in multiprocessing.get_all_start_methods():
            return
        try:
            self.process = multiprocessing.get_context("fork").Process(target=_draw_pngs, args=(self.jobs, dpi),
                                                                       daemon=True)
            self.process.start()
        except OSError:  # no room for a process: draw here
            self.process = None

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        self._stop()
        return False

    def _stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join()

    def wait(self) -> None:
        """Return once every PNG is written (drawn here if the second process did not)."""
        if self.process is not None:
            self.process.join(self.patience)
            if self.process.exitcode == 0:
                return
            self._stop()
        save_pngs(self.jobs, self.dpi)


def chunks(items: list, size: int) -> list[list]:
    """`items` in as few runs of at most `size` as they need, the runs as even as can be (23 of
    size 20 give 12 and 11, not 20 and 3): what each page holds of something longer, so that no
    page of a series is left nearly empty."""
    runs = -(-len(items) // size)
    each, longer = divmod(len(items), max(runs, 1))  # the first `longer` runs take one more
    cut = [k * each + min(k, longer) for k in range(runs + 1)]
    return [items[a:b] for a, b in zip(cut, cut[1:])]


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
    parts = chunks(body, per_page) or [[]]
    figs = []
    for k, chunk in enumerate(parts):
        fig = Figure(figsize=PAGE_INCHES)
        head = title if len(parts) == 1 else f"{title} ({k + 1} of {len(parts)})"
        fig.text(0.05, 0.92, head, fontsize=15, fontweight="bold", va="top")  # room above for a Page's heading
        fig.text(0.05, 0.86, "\n".join(chunk), va="top", **font)
        figs.append(fig)
    return figs


def write_pages(path: Path, figs: list[Figure], pdf_title: str) -> int:
    """Every figure, fitted to the standard page, into one PDF; return the page count."""
    with PdfPages(path, metadata={"Title": pdf_title}) as pdf:
        for fig in figs:
            pdf.savefig(fit(fig))
    return len(figs)


SERIES = re.compile(r" \(\d+ of \d+\)$")  # the numbering `series` gives a heading


def contents_rows(pages: list[Page], first: int) -> list[tuple[str, str]]:
    """(page label, what it shows) per page, numbered from `first`; the pages of one series (one
    heading but for its numbering, one caption) share a row."""
    runs = []
    for i, p in enumerate(pages, start=first):
        key = (SERIES.sub("", p.heading), p.caption)
        if runs and runs[-1][0] == key:
            runs[-1][2] = i
        else:
            runs.append([key, i, i])
    return [(f"page {a}" if a == b else f"pages {a}-{b}", f"{h}: {c}") for (h, c), a, b in runs]


def contents(pages: list[Page], first: int) -> list[str]:
    """contents_rows as lines of a fixed-width text page, the page labels aligned."""
    rows = contents_rows(pages, first)
    width = max((len(label) for label, _ in rows), default=0)
    return [f"  {label:>{width}}: {entry}" for label, entry in rows]


# A cover page: (characters per line, lines) of its prose column and of its contents column
COVER = {"prose": (78, 34), "side": (52, 50)}


def cover_page(title: str, prose: list[str], rows: list[tuple[str, str]]) -> Figure | None:
    """One page: the title, the summary as prose (10 pt) on the left, and the contents on the right
    (8.5 pt): each row's page label right-aligned in a column of its own, what the pages show wrapped
    beside it; None when either does not fit on one page."""
    left = wrap("\n".join(prose), COVER["prose"][0]).split("\n")
    labels, entries = [], []
    for label, entry in rows:
        lines = textwrap.wrap(entry, COVER["side"][0]) or [""]
        labels += [label] + [""] * (len(lines) - 1)
        entries += lines
    if len(left) > COVER["prose"][1] or len(entries) + 1 > COVER["side"][1]:
        return None
    fig = Figure(figsize=PAGE_INCHES)
    fig.text(0.05, 0.92, title, fontsize=15, fontweight="bold", va="top")
    fig.text(0.05, 0.86, "\n".join(left), va="top", fontsize=10, linespacing=1.45)
    fig.text(0.585, 0.86, "Contents", va="top", fontsize=10, fontweight="bold")
    style = dict(va="top", fontsize=8.5, linespacing=1.4)  # one line height: the two columns' lines stay level
    fig.text(0.665, 0.83, "\n".join(labels), ha="right", **style)
    fig.text(0.675, 0.83, "\n".join(entries), ha="left", **style)
    return fig


def write_document(path: Path, title: str, lines: list[str], pages: list[Page], pdf_title: str,
                   heading: str = "Contents:") -> int:
    """The summary (`lines`, then `heading` over a list of contents) on as many pages as it needs,
    then `pages` in order; return the page count."""
    def summary(first: int) -> list[Figure]:
        return text_pages(title, lines + [heading] + contents(pages, first))
    count = 1
    while len(summary(count + 1)) > count:  # the contents are numbered after the summary's own pages
        count += 1
    return write_pages(path, summary(count + 1) + [p.fig for p in pages], pdf_title)
