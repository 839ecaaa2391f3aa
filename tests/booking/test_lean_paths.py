"""The leaner read paths behind the benchmarks keep their answers: the combined clash check
(booking first, then downtime), the one-query mute check, and a booking request's query count."""

from __future__ import annotations

from datetime import timedelta

import pytest

from equipshare.booking import services
from equipshare.booking.models import BookingStatus
from equipshare.extensions import db
from equipshare.notifications.models import InstrumentMute, NotificationMute
from equipshare.notifications.outbox import is_muted
from tests.booking._client_world import future_monday, local, make_world
from tests.factories import make_booking, make_downtime


@pytest.fixture()
def world():
    w = make_world()
    w.monday = future_monday()
    w.booking = make_booking(w.instrument, w.client, start=local(w.monday, 10), hours=2, status=BookingStatus.APPROVED)
    make_downtime(w.instrument, local(w.monday, 12), 2, w.manager, reason="Pump")  # right after it
    db.session.commit()
    return w


def test_a_clashing_booking_is_reported_before_a_downtime(world):
    both = services.find_clash(world.instrument.id, local(world.monday, 11), local(world.monday, 13))
    assert both is not None and "overlaps another booking" in both
    only_downtime = services.find_clash(world.instrument.id, local(world.monday, 12), local(world.monday, 13))
    assert only_downtime is not None and "unavailable then" in only_downtime
    excluded = services.find_clash(world.instrument.id, local(world.monday, 11), local(world.monday, 13),
                                   exclude_booking_id=world.booking.id)
    assert excluded is not None and "unavailable then" in excluded
    assert services.find_clash(world.instrument.id, local(world.monday, 14), local(world.monday, 15)) is None
    assert services.find_clash(world.other_instrument.id, local(world.monday, 10), local(world.monday, 12)) is None
    cancelled_day = world.monday + timedelta(days=1)
    make_booking(world.instrument, world.client, start=local(cancelled_day, 10), hours=1,
                 status=BookingStatus.CANCELLED)
    db.session.commit()
    assert services.find_clash(world.instrument.id, local(cancelled_day, 10), local(cancelled_day, 11)) is None


def test_mutes_by_topic_or_instrument_in_one_check(world):
    manager, instrument = world.manager, world.instrument
    assert not is_muted(manager, "booking.requested", instrument.id)
    assert not is_muted(manager, "no.such.kind")
    db.session.add(InstrumentMute(user_id=manager.id, instrument_id=instrument.id))
    db.session.commit()
    assert is_muted(manager, "booking.requested", instrument.id)
    assert not is_muted(manager, "booking.requested", world.other_instrument.id)
    assert not is_muted(manager, "booking.requested")
    db.session.add(NotificationMute(user_id=world.client.id, topic="decisions"))
    db.session.commit()
    assert is_muted(world.client, "booking.approve")
    assert not is_muted(world.client, "booking.requested", instrument.id)
