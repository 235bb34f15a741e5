"""NeoCuma Guardian appliance: the NeoCuma server and its guardian."""

# The one place the version is written: pyproject.toml reads it, the Makefile and compose tag
# the images with it (a unit test keeps docker-compose.yml's default the same). CHANGELOG.md
# says what each version changed.
__version__ = "0.3.0"
