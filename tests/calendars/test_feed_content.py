"""What a feed contains, read back by two parsers: events, UIDs, UTC times, statuses, escaping."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest
from flask_babel import force_locale, gettext
from icalendar import Calendar

from equipshare.booking import services as booking_services
from equipshare.calendars import services
from equipshare.calendars.ical import clean_text
from equipshare.extensions import db
from equipshare.web import status_label
from tests.calendars.helpers import events, parse, vevents
from tests.factories import make_booking, make_feed

HOST = "equipshare.test"  # TestConfig.SERVER_BASE_URL's host


def render(feed, now) -> bytes:
    settings = services.calendar_settings()
    return services.build_feed(feed, services.feed_state(feed, now, settings), settings)


def uid(booking) -> str:
    return f"booking-{booking.id}@{HOST}"


def test_manager_feed_holds_bookings_and_downtime_with_statuses(world):
    feed, _ = make_feed(world.manager, "managed")
    db.session.commit()
    body = render(feed, world.now)
    cal, vcal = parse(body)
    found, vfound = events(cal), vevents(vcal)
    b = world.b
    expected = {uid(b.pending): "TENTATIVE", uid(b.approved): "CONFIRMED", uid(b.completed): "CONFIRMED",
                uid(b.no_show): "CONFIRMED", uid(b.colleague): "CONFIRMED", uid(b.other_org): "CONFIRMED",
                f"downtime-{world.downtime.id}@{HOST}": "CONFIRMED"}
    assert {k: str(v["STATUS"]) for k, v in found.items()} == expected
    assert {k: v.status.value for k, v in vfound.items()} == expected  # the independent parser agrees
    for gone in (b.cancelled, b.rejected, b.expired):
        assert uid(gone) not in found

    event = found[uid(b.approved)]
    assert event.start == b.approved.start_at and event.start.tzinfo is not None
    assert event.start.utcoffset() == timedelta(0) and event.end == b.approved.end_at
    assert vfound[uid(b.approved)].dtstart.value == b.approved.start_at.astimezone(UTC)
    assert event["SEQUENCE"] == b.approved.version
    assert str(event["URL"]) == f"http://{HOST}/bookings/{b.approved.id}"
    description = str(event["DESCRIPTION"])
    for text in (world.client.organisation.name, "李四", "Steel coupons", "3", "SEM imaging"):
        assert text in description
    assert "扫描电子显微镜" in str(event["SUMMARY"])  # the owner reads Chinese; UTF-8 intact
    assert "理科楼" in str(found[uid(b.pending)]["LOCATION"]) or "B101" in str(found[uid(b.pending)]["LOCATION"])
    assert str(found[uid(b.pending)]["SUMMARY"]).startswith("[")  # marked as a pending request
    with force_locale("zh"):  # the owner's language
        assert str(found[uid(b.no_show)]["SUMMARY"]).startswith(f"[{status_label('no_show')}] ")
    assert "Annual service" in str(found[f"downtime-{world.downtime.id}@{HOST}"]["DESCRIPTION"])


def test_calendar_properties_and_wire_format(world):
    feed, _ = make_feed(world.manager, "managed")
    db.session.commit()
    body = render(feed, world.now)
    cal, vcal = parse(body)
    assert cal["VERSION"] == "2.0" and "EquipShare" in str(cal["PRODID"])
    assert str(cal["CALSCALE"]) == "GREGORIAN"
    assert "METHOD" not in cal
    assert "X-WR-CALNAME" in cal and vcal.x_wr_calname.value == str(cal["X-WR-CALNAME"])
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in body
    lines = body.split(b"\r\n")
    assert lines[-1] == b"" and all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 75  # folded by octets
    body.decode("utf-8")  # valid UTF-8, even where a fold falls inside Chinese text
    assert re.search(rb"^DTSTART:\d{8}T\d{6}Z\r$", body, re.M)  # UTC times


def test_refresh_interval_is_configurable(world, app):
    feed, _ = make_feed(world.client)
    db.session.commit()
    app.config["FEED_REFRESH_MINUTES"] = 90
    try:
        body = render(feed, world.now)
    finally:
        app.config["FEED_REFRESH_MINUTES"] = 60
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H30M\r\n" in body and b"X-PUBLISHED-TTL:PT1H30M\r\n" in body


@pytest.mark.parametrize(("locale", "name"), [("zh", "扫描电子显微镜"), ("en", "Scanning electron microscope")])
def test_calendar_name_in_owner_language(world, locale, name):
    world.manager.locale = locale
    feed, _ = make_feed(world.manager, "instrument", instrument=world.sem)
    db.session.commit()
    cal, _ = parse(render(feed, world.now))
    assert name in str(cal["X-WR-CALNAME"])
    assert name in str(events(cal)[uid(world.b.approved)]["SUMMARY"])


def test_instrument_and_lab_scopes(world):
    instrument_feed, _ = make_feed(world.manager, "instrument", instrument=world.sem)
    lab_feed, _ = make_feed(world.manager, "lab", lab=world.lab)
    db.session.commit()
    only_sem = events(parse(render(instrument_feed, world.now))[0])
    assert uid(world.b.approved) in only_sem and uid(world.b.colleague) not in only_sem
    whole_lab = events(parse(render(lab_feed, world.now))[0])
    assert uid(world.b.colleague) in whole_lab and uid(world.b.other_org) in whole_lab


def test_client_feed_holds_only_own_bookings(world):
    feed, _ = make_feed(world.client)
    db.session.commit()
    cal, vcal = parse(render(feed, world.now))
    found = events(cal)
    b = world.b
    assert set(found) == {uid(b.pending), uid(b.approved), uid(b.completed), uid(b.no_show)}
    assert set(vevents(vcal)) == set(found)
    assert not any(k.startswith("downtime-") for k in found)
    text = str(render(feed, world.now), "utf-8")
    assert "Other firm" not in text and "secret project" not in text
    assert world.client.organisation.name not in text  # a client's own feed needs no organisation line


def test_window_is_last_30_days_and_the_horizon(world):
    old = make_booking(world.sem, world.client, start=world.day - timedelta(days=40), status="completed")
    far = make_booking(world.xrd, world.client, start=world.day + timedelta(days=world.xrd.horizon_days + 5),
                       status="approved")
    recent = make_booking(world.sem, world.client, start=world.day - timedelta(days=20), status="completed")
    feed, _ = make_feed(world.manager, "managed")
    db.session.commit()
    found = events(parse(render(feed, world.now))[0])
    assert uid(recent) in found and uid(old) not in found and uid(far) not in found


def test_unchanged_feed_is_byte_identical_and_reschedule_bumps_sequence(world):
    feed, _ = make_feed(world.manager, "managed")
    db.session.commit()
    settings = services.calendar_settings()
    first, state = render(feed, world.now), services.feed_state(feed, world.now, settings)
    assert render(feed, world.now) == first
    assert services.feed_state(feed, world.now, settings).etag == state.etag

    booking = world.b.approved
    old_sequence = events(parse(first)[0])[uid(booking)]["SEQUENCE"]
    new_start = booking.start_at + timedelta(hours=3)
    # the same `now` as before on purpose: the validator must not rely on updated_at alone
    booking_services.reschedule_booking(world.manager, booking.id, new_start, new_start + timedelta(hours=1),
                                        world.now)
    db.session.expire_all()
    second = render(feed, world.now)
    event = events(parse(second)[0])[uid(booking)]
    assert event["SEQUENCE"] == old_sequence + 1
    assert event.start == new_start
    assert services.feed_state(feed, world.now, settings).etag != state.etag


def test_line_breaks_and_separators_cannot_inject_properties_or_events(world):
    evil = "Coating\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil@attacker\r\nSUMMARY:pwned;x,y\\z\rDTSTART:2020"
    booking = world.b.approved
    booking.purpose = evil
    booking.sample_description = "a;b,c\\d\nLOCATION:nowhere"
    world.client.name = "Mallory\r\nATTENDEE:mailto:x@y"
    feed, _ = make_feed(world.manager, "managed")
    db.session.commit()
    body = render(feed, world.now)
    cal, vcal = parse(body)
    assert len(cal.walk("VEVENT")) == 7 and len(vevents(vcal)) == 7
    assert "evil@attacker" not in events(cal) and b"\r\nUID:evil" not in body
    assert not re.search(rb"\r\n(ATTENDEE|LOCATION:nowhere|DTSTART:2020)", body)
    event = events(cal)[uid(booking)]
    assert "END:VEVENT\nBEGIN:VEVENT\nUID:evil@attacker" in str(event["DESCRIPTION"])  # kept as text
    assert "a;b,c\\d\nLOCATION:nowhere" in vevents(vcal)[uid(booking)].description.value
    assert len(event.property_items()) == len(events(cal)[uid(world.b.pending)].property_items())


def test_clean_text_drops_control_characters():
    assert clean_text("a\x00b\x1bc\x7fd\te\r\nf\rg") == "abcd\te\nf\ng"
    assert clean_text(None) == ""


def test_single_booking_calendar_keeps_cancelled_as_cancelled(world):
    body = services.booking_ics(world.b.cancelled, world.client)
    cal, vcal = parse(body)
    assert str(cal["METHOD"]) == "PUBLISH" and "REFRESH-INTERVAL" not in cal
    (event,) = cal.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED" and str(event["UID"]) == uid(world.b.cancelled)
    assert vcal.vevent.status.value == "CANCELLED"


def test_uid_depends_only_on_booking_and_host(world, app):
    booking = world.b.approved
    first = str(events(Calendar.from_ical(services.booking_ics(booking, world.client)))[uid(booking)]["UID"])
    booking.purpose = "Changed"
    booking.version += 1
    db.session.commit()
    app.config["SERVER_BASE_URL"] = "https://Feeds.Example.org:8443/sub"
    try:
        moved = Calendar.from_ical(services.booking_ics(booking, world.client))
    finally:
        app.config["SERVER_BASE_URL"] = "http://equipshare.test"
    assert first == uid(booking)
    assert str(moved.walk("VEVENT")[0]["UID"]) == f"booking-{booking.id}@feeds.example.org"


def test_labels_follow_the_owner_language_not_the_request(world):
    feed, _ = make_feed(world.client)
    db.session.commit()
    names = {}
    for locale in ("en", "zh"):
        world.client.locale = locale
        db.session.commit()
        cal = parse(render(feed, world.now))[0]
        with force_locale(locale):
            assert gettext("My bookings") in str(cal["X-WR-CALNAME"])
        names[locale] = str(cal["X-WR-CALNAME"])
    assert "My bookings" in names["en"]
