"""Who may see and touch a booking on the client pages. Other organisations' bookings are
"not found" (404) everywhere, so their ids do not leak."""

from __future__ import annotations

import pytest

from equipshare.booking.models import Booking, BookingStatus
from equipshare.extensions import db
from tests.booking._client_world import event_count, future_monday, local, make_world
from tests.factories import login, make_admin, make_booking


@pytest.fixture()
def world():
    w = make_world()
    monday = future_monday()
    w.mine = make_booking(w.instrument, w.client, start=local(monday, 10), status=BookingStatus.APPROVED,
                          purpose="Our own analysis")
    w.theirs = make_booking(w.other_instrument, w.stranger, start=local(monday, 10), purpose="Their secret")
    db.session.commit()
    return w


PAGES = [
    ("get", "/bookings/{id}", None),
    ("get", "/bookings/{id}/cancel", None),
    ("post", "/bookings/{id}/cancel", {"reason": "mine now"}),
    ("get", "/bookings/{id}/reschedule", None),
    ("post", "/bookings/{id}/reschedule", {"date": "2026-12-08", "start_time": "10:00", "end_time": "11:00"}),
    ("get", "/bookings/{id}/edit", None),
    ("post", "/bookings/{id}/edit", {"purpose": "hijacked", "sample_count": "1"}),
]


@pytest.mark.parametrize("method,path,data", PAGES)
def test_other_organisations_booking_is_not_found(client, world, method, path, data):
    login(client, world.client)
    before = event_count()
    url = path.format(id=world.theirs.id)
    response = client.get(url) if method == "get" else client.post(url, data=data or {})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Their secret" not in html and "Stranger Qian" not in html
    assert event_count() == before
    theirs = db.session.get(Booking, world.theirs.id)
    assert theirs.status == BookingStatus.PENDING and theirs.purpose == "Their secret"


@pytest.mark.parametrize("method,path,data", PAGES)
def test_unknown_booking_is_not_found(client, world, method, path, data):
    login(client, world.client)
    url = path.format(id=987654)
    response = client.get(url) if method == "get" else client.post(url, data=data or {})
    assert response.status_code == 404


@pytest.mark.parametrize("method,path,data", PAGES)
def test_anonymous_is_sent_to_login(client, world, method, path, data):
    url = path.format(id=world.mine.id)
    response = client.get(url) if method == "get" else client.post(url, data=data or {})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_org_admin_sees_own_organisation_not_another(client, world):
    login(client, world.org_admin)
    assert client.get(f"/bookings/{world.mine.id}").status_code == 200
    assert client.get(f"/bookings/{world.theirs.id}").status_code == 404
    # and may cancel a member's booking of their own organisation
    assert client.get(f"/bookings/{world.mine.id}/cancel").status_code == 200


def test_colleague_who_is_not_admin_cannot_see_a_members_booking(client, world):
    login(client, world.colleague)
    assert client.get(f"/bookings/{world.mine.id}").status_code == 404


def test_managers_see_their_labs_bookings_only(client, world):
    login(client, world.manager)
    assert client.get(f"/bookings/{world.mine.id}").status_code == 200
    assert client.get(f"/bookings/{world.theirs.id}").status_code == 404
    login(client, world.other_manager)
    assert client.get(f"/bookings/{world.mine.id}").status_code == 404
    assert client.get(f"/bookings/{world.theirs.id}").status_code == 200


def test_platform_admin_sees_any_booking(client, world):
    admin = make_admin(locale="en")
    db.session.commit()
    login(client, admin)
    assert client.get(f"/bookings/{world.theirs.id}").status_code == 200


def test_availability_identity_follows_lab_management(client, world):
    monday = future_monday().isoformat()
    login(client, world.manager)
    own = client.get(f"/instruments/{world.instrument.id}/availability?week={monday}").get_data(as_text=True)
    other = client.get(f"/instruments/{world.other_instrument.id}/availability?week={monday}").get_data(as_text=True)
    assert "Our own analysis" in own and "Client Chen" in own
    assert "Their secret" not in other and "Stranger Qian" not in other and "Secretive Materials Co" not in other
    assert "slot-pending" in other  # the busy block is there, without identity


def test_lists_never_show_other_organisations(client, world):
    login(client, world.client)
    for tab in ("upcoming", "past", "cancelled"):
        for scope in ("", "org"):
            html = client.get(f"/bookings?tab={tab}&scope={scope}&q=secret").get_data(as_text=True)
            assert "Their secret" not in html and f"/bookings/{world.theirs.id}" not in html
