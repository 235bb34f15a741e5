"""Writing to the backups volume, as the operator should read its failures (docs/design.md §5)."""

from __future__ import annotations

import errno

from appliance.errors import ApplianceError, Unavailable
from appliance.guardian.ports import StagedFile


def volume_problem(error: OSError, what: str, volume: str) -> tuple[str, str]:
    """A failed write of ``what`` on ``volume`` (as the operator names it), in French (the
    system's own words are English): the problem, and what to do about it ("" if nothing)."""
    if error.errno == errno.ENOSPC:
        return f"{volume} est plein pendant l'écriture de {what}", ""
    if error.errno == errno.EROFS:
        return f"{volume} est en lecture seule : impossible d'écrire {what}", "Remontez-le en lecture-écriture"
    if error.errno in (errno.EACCES, errno.EPERM):
        return (
            f"écriture de {what} refusée dans {volume} (droits d'accès)",
            "Le guardian (utilisateur 10001) doit pouvoir y écrire",
        )
    return f"impossible d'écrire {what} : {error.strerror or error}", ""


def disk_error(error: OSError, name: str) -> ApplianceError:
    """A failed write of ``name`` on the backups volume: nothing was listed."""
    problem, advice = volume_problem(error, name, "le volume des sauvegardes")
    kept = "rien n'a été listé, les sauvegardes précédentes sont intactes"
    return Unavailable(f"{problem} ; {kept}" + (f". {advice}" if advice else ""))


def commit_staged(staged: StagedFile) -> None:
    try:
        staged.commit()
    except OSError as error:
        raise disk_error(error, staged.name) from error
