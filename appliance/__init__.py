"""NeoCuma Guardian appliance: the NeoCuma server and its guardian."""

__version__ = "0.1.0"
