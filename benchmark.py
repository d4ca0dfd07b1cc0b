"""Measure speed and accuracy of the default configuration; print a table, save it.

    python benchmark.py                  # throughput + 3 full default runs (about 17 minutes on 2 cores)
    python benchmark.py --runs 1         # one full run
    python benchmark.py --runs 0         # throughput only (a minute), in float32 and, where native, bfloat16
    python benchmark.py --precision fp32 # the full runs in float32 (default: auto, as make run)
    python benchmark.py --device cuda    # the same on a GPU
    python benchmark.py --time-budgets   # accuracy against training time: 3 CNN families at 1, 1.5
                                         # and 2x the current CNN training time, 3 seeds (about an hour)
    python benchmark.py --against a5c338f  # this checkout's default run against that commit's (the one
                                         # before questions 8 and 9) in float32,
                                           # 3 pairs in turn (about 20 minutes on 2 cores)
    python benchmark.py --against a5c338f --with-auto --pairs 6  # and this checkout's as shipped (auto),
                                                             # 6 rounds
    python benchmark.py --jobs-ceiling   # the most experiments.py --jobs can gain here: runs side by side
                                         # at 1 thread against one run on every core (about 3 minutes)

Writes benchmark.md and benchmark.json to --out-dir (default outputs/); --time-budgets also
writes budget.json (resumable: a rerun skips the runs in it; --fresh redoes them) and
budget.png, and benchmark.md gains their table whenever budget.json is there; --against
writes against.json (resumable in the same way) and benchmark.md gains its pairs and verdicts; --jobs-ceiling
writes jobs.json and benchmark.md gains its table. Each full run is
make run's recipe (`python fashionmnist.py --no-pdf --seed S`, then `python kernel_vis.py`),
timed as a user would time `make run`, in a scratch directory so outputs/ keeps its own results.
"""
from fmnist.core.python_version import require  # first, so an old Python gets one clear line

require("benchmark.py")

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from cnn import Conv_Net
from fmnist.bench import against, budget, jobs
from fmnist.core import cli, data, provenance, storage
from fmnist.core.assignment import MODELS, RECIPES
from fmnist.core.device import cores, native_bf16, pick_device, pick_precision, step_seconds, sync, to_device

HERE = Path(__file__).resolve().parent
TARGETS = {"ffn": (0.88, 0.89, 0.90), "cnn": (0.91, 0.92, 0.93, 0.94)}


def matmul_peak(device: torch.device, n: int = 2048, reps: int = 10) -> float:
    """float32 GFLOP/s of a large square matrix multiply: the practical peak."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(2):
        a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def precisions(device: torch.device) -> list[str]:
    """float32 always; bfloat16 too where the device computes it natively (what auto picks)."""
    return ["fp32"] + (["bf16"] if native_bf16(device) else [])


def _autocast(device: torch.device, precision: str):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def time_passes(model, x, y, device: torch.device, precision: str, reps: int = 20) -> tuple[float, float]:
    """Mean seconds of the forward pass (with the loss) and of the backward pass of one batch
    (device.step_seconds, as fit trains), after 3 steps that warm caches up."""
    steps = [step_seconds(model, x, y, device, precision) for _ in range(reps + 3)][3:]
    return sum(f for f, _ in steps) / reps, sum(b for _, b in steps) / reps


def default_settings(key: str, precision: str):
    """make run's recipe for the network `key`, in `precision`."""
    return cli.settings(RECIPES[key], {"precision": precision})


def throughput(key: str, device: torch.device, precision: str = "fp32", reps: int = 20) -> dict:
    """Time the forward and backward passes of one training batch (under bfloat16 autocast for
    bf16, as fit trains: the forward pass and the loss); count their FLOPs."""
    settings = default_settings(key, precision)
    model = MODELS[key]().to(device, memory_format=torch.channels_last).train()
    x = to_device(torch.randn(settings.batch_size, 1, 28, 28), device)
    y = torch.randint(0, 10, (settings.batch_size,), device=device)
    counter = FlopCounterMode(display=False)
    with counter, _autocast(device, precision):
        loss = F.cross_entropy(model(x).float(), y)
    forward_flops = counter.get_total_flops()
    with counter:
        loss.backward()
    backward_flops = counter.get_total_flops()
    fwd, bwd = time_passes(model, x, y, device, precision, reps)
    return {"precision": precision, "batch_size": settings.batch_size, "forward_gflop": forward_flops / 1e9,
            "backward_gflop": backward_flops / 1e9, "forward_gflops": forward_flops / fwd / 1e9,
            "backward_gflops": backward_flops / bwd / 1e9, "images_per_s": settings.batch_size / (fwd + bwd)}


def full_run(seed: int, device: str, scratch: Path, precision: str = "auto") -> dict:
    """One default `make run` (its recipe's commands, against.recipe: the PDF drawn once) in a
    scratch directory; wall time and metrics."""
    out = scratch / f"seed{seed}"
    start = time.perf_counter()
    for cmd in against.recipe(HERE, out, precision, extra=("--seed", str(seed), "--device", device)):
        subprocess.run(cmd, check=True, cwd=HERE, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    metrics = json.loads((out / "metrics.json").read_text())
    # ru_maxrss of the children is in KiB on Linux: the largest of the runs so far
    return {"seed": seed, "wall_s": wall, "networks": metrics["networks"],
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def time_to(history: dict, target: float) -> float | None:
    """Seconds of training until the validation accuracy first reached `target`."""
    elapsed = 0.0
    for epoch in history["epochs"]:
        elapsed += epoch["seconds"]
        if epoch["val_acc"] >= target:
            return elapsed
    return None


def summarise(runs: list, peak: float, speed: dict) -> dict:
    """speed: {network: {precision: throughput}}; the runs' numbers go with the precision they ran in."""
    result = {"matmul_peak_gflops": peak, "networks": {}, "runs": len(runs),
              "throughput": {key: {p: {**v, "forward_peak_fraction": v["forward_gflops"] / peak,
                                       "backward_peak_fraction": v["backward_gflops"] / peak}
                                   for p, v in by.items()} for key, by in speed.items()}}
    ran = runs[0]["networks"]["cnn"]["config"].get("precision", "fp32") if runs else "fp32"
    for key in ("ffn", "cnn"):
        entry = dict(speed[key].get(ran, speed[key]["fp32"]))
        entry["forward_peak_fraction"] = entry["forward_gflops"] / peak
        entry["backward_peak_fraction"] = entry["backward_gflops"] / peak
        if runs:
            accs = [r["networks"][key]["test"]["accuracy"] for r in runs]
            epochs = [e for r in runs for e in r["networks"][key]["history"]["epochs"]]
            per_epoch = statistics.mean(e["seconds"] for e in epochs)
            n_train = 55_000
            entry.update({
                "test_acc": accs, "test_acc_mean": statistics.mean(accs),
                "test_acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0, "test_acc_min": min(accs),
                "seconds_per_epoch": per_epoch, "epoch_images_per_s": n_train / per_epoch,
                "achieved_train_gflops": n_train / per_epoch * (entry["forward_gflop"] + entry["backward_gflop"])
                / entry["batch_size"],
                "time_to_val_acc": {f"{t:.0%}": [time_to(r["networks"][key]["history"], t) for r in runs]
                                    for t in TARGETS[key]}})
        result["networks"][key] = entry
    if runs:
        result["wall_s"] = [r["wall_s"] for r in runs]
        result["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    return result


def markdown(result: dict, device: str) -> str:
    peak = result["matmul_peak_gflops"]
    lines = [f"Device: {device}; float32 matmul peak measured: {peak:.0f} GFLOP/s; "
             f"torch {torch.__version__}, {torch.get_num_threads()} threads", "",
             "One training batch, forward and backward (the FLOPs counted are the same in both precisions):", "",
             "| network | precision | batch | fwd GFLOP/s (of fp32 peak) | bwd GFLOP/s | train img/s | ms per step |",
             "|---|---|---|---|---|---|---|"]
    for key, by in result["throughput"].items():
        for p, n in by.items():
            lines.append(
                f"| {key.upper()} | {p} | {n['batch_size']} | {n['forward_gflops']:.1f} "
                f"({n['forward_peak_fraction']:.0%}) | {n['backward_gflops']:.1f} | {n['images_per_s']:,.0f} | "
                f"{1000 * n['batch_size'] / n['images_per_s']:.1f} |"
            )
    if not result["runs"]:
        return "\n".join(lines) + "\n"
    lines += ["", f"Full runs in {result.get('precision', 'fp32')}:", "",
              "| network | batch | fwd GFLOP/s (of peak) | bwd GFLOP/s (of peak) | train img/s (batch) |"
              " s/epoch | img/s (epoch) | test acc mean ± std (min) |", "|---|---|---|---|---|---|---|---|"]
    for key, n in result["networks"].items():
        row = (f"| {key.upper()} | {n['batch_size']} | {n['forward_gflops']:.1f} ({n['forward_peak_fraction']:.0%}) "
               f"| {n['backward_gflops']:.1f} ({n['backward_peak_fraction']:.0%}) | {n['images_per_s']:,.0f} |")
        if result["runs"]:
            row += (f" {n['seconds_per_epoch']:.1f} | {n['epoch_images_per_s']:,.0f} | "
                    f"{100 * n['test_acc_mean']:.2f}% ± {100 * n['test_acc_std']:.2f} "
                    f"({100 * n['test_acc_min']:.2f}%) |")
        lines.append(row)
    if result["runs"]:
        lines += ["", f"Time to reach a validation accuracy (seconds of training; {result['runs']} seeds):", "",
                  "| network | target | seconds per seed |", "|---|---|---|"]
        for key, n in result["networks"].items():
            for target, times in n["time_to_val_acc"].items():
                shown = ", ".join("never" if t is None else f"{t:.0f}" for t in times)
                lines.append(f"| {key.upper()} | {target} | {shown} |")
        walls = result["wall_s"]
        lines += ["", "Whole default run (fashionmnist.py + kernel_vis.py), wall time per seed: "
                  + ", ".join(f"{w:.0f} s" for w in walls) + f" (mean {statistics.mean(walls):.0f} s); "
                  f"peak memory (largest process): {result['peak_rss_mib']:.0f} MiB"]
    return "\n".join(lines) + "\n"


def budgets(args, device: torch.device) -> dict:
    """benchmark.py --time-budgets: every CNN family of fmnist.bench.budget at every budget and seed."""
    precision = pick_precision(args.precision, device, probe=MODELS["cnn"])
    settings = default_settings("cnn", precision)
    x = to_device(torch.randn(settings.batch_size, 1, 28, 28), device)
    y = torch.randint(0, 10, (settings.batch_size,), device=device)

    def step(model_fn) -> float:
        model = model_fn().to(device, memory_format=torch.channels_last).train()
        return sum(time_passes(model, x, y, device, precision))

    where = (
        f"{device}, {provenance.cpu_model()}, {torch.get_num_threads()} threads"
        if device.type == "cpu"
        else str(device)
    )
    results = budget.execute(args.out_dir / "budget.json", Conv_Net, settings, data.load(args.data_dir), device, where,
                             args.budget_seeds, step, fresh=args.fresh)
    fig = budget.budget_figure(f"CNN families: test accuracy against training time ({precision}, {device})",
                              budget.figure_data(results), 100 * budget.TARGET, 100 * budget.FLOOR)
    storage.write_atomic(args.out_dir / "budget.png", lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    return results


def parse_args(argv=None):
    p = cli.Parser(prog="benchmark.py", doc=__doc__)
    p.add_argument("--runs", type=cli.number(int, 0, "a whole number >= 0"),
                   help="full default runs (make run's recipe), seeds 0..N-1 (0: throughput only; default 3, with "
                        "--time-budgets, --against or --jobs-ceiling 0)")
    p.add_device()
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                   help="the full runs' training precision (default auto, as make run)")
    p.add_argument("--out-dir", type=Path, default=HERE / "outputs", help="where the tables go (default outputs/)")
    p.add_argument("--time-budgets", action="store_true",
                   help="train the CNN families of fmnist/bench/budget.py at 1, 1.5 and 2x the current CNN's "
                        "training time (the full default runs then happen only with --runs)")
    p.add_argument("--data-dir", type=Path, help="--time-budgets: " + cli.DATA_HELP)
    p.add_argument("--budget-seeds", type=cli.number(int, 1, "a whole number >= 1"), default=3,
                   help="seeds per family and budget (default 3)")
    p.add_argument("--fresh", action="store_true", help="--time-budgets, --against: redo the runs already saved")
    p.add_argument("--against", metavar="COMMIT",
                   help="time this checkout's make run (each commit's own recipe: fashionmnist.py, kernel_vis.py; "
                        "float32) against COMMIT's, in turn, --pairs times")
    p.add_argument("--pairs", type=cli.number(int, 1, "a whole number >= 1"), default=3,
                   help="--against: pairs of runs (default 3)")
    p.add_argument("--jobs-ceiling", action="store_true",
                   help="time training and scoring steps of the studies' networks in one process on every core "
                        "against a process per core at 1 thread each: the most experiments.py --jobs can gain here")
    p.add_argument("--with-auto", action="store_true",
                   help="--against: a third run in each round, this checkout's make run as shipped (--precision auto)")
    p.add_renamed("--seeds", "--runs")  # experiments.py's --seeds is seeds per row, not runs
    p.add_renamed("--budgets", "--time-budgets")  # experiments.py's --budget is the data a study trains on
    args = p.parse_args(argv)
    if args.runs is None:
        args.runs = 0 if args.time_budgets or args.against or args.jobs_ceiling else 3
    if args.against:
        try:
            against.resolve(args.against)  # before the minute of throughput
        except storage.UserError as err:
            p.error(f"--against: {err}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    return cli.run_script("benchmark.py", run, args, (data.DataError,),
                          "the finished runs are kept; the same command goes on from there")


def run(args) -> int:
    device = pick_device(args.device)
    peak = matmul_peak(device)
    speed = {key: {p: throughput(key, device, p) for p in precisions(device)} for key in ("ffn", "cnn")}
    print(f"matmul peak {peak:.0f} GFLOP/s; " + "; ".join(
        f"{k.upper()} {p} fwd {v['forward_gflops']:.1f} / bwd {v['backward_gflops']:.1f} GFLOP/s"
        for k, by in speed.items() for p, v in by.items()), flush=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    budget_file, against_file = args.out_dir / "budget.json", args.out_dir / "against.json"
    jobs_file = args.out_dir / "jobs.json"
    ceiling_running = False
    try:
        if args.jobs_ceiling:
            began, ceiling_running = time.perf_counter(), True
            ceiling = jobs.measure(cores())
            ceiling.update(machine=f"{provenance.cpu_model()}, torch {torch.__version__}", measured=provenance.now())
            storage.save_json(ceiling, jobs_file)
            ceiling_running = False
            print(f"wrote {jobs_file} in {time.perf_counter() - began:.0f} s", flush=True)
        if args.time_budgets:
            budgets(args, device)
        if args.against:
            against.execute(against_file, args.against, args.pairs, fresh=args.fresh, with_auto=args.with_auto)
        found = budget.load(budget_file) if budget_file.exists() and device.type == "cpu" else None
        compared = against.load(against_file) if against_file.exists() and device.type == "cpu" else None
        ceilings = jobs.load(jobs_file) if device.type == "cpu" else None
    except KeyboardInterrupt:
        print(
            "\ninterrupted: "
            + (
                "--jobs-ceiling stopped before it finished; jobs.json is as it was"
                if ceiling_running
                else f"the finished runs are kept in {budget_file if args.time_budgets else against_file}; "
                "the same command goes on from there"
            ),
            file=sys.stderr,
        )
        return 130
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in range(args.runs):
            runs.append(full_run(seed, device.type, Path(scratch), args.precision))
            r = runs[-1]
            print(f"seed {seed}: FFN {100 * r['networks']['ffn']['test']['accuracy']:.2f}%  "
                  f"CNN {100 * r['networks']['cnn']['test']['accuracy']:.2f}%  wall {r['wall_s']:.0f} s", flush=True)
    result = summarise(runs, peak, speed)
    result["device"] = f"{device} ({provenance.cpu_model()})"
    result["precision"] = runs[0]["networks"]["cnn"]["config"].get("precision", "fp32") if runs else None
    table = markdown(result, result["device"])
    if found:
        table += "\n" + "\n".join(budget.markdown(found)) + "\n\n![test accuracy against training time](budget.png)\n"
    if compared:
        table += "\n" + "\n".join(against.markdown(compared)) + "\n"
    if ceilings:
        table += "\n" + "\n".join(jobs.markdown(ceilings)) + "\n"
    print(table)
    suffix = "" if device.type == "cpu" else f"_{device.type}"
    storage.write_text(args.out_dir / f"benchmark{suffix}.md", table)
    storage.save_json(result, args.out_dir / f"benchmark{suffix}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
