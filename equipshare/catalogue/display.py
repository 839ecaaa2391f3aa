"""How an instrument is shown to people: the specs table and its booking rules in plain words."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from equipshare.catalogue.models import BookingMode, Instrument

WEEKDAY_NAMES = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
                 _l("Saturday"), _l("Sunday"))

BOOKING_MODE_LABELS = {
    BookingMode.SELF: _l("Self-operated after training"),
    BookingMode.SERVICE: _l("Staff-operated service"),
}
BOOKING_MODE_HELP = {
    BookingMode.SELF: _l("You operate the instrument yourself once the lab has trained and qualified you."),
    BookingMode.SERVICE: _l("You send or bring your samples; the lab's staff run them for you."),
}
CUSTOMER_CLASS_LABELS = {
    "internal": _l("Internal"),
    "academic": _l("Academic"),
    "enterprise": _l("Enterprise"),
}
CUSTOMER_CLASS_HELP = {
    "internal": _l("Members of the instrument's own institution"),
    "academic": _l("Other universities and research institutes"),
    "enterprise": _l("Firms"),
}
CUSTOMER_CLASSES = ("internal", "academic", "enterprise")


def parse_specs(text: str | None) -> list[tuple[str, str]]:
    """``"name: value"`` per line → rows. A full-width colon counts too; a line without a colon
    becomes a row with an empty value."""
    rows = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        positions = [p for p in (line.find(":"), line.find("：")) if p > 0]
        if positions:
            cut = min(positions)
            rows.append((line[:cut].strip(), line[cut + 1:].strip()))
        else:
            rows.append((line, ""))
    return rows


def hhmm(minute_of_day: int) -> str:
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


def duration_words(minutes: int) -> str:
    if minutes >= 1440 and minutes % 1440 == 0:
        days = minutes // 1440
        return ngettext("%(num)s day", "%(num)s days", days)
    if minutes >= 60 and minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(num)s hour", "%(num)s hours", hours)
    if minutes > 60:
        return _("%(hours)s h %(minutes)s min", hours=minutes // 60, minutes=minutes % 60)
    return ngettext("%(num)s minute", "%(num)s minutes", minutes)


def weekday_numbers(instrument: Instrument) -> list[int]:
    return sorted({int(c) for c in instrument.open_weekdays or "" if c.isdigit() and 1 <= int(c) <= 7})


def weekdays_words(days: list[int]) -> str:
    if len(days) == 7:
        return _("every day")
    if not days:
        return _("no day")
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{WEEKDAY_NAMES[run[0] - 1]}–{WEEKDAY_NAMES[run[-1] - 1]}")
        else:
            parts.extend(str(WEEKDAY_NAMES[d - 1]) for d in run)
    return ", ".join(parts)


def opening_words(instrument: Instrument) -> str:
    days = weekdays_words(weekday_numbers(instrument))
    if instrument.open_minute == 0 and instrument.close_minute == 1440:
        return _("Open %(days)s, around the clock.", days=days)
    return _("Open %(days)s, %(open)s–%(close)s (China Standard Time).", days=days,
             open=hhmm(instrument.open_minute), close=hhmm(instrument.close_minute))


def rules_in_words(instrument: Instrument) -> list[str]:
    """The booking rules as sentences, in the order a client plans a booking."""
    i = instrument
    rules = [opening_words(i)]
    rules.append(_("Start and end times fall on a grid of %(slot)s.", slot=duration_words(i.slot_minutes)))
    if i.min_duration_minutes == i.max_duration_minutes:
        rules.append(_("Each booking lasts %(d)s.", d=duration_words(i.min_duration_minutes)))
    else:
        rules.append(_("Each booking lasts from %(min)s to %(max)s.", min=duration_words(i.min_duration_minutes),
                       max=duration_words(i.max_duration_minutes)))
    if i.min_notice_hours:
        rules.append(_("Book at least %(notice)s in advance.", notice=duration_words(i.min_notice_hours * 60)))
    rules.append(_("You can book up to %(days)s ahead.", days=duration_words(i.horizon_days * 1440)))
    if i.requires_approval:
        rules.append(_("The lab reviews every request and confirms or declines it."))
    else:
        rules.append(_("Requests are confirmed at once, without waiting for the lab."))
    if i.booking_mode == BookingMode.SELF:
        rules.append(_("Only users the lab has trained and qualified may book."))
    if i.late_cancel_hours:
        rules.append(_("Cancelling less than %(hours)s before the start may be charged.",
                       hours=duration_words(i.late_cancel_hours * 60)))
    else:
        rules.append(_("You can cancel free of charge until the start."))
    return rules


def booking_mode_label(mode: str) -> str:
    return str(BOOKING_MODE_LABELS.get(mode, mode))


def customer_class_label(customer_class: str) -> str:
    return str(CUSTOMER_CLASS_LABELS.get(customer_class, customer_class))
