"""The convolutional network: (N, 1, 28, 28) -> (N, 10) logits. Modules only, no training."""
from collections import OrderedDict

import torch
from torch import nn


class Conv_Net(nn.Module):
    """Three conv stages (3x3 conv -> 2x2 max-pool -> batch norm -> ReLU), each followed by
    `extra[i]` more 3x3 convs (conv -> batch norm -> ReLU, named conv{i}b, bn{i}b, relu{i}b, ...)
    at the pooled size, then a hidden fully connected layer and the linear classifier.

    Pooling comes before batch norm and ReLU (as in fast CIFAR trainers): max-pool commutes
    with ReLU, and normalising the pooled maps costs a quarter as much, which on a CPU is a
    quarter of the training time. Inputs are ToTensor + Normalize(0.5, 0.5) images, values
    in [-1, 1]. `features` holds every stage in forward order under role names (conv1,
    pool1, bn1, relu1, ...), so code can walk it without hooks. With `flip_tta`, evaluation
    mode averages the logits of the image and its mirror image (trained with flips, the
    network treats both alike).
    """

    def __init__(self, widths=(24, 48, 96), extra=(0, 0, 0), hidden=256, dropout=0.1, num_classes=10,
                 flip_tta=True):
        super().__init__()
        if len(extra) != len(widths):
            raise ValueError(f"extra gives one count per stage: {len(widths)} numbers, not {len(extra)}")
        layers, in_ch, side = [], 1, 28
        for i, (out_ch, more) in enumerate(zip(widths, extra), start=1):
            layers += [(f"conv{i}", nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1, bias=False)),
                       (f"pool{i}", nn.MaxPool2d(2)),
                       (f"bn{i}", nn.BatchNorm2d(out_ch)),
                       (f"relu{i}", nn.ReLU(inplace=True))]
            side //= 2  # 28 -> 14 -> 7 -> 3 (floor)
            for suffix in "bcd"[:more]:  # out_ch -> out_ch at the pooled size: depth where it is cheap
                layers += [(f"conv{i}{suffix}", nn.Conv2d(out_ch, out_ch, kernel_size=3, padding=1, bias=False)),
                           (f"bn{i}{suffix}", nn.BatchNorm2d(out_ch)),
                           (f"relu{i}{suffix}", nn.ReLU(inplace=True))]
            in_ch = out_ch
        self.features = nn.Sequential(OrderedDict(layers))
        flat = in_ch * side * side  # channels x H x W after the last pool
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("dropout", nn.Dropout(dropout)),
            ("fc1", nn.Linear(flat, hidden)),
            ("bn_fc1", nn.BatchNorm1d(hidden)),
            ("relu_fc1", nn.ReLU(inplace=True)),
            ("dropout_fc1", nn.Dropout(dropout)),
            ("fc", nn.Linear(hidden, num_classes)),
        ]))
        self.flip_tta = flip_tta

    @property
    def conv1(self) -> nn.Conv2d:
        """The first convolution (single-channel 3x3 kernels), as the assignment names it."""
        return self.features.conv1

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)        # (N, 1, 28, 28) -> (N, C3, 3, 3)
        return self.classifier(x)   # (N, C3 * 3 * 3) -> (N, hidden) -> (N, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or not self.flip_tta:
            return self._logits(x)
        return (self._logits(x) + self._logits(x.flip(-1))) / 2  # (N, 10)
