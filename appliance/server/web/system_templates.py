"""Report templates from the live system-files generation (``modeles/*.html``).

NeoCuma's pages embed templates that ship with the system files, so a synchronisation that
brings new templates changes the pages at once. Templates are rendered in Jinja2's sandbox
with autoescaping (they come from another server), and what they render is cleaned against
an allow-list of HTML (nh3: no script, style, event handler or javascript: URL; the pages'
Content-Security-Policy forbids inline scripts as well). Cached per generation; the cache
is dropped on SIGHUP with the rest of the system-file caches.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import nh3
from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from appliance.domain.system_manifest import safe_path as safe_relative_name
from appliance.server.systemfiles import SystemFiles

log = logging.getLogger(__name__)
MAX_TEMPLATE_BYTES = 256 * 1024
# nh3's default tags, and the attributes a report template needs for its layout.
ALLOWED_ATTRIBUTES = {
    "*": {"class", "title", "lang"},
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
}
URL_SCHEMES = {"http", "https", "mailto"}


class SystemTemplates:
    def __init__(self, system_files: SystemFiles) -> None:
        self.system_files = system_files
        self.environment = ImmutableSandboxedEnvironment(autoescape=True)
        self._cache: dict[tuple[int, str], Any] = {}
        self._lock = threading.Lock()

    def render(self, generation: int | None, name: str, **context: Any) -> Markup:
        """Render ``modeles/<name>`` of ``generation``; an empty string when there is no
        generation or no such template, and a logged error (never a failed page) when the
        template is broken."""
        if generation is None or not safe_relative_name(name):
            return Markup("")
        template = self._load(generation, name)
        if template is None:
            return Markup("")
        try:
            rendered = template.render(**context)
        except TemplateError as error:
            log.error("system template %s of generation %d failed: %s", name, generation, error)
            return Markup("")
        # The central server's HTML, kept to the allow-list: safe to put in a page as it is.
        return Markup(nh3.clean(rendered, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES))  # noqa: S704

    def _load(self, generation: int, name: str) -> Any:
        key = (generation, name)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        path = self.system_files.directory(generation) / "modeles" / name
        template = None
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_TEMPLATE_BYTES:
                template = self.environment.from_string(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, TemplateError) as error:
            log.error("system template %s of generation %d cannot be loaded: %s", name, generation, error)
        with self._lock:
            self._cache[key] = template
        return template

    def drop_cache(self) -> None:
        with self._lock:
            self._cache.clear()
