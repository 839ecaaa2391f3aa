"""The booking page: facts, audit trail, and the client actions reschedule and edit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from equipshare.booking import services
from equipshare.booking.models import Booking, BookingStatus
from equipshare.db import utcnow
from equipshare.extensions import db
from tests.booking._client_world import event_count, future_monday, local, make_world
from tests.factories import login, make_booking


@pytest.fixture()
def world():
    w = make_world()
    w.monday = future_monday()
    db.session.commit()
    return w


def request(w, **kw):
    req = services.BookingRequest(start=local(w.monday, 10), end=local(w.monday, 11), purpose="XRD of coatings",
                                  sample_description="steel coupons", sample_count=2)
    return services.request_booking(w.client, w.instrument.id, req, utcnow())


def test_page_shows_facts_in_local_time_and_the_audit_trail(client, world):
    booking = request(world)
    services.decide_bookings(world.manager, [booking.id], True, "See you then", utcnow())
    login(client, world.client)
    html = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    day = world.monday.isoformat()
    assert f"{day} 10:00" in html and "11:00" in html
    assert "XRD of coatings" in html and "steel coupons" in html
    assert "Enterprise" in html and "¥400.00" in html
    assert "Manager Wang" in html and "See you then" in html
    history = html.split('id="history-title"')[1]
    assert "Requested" in history and "Approved" in history and "Client Chen" in history
    assert "Pending → Approved" in history


def test_system_actions_are_shown_as_system(client, world):
    world.instrument.requires_approval = False
    db.session.commit()
    booking = request(world)
    login(client, world.client)
    history = client.get(f"/bookings/{booking.id}").get_data(as_text=True).split('id="history-title"')[1]
    assert "System" in history


def test_reschedule_moves_and_sends_approved_booking_back_to_the_queue(client, world):
    booking = request(world)
    services.decide_bookings(world.manager, [booking.id], True, None, utcnow())
    login(client, world.client)
    page = client.get(f"/bookings/{booking.id}/reschedule").get_data(as_text=True)
    assert 'value="10:00"' in page and "back to the lab for approval" in page
    response = client.post(f"/bookings/{booking.id}/reschedule", data={
        "date": (world.monday + timedelta(days=1)).isoformat(), "start_time": "13:00", "end_time": "14:30"})
    assert response.status_code == 302
    moved = db.session.get(Booking, booking.id)
    assert moved.start_at == local(world.monday + timedelta(days=1), 13)
    assert moved.status == BookingStatus.PENDING and moved.quoted_fee_fen == 60000
    assert moved.events[-1].action == "rescheduled"


@pytest.mark.parametrize("data,status", [
    ({"date": "2026-02-30", "start_time": "10:00", "end_time": "11:00"}, 422),
    ({"date": "MONDAY", "start_time": "10:15", "end_time": "11:15"}, 422),
    ({"date": "MONDAY", "start_time": "12:00", "end_time": "11:00"}, 422),
    ({"date": "MONDAY", "start_time": "12:00", "end_time": "13:00", "status": "approved"}, 409),  # clash
])
def test_reschedule_refusals(client, world, data, status):
    booking = request(world)
    make_booking(world.instrument, world.stranger, start=local(world.monday, 12), status=BookingStatus.APPROVED)
    db.session.commit()
    data = {k: (world.monday.isoformat() if v == "MONDAY" else v) for k, v in data.items()}
    login(client, world.client)
    before = event_count()
    response = client.post(f"/bookings/{booking.id}/reschedule", data=data)
    assert response.status_code == status
    assert event_count() == before
    kept = db.session.get(Booking, booking.id)
    assert kept.start_at == local(world.monday, 10) and kept.status == BookingStatus.PENDING


def test_edit_details_recomputes_the_quote(client, world):
    rate = world.instrument.rate_for("enterprise")
    rate.per_sample_fen = 1000
    db.session.commit()
    booking = request(world)
    login(client, world.client)
    assert "XRD of coatings" in client.get(f"/bookings/{booking.id}/edit").get_data(as_text=True)
    response = client.post(f"/bookings/{booking.id}/edit", data={
        "purpose": "XRF instead", "sample_description": "", "sample_count": "5", "quoted_fee_fen": "1"})
    assert response.status_code == 302
    edited = db.session.get(Booking, booking.id)
    assert edited.purpose == "XRF instead" and edited.sample_count == 5
    assert edited.quoted_fee_fen == 40000 + 5 * 1000
    assert client.post(f"/bookings/{booking.id}/edit", data={
        "purpose": "", "sample_count": "x"}).status_code == 422


def test_actions_offered_match_permissions(client, world):
    booking = request(world)
    login(client, world.client)
    html = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert f"/bookings/{booking.id}/cancel" in html and f"/bookings/{booking.id}/reschedule" in html
    assert "/manage/bookings/decide" not in html
    services.cancel_booking(world.client, booking.id, None, utcnow())
    html = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert f"/bookings/{booking.id}/cancel" not in html and f"/bookings/{booking.id}/reschedule" not in html
    assert client.get(f"/bookings/{booking.id}/reschedule").status_code == 409
    assert client.get(f"/bookings/{booking.id}/edit").status_code == 409


def test_manager_sees_decision_form_when_the_manage_blueprint_exists(client, app, world):
    booking = request(world)
    login(client, world.manager)
    html = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    if "booking_manage.decide" in app.view_functions:
        assert 'action="/manage/bookings/decide"' in html
        assert f'name="booking_ids" value="{booking.id}"' in html
        response = client.post("/manage/bookings/decide", data={"booking_ids": str(booking.id), "decision": "approve",
                                                                 "reason": ""})
        assert response.status_code == 302
        assert db.session.get(Booking, booking.id).status == BookingStatus.APPROVED
    else:
        assert "/manage/bookings/decide" not in html


def test_manager_sees_usage_actions_after_the_start(client, app, world):
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    booking = make_booking(world.instrument, world.client, start=start, status=BookingStatus.APPROVED)
    db.session.commit()
    login(client, world.manager)
    html = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    if "booking_manage.usage" in app.view_functions:
        assert f"/manage/bookings/{booking.id}/usage" in html
    login(client, world.client)
    assert f"/manage/bookings/{booking.id}/usage" not in client.get(f"/bookings/{booking.id}").get_data(as_text=True)
