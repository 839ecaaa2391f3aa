"""Booking mails as they arrive over SMTP: who gets what, in which language, with which .ics."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar
from sqlalchemy import select

from equipshare.booking import services
from equipshare.extensions import db
from equipshare.notifications.models import InstrumentMute, NotificationMute, OutboxMessage
from tests.factories import make_manager
from tests.notifications.conftest import MONDAY_10, NOW, req


def calendar_of(message):
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    if not parts:
        return None, None
    [part] = parts
    content = part.get_content()
    return part.get_param("method"), Calendar.from_ical(content if isinstance(content, str) else content.decode())


def only_event(cal):
    [event] = cal.walk("VEVENT")
    return event


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_request_goes_to_the_managers_without_calendar(world, mailbox):
    booking = services.request_booking(world.client, world.instrument.id, req(), NOW)
    mailbox.wait_for(1)
    [mail] = mailbox
    assert mail["To"] == world.manager.email
    assert mail["Subject"] == f"New booking request #{booking.id}: X-ray diffractometer"
    assert "waiting for your decision" in mailbox.body(mail) and "XRD phase analysis" in mailbox.body(mail)
    assert f"http://equipshare.test/bookings/{booking.id}" in html_of(mail)
    assert calendar_of(mail) == (None, None)


def test_approval_carries_a_request_with_the_stable_uid_and_the_version_as_sequence(world, mailbox):
    booking = services.request_booking(world.client, world.instrument.id, req(), NOW)
    services.decide_bookings(world.manager, [booking.id], True, None, NOW)
    mailbox.wait_for(2)
    [mail] = mailbox.to(world.client.email)
    assert "approved" in mail["Subject"]
    method, cal = calendar_of(mail)
    assert method == "REQUEST" and str(cal["METHOD"]) == "REQUEST"
    event = only_event(cal)
    assert str(event["UID"]) == f"booking-{booking.id}@equipshare.test"
    assert int(event["SEQUENCE"]) == booking.version == 2
    assert event.decoded("DTSTART") == MONDAY_10 and str(event["STATUS"]) == "CONFIRMED"
    assert str(event["ATTENDEE"]).lower() == f"mailto:{world.client.email}"
    assert str(event["ORGANIZER"]).startswith("mailto:")


def test_rejection_tells_the_requester_the_reason(world, mailbox):
    booking = services.request_booking(world.client, world.instrument.id, req(), NOW)
    services.decide_bookings(world.manager, [booking.id], False, "Sample type not supported", NOW)
    mailbox.wait_for(2)
    [mail] = mailbox.to(world.client.email)
    assert "rejected" in mail["Subject"]
    assert "Reason: Sample type not supported" in mailbox.body(mail)
    assert calendar_of(mail) == (None, None)


def test_a_managers_cancellation_sends_a_cancel_for_the_same_uid(world, mailbox):
    booking = services.request_booking(world.client, world.instrument.id, req(), NOW)
    services.decide_bookings(world.manager, [booking.id], True, None, NOW)
    services.cancel_booking(world.manager, booking.id, "Detector repair", NOW + timedelta(hours=1))
    mailbox.wait_for(3)
    approval, cancellation = mailbox.to(world.client.email)
    method, cal = calendar_of(cancellation)
    assert method == "CANCEL"
    event = only_event(cal)
    assert str(event["UID"]) == str(only_event(calendar_of(approval)[1])["UID"])
    assert int(event["SEQUENCE"]) == 3 and str(event["STATUS"]) == "CANCELLED"
    assert "Reason: Detector repair" in mailbox.body(cancellation)
    assert len(mailbox.to(world.manager.email)) == 1  # only the request: a manager acting is not told


def test_a_clients_cancellation_tells_the_managers(world, mailbox):
    second = make_manager(world.instrument.lab, locale="en")
    db.session.commit()
    booking = services.request_booking(world.client, world.instrument.id, req(), NOW)
    mailbox.wait_for(2)
    mailbox.clear()
    services.cancel_booking(world.client, booking.id, "Plans changed", NOW)
    mailbox.wait_for(2)
    assert sorted(m["To"] for m in mailbox) == sorted([world.manager.email, second.email])
    assert all("cancelled" in m["Subject"] for m in mailbox)
    assert not mailbox.to(world.client.email)


def test_downtime_cancels_and_tells_each_client_with_the_reason(world, mailbox):
    booking = services.request_booking(world.client, world.instrument.id, req(), NOW)
    services.decide_bookings(world.manager, [booking.id], True, None, NOW)
    mailbox.wait_for(2)
    mailbox.clear()
    services.create_downtime(world.manager, world.instrument.id, MONDAY_10 - timedelta(hours=1),
                             MONDAY_10 + timedelta(hours=5), "X-ray tube replacement", NOW, cancel_overlapping=True)
    mailbox.wait_for(1)
    [mail] = mailbox
    assert mail["To"] == world.client.email and "cancelled" in mail["Subject"]
    assert "X-ray tube replacement" in mailbox.body(mail)
    assert calendar_of(mail)[0] == "CANCEL"


def test_a_moved_approved_booking_updates_the_clients_calendar(world, mailbox):
    booking = services.request_booking(world.client, world.instrument.id, req(), NOW)
    services.decide_bookings(world.manager, [booking.id], True, None, NOW)
    services.reschedule_booking(world.manager, booking.id, MONDAY_10 + timedelta(hours=2),
                                MONDAY_10 + timedelta(hours=3), NOW)
    mailbox.wait_for(3)
    moved = mailbox.to(world.client.email)[-1]
    assert "moved" in moved["Subject"]
    method, cal = calendar_of(moved)
    event = only_event(cal)
    assert method == "REQUEST" and int(event["SEQUENCE"]) == 3
    assert event.decoded("DTSTART") == MONDAY_10 + timedelta(hours=2)


def test_instant_confirmation_tells_requester_and_managers(world, mailbox):
    world.instrument.requires_approval = False
    db.session.commit()
    services.request_booking(world.client, world.instrument.id, req(), NOW)
    mailbox.wait_for(3)
    kinds = sorted(db.session.scalars(select(OutboxMessage.kind)))
    assert kinds == ["booking.approve", "booking.confirmed", "booking.requested"]
    [to_client] = mailbox.to(world.client.email)
    assert calendar_of(to_client)[0] == "REQUEST"


def test_each_recipient_gets_their_own_language(world, mailbox):
    world.manager.locale = "zh"
    db.session.commit()
    booking = services.request_booking(world.client, world.instrument.id, req(), NOW)
    services.decide_bookings(world.manager, [booking.id], True, None, NOW)
    mailbox.wait_for(2)
    [to_manager] = mailbox.to(world.manager.email)
    [to_client] = mailbox.to(world.client.email)
    assert 'lang="zh-CN"' in html_of(to_manager) and "X射线衍射仪" in to_manager["Subject"]
    assert 'lang="en"' in html_of(to_client) and "X-ray diffractometer" in to_client["Subject"]
    locales = dict(db.session.execute(select(OutboxMessage.to_address, OutboxMessage.locale)).all())
    assert locales == {world.manager.email: "zh", world.client.email: "en"}


def test_muted_topics_and_instruments_are_not_queued(world, mailbox):
    other = make_manager(world.instrument.lab, locale="en")
    db.session.add(NotificationMute(user_id=world.client.id, topic="decisions"))
    db.session.add(InstrumentMute(user_id=other.id, instrument_id=world.instrument.id))
    db.session.commit()
    booking = services.request_booking(world.client, world.instrument.id, req(), NOW)
    services.decide_bookings(world.manager, [booking.id], True, None, NOW)
    services.cancel_booking(world.client, booking.id, None, NOW)
    mailbox.wait_for(2)
    assert len(mailbox) == 2 and all(m["To"] == world.manager.email for m in mailbox)


def test_an_inactive_requester_gets_nothing(world, mailbox):
    booking = services.request_booking(world.client, world.instrument.id, req(), NOW)
    world.client.active = False
    db.session.commit()
    services.decide_bookings(world.manager, [booking.id], False, "No", NOW)
    mailbox.wait_for(1)
    assert not mailbox.to(world.client.email)
