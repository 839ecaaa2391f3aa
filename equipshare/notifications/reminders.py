"""Reminders before approved bookings: state-driven, so a missed run catches up and a re-run
changes nothing. "Remind approved bookings starting within REMINDER_HOURS whose reminder has
not been sent": each booking is marked (``reminder_sent_at``) in the same transaction that
queues its mail, under the booking's row lock."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from equipshare.booking import notify
from equipshare.booking.models import Booking, BookingStatus
from equipshare.db import begin_write
from equipshare.extensions import db


def _due(booking: Booking, now: datetime, horizon: datetime) -> bool:
    return (booking.status == BookingStatus.APPROVED and booking.reminder_sent_at is None
            and now < booking.start_at <= horizon)


def remind_booking(booking_id: int, now: datetime, hours: int | None = None) -> bool:
    """Queue the reminder for one booking if it is (still) due. One transaction."""
    hours = current_app.config["REMINDER_HOURS"] if hours is None else hours
    begin_write(db.session)
    booking = db.session.scalar(select(Booking).where(Booking.id == booking_id).with_for_update()
                                .execution_options(populate_existing=True))
    if booking is None or not _due(booking, now, now + timedelta(hours=hours)):
        db.session.rollback()
        return False
    booking.reminder_sent_at = now
    notify.queue_booking_reminder(booking, hours)
    db.session.commit()
    return True


def send_due_reminders(now: datetime) -> dict[str, int]:
    """The send-reminders job."""
    hours = current_app.config["REMINDER_HOURS"]
    ids = db.session.scalars(select(Booking.id).where(
        Booking.status == BookingStatus.APPROVED, Booking.start_at > now,
        Booking.start_at <= now + timedelta(hours=hours), Booking.reminder_sent_at.is_(None),
    ).order_by(Booking.start_at)).all()
    db.session.commit()
    return {"reminded": sum(remind_booking(booking_id, now, hours) for booking_id in ids)}
