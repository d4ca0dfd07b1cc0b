"""A PDF page and the document it goes in: every PDF the package writes (the hand-in, the
analysis, the studies, the reports) is a summary of text pages followed by `Page`s."""
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages

from fmnist.core import plotting


class Page:
    """One figure of the hand-in: its file stem, question heading and one-line caption."""

    def __init__(self, stem: str, heading: str, caption: str, fig):
        self.stem, self.heading, self.caption, self.fig = stem, heading, caption, fig
        title = fig.get_suptitle()
        text = f"{heading}: {caption}" + (f"\n{title}" if title else "")
        if fig.get_layout_engine() is None and title:  # a fixed layout left room where its title is
            x, y = fig._suptitle.get_position()
            fig.suptitle(text, fontsize=12, x=x, y=y, va="top")
        else:  # constrained layout makes room for the title itself
            fig.suptitle(text, fontsize=12)


SUMMARY_LINES = 50  # lines of text a summary page holds


def write_document(path: Path, title: str, lines: list[str], pages: list[Page], pdf_title: str) -> int:
    """The summary (`lines`, then a list of contents) on as many pages as it needs, then `pages`
    in order; return the page count."""
    def text(first: int) -> list[str]:
        return lines + ["Contents:"] + [f"  page {i:2d}: {p.heading}: {p.caption}"
                                        for i, p in enumerate(pages, start=first)]
    summary_pages = 1
    while len(text(summary_pages + 1)) > SUMMARY_LINES * summary_pages:  # contents numbered after the summary
        summary_pages += 1
    body = text(summary_pages + 1)
    with PdfPages(path, metadata={"Title": pdf_title}) as pdf:
        for k in range(summary_pages):
            chunk = body[k * SUMMARY_LINES:(k + 1) * SUMMARY_LINES]
            pdf.savefig(plotting.text_figure(title if k == 0 else f"{title} (summary, {k + 1} of {summary_pages})", chunk))
        for page in pages:
            pdf.savefig(page.fig)
    return len(pages) + summary_pages
