"""Study `transfer` (spec 004 section 3.5): does a network trained on Fashion-MNIST-2 give a
better start than random weights when labelled Fashion-MNIST-1 data is scarce? It trains the
Fashion-MNIST-2 network once, with the settings the tuning study chose (saved in the study
folder), then sweeps the fraction of labelled Fashion-MNIST-1 images (studies/sweep.py),
starting every run from a fresh copy of its weights (a new classification layer) or from
random ones.
"""
from fmnist.core import files, storage
from fmnist.core.pages import Page
from fmnist.core.words import OPTIMIZER_NAMES, number_words
from fmnist.studies import groups, tuning
from fmnist.studies.measure import train_and_measure
from fmnist.studies.networks import HalfCNN
from fmnist.studies.study import Context, planned
from fmnist.studies.sweep import (
    HALF1,
    HALF2,
    Sweep,
    common_notes,
    halves,
    sweep_page,
    sweep_plan,
    sweep_run,
    upstream_record,
    verdict_pages,
    verdicts,
)

UPSTREAM_FILE = "source.pth"  # the upstream network's weights, in the study folder


def transfer_weights(model: HalfCNN, ctx: Context) -> None:
    """Everything but the classification layer from a fresh read of source.pth; that layer
    keeps its own new random weights."""
    source = storage.load_weights(HalfCNN(len(HALF2)), ctx.folder / UPSTREAM_FILE, "Fashion-MNIST-2 network",
                                  "run the study again: its source run is redone first")
    state = {k: v for k, v in source.state_dict().items() if not k.startswith("classifier.fc.")}
    missing, _ = model.load_state_dict(state, strict=False)
    assert sorted(missing) == ["classifier.fc.bias", "classifier.fc.weight"], missing


class Transfer(Sweep):
    name, spec, starts = "transfer", "Spec 004 3.5", ("random", "transferred")
    title = "Transfer from Fashion-MNIST-2 against random initialisation"
    upstream_file = UPSTREAM_FILE

    def plan(self, ctx: Context) -> list[dict]:
        """The source network trains with the tuning study's winning settings (spec 004 3.5.2), so
        that study must have finished first (`all` runs it first)."""
        best = tuning.winner(files.load_results(ctx.folder.parent / "tuning" / "results.json", "tuning"))
        if best is None:
            raise storage.UserError("transfer trains its source network with the settings the tuning study chose: "
                                    "run python experiments.py tuning first (with the same --quick and --budget)")
        return sweep_plan(ctx, self.name, self.starts,
                          {"name": "source (Fashion-MNIST-2)", "file": UPSTREAM_FILE,
                           **{k: best[k] for k in ("optimizer", "lr", "momentum", "dropout")}})

    def run(self, config: dict, ctx: Context) -> dict:
        if config["kind"] == "upstream":
            model = HalfCNN(len(HALF2), dropout=config["dropout"])
            record, _ = train_and_measure(model, config, halves(ctx, HALF2), ctx, num_classes=len(HALF2))
            storage.save_weights(model, ctx.folder / UPSTREAM_FILE)
            return record
        model = HalfCNN(len(HALF1))
        if config["start"] == "transferred":
            transfer_weights(model, ctx)
        return sweep_run(model, config, ctx)

    def notes(self, results: dict) -> list[str]:
        records = planned(results)
        source = upstream_record(records, "test")
        lines = common_notes(records, "random initialisation",
                              "the Fashion-MNIST-2 network's weights with a new classification layer (nothing frozen)")
        if source:
            c = source["config"]
            lines.insert(
                0,
                f"Source network on Fashion-MNIST-2, trained with the tuning study's choice ("
                f"{OPTIMIZER_NAMES[c['optimizer']]} lr {number_words(c['lr'])}, dropout "
                f"{number_words(c.get('dropout', 0.25))}; {groups.budget([source])}): train "
                f"{100 * source['train']['accuracy']:.2f}%, "
                f"validation {100 * source['val']['accuracy']:.2f}%, test {100 * source['test']['accuracy']:.2f}%.",
            )
        return lines + verdicts(records, self.starts)

    def pages(self, results: dict) -> list[Page]:
        records = planned(results)
        return ([sweep_page(f"{self.name}_sweep", "Spec 004 3.5, transfer learning", records, self.starts)]
                + verdict_pages(f"{self.name}_verdicts", "Spec 004 3.5, transfer learning", records, self.starts))

    def upstream_network(self, config) -> HalfCNN:
        return HalfCNN(len(HALF2), dropout=config.get("dropout", 0.25))


STUDY = Transfer()
