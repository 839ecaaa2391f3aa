"""Who may change which notification settings, and see the delivery and job pages."""

from __future__ import annotations

from equipshare.booking.permissions import manages_instrument


def can_mute_instrument(user, instrument) -> bool:
    """Managers may mute the instruments they manage (mails they get as its manager)."""
    return manages_instrument(user, instrument)


def can_manage_outbox(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_platform_admin

