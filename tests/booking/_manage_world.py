"""A small world for the lab managers' page tests: two labs, their managers, a client
organisation (member and admin), a platform admin, and a few bookings of lab A."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from equipshare.booking.models import Booking, BookingEvent, BookingStatus, Downtime, Qualification
from equipshare.db import utcnow
from equipshare.extensions import db
from equipshare.timeutil import LOCAL_TZ
from tests.factories import (
    make_admin,
    make_booking,
    make_downtime,
    make_instrument,
    make_lab,
    make_manager,
    make_org,
    make_qualification,
    make_user,
)


def local(days_ahead: int, hour: int, minute: int = 0) -> datetime:
    """Aware UTC for ``hour:minute`` China time, ``days_ahead`` days from today."""
    day = utcnow().astimezone(LOCAL_TZ).date() + timedelta(days=days_ahead)
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ).astimezone(UTC)


@dataclass
class World:
    lab_a: object
    lab_b: object
    inst_a: object
    inst_b: object
    manager_a: object
    manager_b: object
    client_user: object
    org_admin: object
    admin: object
    pending: Booking  # lab A, in 3 days
    approved: Booking  # lab A, in 4 days
    started: Booking  # lab A, approved, started 3 hours ago
    pending_b: Booking  # lab B
    downtime: Downtime  # lab A, in 10 days
    qualification: Qualification  # client_user on inst A

    def user(self, role: str):
        return None if role == "anonymous" else getattr(self, role)


def build_world() -> World:
    lab_a, lab_b = make_lab(), make_lab()
    inst_a, inst_b = make_instrument(lab_a), make_instrument(lab_b)
    # English pages (WTForms' own messages are translated otherwise).
    manager_a = make_manager(lab_a, name="Manager A", locale="en")
    manager_b = make_manager(lab_b, name="Manager B", locale="en")
    org = make_org(name="Linyi Coatings Ltd")
    client_user = make_user(org, name="Client Member", locale="en")
    org_admin = make_user(org, org_admin=True, name="Org Admin", locale="en")
    admin = make_admin(name="Platform Admin", locale="en")
    now = utcnow().replace(second=0, microsecond=0)
    pending = make_booking(inst_a, client_user, start=local(3, 10), purpose="XRD of powders", sample_count=4,
                           quoted_fee_fen=40000)
    approved = make_booking(inst_a, client_user, start=local(4, 10), status=BookingStatus.APPROVED)
    started = make_booking(inst_a, client_user, start=now - timedelta(hours=3), hours=2,
                           status=BookingStatus.APPROVED, sample_count=2)
    pending_b = make_booking(inst_b, client_user, start=local(3, 10), purpose="Lab B secret purpose")
    downtime = make_downtime(inst_a, local(10, 9), 2, manager_a, reason="Annual calibration")
    qualification = make_qualification(client_user, inst_a, manager_a)
    db.session.commit()
    return World(lab_a, lab_b, inst_a, inst_b, manager_a, manager_b, client_user, org_admin, admin, pending,
                 approved, started, pending_b, downtime, qualification)


def snapshot() -> tuple:
    """Everything the managers' pages could write: compare before and after a refused request."""
    db.session.expire_all()
    bookings = db.session.execute(
        db.select(Booking.id, Booking.status, Booking.version).order_by(Booking.id)).all()
    return (
        tuple(map(tuple, bookings)),
        db.session.scalar(db.select(db.func.count()).select_from(BookingEvent)),
        tuple(db.session.scalars(db.select(Downtime.id).order_by(Downtime.id))),
        tuple(db.session.scalars(db.select(Qualification.id).order_by(Qualification.id))),
    )
