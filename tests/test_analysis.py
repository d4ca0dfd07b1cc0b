"""analyze.py and its parts against oracles: hand derivations, scikit-learn, invariants."""
import csv
import json
import math
import shutil
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

import analyze
from cnn import Conv_Net
from ffn import FF_Net
from fmnist.analysis import optimised, saliency, sections, templates
from fmnist.analysis.fooling import greedy, random_pixels
from fmnist.core import data, diagnostics
from fmnist.core.guided import channel_gradient, class_share, guided_channels, guided_words, pick_channels
from fmnist.core.layers import layer_table
from fmnist.core.training import predict

CPU = torch.device("cpu")


def test_cnn_layer_table_totals_match_a_hand_derivation():
    table = layer_table(Conv_Net())
    c1, c2, c3, hidden = 24, 48, 96, 256
    conv_params = 9 * (1 * c1 + c1 * c2 + c2 * c3) + 2 * (c1 + c2 + c3)   # 3x3 kernels, no bias; BN scale+shift
    conv_neurons = c1 * 28 * 28 + c2 * 14 * 14 + c3 * 7 * 7                # conv outputs before each pool
    conv_macs = 9 * (28 * 28 * 1 * c1 + 14 * 14 * c1 * c2 + 7 * 7 * c2 * c3)
    flat = c3 * 3 * 3
    fc_params = flat * hidden + hidden + 2 * hidden + hidden * 10 + 10
    assert table["totals"]["convolutional"] == {"parameters": conv_params, "neurons": conv_neurons,
                                                "multiply_adds": conv_macs}
    assert table["totals"]["fully connected"] == {"parameters": fc_params, "neurons": hidden + 10,
                                                  "multiply_adds": flat * hidden + hidden * 10}
    assert table["totals"]["total"]["parameters"] == sum(p.numel() for p in Conv_Net().parameters())
    kinds = [r["kind"] for r in table["layers"]]
    assert kinds[:4] == ["conv", "pool", "batch norm", "activation"] and kinds.count("conv") == 3
    assert table["layers"][0]["output"] == [c1, 28, 28] and table["layers"][1]["output"] == [c1, 14, 14]


def test_ffn_layer_table_is_all_fully_connected():
    table = layer_table(FF_Net())
    assert list(table["totals"]) == ["fully connected", "total"]
    assert table["totals"]["total"] == {"parameters": 784 * 1024 + 1024 + 2 * 1024 + 1024 * 512 + 512 + 2 * 512
                                        + 512 * 10 + 10, "neurons": 1024 + 512 + 10,
                                        "multiply_adds": 784 * 1024 + 1024 * 512 + 512 * 10}


class Tiny(nn.Module):
    """x -> 1x1 conv [1, -1] -> ReLU -> 1x1 conv [2, -3] + 10 -> ReLU: small enough to differentiate by hand."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(OrderedDict(
            conv1=nn.Conv2d(1, 2, 1, bias=False), relu1=nn.ReLU(inplace=True),
            conv2=nn.Conv2d(2, 1, 1), relu2=nn.ReLU(inplace=True)))
        with torch.no_grad():
            self.features.conv1.weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))
            self.features.conv2.weight.copy_(torch.tensor([2.0, -3.0]).view(1, 2, 1, 1))
            self.features.conv2.bias.fill_(10.0)


def test_guided_backprop_matches_gradients_worked_out_by_hand():
    # h = (relu(x), relu(-x)); z = 2 h0 - 3 h1 + 10 > 0 here, so d relu(z) / dx is 2 where x > 0 and
    # (-3)(-1) = 3 where x < 0. Guided backprop zeroes the negative gradient (-3) entering relu1's
    # second channel, so only the x > 0 path survives: 2 where x > 0, 0 elsewhere.
    x = torch.tensor([[[[1.0, -2.0], [3.0, -0.5]]]])
    model = Tiny()
    plain = channel_gradient(model, x, "relu2", [0], guided_relu=False)
    guided = channel_gradient(model, x, "relu2", [0], guided_relu=True)
    assert torch.equal(plain, torch.tensor([[[[2.0, 3.0], [2.0, 3.0]]]]))
    assert torch.equal(guided, torch.tensor([[[[2.0, 0.0], [2.0, 0.0]]]]))
    assert type(model.features.relu1).forward is nn.ReLU.forward and "forward" not in vars(model.features.relu1)


def test_pick_channels_are_distinct_and_class_selective():
    acts = torch.rand(200, 16)
    labels = torch.arange(200) % 10
    acts[labels == 3, 7] += 5  # channel 7 fires for class 3
    acts[labels == 5, 2] += 1.0  # channel 2 fires a little for class 5 ...
    acts[:8, 2] += 50  # ... but its largest values are a few images of every class: a large mean ratio, impure top
    chosen = pick_channels(acts, labels, 10)
    assert len(set(chosen)) == 10 and chosen[3] == 7
    assert class_share(acts, labels, 3)[7] == 1.0  # the label is true: its top 20 are all of class 3
    top20 = acts[:, chosen[5]].argsort(descending=True)[:20]
    assert chosen[5] == 2 or (labels[top20] == 5).float().mean() >= class_share(acts, labels, 5)[2]


class Lit(nn.Module):
    """Channel k is the brightness of pixel (2k, 2k), an image of class k the one that lights it."""

    def __init__(self):
        super().__init__()
        conv = nn.Conv2d(1, 10, 28, bias=False)  # one position: the whole image
        with torch.no_grad():
            conv.weight.zero_()
            for k in range(10):
                conv.weight[k, 0, 2 * k, 2 * k] = 1.0
        self.features = nn.Sequential(OrderedDict(conv=conv, relu=nn.ReLU()))


def lit(labels: torch.Tensor) -> torch.Tensor:
    x = torch.full((len(labels), 1, 28, 28), -1.0)
    for i, k in enumerate(labels.tolist()):
        x[i, 0, 2 * k, 2 * k] = 1.0
    return x


def test_guided_channels_are_chosen_on_one_split_and_described_on_another():
    labels = torch.arange(300) % 10
    x = lit(labels)
    found = guided_channels(Lit(), "relu", (x, labels), (x, labels), CPU, 10, 5)
    assert [r["channel"] for r in found["rows"]] == list(range(10))       # channel k for class k
    assert all(r["share"] == r["chosen_share"] == 1.0 for r in found["rows"])
    assert all(r["region"] == "outline" for r in found["rows"])          # a lit pixel amid the background
    assert [r["quadrant"] for r in found["rows"]] == ["upper left"] * 7 + ["lower right"] * 3  # pixel (2k, 2k)
    assert found["random_share"] == 0.1 and found["median_best_share"] == 1.0
    r = found["rows"][3]
    assert r["maps"][:, 6, 6].tolist() == [1.0] * 5 and np.abs(r["maps"]).sum() == 5  # d x[6,6] / d pixel
    words = guided_words(found, "relu", "A", "B")
    assert "in 10 of them over half of the 20 most exciting images are of that class (median 100 %, against 100 %" \
        in words and "all 10 favour the garment's outline" in words
    assert "The lines they trace (each row's label): 9 no single edge direction, 1 diagonal edges (/)." in words
    # one lit pixel: no direction (but in the image's corner)
    assert "10 of them put over 60 % of it in one quarter of the image (channel 0: upper left" in words
    # the control network: the same one gives the same regions; one that reads other pixels, other regions
    same = guided_channels(Lit(), "relu", (x, labels), (x, labels), CPU, 10, 5, control=Lit())
    assert "10 of the 10 channels' maps of the same images favour the same region: where the maps fall is the " \
        "images' doing" in guided_words(same, "relu", "A", "B")
    other = Lit()
    with torch.no_grad():
        other.features.conv.weight.copy_(other.features.conv.weight.flip(-1))  # channel k reads pixel (2k, 27 - 2k)
        other.features.conv.weight[:, 0, :, :] += 0.001  # and a little of every pixel, so it is never silent
    moved_control = guided_channels(Lit(), "relu", (x, labels), (x, labels), CPU, 10, 5, control=other)
    assert all(r["control_region"] != r["region"] for r in moved_control["rows"])
    assert "0 of the 10 channels' maps of the same images favour the same region: where the maps fall is the " \
        "training's; 9 of 10 trace lines in the same direction" in guided_words(moved_control, "relu", "A", "B")
    # described on images whose labels name the next class: the choice still looks perfect, the description not
    moved = guided_channels(Lit(), "relu", (x, labels), (x, (labels + 1) % 10), CPU, 10, 5)
    assert all(r["chosen_share"] == 1.0 and r["share"] == 0.0 for r in moved["rows"])
    words = guided_words(moved, "relu", "A", "B")
    assert "in 0 of them over half" in words and "(median 0 %, against 100 % on the images they were chosen on" in words


def test_the_lines_guided_maps_trace_are_read_beside_the_re_drawn_network_s():
    from fmnist.core.guided import traced
    vertical, horizontal = torch.zeros(2, 12, 12), torch.zeros(2, 12, 12)
    vertical[:, :, 5], horizontal[:, 7, :] = 1.0, 1.0
    assert (traced(vertical), traced(horizontal)) == ("vertical edges", "horizontal edges")
    assert traced(-vertical) == "no single edge direction"  # only the part that raises the channel counts
    rows = [{"channel": c, "picked_for": "Trouser", "share": 0.9, "chosen_share": 0.9, "region": "outline",
             "edges": "vertical edges", "control_region": "outline", "control_edges": edges}
            for c, edges in enumerate(["horizontal edges"] * 7 + ["vertical edges"] * 3)]
    found = {"rows": rows, "channels_in_stage": 64, "median_best_share": 0.4, "random_share": 0.1}
    words = guided_words(found, "relu", "A", "B")
    assert "The lines they trace (each row's label): 10 vertical edges." in words
    assert "; 3 of 10 trace lines in the same direction, so the direction is what training adds." in words
    for r in rows:
        r["control_edges"] = "vertical edges"
    assert "10 of 10 trace lines in the same direction, so the direction is the images' too." in guided_words(
        found, "relu", "A", "B")


def test_roc_auc_agrees_with_sklearn():
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(300) % 10
    logits = torch.randn(300, 10, generator=gen) + 2 * nn.functional.one_hot(y, 10)
    result = diagnostics.roc(y, logits)
    probs = logits.softmax(1).numpy()
    for k, name in enumerate(data.CLASSES):
        assert result["classes"][name]["auc"] == pytest.approx(roc_auc_score((y == k).numpy(), probs[:, k]))
    assert result["macro_auc"] == pytest.approx(roc_auc_score(y.numpy(), probs, multi_class="ovr", average="macro"))


def test_the_roc_chance_line_is_the_diagonal_on_the_symlog_axis():
    from fmnist.core import plotting
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(300) % 10
    fig = plotting.roc_figure({"net": diagnostics.roc(y, torch.randn(300, 10, generator=gen))}, data.CLASSES)
    ax = fig.axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("chance")]
    x, tpr = line.get_xdata(), line.get_ydata()
    assert list(x) == list(tpr) and 0.5 in x and len(x) >= 100
    fig.canvas.draw()  # on the page, the point drawn at (0.5, 0.5) in data coordinates lies on the line
    shown = ax.transData.transform(list(zip(x, tpr)))
    at = ax.transData.transform((0.5, 0.5))
    i = int(abs(x - 0.5).argmin())
    assert abs(shown[i] - at).max() < 1e-6
    # between vertices the line is straight on the page: its midpoints, read back, stay on tpr = fpr
    # (two vertices, (0, 0) and (1, 1), would put the midpoint at fpr 0.1, tpr 0.5)
    back = ax.transData.inverted().transform((shown[1:] + shown[:-1]) / 2)
    assert abs(back[:, 0] - back[:, 1]).max() < 0.01


@pytest.fixture(scope="module")
def small_ffn():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 28, 28) * 2 - 1
    y = torch.arange(64) % 10
    model = FF_Net().eval()
    with torch.no_grad():  # make it right on about half the images so that there is something to fool
        model.classifier.bias.zero_()
    return model, x, y


def test_zero_pixels_changed_gives_the_clean_accuracy(small_ffn):
    model, x, y = small_ffn
    clean = (predict(model, x, CPU).argmax(1) == y).float().mean().item()
    assert random_pixels(model, x, y, [0, 10], draws=2, seed=0, device=CPU)[0] == pytest.approx(clean)
    assert greedy(model, x, y, steps=3, device=CPU)["accuracy"][0] == pytest.approx(clean)


def test_greedy_attack_loss_never_decreases_and_changes_one_pixel_a_step(small_ffn):
    model, x, y = small_ffn
    result = greedy(model, x, y, steps=15, device=CPU)
    assert (result["losses"][1:] >= result["losses"][:-1]).all()
    assert all(a >= b for a, b in zip(result["accuracy"], result["accuracy"][1:]))
    changed = (result["images"] != x).flatten(1).sum(1)
    assert torch.equal(changed, result["pixels_changed"]) and changed.max() <= 15
    assert result["images"].min() >= -1 and result["images"].max() <= 1
    fooled = result["fooled_at"] > 0
    assert (predict(model, result["images"][fooled], CPU).argmax(1) != y[fooled]).all()


def test_stratified_subset_takes_the_same_number_of_each_class():
    y = torch.arange(1000) % 10
    idx = sections.stratified(y, 7, seed=0)
    assert torch.equal(torch.bincount(y[idx]), torch.full((10,), 7))


@pytest.fixture(scope="module")
def analysed(_pristine, tmp_path_factory):
    """A complete --quick analysis of the synthetic run, made once for this module (read only)."""
    data_dir, run = _pristine
    out = Path(shutil.copytree(run, tmp_path_factory.mktemp("analysed") / "out"))
    assert analyze.main(["--quick", "--out-dir", str(out), "--data-dir", str(data_dir)]) == 0
    return out, data_dir


@pytest.mark.slow
def test_quick_analysis_end_to_end_on_synthetic_data(analysed):
    out, data_dir = analysed
    x, y = data.load_test(data_dir, download=False)
    results = json.loads((out / "analysis.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    for key, make in (("ffn", FF_Net), ("cnn", Conv_Net)):
        with open(out / f"predictions_{key}.csv", newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == ["id", "label"] and len(rows) == len(y) + 1
        model = make()
        model.load_state_dict(torch.load(out / f"{key}.pth", weights_only=True))
        logits = predict(model, x, CPU)
        pred = logits.argmax(1)
        own, cm = (
            logits[torch.arange(len(y)), y],
            results["class_models"][key],
        )  # each class's best test image, read back
        assert cm["best_test_logit"] == pytest.approx([float(own[y == k].max()) for k in range(10)], abs=1e-4)
        assert [int(y[i]) for i in cm["best_test_index"]] == list(range(10))
        assert [int(r[1]) for r in rows[1:]] == pred.tolist() and [int(r[0]) for r in rows[1:]] == list(range(len(y)))
        accuracy = (pred == y).float().mean().item()
        assert accuracy == pytest.approx(metrics["networks"][key]["test"]["accuracy"])
        assert results["networks"][key]["accuracy"] == pytest.approx(accuracy)
    stems = {p.stem for p in (out / "analysis").glob("*.png")}
    assert stems == {
        "ffn_layers",
        "cnn_layers",
        "cnn_guided_backprop",
        "cnn_class_feature_maps",
        "ffn_right_wrong",
        "cnn_right_wrong",
        "roc",
        "tsne",
        "fooling",
        "robustness",
        "class_models",
        "class_models_2",
        "class_images_from_noise",
        "class_images_from_noise_2",
        "class_averaged_gradients",
        "channel_visualisations",
        "saliency",
        "sanity_check",
        "sanity_cascade",
        "sanity_randomisation",
        "targeted_fooling",
        "cnn_guided_backprop_2",
        "cnn_class_feature_maps_2",
        "channel_visualisations_2",
        "targeted_fooling_2",
        "ffn_templates",
        "explain",
        "explain_2",
    }  # two pages each: one
    # a network (class models), or too big for one page
    for key in ("ffn", "cnn"):  # the fooling sizes are the norms of the changes the page shows
        t = results["targeted"][key]
        reached = [l2 for l2, ok in zip(t["l2"], t["reached"]) if ok]
        if reached:
            assert t["median_l2"] == pytest.approx(float(np.median(reached)))  # the mean of the middle two when even
    assert len(results["class_models"]["cnn"]["probability"]) == 10
    acc = results["robustness"]["accuracy"]  # PGD starts from the FGSM image: never above it
    assert all(p <= f + 1e-9 for k in acc["PGD"] for p, f in zip(acc["PGD"][k], acc["FGSM"][k]))
    half = len(y) // 2  # guided channels: chosen on the first half of the test set, described on the second
    assert all(i >= half for c in results["guided"]["channels"] for i in c["indices"])
    assert all(max(v["background_share"]["IG from black"]) < 0.05 for k, v in results["explain"].items()
               if k in ("ffn", "cnn"))
    cascade = results["cascade"]["cnn"]  # one layer more re-drawn a step, from the logits down
    assert cascade["layers"] == ["fc", "fc1", "conv3", "conv2", "conv1"] and 1 <= cascade["images"] <= 10  # right ones
    assert all(len(v) == 5 and all(-1 <= c <= 1 for c in v) for v in cascade["correlation"].values())
    alone = results["randomisation"]["cnn"]  # one layer re-drawn a copy, in forward order; then shuffled labels
    assert alone["layers"] == ["conv1", "conv2", "conv3", "fc1", "fc"] and alone["images"] == cascade["images"]
    assert all(len(v) == 5 for v in alone["independent"]["correlation"].values())
    assert set(alone["labels"]["correlation"]) == set(cascade["correlation"]) and alone["labels"]["images"] == 50
    assert (out / "analysis.pdf").read_bytes()[:4] == b"%PDF" and not list(out.glob(".staging*"))
    from test_provenance import check_record
    check_record(results["provenance"], data_dir)
    assert results["weights_sha256"] == {k: metrics["networks"][k]["weights_sha256"] for k in ("ffn", "cnn")}


@pytest.mark.slow
def test_a_failed_analysis_leaves_the_previous_one_untouched(analysed, tmp_path, monkeypatch):
    out, data_dir = Path(shutil.copytree(analysed[0], tmp_path / "out")), analysed[1]
    before = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}

    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(sections, "fooling_part", interrupted)
    assert analyze.main(["--quick", "--out-dir", str(out), "--data-dir", str(data_dir)]) == 130
    after = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == before


@pytest.mark.parametrize("argv", [["--device", "tpu"], ["--fast"], ["--quick", "yes"]])
def test_bad_flags_exit_2_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as info:
        analyze.parse_args(argv)
    assert info.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


def test_missing_or_foreign_checkpoint_gets_one_line_and_exit_1(earlier_run, data_dir, capsys):
    out, _ = earlier_run
    (out / "cnn.pth").write_bytes((out / "ffn.pth").read_bytes())
    assert analyze.main(["--quick", "--out-dir", str(out), "--data-dir", str(data_dir)]) == 1
    assert "weights of another network" in capsys.readouterr().err
    (out / "ffn.pth").unlink()
    assert analyze.main(["--quick", "--out-dir", str(out), "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "run python fashionmnist.py first" in err
    assert not (out / "analysis.pdf").exists()


class _Small(nn.Module):
    """A small smooth network with `features` and `classifier`, as the sanity check expects."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Flatten())
        self.classifier = nn.Sequential(nn.Linear(4 * 8 * 8, 16), nn.Tanh(), nn.Linear(16, 3))

    def forward(self, x):
        return self.classifier(self.features(x))


def test_integrated_gradients_are_complete():
    from fmnist.analysis.attribution import integrated_gradients
    torch.manual_seed(0)
    net, x, c = _Small(), torch.rand(5, 1, 8, 8) * 2 - 1, torch.tensor([0, 1, 2, 0, 1])
    ig = integrated_gradients(net, x, c, baseline=-1.0, steps=256)
    with torch.no_grad():
        gap = net(x)[torch.arange(5), c] - net(torch.full_like(x, -1.0))[torch.arange(5), c]
    assert torch.allclose(ig.sum((1, 2, 3)), gap, atol=1e-3)
    from fmnist.analysis.attribution import blurred
    soft = blurred(x, 2.0)  # an image per input: completeness holds against it too
    ig = integrated_gradients(net, x, c, baseline=soft, steps=256)
    with torch.no_grad():
        gap = net(x)[torch.arange(5), c] - net(soft)[torch.arange(5), c]
    assert torch.allclose(ig.sum((1, 2, 3)), gap, atol=1e-3)
    assert torch.allclose(soft.mean((2, 3)), x.mean((2, 3)), atol=0.05) and soft.std() < x.std()


def test_smoothgrad_without_noise_is_the_gradient():
    from fmnist.analysis.attribution import logit_gradient, smoothgrad
    torch.manual_seed(1)
    net, x, c = _Small(), torch.rand(3, 1, 8, 8), torch.tensor([2, 0, 1])
    assert torch.allclose(smoothgrad(net, x, c, sigma=0.0, samples=3), logit_gradient(net, x, c), atol=1e-7)
    assert not torch.allclose(smoothgrad(net, x, c, sigma=0.5, samples=3), logit_gradient(net, x, c), atol=1e-4)


def test_smoothgrad_in_stacked_passes_is_the_mean_of_its_noisy_gradients(monkeypatch):
    from fmnist.analysis import attribution
    torch.manual_seed(3)
    net, x, c = _Small(), torch.rand(3, 1, 8, 8), torch.tensor([2, 0, 1])
    monkeypatch.setattr(attribution, "STACK", 6)  # two copies of the batch a pass: 5 samples in passes of 2, 2, 1
    got = attribution.smoothgrad(net, x, c, sigma=0.3, samples=5, seed=7)
    gen = torch.Generator().manual_seed(7)
    noise = torch.cat([torch.randn((k, *x.shape), generator=gen) for k in (2, 2, 1)])  # as the passes draw it
    by_hand = torch.stack([attribution.logit_gradient(net, x + 0.3 * n, c) for n in noise]).mean(0)
    assert torch.allclose(got, by_hand, atol=1e-6)
    assert got.shape == x.shape and not torch.allclose(got, attribution.logit_gradient(net, x, c), atol=1e-4)


def test_the_cascade_redraws_one_more_layer_at_a_time_from_the_top():
    from cnn import Conv_Net
    from fmnist.analysis.attribution import cascade, layer_groups
    torch.manual_seed(0)
    net = Conv_Net().eval()
    assert [name for name, _ in layer_groups(net)] == ["conv1", "conv2", "conv3", "fc1", "fc"]  # each bn with its layer
    steps = cascade(net, seed=0)
    assert [name for name, _ in steps] == ["fc", "fc1", "conv3", "conv2", "conv1"]
    before = dict(net.named_parameters())
    for k, (_name, copy_) in enumerate(steps, start=1):
        changed = {n.split(".")[1] for n, p in copy_.named_parameters() if not torch.equal(p, before[n])}
        drawn = {"fc": {"fc"}, "fc1": {"fc1", "bn_fc1"}, "conv3": {"conv3", "bn3"}, "conv2": {"conv2", "bn2"},
                 "conv1": {"conv1", "bn1"}}
        # batch norm's reset sets its scale to 1 and shift to 0: a scale already 1 shows no change
        assert changed <= set().union(*(drawn[name] for name, _ in steps[:k]))
        assert {"fc", "fc1", "conv3", "conv2", "conv1"}.intersection(changed) == {name for name, _ in steps[:k]}
    from fmnist.analysis.attribution import redrawn
    whole, last = redrawn(net, seed=0).state_dict(), steps[-1][1].state_dict()  # the cascade's last step, directly
    assert whole.keys() == last.keys() and all(torch.equal(whole[k], last[k]) for k in whole)


def test_the_cascade_sentence_follows_the_correlations_both_ways():
    from fmnist.analysis.randomisation import cascade_words
    numbers = {"CNN": {"images": 100, "layers": ["fc", "fc1", "conv1"],
                       "correlation": {"gradient": [0.2, 0.1, 0.0], "guided backprop": [0.9, 0.7, 0.3],
                                       "integrated gradients": [0.8, 0.7, 0.6]}}}
    words = cascade_words(numbers)
    assert "gradient (0.00) and guided backprop (0.30) lose the trained map's ranking" in words
    assert "integrated gradients (0.60) keeps rank correlation 0.5 or more with a network of random weights" in words
    assert ("guided backprop keeps 0.5 or more with the layers down to fc1 re-drawn and falls below once conv1 is "
            "re-drawn too") in words  # 0.7 with fc and fc1 re-drawn, 0.3 once conv1 is
    numbers["CNN"]["correlation"] = {"gradient": [0.2, 0.1, 0.0]}
    assert "no method" not in cascade_words(numbers) and "keeps" not in cascade_words(numbers)
    assert "SSIM" not in words  # a record without it says nothing of it
    numbers["CNN"]["ssim"] = {"gradient": [0.4, 0.3, 0.12], "guided backprop": [0.9, 0.8, 0.71]}
    said = cascade_words(numbers).split("SSIM of the maps scaled to [0, 1] with ")[1]
    assert said == "every layer re-drawn (1: the same structure; lower row of the figure): CNN gradient 0.12, " \
        "guided backprop 0.71."


def test_ssim_is_one_for_a_map_against_itself_and_matches_the_formula_on_one_window():
    from fmnist.analysis.attribution import ssim
    torch.manual_seed(0)
    a = torch.rand(3, 1, 28, 28)
    assert np.allclose(ssim(a, a), 1.0) and np.allclose(ssim(a, -a), 1.0)  # |map|: the sign is not structure
    assert np.allclose(ssim(a, 5 * a), 1.0)  # each map scaled by its own largest: the scale is not structure
    # one 7 x 7 window: the index is Wang et al.'s formula on the maps' whole statistics (sample covariance)
    p, q = torch.rand(1, 1, 7, 7), torch.rand(1, 1, 7, 7)
    x, y = (m.double().flatten().numpy() for m in (p, q))
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    cov = np.cov(x, y)  # ddof 1
    by_hand = ((2 * x.mean() * y.mean() + c1) * (2 * cov[0, 1] + c2)
               / ((x.mean() ** 2 + y.mean() ** 2 + c1) * (cov[0, 0] + cov[1, 1] + c2)))
    assert np.isclose(ssim(p, q, scaled=False)[0], by_hand)
    # a map against a constant one: no shared structure, only the luminance term's share
    flat = torch.ones(1, 1, 7, 7)
    assert np.isclose(ssim(flat, torch.zeros(1, 1, 7, 7), scaled=False)[0], c1 / (1 + c1))


def test_independent_randomisation_redraws_exactly_one_layer_a_copy():
    from cnn import Conv_Net
    from fmnist.analysis.attribution import independent
    torch.manual_seed(0)
    net = Conv_Net().eval()
    with torch.no_grad():  # a trained-looking batch norm (scale 1, shift 0 would look re-drawn)
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
                m.weight.fill_(2.0)
                m.bias.fill_(0.5)
    steps = independent(net, seed=100)  # not the seed the network was drawn with: every layer changes
    assert [name for name, _ in steps] == ["conv1", "conv2", "conv3", "fc1", "fc"]  # forward order
    drawn = {"conv1": {"conv1", "bn1"}, "conv2": {"conv2", "bn2"}, "conv3": {"conv3", "bn3"}, "fc1": {"fc1", "bn_fc1"},
             "fc": {"fc"}}
    before = dict(net.named_parameters())
    for name, copy_ in steps:
        changed = {n.split(".")[1] for n, p in copy_.named_parameters() if not torch.equal(p, before[n])}
        assert changed == drawn[name], name  # that layer (and its batch norm), every other as trained
        assert not copy_.training


def test_the_randomisation_sentence_follows_the_correlations_both_ways():
    from fmnist.analysis.randomisation import randomisation_words
    n = {"images": 100, "layers": ["fc1", "fc2", "classifier"],
         "independent": {"correlation": {"gradient": [0.9, 0.3, 0.8], "SmoothGrad": [0.7, 0.6, 0.9]}},
         "labels": {"images": 1000, "epochs": 40, "memorised": 0.99, "true_labels": 0.11, "labels_kept": 0.1,
                    "correlation": {"gradient": 0.1, "SmoothGrad": 0.8}}}
    words = randomisation_words({"FFN": n})
    assert "gradient falls below 0.5 for at least one layer (lowest: gradient 0.30 at fc2)" in words
    assert "gradient keeps 0.5 or more when only one of fc1 and classifier is re-drawn, so it reads those" in words
    assert "SmoothGrad stays at 0.5 or more whichever layer is re-drawn" in words
    assert ("99 % of them memorised, 11 % agreeing with the true labels, which the shuffle left in place for 10 %"
            in words)
    assert "gradient (0.10) loses the trained map's ranking; SmoothGrad (0.80) keeps 0.5 or more, so it" in words
    n["independent"]["correlation"] = {"gradient": [0.1, 0.2, 0.3], "SmoothGrad": [0.7, 0.2, 0.9]}
    n["labels"]["correlation"] = {"gradient": 0.6, "SmoothGrad": 0.7}
    words = randomisation_words({"FFN": n})
    assert "every method falls below 0.5" in words and "stays" not in words and "gradient keeps" not in words
    assert "SmoothGrad keeps 0.5 or more when only one of fc1 and classifier" in words
    assert "no method loses the trained map's ranking; gradient (0.60) and SmoothGrad (0.70) keep" in words
    assert "so they show" in words
    n["labels"]["correlation"] = {"gradient": 0.1, "SmoothGrad": 0.2}
    assert "every method loses the trained map's ranking (gradient 0.10, SmoothGrad 0.20)." in randomisation_words(
        {"FFN": n})


def test_a_network_trained_on_shuffled_labels_memorises_them_and_not_the_true_ones():
    from fmnist.analysis.randomisation import shuffled_labels
    torch.manual_seed(0)
    x = torch.rand(200, 1, 28, 28) * 2 - 1
    y = torch.arange(200) % 10
    x[torch.arange(200), 0, 0, y] = 5.0  # the true class is written into the image: easy to learn
    model, about = shuffled_labels("ffn", (x, y), per_class=10, epochs=30, seed=0, device=torch.device("cpu"))
    assert about["images"] == 100 and about["memorised"] >= 0.9  # it fits the shuffled labels
    assert about["true_labels"] <= about["labels_kept"] + 0.1  # and agrees with the true ones only where they coincide
    assert not model.training


def test_occlusion_of_a_linear_model_is_weight_times_input_minus_fill_per_patch():
    from fmnist.analysis.attribution import occlusion
    torch.manual_seed(2)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    x, c = torch.rand(2, 1, 8, 8), torch.tensor([1, 2])
    got = occlusion(linear, x, c, patch=4, fill=-1.0)
    w = linear[1].weight.detach()[c].view(2, 1, 8, 8)
    contribution = w * (x + 1.0)  # weight x (input - fill)
    for i in (0, 4):
        for j in (0, 4):
            expected = contribution[:, :, i:i + 4, j:j + 4].sum((1, 2, 3))
            assert torch.allclose(got[:, 0, i, j], expected, atol=1e-5)
            assert torch.allclose(got[:, :, i:i + 4, j:j + 4], expected.view(2, 1, 1, 1).expand(2, 1, 4, 4), atol=1e-5)
    # squares of 4 every 2 pixels overlap: a pixel gets the mean fall of the squares that cover it
    slid = occlusion(linear, x, c, patch=4, fill=-1.0, stride=2)
    falls = {(i, j): contribution[:, :, i:i + 4, j:j + 4].sum((1, 2, 3)) for i in (0, 2, 4) for j in (0, 2, 4)}
    for (r, q) in ((0, 0), (3, 5), (7, 7), (4, 2)):
        covering = [f for (i, j), f in falls.items() if i <= r < i + 4 and j <= q < j + 4]
        assert torch.allclose(slid[:, 0, r, q], torch.stack(covering).mean(0), atol=1e-5)


def test_the_randomisation_check_drops_the_correlation_of_weight_dependent_maps():
    from fmnist.analysis.attribution import logit_gradient, randomised_top, rank_correlation
    torch.manual_seed(3)
    net, x, c = _Small(), torch.rand(6, 1, 8, 8) * 2 - 1, torch.zeros(6, dtype=torch.long)
    same = rank_correlation(logit_gradient(net, x, c), logit_gradient(net, x, c))
    assert same == pytest.approx([1.0] * 6)
    a, b = torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)  # equal zeros outside a window, unrelated inside it
    a[0, 0, :2, :2], b[0, 0, :2, :2] = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[4.0, 3.0], [2.0, 1.0]])
    window = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    window[0, 0, :2, :2] = True
    assert rank_correlation(a, b)[0] > 0.3 and rank_correlation(a, b, window)[0] == pytest.approx(-1.0)
    assert rank_correlation(a, -b, window, signed=True)[0] == pytest.approx(1.0)
    redrawn = randomised_top(net, seed=7)
    assert not torch.equal(redrawn.classifier[0].weight, net.classifier[0].weight)
    assert torch.equal(redrawn.features[0].weight, net.features[0].weight)  # only the top layers change
    moved = rank_correlation(logit_gradient(net, x, c), logit_gradient(redrawn, x, c))
    assert max(moved) < 0.9


def test_the_sanity_sentence_follows_the_correlations_both_ways():
    words = saliency.sanity_words({"CNN": {"gradient": [0.1, 0.2], "guided backprop": [0.9, 0.8]}}, {"CNN": 2e-4})
    assert words.startswith("CNN: gradient (0.15) changes with the weights; guided backprop (0.85) keeps rank "
                            "correlation 0.5 or more, so it shows the image more than what the network learned.")
    assert words.endswith("(its attributions against logit(x) - logit(black)): CNN 0.0 %.")
    shared = saliency.sanity_words({"CNN": {"gradient": [0.1]}}, {"CNN": 0.0}, {"CNN": 0.81}, {"CNN": 0.42})
    assert "Re-drawn: the classifier layers, 81.0 % of the CNN's parameters" in shared
    assert "SmoothGrad against itself with other noise draws (the same weights): CNN 0.42" in shared
    flipped = saliency.sanity_words({"FFN": {"gradient": [0.7, 0.9], "guided backprop": [0.1, 0.3]}}, {"FFN": 1e-3})
    assert "FFN: guided backprop (0.20) changes with the weights; gradient (0.80) keeps" in flipped
    none = saliency.sanity_words({"FFN": {"gradient": [0.7], "occlusion": [0.6]}}, {"FFN": 0.0})
    assert "no map changes much with the weights; gradient (0.70) and occlusion (0.60) keep" in none


# Every page's sentence, on made-up numbers both ways.

def test_the_class_model_sentence_names_low_probabilities_and_fooling_images():
    names = ["A", "B", "C"]
    near = optimised.class_model_words("CNN", names, [0.95, 0.99, 0.97], [3.0, 4.0, 5.0], [10.0, 10.0, 10.0], 0.9, 95,
                                      [0.95, 0.2, 0.3], ("FFN", [0.95, 0.5, 0.99]))
    assert near == ("All 3 of the CNN's class models are their class with probability 0.9 or more (lowest A, 0.95), "
                    "where 1 class mean already was before any change (A); all stay within the distance from their "
                    "class mean that 95 % of the class's test images keep; the FFN gives 2 of the 3 their class with "
                    "probability 0.9 or more too.")
    far = optimised.class_model_words("FFN", names, [1.0, 0.5, 0.99], [30.0, 4.0, 5.0], [10.0, 10.0, 10.0], 0.9, 95,
                                     [0.1, 0.2, 0.3])
    assert far.startswith("2 of the FFN's 3 class models reach probability 0.9 (B does not), where no class mean was")
    assert "A lies farther from its class mean than 95 % of the class's test images: fooling images" in far
    assert "the other 2 stay near the data" in far and "too" not in far


def test_the_channel_sentence_counts_short_and_capped_climbs():
    row = lambda stage, reached, best, steps: {"stage": stage, "channel": 1, "reached": reached, "best": best,  # noqa: E731
                                               "strength": 3.0, "steps": steps}
    good = optimised.channel_words([row("relu1", 2.0, 1.0, 40), row("relu2", 5.0, 4.0, 90)], 500)
    assert good.startswith("2 of 2 optimised images drive") and "median prior strength of 3" in good
    assert "(up to 2.0 times as high)" in good and "stopped rising before the step cap" in good
    bad = optimised.channel_words([row("relu1", 0.5, 1.0, 500), row("relu2", 5.0, 4.0, 500)], 500)
    assert "1 of 2" in bad and ", relu1 ch 1 falls short" in bad and "(up to 1.2 times as high)" in bad
    assert "2 of 2 climbs stopped at the 500-step cap, still rising (1 at relu1 and 1 at relu2)" in bad


def test_the_layer_sentence_says_where_neurons_and_parameters_sit():
    cnn = sections.layers_words("CNN", layer_table(Conv_Net()))
    assert cnn.startswith("The CNN has 276,914 parameters and 33,194 neurons; its convolutions hold 99 % of the "
                          "neurons "
                          "and 19 % of the parameters, its fully connected layers 1 % and 81 %.")
    ffn = sections.layers_words("FFN", layer_table(FF_Net()))
    assert ffn.startswith("The FFN has ") and "holds" in ffn and "convolutions" not in ffn


def test_the_small_page_sentences_follow_their_numbers():
    ex = lambda t, p, c: {"true": t, "pred": p, "true_name": f"c{t}", "pred_name": f"c{p}", "confidence": c}  # noqa: E731
    rw = sections.right_wrong_words(
        "CNN", [ex(1, 1, 0.9), ex(2, 2, 0.6), ex(6, 0, 0.99), ex(6, 0, 0.95), ex(4, 2, 0.9)]
    )
    assert rw == ("The CNN's 2 random correct predictions (confidence 60-90 %) and its 3 most confident mistakes, at "
                  "90-99 %; 2 of them c6 taken for c0.")
    up = sections.feature_map_words([[24, 14, 14], [96, 3, 3]], [0.4, 0.6])
    down = sections.feature_map_words([[24, 14, 14], [96, 3, 3]], [0.6, 0.4])
    assert "more of their values are zero (40 % to 60 %" in up and "sparser maps" in up
    assert "fewer of their values are zero (60 % to 40 %" in down and "denser maps" in down
    roc = {"FFN": {"macro_auc": 0.99, "auc": {"Shirt": 0.95, "Bag": 0.999}}, "CNN": {"macro_auc": 0.995, "auc": {
        "Shirt": 0.97, "Bag": 0.9}}}
    assert sections.roc_words(roc) == ("FFN macro AUC 0.9900, weakest Shirt (0.9500); CNN macro AUC 0.9950, weakest "
                                       "Bag "
                                       "(0.9000): the CNN's macro AUC is the higher, and its AUC is higher for 1 of "
                                       "the 2 classes.")
    roc["FFN"]["macro_auc"] = 0.999
    assert sections.roc_words(roc).endswith("the FFN's macro AUC is the higher, and its AUC is higher for 1 of the 2 "
                                            "classes.")
    sal = saliency.saliency_words({"FFN": {"saliency_on_garment": [0.7, 0.8, 0.9], "garment_area": [0.5, 0.4, 0.5]},
                                   "CNN": {"saliency_on_garment": [0.2, 0.3, 0.4], "garment_area": [0.5, 0.6, 0.5]}})
    assert "over the first 3 test images" in sal
    assert (
        "FFN 80 % on the garment, which covers 50 % of the pixels: a median 1.80 times its share, 95 % interval" in sal
    )
    assert (
        "(more on the garment than on the background)" in sal and "(less on the garment than on the background)" in sal
    )
    assert "CNN 30 % on the garment, which covers 50 % of the pixels: a median 0.50 times its share" in sal
    even = saliency.saliency_words({"FFN": {"saliency_on_garment": [0.4, 0.6, 0.5, 0.55], "garment_area": [0.5] * 4}})
    assert "(no difference detected between garment and background)" in even
    fool = sections.fooling_words(
        [0, 250],
        {"FFN": [0.9, 0.5], "CNN": [0.9, 0.2]},
        {"FFN": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.0], "CNN": [0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.3]},
    )
    assert "FFN 90.0 % -> 40.0 % with 5 and 0 % at 6" in fool and "CNN 90.0 % -> 45.0 % with 5 and 30.0 % at 6" in fool
    assert fool.endswith("250 random pixels leave FFN 50.0 %, CNN 20.0 %.")


def test_the_robustness_sentence_names_the_network_that_holds_more():
    eps = [0, 0.01, 0.05, 0.1]
    curves = {"FGSM": {"FFN": [0.9, 0.8, 0.5, 0.3], "CNN": [0.95, 0.9, 0.6, 0.4]},
              "PGD": {"FFN": [0.9, 0.7, 0.3, 0.1], "CNN": [0.95, 0.8, 0.4, 0.2]}}
    words = sections.fooling.robustness_words(eps, curves)
    assert words.startswith("A change of at most 0.05 of the pixel range")  # the first size below half of clean
    assert (
        "PGD leaves the FFN 30.0 %, the CNN 40.0 %" in words and "the CNN holds more under PGD at 3 of 3 sizes" in words
    )
    assert "under FGSM" not in words  # both attacks agree
    curves["PGD"]["FFN"], curves["PGD"]["CNN"] = curves["PGD"]["CNN"], curves["PGD"]["FFN"]
    flipped = sections.fooling.robustness_words(eps, curves)
    assert ("the FFN holds more under PGD at 3 of 3 sizes, though under FGSM the CNN holds more at 3: one step "
            "overstates the CNN's robustness") in flipped


def test_templates_find_a_planted_class_mean_and_read_a_fresh_layer_as_noise():
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(300) % 10
    x = torch.rand(300, 784, generator=gen) * 2 - 1
    x[:, :10] += torch.nn.functional.one_hot(y, 10) * 3  # class k lights pixel k
    xs, ys = x.numpy(), y.numpy()
    planted = np.stack([xs[ys == k].mean(0) - xs.mean(0) for k in range(10)])
    classes, corr = templates.class_likeness(planted, xs, ys)
    assert classes.tolist() == list(range(10)) and np.allclose(corr, 1, atol=1e-5)
    noise = np.random.default_rng(0).normal(size=(400, 784))
    noise_classes, noise_corr = templates.class_likeness(noise, xs, ys)
    fresh = {"smoothness": 0.0, "classes": noise_classes.tolist(), "correlation": noise_corr.tolist()}
    trained = {"smoothness": 0.6, "classes": classes.tolist() * 40, "correlation": [0.9] * 400}
    words = templates.templates_words({"units": 400, "trained": trained, "fresh": fresh})
    assert "correlate 0.60 (a fresh FF_Net: 0.00), smoother than noise; 400 units (100 %)" in words
    assert "most often T-shirt/top 40" in words
    same = templates.templates_words({"units": 400, "trained": fresh, "fresh": fresh})
    assert "about as smooth as noise" in same and ("20 units (5 %)" in same or "19 units (5 %)" in same)


def test_the_explanation_sentence_says_which_method_cannot_credit_the_background():
    def net(black: float, blurred: float) -> dict:
        return {"background_area": 0.5, "background_share": {"IG from black": [black] * 8,
                                                             "IG from blurred": [blurred] * 8},
                "completeness_error": {"IG from black": 0.002, "IG from blurred": 0.004}}
    words = saliency.explain_words({"FFN": net(0.0, 0.4), "CNN": net(0.003, 0.5)})
    assert "IG from black FFN 0 %, CNN 0 %; IG from blurred FFN 40 %, CNN 50 %." in words
    assert "IG from black credits the background next to nothing, by construction" in words
    assert words.endswith("within 0.4 % from either baseline.")
    other = saliency.explain_words({"FFN": net(0.2, 0.4), "CNN": net(0.3, 0.5)})
    assert "next to nothing" not in other and "IG from black FFN 20 %, CNN 30 %" in other
    assert "Right against wrong" not in other  # no record of which were right


def test_the_explanation_sentence_sets_wrong_predictions_beside_right_ones_both_ways():
    def net(right_share: float, wrong_share: float) -> dict:
        return {"background_area": 0.5, "right": [True] * 4 + [False] * 4,
                "background_share": {"IG from black": [0.0] * 8, "occlusion": [right_share] * 4 + [wrong_share] * 4},
                "completeness_error": {"IG from black": 0.002}}
    words = saliency.explain_words({"FFN": net(0.2, 0.4), "CNN": net(0.3, 0.25)})
    assert ("the wrong ones' maps put more on the background in 1 of the 2 network-method pairs (largest gap: FFN "
            "occlusion, 40 % wrong against 20 % right; 4 and 4 images, too few for an interval, so no verdict)"
            in words)
    words = saliency.explain_words({"FFN": net(0.4, 0.2), "CNN": net(0.3, 0.25)})
    assert "in 0 of the 2 network-method pairs (largest gap: FFN occlusion, 20 % wrong against 40 % right" in words


def test_the_synthesis_reads_each_kind_of_evidence_both_ways():
    from fmnist.analysis import synthesis
    even = {"saliency_on_garment": [0.5, 0.6, 0.4, 0.5], "garment_area": [0.5, 0.6, 0.4, 0.5]}
    more = {"saliency_on_garment": [0.6, 0.66, 0.63, 0.7], "garment_area": [0.5, 0.5, 0.5, 0.5]}
    words = synthesis.evidence({"ffn": more, "cnn": even})
    assert "above 1 for the FFN (median 1.29" in words and "not told apart from 1 for the CNN (median 1.00" in words
    assert "below 1 for the FFN" in synthesis.evidence({"ffn": {**more, "garment_area": [0.9] * 4}, "cnn": even})
    # the per-image ratios 1.2, 1.32, 1.26, 1.4 against 1: the median of .2, .26, .32, .4 is .29
    assert "FFN minus CNN, paired by image: median +0.29 (95 % CI" in words and "): the FFN's larger." in words
    assert "): the CNN's larger." in synthesis.evidence({"ffn": even, "cnn": more})
    assert "no difference detected." in synthesis.evidence({"ffn": even, "cnn": even})
    controlled = {**more, "redrawn_on_garment": [0.5, 0.5, 0.5, 0.5]}
    assert "with every layer re-drawn (the control): FFN 1.00" in synthesis.evidence({"ffn": controlled, "cnn": even})

    tsne = {"raw_pixels": {"features": 0.68}, "networks": {"ffn": {"features": 0.84}, "cnn": {"features": 0.6}}}
    words = synthesis.grouping(tsne)
    assert "84 % for the FFN and 60 % for the CNN share its class, against 68 % in the raw pixels" in words
    assert words.endswith(": the FFN groups the classes more than the pixels do; the CNN no more than the pixels.")
    assert synthesis.grouping({"raw_pixels": {"features": 0.68}}) == ""  # an analysis.json from before the shares

    robust = {"epsilons": [0, 0.05, 0.2], "accuracy": {"FGSM": {"FFN": [0.9, 0.5, 0.1], "CNN": [0.95, 0.6, 0.2]},
                                                       "PGD": {"FFN": [0.9, 0.3, 0.0], "CNN": [0.95, 0.4, 0.1]}}}
    assert synthesis.attacks(robust).endswith("the FFN 30.0 % and the CNN 40.0 % (under FGSM 50.0 % and 60.0 %; "
                                              "unchanged 90.0 % and 95.0 %): the CNN keeps the larger share under "
                                              "the stronger attack (one trained network each: these two networks, "
                                              "not a verdict on their architectures).")
    robust["accuracy"]["PGD"]["FFN"][1] = 0.5
    assert "the FFN keeps the larger share" in synthesis.attacks(robust)

    def targeted(low, high):
        return {"cnn": {"median_l2": 1.0}, "ffn": {"median_l2": 1.6},
                "l2_median_difference": {"mean": (low + high) / 2, "low": low, "high": high, "n": 100}}
    assert "the CNN is fooled into a chosen class by the smaller change" in synthesis.fooled(targeted(-0.6, -0.3))
    assert "the FFN is fooled into a chosen class by the smaller change" in synthesis.fooled(targeted(0.2, 0.5))
    assert "no difference detected" in synthesis.fooled(targeted(-0.2, 0.3))

    none = targeted(-0.6, -0.3)
    none["l2_median_difference"] = None  # fewer than 2 images fooled both networks
    assert "too few images fooled both networks" in synthesis.fooled(none)

    def checks(steps, alone, labels):
        cascade = {"layers": ["fc", "fc1", "conv1"],
                   "correlation": {"gradient": [0.3, 0.1, 0.0], "SmoothGrad": steps}}
        other = {"layers": ["conv1", "fc1", "fc"],
                 "independent": {"correlation": {"gradient": [0.2, 0.1, 0.1], "SmoothGrad": alone}},
                 "labels": {"correlation": {"gradient": 0.05, "SmoothGrad": labels}}}
        return cascade, other
    passing = checks([0.4, 0.2, 0.1], [0.3, 0.2, 0.4], 0.1)
    failing = checks([0.9, 0.7, 0.2], [0.3, 0.6, 0.8], 0.6)
    words = synthesis.sanity({"ffn": passing[0], "cnn": failing[0]}, {"ffn": passing[1], "cnn": failing[1]})
    assert "for the FFN, gradient and SmoothGrad lose it under every test" in words
    assert ("for the CNN, gradient loses it under every test; SmoothGrad keeps it with the layers from the logits down "
            "to fc1 re-drawn, one of fc1 and fc re-drawn alone and shuffled labels.") in words
    everything = checks([0.9, 0.7, 0.6], [0.6, 0.3, 0.3], 0.1)
    words = synthesis.sanity({"ffn": everything[0], "cnn": passing[0]}, {"ffn": everything[1], "cnn": passing[1]})
    assert ("for the FFN, gradient loses it under every test; SmoothGrad keeps it with every layer re-drawn and "
            "conv1") in words
    top = checks([0.9, 0.4, 0.2], [0.3, 0.3, 0.3], 0.1)
    words = synthesis.sanity({"ffn": top[0], "cnn": passing[0]}, {"ffn": top[1], "cnn": passing[1]})
    assert "SmoothGrad keeps it with the top layer (fc) re-drawn. And for the CNN" in words


def test_the_randomisation_checks_split_their_comparisons_into_cascade_layers_and_labels(monkeypatch):
    from fmnist.analysis import randomisation
    from fmnist.analysis.settings import QUICK

    def against(model, nets, methods, xs, cs):  # each net's position in the list, as its correlation
        return {"correlation": {m: [float(i) for i in range(len(nets))] for m in methods},
                "spread": {m: [[float(i), float(i)] for i in range(len(nets))] for m in methods}}
    monkeypatch.setattr(randomisation, "against_trained", against)
    shuffled = {"ffn": (FF_Net().eval(), {"images": 0, "epochs": 0, "memorised": 1.0, "true_labels": 0.1,
                                          "labels_kept": 0.1})}
    torch.manual_seed(0)
    x, y = torch.rand(20, 1, 28, 28) * 2 - 1, torch.arange(20) % 10
    logits = {"ffn": torch.nn.functional.one_hot(y, 10).float()}  # every image right
    (cascaded, other), pages = randomisation.checks_part({"ffn": ("FFN", FF_Net().eval())}, x, y, logits, shuffled,
                                                         torch.device("cpu"), QUICK)
    layers = 3  # fc1, fc2, classifier
    assert cascaded["ffn"]["correlation"]["gradient"] == [0.0, 1.0, 2.0]  # the cascade's steps come first
    assert other["ffn"]["independent"]["correlation"]["gradient"] == [3.0, 4.0, 5.0]  # then each layer alone
    assert other["ffn"]["labels"]["correlation"]["gradient"] == 2.0 * layers  # the shuffled-label network last
    assert other["ffn"]["labels"]["spread"]["gradient"] == [6.0, 6.0] and len(pages) == 2


@pytest.mark.parametrize("sigma", [0.7, 2.0, 4.0])
def test_the_blurred_baseline_is_torchvisions_gaussian_blur(sigma):
    from torchvision.transforms.functional import gaussian_blur

    from fmnist.analysis.attribution import blurred
    x = torch.rand(3, 2, 28, 28) * 2 - 1
    size = min(2 * math.ceil(3 * sigma) + 1, 27)
    assert torch.allclose(blurred(x, sigma), gaussian_blur(x, [size, size], [sigma, sigma]), atol=1e-6)
