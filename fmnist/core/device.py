"""Where and in what arithmetic training runs: the device, whether it computes bfloat16
natively, the timed bf16 probe behind `--precision auto`, and moving batches to the device."""
import functools
import os
import time

import torch
import torch.nn.functional as F


def cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def pick_device(name: str) -> torch.device:
    """auto: CUDA if there is a GPU, else Apple's MPS, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    return torch.device(name)


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bfloat16 natively: a CUDA GPU that says so, or a CPU whose
    flags list AVX-512 BF16 or AMX-BF16 (read from /proc/cpuinfo, where oneDNN gets its fast
    bfloat16 kernels; elsewhere bfloat16 is emulated and slower than float32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    try:
        flags = next((line for line in open("/proc/cpuinfo") if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


# auto trains in bfloat16 only where a training step runs at least this much faster in it: the
# flags alone do not tell, since some CPUs that list avx512_bf16 train slower in it than in
# float32 (docs/speed.md, "Precision", has the measurements).
BF16_MIN_SPEEDUP = 1.2


def sync(device: torch.device) -> None:
    """Wait for the device to finish its queued work (a GPU runs asynchronously), so a timer reads true."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def step_seconds(model, x, y, device: torch.device, precision: str) -> tuple[float, float]:
    """Seconds of one training step of `model` on the batch (x, y), as fit takes it: the forward
    pass and the loss (under bfloat16 autocast for bf16), then zero_grad and the backward pass."""
    sync(device)
    start = time.perf_counter()
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        loss = F.cross_entropy(model(x).float(), y)
    sync(device)
    middle = time.perf_counter()
    model.zero_grad(set_to_none=True)
    loss.backward()
    sync(device)
    return middle - start, time.perf_counter() - middle


@functools.cache
def bf16_speedup(device: torch.device, make_model, reps: int = 10) -> float:
    """float32's median seconds over bfloat16's for one training step (step_seconds; batch 256)
    of a fresh `make_model()`, the two precisions interleaved after a warm-up of 4 steps each.
    Leaves the global random state alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = make_model().to(device, memory_format=torch.channels_last).train()
        x = to_device(torch.randn(256, 1, 28, 28), device)
        y = torch.randint(0, 10, (256,), device=device)
        times = {"fp32": [], "bf16": []}
        for rep in range(reps + 4):
            for precision in times:
                seconds = sum(step_seconds(model, x, y, device, precision))
                if rep >= 4:
                    times[precision].append(seconds)
    median = {k: sorted(v)[len(v) // 2] for k, v in times.items()}  # dropout drew from the forked state
    return median["fp32"] / median["bf16"]


def pick_precision(name: str, device: torch.device, probe=None) -> str:
    """auto: bf16 where the device computes it natively (native_bf16) and, on a CPU, a training
    step of `probe()` (the network to train) runs at least BF16_MIN_SPEEDUP times faster in
    it (bf16_speedup), else fp32."""
    if name == "auto":
        measured = auto_speedup(device, probe)
        fast = native_bf16(device) and (measured is None or measured >= BF16_MIN_SPEEDUP)
        return "bf16" if fast else "fp32"
    return name


def auto_speedup(device: torch.device, probe) -> float | None:
    """What auto measures on `device` before choosing (bf16_speedup of `probe`; cached): only on
    a CPU with native bfloat16, else None."""
    return bf16_speedup(device, probe) if device.type == "cpu" and native_bf16(device) else None


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x
