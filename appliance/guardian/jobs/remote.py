"""Opening a session to the central server with the login kept for unattended runs."""

from __future__ import annotations

from appliance.guardian.ports import CentralServer, CentralSession
from appliance.guardian.state import GuardianState


def stored_session(central: CentralServer, state: GuardianState) -> CentralSession:
    """A session as the stored login; raises Refused when the guardian is not logged in, and
    what ``CentralServer.session`` raises."""
    credentials = state.credentials()
    return central.session(credentials.login, credentials.password)
