"""My bookings: tabs, pagination, the organisation toggle, search, and cancelling (with the late
warning)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from equipshare.booking.models import Booking, BookingStatus
from equipshare.db import utcnow
from equipshare.extensions import db
from tests.booking._client_world import event_count, future_monday, local, make_world
from tests.factories import login, make_booking


def ids_on(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'href="/bookings/(\d+)">\d+</a>', html)}


@pytest.fixture()
def world():
    w = make_world()
    monday = future_monday()
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    w.upcoming = make_booking(w.instrument, w.client, start=local(monday, 10), status=BookingStatus.APPROVED,
                              purpose="Upcoming XRD")
    w.pending = make_booking(w.instrument, w.client, start=local(monday, 14), purpose="Pending SEM")
    w.past = make_booking(w.instrument, w.client, start=now - timedelta(days=10), status=BookingStatus.COMPLETED)
    w.overdue = make_booking(w.instrument, w.client, start=now - timedelta(days=2), status=BookingStatus.APPROVED)
    w.cancelled = make_booking(w.instrument, w.client, start=local(monday, 16), status=BookingStatus.CANCELLED)
    w.rejected = make_booking(w.instrument, w.client, start=local(monday, 16), status=BookingStatus.REJECTED)
    w.expired = make_booking(w.instrument, w.client, start=now - timedelta(days=5), status=BookingStatus.EXPIRED)
    w.colleagues = make_booking(w.other_instrument, w.colleague, start=local(monday, 10), purpose="Colleague's")
    w.strangers = make_booking(w.other_instrument, w.stranger, start=local(monday, 12), purpose="Stranger's")
    db.session.commit()
    return w


def test_tabs_sort_bookings(client, world):
    login(client, world.client)
    upcoming = client.get("/bookings").get_data(as_text=True)
    assert ids_on(upcoming) == {world.upcoming.id, world.pending.id}
    assert upcoming.index(f">{world.upcoming.id}<") < upcoming.index(f">{world.pending.id}<")  # soonest first
    assert ids_on(client.get("/bookings?tab=past").get_data(as_text=True)) == {world.past.id, world.overdue.id}
    assert ids_on(client.get("/bookings?tab=cancelled").get_data(as_text=True)) == {
        world.cancelled.id, world.rejected.id, world.expired.id}
    assert client.get("/bookings?tab=bogus&page=-3&scope=%00").status_code == 200


def test_list_needs_login(client, world):
    assert client.get("/bookings").status_code == 302


def test_nav_links_to_my_bookings(client, world):
    login(client, world.client)
    assert 'href="/bookings"' in client.get("/bookings").get_data(as_text=True)


def test_member_sees_only_own_even_when_asking_for_the_organisation(client, world):
    login(client, world.client)
    html = client.get("/bookings?scope=org").get_data(as_text=True)
    assert world.colleagues.id not in ids_on(html)
    assert "Show the whole organisation" not in html


def test_org_admin_toggles_whole_organisation_but_never_another(client, world):
    login(client, world.org_admin)
    assert ids_on(client.get("/bookings").get_data(as_text=True)) == set()
    html = client.get("/bookings?scope=org").get_data(as_text=True)
    assert ids_on(html) == {world.upcoming.id, world.pending.id, world.colleagues.id}
    assert "Client Chen" in html and "Colleague Zhao" in html
    assert world.strangers.id not in ids_on(html) and "Stranger Qian" not in html


def test_search_is_scoped_to_the_organisation(client, world):
    login(client, world.org_admin)
    html = client.get("/bookings?scope=org&q=Stranger").get_data(as_text=True)
    assert ids_on(html) == set()
    assert ids_on(client.get("/bookings?scope=org&q=colleague").get_data(as_text=True)) == {world.colleagues.id}
    assert client.get("/bookings?q=%25_%5C").status_code == 200


def test_pagination(client, world):
    for week in range(3, 7):
        for hour in range(8, 14):
            make_booking(world.instrument, world.client, start=local(future_monday(week), hour),
                         status=BookingStatus.APPROVED)
    db.session.commit()
    login(client, world.client)
    first = client.get("/bookings").get_data(as_text=True)
    second = client.get("/bookings?page=2").get_data(as_text=True)
    assert len(ids_on(first)) == 20 and len(ids_on(second)) == 6
    assert not ids_on(first) & ids_on(second)
    assert "page=2" in first
    assert ids_on(client.get("/bookings?page=99").get_data(as_text=True)) == set()


def test_cancel_before_the_window_is_not_late(client, world):
    login(client, world.client)
    page = client.get(f"/bookings/{world.upcoming.id}/cancel").get_data(as_text=True)
    assert "late cancellation" not in page.lower().split("<main")[1]
    before = event_count()
    response = client.post(f"/bookings/{world.upcoming.id}/cancel", data={"reason": "Plans changed"})
    assert response.status_code == 302
    booking = db.session.get(Booking, world.upcoming.id)
    assert booking.status == BookingStatus.CANCELLED and not booking.late_cancellation
    assert booking.cancel_reason == "Plans changed" and event_count() == before + 1


def test_cancel_inside_the_window_warns_and_is_flagged(client, world):
    soon = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=5)
    booking = make_booking(world.instrument, world.client, start=soon, status=BookingStatus.APPROVED)
    db.session.commit()
    login(client, world.client)
    page = client.get(f"/bookings/{booking.id}/cancel").get_data(as_text=True)
    assert 'id="late-warning"' in page and "late cancellation" in page
    response = client.post(f"/bookings/{booking.id}/cancel", data={})
    assert response.status_code == 302
    assert db.session.get(Booking, booking.id).late_cancellation
    detail = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "late cancellation" in detail
    listing = client.get("/bookings?tab=cancelled").get_data(as_text=True)
    assert "late cancellation" in listing


def test_pending_request_cancel_is_never_late(client, world):
    soon = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=5)
    booking = make_booking(world.instrument, world.client, start=soon)
    db.session.commit()
    login(client, world.client)
    assert 'id="late-warning"' not in client.get(f"/bookings/{booking.id}/cancel").get_data(as_text=True)
    client.post(f"/bookings/{booking.id}/cancel")
    assert not db.session.get(Booking, booking.id).late_cancellation


def test_cancel_refusals(client, world):
    login(client, world.client)
    # already cancelled → 409, started → 403; nothing written
    before = event_count()
    assert client.post(f"/bookings/{world.cancelled.id}/cancel").status_code == 409
    assert client.post(f"/bookings/{world.overdue.id}/cancel").status_code == 403
    assert client.post(f"/bookings/{world.pending.id}/cancel", data={"reason": "x" * 2001}).status_code == 422
    assert event_count() == before
    assert db.session.get(Booking, world.pending.id).status == BookingStatus.PENDING


def test_cancel_link_only_for_cancellable(client, world):
    login(client, world.client)
    html = client.get("/bookings").get_data(as_text=True)
    assert f"/bookings/{world.upcoming.id}/cancel" in html
    assert f"/bookings/{world.overdue.id}/cancel" not in client.get("/bookings?tab=past").get_data(as_text=True)
