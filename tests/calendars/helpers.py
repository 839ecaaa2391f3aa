"""Parsing helpers: every feed is read back by icalendar and by an independent parser (vobject)."""

from __future__ import annotations

import icalendar
import vobject


def parse(body: bytes):
    """Parse with icalendar and, independently, with vobject; return both."""
    cal = icalendar.Calendar.from_ical(body)
    vcal = vobject.readOne(body.decode("utf-8"))
    return cal, vcal


def events(cal) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def vevents(vcal) -> dict[str, object]:
    return {c.uid.value: c for c in vcal.vevent_list} if hasattr(vcal, "vevent_list") else {}
