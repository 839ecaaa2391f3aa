"""The pure iCalendar builder (the habit of Indico's ``events/ical.py``).

Plain functions over already loaded objects and explicit settings; they return
``icalendar`` objects and touch neither the database nor the request. Labels go through
gettext, so call them inside ``force_locale(<the reader's language>)``.

Everything is serialised by the ``icalendar`` library, never by string templates: it escapes
``;,\\`` and newlines (RFC 5545 §3.3.11), folds at 75 octets with CRLF and writes UTF-8. User
text is also stripped of control characters first, which RFC 5545 does not allow in TEXT.

What a feed shows (documented in docs/calendar-feeds.md):
pending → TENTATIVE; approved → CONFIRMED; completed → CONFIRMED (history); no_show →
CONFIRMED, marked "No-show" (the slot was held, and managers follow up on no-shows);
rejected, cancelled and expired are left out — a feed is a snapshot of what holds or held
the instrument. A single downloaded event keeps them, as STATUS:CANCELLED.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask_babel import gettext as _
from icalendar import Calendar, Event, vDuration, vText

from equipshare.booking.models import Booking, BookingStatus, Downtime
from equipshare.i18n import localized
from equipshare.web import status_label

PRODID = "-//EquipShare//EquipShare calendar feeds 1.0//EN"

FEED_STATUS = {
    BookingStatus.PENDING: "TENTATIVE",
    BookingStatus.APPROVED: "CONFIRMED",
    BookingStatus.COMPLETED: "CONFIRMED",
    BookingStatus.NO_SHOW: "CONFIRMED",
}
FEED_STATUSES = tuple(FEED_STATUS)
# A single downloaded event also exists for bookings that no longer hold their slot.
SINGLE_STATUS = {**FEED_STATUS, BookingStatus.REJECTED: "CANCELLED", BookingStatus.CANCELLED: "CANCELLED",
                 BookingStatus.EXPIRED: "CANCELLED"}

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class CalendarSettings:
    """What the builder needs from the configuration."""

    base_url: str  # SERVER_BASE_URL, for links
    refresh: timedelta  # REFRESH-INTERVAL and X-PUBLISHED-TTL

    @property
    def host(self) -> str:
        """The UID domain: SERVER_BASE_URL's host, so UIDs never change with anything else."""
        return (urlsplit(self.base_url).hostname or "equipshare.invalid").lower()

    def booking_url(self, booking_id: int) -> str:
        # The booking page (endpoint booking.detail); built here because a feed has no request.
        return f"{self.base_url.rstrip('/')}/bookings/{booking_id}"


def clean_text(value: str | None) -> str:
    """Newlines normalised to LF (escaped as ``\\n`` by icalendar), other control characters dropped."""
    if not value:
        return ""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", value).strip()


def booking_uid(booking_id: int, host: str) -> str:
    return f"booking-{booking_id}@{host}"


def downtime_uid(downtime_id: int, host: str) -> str:
    return f"downtime-{downtime_id}@{host}"


def new_calendar(name: str, description: str, uid: str, settings: CalendarSettings,
                 method: str | None = None, subscription: bool = True) -> Calendar:
    """A VCALENDAR with the properties calendar clients look for. Feeds have no METHOD; only
    subscriptions say how often to refresh."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    cal.add("uid", uid)
    name, description = clean_text(name), clean_text(description)
    cal.add("name", name)
    cal.add("x-wr-calname", vText(name))  # vText: X- properties are not escaped otherwise
    cal.add("description", description)
    cal.add("x-wr-caldesc", vText(description))
    if subscription:
        cal.add("refresh-interval", vDuration(settings.refresh), parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", vDuration(settings.refresh))
    return cal


class Texts:
    """Labels and names looked up once per calendar rather than once per event: a 5,000-event
    feed would otherwise spend a large share of its time in gettext. Create it inside the
    reader's ``force_locale``. Templates are translated without arguments and filled with ``%``."""

    def __init__(self) -> None:
        self.booking = _("Booking #%(id)s · %(status)s")
        self.instrument = _("Instrument: %(name)s")
        self.lab = _("Lab: %(name)s")
        self.organisation = _("Organisation: %(name)s")
        self.requester = _("Requester: %(name)s")
        self.purpose = _("Purpose: %(text)s")
        self.samples = _("Samples: %(samples)s")
        self.contact = _("Lab contact: %(contact)s")
        self.details = _("Details: %(url)s")
        self.downtime = _("Downtime: %(instrument)s")
        self.reason = _("Reason: %(reason)s")
        self._statuses: dict[str, str] = {}
        self._names: dict[tuple[str, int], str] = {}

    def status(self, status: str) -> str:
        if status not in self._statuses:
            self._statuses[status] = status_label(status)
        return self._statuses[status]

    def name(self, obj) -> str:
        """The localised, cleaned name of an instrument or lab."""
        key = (type(obj).__name__, obj.id)
        if key not in self._names:
            self._names[key] = clean_text(localized(obj, "name"))
        return self._names[key]

    def location(self, instrument) -> str:
        key = ("location", instrument.id)
        if key not in self._names:
            lab_name = self.name(instrument.lab)
            place = clean_text(instrument.location) or clean_text(instrument.lab.location)
            self._names[key] = f"{place}, {lab_name}" if place else lab_name
        return self._names[key]


def booking_summary(booking: Booking, for_manager: bool, texts: Texts) -> str:
    summary = texts.name(booking.instrument)
    if for_manager:
        summary = f"{summary} · {clean_text(booking.organisation.name)}"
    if booking.status in (BookingStatus.PENDING, BookingStatus.NO_SHOW) or SINGLE_STATUS.get(
            booking.status) == "CANCELLED":
        summary = f"[{texts.status(booking.status)}] {summary}"
    return summary


def booking_description(booking: Booking, settings: CalendarSettings, for_manager: bool, texts: Texts) -> str:
    instrument, lab = booking.instrument, booking.instrument.lab
    lines = [
        texts.booking % {"id": booking.id, "status": texts.status(booking.status)},
        texts.instrument % {"name": texts.name(instrument)},
        texts.lab % {"name": texts.name(lab)},
    ]
    if for_manager:
        lines.append(texts.organisation % {"name": clean_text(booking.organisation.name)})
        lines.append(texts.requester % {"name": clean_text(booking.user.name)})
    lines.append(texts.purpose % {"text": clean_text(booking.purpose)})
    samples = str(booking.sample_count)
    if booking.sample_description:
        samples = f"{samples} — {clean_text(booking.sample_description)}"
    lines.append(texts.samples % {"samples": samples})
    if not for_manager and (lab.contact_name or lab.contact_phone):
        contact = " ".join(clean_text(p) for p in (lab.contact_name, lab.contact_phone) if p)
        lines.append(texts.contact % {"contact": contact})
    lines.append(texts.details % {"url": settings.booking_url(booking.id)})
    return "\n".join(lines)


def booking_event(booking: Booking, settings: CalendarSettings, *, for_manager: bool,
                  statuses: dict[str, str] = FEED_STATUS, texts: Texts | None = None) -> Event:
    """One booking as a VEVENT. UID from the booking's id and the host only; DTSTAMP and
    LAST-MODIFIED from ``updated_at``, so an unchanged booking renders byte-identical.
    (TRANSP is left at its default, OPAQUE.)"""
    texts = texts or Texts()
    event = Event()
    event.add("uid", booking_uid(booking.id, settings.host))
    event.add("dtstamp", booking.updated_at)
    event.add("last-modified", booking.updated_at)
    event.add("sequence", booking.version)
    event.add("dtstart", booking.start_at)
    event.add("dtend", booking.end_at)
    event.add("status", statuses[booking.status])
    event.add("summary", booking_summary(booking, for_manager, texts))
    event.add("description", booking_description(booking, settings, for_manager, texts))
    event.add("location", texts.location(booking.instrument))
    event.add("url", settings.booking_url(booking.id))
    return event


def downtime_event(downtime: Downtime, settings: CalendarSettings, texts: Texts | None = None) -> Event:
    texts = texts or Texts()
    event = Event()
    event.add("uid", downtime_uid(downtime.id, settings.host))
    event.add("dtstamp", downtime.updated_at)
    event.add("last-modified", downtime.updated_at)
    event.add("sequence", 0)  # downtime is never edited, only created or deleted
    event.add("dtstart", downtime.start_at)
    event.add("dtend", downtime.end_at)
    event.add("status", "CONFIRMED")
    event.add("summary", texts.downtime % {"instrument": texts.name(downtime.instrument)})
    event.add("description", texts.reason % {"reason": clean_text(downtime.reason)})
    event.add("location", texts.location(downtime.instrument))
    return event


def feed_calendar(name: str, description: str, uid: str, settings: CalendarSettings,
                  bookings: Iterable[Booking], downtimes: Iterable[Downtime] = (), *,
                  for_manager: bool) -> Calendar:
    """A subscription feed. The caller passes rows in a fixed order (start, id)."""
    cal, texts = new_calendar(name, description, uid, settings), Texts()
    for booking in bookings:
        if booking.status in FEED_STATUS:
            cal.add_component(booking_event(booking, settings, for_manager=for_manager, texts=texts))
    for downtime in downtimes:
        cal.add_component(downtime_event(downtime, settings, texts))
    return cal


def single_booking_calendar(booking: Booking, settings: CalendarSettings, *, for_manager: bool) -> Calendar:
    """"Add to my calendar": one event to import (METHOD:PUBLISH, as Outlook expects)."""
    cal = new_calendar(clean_text(localized(booking.instrument, "name")),
                       _("EquipShare booking #%(id)s", id=booking.id),
                       f"booking-file-{booking.id}@{settings.host}", settings, method="PUBLISH",
                       subscription=False)
    cal.add_component(booking_event(booking, settings, for_manager=for_manager, statuses=SINGLE_STATUS))
    return cal
