"""Today's default run against an earlier commit's (benchmark.py --against COMMIT): is
`make run` slower than it was, on this machine, in float32?

Each pair runs both commits' `make run`, as that commit's Makefile has it (the lines of its
`run:` recipe, e.g. `python fashionmnist.py --no-pdf` then `python kernel_vis.py`), with this
Python, into an empty scratch folder: the earlier one from a git worktree of its commit,
today's from this checkout, both in float32 (the earlier commit gets --precision only if it
has the option; before it, it trained in float32 alone). With `with_auto` (benchmark.py
--with-auto) each round runs today's make run as shipped (--precision auto) as well. Which goes
first alternates (ABBA; with three, every side runs first, middle and last equally often), so a
slow spell of a shared machine falls on all alike. Pairs are saved one by one to
against.json (Ctrl-C keeps the finished ones; the same command goes on from there, but only
with the same commits on the same machine). The verdict is the package's one rule
(core.stats): slower or faster only where the 95 % interval of the per-pair differences
excludes zero, and it is said for the whole run and for its time outside training (and auto's
whole run against both float32 runs).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fmnist.core import provenance, stats, storage, words

ROOT = Path(__file__).resolve().parents[2]  # the repository
SIDES = ("earlier", "today")
AUTO = "auto"  # with_auto: today's make run as shipped (--precision auto), a third run in each round
PRECISION = {"today": "fp32", AUTO: "auto"}
SHOWN = {"today": "current"}  # the words benchmark.md uses for a side: "today" is this checkout's key


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


def order(pair: int, sides: tuple = SIDES) -> tuple:
    """The order of the sides in round 0, 1, 2, ...: each rotation of `sides`, then each rotation
    reversed, so every side runs first, middle and last alike; for two sides that is ABBA
    (earlier, today, today, earlier, earlier, ...)."""
    r = pair % len(sides)
    turn = sides[r:] + sides[:r]
    return turn[::-1] if (pair // len(sides)) % 2 else turn


SCRIPTS = ("fashionmnist.py", "kernel_vis.py")


def recipe(code: Path, out: Path, precision: str | None, extra: tuple = ()) -> list[list[str]]:
    """The commands of `make run` in the Makefile of `code`, for this Python, writing to `out`:
    each `$(PY) script args` line of its `run:` recipe, with --out-dir (and kernel_vis.py's
    --checkpoint) pointing at `out` and fashionmnist.py given `--precision precision` (unless
    None: a commit without the option) and the options in `extra` (e.g. --seed 1).
    Without a Makefile or such lines: plain fashionmnist.py, then kernel_vis.py."""
    makefile = code / "Makefile"
    text = makefile.read_text() if makefile.exists() else ""
    lines, inside = [], False
    for line in text.splitlines():
        if inside and line.startswith("\t"):
            lines.append(line.split())
        else:
            inside = line.startswith("run:")
    commands = [parts[1:] for parts in lines if parts[:1] == ["$(PY)"] and parts[1:2] and parts[1] in SCRIPTS]
    if lines and len(commands) != len(lines):
        raise storage.UserError(f"{makefile}: make run's recipe is not only $(PY) {' / '.join(SCRIPTS)} lines")
    commands = commands or [[script] for script in SCRIPTS]
    for command in commands:
        if command[0] == "fashionmnist.py":
            command += (["--precision", precision] if precision else []) + list(extra)
        if command[0] == "kernel_vis.py":
            command += ["--checkpoint", str(out / "cnn.pth")]
        command += ["--out-dir", str(out)]
    return [[sys.executable, *command] for command in commands]


def default_run(code: Path, out: Path, precision: str | None) -> dict:
    """`make run` of the code in `code` (its recipe), into `out`: the wall time of all of it,
    the seconds the two networks trained and the precision they trained in (from metrics.json)."""
    start = time.perf_counter()
    for cmd in recipe(code, out, precision):
        done = subprocess.run(cmd, cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise storage.UserError(f"{' '.join(cmd[1:2])} in {code} failed: {done.stderr.strip()[-500:]}")
    wall = time.perf_counter() - start
    networks = json.loads((out / "metrics.json").read_text())["networks"]
    return {"wall_s": wall, "train_s": sum(n["train_seconds"] for n in networks.values()),
            "test_acc": {k: n["test"]["accuracy"] for k, n in networks.items()},
            "precision": networks["cnn"]["config"].get("precision", "fp32")}


def execute(path: Path, commit: str, pairs: int, fresh: bool = False, log=print, with_auto: bool = False) -> dict:
    """Run `pairs` rounds (those already in `path` for the same commits, sides and machine are
    kept): in each, the earlier commit's make run and today's in float32 and, `with_auto`,
    today's as shipped (--precision auto)."""
    earlier = resolve(commit)
    today = provenance.git_state()
    machine = f"{provenance.cpu_model()}, {os.cpu_count()} cores"
    sides = SIDES + ((AUTO,) if with_auto else ())
    key = {"earlier": earlier, "today": today["commit"], "today_dirty": today["dirty"], "machine": machine,
           "sides": list(sides)}
    results = load(path) if path.exists() and not fresh else {}
    if {k: results.get(k) for k in key} != key:
        results = {**key, "started": provenance.now(), "pairs": []}
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "earlier"
        _git("worktree", "add", "--detach", str(tree), earlier)
        try:
            has_flag = "--precision" in (tree / "fashionmnist.py").read_text()
            precision = {**PRECISION, "earlier": "fp32" if has_flag else None}
            for pair in range(len(results["pairs"]), pairs):
                turn = order(pair, sides)
                runs = {side: default_run(tree if side == "earlier" else ROOT, Path(scratch) / f"{side}{pair}",
                                          precision[side]) for side in turn}
                results["pairs"].append({"first": turn[0], **runs})
                storage.save_json(results, path)  # Ctrl-C keeps every finished round
                log(f"round {pair + 1}/{pairs}: " + ", ".join(
                    f"{side} {runs[side]['wall_s']:.1f} s" for side in sides) + f" ({turn[0]} first)")
        finally:
            _git("worktree", "remove", "--force", str(tree))
    return results


def markdown(results: dict) -> list[str]:
    """The rounds' table and the verdicts, for benchmark.md: today in float32 against the earlier
    commit (the whole run and the time outside training) and, where the rounds ran it, today as
    shipped (--precision auto) against both."""
    pairs = results["pairs"]
    sides = tuple(results.get("sides", SIDES))  # against.json from before with_auto has no "sides"
    short = results["earlier"][:7]
    head = ["earlier: whole run", "training", "current fp32: whole run", "training"]
    if AUTO in sides:
        head += ["auto: whole run", "training (precision)"]
    head += ["fp32 minus earlier"] + (["auto minus earlier"] if AUTO in sides else [])
    lines = [f"### The default run: this checkout ({results['today'][:7]}"
             f"{', with uncommitted changes' if results.get('today_dirty') else ''}) against {short}", "",
             f"{results['machine']}; started {results['started']}; each round runs "
             f"{' and '.join(SHOWN.get(s, s) for s in sides)} in turn, "
             "the order rotating and reversing (for two: ABBA).", "",
             "| round | first | " + " | ".join(head) + " |", "|---" * (len(head) + 2) + "|"]
    for i, p in enumerate(pairs, start=1):
        cells = [f"{p[side][key]:.1f} s" for side in SIDES for key in ("wall_s", "train_s")]
        if AUTO in sides:
            a = p[AUTO]
            cells += [f"{a['wall_s']:.1f} s", f"{a['train_s']:.1f} s ({a.get('precision', '?')})"]
        cells += [f"{p[side]['wall_s'] - p['earlier']['wall_s']:+.1f} s" for side in sides[1:]]
        lines.append(f"| {i} | {SHOWN.get(p['first'], p['first'])} | " + " | ".join(cells) + " |")
    lines.append("")
    whole, outside = (lambda r: r["wall_s"]), (lambda r: r["wall_s"] - r["train_s"])
    compared = [("today", "earlier", short, "the whole run", whole),
                ("today", "earlier", short, "the time outside training", outside)]
    if AUTO in sides:
        compared += [(AUTO, "earlier", short, "the whole run with --precision auto", whole),
                     (AUTO, "today", "current in fp32", "the whole run with --precision auto", whole)]
    for who, base, name, what, measure in compared:
        diff = stats.paired({i: measure(p[base]) for i, p in enumerate(pairs)},
                            {i: measure(p[who]) for i, p in enumerate(pairs)})
        mean = statistics.mean(measure(p[base]) for p in pairs)
        label = f"{what}, against {name}" if who == AUTO else what
        lines.append(f"- {words.sentence(label)}: {verdict(diff, name, mean, SHOWN.get(who, who))}.")
    return lines


def verdict(diff: dict, earlier: str, base: float, who: str = "current") -> str:
    """One sentence for paired(earlier, who) seconds: faster, slower, or no difference detected
    (with the most the interval allows `who` to be slower)."""
    n = diff["n"]
    said = f"{who} minus {earlier} {diff['mean']:+.1f} s ({100 * diff['mean'] / base:+.1f} %)"
    if diff["low"] is None:
        return f"{said} from a single pair: no interval, so no verdict (run at least 3 pairs)"
    ci = f"95 % CI {diff['low']:+.1f} to {diff['high']:+.1f} s, {n} pairs"
    if diff["high"] < 0:
        return f"{who} faster than {earlier} by {-diff['mean']:.1f} s ({100 * -diff['mean'] / base:.1f} %; {ci})"
    if diff["low"] > 0:
        return f"{who} slower than {earlier} by {diff['mean']:.1f} s ({100 * diff['mean'] / base:.1f} %; {ci})"
    return (f"no difference detected at {n} pairs ({said}; {ci}): {who} is at most "
            f"{max(0.0, diff['high']):.1f} s slower")
