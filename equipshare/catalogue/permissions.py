"""Who may see and change what in the catalogue. Pure predicates; views and templates share them.

Platform admins may do everything a lab manager may do, for every lab.
"""

from __future__ import annotations

from equipshare.catalogue.models import Instrument, InstrumentStatus, Lab


def _authenticated(user) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def _is_admin(user) -> bool:
    return _authenticated(user) and bool(user.is_platform_admin)


def managed_lab_ids(user) -> set[int]:
    """Ids of the labs ``user`` manages (empty for anonymous users)."""
    if not _authenticated(user):
        return set()
    return {lab.id for lab in user.managed_labs}


def can_administer_platform(user) -> bool:
    return _is_admin(user)


def can_manage_lab(user, lab: Lab) -> bool:
    """Edit the lab's instruments, their rules and rates."""
    return _is_admin(user) or (lab is not None and lab.id in managed_lab_ids(user))


def can_manage_instrument(user, instrument: Instrument) -> bool:
    # Compare ids: loading instrument.lab (and its managers) for every check would be N+1.
    return _is_admin(user) or (instrument is not None and instrument.lab_id in managed_lab_ids(user))


def can_use_manage_area(user) -> bool:
    """The /manage pages: lab managers and platform admins."""
    return _is_admin(user) or bool(managed_lab_ids(user))


def can_view_instrument(user, instrument: Instrument) -> bool:
    """Retired instruments leave the public catalogue; their managers and admins still see them."""
    if instrument is None:
        return False
    if instrument.status != InstrumentStatus.RETIRED:
        return True
    return can_manage_instrument(user, instrument)
