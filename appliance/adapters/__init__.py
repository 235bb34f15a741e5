"""Adapters: the only code that talks to MySQL, SSH, Docker, the filesystem and processes."""
