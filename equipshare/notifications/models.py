"""Outbox rows, notification preferences (muted topics and instruments) and job runs."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from equipshare.db import UTCDateTime, utcnow
from equipshare.extensions import db


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for (another) attempt at next_attempt_at
    SENDING = "sending"  # claimed by a sender; SMTP in progress
    SENT = "sent"
    FAILED = "failed"  # gave up: permanent error or attempts exhausted; an admin may retry
    UNKNOWN = "unknown"  # a claim that never finished (crash mid-send): may or may not have left
    DISMISSED = "dismissed"  # an admin decided not to send it


class OutboxMessage(db.Model):
    """One e-mail to one recipient, rendered when it was queued.

    Written in the same transaction as the change it reports; delivered afterwards. A row is
    sent at most once: a sender first claims it (``sending``, committed), then talks SMTP, then
    marks it ``sent``. A claim that outlives OUTBOX_SENDING_TIMEOUT_SECONDS becomes ``unknown``
    and is never re-sent automatically (see sender.py).
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'dismissed')", name="status_known"
        ),
        Index("ix_outbox_messages_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))  # e.g. booking.approve, accounts.password_reset
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    to_address: Mapped[str] = mapped_column(Text)  # unchecked here: a bad one fails at delivery
    locale: Mapped[str | None] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    # [{"filename", "maintype", "subtype", "params", "content_b64"}]
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    # Stable per row, so a re-send after an uncertain attempt can be recognised as a duplicate.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    # Security mails (password reset links): bodies are wiped once delivered.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # A template that failed to render (the mail went out in the other language or as plain text).
    render_error: Mapped[str | None] = mapped_column(Text)

    user = relationship("User")


class NotificationMute(db.Model):
    """The user does not want mails of this topic (see notifications.topics). Absent = wanted."""

    __tablename__ = "notification_mutes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstrumentMute(db.Model):
    """A manager does not want mails about bookings of this instrument (as its manager)."""

    __tablename__ = "instrument_mutes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    instrument_id: Mapped[int] = mapped_column(
        ForeignKey("instruments.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    instrument = relationship("Instrument")


class JobRunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRun(db.Model):
    """One run of a scheduled job for one slot. UNIQUE(job_name, slot) makes a slot run once,
    even if two schedulers were active at the same time."""

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job_name", "slot"),
        CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_name: Mapped[str] = mapped_column(String(64))
    slot: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=JobRunStatus.RUNNING)
    runner: Mapped[str] = mapped_column(String(200))  # "scheduler host:pid" or "run-job host:pid"
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
