"""Telling people when an indicator turns red and when it stops being red (back to green,
or to neutral): the email's subject and body (a Jinja2 template, plain text) and the
webhook's JSON payload, handed to the Notifier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from appliance.domain.health import FAILED, NEUTRAL, OK, Indicator
from appliance.domain.moments import for_people
from appliance.guardian.ports import Notifier

# Plain-text mail: nothing is rendered as HTML, so nothing needs HTML escaping.
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates" / "mail"),
    autoescape=False,  # noqa: S701 - plain-text email
    keep_trailing_newline=True,
)


def render_mail(template: str, **values: Any) -> tuple[str, str]:
    """(subject, body) of the email ``template`` (its first line is the subject)."""
    text = _TEMPLATES.get_template(template).render(**values)
    subject, _, body = text.partition("\n")
    return subject.strip(), body


def render_change(
    indicator: Indicator, indicators: list[Indicator], centre: str, since: str, console_url: str
) -> tuple[str, str]:
    """(subject, body) of the email announcing a change of colour."""
    return render_mail(
        "change.txt",
        indicator=indicator,
        indicators=indicators,
        centre=centre,
        since=for_people(since),
        console_url=console_url,
        words={OK: "vert", NEUTRAL: "neutre", FAILED: "rouge"},
    )


def change_payload(indicator: Indicator, centre: str, since: str) -> dict[str, Any]:
    """The webhook's document for a change of colour."""
    return {
        "indicator": indicator.name,
        "label": indicator.label,
        "state": indicator.state,
        "green": indicator.green,
        "failed": indicator.failed,
        "cause": indicator.cause,
        "since": since,
        "centre": centre,
    }


def send_change(
    notifier: Notifier, indicator: Indicator, indicators: list[Indicator], centre: str, since: str, console_url: str
) -> None:
    """Announce one change of colour on every channel the notifier has."""
    subject, body = render_change(indicator, indicators, centre, since, console_url)
    notifier.send(subject, body, change_payload(indicator, centre, since))
