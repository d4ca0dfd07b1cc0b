"""Study `pretrain` (spec 004 section 3.4): does pre-training a network's convolutional part as
an autoencoder help when labelled data is scarce? It trains the autoencoder once (saved in the
study folder), then sweeps the fraction of labelled Fashion-MNIST-1 images (studies/sweep.py),
starting every run from a fresh copy of the encoder's weights or from random ones.
"""
import torch
import torch.nn.functional as F

from fmnist.core import storage
from fmnist.core.data import CLASSES
from fmnist.core.pages import Page
from fmnist.core.training import fit, predict
from fmnist.studies import figures, groups
from fmnist.studies.measure import per_class, rounded
from fmnist.studies.networks import ConvAutoencoder, HalfCNN
from fmnist.studies.study import Context, as_config, planned, subset
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

# The autoencoder's images under the default budget: a stratified 1,000 per class of each half
# (Fashion-MNIST-2's from its training, validation and test images together), 10,000 in all;
# --budget spec: every image the spec names (about 62,000, at about 35 s an epoch on 2 cores).
AUTOENCODER_PER_CLASS = 1000

UPSTREAM_FILE = "autoencoder.pth"  # the upstream network's weights, in the study folder


def copy_encoder(model: HalfCNN, autoencoder: ConvAutoencoder) -> None:
    """The encoder's values into the classifier's convolutional part (same structure): copied
    into the classifier's own tensors, so training one never changes the other."""
    model.features.load_state_dict(autoencoder.encoder.state_dict())


def autoencoder_run(config: dict, ctx: Context) -> dict:
    """Every Fashion-MNIST-2 image (training, validation and test, as spec 004 does) and the
    Fashion-MNIST-1 training images; the Fashion-MNIST-1 validation images are held out."""
    one, two = halves(ctx, HALF1), halves(ctx, HALF2)
    parts = [
        (
            torch.cat([two[k][0] for k in ("train", "val", "test")]),
            torch.cat([two[k][1] for k in ("train", "val", "test")]),
        ),
        one["train"],
    ]
    if config.get("train_per_class") and not ctx.options.quick:  # the default budget: a stratified share of each
        parts = [subset(part, config["train_per_class"], config["seed"]) for part in parts]
    x = torch.cat([part[0] for part in parts])
    model = ConvAutoencoder()
    history = fit(model, (x, torch.zeros(len(x), dtype=torch.long)), one["val"], as_config(config).settings(),
                  ctx.device, config["seed"], name="autoencoder", log=lambda line: None)
    storage.save_weights(model, ctx.folder / UPSTREAM_FILE)
    examples = {}
    for name, split, classes in (("Fashion-MNIST-1", one, HALF1), ("Fashion-MNIST-2", two, HALF2)):
        x_test, y_test = split["test"]
        idx = torch.stack([(y_test == k).nonzero()[0, 0] for k in range(len(classes)) if (y_test == k).any()])
        out = predict(model, x_test[idx], ctx.device)
        examples[name] = {"images": rounded(x_test[idx, 0], 3), "reconstructions": rounded(out[:, 0], 3),
                          "classes": [CLASSES[classes[int(k)]] for k in y_test[idx]],
                          "test_mse": float(F.mse_loss(predict(model, x_test, ctx.device), x_test)),
                          "held_out": name == "Fashion-MNIST-1"}  # Fashion-MNIST-2's test images trained it
    return {"history": history["epochs"], "best_epoch": history["best_epoch"], "epoch_steps": history["epoch_steps"],
            "images": len(x),
            "parameters": sum(p.numel() for p in model.parameters()), "examples": examples}


class Pretrain(Sweep):
    name, spec, starts = "pretrain", "Spec 004 3.4", ("random", "pretrained")
    title = "Autoencoder pre-training against random initialisation"
    upstream_file = UPSTREAM_FILE

    def plan(self, ctx: Context) -> list[dict]:
        return sweep_plan(ctx, self.name, self.starts,
                          {"name": "autoencoder", "objective": "reconstruct", "file": UPSTREAM_FILE,
                           "train_per_class": per_class(ctx, AUTOENCODER_PER_CLASS)})

    def run(self, config: dict, ctx: Context) -> dict:
        if config["kind"] == "upstream":
            return autoencoder_run(config, ctx)
        model = HalfCNN(len(HALF1))
        if config["start"] == "pretrained":
            copy_encoder(model, storage.load_weights(ConvAutoencoder(), ctx.folder / UPSTREAM_FILE, "autoencoder",
                                                     "run the study again: its autoencoder run is redone first"))
        return sweep_run(model, config, ctx)

    def notes(self, results: dict) -> list[str]:
        records = planned(results)
        ae = upstream_record(records, "history")
        lines = common_notes(
            records, "random initialisation", "the autoencoder's encoder weights (copied; nothing frozen)"
        )
        if ae:
            best = ae["history"][ae["best_epoch"] - 1]
            per = ae["config"].get("train_per_class")
            drawn = (f"a stratified {per:,} per class of Fashion-MNIST-2's training, validation and test images and of "
                     "Fashion-MNIST-1's training images" if per else
                     "every Fashion-MNIST-2 image and the Fashion-MNIST-1 training images")
            lines.insert(
                0,
                f"Autoencoder: {ae['images']:,} images ({drawn}), {groups.budget([ae])}, validation MSE "
                f"{best['val_loss']:.4f} on the "
                "held-out Fashion-MNIST-1 validation images; MSE on the test images of "
                + ", ".join(
                    f"{k} {e['test_mse']:.4f} ({'held out' if k == 'Fashion-MNIST-1' else 'in its training set'})"
                    for k, e in ae["examples"].items()
                )
                + ".",
            )
        return lines + verdicts(records, self.starts)

    def pages(self, results: dict) -> list[Page]:
        records = planned(results)
        ae = upstream_record(records, "history")
        out = [Page("pretrain_autoencoder", "Spec 004 3.4, autoencoder", "its loss and reconstructions",
                    figures.reconstructions_figure(ae["history"], ae["examples"]))] if ae else []
        return (out + [sweep_page(f"{self.name}_sweep", "Spec 004 3.4, pre-training", records, self.starts)]
                + verdict_pages(f"{self.name}_verdicts", "Spec 004 3.4, pre-training", records, self.starts))

    def upstream_network(self, config) -> ConvAutoencoder:
        return ConvAutoencoder()


STUDY = Pretrain()
