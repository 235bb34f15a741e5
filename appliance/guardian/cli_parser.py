"""The command line's parser, in French: usage, section titles, ``-h`` and argparse's own
error messages (argparse writes them in English), so that help, output and errors speak
the operators' language alike."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, NoReturn

_MESSAGES = (
    (
        re.compile(r"argument (.+?): invalid choice: (.+?) \(choose from (.+)\)"),
        r"argument \1 : choix invalide : \2 (au choix : \3)",
    ),
    (re.compile(r"the following arguments are required: (.+)"), r"arguments obligatoires manquants : \1"),
    (re.compile(r"unrecognized arguments: (.+)"), r"arguments inconnus : \1"),
    (re.compile(r"argument (.+?): expected one argument"), r"argument \1 : une valeur attendue"),
    (re.compile(r"argument (.+?): expected at least one argument"), r"argument \1 : au moins une valeur attendue"),
    (re.compile(r"argument (.+?): not allowed with argument (.+)"), r"argument \1 : incompatible avec \2"),
    (re.compile(r"argument (.+?): invalid (\w+) value: (.+)"), r"argument \1 : valeur invalide (\2) : \3"),
    (re.compile(r"argument (.+?): ignored explicit argument (.+)"), r"argument \1 : valeur inattendue \2"),
)


def french(message: str) -> str:
    """argparse's error ``message`` in French (unchanged when it is not one it knows)."""
    for pattern, replacement in _MESSAGES:
        if pattern.fullmatch(message):
            return pattern.sub(replacement, message)
    return message


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, prefix if prefix is not None else "utilisation : ")


class FrenchParser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "arguments"
        self._optionals.title = "options"
        self.add_argument("-h", "--help", action="help", help="afficher cette aide et quitter")

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {french(message)}\n")
