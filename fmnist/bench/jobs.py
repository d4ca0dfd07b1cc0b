"""benchmark.py --jobs-ceiling: the most that experiments.py --jobs can gain on this machine.

`--jobs N` trains N runs side by side, one torch thread each, where `--jobs 1` trains one run
at a time on every core. Which is faster depends on how well torch's own threads share out
one network's work: where two threads already make a step nearly twice as fast, separate
processes have nothing left to gain. This measures it for the networks the studies train,
on made-up images (the arithmetic does not depend on the pixel values), training and scoring:

  alone   one process with a thread per core, timing training steps for `seconds`;
  beside  a process per core, one thread each, started together (each waits at a barrier
          after its warm-up steps), timing the same steps for the same time.

The ceiling is (the steps per second of all the `beside` processes together) / (those of
`alone`): what --jobs at one thread per run gains over --jobs 1 if starting runs, scoring
them and saving them cost nothing. Rounds alternate the two and the median is kept.
"""
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from fmnist.core import storage
from fmnist.core.storage import NUMBER, Each

# What is timed: a network and its task, training steps (batch 64, the studies' batch size) or
# scoring passes (batch 1000 in evaluation mode, as every run ends by scoring its splits).
# FF_Net and Conv_Net are the locality study's; HalfCNN is tuning's, transfer's and pretrain's.
TASKS = (("FF_Net", "train"), ("Conv_Net", "train"), ("HalfCNN", "train"), ("HalfCNN", "score"))
BATCH = {"train": 64, "score": 1000}


def build(name: str) -> torch.nn.Module:
    if name == "FF_Net":
        from ffn import FF_Net
        return FF_Net()
    if name == "Conv_Net":
        from cnn import Conv_Net
        return Conv_Net()
    from fmnist.studies.networks import HalfCNN
    return HalfCNN(5)


def child(name: str, task: str, threads: int, seconds: float) -> None:
    """In a measuring process: warm up, say 'ready', wait for 'go', then train (or score) for
    `seconds` and print what was done as one JSON line."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build(name)
    optimizer = torch.optim.Adam(model.parameters())
    x, y = torch.randn(BATCH[task], 1, 28, 28), torch.randint(0, 5, (BATCH[task],))

    def train() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    def score() -> None:
        with torch.no_grad():
            model(x)

    step = train if task == "train" else score
    model.train(task == "train")

    for _ in range(3):
        step()
    print("ready", flush=True)
    if not sys.stdin.readline():  # the barrier: every process starts timing together; none if the parent is gone
        return
    steps, began = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds:
        step()
        steps += 1
    print(json.dumps({"steps": steps, "seconds": elapsed, "threads": torch.get_num_threads()}), flush=True)


def together(name: str, task: str, processes: int, threads: int, seconds: float) -> list[dict]:
    """`processes` measuring processes at `threads` threads each, timed from one barrier."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = []
    try:
        for _ in range(processes):  # each listed the moment it starts; in its own session, so that Ctrl-C
            # reaches only this process, which kills them all below
            procs.append(subprocess.Popen([sys.executable, "-m", "fmnist.bench.jobs", name, task, str(threads),
                                           str(seconds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                          env=env, cwd=root, start_new_session=True))
        for p in procs:
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a measuring process for {name} did not start (exit {p.wait()})")
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        return [json.loads(p.stdout.readline()) for p in procs]
    finally:
        for p in procs:  # done (or Ctrl-C): none is left running
            if p.poll() is None:
                p.kill()
            p.wait()


def rate(runs: list[dict]) -> float:
    """Steps per second of the processes together."""
    return sum(r["steps"] / r["seconds"] for r in runs)


def measure(cores: int, seconds: float = 4.0, rounds: int = 3, tasks=TASKS, log=print) -> dict:
    """Each task's ceiling over `rounds` rounds (alone and beside alternating in order)."""
    out = {"cores": cores, "seconds": seconds, "rounds": rounds, "networks": {}}
    for name, task in tasks:
        alone, beside = [], []
        for r in range(rounds):
            order = ("alone", "beside") if r % 2 == 0 else ("beside", "alone")
            for which in order:
                runs = (together(name, task, 1, cores, seconds) if which == "alone"
                        else together(name, task, cores, 1, seconds))
                (alone if which == "alone" else beside).append(runs)
        ceilings = [rate(b) / rate(a) for a, b in zip(alone, beside)]
        one = [statistics.median(x["steps"] / x["seconds"] for x in b) for b in beside]
        label = f"{name} {'training' if task == 'train' else 'scoring'}"
        out["networks"][label] = {
            "alone_steps_per_s": statistics.median(rate(a) for a in alone),
            "beside_steps_per_s": statistics.median(rate(b) for b in beside),
            "one_thread_beside_steps_per_s": statistics.median(one),
            "threads_alone": alone[0][0]["threads"], "threads_beside": beside[0][0]["threads"],
            "ceilings": ceilings, "ceiling": statistics.median(ceilings)}
        log(f"{label}: --jobs {cores} at 1 thread can be at most {out['networks'][label]['ceiling']:.2f}x as fast as "
            f"--jobs 1 on {cores} threads (rounds: {', '.join(f'{c:.2f}' for c in ceilings)})")
    return out


SCHEMA = {"cores": int, "seconds": NUMBER, "rounds": int, "machine?": str,
          "networks": Each({"alone_steps_per_s": NUMBER, "beside_steps_per_s": NUMBER,
                            "one_thread_beside_steps_per_s": NUMBER, "ceiling": NUMBER}, "network and task")}


def load(path: Path) -> dict:
    """jobs.json, checked: a damaged file is one line ({} where there is none)."""
    return storage.load_checked(path, SCHEMA, "delete it or run python benchmark.py --jobs-ceiling again")


def sentence(result: dict) -> str:
    """What the ceilings mean for experiments.py --jobs on this machine."""
    cores = result["cores"]
    parts = [f"{name} {n['ceiling']:.2f}x" for name, n in result["networks"].items()]
    best = max(n["ceiling"] for n in result["networks"].values())
    if best < 1.05:
        verdict = "so on this machine --jobs 1 is as fast as running runs side by side: keep it"
    elif best < 1.2:
        verdict = (f"so --jobs {cores} can gain at most {100 * (best - 1):.0f} % here, less what starting and "
                   "scoring each run costs: torch's own threads already keep the cores busy")
    else:
        verdict = f"so --jobs {cores} pays here, most for the network with the highest ceiling"
    return (f"On {cores} cores, {cores} runs side by side at one thread each can do at most these multiples of one "
            f"run's work on {cores} threads: {', '.join(parts)}; {verdict}.")


def markdown(result: dict) -> list[str]:
    lines = [f"Runs side by side (experiments.py --jobs), {result.get('machine', 'this machine')}: training steps "
             f"(batch {BATCH['train']}, Adam) or scoring passes (batch {BATCH['score']}) per second of one process on "
             f"{result['cores']} threads against "
             f"{result['cores']} processes at 1 thread each, started together, {result['seconds']:.0f} s each, "
             f"median of {result['rounds']} rounds.", "",
             "| network, task | alone, steps/s | side by side, steps/s (all) | one of them | ceiling of --jobs |",
             "|---|---|---|---|---|"]
    for name, n in result["networks"].items():
        lines.append(f"| {name} | {n['alone_steps_per_s']:.1f} | {n['beside_steps_per_s']:.1f} | "
                     f"{n['one_thread_beside_steps_per_s']:.1f} | {n['ceiling']:.2f}x |")
    return lines + ["", sentence(result)]


if __name__ == "__main__":
    child(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
