"""The booking rules of an instrument, checked on the server with messages that say which rule
was broken and what is allowed."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from equipshare.booking.models import MAX_BOOKING_MINUTES
from equipshare.catalogue.display import WEEKDAY_NAMES, hhmm
from equipshare.catalogue.models import Instrument, InstrumentStatus
from equipshare.errors import RuleViolation
from equipshare.timeutil import to_local
from equipshare.web import status_label

MAX_SAMPLES = 10_000
def is_round_the_clock(instrument: Instrument) -> bool:
    return instrument.open_minute == 0 and instrument.close_minute == 1440


def open_weekdays(instrument: Instrument) -> set[int]:
    """ISO weekday numbers (1 = Monday)."""
    return {int(ch) for ch in instrument.open_weekdays if ch.isdigit() and 1 <= int(ch) <= 7}


def check_interval_rules(instrument: Instrument, start: datetime, end: datetime, now: datetime,
                         *, check_notice: bool = True) -> None:
    """Status, grid, duration, notice, horizon and opening hours. Raises RuleViolation."""
    if instrument.status != InstrumentStatus.ACTIVE:
        raise RuleViolation(_l("This instrument cannot be booked at the moment (status: %(status)s).",
                               status=status_label(instrument.status).lower()), code="instrument_unavailable")
    if end <= start:
        raise RuleViolation(_l("The end must be after the start."), code="end_before_start", field="end")
    minutes = (end - start).total_seconds() / 60
    if minutes > MAX_BOOKING_MINUTES or minutes > instrument.max_duration_minutes:
        raise RuleViolation(
            _l("A booking may last at most %(max)s minutes on this instrument.", max=instrument.max_duration_minutes),
            code="too_long", field="end")
    if minutes < instrument.min_duration_minutes:
        raise RuleViolation(
            _l("A booking must last at least %(min)s minutes on this instrument.", min=instrument.min_duration_minutes),
            code="too_short", field="end")
    local_start, local_end = to_local(start), to_local(end)
    slot = instrument.slot_minutes
    for value, field in ((local_start, "start"), (local_end, "end")):
        if value.second or value.microsecond or (value.hour * 60 + value.minute) % slot:
            raise RuleViolation(
                _l("Times must be on the %(slot)s-minute grid (e.g. %(a)s, %(b)s).", slot=slot,
                   a=hhmm(instrument.open_minute), b=hhmm(instrument.open_minute + slot)),
                code="off_grid", field=field)
    if check_notice and start < now + timedelta(hours=instrument.min_notice_hours):
        if start < now:
            raise RuleViolation(_l("The start is in the past."), code="in_past", field="start")
        raise RuleViolation(
            _l("Bookings need at least %(hours)s hours' notice on this instrument.", hours=instrument.min_notice_hours),
            code="too_short_notice", field="start")
    if start > now + timedelta(days=instrument.horizon_days):
        raise RuleViolation(
            _l("Bookings can be made at most %(days)s days ahead on this instrument.", days=instrument.horizon_days),
            code="beyond_horizon", field="start")
    _check_opening_hours(instrument, local_start, local_end)


def _check_opening_hours(instrument: Instrument, local_start: datetime, local_end: datetime) -> None:
    days = open_weekdays(instrument)
    day = local_start.date()
    last_day = (local_end - timedelta(microseconds=1)).date()
    while day <= last_day:
        if day.isoweekday() not in days:
            names = ", ".join(str(WEEKDAY_NAMES[d - 1]) for d in sorted(days))
            raise RuleViolation(_l("The instrument is not open on %(day)s. Open days: %(days)s.",
                                   day=WEEKDAY_NAMES[day.isoweekday() - 1], days=names),
                                code="closed_day", field="start")
        day += timedelta(days=1)
    if is_round_the_clock(instrument):
        return
    hours = _l("Opening hours are %(open)s–%(close)s.", open=hhmm(instrument.open_minute),
               close=hhmm(instrument.close_minute))
    if last_day != local_start.date():
        raise RuleViolation(_l("A booking must start and end on the same day. %(hours)s", hours=hours),
                            code="outside_opening_hours", field="end")
    start_minute = local_start.hour * 60 + local_start.minute
    end_minute = (local_end - timedelta(microseconds=1)).hour * 60 + (local_end - timedelta(microseconds=1)).minute + 1
    if start_minute < instrument.open_minute or end_minute > instrument.close_minute:
        raise RuleViolation(_l("The booking lies outside opening hours. %(hours)s", hours=hours),
                            code="outside_opening_hours", field="start")


def check_samples(count: int) -> None:
    if count < 0 or count > MAX_SAMPLES:
        raise RuleViolation(_l("The number of samples must be between 0 and %(max)s.", max=MAX_SAMPLES),
                            code="bad_sample_count", field="sample_count")
