"""Study `mobilenet` (spec 003): networks of standard and MobileNet (depthwise-separable)
blocks, compared on accuracy, parameters, multiply-adds and time on this machine."""
import statistics
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from fmnist.core import plotting, stats
from fmnist.core.data import CLASSES
from fmnist.core.pages import Page
from fmnist.core.words import training_words
from fmnist.studies import figures, groups
from fmnist.studies import mobilenet_assignment as assignment
from fmnist.studies.configs import RunConfig
from fmnist.studies.measure import (
    measured,
    per_class,
    rounded,
    seeded,
    seeds,
    splits,
    start,
    stop_rule,
    test_extras,
)
from fmnist.studies.networks import SCHEDULE, ConvDw, conv_block, init_network
from fmnist.studies.study import SCORE_COLUMNS, Column, Context, Study, as_config, planned

COMBINATIONS = ((4, 0), (3, 1), (2, 2), (1, 3), (0, 4), (1, 5), (1, 7))
PLAIN = (4, 0)  # spec 003's second network: four conv blocks
MATCHED = ((1, 3), (0, 4))  # MobileNet networks of the plain one's depth and block positions: the headline
QUICK_COMBINATIONS = ((4, 0), (1, 3), (0, 4))  # --quick: the plain network and two MobileNet ones
# 5,000 training images (500 per class, drawn per seed): 7 networks x 3 seeds, each to convergence
TRAIN_PER_CLASS = 500

TRAINING = {"batch_size": 128, "lr": 0.1, "weight_decay": 5e-4, "optimizer": "sgd", "momentum": 0.9, "flip": True}


def last_conv_filters(model) -> dict:
    """The last block's filters: a standard block's 3x3 kernels (the first 8 output channels x
    the first 16 input channels), or a MobileNet block's depthwise 3x3 kernels and its 1x1
    pointwise matrix."""
    name, block = list(model.features.named_children())[-1]
    if hasattr(block, "depthwise"):
        dw, pw = block.depthwise.weight.detach().cpu(), block.pointwise.weight.detach().cpu()[:, :, 0, 0]
        return {
            "layer": name,
            "kernels": rounded(dw[:64, 0].reshape(-1, 8, 3, 3)),
            "kernels_label": f"{name}.depthwise: one 3x3 kernel per input channel (channels row by row, "
            f"{min(64, len(dw))} of {len(dw)})",
            "rows": "channel // 8",
            "columns": "channel % 8",
            "pointwise": rounded(pw),
            "pointwise_label": f"{name}.pointwise: {pw.shape[0]} x {pw.shape[1]} 1x1 weights",
        }
    w = block.conv.weight.detach().cpu()
    return {"layer": name, "kernels": rounded(w[:8, :16]), "rows": "output channel", "columns": "input channel",
            "kernels_label": f"{name}.conv: 3x3 kernels of output channels 0-7 x input channels 0-15 "
                             f"(of {w.shape[0]} x {w.shape[1]})"}


def _seconds(module, x: torch.Tensor, repeats: int) -> float:
    """Median time of a forward and backward pass of `module` on `x`."""
    times = []
    for i in range(repeats + 2):
        start = time.perf_counter()
        module(x).square().mean().backward()
        if i >= 2:  # the first two passes warm up the kernels
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def cost_ratios(device, repeats: int) -> list[dict]:
    """For every block shape of SCHEDULE after the first: a MobileNet block's cost over a
    standard block's with the same input and output, in theory, counted FLOPs and time."""
    layers, side = [], 28
    for (c_in, _), (c_out, stride) in zip(SCHEDULE, SCHEDULE[1:]):
        x = torch.randn(128, c_in, side, side, device=device).contiguous(memory_format=torch.channels_last)
        blocks = [b.to(device, memory_format=torch.channels_last) for b in (conv_block(c_in, c_out, stride),
                                                                            ConvDw(c_in, c_out, stride))]
        flops = []
        for block in blocks:
            with FlopCounterMode(display=False) as counter:
                block(x[:1])
            flops.append(counter.get_total_flops())
        times = [_seconds(b, x, repeats) for b in blocks]
        side //= stride
        key = (c_in, c_out, side)
        if key not in [(layer["in"], layer["out"], layer["side"]) for layer in layers]:
            layers.append({"in": c_in, "out": c_out, "side": side, "theory": 1 / c_out + 1 / 9,
                           "flops": flops[1] / flops[0], "time": times[1] / times[0],
                           "standard_ms": 1000 * times[0], "separable_ms": 1000 * times[1]})
    return layers


def _combo(config: dict) -> tuple:
    return config["conv_blocks"], config["mobilenet_blocks"]


def _best_mobile(records: list[dict]) -> dict | None:
    """The figures' run of the MobileNet row of the plain network's depth with the best mean
    validation accuracy: the figures then compare blocks, not depth."""
    same_depth = lambda c: c["mobilenet_blocks"] > 0 and c["conv_blocks"] + c["mobilenet_blocks"] == sum(PLAIN)  # noqa: E731
    best = groups.ranked(records, "val_acc", same_depth)[:1]
    return next((r for r in best[0][1] if "extras" in r), None) if best else None


COLUMNS = (
    Column("network", "name"),
    Column("seed", "seed"),
    Column("conv blocks", "conv"),
    Column("MobileNet blocks", "mobile"),
    Column("parameters", "params", "{:,}"),
    Column("mult-adds / image (M)", "macs", "{:.2f}"),
    Column("s / epoch", "epoch_s", "{:.1f}"),
    *SCORE_COLUMNS,
    Column("test macro F1", "f1", "{:.4f}"),
    Column("run s", "seconds", "{:.0f}"),
)


def _by_combo(records, combo):
    """The combination's figures run (its first seed), or its first finished run."""
    runs = [r for r in records if _combo(r["config"]) == combo and "diverged" not in r]
    return next((r for r in runs if "extras" in r), runs[0] if runs else None)


def shown(records: list[dict]) -> dict:
    """{row: its figures run} of the networks the figures show: the plain one and the best MobileNet one."""
    plain, best = _by_combo(records, PLAIN), _best_mobile(records)
    return {r["config"].get("row", r["config"]["name"]): r for r in (plain, best) if r is not None}


def matched(records: list[dict]) -> list[dict]:
    """The plain network against each MobileNet network of its depth (block positions), on test
    accuracy paired by seed, with their costs."""
    rows = {_combo(runs[0]["config"]): runs for runs in groups.by_row(records).values()}
    if PLAIN not in rows:
        return []
    out = []
    for combo in MATCHED:
        if combo in rows:
            plain, mobile = rows[PLAIN], rows[combo]
            d = groups.difference(plain, mobile, "test_acc")
            cost = lambda runs, k: sum(r[k] for r in runs) / len(runs)  # noqa: E731
            out.append({"combo": combo, "difference": d,
                        "verdict": stats.verdict(d, "conv 4 + mobile 0", f"conv {combo[0]} + mobile {combo[1]}",
                                                 budget="this budget")
                        + groups.caveat({"conv 4 + mobile 0": plain, f"conv {combo[0]} + mobile {combo[1]}": mobile}),
                        "parameters": mobile[0]["parameters"] / plain[0]["parameters"],
                        "multiply_adds": mobile[0]["multiply_adds"] / plain[0]["multiply_adds"],
                        "seconds_per_epoch": cost(mobile, "seconds_per_epoch") / cost(plain, "seconds_per_epoch")})
    return out


class MobileNet(Study):
    name, spec, measure = "mobilenet", "Spec 003", "val_acc"
    title = "Standard against MobileNet (depthwise-separable) blocks"
    columns = COLUMNS

    def plan(self, ctx: Context) -> list[RunConfig]:
        rows = [
            RunConfig(
                study="mobilenet",
                name=f"conv {c} + mobile {m}",
                conv_blocks=c,
                mobilenet_blocks=m,
                **stop_rule(ctx),
                train_per_class=per_class(ctx, TRAIN_PER_CLASS),
                **TRAINING,
                quick=ctx.options.quick,
            )
            for c, m in (QUICK_COMBINATIONS if ctx.options.quick else COMBINATIONS)
        ]
        return [c.but(extras=c.seed == seeds(ctx)[0]) for c in seeded(rows, ctx)]  # figures: the first seed

    def run(self, config: dict, ctx: Context) -> dict:
        """One run through spec 003's own train and test (mobilenet_assignment), with the study's recipe."""
        model = init_network(config["conv_blocks"], config["mobilenet_blocks"])
        data = splits(ctx, config["train_per_class"], config["seed"])
        start(model, config)
        net = assignment.train(model, *data["train"], *data["val"], config["lr"], config["epochs"],
                               settings=as_config(config).settings(), device=ctx.device, seed=config["seed"],
                               name=config["name"], log=lambda line: None)
        logits = assignment.test(net, None, *data["test"], logits=True, device=ctx.device, log=lambda line: None)
        record, logits = measured(net, config, net.fit_record, data, ctx, logits)
        if config.get("extras"):
            record["extras"] = {**test_extras(model, data, logits, ctx), "filters": last_conv_filters(model)}
        return record

    def rows(self, records: list[dict]) -> list[dict]:
        out = []
        for r in records:
            c = r["config"]
            row = {"name": c["name"], "seed": c["seed"], "conv": c["conv_blocks"],
                   "mobile": c["mobilenet_blocks"], "epochs": groups.epochs_run(r), "seconds": r["seconds"]}
            if "diverged" not in r:
                row.update(params=r["parameters"], macs=r["multiply_adds"] / 1e6, epoch_s=r["seconds_per_epoch"],
                           train_loss=r["train"]["loss"], train_acc=100 * r["train"]["accuracy"],
                           val_loss=r["val"]["loss"], val_acc=100 * r["val"]["accuracy"],
                           test_loss=r["test"]["loss"], test_acc=100 * r["test"]["accuracy"], f1=r["test"]["macro_f1"])
            out.append(row)
        return out

    def pages(self, results: dict) -> list[Page]:
        records = planned(results)
        chosen = shown(records)
        out = [Page("mobilenet_costs", "Spec 003, cost", "depthwise-separable against standard blocks",
                    figures.cost_ratio_figure(results["finish"]["cost_ratios"]))]
        out.append(Page("mobilenet_curves", "Spec 003, curves", "loss and accuracy per epoch",
                        figures.curves_figure("Plain network and the best MobileNet network of its depth",
                                             {n: r["history"] for n, r in chosen.items()})))
        for i, (n, r) in enumerate(chosen.items()):
            out.append(Page(f"mobilenet_confusion_{i}", f"Spec 003, confusion ({n})", "test set",
                            plotting.confusion_figure(n, np.asarray(r["test"]["confusion"]), CLASSES)))
        out.append(Page("mobilenet_roc", "Spec 003, ROC", "one-vs-rest, test set",
                        plotting.roc_figure({n: r["extras"]["roc"] for n, r in chosen.items()}, CLASSES)))
        embeddings = {n: (np.asarray(r["extras"]["tsne"]["points"]), np.asarray(r["extras"]["tsne"]["labels"]),
                          r["extras"]["tsne"]["layer"]) for n, r in chosen.items()}
        note = next(iter(chosen.values()))["extras"]["tsne"]["note"] if chosen else ""
        out.append(
            Page("mobilenet_tsne", "Spec 003, t-SNE", "pooled features",
                 plotting.tsne_figure(embeddings, CLASSES, note))
        )
        for i, (n, r) in enumerate(chosen.items()):
            out.append(Page(f"mobilenet_filters_{i}", f"Spec 003, last conv layer ({n})", "its filters",
                            figures.filters_figure({n: r["extras"]["filters"]})))
            out.append(
                Page(
                    f"mobilenet_right_wrong_{i}",
                    f"Spec 003, right and wrong ({n})",
                    "4 correct, the 4 most confident mistakes",
                    plotting.right_wrong_figure(n, r["extras"]["right_wrong"]),
                )
            )
        return out

    def finish(self, results: dict, ctx: Context) -> dict:
        return {"cost_ratios": cost_ratios(ctx.device, 2 if ctx.options.quick else 7)}

    def notes(self, results: dict) -> list[str]:
        records = planned(results)
        first = records[0] if records else {}
        lines = [
            "Channels and strides by block position (whatever the block's kind): "
            + ", ".join(f"{c}{'/2' if s == 2 else ''}" for c, s in SCHEDULE)
            + " (/2: stride 2), so 28x28 -> 14x14 at block 2 and -> 7x7 at block 4; then global average "
            "pooling and one linear layer.",
            f"Every network: seeds {', '.join(str(s) for s in sorted({r['config']['seed'] for r in records}))} "
            f"(each seed its own stratified {first.get('sizes', {}).get('train', 0):,} training images, the same for "
            f"every network), {first.get('sizes', {}).get('val', 0):,} validation, "
            f"{first.get('sizes', {}).get('test', 0):,} test; {training_words(first['config']) if first else '-'}; the "
            "weights "
            "of the lowest validation loss are kept. Losses are "
            "plain cross-entropy in evaluation mode. Cells: mean ± the 95 % t-interval's half-width over the seeds "
            "(n); * = the best mean validation accuracy. The figures show each network's first seed.",
            f"Traded for time: {first.get('sizes', {}).get('train', 0):,} training images a run (a stratified "
            f"{first.get('config', {}).get('train_per_class')} per class of the training split, not all of it), so "
            "that every network's seeds fit the budget.",
        ]
        plain, deep = _by_combo(records, PLAIN), _by_combo(records, (0, 4))
        if plain and deep:
            lines.append("Whole networks, (0, 4) over (4, 0): multiply-adds "
                         f"x{deep['multiply_adds'] / plain['multiply_adds']:.2f}, "
                         f"seconds per epoch x{deep['seconds_per_epoch'] / plain['seconds_per_epoch']:.2f}.")
        ratios = results.get("finish", {}).get("cost_ratios", [])
        if ratios:
            lines.append("One block, depthwise-separable over standard: " + "; ".join(
                f"{r['in']}->{r['out']} at {r['side']}x{r['side']}: theory {r['theory']:.3f}, FLOPs {r['flops']:.3f}, "
                f"time {r['time']:.2f}" for r in ratios) + ".")
            lines.append("Why time and FLOPs differ on a CPU: a depthwise conv does 9 multiply-adds per value it "
                         "reads, so it waits on memory rather than arithmetic and its kernels vectorise poorly; the "
                         "separable block also runs two batch norms and two ReLUs over full-size maps, work the FLOP "
                         "count leaves out and that costs as much time per value as a cheap conv.")
        return lines

    def headline(self, results: dict) -> list[str]:
        """Matched depth first (the fair comparison); the best of all rows after it, named as picked."""
        records = planned(results)
        lines = [f"Same depth and block positions, test accuracy: {m['verdict']}; cost against the plain network: "
                 f"parameters x{m['parameters']:.2f}, mult-adds x{m['multiply_adds']:.2f}, seconds per epoch "
                 f"x{m['seconds_per_epoch']:.2f}" for m in matched(records)]
        best = groups.best_line(records, "val_acc", digits=2)
        return lines + ([f"Picked among every network (deeper ones included), {best}"] if best else [])

    def describe(self, runs: list[dict], records: list[dict]) -> dict:
        r = runs[0]
        return {"parameters": f"{r['parameters']:,}", "mult-adds (M)": f"{r['multiply_adds'] / 1e6:.2f}",
                "s / epoch": f"{sum(x['seconds_per_epoch'] for x in runs) / len(runs):.1f}"}

    def networks(self, config) -> list:
        return [init_network(config["conv_blocks"], config["mobilenet_blocks"])]


STUDY = MobileNet()
