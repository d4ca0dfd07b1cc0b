"""One report per spec, in the spec's own order, from what the other scripts wrote.

    python report.py 000     # spec 000: the reference CNN (needs experiments.py reference, variants; analyze.py)
    python report.py 001     # spec 001, the hand-in: figures.pdf (questions 1-9) as report_001.pdf
    python report.py 003     # spec 003: MobileNet blocks (needs experiments.py mobilenet, settings)
    python report.py 004     # spec 004: Fashion-MNIST-1 and -2 (needs experiments.py variants, pretrain, tuning,
                             #           transfer; fashionmnist.py; analyze.py)
    python report.py all     # the four

Writes report_SPEC.tex under --out-dir, with its figures in report_SPEC_figures/, and typesets it
with pdflatex into report_SPEC.pdf: the items of the spec with the page that answers each (or the
command that would produce it), the set-up, then the items in order, each with its question,
figures and tables and, where the spec asks a question, an answer computed from the measurements.
Without pdflatex it says how to typeset the source (TeX Live, or Overleaf). It trains nothing and
takes seconds.
"""
from fmnist.core.python_version import require  # first, so an old Python gets one clear line

require("report.py")

import shutil
import sys
import time
from pathlib import Path

from fmnist.core import cli, storage
from fmnist.reports import build, latex, spec000, spec001, spec003, spec004, submission

HERE = Path(__file__).resolve().parent
# (title, items, set-up, [(heading, lines) after the items], whether those need every study finished)
SPECS = {"000": ("Spec 000: a reference CNN", spec000.ITEMS, spec000.setup,
                 [("Code and submissions", spec000.code_lines)], False),
         "003": ("Spec 003: MobileNet blocks", spec003.ITEMS, spec003.setup, [], False),
         "004": ("Spec 004: Fashion-MNIST-1 and -2", spec004.ITEMS, spec004.setup, [("Discussion", spec004.discussion)],
                 True)}


def parse_args(argv=None):
    p = cli.Parser(prog="report.py", doc=__doc__)
    p.add_argument("spec", choices=["000", "001", "003", "004", "all"], help="the spec whose report to write")
    p.add_argument("--out-dir", type=Path, default=HERE / "outputs", help="where the other scripts wrote, and the "
                                                                          "reports go")
    return p.parse_args(argv)


def typeset(tex: Path, pdf: Path) -> bool:
    """Typeset the source into `pdf` where pdflatex is installed, saying how far its figures float
    from their items; else say, in one line, how to."""
    try:
        done = latex.typeset(tex, pdf)
    except RuntimeError as err:  # the source is kept, and any PDF written before
        print(f"report.py: {str(err).splitlines()[0]} (see pdflatex's log: pdflatex {tex.name} in {tex.parent})",
              file=sys.stderr)
        return False
    if done is None:
        print(f"{tex.name}: pdflatex is not installed, so {pdf.name} is not typeset here; install TeX Live (Debian: "
              f"apt-get install {latex.TEX_PACKAGES}) and run this again, or upload {tex.name} and "
              f"{tex.stem}_figures/ to Overleaf")
    elif done.drift:
        most = max(done.drift.values())
        print(f"{pdf.name}: {len(done.drift)} figures, each at most {most} page{'' if most == 1 else 's'} after its "
              f"item's heading ({sum(v == 0 for v in done.drift.values())} on its page)")
    return done is not None


def run(args) -> int:
    start = time.perf_counter()
    out_dir = storage.check_out_dir(args.out_dir)
    src = build.load(out_dir, build.studies([i for _, items, _, _, _ in SPECS.values() for i in items]))
    for spec in (["000", "001", "003", "004"] if args.spec == "all" else [args.spec]):
        path = out_dir / f"report_{spec}.pdf"
        if spec == "001":
            figures = out_dir / "figures.pdf"
            if not figures.is_file():
                print(f"report_001: no {figures} yet; run python fashionmnist.py (then python kernel_vis.py) first")
                continue
            shutil.copyfile(figures, path)
            print(f"wrote {path} (the hand-in, figures.pdf: questions 1-9)")
            if src.metrics:
                tex = latex.write(path.with_suffix(".tex"), spec, "Spec 001: the hand-in, questions 1-9", spec001.ITEMS,
                                  src, spec001.setup, place="H")
                if typeset(tex, path.with_name("report_001_latex.pdf")):
                    print(f"wrote {tex} and report_001_latex.pdf (its text, typeset)")
            continue
        title, items, setup, closing, every = SPECS[spec]
        closing = closing if all(src.studies.values()) or not every else []  # a discussion reads every study
        tex = latex.write(path.with_suffix(".tex"), spec, title, items, src, setup, closing)
        made = typeset(tex, path)
        script = submission.run_sh(src) if spec == "000" else None
        if script:
            (out_dir / "spec000").mkdir(exist_ok=True)
            storage.write_atomic(out_dir / "spec000" / "run.sh", lambda tmp: tmp.write_text(script))
            (out_dir / "spec000" / "run.sh").chmod(0o755)
            print(f"wrote {out_dir / 'spec000' / 'run.sh'} (spec 000's best setting)")
        upload = submission.upload_source(src) if spec == "000" else None
        if upload:
            target = out_dir / submission.HANDIN_UPLOAD
            target.parent.mkdir(parents=True, exist_ok=True)
            storage.write_atomic(target, lambda tmp: shutil.copyfile(out_dir / upload, tmp))
            print(f"wrote {target} (the Kaggle file to upload: a copy of {upload})")
        waiting = [i for i in items if i.missing(src)]
        print(f"wrote {path if made else tex}: {len(items) - len(waiting)} of {len(items)} items answered" + (
            "; waiting for " + ", ".join(sorted({build.command(n) for i in waiting for n in i.missing(src)}))
            if waiting else "") + f" (LaTeX: {tex.name}, figures in {tex.stem}_figures/)")
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0


def main(argv=None) -> int:
    return cli.run_script("report.py", run, parse_args(argv), (), "the reports already written are kept")


if __name__ == "__main__":
    sys.exit(main())
