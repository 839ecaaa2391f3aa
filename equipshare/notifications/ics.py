"""The .ics attached to booking mails (iTIP, RFC 5546), built with the calendar feature's builder.

REQUEST carries the booking with its stable UID (booking-<id>@<host of SERVER_BASE_URL>, the
same as in the feeds) and its ``version`` as SEQUENCE, so a calendar client adds it, or updates
the copy it already has; CANCEL with the same UID removes it. Call inside force_locale(...):
the summary and description are in the recipient's language.
"""

from __future__ import annotations

from email.utils import parseaddr

from flask import current_app
from flask_babel import gettext as _
from icalendar import vCalAddress

from equipshare.booking.models import Booking, BookingStatus
from equipshare.calendars.ical import (
    SINGLE_STATUS,
    booking_event,
    clean_text,
    new_calendar,
)
from equipshare.calendars.services import calendar_settings
from equipshare.i18n import localized
from equipshare.mail import Attachment

REQUEST = "REQUEST"
CANCEL = "CANCEL"
_ALL_CANCELLED = {status: "CANCELLED" for status in BookingStatus}


def booking_ics(booking: Booking, method: str, attendee_email: str) -> Attachment:
    """The booking as an iTIP REQUEST (add/update) or CANCEL (remove) for one attendee."""
    settings = calendar_settings()
    cal = new_calendar(clean_text(localized(booking.instrument, "name")),
                       _("EquipShare booking #%(id)s", id=booking.id),
                       f"booking-mail-{booking.id}@{settings.host}", settings, method=method, subscription=False)
    event = booking_event(booking, settings, for_manager=False,
                          statuses=SINGLE_STATUS if method == REQUEST else _ALL_CANCELLED)
    sender = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1] or f"noreply@{settings.host}"
    organizer = vCalAddress(f"mailto:{sender}")
    organizer.params["CN"] = _("EquipShare")
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{attendee_email}")
    attendee.params.update({"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "ACCEPTED", "RSVP": "FALSE"})
    event.add("attendee", attendee)
    cal.add_component(event)
    return Attachment(filename=f"booking-{booking.id}.ics", content=cal.to_ical(), maintype="text",
                      subtype="calendar", params={"method": method, "charset": "utf-8"})
