"""Declaring settings once and reading them the same way wherever they come from.

A program's configuration is a frozen dataclass of *sections*, each a frozen dataclass of
settings declared with ``setting()``: environment name, default, description, unit, and for
numbers their bounds. The type is the field's annotation (str, int, float, bool, Path).
Every setting can be given, from lowest to highest precedence, by its default, by the
program's TOML file (``[section] name = …``), by ``NAME`` in the environment, or by
``NAME_FILE``: a file holding the value (how secrets arrive), converted exactly as ``NAME``
would be. Every problem is collected, then reported at once in one ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from appliance.errors import ConfigError

SPEC = "neocuma.setting"
SECTION = "neocuma.section"
PREFIX = "NEOCUMA_"
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
KINDS = (str, int, float, bool, Path)

C = TypeVar("C")


@dataclass(frozen=True)
class Spec:
    """What a setting's declaration says besides its name, type and default."""

    env: str
    description: str
    unit: str = ""
    secret: bool = False
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    schemes: tuple[str, ...] = ()  # for URLs: the schemes accepted ("" accepts an empty value)
    dotenv: bool = False  # a centre sets it in .env (compose passes it on); else the stack does
    display: Callable[[str], str] | None = None  # how `config show` writes a value that may hold a credential


_WITHHELD = "la valeur donnée (secrète, non répétée ici)"  # a refused secret, in its message


def setting(env: str, default: Any, description: str, **options: Any) -> Any:
    """Declare one setting: its environment name, default and description (English, one
    sentence); ``options`` are the other fields of ``Spec``."""
    spec = Spec(env, description, **options)
    return field(default=default, repr=not spec.secret, metadata={SPEC: spec})


def section(kind: type, description: str) -> Any:
    """Declare one section of a configuration: a dataclass of settings."""
    return field(default_factory=kind, metadata={SECTION: description})


@dataclass(frozen=True)
class Declared:
    """One setting as declared: where it lives, its type, default and spec."""

    section: str
    name: str
    kind: type
    default: Any
    spec: Spec

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def file_env(self) -> str:
        return f"{self.spec.env}_FILE"

    @property
    def dotenv_names(self) -> tuple[str, ...]:
        """What a centre may put in ``.env`` for this setting: a secret only as its file."""
        if not self.spec.dotenv:
            return ()
        return (self.file_env,) if self.spec.secret else (self.spec.env,)


def sections(schema: type) -> list[tuple[str, str, type]]:
    """(name, description, dataclass) of each section of ``schema``, in declaration order."""
    hints = typing.get_type_hints(schema)
    return [(f.name, f.metadata[SECTION], hints[f.name]) for f in dataclasses.fields(schema) if SECTION in f.metadata]


def declared(schema: type) -> list[Declared]:
    """Every setting of ``schema``, in declaration order."""
    result = []
    for name, _, kind in sections(schema):
        hints = typing.get_type_hints(kind)
        for item in dataclasses.fields(kind):
            if SPEC in item.metadata:
                if hints[item.name] not in KINDS:
                    raise TypeError(f"{kind.__name__}.{item.name}: unsupported setting type {hints[item.name]!r}")
                result.append(Declared(name, item.name, hints[item.name], item.default, item.metadata[SPEC]))
    return result


def env_names(schema: type) -> set[str]:
    """Every environment name ``schema`` reads, ``_FILE`` variants included."""
    return {name for item in declared(schema) for name in (item.spec.env, item.file_env)}


def convert(item: Declared, raw: Any, where: str, problems: list[str]) -> Any:
    """``raw`` (text from the environment or a file, or a TOML value) as the setting's type;
    a problem (in French) naming the setting and ``where`` it was read (``fichier …`` or the
    variable's name) is added when it cannot be."""

    def refuse(expected: str, verb: str = "doit être") -> Any:
        # A secret's refused value is never repeated: it may be the secret, or hold it.
        if item.spec.secret:
            given = _WITHHELD
        else:
            given = repr(item.spec.display(raw) if item.spec.display and isinstance(raw, str) else raw)
        problems.append(f"{item.spec.env} ({item.key}, lu dans {where}) {verb} {expected}, pas {given}")
        return item.default

    kind, spec = item.kind, item.spec
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        return refuse("true ou false (1/0, yes/no, on/off)", verb="doit valoir")
    if kind in (int, float):
        if isinstance(raw, bool):
            return refuse("un nombre")
        try:
            value = kind(str(raw).strip()) if isinstance(raw, str) else kind(raw)
        except (TypeError, ValueError):
            return refuse("un nombre entier" if kind is int else "un nombre")
        if isinstance(raw, float) and kind is int and raw != int(raw):
            return refuse("un nombre entier")
        low, high = spec.minimum, spec.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            given = _WITHHELD if spec.secret else value
            problems.append(
                f"{spec.env} ({item.key}, lu dans {where}) doit être {_bounds(low, high, spec)}, pas {given}"
            )
            return item.default
        return value
    if not isinstance(raw, str):
        return refuse("du texte")
    if spec.choices and raw not in spec.choices:
        return refuse(_either(spec.choices), verb="doit valoir")
    if spec.schemes and not _scheme_ok(raw, spec.schemes):
        return refuse("une URL commençant par " + _either(tuple(f"{s}://" for s in spec.schemes if s)))
    return Path(raw) if kind is Path else raw


def _scheme_ok(raw: str, schemes: tuple[str, ...]) -> bool:
    if raw == "":
        return "" in schemes
    scheme, separator, rest = raw.partition("://")
    return bool(separator) and bool(rest) and scheme.lower() in schemes


def _either(words: tuple[str, ...]) -> str:
    """``a, b ou c``."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " ou " + words[-1]


_UNITS_FR = {"days": "jours"}  # the declarations' units are the (English) docs'


def _bounds(low: float | None, high: float | None, spec: Spec) -> str:
    """``entre 1 et 10 s``, ``au moins 1 s`` or ``au plus 10 s``."""
    unit = f" {_UNITS_FR.get(spec.unit, spec.unit)}" if spec.unit else ""
    if low is not None and high is not None:
        return f"entre {low:g} et {high:g}{unit}"
    return f"au moins {low:g}{unit}" if low is not None else f"au plus {high:g}{unit}"


@dataclass(frozen=True)
class Loaded:
    """Where each value came from (``config show``) and the warnings met while reading."""

    sources: Mapping[str, str]
    warnings: tuple[str, ...]


def load(
    schema: type[C],
    environ: Mapping[str, str],
    document: Mapping[str, Any] | None = None,
    document_label: str = "",
    known_elsewhere: Iterable[str] = (),
) -> tuple[C, Loaded]:
    """Build ``schema`` from its defaults, ``document`` (a parsed TOML file whose path is
    ``document_label``), ``environ`` and ``NAME_FILE`` files, in that order of precedence.
    Raises ConfigError listing every problem, in French; unknown ``NEOCUMA_*`` variables (not
    read by this program nor in ``known_elsewhere``) become warnings."""
    items = declared(schema)
    problems = _unknown_file_keys(items, document or {}, document_label)
    values: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    for item in items:
        before = len(problems)
        value, source = _value(item, environ, document or {}, document_label, problems)
        if item.spec.required and value in ("", None) and len(problems) == before:
            problems.append(
                f"{item.spec.env} ({item.key}) est obligatoire : définissez cette variable ou {item.file_env}"
            )
        values.setdefault(item.section, {})[item.name] = value
        sources[item.key] = source
    if problems:
        raise ConfigError(problems)
    built = schema(**{name: kind(**values.get(name, {})) for name, _, kind in sections(schema)})
    known = env_names(schema) | set(known_elsewhere)
    return built, Loaded(sources, tuple(unknown_variables(environ, known)))


def _value(
    item: Declared, environ: Mapping[str, str], document: Mapping[str, Any], label: str, problems: list[str]
) -> tuple[Any, str]:
    value, source = item.default, "default"
    body = document.get(item.section)
    if isinstance(body, dict) and item.name in body:
        value, source = convert(item, body[item.name], f"le fichier {label}", problems), f"file {label}"
    direct, path = environ.get(item.spec.env, ""), environ.get(item.file_env, "")
    if direct and path:
        problems.append(f"{item.spec.env} et {item.file_env} sont définies toutes les deux : n'en définissez qu'une")
    elif path:
        try:
            text = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = "ce n'est pas du texte UTF-8" if isinstance(error, UnicodeDecodeError) else error.strerror or error
            problems.append(f"{item.file_env} : impossible de lire {path} : {reason}")
        else:
            if not text:
                problems.append(f"{item.file_env} : {path} est vide")
            value, source = convert(item, text, f"le fichier {path}", problems), f"file {path} ({item.file_env})"
    elif direct:
        value, source = convert(item, direct, item.spec.env, problems), f"environment {item.spec.env}"
    return value, source


def _unknown_file_keys(items: list[Declared], document: Mapping[str, Any], label: str) -> list[str]:
    known = {(item.section, item.name) for item in items}
    problems = []
    for section_name, body in document.items():
        if not isinstance(body, dict):
            problems.append(f"fichier {label} : [{section_name}] doit être une table")
            continue
        for name in body:
            if (section_name, name) not in known:
                problems.append(f"fichier {label} : réglage inconnu {section_name}.{name}")
    return problems


def unknown_variables(environ: Mapping[str, str], known: set[str]) -> Iterator[str]:
    """A warning (in French) for each ``NEOCUMA_*`` variable no program reads, with the
    nearest known name when one is close (a typo)."""
    for name in sorted(environ):
        if name.startswith(PREFIX) and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
            hint = f" (vouliez-vous dire {close[0]} ?)" if close else ""
            yield f"variable inconnue {name} : aucun réglage ne la lit{hint}"


def show(config: object, loaded: Loaded) -> list[str]:
    """One line per setting, in declaration order: name, value (secrets masked), source."""
    lines = []
    for item in declared(type(config)):
        value = getattr(getattr(config, item.section), item.name)
        if item.spec.secret:
            shown = "********" if value else "(unset)"
        elif item.spec.display is not None:
            shown = repr(item.spec.display(str(value)))
        else:
            shown = repr(str(value)) if isinstance(value, Path) else repr(value)
        lines.append(f"{item.spec.env:34} {shown:34} {loaded.sources.get(item.key, 'default')}")
    return lines


def masked_repr(config: object) -> str:
    """A repr that never shows a secret (for logs and tracebacks)."""
    parts = []
    for item in declared(type(config)):
        value = getattr(getattr(config, item.section), item.name)
        if item.spec.display is not None and not item.spec.secret:
            value = item.spec.display(str(value))
        parts.append(f"{item.key}={'********' if item.spec.secret and value else value!r}")
    return f"{type(config).__name__}({', '.join(parts)})"
