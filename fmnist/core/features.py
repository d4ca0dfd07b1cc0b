"""A network's penultimate features (the input of its last linear layer) and their 2-D t-SNE
embedding, shared by the analysis and the studies."""
import numpy as np
import torch
from sklearn.manifold import TSNE
from torch import nn

from fmnist.core.training import EVAL_BATCH


def penultimate(model: nn.Module, x: torch.Tensor, device, batch_size: int = EVAL_BATCH) -> tuple[np.ndarray, str]:
    """The input to the last linear layer (one view; no flip averaging) and a description."""
    head = model.classifier
    body = head[:-1] if isinstance(head, nn.Sequential) else nn.Identity()
    last = head[-1] if isinstance(head, nn.Sequential) else head
    model.eval()
    with torch.no_grad():
        feats = torch.cat([body(model.features(x[i:i + batch_size].to(device))).cpu()
                           for i in range(0, len(x), batch_size)])
    return feats.numpy(), f"the {last.in_features} inputs of the last linear layer"


def tsne(features: np.ndarray, seed: int) -> np.ndarray:
    perplexity = min(30.0, max(2.0, (len(features) - 1) / 3))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)
