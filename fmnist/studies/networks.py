"""The study networks of experiments.py (modules only; the assignment's two models stay on top).

Every network takes (N, 1, 28, 28) images in [-1, 1] and keeps the package's layout:
`features` (the convolutional part, children named by role) then `classifier` (its last
child the linear layer that gives the logits), so the prediction pass, the layer table,
t-SNE of the penultimate features and the filter plots work on all of them.
"""
from collections import OrderedDict

import torch
from torch import nn

# init_network's channel and stride schedule, by block position (whatever the block's kind).
# Strides of 2 at positions 1 and 3 take 28x28 to 14x14 to 7x7; later blocks stay at 7x7.
SCHEDULE = ((16, 1), (32, 2), (64, 1), (64, 2), (128, 1), (128, 1), (128, 1), (128, 1))


def conv_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """The standard block: 3x3 conv (no bias: batch norm follows), batch norm, ReLU."""
    return nn.Sequential(OrderedDict([
        ("conv", nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)),
        ("bn", nn.BatchNorm2d(out_channels)),
        ("relu", nn.ReLU(inplace=True))]))


class ConvDw(nn.Sequential):
    """MobileNet's depthwise-separable block: a 3x3 depthwise conv (one filter per input
    channel, carrying the stride), batch norm, ReLU, then a 1x1 pointwise conv, batch norm, ReLU.
    (N, in, H, W) -> (N, out, H / stride, W / stride)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__(OrderedDict([
            ("depthwise", nn.Conv2d(in_channels, in_channels, 3, stride=stride, padding=1,
                                    groups=in_channels, bias=False)),
            ("bn1", nn.BatchNorm2d(in_channels)),
            ("relu1", nn.ReLU(inplace=True)),
            ("pointwise", nn.Conv2d(in_channels, out_channels, 1, bias=False)),
            ("bn2", nn.BatchNorm2d(out_channels)),
            ("relu2", nn.ReLU(inplace=True))]))


class BlockNet(nn.Module):
    """Input, `conv_block_count` standard blocks, then `mobilenet_block_count` ConvDw blocks
    (channels and strides from SCHEDULE by position), global average pooling, a linear layer."""

    def __init__(self, conv_block_count: int, mobilenet_block_count: int, input_dim=(1, 28, 28),
                 num_classes: int = 10):
        super().__init__()
        count = conv_block_count + mobilenet_block_count
        if not 1 <= count <= len(SCHEDULE):
            raise ValueError(f"1 to {len(SCHEDULE)} blocks in all, not {count}")
        blocks, in_ch = [], input_dim[0]
        for i, (out_ch, stride) in enumerate(SCHEDULE[:count]):
            kind, make = ("conv", conv_block) if i < conv_block_count else ("dw", ConvDw)
            blocks.append((f"{kind}{i + 1}", make(in_ch, out_ch, stride)))
            in_ch = out_ch
        self.features = nn.Sequential(OrderedDict(blocks))    # (N, 1, 28, 28) -> (N, C, 7, 7) (or 14, 28)
        self.classifier = nn.Sequential(OrderedDict([
            ("pool", nn.AdaptiveAvgPool2d(1)),                 # -> (N, C, 1, 1)
            ("flatten", nn.Flatten()),                         # -> (N, C)
            ("fc", nn.Linear(in_ch, num_classes))]))           # -> (N, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def init_network(conv_block_count: int, mobilenet_block_count: int, input_dim=(1, 28, 28),
                 num_classes: int = 10) -> BlockNet:
    """Spec 003's builder: standard blocks first, then MobileNet blocks."""
    return BlockNet(conv_block_count, mobilenet_block_count, input_dim, num_classes)


class VariantCNN(nn.Module):
    """The variants study's CNN: len(widths) blocks of 3x3 conv -> [batch norm] -> ReLU, a 2x2
    max-pool after each of the first three (28 -> 14 -> 7 -> 3), then dropout, a hidden
    linear layer, ReLU, dropout and the linear classifier."""

    def __init__(self, widths=(32, 64, 128), hidden: int = 256, dropout: float = 0.25,
                 batch_norm: bool = True, num_classes: int = 10):
        super().__init__()
        layers, in_ch, side = [], 1, 28
        for i, out_ch in enumerate(widths, start=1):
            layers.append((f"conv{i}", nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=not batch_norm)))
            if batch_norm:
                layers.append((f"bn{i}", nn.BatchNorm2d(out_ch)))
            layers.append((f"relu{i}", nn.ReLU(inplace=True)))
            if i <= 3:
                layers.append((f"pool{i}", nn.MaxPool2d(2)))
                side //= 2
            in_ch = out_ch
        self.features = nn.Sequential(OrderedDict(layers))    # (N, 1, 28, 28) -> (N, C, side, side)
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),                         # -> (N, C * side * side)
            ("dropout", nn.Dropout(dropout)),
            ("fc1", nn.Linear(in_ch * side * side, hidden)),   # -> (N, hidden)
            ("relu_fc1", nn.ReLU(inplace=True)),
            ("dropout_fc1", nn.Dropout(dropout)),
            ("fc", nn.Linear(hidden, num_classes))]))          # -> (N, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class ReferenceNet(nn.Module):
    """Spec 000's reference network: CONV1 64, POOL, CONV2 128, POOL, CONV3 256, CONV4 256,
    POOL, FC 1024, FC 1024, then the 10 logits through batch norm (before the softmax).
    3x3 filters, stride 1, padding 1, ReLU after every conv and hidden FC; one input channel."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        conv = lambda i, o: nn.Conv2d(i, o, 3, stride=1, padding=1)  # noqa: E731
        self.features = nn.Sequential(OrderedDict([
            ("conv1", conv(1, 64)), ("relu1", nn.ReLU(inplace=True)), ("pool1", nn.MaxPool2d(2)),       # 64 x 14 x 14
            ("conv2", conv(64, 128)), ("relu2", nn.ReLU(inplace=True)), ("pool2", nn.MaxPool2d(2)),     # 128 x 7 x 7
            ("conv3", conv(128, 256)), ("relu3", nn.ReLU(inplace=True)),                                # 256 x 7 x 7
            ("conv4", conv(256, 256)), ("relu4", nn.ReLU(inplace=True)), ("pool3", nn.MaxPool2d(2))]))  # 256 x 3 x 3
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),                                                   # -> (N, 2304)
            ("fc1", nn.Linear(256 * 3 * 3, 1024)), ("relu_fc1", nn.ReLU(inplace=True)),  # -> (N, 1024)
            ("fc2", nn.Linear(1024, 1024)), ("relu_fc2", nn.ReLU(inplace=True)),         # -> (N, 1024)
            ("fc", nn.Linear(1024, num_classes)),                                        # -> (N, 10)
            ("bn_logits", nn.BatchNorm1d(num_classes))]))                                # batch norm before softmax

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def encoder() -> nn.Sequential:
    """The pretrain study's convolutional encoder, also the convolutional part of its classifier:
    (N, 1, 28, 28) -> (N, 8, 7, 7), a bottleneck of 392 values (half the pixels). Pooling comes
    before batch norm and ReLU, as in Conv_Net: the same result for a quarter of the work."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 16, 3, padding=1, bias=False)), ("pool1", nn.MaxPool2d(2)),
        ("bn1", nn.BatchNorm2d(16)), ("relu1", nn.ReLU(inplace=True)),                       # 16 x 14 x 14
        ("conv2", nn.Conv2d(16, 32, 3, padding=1, bias=False)), ("pool2", nn.MaxPool2d(2)),
        ("bn2", nn.BatchNorm2d(32)), ("relu2", nn.ReLU(inplace=True)),                       # 32 x 7 x 7
        ("conv3", nn.Conv2d(32, 8, 3, padding=1, bias=False)), ("bn3", nn.BatchNorm2d(8)),
        ("relu3", nn.ReLU(inplace=True))]))                                                  # 8 x 7 x 7


class ConvAutoencoder(nn.Module):
    """encoder() to the 8 x 7 x 7 bottleneck, then a decoder back to (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self):
        super().__init__()
        self.encoder = encoder()
        self.decoder = nn.Sequential(OrderedDict([
            ("up1", nn.ConvTranspose2d(8, 32, 2, stride=2, bias=False)), ("bn1", nn.BatchNorm2d(32)),
            ("relu1", nn.ReLU(inplace=True)),                                                # 32 x 14 x 14
            ("up2", nn.ConvTranspose2d(32, 16, 2, stride=2, bias=False)), ("bn2", nn.BatchNorm2d(16)),
            ("relu2", nn.ReLU(inplace=True)),                                                # 16 x 28 x 28
            ("out", nn.Conv2d(16, 1, 3, padding=1)), ("tanh", nn.Tanh())]))                  # 1 x 28 x 28

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class HalfCNN(nn.Module):
    """The classifier of the pretrain and transfer studies: `features` is exactly encoder(),
    then a hidden linear layer and the linear layer `classifier.fc` for `num_classes` classes."""

    def __init__(self, num_classes: int = 5, hidden: int = 128, dropout: float = 0.25):
        super().__init__()
        self.features = encoder()                              # (N, 1, 28, 28) -> (N, 8, 7, 7)
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),                         # -> (N, 392)
            ("dropout", nn.Dropout(dropout)),
            ("fc1", nn.Linear(8 * 7 * 7, hidden)),             # -> (N, hidden)
            ("relu_fc1", nn.ReLU(inplace=True)),
            ("fc", nn.Linear(hidden, num_classes))]))          # -> (N, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class ReferenceNetNoBN(ReferenceNet):
    """Spec 000's reference network without its batch norm on the logits (for its effect)."""

    def __init__(self, num_classes: int = 10):
        super().__init__(num_classes)
        self.classifier.bn_logits = nn.Identity()                                    # logits straight to softmax
