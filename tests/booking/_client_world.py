"""Shared set-up for the client booking page tests (availability, request, my bookings, detail).

Views use the real clock, so times here are relative to today: ``future_monday()`` is the Monday
two weeks ahead (beyond any notice, within the 60-day horizon).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from equipshare.accounts.models import Organisation, User
from equipshare.booking.models import Booking, BookingEvent
from equipshare.catalogue.models import Instrument
from equipshare.db import utcnow
from equipshare.extensions import db
from equipshare.timeutil import LOCAL_TZ, week_start
from tests.factories import make_instrument, make_lab, make_manager, make_org, make_user


def today_local() -> date:
    return utcnow().astimezone(LOCAL_TZ).date()


def future_monday(weeks: int = 2) -> date:
    return week_start(today_local()) + timedelta(weeks=weeks)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware datetime at local (Asia/Shanghai) wall-clock time."""
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


def english(client) -> None:
    """Anonymous browsers: choose English pages (the default language is Chinese)."""
    client.get("/lang/en")


def booking_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Booking))


def event_count() -> int:
    return db.session.scalar(select(func.count()).select_from(BookingEvent))


@dataclass
class World:
    instrument: Instrument
    other_instrument: Instrument  # in another lab
    manager: User  # manages instrument's lab
    other_manager: User  # manages other_instrument's lab
    org: Organisation
    client: User
    colleague: User
    org_admin: User
    other_org: Organisation
    stranger: User  # client of other_org


def make_world(**instrument_kw) -> World:
    lab = make_lab()
    other_lab = make_lab()
    instrument = make_instrument(lab=lab, **instrument_kw)
    other_instrument = make_instrument(lab=other_lab)
    # English pages: assertions on text must not depend on the zh translation.
    manager = make_manager(lab, name="Manager Wang", locale="en")
    other_manager = make_manager(other_lab, name="Manager Liu", locale="en")
    org = make_org(name="Linyi Coatings Ltd")
    client = make_user(org, name="Client Chen", locale="en")
    colleague = make_user(org, name="Colleague Zhao", locale="en")
    org_admin = make_user(org, org_admin=True, name="Admin Sun", locale="en")
    other_org = make_org(name="Secretive Materials Co")
    stranger = make_user(other_org, name="Stranger Qian", locale="en")
    db.session.commit()
    return World(instrument, other_instrument, manager, other_manager, org, client, colleague, org_admin,
                 other_org, stranger)
