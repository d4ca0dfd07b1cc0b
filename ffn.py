"""The feed-forward network: (N, 784) or (N, 1, 28, 28) -> (N, 10) logits. Modules only."""
from collections import OrderedDict

import torch
from torch import nn

SIDE = 28


class FF_Net(nn.Module):
    """Fully connected layers (linear -> batch norm -> ReLU -> dropout), then a linear classifier.

    Inputs are ToTensor + Normalize(0.5, 0.5) images, values in [-1, 1], either flat
    (N, 784) or as images (N, 1, 28, 28).
    """

    def __init__(self, hidden=(1024, 512), dropout=0.2, num_classes=10):
        super().__init__()
        layers, width = [("flatten", nn.Flatten())], SIDE * SIDE  # 1 x 28 x 28 pixels
        for i, out in enumerate(hidden, start=1):
            layers += [(f"fc{i}", nn.Linear(width, out)),
                       (f"bn{i}", nn.BatchNorm1d(out)),
                       (f"relu{i}", nn.ReLU(inplace=True)),
                       (f"dropout{i}", nn.Dropout(dropout))]
            width = out
        self.features = nn.Sequential(OrderedDict(layers))
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)       # (N, 784) or (N, 1, 28, 28) -> (N, hidden[-1])
        return self.classifier(x)  # (N, 10)
