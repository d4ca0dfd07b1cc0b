"""The written answers of questions 8 and 9, computed from the measurements.

Every number and every word of direction (higher, lower, more, fewer, rises, falls) comes
from the numbers passed in, so other measurements give other sentences; the tests feed
made-up numbers both ways.
"""
import textwrap

from fmnist.core import stats
from fmnist.core.activations import FRAMED, REGION_WORDS, edge_words, favoured
from fmnist.core.words import change, compare, listing, sentence, trend

STAGE_NAMES = {"input": "the pixels", "relu_fc1": "the hidden fully connected layer"}


def stage_name(stage: str) -> str:
    if stage in STAGE_NAMES:
        return STAGE_NAMES[stage]
    if stage.startswith("relu") and stage[4:].isdigit():
        return f"conv stage {stage[4:]}"
    return stage


def mirror_words(configs: dict) -> str:
    """What each network's recipe adds beyond the architecture: random mirroring in training
    ("flip") and logits averaged over each test image and its mirror ("test_time_flip"), read
    from metrics.json's configs (keys "ffn", "cnn"); "" when neither network has either."""
    said = {}
    for key in ("cnn", "ffn"):
        c = configs.get(key) or {}
        parts = (["trains on randomly mirrored images"] if c.get("flip") else []) + (
            ["averages its logits over each test image and its mirror"] if c.get("test_time_flip") else [])
        said[key] = listing(parts) if parts else ""
    if not said["cnn"] and not said["ffn"]:
        return ""
    name = {"cnn": "the CNN", "ffn": "the FFN"}
    both = [f"{name[k]} {said[k]}" for k in ("cnn", "ffn") if said[k]]
    neither = [name[k] for k in ("cnn", "ffn") if not said[k]]
    return sentence("; ".join(both) + (f", and {neither[0]} does neither" if neither else "")
                    + ", so part of the gap is the recipe")


def like_for_like(locality: dict) -> str:
    """The CNN against the FFN where neither mirrors (the locality study's runs on the images):
    the paired difference over seeds, with its interval."""
    per = {k: locality[k].get("per_seed", {}).get("images") for k in ("ffn", "cnn")}
    if not all(per.values()) or len(per["ffn"]) != len(per["cnn"]):
        return ""
    d = stats.paired(dict(enumerate(per["ffn"])), dict(enumerate(per["cnn"])))
    mean = {k: sum(v) / len(v) for k, v in per.items()}
    verdict = stats.verdict(d, "the FFN", "the CNN", budget="that budget")
    return (f"Like for like, with neither mirroring (the locality study's runs on the images, {d['n']} seeds), the "
            f"CNN scores {mean['cnn']:.2f}% and the FFN {mean['ffn']:.2f}%: {verdict}.")


def q8_paragraph(q8: dict, locality: dict | None, shift: int | None = None, configs: dict | None = None) -> str:
    """The answer to question 8 from the evidence of `evidence.question8`, the networks' training
    configurations (metrics.json's, keyed "ffn" and "cnn") and, when the study has run,
    `studies.locality.comparisons` (None: it has not)."""
    ffn, cnn = q8["networks"]["ffn"], q8["networks"]["cnn"]
    gap = cnn["accuracy"] - ffn["accuracy"]
    ratio = max(ffn["parameters"], cnn["parameters"]) / max(1, min(ffn["parameters"], cnn["parameters"]))
    seeds = sorted({n["seed"] for n in (ffn, cnn) if "seed" in n})
    run = f"In this run (one trained network of each, seed {', '.join(map(str, seeds))}), t" if seeds else "T"
    out = [f"{run}he CNN classifies {cnn['accuracy']:.2f}% of the test images correctly and the FFN "
           f"{ffn['accuracy']:.2f}%: "
           f"the CNN is {abs(gap):.2f} points {compare(gap, 0)}, with a {compare(cnn['loss'], ffn['loss'])} test loss "
           f"({cnn['loss']:.3f} against {ffn['loss']:.3f}) and {ratio:.1f} times "
           f"{compare(cnn['parameters'], ffn['parameters'], 'more', 'fewer', 'as many')} parameters "
           f"({cnn['parameters']:,} against {ffn['parameters']:,})."]
    recipe = mirror_words(configs or {})
    if recipe:
        fair = like_for_like(locality) if locality and {"ffn", "cnn"} <= set(locality) else ""
        out.append(recipe + (f". {fair}" if fair else "; python experiments.py locality measures the two without it."))
    gains = [r for r in q8["classes"] if r["points"] > 0]
    losses = [r for r in q8["classes"] if r["points"] < 0]
    say = lambda r: f"{r['class']} ({r['points']:+.1f} points, {r['gained_images']:+d} images)"  # noqa: E731
    part = (f"Per class in this run, the CNN gains most on {listing([say(r) for r in gains[:4]])}" if gains
            else "Per class in this run, the CNN gains on no class")
    part += (f", and loses on {listing([say(r) for r in losses[::-1]])}." if losses else ", and loses on none.")
    out.append(part)
    conv = q8["weight_sharing"][0]
    c_out, h, w = conv["output"]
    kh, kw = conv["kernel"]
    out.append(
        f"Its first layer applies each of its {c_out} {kh}x{kw} kernels at all {h * w} positions: "
        f"{conv['shared']:,} parameters, where a locally connected layer with the same receptive fields would "
        f"need {conv['local']:,} ({conv['local'] / conv['shared']:.0f} times as many), and a fully connected layer "
        f"making the same {c_out * h * w:,} outputs from the pixels would need {conv['dense']:,}: a detector "
        "learned in one place is used everywhere."
    )
    t = q8["translation"]
    k = t["shifts"].index(shift) if shift in t["shifts"] else len(t["shifts"]) - 1
    s = t["shifts"][k]
    drop = {n: 100 * (t["accuracy"][n][0] - t["accuracy"][n][k]) for n in ("ffn", "cnn")}
    out.append(
        f"Moved {s} pixel{'s' if s != 1 else ''} (the four directions averaged, {t['images']:,} test images), "
        f"the FFN's accuracy {change(100 * t['accuracy']['ffn'][0], 100 * t['accuracy']['ffn'][k])} and the CNN's "
        f"{change(100 * t['accuracy']['cnn'][0], 100 * t['accuracy']['cnn'][k])}: the "
        f"{'CNN' if drop['cnn'] < drop['ffn'] else 'FFN'} is {'the less' if drop['cnn'] != drop['ffn'] else 'no more'} "
        "affected by where the garment sits."
    )

    if locality is None or not {"ffn", "cnn"} <= set(locality):
        out.append("Whether the CNN relies on neighbouring pixels is measured by python experiments.py locality "
                   "(both networks trained on images and on scrambled pixels); it has not been run for these outputs.")
    else:
        f, c = locality["ffn"]["difference"], locality["cnn"]["difference"]
        out.append(f"Trained on images whose pixels are scrambled by one fixed permutation, the FFN changes by "
                   f"{f['mean']:+.2f} points and the CNN by {c['mean']:+.2f} ({locality['cnn']['difference']['n']} "
                   f"seeds each): {locality['ffn']['verdict']}; {locality['cnn']['verdict']}.")
        cnn_hurt = c["high"] is not None and c["high"] < 0
        ffn_same = f["low"] is not None and f["low"] <= 0 <= f["high"]
        if cnn_hurt and ffn_same:
            out.append("So the CNN's edge comes from the images' local structure, which its 3x3 kernels exploit and "
                       "a fully connected layer, blind to which pixels are neighbours, cannot.")
        elif cnn_hurt:
            out.append("Scrambling costs the CNN, so it uses the images' local structure; the FFN's change is not "
                       "zero either, so the contrast is less clean than the theory predicts.")
        else:
            out.append("Scrambling did not measurably cost the CNN at this budget, so these runs do not show that "
                       "it relies on local structure.")
    return "\n".join(out)  # one paragraph per point


def translation_words(q8: dict) -> str:
    """Beside the shift curve: whether the CNN's accuracy held up better as the images moved (the
    drop at the largest shift measured) and the two properties that predict it."""
    t = q8["translation"]
    drop = {n: 100 * (t["accuracy"][n][0] - t["accuracy"][n][-1]) for n in ("ffn", "cnn")}
    moved = f"At {t['shifts'][-1]} pixels the FFN loses {drop['ffn']:.1f} points and the CNN {drop['cnn']:.1f}. "
    if drop["cnn"] < drop["ffn"]:
        return moved + ("That is what the architecture predicts: a convolution is translation-equivariant (a shifted "
                        "image gives shifted feature maps, detected by the same kernels), and max-pooling makes its "
                        "output partly invariant to shifts smaller than its window, while each FFN weight belongs to "
                        f"one pixel position. Partly: the CNN still loses {drop['cnn']:.1f} points, since the fully "
                        "connected layers on top are tied to positions again.")
    return moved + ("Here the convolutions' translation equivariance and max-pooling's invariance to small shifts did "
                    "not make the CNN the steadier of the two.")


def q9_paragraph(q9: dict, stages: bool = True) -> str:
    """The answer to question 9 from `evidence.question9`; `stages`: with each conv stage's reading
    (`stage_reading`), which a page of that stage's patches may carry instead."""
    rows = q9["stages"]
    convs = [r for r in rows if len(r["shape"]) == 3 and r["stage"] != "input"]
    first, last = rows[0], rows[-1]
    fields = listing([f"{r['receptive_field']}x{r['receptive_field']}" for r in convs])
    out = [
        f"Each stage sees more of the image than the one before: one value's receptive field is 1 pixel in the input, "
        f"{fields} pixels after conv stages 1-{len(convs)}, and the whole image ({last['receptive_field']}x"
        f"{last['receptive_field']}) at {stage_name(last['stage'])}. Meanwhile the maps "
        f"{compare(convs[-1]['shape'][1], first['shape'][1], 'grow', 'shrink', 'keep their size')} from "
        f"{first['shape'][1]}x{first['shape'][2]} to {convs[-1]['shape'][1]}x{convs[-1]['shape'][2]} and the "
        f"channels go from 1 to {listing([str(r['shape'][0]) for r in convs])}: the progression of question 7, where "
        "each stage's maps are coarser and more numerous than the last."
    ]
    sizes = q9["sizes"]
    probes = [100 * r["probe"] for r in rows]
    out.append(f"A linear classifier (logistic regression fitted on {sizes['probe_train']:,} training images, scored "
               "on "
               f"{sizes['probe_test']:,} test images) reads the class off "
               + listing([f"{stage_name(r['stage'])} with {p:.1f}%" for r, p in zip(rows, probes)])
               + f" accuracy: class information that a linear rule can use {trend(probes)}.")
    out += control_reading(rows)
    zeros = [r for r in rows if r["zeros"] is not None]
    out.append("The activations get "
               f"{compare(zeros[-1]['zeros'], zeros[0]['zeros'], 'sparser', 'denser', 'no sparser')}"
               f": {100 * zeros[0]['zeros']:.0f}% of the values are zero after {stage_name(zeros[0]['stage'])} and "
               f"{100 * zeros[-1]['zeros']:.0f}% after {stage_name(zeros[-1]['stage'])}.")
    pure = [r for r in rows if r["purity"] is not None]
    chance = sizes.get("purity_chance")
    share = listing([f"{100 * r['purity']:.0f}% ({stage_name(r['stage'])})" for r in pure])
    rising = pure[-1]["purity"] > pure[0]["purity"]
    out.append(f"Of the {sizes['purity_top']} test images that excite a channel most, the share from a single class, "
               f"averaged over every live channel of the stage, is {share}"
               + (f", against {100 * chance:.0f}% for a channel blind to the class" if chance else "") + ": "
               + ("on average the channels become more class-specific with depth (the few channels drawn are "
                  "a sample, not the average)." if rising else
                  "the channels do not become more class-specific with depth here."))
    out += [r for r in (stage_reading(st) for st in q9.get("patches", []) if stages) if r]
    out.append(hierarchy_words(first, convs[-1]))
    return "\n".join(out)  # one paragraph per point


def stages_note(q9: dict, where: str) -> str:
    """Where the conv stages' readings (stage_reading) stand, when not in the answer."""
    return (f"{where} read the {len(q9['patches'])} conv stages' most active channels from their top patches: the "
            "region they favour, their edges and texture, where on the garment they sit and their classes, each "
            "against its control.") if q9.get("patches") else ""


def hierarchy_words(pixels: dict, top: dict) -> str:
    """Whether the conv stages make the class easier to read linearly: the last conv stage's probe
    against the pixels', and the part of that gap training made, against the untrained network's
    probe of the same stage (the control), where metrics.json has it."""
    gap = 100 * (top["probe"] - pixels["probe"])
    said = (f"a linear rule gets {100 * top['probe']:.1f}% right from the last conv stage, "
            + (f"{abs(gap):.1f} points {compare(gap, 0)} than from the raw pixels" if round(gap, 1) else
               "as much as from the raw pixels"))
    out = (f"This hierarchy helps classification: {said}, so the classifier on top has an easier job." if gap > 0
           else f"Here the hierarchy does not make the class easier to read linearly: {said}.")
    if top.get("probe_random") is not None:
        learned = 100 * (top["probe"] - top["probe_random"])
        out += (f" Against the control, the untrained network's last conv stage ({100 * top['probe_random']:.1f}%), "
                + (f"training adds {learned:.1f} points." if learned > 0 else "training adds nothing there."))
    return out


def control_reading(rows: list[dict]) -> list[str]:
    """The probes against their control, the same architecture untrained (the random weights it
    starts from): how much of the rise over the pixels the architecture gives by itself, and how
    much training adds at each stage (nothing for an older metrics.json)."""
    pairs = [(r, 100 * r["probe"], 100 * r["probe_random"]) for r in rows if r.get("probe_random") is not None]
    if not pairs:
        return []
    pixels = 100 * rows[0]["probe"]
    gains = [a - b for _, a, b in pairs]
    top = max(range(len(pairs)), key=lambda k: gains[k])
    best_random = max(b for _, _, b in pairs)
    head = ("The control, the same architecture with the random weights it starts from, gives "
            + listing([f"{b:.1f}% at {stage_name(r['stage'])}" for r, _, b in pairs]) + ": "
            + (f"untrained, its best stage reads {best_random - pixels:.1f} points more than the pixels, so part of "
               "the rise comes from the architecture (random local filters and pooling), not from learning."
               if best_random > pixels else
               "untrained, no stage reads better than the pixels, so the rise is learned."))
    where = stage_name(pairs[top][0]["stage"])
    tail = (f" Training adds {min(gains):.1f} to {max(gains):.1f} points, most at {where}." if min(gains) > 0 else
            f" Training adds {max(gains):.1f} points at most (at {where}), and not at every stage."
            if max(gains) > 0 else " Training adds nothing at any stage: the untrained features read as well.")
    return [head + tail]


def stage_reading(stage: dict) -> str | None:
    """One sentence on what a conv stage's most active channels detect: where on the garment
    they respond (the region whose share of their response most exceeds its share of the
    pixels), the edges of their top patches, and how far those patches come from one class."""
    chans = [c for c in stage["channels"] if "where" in c and None not in c["where"]["response"].values()]
    if not chans:
        return None
    regions: dict[str | None, list[str]] = {}  # each channel's own favoured region, as its row is labelled
    for c in chans:
        regions.setdefault(favoured(c["where"]), []).append(str(c["channel"]))
    groups: dict[str, list[str]] = {}
    for c in chans:
        groups.setdefault(edges_of(c, counted=False), []).append(str(c["channel"]))
    edges = listing([f"{words} (channel{'s' if len(chs) > 1 else ''} {listing(chs)})" for words, chs in groups.items()])
    texture = {}  # channels whose patches are busier or smoother than the stage's median channel's
    for c in chans:
        if "busy" in c and busy(c["busy"]):
            texture.setdefault(busy(c["busy"]), []).append(str(c["channel"]))
    edges += "".join(f"; the patches of channel{'s' if len(chs) > 1 else ''} {listing(chs)} are {kind} than those of "
                     "the stage's median channel" for kind, chs in texture.items())
    thirds: dict[str, list[str]] = {}
    for c in chans:
        if "third" in c:
            thirds.setdefault(third_of(c, counted=False), []).append(str(c["channel"]))
    edges += ("; the top patches lie " + listing([
        f"{words if words.startswith('spread') else 'in ' + words} (channel{'s' if len(chs) > 1 else ''} "
        f"{listing(chs)})" for words, chs in thirds.items()]) if thirds else "")
    best = max(chans, key=lambda c: c["class_share"]["count"])
    cs = best["class_share"]
    classes = (f"channel {best['channel']}'s top patches are {cs['count']} of {cs['of']} from {cs['class']}"
               if cs["count"] > cs["of"] / 2 else
               f"no class holds more than {cs['count']} of a channel's {cs['of']} top patches")
    field = stage["receptive_field"]
    said = [f"{len(chs)} favour{'s' if len(chs) == 1 else ''} "
            + (REGION_WORDS[r] if r else "no region") + f" (channel{'s' if len(chs) > 1 else ''} {listing(chs)})"
            for r, chs in sorted(regions.items(), key=lambda item: -len(item[1]))]
    return (f"{sentence(stage_name(stage['stage']))} ({field}x{field}-pixel fields): of its {len(chans)} most active "
            f"channels, over all test images {listing(said)}; their top patches show {edges}; {classes}."
            + (" " + thirds_control(stage) if "thirds" in stage else ""))


def edges_of(ch: dict, counted: bool = True) -> str:
    """The edges of a channel's top patches: the direction most of them show, each read on its own
    (`activations.shared_edges`), with how many (`counted`), or "mixed edge directions" where none
    holds in more than half; an older metrics.json's one direction of the patches summed."""
    if "edges" not in ch:
        return edge_words(ch["orientation"])
    e = ch["edges"]
    if e["direction"] is None:
        return "mixed edge directions" + (f" (at most {e['count']} of {e['of']} alike)" if counted and e["count"]
                                          else "")
    return e["direction"] + (f" in {e['count']} of {e['of']}" if counted else "")


BUSY, SMOOTH = 1.25, 0.8  # edge density against the stage's median channel: busier above, smoother below


def busy_ratio(b: dict) -> float:
    """A channel's top patches' edge density (`activations.edge_density`) over its stage's median channel's."""
    return b["density"] / b["stage_median"] if b["stage_median"] else 1.0


def busy(b: dict) -> str | None:
    """"busier" or "smoother" than the stage's median channel, or None when within BUSY and SMOOTH."""
    ratio = busy_ratio(b)
    return "busier" if ratio >= BUSY else "smoother" if ratio <= SMOOTH else None


def busy_words(b: dict) -> str:
    """How busy a channel's top patches are against its stage's median channel."""
    return f"{busy(b) or 'as busy'} ({busy_ratio(b):.1f}x stage median)"


def classes_of(ch: dict) -> str:
    """The classes of a channel's top patches, the commonest first: 'Sandal 3, Bag 2, Shirt 1'."""
    names = [p["class"] for p in ch.get("patches", [])]
    if not names:
        cs = ch["class_share"]
        return f"{cs['count']} of {cs['of']}: {cs['class']}"
    return ", ".join(f"{c} {names.count(c)}" for c in sorted(dict.fromkeys(names), key=lambda c: -names.count(c)))


def channel_parts(ch: dict) -> dict[str, str] | None:
    """What a row of question 9's patches shows, measured over the test images, as {column: words}:
    the region the channel favours, its top patches' edges, how busy they are against the stage's
    other channels and the third of the garment they sit in (where metrics.json has them), their
    classes (None for an older metrics.json)."""
    if "where" not in ch or ch["where"]["response"]["outline"] is None:
        return None
    region = favoured(ch["where"])
    where = (f"favours the {region} ({100 * ch['where']['response'][region]:.0f}% of its response, "
             f"{100 * ch['where']['area'][region]:.0f}% of pixels)" if region else "no favoured region")
    return {"region it favours over all test images": where, "edges of its top patches": edges_of(ch),
            **({"edge density against the stage": busy_words(ch["busy"])} if "busy" in ch else {}),
            **({"where on the garment its top patches sit": third_of(ch)} if "third" in ch else {}),
            "classes of its top patches": classes_of(ch)}


def third_of(ch: dict, counted: bool = True) -> str:
    """The third of the garment's height that most of a channel's top patches sit in
    (`activations.garment_third`), with how many (`counted`), or "spread over the garment's height"."""
    t = ch["third"]
    if t["value"] is None:
        return "spread over the garment's height" + (f" (at most {t['count']} of {t['of']} in one third)"
                                                      if counted and t["count"] else "")
    return f"the garment's {t['value']}" + (f" in {t['count']} of {t['of']}" if counted else "")


def thirds_control(stage: dict) -> str:
    """How many of a stage's live channels keep most of their top patches in one third of the
    garment's height, against channels drawing their patches at random from the stage's pool."""
    t = stage["thirds"]
    side = t.get("map_side")
    return sentence(f"at {stage_name(stage['stage'])}, " + stats.chance_words(
        t["one_third"], t["channels"], f"live channels keep most of their {t['patches']} top patches in one third of "
        "the garment's height (the control: each channel's patches drawn at random from all the stage's top "
        "patches)", rate=t["chance"]) + ".") + (
        f" Its maps are {side}x{side}, so a patch stands at one of {side} heights, and a channel's place may come from "
        "its classes (whose garments sit at different heights) or the padded frame as much as from one part of a "
        "garment." if side and side < FRAMED else "")


def channel_words(ch: dict) -> str:
    """channel_parts in short beside a row of patches, a line each (the page's title names them),
    wrapped to PART_WIDTH characters."""
    if channel_parts(ch) is None:
        return ""
    region = favoured(ch["where"])
    lines = [f"{region} {100 * ch['where']['response'][region]:.0f}% of response, "
             f"{100 * ch['where']['area'][region]:.0f}% of pixels" if region else "no favoured region"]
    if "edges" in ch:
        e = ch["edges"]
        lines.append(f"{e['direction']} {e['count']} of {e['of']}" if e["direction"] else
                     f"mixed edges (at most {e['count']} of {e['of']} alike)")
    else:  # an older metrics.json: the patches' one direction
        lines.append(edges_of(ch))
    if "busy" in ch:
        lines.append(f"{busy(ch['busy']) or 'as busy'} {busy_ratio(ch['busy']):.1f}x stage median")
    if "third" in ch:
        t = ch["third"]
        lines.append(f"{t['value']} {t['count']} of {t['of']}" if t["value"] else
                     f"height spread: at most {t['count']} of {t['of']} in one third")
    return "\n".join([textwrap.fill(line, PART_WIDTH) for line in lines] + pack(classes_of(ch).split(", "), PART_WIDTH))


def pack(items: list[str], width: int) -> list[str]:
    """Items joined by ", " into lines of at most `width` characters, never breaking an item."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= width:
            lines[-1] += ", " + item
        else:
            if lines:
                lines[-1] += ","
            lines.append(item)
    return lines


PART_WIDTH = 42  # characters: the room right of a row of question 9's patches on a page
