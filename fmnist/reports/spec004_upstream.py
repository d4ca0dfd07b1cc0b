"""Spec 004's upstream networks, each trained once and then copied from: the autoencoder of 3.4
(what it is, how it trained, how its encoder is copied) and the Fashion-MNIST-2 network of 3.5
(its training, the tuning that chose its settings, the structure it shares)."""
from fmnist.core.data import CLASSES
from fmnist.core.words import training_words
from fmnist.studies import groups, sweep, tuning
from fmnist.studies.study import planned
from fmnist.studies.tables import report_table


def autoencoder(src) -> str:
    ae = sweep.upstream_record(planned(src.studies["pretrain"]))
    best = ae["history"][ae["best_epoch"] - 1]
    return (
        f"A convolutional autoencoder whose encoder is the classifier's convolutional part (to an 8 x 7 x 7 "
        f"bottleneck), two transposed convs back to 28 x 28, tanh; {ae['parameters']:,} parameters, mean squared "
        f"error. Trained on {ae['images']:,} images ("
        + (
            f"a stratified {ae['config']['train_per_class']:,} per class of Fashion-MNIST-2's training, validation "
            "and test images and of Fashion-MNIST-1's training images"
            if ae["config"].get("train_per_class")
            else "every Fashion-MNIST-2 image and the Fashion-MNIST-1 training images"
        )
        + f") for {len(ae['history'])} epochs: best epoch {ae['best_epoch']}, validation MSE "
        f"{best['val_loss']:.4f} on held-out Fashion-MNIST-1 validation images; MSE on the test images "
        + ", ".join(f"{k} {e['test_mse']:.4f}" for k, e in ae["examples"].items())
        + (
            " (Fashion-MNIST-2's test images were in the pool its sample was drawn from, as the spec asks, so a share "
            "of them, not all, trained it; Fashion-MNIST-1's test images were held out)."
            if ae["config"].get("train_per_class")
            else " (Fashion-MNIST-2's test images were in its training set, as the spec "
            "asks; Fashion-MNIST-1's were held out)."
        )
    )


def autoencoder_converged(src) -> str:
    """3.4.2: how the autoencoder trained and whether early stopping ended it."""
    ae = sweep.upstream_record(planned(src.studies["pretrain"]))
    c, ran = ae["config"], len(ae["history"])
    losses = [e["val_loss"] for e in ae["history"]]
    done = groups.converged(ae)
    return (
        f"{training_words(c)}; on the combined images of 3.4.1. It ran {ran} epochs, the validation MSE falling from "
        f"{losses[0]:.4f} to {min(losses):.4f} at epoch {ae['best_epoch']}; "
        + (
            f"no lower validation MSE for the next {c['patience']} epochs stopped it, so it was trained to convergence."
            if done
            else f"it reached its ceiling of {c['epochs']} epochs before early stopping ended it: not "
            "trained to convergence."
        )
    )


def encoder_copy(src) -> str:
    r = next(r for r in planned(src.studies["pretrain"]) if r["config"].get("start") == "pretrained")
    return (f"The classifier (HalfCNN, {r['parameters']:,} parameters) has exactly the encoder's structure as its "
            "convolutional part; a pretrained start copies the encoder's weights into it (nothing frozen, nothing "
            "shared), then a hidden layer and the 5-class layer start random.")


def source(src) -> str:
    s = sweep.upstream_record(planned(src.studies["transfer"]))
    return (
        f"The same HalfCNN with 5 outputs, trained on Fashion-MNIST-2 ({', '.join(CLASSES[k] for k in sweep.HALF2)}): "
        f"{groups.budget([s])}, with the settings the tuning study (3.5.2) chose: {training_words(s['config'])}; "
        "training "
        f"{100 * s['train']['accuracy']:.2f}%, validation {100 * s['val']['accuracy']:.2f}%, test "
        f"{100 * s['test']['accuracy']:.2f}%."
    )


def tuning_answer(src) -> str:
    results = src.studies["tuning"]
    by = groups.by_row(planned(results))
    seeds = sorted({len(runs) for runs in by.values()})
    grid = (f"The tuning is a grid search: {len(by)} settings (each optimiser at its own learning rates, each with "
            f"every dropout in the table), {'-'.join(map(str, seeds))} seeds each. The structure is not tuned, a "
            "departure from the spec: it stays HalfCNN, the autoencoder's encoder of 3.4 with a two-layer classifier, "
            "so that 3.5.4's sweep trains the very network of 3.4.4's and the transferred start can be set beside the "
            "pretrained one; tuning the structure as well would multiply the grid by the structures tried.")
    return "\n".join([groups.study_budget(results, planned(results)), grid] + tuning.STUDY.headline(results))


def tuning_figures(src):
    return report_table(tuning.STUDY, src.studies["tuning"])


def same_structure(src) -> str:
    r = next(r for r in planned(src.studies["transfer"]) if r["config"].get("start") == "transferred")
    return (f"The Fashion-MNIST-1 network is the same HalfCNN ({r['parameters']:,} parameters); a transferred start "
            "reads every weight of the Fashion-MNIST-2 network except its classification layer, which starts random.")
