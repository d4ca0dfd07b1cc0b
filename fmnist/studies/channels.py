"""What the channels of the variants study's best network respond to (spec 004 3.3.4): each
channel's favoured region and the class it is tied to, the tie set against the same ratio with
the labels shuffled (a control for sparsity: a mostly silent channel's ratios run high by chance
alone), read per layer in words."""
import torch

from fmnist.core.activations import FAVOURED, REGION_WORDS, favoured
from fmnist.core.pages import Page
from fmnist.core.words import listing
from fmnist.studies import figures


def channel_cells(channel: dict, classes: list[str]) -> list[str]:
    """One channel's row of the table of 3.3.4: the share of its values that are zero, the region
    it favours (its share of the response on the region's share of the pixels), the class that
    drives it most, that class's mean response over the mean over classes, the same ratio's 95th
    percentile with the labels shuffled, and whether it is tied to the class."""
    zeros = f"{100 * channel['zeros']:.0f}%"
    shares = channel["shares"]
    if shares["response"]["background"] is None:
        return [zeros, "silent on every image", "", "", "", ""]
    region = favoured(shares)
    where = (f"{region} ({100 * shares['response'][region]:.0f}% on {100 * shares['area'][region]:.0f}%)"
             if region else "none")
    top, ratio = class_tie(channel)
    null = f"{channel['null_ratio']:.2f}x" if "null_ratio" in channel else "not measured"
    return [zeros, where, classes[top] if top is not None else "", f"{ratio:.2f}x", null,
            "yes" if tied(channel) else "no"]


CHANNEL_COLUMNS = ["layer", "ch.", "zeros", "favoured region (response on pixels)", "top class", "ratio",
                   "shuffled labels", "tied"]


def channel_rows(inspected: dict) -> list[list[str]]:
    """Every shown channel of every inspected layer as a row of CHANNEL_COLUMNS."""
    return [[layer["layer"], str(c["channel"])] + channel_cells(c, inspected["classes"])
            for layer in inspected.get("layers", []) for c in layer["channels"]]


def maps_pages(inspected: dict, layer: dict) -> list[Page]:
    """A layer's two pages: its maps on one test image per class (3.3.3), and each channel's mean
    map over each class's test images, its class tie over the columns and framed (3.3.4)."""
    title = f"{inspected['row']} (seed {inspected['seed']})"
    name = layer["layer"]
    pages = [Page(f"variants_maps_{name}", "Spec 004 3.3, feature maps", f"{name} of {inspected['row']}",
                  figures.feature_maps_figure(f"Feature maps of {title}", inspected["examples"], inspected["classes"],
                                              name, layer["maps"]))]
    if "class_maps" not in layer:  # a record from before the class means were kept
        return pages
    chans = layer["channels"]
    ties = [class_tie(c) for c in chans]
    heads = [f"ch. {c['channel']}" + ("" if tie is None else f"\n{ratio:.2f}x" + (
        f"\n({c['null_ratio']:.2f}x)" if "null_ratio" in c else "")) for c, (tie, ratio) in zip(chans, ties)]
    framed = {(tie, k) for k, (c, (tie, _)) in enumerate(zip(chans, ties)) if tie is not None and tied(c)}
    note = (f"Rows: the mean map over each class's {inspected['images'] // len(inspected['classes']):,} test images. "
            "Over each column: the top class's mean response over the mean over the classes (in brackets: its 95th "
            f"percentile with the labels shuffled). Framed: the class a channel is tied to (at least {CLASS_TIED:g}x "
            "and above the bracket).")
    return pages + [Page(f"variants_classmaps_{name}", "Spec 004 3.3, class means", f"{name} of {inspected['row']}",
                         figures.feature_maps_figure(f"Mean feature maps per class of {title}",
                                                     inspected["class_images"], inspected["classes"], name,
                                                     layer["class_maps"], heads, framed, note))]


def layer_reading(layer: dict, classes: list[str]) -> str:
    """What one layer's shown channels respond to, in a sentence computed from their descriptions:
    how many favour each region, the share of zeros, and the channels most tied to one class."""
    chans = layer["channels"]
    live = [c for c in chans if c["shares"]["response"]["background"] is not None]
    counts = {}
    for c in live:
        region = favoured(c["shares"])
        counts[region or "none"] = counts.get(region or "none", 0) + 1
    verb = lambda n: "favours" if n == 1 else "favour"  # noqa: E731
    where = "; ".join(f"{n} {verb(n)} {REGION_WORDS[r]}" if r != "none" else f"{n} {verb(n)} no region"
                      for r, n in sorted(counts.items(), key=lambda item: -item[1]))
    control = all("null_ratio" in c for c in live)
    ties = [f"channel {c['channel']} ({classes[top]})" for c in live for top, _ in [class_tie(c)]
            if top is not None and tied(c)]
    silent = len(chans) - len(live)
    return (
        f"{layer['layer']} ({layer['side']}x{layer['side']}, {100 * layer['zeros']:.0f}% of its values zero): of "
        f"its first {len(chans)} channels, {where}"
        + (f"; {silent} never respond{'s' if silent == 1 else ''}" if silent else "")
        + (
            "; tied to one class (its mean response on that class at least "
            f"{CLASS_TIED:g} times its mean over the classes"
            + (" and above the 95th percentile of that ratio with the labels shuffled" if control else "")
            + f"; each channel's numbers in the table below): {len(ties)}, " + listing(ties)
            if ties
            else f"; none responds {CLASS_TIED:g} times its mean to one class"
            + (" by more than its sparsity gives with shuffled labels" if control else "")
        )
        + "."
    )


CLASS_TIED = 1.5  # a channel whose mean response on one class is this multiple of its mean over classes
SHUFFLES = 200    # label permutations of the sparsity control


def shuffled_ratio(responses: torch.Tensor, labels: torch.Tensor, classes: int, seed: int = 0) -> float:
    """The sparsity control of a class tie: the 95th percentile, over SHUFFLES permutations of the
    labels, of the top class's mean response over the mean over classes. A channel that is zero on
    most images reaches a high ratio with any labels (a few strong images fall in one class by
    chance); only a ratio above this one is tied to a class by more than its sparsity."""
    generator = torch.Generator().manual_seed(seed)
    perms = torch.stack([labels[torch.randperm(len(labels), generator=generator)] for _ in range(SHUFFLES)])
    onehot = torch.nn.functional.one_hot(perms, classes).float()            # (SHUFFLES, N, classes)
    per_class = (onehot * responses[None, :, None]).sum(1) / onehot.sum(1).clamp(min=1)
    mean = per_class.mean(1)
    ratios = torch.where(mean > 0, per_class.max(1).values / mean.clamp(min=1e-12), torch.zeros_like(mean))
    return float(torch.quantile(ratios, 0.95))


def tied(channel: dict) -> bool:
    """Whether a channel is tied to one class: its ratio at least CLASS_TIED and above what the
    same responses give with shuffled labels (a record without the control: the ratio alone)."""
    ratio = class_tie(channel)[1]
    return ratio >= CLASS_TIED and ratio > channel.get("null_ratio", 0.0)


def class_tie(channel: dict) -> tuple[int | None, float]:
    """The class a channel responds to most, and its mean response there over its mean over the
    classes; (None, 0) for a channel that never responds."""
    per_class = channel["per_class"]
    mean = sum(per_class) / len(per_class)
    if mean <= 0:
        return None, 0.0
    top = max(range(len(per_class)), key=per_class.__getitem__)
    return top, per_class[top] / mean


def inspection_words(inspected: dict) -> list[str]:
    """Spec 004 3.3.4's answer: the network inspected, then a sentence per conv layer."""
    if not inspected:
        return []
    layers = inspected["layers"]
    out = [f"The network inspected is the variant of lowest mean validation loss, {inspected['row']}, seed "
           f"{inspected['seed']}, trained again for its maps (validation loss {inspected['val_loss']:.4f}; the "
           f"study's run {inspected['run_val_loss']:.4f}). Each channel is described on {inspected['images']:,} "
           "Fashion-MNIST-1 test images: the share of its response on the background, the garment's outline and "
           "its interior against their shares of the pixels (favoured: at least "
           f"{FAVOURED:g} times), and its mean response per class."]
    out += [layer_reading(layer, inspected["classes"]) for layer in layers]
    first, last = layers[0], layers[-1]
    count = lambda layer: sum(tied(c) for c in layer["channels"])  # noqa: E731
    if len(layers) > 1:
        out.append(f"From {first['layer']} to {last['layer']} the channels tied to one class go from {count(first)} to "
                   f"{count(last)} of {len(last['channels'])}: "
                   + ("the deeper maps are more specific to a class, as deeper layers combine the early edges into "
                      "parts of one kind of garment." if count(last) > count(first) else
                      "the deeper maps are not more specific to one class here than the first layer's.")
                   + f" (Read on the first {len(last['channels'])} channels of each layer of one trained network: a "
                   "sample of what the layers do, not every channel.)")
    return out
