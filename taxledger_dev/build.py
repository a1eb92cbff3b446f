"""Compile the Solidity sources into the artifacts the package ships.

One standard-JSON input serves every compiler: the sources (with their OpenZeppelin imports
inlined as ``content``) and the settings of ``contracts/compiler.json``, which Hardhat reads too.
A native ``solc`` of the pinned version is used through py-solc-x when one is installed;
otherwise the npm ``solc`` (solc-js) runs under Node. Both give the same bytecode because the
metadata hash is left out of it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger_node.contracts import SHIPPED_CONTRACTS
from ledger_node.errors import Error

_IMPORT = re.compile(r'^\s*import\s+(?:\{[^}]*\}\s+from\s+)?"([^"]+)"\s*;', re.MULTILINE)
_OUTPUTS = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]


class CompileError(Error):
    """The compiler failed or reported errors."""


@dataclass(frozen=True)
class CheckResult:
    """Outcome of comparing committed artifacts with a fresh compile."""

    stale: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.stale


def compiler_config(root: Path) -> dict[str, Any]:
    """The pinned compiler version and settings shared with Hardhat."""
    config: dict[str, Any] = json.loads((root / "contracts" / "compiler.json").read_text())
    return config


def standard_json_input(root: Path, entry_points: list[str] | None = None) -> dict[str, Any]:
    """The standard-JSON input for the deployable contracts and everything they import."""
    entries = entry_points or [f"contracts/{name}.sol" for name in SHIPPED_CONTRACTS]
    sources: dict[str, dict[str, str]] = {}
    pending = list(entries)
    while pending:
        unit = pending.pop()
        if unit in sources:
            continue
        text = _resolve(root, unit).read_text(encoding="utf-8")
        sources[unit] = {"content": text}
        for target in _IMPORT.findall(text):
            pending.append(_unit_name(unit, target))
    settings = dict(compiler_config(root)["settings"])
    settings["outputSelection"] = {"*": {"*": _OUTPUTS}}
    return {"language": "Solidity", "sources": dict(sorted(sources.items())), "settings": settings}


def compile_contracts(root: Path) -> dict[str, dict[str, Any]]:
    """Compile and return the artifact document of every shipped contract, by name."""
    config = compiler_config(root)
    output = run_compiler(root, config["version"], standard_json_input(root))
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    artifacts = {}
    for name in SHIPPED_CONTRACTS:
        contract = output["contracts"][f"contracts/{name}.sol"][name]
        artifacts[name] = {
            "contractName": name,
            "sourceName": f"contracts/{name}.sol",
            "compiler": {"version": config["version"], "settings": config["settings"]},
            "abi": contract["abi"],
            "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
        }
    return artifacts


def render(artifact: dict[str, Any]) -> str:
    """The artifact as committed: stable key order, two-space indent, final newline."""
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def build(root: Path, out_dir: Path) -> list[Path]:
    """Compile and write the artifacts to ``out_dir``; return the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, artifact in compile_contracts(root).items():
        path = out_dir / f"{name}.json"
        path.write_text(render(artifact), encoding="utf-8")
        written.append(path)
    return written


def check(root: Path, out_dir: Path) -> CheckResult:
    """Compare the artifacts in ``out_dir`` with a fresh compile."""
    stale = []
    for name, artifact in compile_contracts(root).items():
        path = out_dir / f"{name}.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != render(artifact):
            stale.append(name)
    return CheckResult(tuple(stale))


def _unit_name(importer: str, target: str) -> str:
    if target.startswith("."):
        parts = [*importer.split("/")[:-1]]
        for piece in target.split("/"):
            if piece == "..":
                parts.pop()
            elif piece != ".":
                parts.append(piece)
        return "/".join(parts)
    return target


def _resolve(root: Path, unit: str) -> Path:
    for base in (root, root / "node_modules"):
        path = base / unit
        if path.is_file():
            return path
    raise CompileError(f"cannot find Solidity source {unit!r} (did `npm ci` run?)")


def run_compiler(
    root: Path, version: str, job: dict[str, Any], *, solcjs_package: str = "solc"
) -> dict[str, Any]:
    """Run a standard-JSON ``job`` through a native solc of ``version`` if one is installed,
    else through the npm package ``solcjs_package`` (which must be that version)."""
    native = _native_solc(version)
    if native is not None:
        import solcx

        result: dict[str, Any] = solcx.compile_standard(job, solc_binary=native)
        return result
    return _run_solcjs(root, version, job, solcjs_package)


def _native_solc(version: str) -> str | None:
    """A native solc of exactly ``version``, from py-solc-x's store or the PATH."""
    try:
        import solcx
        from solcx.install import get_executable

        for installed in solcx.get_installed_solc_versions():
            if str(installed) == version:
                return str(get_executable(installed))
    except Exception:  # noqa: S110 - no py-solc-x store: fall through to the PATH
        pass
    found = shutil.which("solc")
    if found is None:
        return None
    banner = subprocess.run([found, "--version"], capture_output=True, text=True, check=False)
    return found if f"Version: {version}+" in banner.stdout else None


def _run_solcjs(
    root: Path, version: str, job: dict[str, Any], package: str = "solc"
) -> dict[str, Any]:
    node = root / "node_modules" / ".bin" / "node"
    solc_pkg = root / "node_modules" / package / "package.json"
    if not solc_pkg.is_file():
        raise CompileError(
            f"npm package `{package}` is not installed; run `npm ci` in the checkout"
        )
    installed = json.loads(solc_pkg.read_text())["version"]
    if installed != version:
        raise CompileError(f"npm {package} is solc {installed}, the build pins {version}")
    node_exe = str(node) if node.exists() else "node"
    with tempfile.TemporaryDirectory() as tmp:
        job_file, out_file = Path(tmp) / "input.json", Path(tmp) / "output.json"
        job_file.write_text(json.dumps(job))
        # Output goes to a file: solc-js output read through a pipe can be cut at 64 KiB.
        script = (
            "const fs=require('fs');const solc=require(process.argv[3]);"
            "fs.writeFileSync(process.argv[2],solc.compile(fs.readFileSync(process.argv[1],'utf8')));"
        )
        proc = subprocess.run(
            [node_exe, "-e", script, str(job_file), str(out_file), package],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not out_file.exists():
            raise CompileError(f"solc-js failed: {proc.stderr.strip() or proc.stdout.strip()}")
        result: dict[str, Any] = json.loads(out_file.read_text())
        return result
