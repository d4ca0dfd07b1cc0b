"""Fooling the networks by changing pixels (spec 000's extra credit): test accuracy against
the number of pixels changed, for a random attack and a greedy gradient-guided one; against
the size of a change to every pixel (FGSM and PGD, L-infinity); and targeted fooling.

Pixels live in [-1, 1] (the preprocessing of the training images); a changed pixel takes a
value in that range, so every attacked image is still a valid image.
"""
import torch
import torch.nn.functional as F
from torch import nn

from fmnist.core.stats import excludes_zero
from fmnist.core.training import EVAL_BATCH, predict
from fmnist.core.words import listing


def random_pixels(model: nn.Module, x: torch.Tensor, y: torch.Tensor, counts, draws: int, seed: int,
                  device) -> list[float]:
    """Mean test accuracy over `draws` when `k` random pixels of each image get random values,
    for each k in `counts`. In one draw the pixel order and values are fixed per image, so the
    k+1 changed pixels include the k."""
    gen = torch.Generator().manual_seed(seed)
    n, pixels = len(x), x[0].numel()
    acc = torch.zeros(len(counts))
    for _ in range(draws):
        order = torch.rand(n, pixels, generator=gen).argsort(1)       # (N, 784) a random pixel order
        values = torch.rand(n, pixels, generator=gen) * 2 - 1          # (N, 784) new values in [-1, 1]
        for j, k in enumerate(counts):
            flat = x.reshape(n, -1).clone()
            idx = order[:, :k]
            flat.scatter_(1, idx, values.gather(1, idx))
            acc[j] += (predict(model, flat.reshape(x.shape), device).argmax(1) == y).float().mean()
    return (acc / draws).tolist()


def _loss(model, x, y):
    return F.cross_entropy(model(x), y, reduction="none")


def greedy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, device,
           candidates: int = 4) -> dict:
    """Each step, per image still classified correctly: rank every (pixel, value) change by the
    gradient's estimate of how much it raises the true class's loss, with the value pushed to
    -1 or +1; try the best `candidates` exactly and keep the best one if it does not lower the
    loss (else the image is left as it is that step). An image is no longer attacked once it
    is misclassified; candidates that were refused are not tried again. Returns the accuracy
    after each step (index = pixels changed at most), the per-image loss after each step, and
    the attacked images with their pixel counts."""
    model.eval()
    x, y = x.clone().to(device), y.to(device)
    n, shape = len(x), x.shape[1:]
    pixels = x[0].numel()
    changed = torch.zeros(n, pixels, dtype=torch.bool, device=device)
    refused = torch.zeros(n, 2 * pixels, dtype=torch.bool, device=device)  # tried, and lowered the loss
    with torch.no_grad():
        logits = model(x)
        loss = F.cross_entropy(logits, y, reduction="none")
        correct = logits.argmax(1) == y
    accuracy, losses = [correct.float().mean().item()], [loss.cpu()]
    fooled_at = torch.where(correct, -1, 0).to(device)  # pixels changed when first misclassified
    for step in range(1, steps + 1):
        active = correct.nonzero().flatten()
        if len(active):
            xa = x[active].clone().requires_grad_(True)
            (grad,) = torch.autograd.grad(_loss(model, xa, y[active]).sum(), xa)
            flat, g = xa.detach().reshape(len(active), -1), grad.reshape(len(active), -1)
            gain_up, gain_down = g * (1 - flat), g * (-1 - flat)          # first-order loss change
            gain = torch.cat([gain_up, gain_down], 1)                      # (A, 2 * 784)
            gain[torch.cat([changed[active]] * 2, 1) | refused[active]] = -torch.inf  # each pixel once
            top = gain.topk(candidates, dim=1).indices                     # (A, K)
            pixel, value = top % pixels, torch.where(top < pixels, 1.0, -1.0)
            trial = flat[:, None, :].repeat(1, candidates, 1)              # (A, K, 784)
            trial.scatter_(2, pixel[..., None], value[..., None])
            with torch.no_grad():
                trial_loss = _loss(model, trial.reshape(-1, *shape),
                                   y[active].repeat_interleave(candidates)).reshape(-1, candidates)
            best_loss, best = trial_loss.max(1)
            take = best_loss >= loss[active]
            rows = active[take]
            refused[active[~take][:, None], top[~take]] = True  # the next step tries the next candidates
            x[rows] = trial[take, best[take]].reshape(-1, *shape)
            changed[rows, pixel[take, best[take]]] = True
            loss[rows] = best_loss[take]
            with torch.no_grad():
                now = model(x[active]).argmax(1) == y[active]
            newly = active[~now]
            fooled_at[newly] = step
            correct[active] = now
        accuracy.append(correct.float().mean().item())
        losses.append(loss.cpu())
    return {"accuracy": accuracy, "losses": torch.stack(losses), "images": x.cpu(),
            "pixels_changed": changed.sum(1).cpu(), "fooled_at": fooled_at.cpu()}


def shrink(
    model: nn.Module, x: torch.Tensor, change: torch.Tensor, targets: torch.Tensor, halvings: int
) -> torch.Tensor:
    """Each change scaled down to the smallest multiple t in (0, 1] (by `halvings` bisections) at
    which x + t change still gives the target; a change that does not give it at t = 1 is kept."""
    lo, hi = torch.zeros(len(x), device=x.device), torch.ones(len(x), device=x.device)
    with torch.no_grad():
        hits = model((x + change).clamp(-1, 1)).argmax(1) == targets
        for _ in range(halvings):
            mid = (lo + hi) / 2
            ok = model((x + mid.view(-1, 1, 1, 1) * change).clamp(-1, 1)).argmax(1) == targets
            hi, lo = torch.where(ok, mid, hi), torch.where(ok, lo, mid)
    return torch.where(hits.view(-1, 1, 1, 1), hi.view(-1, 1, 1, 1) * change, change)


def targeted(model: nn.Module, x: torch.Tensor, targets: torch.Tensor, steps: int, step_size: float,
             halvings: int = 10) -> dict:
    """Gradient steps on each input until the network gives its target class: each step moves
    the images not yet fooled by step_size x the normalised gradient that lowers the target's
    cross-entropy, clamped to [-1, 1]; then each change shrunk along its direction to the
    smallest size that still gives the target (`shrink`). Returns the results, the changes,
    whether each reached its target, the steps taken, and the L2 and L-infinity size of each
    change."""
    model.eval()
    adv = x.clone()
    done = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    taken = torch.zeros(len(x), dtype=torch.long)
    for _step in range(steps):  # each step works on the images not fooled yet (eval mode: each image on its own)
        active = (~done).nonzero().flatten()
        if len(active) == 0:
            break
        a = adv[active].requires_grad_(True)
        out = model(a)
        hit = out.argmax(1) == targets[active]
        done[active[hit]] = True
        if hit.all():
            break
        loss = F.cross_entropy(out, targets[active], reduction="none")[~hit].sum()
        (grad,) = torch.autograd.grad(loss, a)
        grad, moving = grad[~hit], active[~hit]
        norm = grad.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1, 1)
        with torch.no_grad():
            adv[moving] = (adv[moving] - step_size * grad / norm).clamp(-1, 1)
        taken[moving.cpu()] += 1
    with torch.no_grad():
        change = shrink(model, x, (adv - x).detach(), targets, halvings)
        adv = (x + change).clamp(-1, 1)
        predicted = model(adv).argmax(1)
    change = (adv - x).detach()
    return {"images": adv.detach().cpu(), "change": change.cpu(), "reached": (predicted == targets).cpu(),
            "predicted": predicted.cpu(), "steps": taken, "l2": change.flatten(1).norm(dim=1).cpu(),
            "linf": change.flatten(1).abs().amax(dim=1).cpu()}


def _input_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d (summed cross-entropy) / d x."""
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y, reduction="sum"), x)
    return grad


def linf_attacks(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilons, steps: int, device,
                 restarts: int = 1, seed: int = 0, batch_size: int = EVAL_BATCH) -> list[float]:
    """Accuracy on (x, y) under an L-infinity attack of each size in `epsilons` (in the input's
    units). steps == 1: FGSM (Goodfellow et al. 2015), x + eps sign(gradient), one gradient for
    every eps. steps > 1: PGD (Madry et al. 2018): the FGSM image first, then `restarts` runs from
    a uniform random start in the eps-box, each `steps` steps of 2.5 eps / steps along the gradient's
    sign projected back into the box; an image counts as fooled once any of them misclassifies it
    (the attacker keeps its strongest attack), so PGD never scores above FGSM. Every image stays in
    [-1, 1]."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    right = torch.zeros(len(epsilons))
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        first = _input_gradient(model, xb, yb).sign()
        for j, eps in enumerate(epsilons):
            adv = (xb + eps * first).clamp(-1, 1) if eps > 0 else xb
            with torch.no_grad():
                alive = (model(adv).argmax(1) == yb).nonzero()[:, 0]
            for _ in range(restarts if eps > 0 and steps > 1 else 0):
                noise = (torch.rand(len(alive), *xb.shape[1:], generator=generator) * 2 - 1).to(device)
                start = (xb[alive] + eps * noise).clamp(-1, 1)
                alive = alive[_pgd_survivors(model, xb[alive], yb[alive], start, eps, steps)]
            right[j] += len(alive)
    return (right / len(x)).tolist()


def _pgd_survivors(model: nn.Module, x: torch.Tensor, y: torch.Tensor, start: torch.Tensor, eps: float,
                   steps: int) -> torch.Tensor:
    """The indices of the images of x still correctly classified at every PGD iterate from `start`."""
    adv, alive = start.clone(), torch.arange(len(x), device=x.device)
    for step in range(steps + 1):  # the last pass only checks the final iterate
        a = adv[alive].requires_grad_(True)
        logits = model(a)
        still = logits.argmax(1) == y[alive]
        if not still.any() or step == steps:
            return alive[still]
        loss = F.cross_entropy(logits[still], y[alive][still], reduction="sum")
        (grad,) = torch.autograd.grad(loss, a)
        alive = alive[still]
        moved = adv[alive] + 2.5 * eps / steps * grad[still].sign()
        adv[alive] = torch.minimum(torch.maximum(moved, x[alive] - eps), x[alive] + eps).clamp(-1, 1).detach()
    return alive


def robustness_words(epsilons, curves: dict) -> str:
    """What the FGSM and PGD curves show ({"FGSM": {"FFN": [acc per eps], ...}, "PGD": {...}},
    eps in pixel units of [0, 1], the first 0): how far each attack takes each network at the
    smallest eps that costs the more robust one half its accuracy, and which network holds more
    under PGD at most sizes."""
    pgd = curves["PGD"]
    nets = list(pgd)
    wins = {n: sum(pgd[n][j] > min(pgd[m][j] for m in nets if m != n) for j in range(1, len(epsilons))) for n in nets}
    ahead = max(nets, key=lambda n: wins[n])
    j = next((k for k in range(1, len(epsilons)) if max(pgd[n][k] for n in nets) < max(pgd[n][0] for n in nets) / 2),
             len(epsilons) - 1)
    at = "; ".join(f"{a} leaves " + ", ".join(f"the {n} {100 * curves[a][n][j]:.1f} %" for n in nets) for a in curves)
    lead = (f"the {ahead} holds more under PGD at {wins[ahead]} of {len(epsilons) - 1} sizes" if wins[ahead] > 0
            else "neither network holds more under PGD")
    if "FGSM" in curves and wins[ahead] > 0:
        one = curves["FGSM"]
        other = [n for n in nets if n != ahead]
        flips = sum(one[o][k] > one[ahead][k] for o in other for k in range(1, len(epsilons)))
        if flips > (len(epsilons) - 1) / 2:
            lead += (f", though under FGSM the {listing(other)} holds more at {flips}: one step overstates the "
                     f"{listing(other)}'s robustness")
    return (f"A change of at most {epsilons[j]:g} of the pixel range to every pixel (unchanged, the images give "
            + ", ".join(f"{n} {100 * pgd[n][0]:.1f} %" for n in nets) + f"): {at}; {lead}.")


def most_confused(confusion) -> list[int]:
    """For each true class, the class it is most often mistaken for (the confusion matrix's
    largest off-diagonal entry of its row)."""
    c = torch.as_tensor(confusion, dtype=torch.float64).clone()
    c.fill_diagonal_(-1)
    return c.argmax(1).tolist()


def fooling_sentence(medians: dict, diff: dict | None = None) -> str:
    """Which network needs the smaller change, from the median sizes ({"FFN": (l2, linf), ...})
    and, when given, the 95 % interval of the second network's L2 minus the first's (with "paired":
    the median of the per-image differences on the same images; else the difference of the
    medians): a winner only when it excludes zero."""
    (a, (a2, ai)), (b, (b2, bi)) = medians.items()
    less, more = (a, b) if a2 < b2 else (b, a)
    if diff is not None and excludes_zero(diff):  # the interval's side names the winner (paired, it may differ)
        less, more = (b, a) if diff["mean"] < 0 else (a, b)
    l2 = {a: a2, b: b2}
    linf = {a: ai, b: bi}
    agree = (linf[less] < linf[more])
    sizes = (f"median L2 {l2[less]:.2f} against {l2[more]:.2f} for the {more} (the {more}'s is "
             f"{l2[more] / max(l2[less], 1e-12):.1f} times as large), median L-infinity {linf[less]:.2f} against "
             f"{linf[more]:.2f}" + ("" if agree else f" (by L-infinity the {more} needs less)"))
    if diff is None:
        return f"The {less} needs the smaller change to be fooled into a chosen class: {sizes}."
    span = (f"the median per-image difference, {b} minus {a}, is {diff['mean']:+.2f} in L2 over the {diff['n']} "
            f"images both were fooled on (95 % bootstrap interval {diff['low']:+.2f} to {diff['high']:+.2f})"
            if diff.get("paired") else
            f"95 % bootstrap interval of the {b} minus the {a} median L2: {diff['low']:+.2f} to {diff['high']:+.2f}")
    if not excludes_zero(diff):
        return (f"No difference detected in the change each network needs to be fooled into a chosen class: "
                f"{sizes}; {span}.")
    return f"The {less} needs the smaller change to be fooled into a chosen class: {sizes}; {span}."
