"""In-memory fakes of the guardian's ports (appliance/guardian/ports.py), for the unit tests:
no Docker, no network, no MySQL. Each fake behaves like its adapter for what the jobs rely
on (verification of what is stored, the control row, dossier revisions, host keys) and
lets a test inject the faults the adapters meet (a cut link, a full disk, a server that
does not confirm)."""
