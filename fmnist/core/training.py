"""One training loop and one prediction pass, shared by both networks.

`fit` trains on whole in-memory tensors (batches are index slices, the flip augmentation
is one batched tensor operation), keeps the weights of the best validation epoch and returns
the history; `predict` returns logits (or, for an autoencoder, images), from which every
metric is derived.
"""
import functools
import math
import sys
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from fmnist.core.device import to_device
from fmnist.core.memory import keep_freed_memory


@dataclass(frozen=True)
class TrainSettings:
    epochs: int
    batch_size: int
    lr: float              # peak learning rate (one-cycle) or the rate after warm-up (plateau)
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    patience: int = 5      # epochs without a lower validation loss before stopping
    min_steps: int = 0     # an epoch is at least this many optimizer steps: a training set too small for
    #                        that is passed over several times an epoch, each in a new order, so that
    #                        patience, plateau and ceiling allow the same number of steps at every data size
    flip: bool = True      # augmentation: mirror half of each batch left-right
    alternate: bool = False  # with flip: a fixed random half of the images mirrored in odd epochs,
    #                          the other half in even epochs (each image seen both ways in turn)
    warmup: float = 0.2    # one-cycle: fraction of the steps spent ramping the learning rate up
    schedule: str = "one-cycle"  # one-cycle over `epochs`; or plateau: warm up over the first epoch,
    #                              hold, and divide by 10 after every PLATEAU epochs without a lower
    #                              validation loss, so that where a run ends does not depend on `epochs`
    optimizer: str = "sgd"  # sgd (Nesterov when momentum > 0), adam or rmsprop
    momentum: float = 0.9  # sgd and rmsprop only
    objective: str = "classify"  # classify: cross-entropy on labels; reconstruct: MSE to the input
    loss: str = "cross-entropy"  # classify: cross-entropy (batch_loss), or one of LOSSES
    precision: str = "fp32"  # bf16: the forward pass and loss under bfloat16 autocast (weights,
    #                          optimizer state, batch-norm statistics and evaluation stay float32)


OPTIMIZERS = ("sgd", "adam", "rmsprop")
SCHEDULES = ("one-cycle", "plateau")
PLATEAU, DROP = 2, 0.1  # plateau schedule: epochs without improvement before the rate is multiplied by DROP


# A uniform guess over 10 classes costs ln(10) = 2.3; a batch loss 100 times that only
# happens when the weights are blowing up (batch norm can keep such a loss finite for a while).
EXPLODED_LOSS = 100 * math.log(10)


def in_notebook() -> bool:
    """Whether this runs in a Jupyter (or Colab) kernel, whose output is no terminal."""
    shell = sys.modules.get("IPython") and getattr(sys.modules["IPython"], "get_ipython", lambda: None)()
    return type(shell).__name__ in ("ZMQInteractiveShell", "Shell")  # Jupyter's; Colab's


def progress(iterable, **kwargs):
    """A progress bar: on a terminal (none when the output is a file or a pipe), or as a notebook
    widget in Jupyter and Colab, where stderr is not a terminal but a bar is still wanted."""
    if in_notebook():
        from tqdm.notebook import tqdm as widget
        try:
            return widget(iterable, disable=False, **kwargs)
        except ImportError:  # no ipywidgets: a text bar in the cell's output
            return tqdm(iterable, file=sys.stderr, disable=False, **kwargs)
    return tqdm(iterable, file=sys.stderr, disable=None, **kwargs)


class Diverged(RuntimeError):
    """The training loss became NaN, infinite or exploded past EXPLODED_LOSS."""


def init_weights(model: nn.Module, scheme: str) -> None:
    """Re-initialise conv and linear weights: 'default' keeps PyTorch's, else xavier or he."""
    if scheme == "default":
        return
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            if scheme == "xavier":
                nn.init.xavier_uniform_(module.weight)
            else:
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def mirror_half(x: torch.Tensor, generator: torch.Generator, flip: torch.Tensor | None = None) -> torch.Tensor:
    """Mirror a random half of the batch left-right (a shirt mirrored is still a shirt), or the
    images where the boolean mask `flip` is set."""
    if flip is None:
        flip = torch.rand(len(x), generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


# Evaluation batches: 256 images keep a conv layer's output in the CPU's caches, where 1,000 did
# not (docs/speed.md has the timing). Evaluation mode computes each image alone, so the outputs do
# not depend on the batch size, beyond the last bits where a CPU picks other kernels for large
# batches (tests/test_training.py checks both).
EVAL_BATCH = 256


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, device: torch.device, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Outputs on the CPU (logits (N, 10), or an autoencoder's images) for inputs (N, 1, 28, 28),
    in evaluation mode."""
    model.eval()
    return torch.cat([model(to_device(x[i:i + batch_size], device)).float().cpu()
                      for i in range(0, len(x), batch_size)])


def lr_factor(step: int, total: int, warmup: float) -> float:
    """One cycle: linear warm-up to the peak, then cosine decay to zero."""
    ramp = max(1, int(total * warmup))
    if step < ramp:
        return (step + 1) / ramp
    return 0.5 * (1 + math.cos(math.pi * (step - ramp) / max(1, total - ramp)))


def plateau_factor(step: int, ramp: int, drops: int) -> float:
    """Plateau schedule: linear warm-up over `ramp` steps, then DROP ** drops."""
    return min(1.0, (step + 1) / max(1, ramp)) * DROP ** drops


def make_optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    """Weight decay (L2) on weight matrices and kernels only, never on biases and norm scales."""
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if settings.optimizer == "adam":
        return torch.optim.Adam(groups, lr=settings.lr)
    if settings.optimizer == "rmsprop":
        return torch.optim.RMSprop(groups, lr=settings.lr, momentum=settings.momentum)
    if settings.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=settings.lr, momentum=settings.momentum,
                               nesterov=settings.momentum > 0)
    raise ValueError(f"optimizer {settings.optimizer!r}: not one of {', '.join(OPTIMIZERS)}")


def batch_loss(output: torch.Tensor, target: torch.Tensor, settings: TrainSettings) -> torch.Tensor:
    if settings.objective == "reconstruct":
        return F.mse_loss(output, target)
    return F.cross_entropy(output, target, label_smoothing=settings.label_smoothing)


def focal_loss(output: torch.Tensor, target: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Focal loss (Lin et al. 2017): cross-entropy with each image weighted by (1 - p_true) ** gamma,
    so images already classified with confidence count little."""
    log_p = F.log_softmax(output, 1).gather(1, target[:, None])[:, 0]
    return -((1 - log_p.exp()) ** gamma * log_p).mean()


def hinge_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The multi-class hinge loss (Crammer-Singer margins as torch's multi_margin_loss: each wrong
    class's logit within 1 of the true one's costs the shortfall)."""
    return F.multi_margin_loss(output, target)


# Training losses other than cross-entropy, for the studies that compare loss functions.
LOSSES = {"focal": focal_loss, "hinge": hinge_loss}


def training_loss(output: torch.Tensor, target: torch.Tensor, settings: TrainSettings) -> torch.Tensor:
    """The loss a batch trains on: batch_loss, or the settings' other classification loss."""
    if settings.objective == "classify" and settings.loss != "cross-entropy":
        return LOSSES[settings.loss](output, target)
    return batch_loss(output, target, settings)


def steps_per_pass(images: int, batch_size: int) -> int:
    """Optimizer steps of one pass over `images`. A last batch under half the size is skipped (its
    images come in other passes' shuffles): batch norm's statistics over a handful of images make
    its step mostly noise."""
    steps = math.ceil(images / batch_size)
    return steps - 1 if 0 < images % batch_size < batch_size / 2 and steps > 1 else steps


def passes_per_epoch(per_pass: int, min_steps: int) -> int:
    """Passes over the training set that make an epoch of at least `min_steps` optimizer steps."""
    return max(1, math.ceil(min_steps / max(1, per_pass)))


def fit(model: nn.Module, train: tuple, val: tuple, settings: TrainSettings, device: torch.device,
        seed: int, name: str = "model", log=None) -> dict:
    """Train `model` in place; return {"iterations": [...], "epochs": [...], "best_epoch": k,
    "epoch_steps": optimizer steps an epoch}.

    Raises Diverged if the loss stops being finite. The model ends with the weights of
    the epoch with the lowest validation loss. With objective "reconstruct" the labels are
    ignored and the target is the (augmented) input itself. Each epoch's line goes to `log`
    (default: printed at once, so a pipe or a log file shows it live).
    """
    log = log or functools.partial(print, flush=True)
    (x_train, y_train), (x_val, y_val) = train, val
    generator = torch.Generator().manual_seed(seed)
    keep_freed_memory()
    model.to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer(model, settings)
    classify = settings.objective == "classify"
    per_pass = steps_per_pass(len(x_train), settings.batch_size)
    passes = passes_per_epoch(per_pass, settings.min_steps)
    steps_per_epoch = passes * per_pass
    total = settings.epochs * steps_per_epoch
    if settings.schedule not in SCHEDULES:
        raise ValueError(f"schedule {settings.schedule!r}: not one of {', '.join(SCHEDULES)}")
    drops = [0]  # plateau: how often the rate has been divided so far
    factor = ((lambda step: lr_factor(step, total, settings.warmup)) if settings.schedule == "one-cycle" else
              (lambda step: plateau_factor(step, steps_per_epoch, drops[0])))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    history = {"iterations": [], "epochs": [], "best_epoch": 0, "epoch_steps": steps_per_epoch}
    best_loss, best_state, stale = math.inf, None, 0
    halves = torch.rand(len(x_train), generator=generator) < 0.5 if settings.alternate else None
    for epoch in range(1, settings.epochs + 1):
        start = time.perf_counter()
        model.train()
        orders = [torch.randperm(len(x_train), generator=generator) for _ in range(passes)]
        bar = progress(range(steps_per_epoch), desc=f"{name} epoch {epoch}/{settings.epochs}", leave=False,
                       unit="batch")
        running, correct, seen = 0.0, 0, 0
        for i in bar:
            done, j = divmod(i, per_pass)  # passes done this epoch, batch of this pass
            idx = orders[done][j * settings.batch_size:(j + 1) * settings.batch_size]
            mask = None if halves is None else halves[idx] ^ (((epoch - 1) * passes + done) % 2 == 1)
            xb = to_device(mirror_half(x_train[idx], generator, mask) if settings.flip else x_train[idx], device)
            target = y_train[idx].to(device) if classify else xb
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=settings.precision == "bf16"):
                output = model(xb)
                loss = training_loss(output.float(), target, settings)
            if not loss.item() < EXPLODED_LOSS:  # also true for NaN
                raise Diverged(f"{name}: training diverged: the loss became {loss.item():.4g} in epoch {epoch}, "
                               f"batch {i + 1}; lower --lr (it was {settings.lr:g}) and try again")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            history["iterations"].append(loss.item())
            running += history["iterations"][-1] * len(idx)  # per image: a small last batch weighs less
            seen += len(idx)
            if classify:
                correct += int((output.detach().argmax(1) == target).sum())
            if i % 20 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
        val_out = predict(model, x_val, device)
        if classify:
            val_loss = F.cross_entropy(val_out, y_val).item()
            val_acc = (val_out.argmax(1) == y_val).float().mean().item()
        else:
            val_loss, val_acc = F.mse_loss(val_out, x_val).item(), None
        record = {"epoch": epoch, "train_loss": running / seen,
                  "train_acc": correct / seen if classify else None, "val_loss": val_loss,
                  "val_acc": val_acc, "seconds": time.perf_counter() - start,
                  "lr_end": schedule.get_last_lr()[0]}
        history["epochs"].append(record)
        improved = val_loss < best_loss
        if improved:
            best_loss, stale, history["best_epoch"] = val_loss, 0, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if settings.schedule == "plateau" and stale % PLATEAU == 0 and stale < settings.patience:
                drops[0] += 1
                for group, base in zip(optimizer.param_groups, schedule.base_lrs):  # from the next batch on
                    group["lr"] = base * factor(schedule.last_epoch)
        log(f"{name} epoch {epoch:2d}/{settings.epochs}  train loss {record['train_loss']:.4f}  "
            f"val loss {val_loss:.4f}" + (f"  val acc {100 * val_acc:5.2f}%" if classify else "")
            + f"  {record['seconds']:5.1f}s"
            + ("  *" if improved else ""))
        if stale >= settings.patience:
            log(f"{name}: no lower validation loss for {stale} epochs; stopping early")
            break
    model.load_state_dict(best_state)
    return history
