"""The layers of the code, enforced (docs/architecture.md): which package may import which,
with relative imports resolved, which outside libraries each may use, and modules of at
most 400 lines. The checker is tried on a planted violation of each kind, so it is known to
be able to fail."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "appliance"
MAX_LINES = 400

_COMMON = ("appliance", "appliance.errors", "appliance.domain")
_FACES = (
    *_COMMON,
    "appliance.adapters",
    "appliance.web",
    "appliance.logs",
    "appliance.configuration",
    "appliance.guardian",
)
_GUARDIAN_CORE = (*_COMMON, "appliance.guardian.ports", "appliance.guardian.state")
# The most specific prefix of a module decides which modules of ours it may import.
ALLOWED: dict[str, tuple[str, ...]] = {
    "appliance": _COMMON,
    "appliance.errors": (),
    "appliance.logs": (),
    "appliance.healthcheck": (),
    "appliance.domain": ("appliance.errors", "appliance.domain"),
    "appliance.adapters": (*_COMMON, "appliance.adapters"),
    "appliance.web": (*_COMMON, "appliance.web"),
    "appliance.configuration": (*_COMMON, "appliance.configuration"),
    "appliance.server": (
        *_COMMON,
        "appliance.adapters",
        "appliance.web",
        "appliance.logs",
        "appliance.configuration",
        "appliance.healthcheck",
        "appliance.server",
    ),
    "appliance.guardian": _FACES,
    "appliance.guardian.ports": _COMMON,
    "appliance.guardian.state": _GUARDIAN_CORE,
    "appliance.guardian.settings_store": _GUARDIAN_CORE,
    "appliance.guardian.jobs": (*_GUARDIAN_CORE, "appliance.logs", "appliance.guardian.jobs"),
    "appliance.guardian.watch": (
        *_GUARDIAN_CORE,
        "appliance.guardian.settings_store",
        "appliance.guardian.jobs.listing",
        "appliance.guardian.jobs.remote",
        "appliance.guardian.watch",
    ),
}
_IO = {"paramiko", "mysql", "docker", "flask", "waitress", "smtplib", "subprocess", "socket", "requests", "urllib"}
FORBIDDEN_LIBRARIES: dict[str, set[str]] = {
    "appliance.domain": _IO | {"jinja2", "prometheus_client", "zipfile", "shutil", "tomllib"},
    "appliance.guardian.ports": _IO,
    "appliance.guardian.state": _IO,
    "appliance.guardian.jobs": _IO,
    "appliance.guardian.watch": _IO,
}


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, relative imports resolved against ``module``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if node.module is None or node.level:
                names.update(f"{base}.{alias.name}" for alias in node.names)
            names.add(base)
    return names


def _rule(table: dict[str, object], module: str) -> str | None:
    candidates = [prefix for prefix in table if module == prefix or module.startswith(prefix + ".")]
    return max(candidates, key=len) if candidates else None


def _inside(name: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``name`` is one of ``prefixes`` or inside one (the package root only as itself)."""
    return any(name == prefix or (prefix != "appliance" and name.startswith(prefix + ".")) for prefix in prefixes)


def violations(root: Path) -> list[str]:
    """Every broken rule under the package directory ``root``, one sentence each."""
    found = []
    for path in sorted(root.rglob("*.py")):
        module = _module_name(root, path)
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            found.append(f"{module} has {lines} lines (at most {MAX_LINES})")
        rule = _rule(ALLOWED, module)  # type: ignore[arg-type]
        if rule is None:
            found.append(f"{module} belongs to no layer of the table")
            continue
        allowed = ALLOWED[rule]
        forbidden = FORBIDDEN_LIBRARIES.get(_rule(FORBIDDEN_LIBRARIES, module) or "", set())  # type: ignore[arg-type]
        for name in sorted(_imports(path, module)):
            top = name.split(".")[0]
            if top == "appliance" and not _inside(name, allowed) and name != "appliance":
                found.append(f"{module} imports {name} ({rule} may import {', '.join(allowed) or 'nothing of ours'})")
            elif top in forbidden:
                found.append(f"{module} uses {top}: {rule} does no I/O of its own")
    return found


def test_the_code_keeps_its_layers() -> None:
    assert violations(PACKAGE) == []


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "appliance"
    for name, text in {"__init__.py": "", **files}.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "guardian/__init__.py": "",
                "guardian/jobs/__init__.py": "",
                "guardian/jobs/x.py": "import appliance.server.ssh\n",
            },
            "appliance.guardian.jobs.x imports appliance.server.ssh",
        ),
        (
            {"guardian/__init__.py": "", "guardian/cli.py": "from appliance.server.cli import main\n"},
            "appliance.guardian.cli imports appliance.server.cli",
        ),
        (
            {
                "guardian/__init__.py": "",
                "guardian/watch/__init__.py": "",
                "guardian/watch/m.py": "from ..jobs import actions\n",
            },
            "appliance.guardian.watch.m imports appliance.guardian.jobs.actions",
        ),
        (
            {"domain/__init__.py": "", "domain/d.py": "from .. import adapters\n"},
            "appliance.domain.d imports appliance.adapters",
        ),
        ({"domain/__init__.py": "", "domain/d.py": "import subprocess\n"}, "appliance.domain.d uses subprocess"),
        (
            {
                "guardian/__init__.py": "",
                "guardian/jobs/__init__.py": "",
                "guardian/jobs/j.py": "import mysql.connector\n",
            },
            "appliance.guardian.jobs.j uses mysql",
        ),
        ({"adapters/__init__.py": "", "adapters/big.py": "x = 1\n" * 401}, "appliance.adapters.big has 401 lines"),
    ],
)
def test_the_checker_finds_a_planted_violation(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    found = violations(_plant(tmp_path, files))
    assert any(line.startswith(expected) for line in found), found


def test_a_400_line_module_and_allowed_imports_pass(tmp_path: Path) -> None:
    files = {
        "adapters/__init__.py": "",
        "adapters/ok.py": "from ..domain import x\n" + "y = 1\n" * 399,
        "domain/__init__.py": "",
        "domain/x.py": "from . import y\n",
        "domain/y.py": "",
    }
    assert violations(_plant(tmp_path, files)) == []
