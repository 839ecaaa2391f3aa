"""Read-only queries behind the lab managers' booking pages (queue, agenda, downtime, qualifications).

Every query is scoped to the labs the manager manages, so a page can never list another lab's
bookings; the write paths check again in the service, under the lock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from equipshare.accounts.models import User
from equipshare.booking.models import Booking, BookingStatus, Downtime, Qualification
from equipshare.catalogue.models import Instrument
from equipshare.extensions import db
from equipshare.timeutil import local_midnight, to_local

QUEUE_PAGE_SIZE = 50
OVERDUE_LIMIT = 200


def managed_lab_ids(user) -> list[int]:
    return sorted(lab.id for lab in user.managed_labs)


def managed_instruments(user) -> list[Instrument]:
    lab_ids = managed_lab_ids(user)
    if not lab_ids:
        return []
    return list(db.session.scalars(
        select(Instrument).where(Instrument.lab_id.in_(lab_ids)).order_by(Instrument.name_zh, Instrument.id)))


def _with_people(query):
    return query.options(joinedload(Booking.user), joinedload(Booking.organisation), joinedload(Booking.instrument))


def _scoped(query, user, instrument_id: int | None):
    query = query.join(Instrument, Instrument.id == Booking.instrument_id).where(
        Instrument.lab_id.in_(managed_lab_ids(user)))
    if instrument_id is not None:
        query = query.where(Booking.instrument_id == instrument_id)
    return query


def pending_queue(user, instrument_id: int | None, page: int):
    """Pending requests of the manager's instruments, the oldest request first."""
    query = _scoped(select(Booking).where(Booking.status == BookingStatus.PENDING), user, instrument_id)
    query = _with_people(query.order_by(Booking.created_at, Booking.id))
    return db.paginate(query, page=page, per_page=QUEUE_PAGE_SIZE, error_out=False)


def bookings_by_ids(ids: list[int]) -> list[Booking]:
    if not ids:
        return []
    return list(db.session.scalars(_with_people(select(Booking).where(Booking.id.in_(ids)))))


@dataclass
class Agenda:
    first_day: date
    days: int
    overdue: list[Booking] = field(default_factory=list)
    overdue_more: bool = False
    by_day: dict[date, list[Booking]] = field(default_factory=dict)


def agenda(user, instrument_id: int | None, first_day: date, days: int, now: datetime) -> Agenda:
    """Approved bookings from ``first_day`` for ``days`` days, grouped by local day, and the
    approved bookings whose end has passed (usage or a no-show still to be recorded)."""
    start = local_midnight(first_day)
    end = local_midnight(first_day + timedelta(days=days))
    approved = select(Booking).where(Booking.status == BookingStatus.APPROVED)
    upcoming = _with_people(_scoped(approved, user, instrument_id)).where(
        Booking.end_at > max(start, now), Booking.start_at < end).order_by(Booking.start_at, Booking.id)
    overdue = _with_people(_scoped(approved, user, instrument_id)).where(
        Booking.end_at <= now).order_by(Booking.start_at, Booking.id).limit(OVERDUE_LIMIT + 1)
    result = Agenda(first_day=first_day, days=days)
    result.overdue = list(db.session.scalars(overdue).unique())
    result.overdue_more = len(result.overdue) > OVERDUE_LIMIT
    result.overdue = result.overdue[:OVERDUE_LIMIT]
    grouped: dict[date, list[Booking]] = defaultdict(list)
    for booking in db.session.scalars(upcoming).unique():
        grouped[max(to_local(booking.start_at).date(), first_day)].append(booking)
    result.by_day = dict(sorted(grouped.items()))
    return result


def current_downtimes(instrument_id: int, now: datetime) -> list[Downtime]:
    return list(db.session.scalars(
        select(Downtime).options(joinedload(Downtime.created_by))
        .where(Downtime.instrument_id == instrument_id, Downtime.end_at > now).order_by(Downtime.start_at)))


def qualifications_of_instrument(instrument_id: int) -> list[Qualification]:
    return list(db.session.scalars(
        select(Qualification).join(User, User.id == Qualification.user_id)
        .options(joinedload(Qualification.user).joinedload(User.organisation), joinedload(Qualification.granted_by))
        .where(Qualification.instrument_id == instrument_id).order_by(User.name, User.id)))


def qualifications_of_user(user_id: int) -> list[Qualification]:
    return list(db.session.scalars(
        select(Qualification).join(Instrument, Instrument.id == Qualification.instrument_id)
        .options(joinedload(Qualification.instrument).joinedload(Instrument.lab), joinedload(Qualification.granted_by))
        .where(Qualification.user_id == user_id).order_by(Instrument.name_zh, Instrument.id)))


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))
