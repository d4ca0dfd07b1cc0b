"""The two networks: shapes, parameter counts derived by hand, gradients, overfitting, saving."""
import pytest
import torch
import torch.nn.functional as F

from cnn import Conv_Net
from ffn import FF_Net


@pytest.mark.parametrize("batch", [1, 64])
@pytest.mark.parametrize("layout", [(784,), (1, 28, 28)])
def test_ffn_shapes(batch, layout):
    model = FF_Net().eval()
    assert model(torch.randn(batch, *layout)).shape == (batch, 10)


@pytest.mark.parametrize("batch", [1, 64])
def test_cnn_shapes(batch):
    model = Conv_Net().eval()
    assert model(torch.randn(batch, 1, 28, 28)).shape == (batch, 10)
    assert Conv_Net().train()(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_ffn_accepts_both_layouts_alike():
    model = FF_Net().eval()
    x = torch.randn(5, 1, 28, 28)
    assert torch.allclose(model(x), model(x.reshape(5, 784)))


def test_ffn_parameter_count_by_hand():
    # linear: in*out + out; batch norm: scale + shift per unit
    h1, h2 = 1024, 512
    expected = (784 * h1 + h1) + 2 * h1 + (h1 * h2 + h2) + 2 * h2 + (h2 * 10 + 10)
    assert sum(p.numel() for p in FF_Net().parameters()) == expected


def test_cnn_parameter_count_by_hand():
    # 3x3 convs without bias (batch norm follows: scale + shift per channel); the hidden
    # linear layer sees c3 x 3 x 3 values after three 2x2 pools (28 -> 14 -> 7 -> 3)
    c1, c2, c3, hidden = 24, 48, 96, 256
    conv = 1 * c1 * 9 + c1 * c2 * 9 + c2 * c3 * 9
    norm = 2 * (c1 + c2 + c3)
    fc = (c3 * 3 * 3 * hidden + hidden) + 2 * hidden + (hidden * 10 + 10)
    assert sum(p.numel() for p in Conv_Net().parameters()) == conv + norm + fc


def test_extra_convs_add_their_count_and_keep_the_shapes():
    # one more 96 -> 96 3x3 conv (no bias) and its batch norm after the last pool, at 3x3
    extra = Conv_Net(extra=(0, 0, 1))
    added = 96 * 96 * 9 + 2 * 96
    assert sum(p.numel() for p in extra.parameters()) == sum(p.numel() for p in Conv_Net().parameters()) + added
    names = [n for n, _ in extra.features.named_children()]
    assert names[names.index("relu3") + 1:] == ["conv3b", "bn3b", "relu3b"]
    assert extra(torch.randn(2, 1, 28, 28)).shape == (2, 10) and extra.conv1.in_channels == 1
    with pytest.raises(ValueError, match="one count per stage"):
        Conv_Net(extra=(1,))


def test_conv1_is_the_first_single_channel_convolution():
    conv1 = Conv_Net().conv1
    assert isinstance(conv1, torch.nn.Conv2d) and conv1.in_channels == 1
    first = next(m for m in Conv_Net().modules() if isinstance(m, torch.nn.Conv2d))
    assert first.weight.shape == conv1.weight.shape


@pytest.mark.parametrize("make", [FF_Net, Conv_Net])
def test_every_parameter_gets_a_finite_gradient(make):
    model = make().train()
    loss = F.cross_entropy(model(torch.randn(8, 1, 28, 28)), torch.arange(8) % 10)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("make", [FF_Net, Conv_Net])
def test_a_tiny_batch_can_be_overfit(make):
    torch.manual_seed(0)
    model = make(dropout=0.0)
    x, y = torch.randn(20, 1, 28, 28), torch.arange(20) % 10
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    assert (model.eval()(x).argmax(1) == y).all()


@pytest.mark.parametrize("make", [FF_Net, Conv_Net])
def test_state_dict_round_trip_with_weights_only(make, tmp_path):
    torch.manual_seed(1)
    model = make()
    model.train()(torch.randn(16, 1, 28, 28))  # move the batch-norm running statistics
    torch.save(model.state_dict(), tmp_path / "w.pth")
    state = torch.load(tmp_path / "w.pth", map_location="cpu", weights_only=True)
    clone = make()
    clone.load_state_dict(state, strict=True)
    for (k, a), (k2, b) in zip(model.state_dict().items(), clone.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(model.eval()(x), clone.eval()(x))


def test_cnn_flip_averaging_is_the_mean_of_both_views():
    torch.manual_seed(2)
    model = Conv_Net().eval()
    x = torch.randn(3, 1, 28, 28)
    plain = Conv_Net(flip_tta=False)
    plain.load_state_dict(model.state_dict())
    plain.eval()
    assert torch.allclose(model(x), (plain(x) + plain(x.flip(-1))) / 2, atol=1e-6)
