"""Diagnostics beyond the prediction pass's metrics, shared by the analysis and the studies:
ROC curves, right and wrong examples, a network's penultimate features (the input of its last
linear layer) and their 2-D t-SNE embedding. Apart from metrics.py, so that the hand-in does
not import scikit-learn's metrics and manifold modules (3-4 s of start-up on 2 cores)."""
import numpy as np
import torch
from sklearn.manifold import TSNE
from sklearn.metrics import auc, roc_curve
from torch import nn

from fmnist.core.data import CLASSES
from fmnist.core.metrics import example
from fmnist.core.training import EVAL_BATCH


def pick_right_wrong(x, y, logits, seed: int) -> list[dict]:
    """4 random correct predictions (seeded), then the 4 most confident mistakes."""
    probs = logits.softmax(1)
    pred = probs.argmax(1)
    right, wrong = (pred == y).nonzero().flatten(), (pred != y).nonzero().flatten()
    gen = torch.Generator().manual_seed(seed)
    right = right[torch.randperm(len(right), generator=gen)[:4]].sort().values
    wrong = wrong[probs[wrong].amax(1).argsort(descending=True)[:4]]
    return [example(x, y, probs, int(i)) for i in torch.cat([right, wrong])]


def roc(y: torch.Tensor, logits: torch.Tensor) -> dict:
    """One-vs-rest ROC curve and AUC per class from softmax scores; macro AUC is their mean."""
    probs = logits.softmax(1).numpy()
    classes = {}
    for k, name in enumerate(CLASSES):
        fpr, tpr, _ = roc_curve((y == k).numpy(), probs[:, k])
        classes[name] = {"fpr": fpr, "tpr": tpr, "auc": float(auc(fpr, tpr))}
    return {"classes": classes, "macro_auc": float(np.mean([c["auc"] for c in classes.values()]))}



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
