"""Tell people about booking events, after the transaction that made them has committed.

Who hears of what: a new request → the instrument's managers; a decision, a manager's
cancellation (also for downtime), a manager's reschedule, an expiry → the requester; a
client's cancellation or reschedule → the managers. A failed send is logged and never undoes
the business action (issue 4 replaces direct sending with a durable outbox).
"""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from equipshare.booking.models import BookingEvent
from equipshare.mail import send_mail

SUBJECTS = {
    "requested": _l("New booking request #%(id)s: %(instrument)s"),
    "approve": _l("Booking #%(id)s approved: %(instrument)s"),
    "reject": _l("Booking #%(id)s rejected: %(instrument)s"),
    "cancel": _l("Booking #%(id)s cancelled: %(instrument)s"),
    "expire": _l("Booking request #%(id)s expired: %(instrument)s"),
    "rescheduled": _l("Booking #%(id)s moved: %(instrument)s"),
}


def recipients_for(event: BookingEvent) -> list:
    booking = event.booking
    managers = [m for m in booking.instrument.lab.managers if m.active]
    requester = [booking.user] if booking.user.active else []
    actor_is_manager = event.actor_id is not None and any(m.id == event.actor_id for m in managers)
    if event.action == "requested":
        return managers
    if event.action in ("approve", "reject", "expire"):
        if event.action == "approve" and event.actor_id is None and booking.instrument.requires_approval is False:
            return requester + managers  # instant confirmation: managers learn of it too
        return requester
    if event.action in ("cancel", "rescheduled"):
        if actor_is_manager:
            return [u for u in requester if u.id != event.actor_id]
        return managers
    return []


def booking_events(events: list[BookingEvent]) -> None:
    for event in events:
        for user in recipients_for(event):
            _send(event, user)


def _send(event: BookingEvent, user) -> None:
    from equipshare.i18n import localized

    booking = event.booking
    try:
        with force_locale(user.locale or "zh"):
            instrument_name = localized(booking.instrument, "name")
            subject = str(SUBJECTS[event.action] % {"id": booking.id, "instrument": instrument_name})
            context = {"event": event, "booking": booking, "recipient": user, "instrument_name": instrument_name,
                       "base_url": current_app.config["SERVER_BASE_URL"]}
            text = render_template("emails/booking_event.txt", **context)
            html = render_template("emails/booking_event.html", **context)
        send_mail(user.email, subject, text, html)
    except Exception:  # noqa: BLE001 - a failed mail must not undo the committed action
        current_app.logger.exception("Could not send booking mail for event %s to %s", event.id, user.email)
