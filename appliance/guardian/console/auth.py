"""Console logins: a responsable départemental, checked by the remote server when it answers
(the server enforces the profile), else against the verifier (scrypt hash) of that user's last
successful login, kept in the state volume — so the console keeps working while the remote is
down."""

from __future__ import annotations

import logging

from appliance.adapters.remote_ssh import HostKeyChanged, HostKeyUnknown
from appliance.adapters.state_files import JsonFile
from appliance.domain.passwords import hash_password, verify_password
from appliance.errors import Refused, Unavailable
from appliance.guardian.context import Guardian

log = logging.getLogger(__name__)


def _verifiers(guardian: Guardian) -> JsonFile:
    return JsonFile(guardian.state_dir / "console_verifiers.json")


def check_login(guardian: Guardian, login: str, password: str) -> str:
    """The user's login if the password is right; raises Refused otherwise (with the
    server's reason for another profile). Falls back to the local verifier only when the
    remote is unreachable. Only a responsable départemental of the centre the guardian is
    logged in for may enter: another centre's responsable is refused, and before the first
    ``make login`` nobody is (the console has no centre to serve yet)."""
    try:
        centre = guardian.credentials().centre
    except Refused as error:
        raise Refused(
            "le gardien n'est pas encore identifié auprès du serveur distant : lancez d'abord "
            "`make login` (neocuma-guardian login)"
        ) from error
    try:
        with guardian.remote().session(login, password) as session:
            whoami = session.json("v1 whoami")
    except (HostKeyChanged, HostKeyUnknown) as error:
        raise Refused(
            f"la clé d'hôte du serveur distant n'est pas celle épinglée : connexion refusée ({error})"
        ) from error
    except Unavailable as error:
        stored = _verifiers(guardian).read().get(login)
        if stored and verify_password(password, str(stored)):
            log.warning("console login of %s checked locally: the remote server is unreachable (%s)", login, error)
            return login
        raise Refused(
            "serveur distant injoignable et aucune connexion réussie connue pour ce compte avec ce mot de passe"
        ) from error
    except Refused as error:
        raise Refused("identifiant ou mot de passe refusé par le serveur distant") from error
    except Exception as error:  # the server's refusal of the profile comes as RemoteRefused
        raise Refused(str(error)) from error
    if centre and str(whoami["centre"]["code"]) != centre:
        raise Refused(
            f"ce compte est responsable du centre {whoami['centre']['code']} ; ce gardien sert le centre {centre}"
        )
    verifiers = _verifiers(guardian)
    data = verifiers.read()
    data[login] = hash_password(password)
    verifiers.write(data)
    log.info("console login of %s (%s)", login, whoami["user"]["profil"])
    return str(whoami["user"]["login"])
