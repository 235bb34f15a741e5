"""The guardian's web console (port 8000), in French: the tabs of the original window."""
