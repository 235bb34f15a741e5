"""Telling people when an indicator turns red and back to green: email (SMTP, Jinja2
template) and, optionally, a webhook (JSON POST). A failing channel is logged, never fatal."""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path

from jinja2 import Environment, FileSystemLoader

from appliance.domain.health import Indicator
from appliance.guardian.config import GuardianConfig

log = logging.getLogger(__name__)
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates" / "mail"), autoescape=False, keep_trailing_newline=True
)


def render_change(
    indicator: Indicator, indicators: list[Indicator], centre: str, since: str, console_url: str
) -> tuple[str, str]:
    """(subject, body) of the email announcing a change of colour."""
    text = _TEMPLATES.get_template("change.txt").render(
        indicator=indicator, indicators=indicators, centre=centre, since=since, console_url=console_url
    )
    subject, _, body = text.partition("\n")
    return subject.strip(), body


def send_change(
    config: GuardianConfig, indicator: Indicator, indicators: list[Indicator], centre: str, since: str
) -> None:
    """Send the email and the webhook that are configured; log failures."""
    console_url = f"http://localhost:{config['console.port']}/"
    if config["notify.smtp_host"] and config["notify.mail_to"]:
        subject, body = render_change(indicator, indicators, centre, since, console_url)
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = config["notify.mail_from"]
        message["To"] = config["notify.mail_to"]
        message.set_content(body)
        try:
            with smtplib.SMTP(config["notify.smtp_host"], config["notify.smtp_port"], timeout=20) as smtp:
                if config["notify.smtp_starttls"]:
                    smtp.starttls(context=ssl.create_default_context())
                if config["notify.smtp_user"]:
                    smtp.login(config["notify.smtp_user"], config["notify.smtp_password"])
                smtp.send_message(message)
            log.info("email sent to %s: %s", config["notify.mail_to"], subject)
        except (OSError, smtplib.SMTPException) as error:
            log.error("the email about %s could not be sent: %s", indicator.name, error)
    if config["notify.webhook_url"]:
        payload = {
            "indicator": indicator.name,
            "label": indicator.label,
            "green": indicator.green,
            "cause": indicator.cause,
            "since": since,
            "centre": centre,
        }
        request = urllib.request.Request(
            config["notify.webhook_url"],
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=20):
                pass
            log.info("webhook called for %s", indicator.name)
        except (urllib.error.URLError, OSError) as error:
            log.error("the webhook about %s failed: %s", indicator.name, error)
