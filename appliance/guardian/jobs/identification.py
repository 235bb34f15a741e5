"""Identification (manual §12.3.1): pinning the remote's host key, logging in as a
responsable départemental, and checking the console's logins. Unattended runs need the
password later: it is kept in the state volume (mode 0600, the guardian's user only, never
logged); see docs/guardian.md."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from appliance.domain.identity import Credentials, WhoAmI, fingerprint_of_line
from appliance.domain.passwords import hash_password, verify_password
from appliance.errors import ApplianceError, HostKeyChanged, HostKeyUnknown, Refused, Unavailable
from appliance.guardian.ports import CentralServer
from appliance.guardian.state import VERIFIERS, GuardianState, parse_stamp, stamp

log = logging.getLogger(__name__)
# How long a successful login lets the same password in while the remote is unreachable.
VERIFIER_LIFETIME = dt.timedelta(days=30)
# One answer for a wrong password, another profile and another centre alike: a refusal must
# not tell whether the central password was right (the log says which).
CONSOLE_REFUSAL = (
    "identifiant ou mot de passe refusé par le serveur distant, ou compte sans accès à cette console "
    "(seul un responsable départemental du centre servi peut entrer)"
)


@dataclass(frozen=True)
class DemoLogin:
    """The demo's automatic login: on only in the demo profile."""

    enabled: bool
    user: str
    password: str
    published_key: Callable[[], str | None]  # the public key line the demo remote publishes
    key_file: str


@dataclass(frozen=True)
class Identification:
    central: CentralServer
    state: GuardianState
    demo: DemoLogin
    # Raises ConfigError when the centres table gives this centre no slot.
    slot_of: Callable[[str], object] = lambda code: None

    def presented_fingerprint(self) -> str:
        return self.central.presented_fingerprint()

    def pinned_fingerprint(self) -> str | None:
        return self.central.pinned_fingerprint()

    def accept_host_key(self, expected: str) -> str:
        """Pin the key the remote presents if its fingerprint is ``expected``; raises Refused."""
        previous = self.central.pinned_fingerprint()
        actual = self.central.pin(expected)
        log.warning("clé d'hôte de %s épinglée : %s (auparavant %s)", self.central.address, actual, previous)
        return actual

    def login(self, user: str, password: str) -> WhoAmI:
        """Check the credentials with the server (which refuses other profiles with its
        reason) and keep them for unattended runs. The host key must be pinned already.
        Raises ConfigError, keeping nothing, when the login's centre has no slot in the
        centres table: the guardian would never schedule a backup."""
        with self.central.session(user, password) as session:
            whoami = session.whoami()
        self.slot_of(whoami.centre)
        self.state.store_credentials(Credentials(whoami.login, password, whoami.centre, whoami.profile))
        self.state.record("login", login=whoami.login, centre=whoami.centre)
        log.info(
            "identifié sur le serveur distant comme %s (%s, centre %s, %d dossiers)",
            whoami.login,
            whoami.profile,
            whoami.centre,
            whoami.dossiers,
        )
        return whoami

    def demo_autologin(self) -> WhoAmI | None:
        """Demo only: pin the key the demo remote published and log in with the demo
        account, so `make up` leaves the guardian ready. Does nothing when already logged in."""
        if not self.demo.enabled or self.state.logged_in():
            return None
        published_line = self.demo.published_key() if self.demo.key_file else None
        if published_line is None:
            raise Refused(
                "connexion automatique de démonstration : le fichier de clé publique du serveur distant "
                f"{self.demo.key_file} est absent"
            )
        published = fingerprint_of_line(published_line)
        presented = self.central.presented_fingerprint()
        if published != presented:
            raise HostKeyChanged(
                f"connexion automatique de démonstration : le serveur distant présente {presented} "
                f"mais a publié {published}"
            )
        pinned = self.central.pinned_fingerprint()
        if pinned is not None and pinned != presented:
            raise HostKeyChanged(
                f"connexion automatique de démonstration : une autre clé ({pinned}) est épinglée ; "
                "lancez `neocuma-guardian hostkey accept` pour la changer"
            )
        self.central.pin(published)
        return self.login(self.demo.user, self.demo.password)

    def console_login(self, login: str, password: str) -> str:
        """The user's login if the password is right; raises Refused otherwise (with the
        server's reason for another profile). Checked by the remote server when it answers
        (the server enforces the profile), else against the verifier (a scrypt hash) of this
        user's last successful login, so the console keeps working while the remote is down.
        Only a responsable départemental of the centre the guardian serves may enter; before
        the first ``make login`` nobody may (the console has no centre to serve yet)."""
        try:
            centre = self.state.credentials().centre
        except Refused as error:
            raise Refused(
                "le gardien n'est pas encore identifié auprès du serveur distant : lancez d'abord "
                "`make login` (neocuma-guardian login)"
            ) from error
        try:
            with self.central.session(login, password) as session:
                whoami = session.whoami()
        except (HostKeyChanged, HostKeyUnknown) as error:
            raise Refused(
                f"la clé d'hôte du serveur distant n'est pas celle épinglée : connexion refusée ({error})"
            ) from error
        except Unavailable as error:
            stored = self.state.document(VERIFIERS).get(login)
            verifier, since = (
                (stored.get("hash"), parse_stamp(stored.get("at"))) if isinstance(stored, dict) else (stored, None)
            )
            if since is not None and self.state.clock.now() - since > VERIFIER_LIFETIME:
                raise Refused(
                    f"serveur distant injoignable, et la dernière connexion réussie de ce compte date de plus de "
                    f"{VERIFIER_LIFETIME.days} jours : connexion hors ligne refusée"
                ) from error
            if verifier and verify_password(password, str(verifier)):
                log.warning(
                    "connexion à la console de %s vérifiée localement : serveur distant injoignable (%s)", login, error
                )
                return login
            raise Refused(
                "serveur distant injoignable et aucune connexion réussie connue pour ce compte avec ce mot de passe"
            ) from error
        except Refused as error:
            raise Refused(CONSOLE_REFUSAL) from error
        except ApplianceError as error:  # the server's refusal of the profile comes as RemoteRefused
            # The same answer as a wrong password: it must not tell that this one was right.
            log.warning("connexion à la console de %r refusée : %s", login, error)
            raise Refused(CONSOLE_REFUSAL) from error
        if centre and whoami.centre != centre:
            log.warning(
                "connexion à la console de %r refusée : responsable du centre %s, ce gardien sert %s",
                login,
                whoami.centre,
                centre,
            )
            raise Refused(CONSOLE_REFUSAL)
        verifiers = self.state.document(VERIFIERS)
        verifiers[login] = {"hash": hash_password(password), "at": stamp(self.state.clock.now())}
        self.state.save_document(VERIFIERS, verifiers)
        log.info("connexion à la console de %s (%s)", login, whoami.profile)
        return whoami.login

    def confirm_shorter_retention(self, login: str, password: str) -> None:
        """The password typed again before the offsite retention keeps fewer copies (the
        console's user's, or the stored login's on the command line), checked as a console
        login is; raises Refused, saying the retention was not shortened."""
        try:
            self.console_login(login, password)
        except ApplianceError as error:
            log.warning("réduction de la rétention hors site refusée à %s : mot de passe non confirmé", login)
            raise Refused(f"rétention hors site non réduite : mot de passe non confirmé ({error})") from error
