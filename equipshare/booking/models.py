"""Bookings, their audit trail, downtime and qualifications.

The no-overlap guarantee lives in the database (see DESIGN.md §3 and the migration
"booking overlap guards"): on PostgreSQL an exclusion constraint between slot-holding
bookings plus a trigger between bookings and downtime; on SQLite triggers under a
``BEGIN IMMEDIATE`` write transaction.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from equipshare.db import UTCDateTime, utcnow
from equipshare.extensions import db


class BookingStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


SLOT_HOLDING = (BookingStatus.PENDING, BookingStatus.APPROVED)
SLOT_HOLDING_SQL = "status IN ('pending', 'approved')"

# Longest booking any instrument may allow (7 days, also a CHECK on instruments); lets range
# queries bound start_at from both sides and so use the (instrument_id, start_at) index.
MAX_BOOKING_MINUTES = 7 * 24 * 60


class Booking(db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        CheckConstraint("sample_count >= 0", name="sample_count_not_negative"),
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'cancelled', 'expired', 'completed', 'no_show')",
            name="status_known",
        ),
        Index("ix_bookings_instrument_start", "instrument_id", "start_at"),
        Index("ix_bookings_org_start", "organisation_id", "start_at"),
        Index("ix_bookings_user_start", "user_id", "start_at"),
        Index("ix_bookings_status_start", "status", "start_at"),
        ExcludeConstraint(
            ("instrument_id", "="),
            (text("tstzrange(start_at, end_at, '[)')"), "&&"),
            name="ex_bookings_no_overlap",
            using="gist",
            where=text(SLOT_HOLDING_SQL),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=BookingStatus.PENDING)
    purpose: Mapped[str] = mapped_column(Text)
    sample_description: Mapped[str | None] = mapped_column(Text)
    sample_count: Mapped[int] = mapped_column(Integer, default=0)
    customer_class: Mapped[str] = mapped_column(String(20))
    quoted_fee_fen: Mapped[int] = mapped_column(Integer, default=0)

    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)

    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    late_cancellation: Mapped[bool] = mapped_column(default=False)

    actual_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actual_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actual_samples: Mapped[int | None] = mapped_column(Integer)
    usage_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set by the scheduled jobs (equipshare/jobs.py): the reminder went out (reset when the
    # booking moves); the end passed with no usage recorded yet (awaiting the manager's entry).
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awaiting_usage_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Bumped on every change; it is the iCal SEQUENCE.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    instrument = relationship("Instrument")
    user = relationship("User", foreign_keys=[user_id])
    organisation = relationship("Organisation")
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    cancelled_by = relationship("User", foreign_keys=[cancelled_by_id])
    usage_recorded_by = relationship("User", foreign_keys=[usage_recorded_by_id])
    events: Mapped[list[BookingEvent]] = relationship(
        back_populates="booking", order_by="BookingEvent.id", cascade="all, delete-orphan"
    )

    @property
    def holds_slot(self) -> bool:
        return self.status in SLOT_HOLDING

    @property
    def duration_minutes(self) -> int:
        return int((self.end_at - self.start_at).total_seconds() // 60)


# ``bookings.status IN ('pending', 'approved')`` with the statuses written into the SQL, for the
# statements built once with bind parameters (an expanding IN parameter is re-rendered per run).
HOLDS_SLOT = Booking.status.in_([literal_column(f"'{status.value}'") for status in SLOT_HOLDING])


class BookingEvent(db.Model):
    """Append-only audit trail: one row per transition or edit of a booking."""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system (a job)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)

    booking: Mapped[Booking] = relationship(back_populates="events")
    actor = relationship("User")


class Downtime(db.Model):
    """Maintenance or other blocked time; blocks bookings like a booking does."""

    __tablename__ = "downtimes"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        Index("ix_downtimes_instrument_start", "instrument_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    instrument = relationship("Instrument")
    created_by = relationship("User")


class Qualification(db.Model):
    """A user may operate a self-service instrument. Granted by one of its lab's managers."""

    __tablename__ = "qualifications"
    __table_args__ = (UniqueConstraint("user_id", "instrument_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="CASCADE"), index=True)
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)

    user = relationship("User", foreign_keys=[user_id])
    instrument = relationship("Instrument")
    granted_by = relationship("User", foreign_keys=[granted_by_id])
