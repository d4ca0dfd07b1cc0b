"""The package's layout holds: imports run one way, and no module borrows another's private names.

fmnist/core/ is the shared machinery; every other folder of fmnist/ serves one script. A
script imports the core and its own folder; a folder imports the core and itself (the reports
may read the studies); the core imports no folder. Nothing under fmnist/ imports a script.
"""
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"core", "handin", "analysis", "studies", "reports", "bench"}
SCRIPTS = {"fashionmnist": {"handin"}, "kernel_vis": {"handin"}, "analyze": {"analysis"},
           "experiments": {"studies"}, "report": {"reports"}, "benchmark": {"bench"}}
MAY_ALSO_READ = {"reports": {"studies"}}
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
    (fake / "bad.py").write_text("from fmnist.handin import answers\nfrom ..studies.engine import Study\nimport fashionmnist\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = imports(fake / "bad.py")
    assert [folder_of(m, n) for m, n, _ in found] == [{"handin"}, {"studies"}, set()]
    assert found[2][0].split(".")[0] in SCRIPTS


def test_no_module_borrows_another_modules_private_names():
    borrowed = []
    for path in package_files() + sorted(ROOT.glob("*.py")):
        tree = ast.parse(path.read_text())
        local_modules = set()
        for module, names, line in imports(path):
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    borrowed.append(f"{path.relative_to(ROOT)}:{line} imports {name} from {module}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fmnist"):
                local_modules |= {a.asname or a.name for a in node.names}
            elif isinstance(node, ast.Import):
                local_modules |= {a.asname or a.name for a in node.names if a.name.startswith("fmnist")}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in local_modules and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                borrowed.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert borrowed == []
