"""Queueing mail: the one API every feature uses to tell someone something.

Call these inside the business transaction, before its commit: the outbox row commits (or
rolls back) with the change it reports, and the scheduler's ``deliver-outbox`` job sends it
afterwards (sender.py). Nothing here talks to SMTP, and nothing here raises for a bad
template or address: the row records the problem instead.

    queue_template(user, "booking.approve", "emails/booking_event", _l("Booking approved"), booking=b)
    queue_mail("someone@example.com", "accounts.invitation", subject, text, html)
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from email.utils import make_msgid
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import exists, or_, select

from equipshare.accounts.models import User
from equipshare.db import utcnow
from equipshare.extensions import db
from equipshare.mail import Attachment
from equipshare.notifications.models import InstrumentMute, NotificationMute, OutboxMessage, OutboxStatus
from equipshare.notifications.render import render_mail
from equipshare.notifications.topics import topic_of


def mail_host() -> str:
    return urlsplit(current_app.config["SERVER_BASE_URL"]).hostname or "equipshare.local"


def is_muted(user: User, kind: str, about_instrument_id: int | None = None) -> bool:
    """Has the user switched this kind of mail off (its topic, or the instrument it is about)?
    One round trip, however many of the two mutes apply."""
    topic = topic_of(kind)
    checks = []
    if topic is not None:
        checks.append(exists().where(NotificationMute.user_id == user.id, NotificationMute.topic == topic))
    if about_instrument_id is not None:
        checks.append(exists().where(InstrumentMute.user_id == user.id,
                                     InstrumentMute.instrument_id == about_instrument_id))
    if not checks:
        return False
    return bool(db.session.scalar(select(or_(*checks))))


def _encode(att: Attachment) -> dict:
    return {"filename": att.filename, "maintype": att.maintype, "subtype": att.subtype,
            "params": dict(att.params or {}), "content_b64": base64.b64encode(att.content).decode("ascii")}


def decode_attachments(rows: Iterable[dict]) -> tuple[Attachment, ...]:
    return tuple(Attachment(r["filename"], base64.b64decode(r["content_b64"]), r["maintype"], r["subtype"],
                            r.get("params") or {}) for r in rows or ())


def queue_mail(to: User | str, kind: str, subject: str, text: str, html: str | None = None,
               attachments: Iterable[Attachment] = (), mutable: bool = True, *, locale: str | None = None,
               sensitive: bool = False, render_error: str | None = None,
               about_instrument_id: int | None = None) -> OutboxMessage | None:
    """Add one mail to the outbox (in the caller's transaction). Returns None when the
    recipient muted it. ``mutable=False`` for mails nobody may switch off (security).
    ``sensitive``: the body holds a secret (a reset link); it is wiped once delivered."""
    user = to if isinstance(to, User) else None
    if user is not None and mutable and is_muted(user, kind, about_instrument_id):
        return None
    now = utcnow()  # the wall clock, not the business ``now``: this is when the row was written
    message = OutboxMessage(
        kind=kind, user_id=user.id if user else None, to_address=user.email if user else str(to),
        locale=locale or (user.locale if user else None), subject=subject, body_text=text, body_html=html,
        attachments=[_encode(a) for a in attachments], message_id=make_msgid("outbox", domain=mail_host()),
        sensitive=sensitive, status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, created_at=now,
        render_error=render_error,
    )
    db.session.add(message)
    return message


def queue_template(to: User | str, kind: str, template: str, subject, *, locale: str | None = None,
                   attachments: Iterable[Attachment] = (), mutable: bool = True, sensitive: bool = False,
                   fallback_text: str = "", about_instrument_id: int | None = None,
                   **context) -> OutboxMessage | None:
    """Render ``template`` (.txt and .html) in the recipient's language (a user's own locale,
    else ``locale``) and queue it. A template error falls back (render.py) and is recorded."""
    user = to if isinstance(to, User) else None
    if user is not None and mutable and is_muted(user, kind, about_instrument_id):
        return None
    rendered = render_mail(template, subject, user.locale if user else locale, fallback_text, **context)
    return queue_mail(to, kind, rendered.subject, rendered.text, rendered.html, attachments, mutable=False,
                      locale=rendered.locale, sensitive=sensitive, render_error=rendered.error)
