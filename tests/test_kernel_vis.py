"""kernel_vis.py: kernel grid, responses, feature-map progression, image loading, the PDF."""
import re

import numpy as np
import pytest
import torch
from PIL import Image

import fashionmnist
import kernel_vis
from cnn import Conv_Net
from fmnist.core import layers, plotting
from fmnist.handin import kernels


def pdf_pages(path) -> int:
    """Count page objects by parsing the PDF (their dictionaries are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page[^s]", path.read_bytes()))


def test_kernel_grid_has_one_panel_per_kernel():
    kernels = Conv_Net().conv1.weight.detach()[:, 0].numpy()
    fig = plotting.kernel_grid_figure(kernels, "t")
    shown = [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]
    assert len(shown) == Conv_Net().conv1.out_channels


def test_stages_cover_every_conv_and_pool_in_forward_order():
    model = Conv_Net().eval()
    stages = layers.feature_stages(model, torch.randn(1, 1, 28, 28))
    names = [label for label, _ in stages]
    assert names == ["conv1", "pool1 + bn1 + relu1", "conv2", "pool2 + bn2 + relu2",
                     "conv3", "pool3 + bn3 + relu3"]
    c1, c2, c3 = (model.features[i].out_channels for i in (0, 4, 8))
    assert [m.shape for _, m in stages] == [(c1, 28, 28), (c1, 14, 14), (c2, 14, 14), (c2, 7, 7),
                                            (c3, 7, 7), (c3, 3, 3)]
    # every module of `features` is covered, once, in order
    assert " + ".join(names).split(" + ") == [n for n, _ in model.features.named_children()]


@pytest.mark.slow
def test_responses_have_the_shape_the_layer_gives(tmp_path):
    model = Conv_Net().eval()
    image = torch.rand(1, 28, 28) * 2 - 1
    pages = kernels.kernel_pages(model, image, "note", channels=2)
    assert [p.heading for p in pages] == ["Q5", "Q6", "Q7", "Extra"]
    response_axes = [ax for ax in pages[1].fig.axes if ax.images]
    assert len(response_axes) == model.conv1.out_channels + 1  # the sample image beside them
    expected = model.conv1(image[None]).shape[-2:]
    assert all(ax.images[0].get_array().shape == tuple(expected) for ax in response_axes)


@pytest.mark.parametrize("mode,size", [("L", (28, 28)), ("RGB", (64, 40)), ("RGBA", (28, 28)), ("RGBA", (90, 120))])
def test_image_loader_accepts_common_formats(tmp_path, mode, size):
    rng = np.random.default_rng(0)
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    pixels = rng.integers(0, 60, size=(size[1], size[0], channels), dtype=np.uint8)
    pixels[size[1] // 4: 3 * size[1] // 4, size[0] // 4: 3 * size[0] // 4, :3 if channels > 1 else 1] = 230
    if mode == "RGBA":
        pixels[..., 3] = 255
    img = Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode=mode)
    path = tmp_path / "x.png"
    img.save(path)
    x, note = kernels.load_image(path)
    assert x.shape == (1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert ("resized" in note) == (size != (28, 28))
    assert "inverted" not in note


def test_dark_on_light_image_is_inverted(tmp_path):
    pixels = np.full((28, 28), 255, dtype=np.uint8)
    pixels[8:20, 8:20] = 0
    Image.fromarray(pixels, mode="L").save(tmp_path / "dark.png")
    x, note = kernels.load_image(tmp_path / "dark.png")
    assert "inverted" in note
    assert x[0, 0, 0] == -1 and x[0, 14, 14] == 1  # now a light garment on a dark background


def test_image_loader_rejects_a_non_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(Exception, match="not a readable PNG or JPEG"):
        kernels.load_image(path)


@pytest.mark.slow
def test_make_runs_no_pdf_leaves_the_pdf_to_kernel_vis_which_has_every_page(data_dir, earlier_run):
    out, _ = earlier_run  # an earlier run's figures.pdf, which would show that run's numbers
    # a cover page, Q1-4, Q8-9 (Q9's patches a page per stage), how they were made
    assert pdf_pages(out / "figures.pdf") == 1 + 4 * 2 + 6 + 1
    assert fashionmnist.main(["--data-dir", str(data_dir), "--out-dir", str(out), "--skip-train", "--no-pdf"]) == 0
    assert not (out / "figures.pdf").exists() and (out / "cnn_confusion.png").stat().st_size > 0
    assert kernel_vis.main(["--out-dir", str(out), "--data-dir", str(data_dir), "--index", "3"]) == 0  # OUT/cnn.pth
    assert pdf_pages(out / "figures.pdf") == 1 + 4 * 2 + 6 + 1 + 4  # and Q5-7 with the last conv's kernels
    for name in ("cnn_kernels.png", "cnn_kernel_responses.png", "cnn_feature_maps.png",
                 "cnn_last_kernels.png", "sample_image.png"):
        assert (out / name).stat().st_size > 0
    assert Image.open(out / "sample_image.png").size == (28, 28)
