"""How the process keeps its memory between training steps (glibc's malloc settings)."""
import ctypes
import functools
import os

# glibc malloc's settings (malloc.h): M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3.
_TRIM, _MMAP = -1, -3


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep the memory a training step frees for the next step.

    A step frees and reallocates the same large buffers (activations, gradients). By default
    malloc maps the largest afresh and hands freed memory back to the operating system, so
    every step page-faults it in again: 700-1,900 faults a step measured for both networks,
    0-7 with buffers up to 32 MiB kept on the heap and the heap trimmed only past 1 GiB (a
    few percent of the step, within the machine's noise). The process keeps its peak memory
    instead. Returns whether it applied: not where malloc is not glibc's (macOS, Windows,
    musl), nor with FMNIST_MALLOC=default set (for A/B timing).
    """
    if os.environ.get("FMNIST_MALLOC") == "default":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, TypeError):
        return False
    return bool(mallopt(_MMAP, 32 << 20)) and bool(mallopt(_TRIM, 1 << 30))
