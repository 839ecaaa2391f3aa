"""Tell people about booking events: their mails are rendered and queued in the outbox inside
the transaction that made the change (so they commit, or vanish, with it), and sent afterwards
by the scheduler's deliver-outbox job.

Who hears of what: a new request → the instrument's managers; a decision, a manager's
cancellation (also for downtime), a manager's reschedule, an expiry → the requester; a
client's cancellation or reschedule → the managers; an instant confirmation → the requester
and the managers; a reminder before an approved booking → the requester.

Mails to the requester carry the booking as an .ics: a REQUEST when it is (still) approved
after the change, a CANCEL when it stops being approved. Managers use the calendar feeds.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from equipshare.booking.models import Booking, BookingEvent, BookingStatus
from equipshare.extensions import db
from equipshare.i18n import localized
from equipshare.notifications.ics import CANCEL, REQUEST, booking_ics
from equipshare.notifications.outbox import is_muted, queue_template

SUBJECTS = {
    "requested": _l("New booking request #%(id)s: %(instrument)s"),
    "confirmed": _l("New booking #%(id)s (confirmed at once): %(instrument)s"),
    "approve": _l("Booking #%(id)s approved: %(instrument)s"),
    "reject": _l("Booking #%(id)s rejected: %(instrument)s"),
    "cancel": _l("Booking #%(id)s cancelled: %(instrument)s"),
    "expire": _l("Booking request #%(id)s expired: %(instrument)s"),
    "rescheduled": _l("Booking #%(id)s moved: %(instrument)s"),
    "reminder": _l("Reminder: booking #%(id)s on %(instrument)s starts soon"),
}


class _Subject:
    """Formats the subject when it is turned into text, i.e. inside the recipient's locale."""

    def __init__(self, key: str, booking: Booking):
        self.key, self.booking = key, booking

    def __str__(self) -> str:
        return SUBJECTS[self.key] % {"id": self.booking.id, "instrument": localized(self.booking.instrument, "name")}


def recipients_for(event: BookingEvent) -> list:
    booking = event.booking
    managers = [m for m in booking.instrument.lab.managers if m.active]
    requester = [booking.user] if booking.user.active else []
    actor_is_manager = event.actor_id is not None and any(m.id == event.actor_id for m in managers)
    if event.action == "requested":
        return managers
    if event.action in ("approve", "reject", "expire"):
        if event.action == "approve" and event.actor_id is None and booking.instrument.requires_approval is False:
            return requester + [m for m in managers if m.id != booking.user_id]  # instant confirmation
        return requester
    if event.action in ("cancel", "rescheduled"):
        if actor_is_manager:
            return [u for u in requester if u.id != event.actor_id]
        return managers
    return []


def queue_booking_events(events: list[BookingEvent]) -> None:
    """Queue the mails these events call for. Call it before the transaction commits."""
    if not events:
        return
    db.session.flush()  # ids for subjects, links and calendar UIDs
    for event in events:
        if event.action == "rescheduled":
            event.booking.reminder_sent_at = None  # the new time gets its own reminder
        for user in recipients_for(event):
            _queue_event_mail(event, user)


def _calendar_method(event: BookingEvent, user) -> str | None:
    if user.id != event.booking.user_id:
        return None
    if event.to_status == BookingStatus.APPROVED and event.action in ("approve", "rescheduled"):
        return REQUEST
    if event.from_status == BookingStatus.APPROVED and event.to_status != BookingStatus.APPROVED:
        return CANCEL
    return None


def _queue_event_mail(event: BookingEvent, user) -> None:
    booking = event.booking
    as_manager = user.id != booking.user_id
    key = "confirmed" if event.action == "approve" and as_manager else event.action
    _queue(booking, user, f"booking.{key}", "emails/booking_event", _Subject(key, booking),
           _calendar_method(event, user), as_manager, event=event)


def queue_booking_reminder(booking: Booking, hours: int) -> None:
    """The reminder before an approved booking, to its requester, with the booking as a REQUEST."""
    if booking.user.active:
        _queue(booking, booking.user, "booking.reminder", "emails/booking_reminder",
               _Subject("reminder", booking), REQUEST, False, hours=hours)


def _queue(booking: Booking, user, kind: str, template: str, subject: _Subject, method: str | None,
           as_manager: bool, **context) -> None:
    about_instrument_id = booking.instrument_id if as_manager else None
    if is_muted(user, kind, about_instrument_id):
        return  # before building the .ics, not after
    base_url = current_app.config["SERVER_BASE_URL"].rstrip("/")
    attachments, ics_error = (), None
    if method:
        try:
            with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
                attachments = (booking_ics(booking, method, user.email),)
        except Exception as exc:  # noqa: BLE001 - the mail goes out without its .ics
            current_app.logger.exception("Could not build the .ics for booking %s", booking.id)
            ics_error = f"ics: {type(exc).__name__}: {exc}"
    message = queue_template(
        user, kind, template, subject, attachments=attachments, mutable=False,  # mute checked above
        fallback_text=f"{base_url}/bookings/{booking.id}",
        booking=booking, recipient=user, base_url=base_url, **context,
    )
    if message is not None and ics_error:
        message.render_error = "; ".join(filter(None, (message.render_error, ics_error)))
