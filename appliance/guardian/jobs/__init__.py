"""What changes data: backups, synchronisation, dossier transfers, modes, identification.
Each job takes the ports it needs (``appliance.guardian.ports``) and returns a result; the
actions (``actions.py``) add the lock and the history around them."""
