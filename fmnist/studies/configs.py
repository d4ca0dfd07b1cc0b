"""A study run's configuration: one typed, frozen dataclass with every field a run may set.

A study's plan builds `RunConfig`s, so a misspelt field or a value of the wrong type fails when
the plan is made, before anything trains. A run is keyed by the fields it sets (a field left
unset is not part of its key, as if it were absent), and results.json stores exactly those, so
a configuration reads the same as the plain dict it is saved as: `config["lr"]`,
`config.get("patience", default)` and `{**config}` work on both, and the fields also by name
(`config.lr`).
"""
import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields

from fmnist.core import cli
from fmnist.core.assignment import STUDY_RECIPE
from fmnist.core.training import TrainSettings


class Unset:
    """The value of a field a run does not set (not None: None is a value, e.g. "every image")."""

    def __repr__(self) -> str:
        return "UNSET"

    def __reduce__(self):  # one marker, also through copy.deepcopy and pickle (a module global)
        return "UNSET"


UNSET: typing.Any = Unset()


@dataclass(frozen=True, repr=False, eq=False)  # equality: Mapping's, so a config equals its dict
class RunConfig(Mapping):
    # every run
    study: str                       # the study's name
    name: str                        # the run's name, unique in the study ("<row> seed <seed>")
    row: str = UNSET                 # the table row its seeds share (unset: the name)
    seed: int = UNSET                # seeds the initial weights, the training subset and the batch order
    quick: bool = UNSET              # a --quick smoke run
    # training (measure.settings turns these into TrainSettings)
    epochs: int = UNSET              # the epoch ceiling
    patience: int = UNSET            # early stopping: epochs without a lower validation loss (unset: never)
    schedule: str = UNSET            # the learning rate's: one-cycle (unset) or plateau (with early stopping)
    batch_size: int = UNSET          # images per step
    lr: float = UNSET                # peak learning rate of the one-cycle schedule
    optimizer: str = UNSET           # sgd (Nesterov when momentum > 0), adam or rmsprop
    momentum: float = UNSET          # sgd and rmsprop
    weight_decay: float = UNSET      # L2 on weights (not on biases and norm scales)
    label_smoothing: float = UNSET   # of the training loss (unset: 0)
    loss: str = UNSET                # the training loss: cross-entropy (unset), focal or hinge (training.LOSSES)
    flip: bool = UNSET               # random left-right mirroring of half of each batch
    init: str = UNSET                # default, xavier or he
    objective: str = UNSET           # classify (cross-entropy) or reconstruct (MSE; the autoencoder)
    iterations: bool = UNSET         # keep every batch's training loss
    extras: bool = UNSET             # also measure ROC, t-SNE and examples for the figures
    # data
    train_per_class: int | None = UNSET  # training images per class (None: all)
    val_per_class: int | None = UNSET    # validation images per class (None: all)
    train_share: float = UNSET       # the share of the seed's training subset used
    fraction: float = UNSET          # pretrain/transfer: the share of the labelled half
    pixels: str = UNSET              # locality: images, or scrambled by one fixed permutation
    permutation_seed: int = UNSET    # locality: seeds that permutation
    # the network
    network: str = UNSET             # which network a study builds (its own names)
    widths: list = UNSET             # conv channels per stage
    hidden: int = UNSET              # units of the hidden fully connected layer
    dropout: float = UNSET           # before the last layers
    batch_norm: bool = UNSET         # after each conv (reference: on the logits)
    conv_blocks: int = UNSET         # mobilenet/settings: standard blocks
    mobilenet_blocks: int = UNSET    # mobilenet/settings: depthwise-separable blocks
    # what a row compares
    change: str = UNSET              # variants: what the row changes from the base, in words
    factor: str = UNSET              # settings: the factor the row changes
    kind: str = UNSET                # pretrain/transfer: upstream (the network started from) or sweep
    start: str = UNSET               # pretrain/transfer: random, pretrained or transferred
    upstream: str = UNSET            # pretrain/transfer: the upstream run's name
    file: str = UNSET                # pretrain/transfer: the weights file the upstream run leaves

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not UNSET and not _fits(value, hints[f.name]):
                raise TypeError(f"RunConfig {self.name!r}: {f.name} = {value!r} is not {hints[f.name]}")

    def __repr__(self) -> str:
        return f"RunConfig({', '.join(f'{k}={v!r}' for k, v in self.items())})"

    def __getitem__(self, key: str):
        value = getattr(self, key, UNSET) if key in _NAMES else UNSET
        if value is UNSET:
            raise KeyError(key)
        return value

    def __iter__(self):
        return (f.name for f in fields(self) if getattr(self, f.name) is not UNSET)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def get(self, key: str, default=None):
        if key not in _NAMES:
            raise KeyError(f"RunConfig has no field {key!r}")
        return self[key] if key in self else default

    def but(self, **changes) -> "RunConfig":
        """A copy with `changes` (checked like any configuration)."""
        return dataclasses.replace(self, **changes)

    def settings(self) -> TrainSettings:
        """The run's training settings: the study recipe (assignment.STUDY_RECIPE, without early
        stopping unless the run sets a patience) with every field this run sets, through the same
        cli.settings that applies the hand-in's flags. The losses the tables show are plain
        cross-entropy whatever the training loss was. A --quick smoke run keeps one pass an epoch."""
        recipe = dataclasses.replace(STUDY_RECIPE, patience=self.epochs, min_steps=0 if self.get("quick") else
                                     STUDY_RECIPE.min_steps)
        return cli.settings(recipe, self)


_NAMES = frozenset(f.name for f in fields(RunConfig))


def _fits(value, hint) -> bool:
    """Whether `value` is of the annotated type (an int is a float too, as JSON has it)."""
    if isinstance(hint, types.UnionType):
        return any(_fits(value, h) for h in hint.__args__)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)

