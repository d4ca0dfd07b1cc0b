"""Spec 004's items 3.2-3.3, answered from the `variants` study: the base CNN and the variants made
from it in turn (their table, verdicts and curves), whether the best on validation is best on
test, and the feature maps of the best network."""
from fmnist.core import stats, words
from fmnist.core.words import ci, training_words
from fmnist.reports.build import convergence_words, mean_of, rise, rows, study_figures
from fmnist.studies import channels, groups, variants
from fmnist.studies.study import planned
from fmnist.studies.tables import report_table, table_figures


def variants_table(src):
    return report_table(variants.STUDY, src.studies["variants"])


def base_info(src) -> str:
    base = rows(src.studies["variants"])[variants.BASE_ROW]
    r = base[0]
    return (f"The base CNN, on Fashion-MNIST-1: "
            f"{variants.network_words(r['config'])}; {r['parameters']:,} parameters, "
            f"{r['multiply_adds'] / 1e6:.2f} M multiply-adds per image; {training_words(r['config'])}, on "
            f"{r['sizes']['train']:,} images. Over {len(base)} seeds: "
            f"validation loss {ci(mean_of(base, 'val_loss'), 4, '')}, test accuracy {ci(mean_of(base, 'test_acc'))}.")


KEPT_TITLE = "The changes kept, each against the best before it"


def kept_table(src) -> list:
    """3.2.2's path as a table: each change kept, the validation losses before and after (means
    over the seeds), the fall paired by seed with its 95 % interval, and whether it is beyond the
    seeds' spread; under it, the count of clear falls against what chance gives."""
    tried, changes = variants.kept_changes(planned(src.studies["variants"]))
    if not changes:
        return []
    rows_ = []
    for c in changes:
        d = stats.flipped(c["difference"])  # the best-before's loss minus the change's: > 0, the change lowered it
        rows_.append([c["row"], c["against"], f"{c['before_loss']:.4f}", f"{c['loss']:.4f}",
                      f"{d['mean']:+.4f}" + ("" if d["low"] is None else f" ({stats.span(d, 4)})"),
                      ("lower" if c["clear"] else "no difference detected") + (" (not converged)" if c["unconverged"]
                                                                                else "")])
    clear = [c["row"] for c in changes if c["clear"]]
    notes = [f"Validation loss: mean over {changes[0]['difference']['n']} seeds; fall: the best-before's loss minus "
             "the change's, paired by seed, with its 95 % interval (lower: the interval excludes zero). "
             f"{stats.chance_words(len(clear), tried, 'changes tried', one_side=True).capitalize()}."]
    notes += [f"Not converged: {c['row']}: {c['unconverged']}, so this compares unfinished training."
              for c in changes if c["unconverged"]]
    return table_figures(KEPT_TITLE, ["change kept", "against", "before", "after", "fall (95 % CI)", "verdict"],
                         rows_, notes)


def variants_answer(src) -> str:
    results = src.studies["variants"]
    records = planned(results)
    tried, changes = variants.kept_changes(records)
    clear = [c["row"] for c in changes if c["clear"]]
    kept = (f"{tried} changes were tried in turn, each on the best network so far, and {len(changes)} kept for "
            "lowering the mean validation loss (the spec's rule; each in the table below). "
            + (f"Only {words.listing(clear)} lowered it by more than the seeds vary" if clear else
               "None lowered it by more than the seeds vary") + ": "
            + stats.chance_words(len(clear), tried, "changes tried", one_side=True) + "."
            + (" The others were kept on the mean alone." if 0 < len(clear) < len(changes) else "")) if tried else ""
    return "\n".join([groups.study_budget(results, records), words.sentence(groups.best_line(records, "val_loss"))
                       + ".", kept,
                       "The table's losses are plain cross-entropy in evaluation mode, without the regulariser: L2 "
                       "enters only the gradients (as the optimiser's weight decay), so the losses of rows with and "
                       "without L2 compare, as the spec asks.", variants_curve_words(records)])


def variants_curve_words(records: list[dict]) -> str:
    """3.2.2's curves read: which variants' validation loss turned up most past their best epoch, which ended flat."""
    rises = {row: rise(r["history"], r["best_epoch"]) for row, r in groups.first_seeds(records).items()}
    if not rises:
        return ""
    top = [row for row in sorted(rises, key=rises.get, reverse=True) if rises[row] > 0.1][:3]
    flat = [row for row in rises if rises[row] <= 0.02]
    return ("Read from the curves (each variant's first seed): " + (
        "the validation loss rose most past its lowest point in "
        + words.listing([f"{row} (+{100 * rises[row]:.0f} % by its last epoch)" for row in top])
        + ": these turned up most once past their best epoch" if top else
        "no variant's validation loss ended more than 10 % above its lowest point")
        + f"; it ended within 2 % of its lowest in {len(flat)} of the {len(rises)} variants. Early stopping keeps "
        "each run's best-epoch weights, so the table reads the lowest points, not the ends of the curves.")


def lowest_test_loss(src) -> str:
    records = planned(src.studies["variants"])
    by = dict(groups.ranked(records, "val_loss"))
    val = {row: mean_of(runs, "val_loss")["mean"] for row, runs in by.items()}
    test = {row: mean_of(runs, "test_loss")["mean"] for row, runs in by.items()}
    best_val, best_test = min(val, key=val.get), min(test, key=test.get)
    if best_val == best_test:
        second = min((row for row in test if row != best_test), key=test.get, default=None)
        lead = ""
        if second is not None:  # is it lowest beyond the seeds' spread? its test loss against the runner-up's
            d = groups.difference(by[second], by[best_test], "test_loss")
            lead = (f" Its test loss against the next lowest, {second}'s ({test[second]:.4f}), paired by seed: "
                    + stats.verdict(d, second, best_test, unit="", higher_is_better=False)
                    + ("; so it is lowest as a mean, not by more than the seeds vary." if not stats.excludes_zero(d)
                       else "."))
        return (f"Yes: {best_val} has both the lowest mean validation loss ({val[best_val]:.4f}) and the lowest mean "
                f"test loss ({test[best_test]:.4f}) of the {len(by)} rows." + lead)
    d = groups.difference(by[best_val], by[best_test], "test_loss")
    return (f"No: the lowest mean validation loss is {best_val}'s ({val[best_val]:.4f}), the lowest mean test loss "
            f"{best_test}'s ({test[best_test]:.4f}, against {test[best_val]:.4f} for {best_val}). Their test losses, "
            "paired by seed: " + stats.verdict(d, best_val, best_test, unit="", higher_is_better=False) + ". Why: the "
            "validation and test sets are different samples, and picking the best of "
            f"{len(by)} rows on one of them favours a row that was lucky on it; "
            + ("the gap is within the seeds' spread, so the two rows are not told apart." if not stats.excludes_zero(d)
               else "here the gap is beyond the seeds' spread, so the validation set ranks these two rows differently "
               "from the test set."))


def _inspected(src) -> dict:
    return src.studies["variants"].get("finish", {}).get("inspected") or {}


def _winner_runs(src) -> list[dict]:
    return rows(src.studies["variants"]).get(_inspected(src).get("row"), [])


def feature_maps_net(src) -> str:
    runs = _winner_runs(src)
    if not runs:
        return "The variants study has not inspected a network yet: run python experiments.py variants."
    r = runs[0]
    return (f"The network inspected is the variants study's best on Fashion-MNIST-1 (3.2): {_inspected(src)['row']}, "
            f"{variants.network_words(r['config'])}; {r['parameters']:,} parameters; trained with cross-entropy, "
            f"{training_words(r['config'])}. Over {len(runs)} seeds: validation loss "
            f"{ci(mean_of(runs, 'val_loss'), 4, '')}, test accuracy {ci(mean_of(runs, 'test_acc'))}.")


def feature_maps_converged(src) -> str:
    runs = _winner_runs(src)
    return convergence_words(runs) if runs else feature_maps_net(src)


def feature_maps_figures(src) -> list[str]:
    stems = [f"variants_maps_{layer['layer']}" for layer in _inspected(src).get("layers", [])]
    return study_figures(variants.STUDY, *stems)(src)


def class_maps_visuals(src) -> list:
    """3.3.4's evidence: the table of every shown channel's numbers beside the shuffled-label
    control, then the deepest layer's mean maps per class with each channel's class tie (the spec's
    "in particular for the deeper layers"; experiments.pdf has every layer's)."""
    inspected = _inspected(src)
    stems = [f"variants_classmaps_{layer['layer']}" for layer in inspected.get("layers", [])[-1:]]
    rows_ = channels.channel_rows(inspected)
    table = table_figures("What each channel shown responds to", channels.CHANNEL_COLUMNS, rows_, [
        f"On {inspected['images']:,} Fashion-MNIST-1 test images. Zeros: the share of the channel's values that "
        "are zero. Favoured region: the region (background, the garment's outline or its interior) whose share of "
        f"the response is at least {channels.FAVOURED:g} times its share of the pixels, both given. Ratio: the "
        "channel's mean response on its top class over its mean over the classes; shuffled labels: the 95th "
        f"percentile of that ratio over {channels.SHUFFLES} random relabellings, what a channel this sparse reaches by "
        "chance. "
        f"Tied: the ratio at least {channels.CLASS_TIED:g}x and above the shuffled labels'."]) if rows_ else []
    return table + study_figures(variants.STUDY, *stems)(src)  # the table first: set while no float waits


def feature_maps_answer(src) -> str:
    return "\n".join(channels.inspection_words(_inspected(src)))
