"""A written PDF read back against the page standard of fmnist/core/pages.py, with poppler's
tools: `check_pdf` lists what breaks it (a page size, text under 8 pt, a word off the page or
on another word), `thin_pages` the pages left nearly empty."""
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from fmnist.core.pages import EDGE, MIN_POINTS, PAGE_INCHES

# Reading a PDF back: poppler's pdftotext gives each word's box, in points from the top left.
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)
OVERLAP = 0.2  # words whose boxes share more than this fraction of the smaller one overlap


BOX = re.compile(rb"/MediaBox \[ *0 +0 +([\d.]+) +([\d.]+) *\]")


def read_words(path: Path) -> list[tuple[float, float, list]]:
    """[(width, height, [(x0, y0, x1, y1, word), ...]) per page] of a PDF, in points from the
    page's top left. pdftotext reads only what lies on the paper, so it reads a copy whose
    pages are three times as wide and as tall, the paper in the middle: a word drawn wholly
    off the page is found too, at a coordinate below 0 or beyond the page's size."""
    if shutil.which("pdftotext") is None:
        raise RuntimeError("pdftotext is not installed: apt-get install poppler-utils")
    sizes = [(float(w), float(h)) for w, h in BOX.findall(Path(path).read_bytes())]
    if not sizes:  # page boxes in compressed object streams (pdfTeX): read as it is, words on the paper only
        html = subprocess.run(["pdftotext", "-q", "-bbox", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
        return [(float(w), float(h), [(float(a), float(b), float(c), float(d), word)
                                      for a, b, c, d, word in WORD.findall(body)]) for w, h, body in PAGE.findall(html)]
    with tempfile.TemporaryDirectory() as tmp:
        wide = Path(tmp) / "wide.pdf"  # poppler rebuilds the cross-reference table the longer boxes shift
        wide.write_bytes(BOX.sub(lambda m: b"/MediaBox [ -%s -%s %s %s ]" % (m[1], m[2], b"%g" % (2 * float(m[1])),
                                                                               b"%g" % (2 * float(m[2]))),
                                 Path(path).read_bytes()))
        html = subprocess.run(["pdftotext", "-q", "-bbox", str(wide), "-"], capture_output=True, text=True,
                              check=True).stdout
    pages = []
    for (w, h), (_, _, body) in zip(sizes, PAGE.findall(html)):
        words = [
            (float(a) - w, float(b) - h, float(c) - w, float(d) - h, word) for a, b, c, d, word in WORD.findall(body)
        ]
        pages.append((w, h, words))
    return pages


A4_POINTS = (595.276, 841.89)  # a typeset report's page (pdflatex, a4paper), portrait
FONT = re.compile(r'<fontspec id="(\d+)" size="(-?[\d.]+)"')
TEXT_TAG = re.compile(r'<text [^>]*font="(\d+)"[^>]*>(.*?)</text>')


def small_text(path: Path) -> list[str]:
    """Texts of two characters or more set under MIN_POINTS (poppler's pdftohtml gives each text's
    font size, rotated text too); a lone character, such as a power's exponent, is left alone."""
    xml = subprocess.run(["pdftohtml", "-q", "-xml", "-i", "-zoom", "1", "-stdout", str(path)], capture_output=True,
                         text=True, check=True).stdout
    sizes = {k: abs(float(v)) for k, v in FONT.findall(xml)}
    return sorted({re.sub("<[^>]+>", "", text).strip() for k, text in TEXT_TAG.findall(xml)
                   if sizes.get(k, MIN_POINTS) < MIN_POINTS - 0.5 and len(re.sub("<[^>]+>", "", text).strip()) >= 2})


HALF = 0.5  # a page whose ink spans less than this share of its height (its page number aside) is thin
FOOT = 0.07  # the bottom share of a page where a typeset page number sits, not counted as its content


def thin_pages(path: Path) -> list[int]:
    """The pages (numbered from 1) of a PDF, but its last, whose content spans less than HALF of the
    page's height from its first ink to its last (read from poppler's pdftoppm at 20 dpi): a page
    left nearly empty, where the rest of its item or its table could have gone."""
    if shutil.which("pdftoppm") is None:
        raise RuntimeError("pdftoppm is not installed: apt-get install poppler-utils")
    thin = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", "20", "-gray", str(path), f"{tmp}/p"], check=True, capture_output=True)
        shots = sorted(Path(tmp).glob("p-*.pgm"), key=lambda f: int(f.stem.split("-")[-1]))
        for number, shot in enumerate(shots[:-1], start=1):
            with Image.open(shot) as page:
                ink = np.asarray(page) < 200
            rows = np.flatnonzero(ink[:int(len(ink) * (1 - FOOT))].any(axis=1))
            if len(rows) == 0 or (rows[-1] - rows[0]) / len(ink) < HALF:
                thin.append(number)
    return thin


def check_pdf(path: Path) -> list[str]:
    """What breaks the standard in a written PDF, one line each: pages of more than one size or of
    another size than the two standard ones (US letter landscape, or A4 portrait for a typeset
    report), text under MIN_POINTS, a word outside the page or within EDGE of its edge, two words on
    top of each other."""
    sizes, edge = (tuple(72 * v for v in PAGE_INCHES), A4_POINTS), 72 * EDGE
    problems = [f"{Path(path).name}: text under {MIN_POINTS:g} pt: '{t}'" for t in small_text(path)[:5]]
    read = read_words(path)
    size = min(sizes, key=lambda s: abs(s[0] - read[0][0]) + abs(s[1] - read[0][1])) if read else sizes[0]
    for n, (width, height, words) in enumerate(read, start=1):
        where = f"{Path(path).name} page {n}"
        if abs(width - size[0]) > 0.5 or abs(height - size[1]) > 0.5:
            problems.append(f"{where}: {width:g} x {height:g} pt, not {size[0]:g} x {size[1]:g}")
        for x0, y0, x1, y1, word in words:
            if x0 < -0.5 or y0 < -0.5 or x1 > width + 0.5 or y1 > height + 0.5:
                problems.append(f"{where}: '{word}' lies outside the page")
            elif min(x0, y0, width - x1, height - y1) < edge:
                problems.append(f"{where}: '{word}' lies within {EDGE:g} in of the page's edge")
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
