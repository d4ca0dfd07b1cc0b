"""Question 7's maps read on the sample image: where each activated map responds (a region of
the garment, its frame, evenly or nowhere), as a sentence, a table and a counted summary; every
word from the shares passed in (activations.response_shares)."""
from fmnist.core.activations import REGION_WORDS, favoured, on_frame, shunned
from fmnist.core.words import listing, sentence


def map_reading(shares: dict) -> tuple[str | None, str, str]:
    """Where one map of question 7 responds (`activations.response_shares` on the image): (its kind:
    a region, "frame", "even" or "dead"; where it responds most; where it is nearly silent)."""
    if shares["response"]["outline"] is None:
        return "dead", "0 everywhere", ""
    if on_frame(shares):
        f = shares["frame"]
        against = (f"{f['against_background']:.1f}x the rest of the background" if f["against_background"] is not None
                   else "the rest of the background silent")
        return "frame", (f"the map's frame ({100 * f['response']:.0f}% of its response, {100 * f['area']:.0f}% of the "
                         f"pixels; {against})"), ""
    region, quiet = favoured(shares), shunned(shares)
    most = (f"{REGION_WORDS[region]} ({100 * shares['response'][region]:.0f}% of its response, "
            f"{100 * shares['area'][region]:.0f}% of the pixels)" if region else
            "no one region" if quiet else "about evenly over the image")
    silent = (f"{REGION_WORDS[quiet]} ({100 * shares['response'][quiet]:.0f}% of its response, "
              f"{100 * shares['area'][quiet]:.0f}% of the pixels)" if quiet else "")
    return region or "even", most, silent


def q7_reading(stages: list[tuple[str, float, list[tuple[int, dict]]]]) -> str:
    """What question 7's maps show on the sample image, stage by stage: (stage, share of its
    values that are 0, [(channel, `activations.response_shares` on the image)])."""
    out = []
    for stage, zeros, channels in stages:
        said = []
        for c, shares in channels:
            kind, most, silent = map_reading(shares)
            if kind == "even":
                said.append(f"channel {c} " + (f"is nearly silent on {silent}" if silent else
                                               "responds about evenly over the image"))
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
                      "at most 0.3 times)."]}


def q7_summary(stages: list[tuple[str, float, list[tuple[int, dict]]]]) -> str:
    """What question 7's activated maps show, counted: how sparse the stages get and where the
    maps shown respond most, the maps lit along their frame set against the rest of the background
    (q7_table lists them)."""
    maps = [shares for _, _, channels in stages for _, shares in channels]
    kinds = [map_reading(shares)[0] for shares in maps]
    named = {"outline": "on the garment's outline", "interior": "on its interior", "background":
             "on the black background", "frame": "along the map's frame", "even": "about evenly"}
    counted = [f"{kinds.count(k)} {words}" for k, words in named.items() if kinds.count(k)]
    first, last = stages[0], stages[-1]
    out = (f"On the sample image, {100 * first[1]:.0f}% of the values are 0 after {first[0]} and {100 * last[1]:.0f}% "
           f"after {last[0]}. Of the {len(kinds)} activated maps shown, "
           + (f"these respond most: {listing(counted)}" if counted else "none responds anywhere")
           + (f"; {kinds.count('dead')} {'is' if kinds.count('dead') == 1 else 'are'} 0 everywhere" if "dead" in kinds
              and counted else "") + ".")
    framed = [shares["frame"]["against_background"] for shares, kind in zip(maps, kinds) if kind == "frame"]
    if framed:
        ratios = [r for r in framed if r is not None]
        out += (" A map lit along its frame shows where the zero padding (0, mid-grey) meets the black background "
                "(-1): an edge of the padding, not of the garment; there the background responds "
                + (f"{min(ratios):.1f}-{max(ratios):.1f} times as much as elsewhere" if len(ratios) > 1 else
                   f"{ratios[0]:.1f} times as much as elsewhere" if ratios else "where the rest of it is silent")
                + (f" ({len(framed) - len(ratios)} with the rest of it silent)" if ratios and len(ratios) < len(framed)
                   else "") + ".")
    return out + (" Each map is scaled to its own range, so the figure shows where a channel responds, not how "
                  "strongly; the table gives each map's shares.")
