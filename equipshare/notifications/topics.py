"""Mail kinds and the topics a user can switch off.

Every queued mail has a ``kind`` ("booking.approve", "accounts.password_reset", …). A kind
belongs to at most one topic; a user mutes topics, not kinds. Kinds in no topic (security
mails such as a password reset, or mails to an address that is not a user yet, such as an
invitation) cannot be muted.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# topic → (label, help, kinds)
TOPICS: dict[str, tuple] = {
    "new_requests": (
        _l("New booking requests"),
        _l("A client asks for (or instantly books) time on an instrument you manage."),
        ("booking.requested", "booking.confirmed"),
    ),
    "decisions": (
        _l("Decisions on my requests"),
        _l("Your request was approved, rejected, or expired without a decision."),
        ("booking.approve", "booking.reject", "booking.expire"),
    ),
    "cancellations": (
        _l("Cancellations"),
        _l("A booking was cancelled by the other side or because of maintenance."),
        ("booking.cancel",),
    ),
    "changes": (
        _l("Moved bookings"),
        _l("A booking was moved to another time."),
        ("booking.rescheduled",),
    ),
    "reminders": (
        _l("Reminders"),
        _l("A reminder before each of your approved bookings."),
        ("booking.reminder",),
    ),
    "organisation": (
        _l("My organisation"),
        _l("Decisions on your organisation's registration and on requests to join it."),
        ("accounts.org_decision", "accounts.join_decision"),
    ),
}

# Topics only lab managers receive (the page shows them to managers only).
MANAGER_TOPICS = frozenset({"new_requests"})

_TOPIC_OF_KIND = {kind: topic for topic, (_label, _help, kinds) in TOPICS.items() for kind in kinds}


def topic_of(kind: str) -> str | None:
    """The topic that can mute this kind of mail; None = cannot be muted."""
    return _TOPIC_OF_KIND.get(kind)
