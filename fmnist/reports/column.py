"""A figure redrawn for a report's text column: as wide as the text, laid out again in fewer
columns where its panels would be drawn too narrow, no text under 8 pt at print size, fewer ticks
on narrow axes, titles wrapped to their axes, its title taken out to be the caption."""
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import AutoLocator, MaxNLocator

from fmnist.core import pages

ROOM_PT = 483.0  # A4's text width less the 2 cm margins
TEXT_INCHES = ROOM_PT / 72.27  # the text width a figure is drawn at (6.68 in)
TALLEST_INCHES = 9.0  # a figure's height at most, leaving its caption room on the page


def for_column(fig: Figure) -> tuple[Figure, str]:
    """A figure redrawn for the text column: as wide as the text (at most TALLEST_INCHES tall),
    every text at least pages.MIN_POINTS at print size, its title taken out to be the caption."""
    caption = " ".join(fig.get_suptitle().split())
    if fig._suptitle is not None:  # matplotlib keeps no public handle on it
        fig._suptitle.remove()
        fig._suptitle = None
    engine = fig.get_layout_engine()
    if engine is None and fig.axes and all(ax.get_subplotspec() for ax in fig.axes):
        fig.set_layout_engine("constrained")  # margins set for the page do not hold at the column's size
        for label in (fig._supxlabel, fig._supylabel):  # placed for the page: let the layout place them
            if label is not None:
                label._autopos = True
    elif hasattr(engine, "set"):  # constrained: the page margins of pages.inside_margins, shares of the page's
        engine.set(rect=(0, 0, 1, 1))  # height, would not hold at the column's; the layout places the labels
        for label in (fig._supxlabel, fig._supylabel):
            if label is not None:
                label.set_in_layout(True)
                label._autopos = True
    # a figure may say how tall it needs to be in the column (`column_inches`); any other is laid out again
    fig.set_size_inches(TEXT_INCHES, min(getattr(fig, "column_inches", None) or reflow(fig), TALLEST_INCHES))
    pages.raise_small_text(fig)
    thin_ticks(fig)
    for ax in fig.axes:  # slanted names take a neighbour's room at the column's size: upright ones do not
        for tick in ax.get_xticklabels():
            if tick.get_rotation() % 90:
                tick.set(rotation=90, ha="center")
    wrap_titles(fig)
    return fig, caption


KEEP = 0.7  # a figure kept as laid out loses at most this share of its height with its width
SHRINK = 0.55  # a panel may be drawn this much narrower than the figure gave it before it moves to a new row


def reflow(fig: Figure) -> float:
    """A grid of panels too wide for the column laid out again in fewer columns and more rows,
    in reading order, each panel keeping its shape; returns the height (inches) the figure needs.
    A figure whose panels span several cells, or nest grids, keeps its layout."""
    width, height = fig.get_size_inches()
    axes = [ax for ax in fig.axes if ax.get_subplotspec() is not None]  # colour bars have none
    if not axes:
        return height
    grid = axes[0].get_subplotspec().get_gridspec()
    rows, cols = grid.get_geometry()
    spans = [ax.get_subplotspec() for ax in axes]
    panel_w, panel_h = width / cols, height / rows
    fit = max(1, int(TEXT_INCHES // (SHRINK * panel_w)))
    if (fit >= cols or any(s.get_gridspec() is not grid for s in spans)
            or any(s.rowspan.stop - s.rowspan.start > 1 or s.colspan.stop - s.colspan.start > 1 for s in spans)):
        if fig.subfigs or any(t.get_text() for t in fig.texts):  # text set in the figure needs its height
            return height
        return height * max(KEEP, min(1.0, TEXT_INCHES / width))  # the panels narrower: their rows shorter too
    order = [s.rowspan.start * cols + s.colspan.start for s in spans]
    new_rows = -(-(rows * cols) // fit)
    new = fig.add_gridspec(new_rows, fit)
    for ax, k in zip(axes, order):
        ax.set_subplotspec(new[k // fit, k % fit])
    return new_rows * panel_h * max(0.8, (TEXT_INCHES / fit) / panel_w)


TICK_INCHES = 0.45  # the least room a numbered tick gets along an axis


def thin_ticks(fig: Figure) -> None:
    """Numbered axes with fewer ticks where their panel is narrow: at most one per TICK_INCHES
    (an axis of names, a log axis or one with fixed ticks keeps its own)."""
    FigureCanvasAgg(fig).draw()
    for ax in fig.axes:
        box = ax.get_window_extent()
        for axis, inches in ((ax.xaxis, box.width / fig.dpi), (ax.yaxis, box.height / fig.dpi)):
            locator = axis.get_major_locator()
            if type(locator) in (AutoLocator, MaxNLocator):
                integer = getattr(locator, "_integer", False)
                axis.set_major_locator(MaxNLocator(nbins=max(2, int(inches / TICK_INCHES)), integer=integer))


def wrap_titles(fig: Figure) -> None:
    """Each axes' titles wrapped to the width of their axes, and each text the figure holds to the
    room right of where it starts, as laid out at the figure's new size."""
    FigureCanvasAgg(fig).draw()
    inches = fig.get_size_inches()[0]
    for ax in fig.axes:
        room = ax.get_window_extent().width / fig.dpi * 72  # points
        for title in (ax.title, ax._left_title, ax._right_title, ax.xaxis.label):  # no public list of titles
            _wrap(title, room)
    for text in fig.texts:
        x = text.get_position()[0] if text.get_transform() == fig.transFigure else 0.0
        room = (1 - x if text.get_ha() == "left" else 1.0) * inches * 72
        _wrap(text, room)
    FigureCanvasAgg(fig).draw()


def _wrap(text, room: float) -> None:
    """A text's lines wrapped to `room` points at its size (an average character: 0.55 em)."""
    chars = max(10, int(room / (0.55 * text.get_fontsize())))
    words = text.get_text()
    if words and max(len(line) for line in words.split("\n")) > chars and "$" not in words:
        lines = pages.wrap(pages.unwrap(words), chars, whole_words=True).split("\n")  # paragraphs anew, words whole
        text.set_text("\n".join(line.strip() if text.get_ha() == "center" else line for line in lines))
