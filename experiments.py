"""Studies that train many networks on Fashion-MNIST, one command each.

    python experiments.py reference     # spec 000: its network, Xavier or He at two lr, batch norm on or off
    python experiments.py mobilenet     # spec 003: standard against MobileNet blocks
    python experiments.py settings      # spec 003: one training setting at a time (loss, batch, lr, epochs, ratio)
    python experiments.py variants      # spec 004 3.2 / 000: a base CNN and 14 changes tried in turn
    python experiments.py pretrain      # spec 004 3.4: autoencoder pre-training, swept over data fractions
    python experiments.py tuning        # spec 004 3.5.2: the Fashion-MNIST-2 network's optimizer, lr and dropout
    python experiments.py transfer      # spec 004 3.5: transfer from the other five classes, same sweep
    python experiments.py locality      # spec 001 Q8: both networks on images and on scrambled pixels
    python experiments.py all --quick   # every study on small subsets, one epoch: a smoke run
    python experiments.py NAME --fresh  # redo the runs already finished
    python experiments.py all --redraw  # rebuild tables, figures and the PDF from results.json, training nothing
  python experiments.py tuning --jobs 2                          # two runs at once, one thread each
  python experiments.py tuning --scheduler tcp://HOST:8786 --threads 2  # on a Dask cluster: docs/cluster.md
  python experiments.py variants --budget spec                   # every training image the spec names

Writes experiments/NAME/ under --out-dir (results.json with every run's configuration,
per-epoch history and final metrics; table.md, table.csv and the figures), then rebuilds
experiments.pdf from every study finished so far. Each run is saved as it finishes, so an
interrupted study goes on where it stopped when the same command is run again.
"""
from fmnist.core.python_version import require  # first, so an old Python gets one clear line

require("experiments.py")

import argparse
import sys
import time
from pathlib import Path

from cnn import Conv_Net
from ffn import FF_Net
from fmnist.core import cli, data, files, storage
from fmnist.core.device import pick_device
from fmnist.studies import engine, locality, study, tables
from fmnist.studies.mobilenet import STUDY as MOBILENET
from fmnist.studies.pretrain import STUDY as PRETRAIN
from fmnist.studies.reference import STUDY as REFERENCE
from fmnist.studies.settings import STUDY as SETTINGS
from fmnist.studies.transfer import STUDY as TRANSFER
from fmnist.studies.tuning import STUDY as TUNING
from fmnist.studies.variants import STUDY as VARIANTS

HERE = Path(__file__).resolve().parent
LOCALITY = locality.Locality({"ffn": FF_Net, "cnn": lambda: Conv_Net(flip_tta=False)})
STUDIES = {s.name: s for s in (REFERENCE, MOBILENET, SETTINGS, VARIANTS, PRETRAIN, TUNING, TRANSFER, LOCALITY)}


def fractions(text: str) -> tuple:
    try:
        values = tuple(sorted({float(v) for v in text.split(",")}))
    except ValueError:
        values = ()
    if not values or not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"expects fractions in (0, 1] separated by commas, got {text!r}")
    return values


def parse_args(argv=None):
    p = cli.Parser(prog="experiments.py", doc=__doc__)
    p.add_argument("study", choices=[*STUDIES, "all"], help="the study to run, or all of them")
    p.add_argument("--quick", action="store_true", help="small subsets, one epoch: a smoke run (under a minute)")
    p.add_argument("--fresh", action="store_true", help="redo the runs that are already finished")
    p.add_argument("--redraw", action="store_true", help="rebuild the tables, figures and experiments.pdf from "
                   "results.json, training nothing (after editing a figure or a table)")
    p.add_argument("--epochs", type=cli.number(int, 1, "a whole number >= 1"),
                   help="the epoch ceiling of every converging run; early stopping (patience 5) ends a run "
                        "first (default: the study's own ceiling, 60 in most; --quick 1)")
    p.add_argument("--seed", type=cli.number(int, 0, "a whole number >= 0"), default=0,
                   help="the first seed of every compared row")
    p.add_argument("--fractions", type=fractions, help="pretrain and transfer: comma-separated fractions of the "
                   "labelled training set, e.g. 0.05,0.5,1 (default spec 004's 0.05,0.1,...,1)")
    p.add_argument("--seeds", type=cli.number(int, 2, "a whole number >= 2"),
                   help="seeds of every compared row (default 3, --quick 2; seeds --seed, --seed + 1, ...)")
    p.add_argument("--budget", choices=("default", "spec"), default="default",
                   help="default (the default): every run converges (early stopping) on stratified subsets sized for "
                        "2 cores; spec: each spec's protocol on all its training images (hours a study on 2 cores)")
    p.add_argument("--jobs", type=cli.number(int, 1, "a whole number >= 1"),
                   help="runs at once, each in a worker process (default: one per two cores)")
    p.add_argument("--threads", type=cli.number(int, 1, "a whole number >= 1"),
                   help="torch threads per run (default: the cores shared out among the jobs)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler (tcp://host:8786): run on its workers "
                   "(pip install -r requirements-cluster.txt; docs/cluster.md)")
    p.add_device()
    p.add_argument("--data-dir", type=Path, help=cli.DATA_HELP)
    p.add_argument("--out-dir", type=Path, default=HERE / "outputs", help="experiments/ and experiments.pdf go here")
    return p.parse_args(argv)


def run(args) -> int:
    start = time.perf_counter()
    out_dir = storage.check_out_dir(args.out_dir)
    names = list(STUDIES) if args.study == "all" else [args.study]
    options = cli.settings(study.Options(), args)
    for name in STUDIES:  # every results.json the PDF reads is checked before any run
        if not (args.fresh and name in names):
            files.load_results(out_dir / "experiments" / name / "results.json", name)
    if args.redraw:
        return redraw(names, out_dir, start)
    device = pick_device(args.device)
    splits = data.load(args.data_dir)
    print(f"experiments: {', '.join(names)}{' (quick)' if args.quick else ''} on {device}; "
          f"results in {out_dir / 'experiments'}", flush=True)
    drawn = {}
    for name in names:
        began = time.perf_counter()
        folder = out_dir / "experiments" / name
        results, drawn[name] = engine.run_study(STUDIES[name], study.Context(options, splits, device, folder))
        print(f"\n{tables.markdown(STUDIES[name], results)}\n{name}: done in "
              f"{study.clock(time.perf_counter() - began)}; "
              f"wrote results.json, table.md, table.csv and the figures to {folder}\n", flush=True)
    included = tables.write_pdf(STUDIES, out_dir, drawn)
    print(f"wrote {out_dir / tables.PDF_NAME} ({', '.join(included)}) in {study.clock(time.perf_counter() - start)} "
          "in all")
    print(f"look at {out_dir / tables.PDF_NAME}; the tables are in {out_dir / 'experiments'}/*/table.md")
    return 0


def redraw(names: list[str], out_dir: Path, start: float) -> int:
    """Tables, figures and the PDF again from each finished study's results.json."""
    drawn = {}
    for name in names:
        folder = out_dir / "experiments" / name
        results = files.load_results(folder / "results.json", name)
        if not results.get("finished"):
            print(f"{name}: not finished; run python experiments.py {name} first")
            continue
        quick = any(r["config"].get("quick") for r in results["runs"].values())
        drawn[name] = tables.write_outputs(STUDIES[name], results, folder, dpi=60 if quick else 110)
        print(f"{name}: redrew table.md, table.csv and the figures in {folder}", flush=True)
    included = tables.write_pdf(STUDIES, out_dir, drawn)
    print(f"wrote {out_dir / tables.PDF_NAME} ({', '.join(included)}) in {study.clock(time.perf_counter() - start)}")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    return cli.run_script("experiments.py", run, args, (data.DataError,),
                              "every finished run is kept in its study's results.json; "
                              "run the same command again to go on from there")


if __name__ == "__main__":
    sys.exit(main())
