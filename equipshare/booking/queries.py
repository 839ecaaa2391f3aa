"""Read-only booking queries for the client pages. Each loads what its page shows at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload, selectinload

from equipshare.booking.models import SLOT_HOLDING, Booking, BookingEvent, BookingStatus
from equipshare.catalogue.models import Instrument, Lab
from equipshare.extensions import db

TABS = ("upcoming", "past", "cancelled")
ENDED = (BookingStatus.CANCELLED, BookingStatus.REJECTED, BookingStatus.EXPIRED)
DONE = (BookingStatus.COMPLETED, BookingStatus.NO_SHOW)
MAX_SEARCH = 100


def load_instrument_with_lab(instrument_id: int) -> Instrument | None:
    """One query: the instrument and its lab (the availability page needs nothing else)."""
    return db.session.scalars(
        select(Instrument).where(Instrument.id == instrument_id).options(joinedload(Instrument.lab))
    ).first()


def load_booking(booking_id: int) -> Booking | None:
    """A booking with everything its page shows: instrument, people, and the audit trail."""
    return db.session.scalars(
        select(Booking).where(Booking.id == booking_id).options(
            joinedload(Booking.instrument).joinedload(Instrument.lab).joinedload(Lab.institution),
            joinedload(Booking.user),
            joinedload(Booking.organisation),
            joinedload(Booking.decided_by),
            joinedload(Booking.cancelled_by),
            joinedload(Booking.usage_recorded_by),
            selectinload(Booking.events).joinedload(BookingEvent.actor),
        )
    ).unique().first()


def _tab_filter(tab: str, now: datetime):
    if tab == "past":
        return or_(Booking.status.in_(DONE), and_(Booking.status.in_(SLOT_HOLDING), Booking.end_at <= now))
    if tab == "cancelled":
        return Booking.status.in_(ENDED)
    return and_(Booking.status.in_(SLOT_HOLDING), Booking.end_at > now)


def clean_search(text: str | None) -> str:
    text = "".join(ch for ch in (text or "") if ch.isprintable())
    return " ".join(text.split())[:MAX_SEARCH]


def bookings_page(user, tab: str, whole_org: bool, search: str, page: int, per_page: int, now: datetime):
    """The user's own bookings, or (organisation admins) their organisation's, in one tab.

    Always scoped to the user's current organisation: bookings made for another organisation
    never show up here, whatever the parameters.
    """
    tab = tab if tab in TABS else "upcoming"
    stmt = select(Booking).join(Booking.instrument).where(
        Booking.organisation_id == (user.organisation_id or -1), _tab_filter(tab, now))
    if not (whole_org and user.is_org_admin):
        stmt = stmt.where(Booking.user_id == user.id)
    for term in search.split():
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        stmt = stmt.where(or_(Instrument.name_zh.ilike(pattern, escape="\\"),
                              Instrument.name_en.ilike(pattern, escape="\\"),
                              Booking.purpose.ilike(pattern, escape="\\")))
    stmt = stmt.options(joinedload(Booking.instrument), joinedload(Booking.user))
    order = Booking.start_at.asc() if tab == "upcoming" else Booking.start_at.desc()
    stmt = stmt.order_by(order, Booking.id)
    return db.paginate(stmt, page=max(page, 1), per_page=per_page, error_out=False, count=True)
