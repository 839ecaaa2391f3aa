"""Builders for billing tests: firms, instruments, bookings with an outcome, a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from equipshare.accounts.models import Organisation, User
from equipshare.booking.models import Booking, BookingStatus
from equipshare.catalogue.models import Instrument
from equipshare.timeutil import as_utc
from tests.factories import make_booking, make_client_user, make_instrument, make_lab, make_manager, make_user


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A China Standard Time wall-clock time, as aware UTC."""
    return as_utc(datetime(year, month, day, hour, minute))


# The clock of most tests: just after the monthly job's time on 1 April 2026.
APRIL_1 = local(2026, 4, 1, 0, 5)


@dataclass
class Setup:
    instrument: Instrument
    manager: User
    client: User  # the firm's organisation admin
    org: Organisation


def setup_firm(rates: dict | None = None, **instrument_kw) -> Setup:
    lab = make_lab()
    manager = make_manager(lab, locale="en")  # English pages: the tests read English messages
    instrument = make_instrument(lab=lab, rates=rates, **instrument_kw)
    client = make_client_user(org_admin=True, locale="en")
    return Setup(instrument, manager, client, client.organisation)


def member_of(org: Organisation) -> User:
    return make_user(org, locale="en")


def completed_booking(instrument: Instrument, user: User, start: datetime, minutes: int = 60,
                      actual_minutes: int | None = None, samples: int = 0, **kw) -> Booking:
    """A booking whose usage is recorded (status completed), without going through the service."""
    actual_minutes = minutes if actual_minutes is None else actual_minutes
    return make_booking(instrument, user, start=start, hours=minutes / 60, status=BookingStatus.COMPLETED,
                        actual_start_at=start, actual_end_at=start + timedelta(minutes=actual_minutes),
                        actual_samples=samples, **kw)
