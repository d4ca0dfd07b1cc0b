"""Question 7's maps read on the sample image: where each activated map responds (a region of
the garment, its frame, evenly or nowhere), as a sentence, a table and a counted summary; every
word from the shares passed in (activations.response_shares)."""
from fmnist.core.activations import FRAMED, REGION_WORDS, favoured, lit_frame, shunned
from fmnist.core.words import listing, sentence


def lit_part(shares: dict) -> tuple[str | None, dict | None]:
    """The part of a map's frame it is lit on (activations.lit_frame) and that part's shares."""
    lit = lit_frame(shares)
    return (lit, shares["frame"] if lit == "frame" else shares["frame"]["sides"][lit]) if lit else (None, None)


def map_reading(shares: dict) -> tuple[str | None, str, str]:
    """Where one map of question 7 responds (`activations.response_shares` on the image): (its kind:
    a region, "frame" (on its frame or one side of it), "none" (no one region) or "dead"; where it
    responds most; where it is nearly silent)."""
    if shares["response"]["outline"] is None:
        return "dead", "0 everywhere", ""
    lit, f = lit_part(shares)
    if lit:
        against = (f"{f['against_background']:.1f}x the rest of the background" if f["against_background"] is not None
                   else "the rest of the background silent")
        return "frame", (f"the map's {lit} ({100 * f['response']:.0f}% of its response, {100 * f['area']:.0f}% of "
                         f"the pixels; {against})"), ""
    region, quiet = favoured(shares), shunned(shares)
    most = (f"{REGION_WORDS[region]} ({100 * shares['response'][region]:.0f}% of its response, "
            f"{100 * shares['area'][region]:.0f}% of the pixels)" if region else "no one region")
    silent = (f"{REGION_WORDS[quiet]} ({100 * shares['response'][quiet]:.0f}% of its response, "
              f"{100 * shares['area'][quiet]:.0f}% of the pixels)" if quiet else "")
    return region or "none", most, silent


def q7_reading(stages: list[tuple[str, float, list[tuple[int, dict]]]]) -> str:
    """What question 7's maps show on the sample image, stage by stage: (stage, share of its
    values that are 0, [(channel, `activations.response_shares` on the image)])."""
    out = []
    for stage, zeros, channels in stages:
        said = []
        for c, shares in channels:
            kind, most, silent = map_reading(shares)
            if kind == "none":
                said.append(f"channel {c} favours {most}" + (f" and is nearly silent on {silent}" if silent else ""))
            else:
                said.append(f"channel {c} " + ("is 0 everywhere" if kind == "dead" else f"responds most on {most}")
                            + (f" and is nearly silent on {silent}" if silent else ""))
        out.append(f"after {stage}, {100 * zeros:.0f}% of the values are 0 and {listing(said)}")
    return sentence("On this image: " + "; ".join(out) + ".")


def q7_table(stages: list[tuple[str, float, list[tuple[int, dict]]]]) -> dict:
    """q7_reading as a table: a row per map shown."""
    return {"title": "Where each activated map of the figure responds on the sample image",
            "columns": ["stage", "zeros", "channel", "responds most on", "nearly silent on"],
            "rows": [[stage, f"{100 * zeros:.0f}%", str(c), *map_reading(shares)[1:]]
                     for stage, zeros, channels in stages for c, shares in channels],
            "notes": ["zeros: the share of the stage's values that are 0 on this image. A region is named where its "
                      "share of the map's response is at least 1.25 times its share of the pixels (nearly silent: "
                      "at most 0.3 times); a map's frame, or one side of it, where it gets 1.25 times its share and "
                      "its background pixels twice the response of the rest of the background. "
                      + coarse_words(stages)]}


def coarse_words(stages: list[tuple[str, float, list[tuple[int, dict]]]]) -> str:
    """The stages whose maps are too small to read a frame in (under FRAMED wide), and how coarse."""
    small = {stage: channels[0][1]["map_side"] for stage, _, channels in stages
             if channels and channels[0][1].get("map_side", FRAMED) < FRAMED}
    return " ".join(f"{stage}'s maps are {n}x{n}: each value stands for {28 // n}x{28 // n} pixels and {4 * n - 4} of "
                    f"{n * n} touch the padded frame, so their readings are coarse." for stage, n in small.items())


def q7_summary(stages: list[tuple[str, float, list[tuple[int, dict]]]]) -> str:
    """What question 7's activated maps show, counted: how sparse the stages get and where the
    maps shown respond most, the maps lit along their frame set against the rest of the background
    (q7_table lists them)."""
    maps = [shares for _, _, channels in stages for _, shares in channels]
    kinds = [map_reading(shares)[0] for shares in maps]
    named = {"outline": "on the garment's outline", "interior": "on its interior", "background":
             "on the black background", "frame": "along the map's frame or one side of it"}
    counted = [f"{kinds.count(k)} {words}" for k, words in named.items() if kinds.count(k)]
    rest = [f"{kinds.count('none')} favour{'s' if kinds.count('none') == 1 else ''} no one region"] * ("none" in kinds)
    rest += [f"{kinds.count('dead')} {'is' if kinds.count('dead') == 1 else 'are'} 0 everywhere"] * ("dead" in kinds)
    first, last = stages[0], stages[-1]
    out = (f"On the sample image, {100 * first[1]:.0f}% of the values are 0 after {first[0]}"
           + (f" and {100 * last[1]:.0f}% after {last[0]}" if len(stages) > 1 else "")
           + f". Of the {len(kinds)} activated maps shown, "
           + "; ".join(([f"these respond most: {listing(counted)}"] if counted else []) + rest) + ".")
    framed = [lit_part(shares)[1]["against_background"] for shares, kind in zip(maps, kinds) if kind == "frame"]
    if framed:
        ratios = [r for r in framed if r is not None]
        out += (" A map lit along its frame shows where the zero padding (0, mid-grey) meets the black background "
                "(-1): an edge of the padding, not of the garment; there the background responds "
                + (f"{min(ratios):.1f}-{max(ratios):.1f} times as much as elsewhere" if len(ratios) > 1 else
                   f"{ratios[0]:.1f} times as much as elsewhere" if ratios else "where the rest of it is silent")
                + (f" ({len(framed) - len(ratios)} with the rest of it silent)" if ratios and len(ratios) < len(framed)
                   else "") + ".")
    return out + (" Each map is scaled to its own range, so the figure shows where a channel responds, not how "
                  "strongly; the table gives each map's shares (and says which maps are too coarse to place).")
