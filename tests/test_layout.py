"""The layout holds: imports run from higher floors down only, the runtime never reaches into
the developer tools, and the declared dependencies are exactly what the code imports."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The command line and the demo sit on top of the library and the gateway.
_TOP = ("ledger_node.cli", "ledger_node.demo")

#: ``(package, exempt subpackages, forbidden)``: no module of ``package`` but those of the
#: exempt subpackages may import the forbidden ones (higher floors, the service that runs on
#: the library, the developer tools).
RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("ledger_node.records", (), ("ledger_node.chain", "ledger_node.verify", "ledger_node.audit")),
    ("ledger_node.chain", (), ("ledger_node.verify", "ledger_node.audit", *_TOP)),
    ("ledger_node.verify", (), ("ledger_node.audit", *_TOP)),
    ("ledger_node.audit", (), _TOP),
    ("ledger_node", _TOP, ("gateway",)),
    ("ledger_node", (), ("taxledger_dev",)),
    ("gateway", (), ("taxledger_dev", *_TOP)),
)


def _modules(package: str) -> list[tuple[str, Path]]:
    base = ROOT.joinpath(*package.split("."))
    found = []
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found.append((".".join(p for p in parts if p != "__init__"), path))
    return found


def _imports(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, at any depth (lazy imports inside functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = module.split(".")[: -node.level]
                names.add(".".join([*base, node.module] if node.module else base))
            elif node.module is not None:
                names.add(node.module)
    return names


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@pytest.mark.parametrize(
    ("package", "exempt", "forbidden"), RULES, ids=[f"{r[0]}-{r[2][0]}" for r in RULES]
)
def test_no_import_runs_from_a_lower_floor_up(
    package: str, exempt: tuple[str, ...], forbidden: tuple[str, ...]
) -> None:
    wrong = [
        f"{module} imports {name}"
        for module, path in _modules(package)
        if not _within(module, exempt)
        for name in _imports(path, module)
        if _within(name, forbidden)
    ]
    assert wrong == []


def _distributions(folders: tuple[str, ...]) -> set[str]:
    """The distributions whose modules the code in ``folders`` imports (not the stdlib, not
    the project's own packages)."""
    owners = packages_distributions()
    # The project's packages, and test modules that tests import by their own name.
    own = {"ledger_node", "gateway", "taxledger_dev", "tests"}
    own |= {path.stem for path in (ROOT / "tests").rglob("*.py")}
    found = set()
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name in _imports(path, "x"):
                top = name.split(".")[0]
                if not top or top in own or top in sys.stdlib_module_names or top == "conftest":
                    continue
                found.update(_normalise(d) for d in owners.get(top, [top]))
    return found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(requirements: list[str]) -> set[str]:
    return {_normalise(re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0]) for r in requirements}


def test_runtime_dependencies_are_exactly_what_the_runtime_imports() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert _declared(project["dependencies"]) == _distributions(("ledger_node", "gateway"))


def test_what_the_tools_and_tests_import_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _declared(project["dependencies"]) | _declared(
        project["optional-dependencies"]["dev"]
    )
    imported = _distributions(("taxledger_dev", "scripts", "tests"))
    assert imported - declared == set()
