"""Delivering the outbox: at most once per row, retried with back-off, never lost.

A row goes ``pending`` → ``sending`` (the claim: a conditional UPDATE, committed before any
SMTP traffic, so two senders can never both own it) → ``sent``. A failed attempt puts it back
to ``pending`` with ``next_attempt_at`` pushed out exponentially (OUTBOX_RETRY_SECONDS × 2^n,
at most 6 h), or to ``failed`` after OUTBOX_MAX_ATTEMPTS attempts or at once for a permanent
error (a malformed address, an SMTP 5xx about this message).

A crash between the SMTP hand-over and the ``sent`` mark leaves the row ``sending``. We cannot
know whether the mail left, so such a row is never re-sent automatically: once its claim is
older than OUTBOX_SENDING_TIMEOUT_SECONDS it becomes ``unknown`` and shows on the admin page,
where an admin may re-send it (same Message-ID, so a duplicate is recognisable) or dismiss it.
"""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import delete, select, update

from equipshare.db import begin_write, utcnow
from equipshare.extensions import db
from equipshare.mail import build_message, deliver
from equipshare.notifications.models import OutboxMessage, OutboxStatus
from equipshare.notifications.outbox import decode_attachments

MAX_BACKOFF = timedelta(hours=6)
REDACTED = "[removed after delivery]"


class PermanentError(Exception):
    """This message can never be delivered as it is: do not retry."""


def backoff(attempts: int) -> timedelta:
    base = current_app.config["OUTBOX_RETRY_SECONDS"]
    return min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, PermanentError | smtplib.SMTPRecipientsRefused):
        return True
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False  # our configuration, not this message: keep retrying until fixed
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def _check_address(address: str) -> None:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise PermanentError(f"malformed recipient address {address!r}: {exc}") from exc


def _send(message: OutboxMessage) -> None:
    _check_address(message.to_address)
    try:
        email = build_message(message.to_address, message.subject, message.body_text, message.body_html,
                              decode_attachments(message.attachments))
    except (ValueError, TypeError) as exc:  # e.g. a header the email package refuses
        raise PermanentError(f"cannot build the message: {exc}") from exc
    del email["Message-ID"]
    email["Message-ID"] = message.message_id
    deliver(email)


def claim(message_id: int, now: datetime) -> OutboxMessage | None:
    """Take a pending row for one attempt; None if someone else has it (or it is not pending)."""
    begin_write(db.session)
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENDING, attempts=OutboxMessage.attempts + 1, claimed_at=now)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    return db.session.get(OutboxMessage, message_id, populate_existing=True)


def deliver_one(message_id: int, now: datetime) -> str:
    """One attempt at one row: 'sent', 'retry', 'failed' or 'skipped'."""
    message = claim(message_id, now)
    if message is None:
        return "skipped"
    attempt = message.attempts
    try:
        _send(message)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
        permanent = _is_permanent(exc)
        give_up = permanent or attempt >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
        current_app.logger.warning("Mail %s to %s, attempt %s failed (%s): %s", message_id, message.to_address,
                                   attempt, "giving up" if give_up else "will retry", exc)
        values = {"last_error": f"attempt {attempt}: {type(exc).__name__}: {exc}"[:2000]}
        if give_up:
            values["status"] = OutboxStatus.FAILED
        else:
            values.update(status=OutboxStatus.PENDING, next_attempt_at=now + backoff(attempt))
        outcome = "failed" if give_up else "retry"
    else:
        values = {"status": OutboxStatus.SENT, "sent_at": now, "last_error": None}
        if message.sensitive:
            values.update(body_text=REDACTED, body_html=None, attachments=[])
        outcome = "sent"
    begin_write(db.session)
    db.session.execute(update(OutboxMessage).where(
        OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.SENDING,
        OutboxMessage.attempts == attempt).values(**values))
    db.session.commit()
    return outcome


def mark_stale_claims(now: datetime) -> int:
    """Claims older than the timeout: their attempt died mid-way. Surface them, never re-send."""
    cutoff = now - timedelta(seconds=current_app.config["OUTBOX_SENDING_TIMEOUT_SECONDS"])
    begin_write(db.session)
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < cutoff)
        .values(status=OutboxStatus.UNKNOWN,
                last_error="The sending attempt never finished (the sender stopped mid-way); it may or may not "
                           "have been delivered, so it is not re-sent automatically.")
    )
    db.session.commit()
    return result.rowcount


def deliver_due(now: datetime | None = None) -> dict[str, int]:
    """The deliver-outbox job: one attempt at each due row (oldest first, a batch at a time)."""
    now = now or utcnow()
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "uncertain": mark_stale_claims(now)}
    ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(current_app.config["OUTBOX_BATCH_SIZE"])
    ).all()
    db.session.commit()
    for message_id in ids:
        counts[deliver_one(message_id, now)] += 1
    return {key: value for key, value in counts.items() if value}


def prune_outbox(now: datetime) -> int:
    """Forget delivered (and dismissed) mails after OUTBOX_KEEP_DAYS."""
    cutoff = now - timedelta(days=current_app.config["OUTBOX_KEEP_DAYS"])
    begin_write(db.session)
    result = db.session.execute(delete(OutboxMessage).where(
        OutboxMessage.status.in_((OutboxStatus.SENT, OutboxStatus.DISMISSED)), OutboxMessage.created_at < cutoff))
    db.session.commit()
    return result.rowcount
