"""Evidence for questions 8 and 9, measured on the two trained networks (nothing is trained).

Q8 (why the CNN does better): the two networks side by side per class, the weights that
sharing saves in each convolution (counted from the model's own layers), and accuracy on
test images shifted by 0-3 pixels. Q9 (how the features evolve): per stage of the CNN its
size, receptive field, sparsity, a linear probe's accuracy and how class-specific its most
excited channels are, and the image patches that excite a few channels most.
"""
import time
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from torch import nn

from fmnist.core.activations import (
    edge_density,
    garment_third,
    majority,
    majority_chance,
    response_shares,
    shared_edges,
    stages,
)
from fmnist.core.data import BACKGROUND, CLASSES, SIDE, shift, stratified, to_uint8
from fmnist.core.layers import crop, field_window, layer_table, receptive_fields
from fmnist.core.training import predict

DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # (right, down) steps: right, left, down, up


@dataclass(frozen=True)
class EvidenceSettings:
    shift_per_class: int = 100          # translation: a stratified test subset, 1,000 images
    shifts: tuple = (0, 1, 2, 3)
    probe_train_per_class: int = 200    # linear probes: 2,000 training images ...
    probe_test_per_class: int = 100     # ... scored on 1,000 test images
    patch_channels: int = 4             # Q9 patches: channels per conv stage
    patch_images: int = 6               # ... and images per channel
    purity_top: int = 20                # class purity: the top 20 images of each channel
    seed: int = 0


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device) -> float:
    return float((predict(model, x, device).argmax(1) == y).float().mean())


def translation(models: dict, x: torch.Tensor, y: torch.Tensor, shifts, device) -> dict:
    """Test accuracy of each network (key -> model) at each shift, the four directions averaged."""
    out = {}
    for key, model in models.items():
        out[key] = [accuracy(model, x, y, device) if s == 0 else
                    float(np.mean([accuracy(model, shift(x, s * r, s * d), y, device) for r, d in DIRECTIONS]))
                    for s in shifts]
    return {"shifts": list(shifts), "accuracy": out, "images": len(y), "fill": BACKGROUND}


def class_gains(ffn_confusion, cnn_confusion, names=CLASSES) -> list[dict]:
    """Per class: each network's test accuracy (recall), CNN minus FFN in points and in images,
    sorted from the largest gain to the largest loss."""
    ffn, cnn = np.asarray(ffn_confusion), np.asarray(cnn_confusion)
    rows = []
    for k, name in enumerate(names):
        n = max(int(ffn[k].sum()), 1)
        rows.append({"class": name, "images": int(ffn[k].sum()), "ffn": float(100 * ffn[k, k] / n),
                     "cnn": float(100 * cnn[k, k] / n), "points": 100 * (int(cnn[k, k]) - int(ffn[k, k])) / n,
                     "gained_images": int(cnn[k, k]) - int(ffn[k, k])})
    return sorted(rows, key=lambda r: -r["points"])


def weight_sharing(model: nn.Module) -> list[dict]:
    """For each convolution: its parameters against a locally connected layer with the same
    receptive fields (one kernel per output position, no sharing) and a fully connected layer
    with the same inputs and outputs; biases counted where the convolution has them."""
    modules = dict(model.named_modules())
    rows = []
    for layer in layer_table(model)["layers"]:
        conv = modules[layer["name"]]
        if not isinstance(conv, nn.Conv2d):
            continue
        (c_in, h_in, w_in), (c_out, h_out, w_out) = layer["input"], layer["output"]
        weights = conv.weight.numel()
        bias = conv.bias is not None
        positions = h_out * w_out
        rows.append({"layer": layer["name"].split(".")[-1], "input": layer["input"], "output": layer["output"],
                     "kernel": list(conv.kernel_size), "shared": weights + (c_out if bias else 0),
                     "local": positions * weights + (c_out * positions if bias else 0),
                     "dense": c_in * h_in * w_in * c_out * positions + (c_out * positions if bias else 0),
                     "bias": bias})
    return rows


def probe(train: np.ndarray, y_train, test: np.ndarray, y_test, seed: int) -> float:
    """Test accuracy of a logistic regression fitted on standardised features: how much of the
    class a linear rule can read off a stage."""
    scaler = StandardScaler().fit(train)
    # float32 and a tolerance of 1e-3: a third of the time of float64 at 1e-4, accuracies within
    # 0.6 points of it on the five stages of the trained CNN
    clf = LogisticRegression(max_iter=300, tol=1e-3, random_state=seed)
    clf.fit(scaler.transform(train).astype(np.float32), y_train)
    return float(clf.score(scaler.transform(test).astype(np.float32), y_test))


def channel_scores(acts: torch.Tensor) -> torch.Tensor:
    """(N, C, h, w) or (N, C) -> (N, C): each channel's strongest response per image."""
    return acts.amax(dim=(2, 3)) if acts.dim() == 4 else acts


def purity(scores: torch.Tensor, y: torch.Tensor, top: int) -> float | None:
    """Mean over live channels of the share of its `top` most exciting images that belong to
    one class (its most frequent): 1/10 when a channel ignores the class, 1 when it is one
    class's detector."""
    shares = []
    for c in range(scores.shape[1]):
        if scores[:, c].max() <= 0:  # a dead channel excites nothing
            continue
        best = y[scores[:, c].argsort(descending=True)[:top]]
        shares.append(float(torch.bincount(best, minlength=len(CLASSES)).max()) / len(best))
    return float(np.mean(shares)) if shares else None


def top_patches(acts: torch.Tensor, x: torch.Tensor, y: torch.Tensor, field: dict, channels: int, k: int) -> list[dict]:
    """The `channels` channels of a conv stage with the highest mean strongest response; for
    each, the `k` images that excite it most (one patch per image), cropped to the receptive
    field around the position of the strongest response."""
    scores = channel_scores(acts)                                # (N, C)
    chosen = scores.mean(0).argsort(descending=True)[:channels].tolist()
    size = field["size"]
    out = []
    for c in chosen:
        best = scores[:, c].argsort(descending=True)[:k]
        patches = []
        for i in best.tolist():
            pos = int(acts[i, c].flatten().argmax())
            r, q = divmod(pos, acts.shape[-1])
            top, left = field_window(field, r, q)
            patches.append({"index": i, "class": CLASSES[int(y[i])], "activation": float(scores[i, c]),
                            "row": top, "col": left,
                            "pixels": to_uint8(crop(x[i, 0], top, left, size)).flatten().tolist()})
        out.append({"channel": c, "mean_strongest": float(scores[:, c].mean()), "patches": patches})
    return out


def class_share(patches: list[dict]) -> dict:
    """The class that holds most of a channel's top patches, and how many of them."""
    names = [p["class"] for p in patches]
    top = max(dict.fromkeys(names), key=names.count)
    return {"class": top, "count": names.count(top), "of": len(names)}


def _pixels(ch: dict, size: int) -> list[np.ndarray]:
    return [np.asarray(p["pixels"]).reshape(size, size) for p in ch["patches"]]


def describe_channels(stage: dict, acts: torch.Tensor, images: torch.Tensor, peers: list[dict]) -> None:
    """Add to each channel of a stage's top patches (`top_patches`) where it responds, the
    direction of its top patches' edges, how busy they are against the median of the stage's
    live channels (`peers`: top_patches of every channel, the control), their class share and
    the third of the garment's height they sit in; and to the stage how many live channels keep
    most of their top patches in one third, against channels drawing theirs from the stage's pool."""
    size = stage["receptive_field"]
    live = [ch for ch in peers if ch["mean_strongest"] > 0]
    density = {ch["channel"]: edge_density(_pixels(ch, size)) for ch in live}
    median = float(np.median(list(density.values())))
    pictures = images.numpy()
    thirds = {ch["channel"]: [garment_third(pictures[p["index"]], p["row"] + (size - 1) / 2) for p in ch["patches"]]
              for ch in live}
    for ch in stage["channels"]:
        ch["where"] = response_shares(acts[:, ch["channel"]], images)
        ch["edges"] = shared_edges(_pixels(ch, size))
        ch["busy"] = {"density": density.get(ch["channel"], 0.0), "stage_median": median}
        ch["class_share"] = class_share(ch["patches"])
        ch["third"] = majority(thirds.get(ch["channel"], []), len(ch["patches"]))
    n = len(stage["channels"][0]["patches"]) if stage["channels"] else 0
    stage["thirds"] = {"channels": len(live), "one_third": sum(majority(t, len(t))["value"] is not None
                                                               for t in thirds.values()),
                       "chance": majority_chance([t for ts in thirds.values() for t in ts], n) if n else 0.0,
                       "patches": n, "map_side": int(acts.shape[-1])}


def question8(models: dict, records: dict, x: torch.Tensor, y: torch.Tensor, device, s: EvidenceSettings) -> dict:
    """`models` and `records` (metrics.json's entries) keyed "ffn" and "cnn"."""
    subset = stratified(y, s.shift_per_class, s.seed)
    nets = {k: {"parameters": r["parameters"]["total"], "accuracy": 100 * r["test"]["accuracy"],
                "loss": r["test"]["loss"], "seed": r["seed"]} for k, r in records.items()}
    return {"networks": nets,
            "classes": class_gains(records["ffn"]["test"]["confusion"], records["cnn"]["test"]["confusion"]),
            "weight_sharing": weight_sharing(models["cnn"]),
            "translation": translation(models, x[subset], y[subset], s.shifts, device)}


def question9(model: nn.Module, train: tuple, test: tuple, device, s: EvidenceSettings) -> dict:
    """Per stage of the CNN (the input, each conv stage after its pool, norm and ReLU, each
    hidden fully connected layer): size, receptive field, zeros, probe, the probe of the same
    architecture untrained (its control: how much of the probe random features give), class
    purity; and the top patches of each conv stage."""
    tr = stratified(train[1], s.probe_train_per_class, s.seed)
    te = stratified(test[1], s.probe_test_per_class, s.seed)
    x_tr, y_tr, x_te, y_te = train[0][tr], train[1][tr], test[0][te], test[1][te]
    fields = receptive_fields(model.features)
    with torch.random.fork_rng():  # the control: the same architecture with the weights it starts from
        torch.manual_seed(s.seed)
        untrained = type(model)().to(device).eval()
    control = {name: probe(r_tr.flatten(1).numpy(), y_tr.numpy(), r_te.flatten(1).numpy(), y_te.numpy(), s.seed)
               for (name, r_tr), (_, r_te) in zip(stages(untrained, x_tr, device), stages(untrained, x_te, device))
               if name != "input"}
    rows, patches = [], []
    for (name, a_tr), (_, a_te) in zip(stages(model, x_tr, device), stages(model, x_te, device)):
        spatial = a_te.dim() == 4
        field = fields[name]["size"] if name in fields else 1 if name == "input" else SIDE
        row = {"stage": name, "shape": list(a_te.shape[1:]), "values": int(a_te[0].numel()),
               "receptive_field": field,
               "zeros": None if name == "input" else float((a_te == 0).float().mean()),
               "probe": probe(a_tr.flatten(1).numpy(), y_tr.numpy(), a_te.flatten(1).numpy(), y_te.numpy(), s.seed),
               "probe_random": control.get(name),
               "purity": None if name == "input" else purity(channel_scores(a_te), y_te, s.purity_top)}
        rows.append(row)
        if spatial and name in fields:  # every channel's top patches, the most active first
            every = top_patches(a_te, x_te, y_te, fields[name], a_te.shape[1], s.patch_images)
            patches.append({"stage": name, "receptive_field": field, "channels": every[:s.patch_channels]})
            describe_channels(patches[-1], a_te, x_te[:, 0], every)
    random_scores = torch.rand(len(y_te), 256, generator=torch.Generator().manual_seed(s.seed))
    return {"stages": rows, "patches": patches,
            "sizes": {"probe_train": len(y_tr), "probe_test": len(y_te), "purity_top": s.purity_top,
                      "purity_chance": purity(random_scores, y_te, s.purity_top)}}


def gather(models: dict, records: dict, splits: dict, device, s: EvidenceSettings = EvidenceSettings()) -> dict:
    """Both questions' numbers for metrics.json, with the time each took."""
    start = time.perf_counter()
    q8 = question8(models, records, *splits["test"], device, s)
    middle = time.perf_counter()
    q9 = question9(models["cnn"], splits["train"], splits["test"], device, s)
    end = time.perf_counter()
    return {"q8": q8, "q9": q9, "settings": s.__dict__,
            "seconds": {"q8": round(middle - start, 2), "q9": round(end - middle, 2)}}
