"""The scripts' command line: a parser that reports a bad flag in one line, typed number
flags, the flags that override a training recipe, and the wrapper every script runs in."""
import argparse
import signal
import sys
from dataclasses import fields, replace
from typing import TypeVar

import torch

from fmnist.core.storage import UserError

S = TypeVar("S")  # a settings dataclass


def _terminate(signum, frame):
    raise KeyboardInterrupt


def run_script(prog: str, run, args, errors: tuple, interrupted: str) -> int:
    """Call run(args) the way every script does: SIGTERM is treated as Ctrl-C, a problem the
    user can fix is one line on stderr and exit 1, an interruption says `interrupted` (130)."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return run(args)
    except (UserError,) + errors as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted; {interrupted}", file=sys.stderr)
        return 130


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


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (exit status 2), without the usage dump."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")

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
    the user set: each entry of `flags` (an argparse namespace, or a dict) named like one of its
    fields (--epochs, --batch-size, --lr, --patience, --precision, --seed, ...) replaces that
    field; one left at None, or absent, keeps the default. The one way every script and the
    benchmark turn flags into settings."""
    given = vars(flags) if not isinstance(flags, dict) else flags
    return replace(defaults, **{f.name: given[f.name] for f in fields(defaults) if given.get(f.name) is not None})
