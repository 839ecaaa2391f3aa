"""Who may use the managers' booking pages: every route × every role.

Lab A's manager may; lab B's manager, a client, an organisation admin and a platform admin get
403 and nothing is written; anonymous visitors are sent to the login page. Lab B's manager sees
the queue and agenda pages, but nothing of lab A on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from equipshare.timeutil import format_local
from tests.booking._manage_world import World, build_world, local, snapshot
from tests.factories import login

ROLES = ("manager_a", "manager_b", "client_user", "org_admin", "admin", "anonymous")


def _dt(value) -> str:
    return format_local(value, "%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    url: Callable[[World], str]
    data: Callable[[World], dict] | None = None
    shared_page: bool = False  # a page every manager has (their own labs' content)
    everyone: bool = False  # any logged-in user


ROUTES = [
    Route("queue", "GET", lambda w: "/manage/bookings/queue", shared_page=True),
    Route("queue_filtered", "GET", lambda w: f"/manage/bookings/queue?instrument={w.inst_a.id}", shared_page=True),
    Route("agenda", "GET", lambda w: "/manage/bookings/agenda", shared_page=True),
    Route("decide", "POST", lambda w: "/manage/bookings/decide",
          lambda w: {"booking_ids": w.pending.id, "decision": "approve"}),
    Route("reject", "POST", lambda w: "/manage/bookings/decide",
          lambda w: {"booking_ids": w.pending.id, "decision": "reject", "reason": "No"}),
    Route("downtime", "GET", lambda w: f"/manage/bookings/instruments/{w.inst_a.id}/downtime"),
    Route("downtime_create", "POST", lambda w: f"/manage/bookings/instruments/{w.inst_a.id}/downtime",
          lambda w: {"start": _dt(local(15, 9)), "end": _dt(local(15, 12)), "reason": "Service"}),
    Route("downtime_cancelling", "POST", lambda w: f"/manage/bookings/instruments/{w.inst_a.id}/downtime",
          lambda w: {"start": _dt(local(3, 8)), "end": _dt(local(3, 18)), "reason": "Broken",
                     "confirm_ids": str(w.pending.id)}),
    Route("downtime_delete", "POST",
          lambda w: f"/manage/bookings/instruments/{w.inst_a.id}/downtime/{w.downtime.id}/delete"),
    Route("qualifications", "GET", lambda w: f"/manage/bookings/instruments/{w.inst_a.id}/qualifications"),
    Route("qualification_grant", "POST", lambda w: f"/manage/bookings/instruments/{w.inst_a.id}/qualifications",
          lambda w: {"email": w.org_admin.email}),
    Route("qualification_revoke", "POST",
          lambda w: f"/manage/bookings/instruments/{w.inst_a.id}/qualifications/{w.qualification.id}/revoke"),
    Route("usage", "GET", lambda w: f"/manage/bookings/{w.started.id}/usage"),
    Route("usage_record", "POST", lambda w: f"/manage/bookings/{w.started.id}/usage",
          lambda w: {"actual_start": _dt(w.started.start_at), "samples": "1",
                     "actual_end": _dt(w.started.start_at + timedelta(hours=1))}),
    Route("no_show", "POST", lambda w: f"/manage/bookings/{w.started.id}/no-show"),
    Route("my_qualifications", "GET", lambda w: "/qualifications", everyone=True),
]

# Something of lab A that only its managers may see, per shared page.
LAB_A_MARKERS = {
    "queue": lambda w: ["XRD of powders", f'name="booking_ids" value="{w.pending.id}"'],
    "queue_filtered": lambda w: ["XRD of powders", f'name="booking_ids" value="{w.pending.id}"'],
    "agenda": lambda w: [f"/manage/bookings/{w.started.id}/usage", f"/manage/bookings/{w.started.id}/no-show"],
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_access_matrix(client, route: Route, role: str):
    world = build_world()
    user = world.user(role)
    if user is not None:
        login(client, user)
    url = route.url(world)
    before = snapshot()
    if route.method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data=route.data(world) if route.data else {})
    html = response.get_data(as_text=True)

    if role == "anonymous":
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
        assert snapshot() == before
    elif role == "manager_a" or route.everyone:
        assert response.status_code == (200 if route.method == "GET" else 302), html[-1500:]
        if route.method == "POST":
            assert snapshot() != before  # the action happened
        for marker in LAB_A_MARKERS.get(route.name, lambda w: [])(world):
            assert marker in html
    elif role == "manager_b" and route.shared_page:
        assert response.status_code == 200
        for marker in LAB_A_MARKERS[route.name](world):
            assert marker not in html
    else:
        assert response.status_code == 403, (role, route.name, response.status_code)
        assert snapshot() == before
        assert "XRD of powders" not in html and world.client_user.email not in html


def test_manager_b_can_neither_see_nor_cancel_lab_a_bookings_through_the_booking_pages(client):
    """The booking page and its cancel action (client pages, open to the instrument's managers)."""
    world = build_world()
    login(client, world.manager_b)
    before = snapshot()
    assert client.get(f"/bookings/{world.pending.id}").status_code == 404
    response = client.post(f"/bookings/{world.approved.id}/cancel", data={"reason": "Not mine"})
    assert response.status_code == 404
    assert snapshot() == before
    client.post("/auth/logout")
    login(client, world.manager_a)
    assert client.get(f"/bookings/{world.pending.id}").status_code == 200
    response = client.post(f"/bookings/{world.approved.id}/cancel", data={"reason": "Instrument needed"})
    assert response.status_code == 302 and world.approved.status == "cancelled"
    assert world.approved.cancelled_by_id == world.manager_a.id
