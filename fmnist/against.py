"""Today's default run against an earlier commit's (benchmark.py --against COMMIT): is
`make run` slower than it was, on this machine, in float32?

Each pair runs both commits' `make run`, as that commit's Makefile has it (the lines of its
`run:` recipe, e.g. `python fashionmnist.py --no-pdf` then `python kernel_vis.py`), with this
Python, into an empty scratch folder: the earlier one from a git worktree of its commit,
today's from this checkout, both in float32 (the earlier commit gets --precision only if it
has the option; before it, it trained in float32 alone). Which goes first alternates (ABBA),
so a slow spell of a shared machine falls on both alike. Pairs are saved one by one to
against.json (Ctrl-C keeps the finished ones; the same command goes on from there, but only
with the same commits on the same machine). The verdict is the package's one rule
(studies.stats): slower or faster only where the 95 % interval of the per-pair differences
excludes zero, and it is said for the whole run and for its time outside training.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import provenance, storage
from .studies import stats

ROOT = Path(__file__).resolve().parent.parent
SIDES = ("earlier", "today")


def _git(*args: str, cwd: Path = ROOT) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as err:
        raise storage.UserError(f"--against needs git and this checkout's history: {err}") from None
    if done.returncode != 0:
        raise storage.UserError(f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")
    return done.stdout.strip()


def resolve(commit: str) -> str:
    """The full hash of `commit`, or a UserError saying why there is none."""
    return _git("rev-parse", "--verify", f"{commit}^{{commit}}")


def load(path: Path) -> dict:
    return storage.read_json(path, "delete it or run python benchmark.py --against COMMIT --fresh")


def order(pair: int) -> tuple[str, str]:
    """Which side runs first in pair 0, 1, 2, ...: earlier, today, today, earlier, earlier, ..."""
    return SIDES if pair % 4 in (0, 3) else SIDES[::-1]


SCRIPTS = ("fashionmnist.py", "kernel_vis.py")


def recipe(code: Path, out: Path, precision_flag: bool) -> list[list[str]]:
    """The commands of `make run` in the Makefile of `code`, for this Python, writing to `out`:
    each `$(PY) script args` line of its `run:` recipe, with --out-dir (and kernel_vis.py's
    --checkpoint) pointing at `out` and, with `precision_flag`, fashionmnist.py in float32.
    Without a Makefile or such lines: plain fashionmnist.py, then kernel_vis.py."""
    makefile = code / "Makefile"
    text = makefile.read_text() if makefile.exists() else ""
    lines, inside = [], False
    for line in text.splitlines():
        if inside and line.startswith("\t"):
            lines.append(line.split())
        else:
            inside = line.startswith("run:")
    commands = [words[1:] for words in lines if words[:1] == ["$(PY)"] and words[1:2] and words[1] in SCRIPTS]
    if lines and len(commands) != len(lines):
        raise storage.UserError(f"{makefile}: make run's recipe is not only $(PY) {' / '.join(SCRIPTS)} lines")
    commands = commands or [[script] for script in SCRIPTS]
    for words in commands:
        if words[0] == "fashionmnist.py" and precision_flag:
            words += ["--precision", "fp32"]
        if words[0] == "kernel_vis.py":
            words += ["--checkpoint", str(out / "cnn.pth")]
        words += ["--out-dir", str(out)]
    return [[sys.executable, *words] for words in commands]


def default_run(code: Path, out: Path, precision_flag: bool) -> dict:
    """`make run` of the code in `code` (its recipe), into `out`: the wall time of all of it,
    and the seconds the two networks trained (from metrics.json)."""
    start = time.perf_counter()
    for cmd in recipe(code, out, precision_flag):
        done = subprocess.run(cmd, cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise storage.UserError(f"{' '.join(cmd[1:2])} in {code} failed: {done.stderr.strip()[-500:]}")
    wall = time.perf_counter() - start
    networks = json.loads((out / "metrics.json").read_text())["networks"]
    return {"wall_s": wall, "train_s": sum(n["train_seconds"] for n in networks.values()),
            "test_acc": {k: n["test"]["accuracy"] for k, n in networks.items()}}


def execute(path: Path, commit: str, pairs: int, fresh: bool = False, log=print) -> dict:
    """Run `pairs` pairs (those already in `path` for the same commits and machine are kept)."""
    earlier = resolve(commit)
    today = provenance.git_state()
    machine = f"{provenance.cpu_model()}, {os.cpu_count()} cores"
    key = {"earlier": earlier, "today": today["commit"], "today_dirty": today["dirty"], "machine": machine}
    results = load(path) if path.exists() and not fresh else {}
    if {k: results.get(k) for k in key} != key:
        results = {**key, "started": provenance.now(), "pairs": []}
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "earlier"
        _git("worktree", "add", "--detach", str(tree), earlier)
        try:
            has_flag = "--precision" in (tree / "fashionmnist.py").read_text()
            code = {"earlier": tree, "today": ROOT}
            for pair in range(len(results["pairs"]), pairs):
                sides = order(pair)
                runs = {side: default_run(code[side], Path(scratch) / f"{side}{pair}",
                                          precision_flag=side == "today" or has_flag) for side in sides}
                results["pairs"].append({"first": sides[0], **runs})
                storage.save_json(results, path)  # Ctrl-C keeps every finished pair
                log(f"pair {pair + 1}/{pairs}: earlier {runs['earlier']['wall_s']:.1f} s, "
                    f"today {runs['today']['wall_s']:.1f} s ({sides[0]} first)")
        finally:
            _git("worktree", "remove", "--force", str(tree))
    return results


def markdown(results: dict) -> list[str]:
    """The pairs' table and the verdicts, for benchmark.md."""
    pairs = results["pairs"]
    short = results["earlier"][:7]
    lines = [f"### The default run in float32: today ({results['today'][:7]}"
             f"{', with uncommitted changes' if results.get('today_dirty') else ''}) against {short}", "",
             f"{results['machine']}; started {results['started']}; each pair runs both in turn, "
             "the first alternating (ABBA).", "",
             "| pair | first | earlier: whole run | training | today: whole run | training | today minus earlier |",
             "|---|---|---|---|---|---|---|"]
    for i, p in enumerate(pairs, start=1):
        e, t = p["earlier"], p["today"]
        lines.append(f"| {i} | {p['first']} | {e['wall_s']:.1f} s | {e['train_s']:.1f} s | {t['wall_s']:.1f} s | "
                     f"{t['train_s']:.1f} s | {t['wall_s'] - e['wall_s']:+.1f} s |")
    lines.append("")
    for what, measure in (("the whole run", lambda r: r["wall_s"]),
                          ("the time outside training", lambda r: r["wall_s"] - r["train_s"])):
        diff = stats.paired({i: measure(p["earlier"]) for i, p in enumerate(pairs)},
                            {i: measure(p["today"]) for i, p in enumerate(pairs)})
        lines.append(f"- {stats.sentence(what)}: {verdict(diff, short, statistics.mean(measure(p['earlier']) for p in pairs))}.")
    return lines


def verdict(diff: dict, earlier: str, base: float) -> str:
    """One sentence for paired(earlier, today) seconds: faster, slower, or no difference detected
    (with the most the interval allows today to be slower)."""
    n = diff["n"]
    said = f"today minus {earlier} {diff['mean']:+.1f} s ({100 * diff['mean'] / base:+.1f} %)"
    if diff["low"] is None:
        return f"{said} from a single pair: no interval, so no verdict (run at least 3 pairs)"
    ci = f"95 % CI {diff['low']:+.1f} to {diff['high']:+.1f} s, {n} pairs"
    if diff["high"] < 0:
        return f"today faster than {earlier} by {-diff['mean']:.1f} s ({ci})"
    if diff["low"] > 0:
        return f"today slower than {earlier} by {diff['mean']:.1f} s ({ci})"
    return (f"no difference detected at {n} pairs ({said}; {ci}): today is at most "
            f"{max(0.0, diff['high']):.1f} s slower")
