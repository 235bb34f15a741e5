"""The guardian's detection of an outage of the central server and its switch to fallback
mode (issue 24; docs/guardian.md, "Detection and the switch to fallback mode")."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.configuration.declare import setting


@dataclass(frozen=True)
class FallbackSettings:
    detect_seconds: int = setting(
        "NEOCUMA_FALLBACK_DETECT_SECONDS",
        120,
        "The central server is declared down when its probes have failed for this long (the monitor probes it"
        " every NEOCUMA_MONITOR_INTERVAL): an alert, and the console's banner offering the switch to fallback mode.",
        unit="s",
        minimum=0,
        maximum=86400,
        dotenv=True,
    )
    automatic_after_seconds: int = setting(
        "NEOCUMA_FALLBACK_AUTOMATIC_AFTER_SECONDS",
        0,
        "The guardian switches to fallback mode by itself this long after the central server was declared down"
        ' (docs/guardian.md, "Detection and the switch to fallback mode", says when to turn it on). 0: never.',
        unit="s",
        minimum=0,
        maximum=86400,
        dotenv=True,
    )
    save_minutes: int = setting(
        "NEOCUMA_FALLBACK_SAVE_MINUTES",
        15,
        "In fallback mode, the guardian saves the dossiers changed locally into backups/local/ this often (only"
        " those whose local revision moved since their last save), and pushes them to the offsite repository when"
        ' one is configured (docs/fallback.md, "Fallback work survives the host"). 0: never.',
        unit="min",
        minimum=0,
        maximum=1440,
        dotenv=True,
    )
