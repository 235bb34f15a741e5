"""Alerts by email (SMTP, optionally STARTTLS and a login) and by webhook (a JSON POST), for
the Notifier port. A channel that is not configured is skipped; one that fails is logged,
never raised: an alert must not stop the monitor."""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

log = logging.getLogger(__name__)
TIMEOUT = 20


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    starttls: bool
    user: str
    password: str = field(repr=False)
    sender: str
    recipients: str


class MailAndWebhookNotifier:
    def __init__(self, mail: MailSettings, webhook_url: str) -> None:
        self.mail = mail
        self.webhook_url = webhook_url

    def send(self, subject: str, body: str, payload: dict[str, Any]) -> None:
        if self.mail.host and self.mail.recipients:
            self._email(subject, body, str(payload.get("indicator", "")))
        if self.webhook_url:
            self._webhook(payload)

    def _email(self, subject: str, body: str, what: str) -> None:
        if self.mail.user and not self.mail.starttls:
            # The password would cross the network in clear: never sent so.
            log.error(
                "le courriel sur %s n'est pas envoyé : NEOCUMA_SMTP_USER demande une connexion "
                "mais NEOCUMA_SMTP_STARTTLS est désactivé (le mot de passe passerait en clair)",
                what,
            )
            return
        message = alert_message(self.mail, subject, body)
        try:
            with smtplib.SMTP(self.mail.host, self.mail.port, timeout=TIMEOUT) as smtp:
                if self.mail.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.mail.user:
                    smtp.login(self.mail.user, self.mail.password)
                smtp.send_message(message)
            log.info("courriel envoyé à %s : %s", self.mail.recipients, subject)
        except (OSError, smtplib.SMTPException) as error:
            log.error("le courriel sur %s n'a pas pu être envoyé : %s", what, error)

    def _webhook(self, payload: dict[str, Any]) -> None:
        # The URL's scheme is checked by the configuration: http or https only.
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked by the configuration
            self.webhook_url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT):  # noqa: S310 - http(s), checked
                pass
            log.info("webhook appelé pour %s", payload.get("indicator"))
        except (urllib.error.URLError, OSError) as error:
            log.error("le webhook sur %s a échoué : %s", payload.get("indicator"), error)


def alert_message(mail: MailSettings, subject: str, body: str) -> EmailMessage:
    """The alert as an email with the headers RFC 5322 wants of every message: ``Date`` (the
    local time with its offset) and a unique ``Message-ID``, beside Subject, From and To.
    Without them a relay adds its own, or a spam filter counts the message against itself."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = mail.sender
    message["To"] = mail.recipients
    message["Date"] = formatdate(localtime=True)
    # The sender's domain, not the host's name: make_msgid would otherwise resolve this
    # container's name, which may take the DNS timeout and names nothing the reader knows.
    _local, at, domain = parseaddr(mail.sender)[1].rpartition("@")
    message["Message-ID"] = make_msgid(domain=domain if at and domain else "neocuma-guardian.invalid")
    message.set_content(body)
    return message
