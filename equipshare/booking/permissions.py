"""Who may see and do what with bookings. Pure predicates; views and templates share them."""

from __future__ import annotations

from datetime import datetime

from equipshare.booking.models import SLOT_HOLDING, Booking, BookingStatus
from equipshare.db import utcnow


def manages_instrument(user, instrument) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return any(lab.id == instrument.lab_id for lab in user.managed_labs)


def _is_org_admin_of(user, organisation_id: int) -> bool:
    return user.is_org_admin and user.organisation_id == organisation_id


def _is_owner(user, booking: Booking) -> bool:
    return booking.user_id == user.id and user.organisation_id == booking.organisation_id


def can_view_booking(user, booking: Booking) -> bool:
    """Details (who, why) are for the requester, their organisation's admin, the instrument's
    managers and platform admins. Everyone else sees at most an anonymous busy block."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return (
        user.is_platform_admin
        or _is_owner(user, booking)
        or _is_org_admin_of(user, booking.organisation_id)
        or manages_instrument(user, booking.instrument)
    )


def can_see_booking_identities(user, instrument) -> bool:
    """Who booked and why, on an instrument's availability: its managers and platform admins."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_platform_admin) or manages_instrument(user, instrument)


def can_request_booking(user, instrument) -> bool:
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_client
        and instrument.status == "active"
    )


def can_cancel_booking(user, booking: Booking, now: datetime | None = None) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or booking.status not in SLOT_HOLDING:
        return False
    now = now or utcnow()
    if manages_instrument(user, booking.instrument):
        return now < booking.end_at
    if _is_owner(user, booking) or _is_org_admin_of(user, booking.organisation_id):
        return now < booking.start_at
    return False


def can_decide_booking(user, booking: Booking) -> bool:
    return booking.status == BookingStatus.PENDING and manages_instrument(user, booking.instrument)


def can_record_usage(user, booking: Booking, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (
        booking.status == BookingStatus.APPROVED
        and now >= booking.start_at
        and manages_instrument(user, booking.instrument)
    )


def can_reschedule_booking(user, booking: Booking, now: datetime | None = None) -> bool:
    """The requester (or their org admin) while the booking has not started; managers too."""
    return can_cancel_booking(user, booking, now) and (now or utcnow()) < booking.start_at


def can_manage_bookings_of(user, instrument) -> bool:
    """Downtime, qualifications, queue and agenda of an instrument."""
    return manages_instrument(user, instrument)
