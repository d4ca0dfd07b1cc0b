"""The scripts' command line: a parser that reports a bad flag in one line, typed number
flags, the flags that override a training recipe, and the wrapper every script runs in."""
import argparse
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import TypeVar

import torch

from fmnist.core import storage
from fmnist.core.storage import UserError

S = TypeVar("S")  # a settings dataclass


def _terminate(signum, frame):
    raise KeyboardInterrupt


def run_script(prog: str, run, args, errors: tuple, interrupted: str) -> int:
    """Call run(args) the way every script does: holding the lock of the folder it writes
    (args.out_dir, or args.save_dir), so that a second script writing there is refused; SIGTERM
    (how `timeout`, a batch scheduler or `kill` stops a job) is treated as Ctrl-C; a problem the
    user can fix, a full disk included, is one line on stderr and exit 1; an interruption says
    `interrupted` (exit 130)."""
    signal.signal(signal.SIGTERM, _terminate)
    command = " ".join([prog] + (sys.argv[1:] if sys.argv and sys.argv[0].endswith(prog.split()[-1]) else []))
    folder = getattr(args, "out_dir", None) or getattr(args, "save_dir", None)
    try:
        with storage.out_dir_lock(folder, command):
            return run(args)
    except (UserError,) + errors as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted; {interrupted}", file=sys.stderr)
        return 130
    except (OSError, RuntimeError) as err:
        if not storage.is_full(err):
            raise
        where = getattr(err, "filename", None) or folder or "an output file"
        print(f"{prog}: error: {storage.disk_full(Path(where))}", file=sys.stderr)
        return 1


def number(kind, minimum, what: str):
    """An argparse type: `kind` (int or float), finite and at least `minimum`, else one clear line."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expects {what}, got {text!r}") from None
        if not value >= minimum or value != value or value in (float("inf"),):
            raise argparse.ArgumentTypeError(f"expects {what}, got {text!r}")
        return value
    return parse


def _renamed(new: str, target: argparse.Action):
    class Renamed(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            print(f"{parser.prog}: note: {option_string} is now {new}; the old name still works", file=sys.stderr)
            setattr(namespace, self.dest, target.const if target.nargs == 0 else values)
    return Renamed


ROOT = Path(__file__).resolve().parents[2]  # the repository: default paths are shown relative to it
DATA_HELP = ("where the Fashion-MNIST files are (default: $FASHION_MNIST_DIR, then data/ beside the scripts, then "
             "/usr/share/datasets/fashion-mnist, then torchvision's download into data/)")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """--help with each flag's default after its help (where the help does not say it already),
    and the examples below kept as they are written."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (not action.option_strings or default is None or default == argparse.SUPPRESS or isinstance(default, bool)
                or "(default" in text):
            return text
        if isinstance(default, Path):
            default = os.path.relpath(default, ROOT) + "/" if default.is_relative_to(ROOT) else default
        return f"{text} (default: {str(default).replace('%', '%%')})"


def examples(doc: str) -> str:
    """The examples of a script's docstring (its indented command lines) as --help's epilog."""
    lines = [line.rstrip() for line in doc.splitlines() if line.startswith("    ") and line.strip()]
    return "examples:\n" + "\n".join(line[2:] for line in lines) if lines else ""


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (exit status 2), without the usage dump, and
    whose --help gives every flag's default and, from `doc` (the script's docstring), a
    one-line description and its examples."""

    def __init__(self, *args, doc: str | None = None, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        if doc:
            kwargs.setdefault("description", doc.strip().split("\n")[0])
            kwargs.setdefault("epilog", examples(doc))
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")

    def add_renamed(self, old: str, new: str) -> None:
        """Keep the old spelling `old` of the flag now called `new` working, saying the new name."""
        target = next(a for a in self._actions if new in a.option_strings)
        self.add_argument(old, dest=target.dest, type=target.type, nargs=0 if target.nargs == 0 else None,
                          action=_renamed(new, target), help=argparse.SUPPRESS)

    def add_device(self):
        self.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto",
                          help="auto: CUDA if there is a GPU, else Apple's MPS, else the CPU")

    def parse_args(self, args=None, namespace=None):
        """Parse, then refuse a --device this machine does not have."""
        parsed = super().parse_args(args, namespace)
        device = getattr(parsed, "device", None)
        if (
            device == "cuda"
            and not torch.cuda.is_available()
            or device == "mps"
            and not torch.backends.mps.is_available()
        ):
            self.error(f"argument --device: {device} is not available on this machine; use auto or cpu")
        return parsed


def settings(defaults: S, flags) -> S:
    """`defaults` (a settings dataclass: TrainSettings, a study's Options, ...) with every flag
    the user set: each entry of `flags` (an argparse namespace, a dict or a study's RunConfig) named like one of its
    fields (--epochs, --batch-size, --lr, --patience, --precision, --seed, ...) replaces that
    field; one left at None, or absent, keeps the default. The one way every script and the
    benchmark turn flags into settings."""
    given = flags if isinstance(flags, Mapping) else vars(flags)
    return replace(defaults, **{f.name: given[f.name] for f in fields(defaults)
                                if f.name in given and given[f.name] is not None})
