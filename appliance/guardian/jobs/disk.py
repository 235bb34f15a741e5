"""Writing to the backups volume, as the operator should read its failures (docs/design.md §5)."""

from __future__ import annotations

import errno

from appliance.errors import ApplianceError, Unavailable
from appliance.guardian.ports import StagedFile


def disk_error(error: OSError, name: str) -> ApplianceError:
    """A failed write as the operator should read it: a full or read-only volume says so
    (in French: the system's own words are English)."""
    kept = "rien n'a été listé, les sauvegardes précédentes sont intactes"
    if error.errno == errno.ENOSPC:
        return Unavailable(f"le volume des sauvegardes est plein pendant l'écriture de {name} : {kept}")
    if error.errno == errno.EROFS:
        return Unavailable(
            f"le volume des sauvegardes est en lecture seule : impossible d'écrire {name} ; {kept}. "
            "Remontez-le en lecture-écriture"
        )
    if error.errno in (errno.EACCES, errno.EPERM):
        return Unavailable(
            f"écriture de {name} refusée dans le volume des sauvegardes (droits d'accès) ; {kept}. "
            "Le guardian (utilisateur 10001) doit pouvoir y écrire"
        )
    return Unavailable(f"impossible d'écrire {name} : {error.strerror or error}")


def commit_staged(staged: StagedFile) -> None:
    try:
        staged.commit()
    except OSError as error:
        raise disk_error(error, staged.name) from error
