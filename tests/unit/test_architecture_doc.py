"""docs/architecture.md describes the tree as it is: every module of appliance/ is named in
it (by its file name, in the tree or in the one-line table), and every Python file it names
exists in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
NAMED = re.compile(r"(?<![\w.-])((?:[a-z_][a-z0-9_]*/)*[a-z_][a-z0-9_]*\.py)\b")


def named_in(text: str) -> set[str]:
    """The Python files a text names, as written (``server/seed/rows.py``, ``cli.py``)."""
    return set(NAMED.findall(text))


def missing_modules(text: str, modules: list[Path]) -> list[str]:
    """The modules (paths under appliance/) whose file name the text never names."""
    names = {name.rsplit("/", 1)[-1] for name in named_in(text)}
    return sorted(module.as_posix() for module in modules if module.name not in names)


def ghosts(text: str, files: set[str]) -> list[str]:
    """What the text names that is no Python file of the repository (paths by their end)."""
    return sorted(name for name in named_in(text) if not any(f == name or f.endswith("/" + name) for f in files))


def _modules() -> list[Path]:
    return [p.relative_to(ROOT / "appliance") for p in (ROOT / "appliance").rglob("*.py") if p.name != "__init__.py"]


def _files() -> set[str]:
    skipped = {".venv", "build", ".git"}
    return {p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py") if not skipped & set(p.parts)}


def test_every_module_is_named_in_the_architecture_doc_and_nothing_it_names_is_missing() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert missing_modules(text, _modules()) == [], "add them to docs/architecture.md"
    assert ghosts(text, _files()) == [], "docs/architecture.md names files that do not exist"


def test_the_check_finds_a_module_left_out_and_a_module_that_does_not_exist() -> None:
    modules = [Path("guardian/jobs/central_return.py"), Path("domain/return_plan.py")]
    text = "jobs/ central_return.py (the return), export.py (the export)"
    assert missing_modules(text, modules) == ["domain/return_plan.py"]
    assert ghosts(text, {"appliance/guardian/jobs/central_return.py"}) == ["export.py"]
