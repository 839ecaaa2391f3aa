"""Building and delivering one e-mail. Features never call this directly: they queue mail in
the outbox (equipshare/notifications/outbox.py) inside their transaction, and the outbox's
sender uses ``build_message`` and ``deliver``: SMTP when MAIL_SERVER is set, otherwise the
application log (development).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app


@dataclass
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: dict = field(default_factory=dict)


def build_message(to: str, subject: str, text: str, html: str | None = None,
                  attachments: tuple[Attachment, ...] = ()) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="equipshare.local")
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for att in attachments:
        msg.add_attachment(att.content, maintype=att.maintype, subtype=att.subtype,
                           filename=att.filename, params=att.params or None)
    return msg


def deliver(msg: EmailMessage) -> None:
    """Hand one message to SMTP (or the log). Raises on SMTP failure."""
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        current_app.logger.info("E-mail (no MAIL_SERVER configured):\n%s", msg.as_string())
        return
    smtp_cls = smtplib.SMTP_SSL if cfg.get("MAIL_USE_SSL") else smtplib.SMTP
    with smtp_cls(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg.get("MAIL_TIMEOUT", 10)) as smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        smtp.send_message(msg)

