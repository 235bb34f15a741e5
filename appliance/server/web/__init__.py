"""NeoCuma Web for LAN users: login, the dossiers a user may see, /healthz."""
