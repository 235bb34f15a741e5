"""Dependencies point inwards: the domain imports nothing of ours but the domain and errors,
and only adapters, the server and the CLI touch the outside world's libraries."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "appliance"
OUTSIDE = {"paramiko", "mysql", "docker", "flask", "waitress", "smtplib", "subprocess", "socket", "requests"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_is_pure() -> None:
    for path in (PACKAGE / "domain").rglob("*.py"):
        for name in _imports(path):
            root = name.split(".")[0]
            assert root not in OUTSIDE, f"{path.name} imports {name}"
            if root == "appliance":
                assert name.startswith(("appliance.domain", "appliance.errors")), f"{path.name} imports {name}"


def test_modules_stay_small() -> None:
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 450, f"{path.relative_to(PACKAGE)} has {lines} lines"
