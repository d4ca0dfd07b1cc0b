"""Questions 8 and 9: the evidence against hand derivations, the answers both ways, the
statistics against scipy, and the locality study resumed after an interruption."""
import copy
import json

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats
from torch import nn

import experiments
from cnn import Conv_Net
from ffn import FF_Net
from fmnist.core import activations, stats, words
from fmnist.core.layers import receptive_fields
from fmnist.core.training import predict
from fmnist.handin import answers, document, evidence, readings
from fmnist.studies.locality import permutation, scramble
from helpers import interrupt_study

CPU = torch.device("cpu")


def test_receptive_fields_match_a_hand_derivation():
    # 3x3 conv (pad 1) adds 2 x jump, a 2x2 pool adds 1 x jump and doubles it:
    # conv1 3, pool1 4 (jump 2), conv2 4 + 2*2 = 8, pool2 10 (jump 4), conv3 10 + 2*4 = 18, pool3 22 (jump 8)
    fields = receptive_fields(Conv_Net().features)
    assert [fields[n]["size"] for n in ("conv1", "relu1", "conv2", "relu2", "conv3", "relu3")] == [3, 4, 8, 10, 18, 22]
    assert [fields[n]["jump"] for n in ("conv1", "relu1", "relu2", "relu3")] == [1, 2, 4, 8]
    # output (0, 0) of pool1 covers input pixels 0-1 of conv1's outputs, whose fields reach -1..2: centre 0.5
    assert fields["relu1"]["start"] == 0.5 and fields["relu3"]["start"] == 3.5


def test_shift_moves_the_image_and_fills_with_the_background():
    x = torch.full((1, 1, 28, 28), -1.0)
    x[0, 0, 10, 10] = 1.0
    right = evidence.shift(x, 2, 0)
    assert right[0, 0, 10, 12] == 1 and right.sum() == x.sum()
    up = evidence.shift(x, 0, -3)
    assert up[0, 0, 7, 10] == 1
    edge = evidence.shift(torch.ones(1, 1, 28, 28), -2, 1)
    assert (edge[0, 0, :, -2:] == evidence.BACKGROUND).all() and (edge[0, 0, 0] == evidence.BACKGROUND).all()
    assert (edge[0, 0, 1:, :-2] == 1).all()
    assert torch.equal(evidence.shift(x, 0, 0), x)


def test_zero_shift_gives_the_clean_accuracy():
    torch.manual_seed(0)
    model = Conv_Net().eval()
    x, y = torch.randn(40, 1, 28, 28).clamp(-1, 1), torch.arange(40) % 10
    clean = float((predict(model, x, CPU).argmax(1) == y).float().mean())
    result = evidence.translation({"cnn": model}, x, y, (0, 1), CPU)
    assert result["accuracy"]["cnn"][0] == clean and result["images"] == 40


def test_linear_probe_separates_separable_features():
    rng = np.random.default_rng(0)
    y = np.arange(200) % 4
    features = rng.normal(size=(200, 8)) * 0.1
    features[np.arange(200), y] += 5  # class k lights up feature k
    assert evidence.probe(features[:100], y[:100], features[100:], y[100:], seed=0) == 1.0


def test_weight_sharing_counts_match_a_hand_derivation():
    rows = {r["layer"]: r for r in evidence.weight_sharing(Conv_Net())}
    c1 = rows["conv1"]
    assert c1["output"] == [24, 28, 28] and c1["shared"] == 24 * 1 * 3 * 3
    assert c1["local"] == 28 * 28 * 24 * 9 and c1["dense"] == 784 * 24 * 28 * 28
    c2 = rows["conv2"]  # after pool1: 24 x 14 x 14 in, 48 x 14 x 14 out
    assert c2["shared"] == 48 * 24 * 9 and c2["dense"] == (24 * 14 * 14) * (48 * 14 * 14)
    with_bias = evidence.weight_sharing(nn.Sequential(nn.Conv2d(1, 2, 3)))[0]  # 26 x 26 outputs
    assert with_bias["shared"] == 2 * 9 + 2 and with_bias["local"] == 26 * 26 * (2 * 9 + 2)


def test_class_gains_against_hand_counts():
    ffn, cnn = np.diag([100] * 10), np.diag([100] * 10)  # 100 test images a class
    ffn[6, 6], ffn[6, 0] = 70, 30      # shirt: 70 right for the FFN, 85 for the CNN
    cnn[6, 6], cnn[6, 0] = 85, 15
    cnn[9, 9], cnn[9, 0] = 98, 2       # ankle boot: the CNN loses 2
    rows = evidence.class_gains(ffn, cnn)
    assert rows[0]["class"] == "Shirt" and rows[0]["points"] == 15 and rows[0]["gained_images"] == 15
    assert rows[0]["ffn"] == 70 and rows[0]["cnn"] == 85
    assert rows[-1]["class"] == "Ankle boot" and rows[-1]["gained_images"] == -2 and rows[-1]["points"] == -2


def test_top_patch_is_cropped_around_the_strongest_position():
    x = torch.full((3, 1, 28, 28), -1.0)
    x[1, 0, 20, 8] = 1.0
    acts = torch.zeros(3, 2, 14, 14)
    acts[1, 0, 10, 4] = 5.0  # relu1 output (10, 4): centre 0.5 + 2 * (10, 4) = (20.5, 8.5)
    field = receptive_fields(Conv_Net().features)["relu1"]
    patch = evidence.top_patches(acts, x, torch.tensor([0, 3, 5]), field, channels=1, k=1)[0]
    best = patch["patches"][0]
    assert patch["channel"] == 0 and best["index"] == 1 and best["class"] == "Dress"
    assert (best["row"], best["col"]) == (19, 7)  # a 4 x 4 window whose top-left is 20.5 - 1.5
    pixels = np.asarray(best["pixels"]).reshape(4, 4)
    assert pixels[1, 1] == 255 and (pixels.sum() == 255)


def test_purity_is_one_for_a_class_detector_and_low_for_noise():
    y = torch.arange(200) % 10
    detector = (y == 3).float()[:, None] + 0.01 * torch.rand(200, 1)
    assert evidence.purity(detector, y, top=20) == 1.0
    noise = torch.rand(200, 50, generator=torch.Generator().manual_seed(0))
    assert evidence.purity(noise, y, top=20) < 0.45


def _q8(ffn_acc, cnn_acc, ffn_drop, cnn_drop):
    gains = [{"class": "Shirt", "points": cnn_acc - ffn_acc, "gained_images": round(10 * (cnn_acc - ffn_acc)),
              "ffn": ffn_acc, "cnn": cnn_acc, "images": 1000}]
    return {
        "networks": {
            "ffn": {"parameters": 1_000_000, "accuracy": ffn_acc, "loss": 0.3},
            "cnn": {"parameters": 200_000, "accuracy": cnn_acc, "loss": 0.25 if cnn_acc > ffn_acc else 0.4},
        },
        "classes": gains,
        "weight_sharing": evidence.weight_sharing(Conv_Net()),
        "translation": {
            "shifts": [0, 1, 2],
            "images": 100,
            "fill": -1.0,
            "accuracy": {"ffn": [0.9, 0.85, 0.9 - ffn_drop], "cnn": [0.93, 0.92, 0.93 - cnn_drop]},
        },
    }


def test_q8_answer_follows_the_numbers_both_ways():
    cnn_wins = answers.q8_paragraph(_q8(90.0, 93.0, 0.2, 0.05), None, shift=2)
    assert "the CNN is 3.00 points higher, with a lower test loss" in cnn_wins
    assert "gains most on Shirt" in cnn_wins and "the CNN is the less affected" in cnn_wins
    assert "python experiments.py locality" in cnn_wins
    ffn_wins = answers.q8_paragraph(_q8(93.0, 90.0, 0.05, 0.2), None, shift=2)
    assert "the CNN is 3.00 points lower, with a higher test loss" in ffn_wins
    assert "gains on no class, and loses on Shirt" in ffn_wins and "the FFN is the less affected" in ffn_wins
    assert "5.0 times fewer parameters" in ffn_wins


def _locality(ffn_diffs, cnn_diffs):
    out = {}
    for net, diffs in (("ffn", ffn_diffs), ("cnn", cnn_diffs)):
        d = stats.paired({s: 90.0 for s in range(len(diffs))}, {s: 90.0 + v for s, v in enumerate(diffs)})
        out[net] = {"difference": d, "verdict": stats.verdict(d, "images", "scrambled")}
    return out


def test_q8_answer_quotes_the_locality_verdicts():
    hurt = answers.q8_paragraph(_q8(90, 93, 0.2, 0.05), _locality([0.1, -0.2, 0.05], [-8.0, -7.5, -8.4]))
    assert "So the CNN's edge comes from the images' local structure" in hurt
    assert "no difference detected between images and scrambled" in hurt
    unhurt = answers.q8_paragraph(_q8(90, 93, 0.2, 0.05), _locality([0.1, -0.2, 0.05], [0.3, -0.5, 0.1]))
    assert "did not measurably cost the CNN" in unhurt


def test_locality_note_gives_the_epochs_the_runs_took_not_their_ceiling():
    comparisons = _locality([0.1, -0.2, 0.05], [-8.0, -7.5, -8.4])

    def study(config, lengths):
        runs = {f"r{i}": {"config": config, "history": [{}] * n} for i, n in enumerate(lengths)}
        return {"finished": "2026-12-03T22:07:06", "runs": runs,
                "finish": {"comparisons": comparisons, "epochs": config["epochs"], "sizes": {"train": 20000}}}

    got, note = document.locality_note(study({"epochs": 60, "patience": 5}, [12, 16, 14]))
    assert got == comparisons
    assert note.startswith("20,000 training images a run, early stopping (patience 5) after 12-16 epochs (")
    assert "3 seeds each" in note and "finished" not in note  # the seeds counted; a title, not a log line
    assert "60" not in note
    _, fixed = document.locality_note(study({"epochs": 4}, [4, 4]))
    assert "4 epochs per run" in fixed and "early stopping" not in fixed
    _, shared = document.locality_note({**study({"epochs": 60, "patience": 5}, [12, 16, 14]), "pool": 55_000})
    assert shared.startswith("20,000 training images a run (36.4 % of the spec's 55,000), early stopping")
    missing, why = document.locality_note(None)
    assert missing is None and "not run for these outputs" in why


def _q9(probes, purities, zeros):
    shapes = [[1, 28, 28], [24, 14, 14], [48, 7, 7], [96, 3, 3], [256]]
    names = ["input", "relu1", "relu2", "relu3", "relu_fc1"]
    return {"stages": [{"stage": n, "shape": s, "values": int(np.prod(s)), "receptive_field": f, "probe": p,
                        "purity": u, "zeros": z}
                       for n, s, f, p, u, z in zip(names, shapes, [1, 4, 10, 22, 28], probes, [None] + purities,
                                                   [None] + zeros)],
            "sizes": {"probe_train": 2000, "probe_test": 1000, "purity_top": 20, "purity_chance": 0.22}}


def test_q9_answer_follows_the_numbers_both_ways():
    deeper_better = answers.q9_paragraph(
        _q9([0.78, 0.83, 0.86, 0.9, 0.92], [0.3, 0.4, 0.5, 0.7], [0.4, 0.5, 0.55, 0.6])
    )
    assert "rises at every stage" in deeper_better and "get sparser" in deeper_better
    assert "the channels become more class-specific with depth" in deeper_better
    assert "12.0 points higher than from the raw pixels" in deeper_better
    assert "4x4, 10x10 and 22x22 pixels" in deeper_better
    worse = answers.q9_paragraph(_q9([0.9, 0.85, 0.8, 0.75, 0.7], [0.6, 0.5, 0.4, 0.3], [0.6, 0.5, 0.4, 0.3]))
    assert "falls at every stage" in worse and "get denser" in worse
    assert "do not become more class-specific" in worse and "does not make the class easier" in worse
    mixed = words.trend([0.8, 0.85, 0.83, 0.9])
    assert mixed.startswith("rises overall, but not at every stage (not from stage 2")


def test_interval_matches_scipy_and_verdicts_go_both_ways():
    values = [0.4, 1.1, 0.7, 0.9]
    ours = stats.interval(values)
    low, high = scipy_stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=scipy_stats.sem(values))
    assert ours["low"] == pytest.approx(low) and ours["high"] == pytest.approx(high)
    ahead = stats.paired({0: 90, 1: 91, 2: 90.5}, {0: 92, 1: 92.8, 2: 92.4})
    assert stats.excludes_zero(ahead) and stats.verdict(ahead, "A", "B").startswith("B ahead of A by 1.90")
    behind = stats.paired({0: 92, 1: 92.8, 2: 92.4}, {0: 90, 1: 91, 2: 90.5})
    assert stats.verdict(behind, "A", "B").startswith("A ahead of B by 1.90")
    unclear = stats.paired({0: 90, 1: 91, 2: 90.5}, {0: 91, 1: 90, 2: 90.6})
    assert not stats.excludes_zero(unclear) and stats.verdict(unclear, "A", "B").startswith("no difference detected")
    assert "no verdict" in stats.verdict(stats.paired({0: 1.0}, {0: 2.0}), "A", "B")
    tiny = {
        "mean": 0.0015,
        "low": 0.00002,
        "high": 0.0029,
        "n": 3,
    }  # excludes zero, though 4 decimals would not show it
    assert stats.verdict(tiny, "A", "B", unit="") == "B ahead of A by 0.0015 (95 % CI +0.00002 to +0.0029, 3 seeds)"
    assert stats.bound(0.0, 4) == "+0.0000" and stats.bound(-0.004, 2) == "-0.004" and stats.bound(1.5, 2) == "+1.50"


def test_scrambling_is_one_fixed_permutation():
    x = torch.arange(2 * 784, dtype=torch.float).reshape(2, 1, 28, 28)
    perm = permutation()
    out = scramble(x, perm)
    assert torch.equal(out.flatten(1), x.flatten(1)[:, perm]) and torch.equal(perm, permutation())
    assert torch.equal(out.flatten(1).sort(1).values, x.flatten(1))
    # a fully connected layer with its columns permuted alike computes the same function
    layer = FF_Net().features.fc1
    moved = copy.deepcopy(layer)
    moved.weight.data = layer.weight.data[:, perm]  # column j now weighs input pixel perm[j]
    assert torch.allclose(moved(out.flatten(1) / 784), layer(x.flatten(1) / 784), atol=1e-5)


@pytest.mark.slow
def test_locality_quick_resumes_after_an_interruption(data_dir, tmp_path, monkeypatch):
    study = interrupt_study(monkeypatch, "locality", after=2)
    out = tmp_path / "out"
    argv = ["locality", "--quick", "--seeds", "3", "--data-dir", str(data_dir), "--out-dir", str(out)]
    assert experiments.main(argv) == 130
    path = out / "experiments" / "locality" / "results.json"
    first = json.loads(path.read_text())
    assert len(first["runs"]) == 2 and first["finished"] is None
    monkeypatch.setitem(experiments.STUDIES, "locality", study)
    assert experiments.main(argv) == 0
    results = json.loads(path.read_text())
    assert len(results["plan"]) == 12 and len(results["runs"]) == 12
    assert all(results["runs"][k] == v for k, v in first["runs"].items())
    comparisons = results["finish"]["comparisons"]
    for net in ("ffn", "cnn"):
        per_seed = comparisons[net]["per_seed"]
        diffs = [b - a for a, b in zip(per_seed["images"], per_seed["scrambled"])]
        assert comparisons[net]["difference"]["mean"] == pytest.approx(np.mean(diffs))
        assert comparisons[net]["difference"]["n"] == 3


def test_q8_says_what_the_recipes_add_and_quotes_the_like_for_like_gap():
    hand_in = {"ffn": {"flip": False, "test_time_flip": False}, "cnn": {"flip": True, "test_time_flip": True}}
    assert answers.mirror_words(hand_in) == ("The CNN trains on randomly mirrored images and averages its logits over "
                                             "each test image and its mirror, and the FFN does neither, so part of "
                                             "the gap is the recipe")
    swapped = {"ffn": {"flip": True}, "cnn": {}}
    assert answers.mirror_words(swapped).startswith("The FFN trains on randomly mirrored images, and the CNN does")
    assert answers.mirror_words({"ffn": {}, "cnn": {}}) == ""
    locality = _locality([0.1, -0.2, 0.05], [-8.0, -7.5, -8.4])
    locality["ffn"]["per_seed"] = {"images": [89.0, 89.2, 88.9]}
    locality["cnn"]["per_seed"] = {"images": [92.5, 92.7, 92.6]}
    text = answers.q8_paragraph(_q8(90, 93, 0.2, 0.05), locality, shift=2, configs=hand_in)
    assert "so part of the gap is the recipe. Like for like, with neither mirroring" in text
    assert "the CNN scores 92.60% and the FFN 89.03%: the CNN ahead of the FFN by 3.57" in text
    locality["cnn"]["per_seed"] = {"images": [88.0, 89.5, 88.4]}  # without the recipe, no gap detected
    assert "no difference detected between the FFN and the CNN" in answers.q8_paragraph(
        _q8(90, 93, 0.2, 0.05), locality, shift=2, configs=hand_in)
    assert "measures the two without it" in answers.q8_paragraph(_q8(90, 93, 0.2, 0.05), None, shift=2, configs=hand_in)


def test_q8_names_equivariance_and_pooling_by_the_shift_result():
    steadier = answers.translation_words(_q8(90, 93, 0.2, 0.05))
    assert steadier.startswith("At 2 pixels the FFN loses 20.0 points and the CNN 5.0.")
    assert "translation-equivariant" in steadier and "partly invariant to shifts smaller than its window" in steadier
    assert steadier.endswith("Partly: the CNN still loses 5.0 points, since the fully connected layers on top are tied "
                             "to positions again.")
    shakier = answers.translation_words(_q8(90, 93, 0.05, 0.2))
    assert "did not make the CNN the steadier" in shakier and "translation-equivariant" not in shakier


def test_q2_title_says_what_the_training_loss_includes():
    from fmnist.handin.figures import loss_figure, training_loss_words
    assert training_loss_words({"label_smoothing": 0.1, "flip": True}) == (
        "training loss: label smoothing 0.1, random mirroring; validation loss: plain cross-entropy")
    assert training_loss_words({"label_smoothing": 0.0, "flip": False}) == (
        "training loss: plain cross-entropy, images as they are; validation loss: plain cross-entropy")
    history = {"iterations": [9.0, 5.0] + [0.5] * 198, "best_epoch": 2,
               "epochs": [{"epoch": e, "val_loss": 0.4} for e in (1, 2)]}
    title = loss_figure("FFN", history, {"flip": False}).axes[0].get_title()
    assert "images as they are" in title and "2 batches of epoch 1 lie above the plot, up to 9.00" in title
    calm = loss_figure("FFN", {**history, "iterations": [0.5] * 200}, {}).axes[0].get_title()
    assert "above the plot" not in calm


def summary_network(accuracy: float, layers: list, flip: bool) -> dict:
    config = {"optimizer": "sgd", "momentum": 0.9, "lr": 0.1, "weight_decay": 5e-4, "batch_size": 256,
              "label_smoothing": 0.1, "init": "default", "flip": flip, "patience": 5, "epochs": 12,
              "precision": "bf16", "test_time_flip": flip}
    total = sum(count for _, _, count in layers)
    return {"config": config, "parameters": {"total": total, "layers": layers}, "seed": 0, "device": "cpu",
            "test": {"accuracy": accuracy, "loss": 0.3, "leaderboard": accuracy}, "finished": "today",
            "history": {"epochs": [{}] * 9, "best_epoch": 4}, "train_seconds": 1.0}


def test_the_first_page_is_computed_from_metrics_json_both_ways():
    from fmnist.handin import document
    ffn_layers = [["fc1.weight", [100, 784], 78400], ["fc1.bias", [100], 100], ["fc2.weight", [10, 100], 1000]]
    cnn_layers = [["conv1.weight", [8, 1, 3, 3], 72], ["conv2.weight", [16, 8, 5, 5], 3200],
                  ["bn.weight", [16], 16], ["fc.weight", [10, 144], 1440]]
    assert document.architecture_words({"layers": ffn_layers}) == "fully connected 784-100-10"
    assert (
        document.architecture_words({"layers": cnn_layers}) == "conv 8, 16 (3x3 and 5x5), then fully connected 144-10"
    )
    ahead = {
        "networks": {"ffn": summary_network(0.80, ffn_layers, False), "cnn": summary_network(0.85, cnn_layers, True)},
        "sizes": {"train": 50_000, "val": 10_000, "test": 10_000},
    }
    text = " ".join(document.summary_lines(ahead))
    assert "trained on Fashion-MNIST's 50,000 training images (10,000 more held out for validation)" in text
    assert (
        "The CNN classifies 5.00 percentage points more of the test images correctly than the FFN, with 16.8 times "
        "fewer"
        in text
    )
    assert "mean of its own and its mirror image's logits" not in text  # the recipes are on the last page
    recipes = " ".join(document.method_lines(ahead))
    assert "mean of its own and its mirror image's logits" in recipes and "no mirroring" in recipes
    behind = {
        "networks": {"ffn": summary_network(0.90, cnn_layers, False), "cnn": summary_network(0.85, ffn_layers, True)}
    }
    text = " ".join(document.summary_lines(behind))
    assert (
        "The CNN classifies 5.00 percentage points fewer of the test images correctly than the FFN, with 16.8 times "
        "more"
        in text
    )
    assert "the training images, scored on the test images" in text  # an older metrics.json without sizes
    assert "a checkpoint with no metrics.json beside it" in document.summary_lines({})[0]


def test_regions_outline_and_interior_of_a_square_by_hand():
    image = torch.full((1, 28, 28), -1.0)
    image[0, 5:15, 8:18] = 1.0  # a 10 x 10 garment
    masks = activations.regions(image)
    assert [int(masks[0, k].sum()) for k in range(3)] == [784 - 100, 36, 64]  # outline: 4 * 10 - 4 pixels
    assert masks[0, 1, 5, 8] == 1 and masks[0, 2, 6, 9] == 1 and masks[0, 0, 0, 0] == 1
    outline_only = masks[:, 1] * 3.0  # a channel that fires on the outline alone
    shares = activations.response_shares(outline_only, image[:, :, :])
    assert shares["response"] == {"background": 0.0, "outline": 1.0, "interior": 0.0}
    assert shares["area"]["outline"] == pytest.approx(36 / 784)
    assert activations.response_shares(torch.zeros(1, 7, 7), image)["response"]["outline"] is None  # a dead channel


ROWS, COLS = np.mgrid[0:8, 0:8]


@pytest.mark.parametrize("bright,angle", [(COLS > 3, 90.0),             # a vertical edge
                                          (ROWS > 3, 0.0),              # a horizontal edge
                                          (COLS > ROWS, 45.0),          # an edge running down to the right
                                          (COLS + ROWS > 7, 135.0)])    # an edge running up to the right
def test_the_edge_direction_of_drawn_edges(bright, angle):
    patch = 255.0 * bright
    o = activations.orientation([patch, patch])
    assert o["angle"] == pytest.approx(angle, abs=1e-6) and o["coherence"] > 0.5
    assert activations.orientation([np.full((8, 8), 7.0)]) == {"angle": None, "coherence": 0.0}


def made_up_stage(response: dict, area: dict, angle, coherence, classes: list[str]) -> dict:
    channel = {"channel": 5, "where": {"response": response, "area": area},
               "orientation": {"angle": angle, "coherence": coherence},
               "class_share": evidence.class_share([{"class": c} for c in classes])}
    return {"stage": "relu1", "receptive_field": 4, "channels": [channel]}


def test_each_stage_gets_a_sentence_computed_both_ways():
    area = {"background": 0.5, "outline": 0.2, "interior": 0.3}
    outline = answers.stage_reading(made_up_stage({"background": 0.2, "outline": 0.6, "interior": 0.2}, area, 92.0, 0.9,
                                                  ["Bag"] * 5 + ["Coat"]))
    assert outline == (
        "Conv stage 1 (4x4-pixel fields): of its 1 most active channels, over all test images 1 favours the "
        "garment's outline (channel "
        "5); their top patches show vertical edges (channel 5); channel 5's top patches are 5 of 6 from Bag."
    )
    even = answers.stage_reading(made_up_stage({"background": 0.5, "outline": 0.2, "interior": 0.3}, area, 10.0, 0.1,
                                               ["Bag", "Coat", "Bag", "Shirt"]))
    assert "1 favours no region (channel 5)" in even and "no single edge direction (channel 5)" in even
    # a planted contradiction: one of two channels favours the background, which its row would say; so does the stage
    mixed = made_up_stage({"background": 0.2, "outline": 0.6, "interior": 0.2}, area, 92.0, 0.9, ["Bag"])
    background = {"response": {"background": 0.8, "outline": 0.1, "interior": 0.1}, "area": area}
    mixed["channels"].append({**mixed["channels"][0], "channel": 7, "where": background})
    words = answers.stage_reading(mixed)
    assert "of its 2 most active channels, over all test images 1 favours the garment's outline (channel 5) and 1 " \
        "favours" in words
    assert "background (channel 7)" in words and answers.channel_words(mixed["channels"][1]).startswith(
        "background 80% of response, 50% of pixels\n")
    assert "no class holds more than 2 of a channel's 4 top patches" in even
    assert "the black background" in answers.stage_reading(made_up_stage(
        {"background": 0.9, "outline": 0.05, "interior": 0.05}, area, 170.0, 0.8, ["Bag"]))
    assert activations.edge_words({"angle": 40.0, "coherence": 0.8}) == "diagonal edges (\\)"
    assert activations.edge_words({"angle": 140.0, "coherence": 0.8}) == "diagonal edges (/)"


def test_the_third_of_the_garment_a_row_sits_in_counts_from_the_garments_own_rows():
    image = np.full((28, 28), -1.0)
    image[4:28, 10:18] = 0.5  # the garment: rows 4-27, 24 rows, 8 to a third
    assert [activations.garment_third(image, r) for r in (3.0, 4.0, 11.0, 12.0, 19.0, 20.0, 27.0, 27.5)] == [
        None, "top third", "top third", "middle third", "middle third", "bottom third", "bottom third", "bottom third"]
    assert activations.garment_third(np.full((28, 28), -1.0), 14.0) is None  # no garment at all
    assert activations.majority(["a", None, "a", "b"], 4) == {"value": None, "count": 2, "of": 4}  # half is no majority
    assert activations.majority(["a", "a", "a", None], 4)["value"] == "a"


def test_the_chance_of_a_majority_third_is_the_count_over_every_draw():
    import itertools
    pool = ["top third", "top third", "middle third", None]
    for n in (3, 4, 6):
        draws = list(itertools.product(pool, repeat=n))  # every draw, each as likely
        hits = sum(activations.majority(list(d), n)["value"] is not None for d in draws)
        assert activations.majority_chance(pool, n) == pytest.approx(hits / len(draws))


def test_where_a_stages_top_patches_sit_is_read_both_ways_against_its_control():
    area = {"background": 0.5, "outline": 0.2, "interior": 0.3}
    stage = made_up_stage({"background": 0.2, "outline": 0.6, "interior": 0.2}, area, 92.0, 0.9, ["Bag"] * 6)
    low = {**stage["channels"][0], "third": {"value": "bottom third", "count": 5, "of": 6}}
    spread = {**low, "channel": 9, "third": {"value": None, "count": 3, "of": 6}}
    stage["channels"] = [low, spread]
    stage["thirds"] = {"channels": 40, "one_third": 30, "chance": 0.3, "patches": 6}
    words = answers.stage_reading(stage)
    assert ("the top patches lie in the garment's bottom third (channel 5) and spread over the garment's height "
            "(channel 9)") in words
    assert ("At conv stage 1, 30 of 40 live channels keep most of their 6 top patches in one third of the garment's "
            "height (the control: each channel's patches drawn at random from all the stage's top patches), where "
            "chance alone gives 12") in words and words.endswith(": more than chance.")
    stage["thirds"]["one_third"] = 13  # about what chance gives
    assert answers.stage_reading(stage).endswith("no more than chance, so weak evidence.")
    stage["thirds"]["map_side"] = 3  # a stage of 3x3 maps: its heights read with care
    assert answers.stage_reading(stage).endswith("no more than chance, so weak evidence. Its maps are 3x3, so a patch "
                                                 "stands at one of 3 heights, and a channel's place may come from its "
                                                 "classes (whose garments sit at different heights) or the padded "
                                                 "frame as much as from one part of a garment.")
    assert answers.channel_parts(low)["where on the garment its top patches sit"] == (
        "the garment's bottom third in 5 of 6")
    assert answers.channel_parts(spread)["where on the garment its top patches sit"] == (
        "spread over the garment's height (at most 3 of 6 in one third)")


def test_a_map_lit_on_its_frame_is_read_as_padding_not_as_the_garment():
    image = torch.full((1, 28, 28), -1.0)
    image[0, 6:22, 8:20] = 1.0
    rim = torch.zeros(1, 14, 14)
    rim[0, -1, :] = 2.0  # only the bottom row: where the zero padding meets the black background
    shares = activations.response_shares(rim, image)
    frame = shares["frame"]
    assert (frame["response"], frame["area"], frame["against_background"]) == (
        pytest.approx(1.0), pytest.approx(52 / 196), None)  # the rest of the background silent
    assert frame["sides"]["bottom row"]["response"] == pytest.approx(1.0) and frame["sides"]["top row"]["response"] == 0
    assert activations.lit_frame(shares) == "bottom row" and shares["map_side"] == 14  # one side holds it all
    inside = torch.zeros(1, 14, 14)
    inside[0, 5:9, 5:9] = 1.0
    small = activations.response_shares(torch.ones(1, 3, 3), image)
    assert small["frame"] is None and not activations.on_frame(small)  # 3x3: 8 of 9 values are frame
    middle = activations.response_shares(inside, image)
    assert middle["frame"]["response"] == 0.0 and not activations.on_frame(middle)
    dead = {**middle, "response": {"background": None, "outline": None, "interior": None}}
    stages = [("relu1", 0.25, [(0, shares), (1, middle)]), ("relu3", 0.5, [(0, {**dead, "map_side": 3})])]
    assert readings.map_reading(shares)[0] == "frame" and readings.map_reading(middle)[0] == "interior"
    table = readings.q7_table(stages)
    assert [row[:3] for row in table["rows"]] == [["relu1", "25%", "0"], ["relu1", "25%", "1"], ["relu3", "50%", "0"]]
    assert middle["frame"]["against_background"] is None  # no response on the background at all
    assert table["rows"][0][3] == ("the map's bottom row (100% of its response, 7% of the pixels; the rest of the "
                                   "background silent)")
    assert table["notes"][0].endswith("relu3's maps are 3x3: each value stands for 9x9 pixels and 8 of 9 touch the "
                                      "padded frame, so their readings are coarse.")
    summary = readings.q7_summary(stages)
    assert summary.startswith("On the sample image, 25% of the values are 0 after relu1 and 50% after relu3. Of the 3 "
                              "activated maps shown, these respond most: 1 on its interior and 1 along the map's "
                              "frame or one side of it; 1 is 0 everywhere. A map lit along its frame")
    # the control: a channel that merely favours the background lights the frame's background as much as the rest
    flat = torch.where(image[0] < 0, 1.0, 0.0)[::2, ::2][None]  # 1 on every background cell of a 14x14 map
    plain = activations.response_shares(flat, image)
    assert plain["frame"]["against_background"] == pytest.approx(1.0) and not activations.on_frame(plain)
    assert readings.map_reading(plain)[0] == "background"
    padded = flat.clone()
    padded[0, [0, -1], :] += 3.0  # and the whole frame 4 times as bright: the padding's edge, no one side most
    padded[0, :, [0, -1]] += 3.0
    shares = activations.response_shares(padded.clamp(max=4.0), image)
    assert shares["frame"]["against_background"] == pytest.approx(4.0) and activations.lit_frame(shares) == "frame"
    assert "there the background responds 4.0 times as much as elsewhere." in readings.q7_summary(
        [("relu1", 0.1, [(0, shares)])])
    even = {**middle, "frame": None, "response": {"background": 0.5, "outline": 0.2, "interior": 0.3},
            "area": {"background": 0.5, "outline": 0.2, "interior": 0.3}}
    assert readings.q7_summary([("relu1", 0.1, [(0, even)])]).startswith(
        "On the sample image, 10% of the values are 0 after relu1. Of the 1 activated maps shown, 1 favours no one "
        "region. Each map")


def test_question_7_maps_are_read_from_the_numbers():
    area = {"background": 0.6, "outline": 0.15, "interior": 0.25}
    on_outline = {"response": {"background": 0.3, "outline": 0.5, "interior": 0.2}, "area": area}
    even = {"response": {"background": 0.6, "outline": 0.15, "interior": 0.25}, "area": area}
    dead = {"response": {"background": None, "outline": None, "interior": None}, "area": area}
    text = readings.q7_reading([("relu1", 0.4, [(0, on_outline), (1, even)]), ("relu3", 0.9, [(0, dead)])])
    assert text == ("On this image: after relu1, 40% of the values are 0 and channel 0 responds most on the garment's "
                    "outline (50% of its response, 15% of the pixels) and channel 1 favours no one region; after "
                    "relu3, 90% of the values are 0 and channel 0 is 0 everywhere.")
    hollow = {"response": {"background": 0.8, "outline": 0.18, "interior": 0.02}, "area": area}
    assert readings.q7_reading([("relu1", 0.4, [(0, hollow)])]) == (
        "On this image: after relu1, 40% of the values are 0 and channel 0 responds most on the black background (80% "
        "of its response, 60% of the pixels) and is nearly silent on the garment's interior (2% of its response, 25% "
        "of the pixels).")
    from fmnist.core.layers import feature_stages
    from fmnist.handin import kernels
    image = torch.full((1, 28, 28), -1.0)
    image[0, 4:24, 8:20] = 1.0
    model = Conv_Net().eval()
    read = kernels.reading(feature_stages(model, image[None]), image, 2)
    assert [stage for stage, _, _ in read] == ["relu1", "relu2", "relu3"]
    maps = dict(feature_stages(model, image[None]))["pool1 + bn1 + relu1"]
    assert read[0][1] == pytest.approx(float((torch.as_tensor(maps) == 0).float().mean()))
    assert [c for c, _ in read[0][2]] == [0, 1]


def test_a_row_of_patches_is_read_both_ways():
    area = {"background": 0.5, "outline": 0.2, "interior": 0.3}
    stage = made_up_stage(
        {"background": 0.1, "outline": 0.7, "interior": 0.2}, area, 90.0, 0.8, ["Bag"] * 4 + ["Coat"] * 2
    )
    assert answers.channel_words(stage["channels"][0]) == ("outline 70% of response, 20% of pixels\n"
                                                           "vertical edges\n4 of 6: Bag")
    even = made_up_stage(dict(area), area, 0.0, 0.1, ["Bag", "Coat"])["channels"][0]
    assert answers.channel_words(even) == "no favoured region\nno single edge direction\n1 of 2: Bag"
    assert answers.channel_words({"channel": 1, "patches": []}) == ""  # an older metrics.json
    patches = [{"class": c} for c in ["Sandal"] * 4 + ["Bag"] * 2]  # as metrics.json has them now
    now = {**stage["channels"][0], "patches": patches,
           "edges": {"direction": "diagonal edges (/)", "count": 5, "of": 6},
           "busy": {"density": 6.0, "stage_median": 4.0}, "third": {"value": "bottom third", "count": 6, "of": 6}}
    assert answers.channel_words(now) == ("outline 70% of response, 20% of pixels\ndiagonal edges (/) 5 of 6\n"
                                          "busier 1.5x stage median\nbottom third 6 of 6\nSandal 4, Bag 2")
    mixed = {**now, "edges": {"direction": None, "count": 2, "of": 6}, "busy": {"density": 3.0, "stage_median": 4.0},
             "third": {"value": None, "count": 3, "of": 6}}
    assert answers.channel_words(mixed).split("\n")[1:4] == [
        "mixed edges (at most 2 of 6 alike)", "smoother 0.8x stage median",
        "height spread: at most 3 of 6 in one third"]


def test_q8_gains_title_names_the_colours_only_where_both_show():
    from fmnist.handin.questions import q8_gains_figure

    def title(q8):
        fig = q8_gains_figure(q8, "an answer", "a question")
        return next(t.get_text() for ax in fig.get_axes() for t in [ax.title] if "Where the CNN" in t.get_text())
    gains = _q8(90, 93, 0.2, 0.05)
    assert title(gains).startswith("Where the CNN gains on 1 of 1 classes") and "red" not in title(gains)
    mixed = copy.deepcopy(gains)
    mixed["classes"].append({**mixed["classes"][0], "class": "Coat", "points": -1.5, "gained_images": -15})
    assert title(mixed).startswith("Where the CNN gains (blue) on 1 and loses (red) on 1 of 2 classes")


def test_a_channels_edges_are_the_direction_most_of_its_patches_show_each_read_alone():
    vertical, horizontal = 255.0 * (COLS > 3), 255.0 * (ROWS > 3)
    cross = 255.0 * ((COLS == ROWS) | (COLS + ROWS == 7))  # an X of straps: no direction of its own
    mixed = [cross, cross, vertical, horizontal, 255.0 * (COLS > ROWS), 255.0 * (COLS + ROWS > 7)]
    assert activations.shared_edges(mixed) == {"direction": None, "count": 1, "of": 6}
    most = activations.shared_edges([vertical] * 4 + [horizontal] * 2)
    assert most == {"direction": "vertical edges", "count": 4, "of": 6}
    assert activations.shared_edges([vertical] * 3 + [horizontal] * 3)["direction"] is None  # half is not most
    channel = {"edges": most}
    assert answers.edges_of(channel) == "vertical edges in 4 of 6" and answers.edges_of(channel, counted=False) == (
        "vertical edges")
    assert answers.edges_of({"edges": {"direction": None, "count": 2, "of": 6}}) == (
        "mixed edge directions (at most 2 of 6 alike)")


def test_q9_reads_its_probes_against_the_untrained_control_both_ways():
    q9 = _q9([0.78, 0.83, 0.86, 0.9, 0.92], [0.3, 0.4, 0.5, 0.7], [0.4, 0.5, 0.55, 0.6])
    for row, control in zip(q9["stages"][1:], [0.80, 0.82, 0.81, 0.79]):
        row["probe_random"] = control
    some = answers.q9_paragraph(q9)
    assert "gives 80.0% at conv stage 1, 82.0% at conv stage 2, 81.0% at conv stage 3 and 79.0% at" in some
    assert "its best stage reads 4.0 points more than the pixels, so part of the rise" in some
    assert "Training adds 3.0 to 13.0 points, most at" in some
    for row in q9["stages"][1:]:
        row["probe_random"] = row["probe"] + 0.01  # untrained reads better everywhere
    assert "Training adds nothing at any stage" in answers.q9_paragraph(q9)
    for row in q9["stages"][1:]:
        row["probe_random"] = 0.5
    assert "no stage reads better than the pixels, so the rise is learned" in answers.q9_paragraph(q9)
    from fmnist.handin.questions import stages_table
    table = stages_table(q9)
    assert table["columns"][6] == "untrained" and [r[6] for r in table["rows"]][:2] == ["-", "50.0%"]
    assert "probe_random" not in _q9([0.8] * 5, [0.3] * 4, [0.4] * 4)["stages"][1]
    assert "control" not in answers.q9_paragraph(_q9([0.8] * 5, [0.3] * 4, [0.4] * 4))  # an older metrics.json


def test_how_busy_a_channels_patches_are_is_read_against_its_stages_median_both_ways():
    step = np.array([[0, 0, 255, 255]] * 4, dtype=float)  # np.gradient: 127.5 in the two middle columns
    assert activations.edge_density([step]) == pytest.approx(63.75)
    assert activations.edge_density([np.zeros((4, 4)), step]) == pytest.approx(31.875)
    assert answers.busy_words({"density": 30.0, "stage_median": 20.0}) == "busier (1.5x stage median)"
    assert answers.busy_words({"density": 10.0, "stage_median": 20.0}) == "smoother (0.5x stage median)"
    assert answers.busy_words({"density": 21.0, "stage_median": 20.0}) == "as busy (1.1x stage median)"
    area = {"background": 0.5, "outline": 0.2, "interior": 0.3}
    stage = made_up_stage({"background": 0.2, "outline": 0.6, "interior": 0.2}, area, 92.0, 0.9, ["Bag"] * 6)
    stage["channels"][0]["busy"] = {"density": 40.0, "stage_median": 20.0}
    assert "the patches of channel 5 are busier than those of the stage's median channel" in answers.stage_reading(
        stage)
    stage["channels"][0]["busy"]["density"] = 20.0
    assert "median channel" not in answers.stage_reading(stage)
    ch = {"patches": [{"class": c} for c in ["Bag", "Sandal", "Sandal", "Shirt", "Sandal", "Bag"]]}
    assert answers.classes_of(ch) == "Sandal 3, Bag 2, Shirt 1"


def test_the_hierarchy_sentence_sets_the_gain_against_the_pixels_and_the_untrained_network():
    helps = answers.hierarchy_words({"probe": 0.783}, {"probe": 0.902, "probe_random": 0.817})
    assert helps == ("This hierarchy helps classification: a linear rule gets 90.2% right from the last conv stage, "
                     "11.9 points higher than from the raw pixels, so the classifier on top has an easier job. Against "
                     "the control, the untrained network's last conv stage (81.7%), training adds 8.5 points.")
    level = answers.hierarchy_words({"probe": 0.9}, {"probe": 0.9, "probe_random": 0.95})
    assert level.startswith("Here the hierarchy does not make the class easier to read linearly") and (
        "as much as from the raw pixels" in level and level.endswith("training adds nothing there."))
    assert "5.0 points lower than from the raw pixels." in answers.hierarchy_words({"probe": 0.9}, {"probe": 0.85})


def test_a_channels_classes_wrap_between_classes_never_inside_one():
    items = ["Dress 2", "Sandal 1", "T-shirt/top 1", "Shirt 1", "Ankle boot 1", "Bag 1"]
    lines = answers.pack(items, 42)
    assert lines == ["Dress 2, Sandal 1, T-shirt/top 1, Shirt 1,", "Ankle boot 1, Bag 1"]
    assert ", ".join(lines).replace(",,", ",") == ", ".join(items) and all(len(line) <= 42 for line in lines)
    assert answers.pack(items, 12) == ["Dress 2,", "Sandal 1,", "T-shirt/top 1,", "Shirt 1,", "Ankle boot 1,", "Bag 1"]
