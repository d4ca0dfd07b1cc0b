"""The package's layout holds: imports run one way, and no module borrows another's private names.

fmnist/core/ is the shared machinery; every other folder of fmnist/ serves one script. A
script imports the core and its own folder; a folder imports the core and itself (the reports
may read the studies); the core imports no folder. Nothing under fmnist/ imports a script.
"""
import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"core", "handin", "analysis", "studies", "reports", "bench"}
SCRIPTS = {"fashionmnist": {"handin"}, "kernel_vis": {"handin"}, "analyze": {"analysis"},
           "experiments": {"studies"}, "train": {"studies"}, "report": {"reports"}, "benchmark": {"bench"}}
MAY_ALSO_READ = {"reports": {"studies", "handin"}, "bench": {"studies"}}  # bench times the studies' networks
MODELS = {"ffn", "cnn"}  # the assignment's two model files: leaves, importable from anywhere


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(absolute module, names imported from it, line) of every import in `path`."""
    tree = ast.parse(path.read_text())
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.append((module, [a.name for a in node.names], node.lineno))
    return found


def folder_of(module: str, names: list[str]) -> set[str]:
    """The fmnist folders an import reaches (`from fmnist import core` reaches core)."""
    parts = module.split(".")
    if parts[0] != "fmnist":
        return set()
    if len(parts) > 1:
        return {parts[1]}
    return {n for n in names if n in FOLDERS} | ({"?"} if set(names) - FOLDERS else set())


def package_files() -> list[Path]:
    return sorted((ROOT / "fmnist").rglob("*.py"))


def test_the_package_has_one_folder_per_script_over_the_core():
    folders = {p.parent.name for p in package_files() if p.parent != ROOT / "fmnist"}
    assert folders == FOLDERS
    assert [p.name for p in (ROOT / "fmnist").glob("*.py")] == ["__init__.py"]  # no loose modules
    assert {v for values in SCRIPTS.values() for v in values} == FOLDERS - {"core"}


def test_imports_run_one_way():
    wrong = []
    for path in package_files():
        mine = path.relative_to(ROOT / "fmnist").parts[0]
        allowed = {"core"} | ({mine} | MAY_ALSO_READ.get(mine, set()) if mine != "core" else set())
        for module, names, line in imports(path):
            top = module.split(".")[0]
            if top in SCRIPTS:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports the script {top}.py")
            reached = folder_of(module, names) - allowed
            if reached:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({mine}) imports {module} {names} ({reached})")
    for script, own in SCRIPTS.items():
        path = ROOT / f"{script}.py"
        for module, names, line in imports(path):
            if module.split(".")[0] in SCRIPTS:
                wrong.append(f"{script}.py:{line} imports the script {module}")
            reached = folder_of(module, names) - {"core"} - own
            if reached:
                wrong.append(f"{script}.py:{line} imports {module} {names} ({reached})")
    assert wrong == []


def test_the_rule_catches_a_wrong_import(tmp_path, monkeypatch):
    """The walk above is not vacuous: a core module importing a folder, or a folder importing a
    script, is found."""
    fake = tmp_path / "fmnist" / "core"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("from fmnist.handin import answers\nfrom ..studies.engine import Study\nimport "
                                 "fashionmnist\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = imports(fake / "bad.py")
    assert [folder_of(m, n) for m, n, _ in found] == [{"handin"}, {"studies"}, set()]
    assert found[2][0].split(".")[0] in SCRIPTS


def private_uses(path: Path) -> list[str]:
    """Every private name (one leading underscore) that `path` imports from, or reaches through,
    a module of the package: `from fmnist.x import _y`, `x._y` after `from fmnist import x` or
    `from . import x`, and `fmnist.x._y` after `import fmnist.x`."""
    tree = ast.parse(path.read_text())
    private = lambda name: name.startswith("_") and not name.startswith("__")  # noqa: E731
    found, modules = [], set()
    for module, names, line in imports(path):
        if module.split(".")[0] == "fmnist":
            found += [f"{path.name}:{line} imports {name} from {module}" for name in names if private(name)]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] == "fmnist"):
            modules |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name.split(".")[0] for a in node.names if a.name.split(".")[0] == "fmnist"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in modules:
                found.append(f"{path.name}:{node.lineno} uses {ast.unparse(node)}")
    return found


def test_no_module_borrows_another_modules_private_names():
    everything = package_files() + sorted(ROOT.glob("*.py")) + sorted((ROOT / "tests").glob("*.py"))
    borrowed = [use for path in everything for use in private_uses(path)]
    assert borrowed == []


def test_the_private_name_rule_catches_each_way_of_borrowing(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from fmnist.core.storage import _problem\nfrom fmnist.core import training\n"
                   "import fmnist.core.storage\nfrom . import plotting\n"
                   "training._lr_factor(1, 2, 0.2)\nfmnist.core.storage._kind(1)\nplotting._x\nobject()._fine\n")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    try:
        uses = private_uses(bad)
    finally:
        monkeypatch.undo()
    assert len(uses) == 4 and all("_fine" not in u for u in uses)


LONGEST = 410  # lines: a module one reads in a sitting ("about 400")


def test_every_module_is_short_enough_to_read_in_a_sitting():
    files = package_files() + sorted(ROOT.glob("*.py"))
    long = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text().splitlines())) > LONGEST}
    assert not long, f"modules over {LONGEST} lines, to be cut along their seams: {long}"
