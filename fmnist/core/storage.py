"""Files in and out without losing anything: staged outputs, safe checkpoint loading.

A run writes every output into a hidden staging folder inside the output directory and
moves them into place only when the whole run has succeeded, so a crash, a Ctrl-C or a
diverging loss leaves the previous complete results untouched and no partial files.
"""
import contextlib
import datetime
import errno
import json
import os
import pickle
import shutil
import signal
import socket
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

MIN_FREE_BYTES = 64 * 2**20  # weights + figures + PDF take well under this


class UserError(Exception):
    """A problem the user can fix; the scripts print its message on one line, no traceback."""


FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # the device (or the user's quota) has no room


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n < 10 * 2**30 else f"{n / 2**30:.1f} GiB"


def disk_full(path: Path, needed: int | None = None, what: str | None = None) -> UserError:
    """The one line for a write that found no room: the file (or `what` was written), the space it
    needs (where known) and the space free there."""
    path = Path(path)
    try:
        free = mib(shutil.disk_usage(path.parent if path.parent.exists() else ".").free)
    except OSError:
        free = "unknown"
    need = f"it needs {mib(needed)}" if needed else "it needs more"
    return UserError(f"no space left on the device for {what or path} ({need}, {free} free there); the files it would "
                     "have replaced are as they were: free some space and run the same command again")


def is_full(err: BaseException) -> bool:
    """Whether `err` is a write that found no room: an OSError with ENOSPC (or a quota), or the
    RuntimeError torch.save raises for one ("... failed writing file ...")."""
    if isinstance(err, OSError):
        return err.errno in FULL
    return isinstance(err, RuntimeError) and ("No space left" in str(err) or "failed writing file" in str(err))


def check_out_dir(path: Path) -> Path:
    """Create `path` if needed and prove it can take a run's files, before any training."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"output directory {path} is a file, not a directory; pass another --out-dir")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"0" * 4096)
        probe.unlink()
    except OSError as err:
        raise UserError(f"output directory {path} cannot be written ({err.strerror}); "
                        "pass another --out-dir") from None
    free = shutil.disk_usage(path).free
    if free < MIN_FREE_BYTES:
        raise UserError(f"output directory {path} has only {free // 2**20} MiB free, "
                        f"a run needs {MIN_FREE_BYTES // 2**20} MiB; free some space or pass another --out-dir")
    return path


# --- one writer per output directory -------------------------------------------------------------
LOCK = ".lock"  # in the output directory, while a script writes there: who holds it, as JSON


def process_started(pid: int) -> str | None:
    """When process `pid` started (Linux: /proc's start time in clock ticks), to tell a live holder
    from a new process that reuses its PID; None where it cannot be read."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(holder: dict) -> bool:
    """Whether the process named in a lock still runs (on another machine: assumed so)."""
    if holder.get("host") != socket.gethostname():
        return True
    pid = holder.get("pid")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, TypeError, OverflowError):
        return isinstance(pid, int)
    return holder.get("started") is None or process_started(pid) in (None, holder["started"])


def _holder_words(holder: dict) -> str:
    where = "" if holder.get("host") == socket.gethostname() else f" on {holder.get('host')}"
    return f"PID {holder.get('pid')}{where}, {holder.get('command', 'an unknown command')}, since {holder.get('since')}"


_HELD: dict = {}  # the locks this process holds: {lock path: depth}, so a script called inside another is let in


@contextlib.contextmanager
def out_dir_lock(out_dir: Path | None, command: str, log=lambda line: print(line, file=sys.stderr)):
    """Hold `out_dir`'s lock while a script writes there. A second script (another process) that
    asks for it is refused in one line naming the holder; a lock whose holder is gone (killed,
    the machine restarted) is taken over with a line saying so. A directory that cannot be
    created or written is left to the script's own check, which explains it."""
    if out_dir is None:
        yield
        return
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    except OSError:
        yield  # not a directory, or not writable: the script's own check says so in one line
        return
    path = Path(out_dir) / LOCK
    key = str(path.resolve())
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": process_started(os.getpid()), "command": command,
          "since": datetime.datetime.now().isoformat(timespec="seconds")}
    for _ in range(2):  # a stale lock is removed once, then taken like a free one
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                holder = json.loads(path.read_text())
                holder = holder if isinstance(holder, dict) else {}
            except (OSError, ValueError):
                holder = {}
            if holder and not _alive(holder):
                log(f"{command}: took over {path} from {_holder_words(holder)}, which is no longer running")
                path.unlink(missing_ok=True)
                continue
            who = _holder_words(holder) if holder else "a process whose lock file cannot be read"
            raise UserError(f"{out_dir} is being written by {who}; wait for it to finish, pass another --out-dir, "
                            f"or delete {path} if that process is gone") from None
        except OSError:
            yield  # a read-only or full directory: the script's own check says so
            return
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(me) + "\n")
        break
    else:
        raise UserError(f"{out_dir}: another script took its lock at the same moment; run the command again")
    _HELD[key] = 1
    try:
        yield
    finally:
        del _HELD[key]
        try:
            if json.loads(path.read_text()).get("pid") == me["pid"]:
                path.unlink()
        except (OSError, ValueError):
            pass


@contextlib.contextmanager
def staged(out_dir: Path):
    """Yield a staging folder; on success move its files into `out_dir`, else delete it."""
    stage = Path(out_dir) / f".staging-{os.getpid()}"
    stage.mkdir()
    try:
        yield stage
    except BaseException as err:
        shutil.rmtree(stage, ignore_errors=True)
        if is_full(err):  # a full disk while the outputs were written: the earlier ones are untouched
            raise disk_full(stage, what=f"the new outputs in {out_dir}") from None
        raise
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the moves are not to be cut short
    try:
        for item in sorted(stage.iterdir()):
            target = Path(out_dir) / item.name
            if item.is_dir() and target.is_dir():  # a folder of figures: swap it whole
                old = stage / f".old-{item.name}"
                os.replace(target, old)
                os.replace(item, target)
                shutil.rmtree(old)
            else:
                os.replace(item, target)
        stage.rmdir()
    finally:
        signal.signal(signal.SIGINT, previous)


def write_atomic(path: Path, write: Callable[[Path], None], needed: int | None = None) -> None:
    """write(tmp) beside `path`, then rename over it: readers see the old file or the new, whole.
    A disk that fills on the way is one line (disk_full; `needed`: the bytes the file takes, where
    the caller knows them) and leaves the old file as it was."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as err:
        if is_full(err):
            raise disk_full(path, needed) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """A text file written whole or not at all (write_atomic), its size known for the message."""
    write_atomic(path, lambda tmp: tmp.write_text(text), len(text.encode()))


def save_weights(model: nn.Module, path: Path) -> None:
    """A model's plain state_dict (on the CPU), written whole or not at all."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    needed = sum(v.numel() * v.element_size() for v in state.values())
    write_atomic(Path(path), lambda tmp: torch.save(state, tmp), needed)


def write_predictions(predictions, path: Path) -> Path:
    """Predicted classes as the Kaggle CSV spec 000 asks for: a header `id,label`, then one row per
    test image in test-set order, `id` from 0; written whole or not at all."""
    write_text(Path(path), "id,label\n" + "".join(f"{i},{int(p)}\n" for i, p in enumerate(predictions)))
    return Path(path)


def write_json(obj, path: Path) -> None:
    path.write_text(json.dumps(obj, indent=1) + "\n")


def save_json(obj, path: Path) -> None:
    """write_json, whole or not at all (beside it, then renamed): Ctrl-C or a full disk keeps the
    file as it was."""
    write_text(path, json.dumps(obj, indent=1) + "\n")


def read_json(path: Path, remake: str = "delete it or run python fashionmnist.py again"):
    """The parsed file ({} if there is none); damaged JSON is one line naming the file and `remake`."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise UserError(f"{path} cannot be read ({err}); {remake}") from None


# --- the shape of the package's own JSON files --------------------------------------------------
# A schema is a type (or a tuple of types), a dict of keys (a key ending in "?" may be absent),
# a one-item list (every item has that shape) or Each (an object of any keys, every value alike).

NUMBER = (int, float)
NULL = type(None)


class Each:
    def __init__(self, schema, keyed_by: str):
        self.schema, self.keyed_by = schema, keyed_by


KINDS = {dict: "an object", list: "a list", str: "a string", NULL: "null", int: "a number", float: "a number",
         bool: "true/false"}


def _kind(value) -> str:
    return KINDS.get(type(value), type(value).__name__)


def _expected(schema) -> str:
    if isinstance(schema, Each):
        return f"an object keyed by {schema.keyed_by}"
    if isinstance(schema, (dict, list)):
        return KINDS[type(schema)]
    kinds = schema if isinstance(schema, tuple) else (schema,)
    return " or ".join(dict.fromkeys(KINDS.get(k, k.__name__) for k in kinds))


def schema_problem(value, schema, where: str) -> str | None:
    """The first place where `value` does not have the shape `schema`, in words; None if it does."""
    if isinstance(schema, (dict, Each)):
        if not isinstance(value, dict):
            return f"`{where}` is {_kind(value)}, expected {_expected(schema)}"
        items = ([(k, schema.schema, False) for k in value] if isinstance(schema, Each)
                 else [(k.rstrip("?"), v, k.endswith("?")) for k, v in schema.items()])
        for key, sub, optional in items:
            if key not in value:
                if not optional:
                    return f"`{where + '.' if where else ''}{key}` is missing"
                continue
            found = schema_problem(value[key], sub, f"{where + '.' if where else ''}{key}")
            if found:
                return found
        return None
    if isinstance(schema, list):
        if not isinstance(value, list):
            return f"`{where}` is {_kind(value)}, expected a list"
        for i, item in enumerate(value):
            found = schema_problem(item, schema[0], f"{where}[{i}]")
            if found:
                return found
        return None
    kinds = schema if isinstance(schema, tuple) else (schema,)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        return f"`{where}` is {_kind(value)}, expected {_expected(schema)}"
    return None


def load_checked(path: Path, schema, remake: str, missing_ok: bool = True):
    """Read one of the package's JSON files and check the shape its readers rely on; refuse a
    damaged or misshapen file in one line that names it, what is wrong and `remake`. A missing
    file gives {} where `missing_ok`."""
    path = Path(path)
    if not path.is_file():
        if missing_ok:
            return {}
        raise UserError(f"no {path.name} at {path}; {remake}")
    value = read_json(path, remake)
    if not isinstance(value, dict):
        raise UserError(f"{path} holds {_kind(value)}, expected an object; {remake}")
    found = schema_problem(value, schema, "")
    if found:
        raise UserError(f"{path}: {found}; {remake}")
    return value


def load_weights(model: nn.Module, path: Path, what: str, hint: str) -> nn.Module:
    """Load a plain state_dict into `model` (strict, weights_only=True) or explain what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no trained {what} at {path}: {hint}")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive
        raise UserError(f"{path} is not a PyTorch checkpoint (not a zip archive: truncated, damaged "
                        "or another kind of file)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise UserError(f"{path} holds pickled objects other than tensors; it was refused unread "
                        "(only plain state_dicts are loaded, never code)") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"{path} is not a readable PyTorch checkpoint (truncated or damaged: {reason})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{path} is not a state_dict of tensors")
    expected = model.state_dict()
    if set(state) != set(expected):
        raise UserError(f"{path} holds the weights of another network, not {what} "
                        f"({len(set(expected) - set(state))} of its {len(expected)} tensors are missing)")
    wrong = [k for k in expected if state[k].shape != expected[k].shape]
    if wrong:
        k = wrong[0]
        raise UserError(f"{path} holds {what} weights of a different size: {k} is "
                        f"{tuple(state[k].shape)}, this {what} has {tuple(expected[k].shape)}")
    model.load_state_dict(state, strict=True)
    return model
