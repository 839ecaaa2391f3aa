"""Who may hold which calendar feed. Pure predicates, shared by views, services and templates."""

from __future__ import annotations

from equipshare.booking.permissions import can_view_booking, manages_instrument
from equipshare.calendars.models import FeedScope, FeedToken


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def can_create_feed(user, scope: str, target=None) -> bool:
    """A client: a feed of their own bookings. A lab manager: one instrument or lab they manage,
    or everything they manage. ``target`` is the Instrument or Lab for those scopes."""
    if not _signed_in(user):
        return False
    if scope == FeedScope.MINE:
        return user.is_client
    if scope == FeedScope.MANAGED:
        return user.is_lab_manager
    if scope == FeedScope.LAB:
        return target is not None and any(lab.id == target.id for lab in user.managed_labs)
    if scope == FeedScope.INSTRUMENT:
        return target is not None and manages_instrument(user, target)
    return False


def can_use_feed(owner, feed: FeedToken) -> bool:
    """A feed works only while it is not revoked and its owner still has the role it needs:
    deactivated, no longer managing the lab, removed from the organisation → it stops."""
    if feed.revoked_at is not None or not _signed_in(owner):
        return False
    if feed.scope == FeedScope.LAB:  # by id: the lab itself need not be loaded
        return any(lab.id == feed.lab_id for lab in owner.managed_labs)
    return can_create_feed(owner, feed.scope, feed.instrument)


def can_manage_feed(user, feed: FeedToken) -> bool:
    """Revoke or regenerate: only the feed's owner."""
    return _signed_in(user) and feed.user_id == user.id


def can_download_booking_ics(user, booking) -> bool:
    return can_view_booking(user, booking)
