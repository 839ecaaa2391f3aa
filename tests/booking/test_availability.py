"""The availability week/day view: grid, identities only for managers, navigation, JSON, and a
query count that does not grow with the number of bookings."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from equipshare.booking import services
from equipshare.booking.availability import as_json, day_availability, week_availability
from equipshare.booking.models import BookingStatus
from equipshare.db import utcnow
from equipshare.extensions import db
from equipshare.timeutil import LOCAL_TZ
from tests.booking._client_world import english, future_monday, local, make_world
from tests.factories import (
    login,
    make_admin,
    make_booking,
    make_downtime,
    make_instrument,
    make_qualification,
    make_user,
)

SECRETS = ("Client Chen", "Linyi Coatings Ltd", "Top secret coating analysis", "Vacuum pump repair")


@pytest.fixture()
def world():
    w = make_world()
    monday = future_monday()
    w.monday = monday
    w.booking = make_booking(w.instrument, w.client, start=local(monday, 10), hours=2, status=BookingStatus.APPROVED,
                             purpose="Top secret coating analysis")
    w.pending = make_booking(w.instrument, w.client, start=local(monday + timedelta(days=1), 9), hours=1,
                             purpose="Top secret coating analysis")
    make_downtime(w.instrument, local(monday + timedelta(days=2), 8), 4, w.manager, reason="Vacuum pump repair")
    db.session.commit()
    return w


def url(w, **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/instruments/{w.instrument.id}/availability" + (f"?{query}" if query else "")


def test_anonymous_sees_busy_blocks_without_identity(client, world):
    english(client)
    response = client.get(url(world, week=world.monday.isoformat()))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for secret in SECRETS:
        assert secret not in html
    assert f"/bookings/{world.booking.id}" not in html
    assert "slot-busy" in html and "Booked" in html
    assert "slot-pending" in html and "Requested" in html
    assert "slot-downtime" in html and "Unavailable" in html
    assert "10:00–12:00" in html  # the block's time, local
    # Saturday and Sunday are closed (default open days 1–5), shown with text
    assert html.count(">Closed<") == 2


@pytest.mark.parametrize("who", ["client", "colleague", "org_admin", "stranger", "other_manager"])
def test_clients_and_other_managers_see_no_identity(client, world, who):
    login(client, getattr(world, who))
    html = client.get(url(world, week=world.monday.isoformat())).get_data(as_text=True)
    html = html.split("<main")[1].split("</main>")[0]  # the navigation bar names the logged-in user
    for secret in SECRETS:
        assert secret not in html
    assert "Manager view" not in html


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_managers_and_admins_see_who_and_why(client, world, who):
    user = world.manager if who == "manager" else make_admin(locale="en")
    db.session.commit()
    login(client, user)
    html = client.get(url(world, week=world.monday.isoformat())).get_data(as_text=True)
    assert "Client Chen" in html and "Linyi Coatings Ltd" in html and "Top secret coating analysis" in html
    assert f'href="/bookings/{world.booking.id}"' in html
    assert "Vacuum pump repair" in html


def test_free_cells_link_to_prefilled_request_form(client, world):
    english(client)
    html = client.get(url(world, week=world.monday.isoformat())).get_data(as_text=True)
    day = world.monday.isoformat()
    link = f"/instruments/{world.instrument.id}/book?start={day}T08:00&amp;end={day}T08:30"
    assert link in html
    # the booked 10:00–12:00 is not offered
    assert f"start={day}T10:00" not in html and f"start={day}T11:30" not in html
    assert f"start={day}T12:00" in html


def test_navigation_and_default_week(client, world):
    english(client)
    html = client.get(url(world, week=(world.monday + timedelta(days=3)).isoformat())).get_data(as_text=True)
    assert f"week={(world.monday - timedelta(days=7)).isoformat()}" in html
    assert f"week={(world.monday + timedelta(days=7)).isoformat()}" in html
    assert client.get(url(world)).status_code == 200


def test_day_view_shows_one_day(client, world):
    english(client)
    day = world.monday + timedelta(days=1)
    html = client.get(url(world, day=day.isoformat())).get_data(as_text=True)
    head = html.split("<thead>")[1].split("</thead>")[0]
    assert head.count('scope="col"') == 2  # time + one day
    assert "Requested" in html
    assert f"day={(day + timedelta(days=1)).isoformat()}" in html


@pytest.mark.parametrize("args", [{"week": "garbage"}, {"week": "2026-02-30"}, {"week": "9999-12-31"},
                                  {"week": "2026-12-07junk"},
                                  {"day": "0001-01-01"}, {"day": "x" * 500}])
def test_bad_dates_are_refused(client, world, args):
    assert client.get(url(world, **args)).status_code == 400


def test_unknown_and_retired_instruments_are_not_found(client, world):
    assert client.get("/instruments/999999/availability").status_code == 404
    world.instrument.status = "retired"
    db.session.commit()
    assert client.get(url(world)).status_code == 404
    login(client, world.manager)
    assert client.get(url(world)).status_code == 200


def test_json_has_busy_intervals_without_identity(client, world):
    response = client.get(url(world, week=world.monday.isoformat()), headers={"Accept": "application/json"})
    data = response.get_json()
    assert data["instrument_id"] == world.instrument.id
    assert data["week_start"] == world.monday.isoformat() and len(data["days"]) == 7
    kinds = sorted(b["kind"] for b in data["busy"])
    assert kinds == ["booking", "booking", "downtime"]
    assert {"start": local(world.monday, 10).isoformat(), "end": local(world.monday, 12).isoformat(),
            "kind": "booking"} in data["busy"]
    text = response.get_data(as_text=True)
    for secret in SECRETS:
        assert secret not in text


JSON = {"Accept": "application/json"}


@pytest.mark.parametrize("args", [{}, {"week": "MONDAY"}, {"week": "FRIDAY"}, {"day": "MONDAY"}, {"day": "WEDNESDAY"}])
def test_json_equals_the_full_views_json(client, world, args):
    """The lean JSON path answers exactly what ``as_json`` of the full view says, for everyone."""
    days = {"MONDAY": world.monday, "WEDNESDAY": world.monday + timedelta(days=2),
            "FRIDAY": world.monday + timedelta(days=4)}
    args = {k: days[v].isoformat() for k, v in args.items()}
    make_booking(world.instrument, world.client, start=local(world.monday, 14), hours=1,
                 status=BookingStatus.CANCELLED)  # not slot-holding: never shown
    db.session.commit()
    now = utcnow()
    if "day" in args:
        view = day_availability(world.instrument, days["MONDAY"] if args["day"] == world.monday.isoformat()
                                else days["WEDNESDAY"], now)
    else:
        view = week_availability(world.instrument, days["FRIDAY"] if args else now.astimezone(LOCAL_TZ).date(), now)
    expected = as_json(view)
    anonymous = client.get(url(world, **args), headers=JSON)
    assert anonymous.status_code == 200 and anonymous.get_json() == expected
    login(client, world.manager)
    assert client.get(url(world, **args), headers=JSON).get_json() == expected


def test_json_is_private_and_revalidated_with_its_etag(client, world):
    first = client.get(url(world, week=world.monday.isoformat()), headers=JSON)
    assert first.status_code == 200 and first.headers["ETag"]
    assert "private" in first.headers["Cache-Control"] and "max-age=0" in first.headers["Cache-Control"]
    again = client.get(url(world, week=world.monday.isoformat()),
                       headers={**JSON, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.get_data()
    make_booking(world.instrument, world.client, start=local(world.monday, 15), hours=1,
                 status=BookingStatus.APPROVED)
    db.session.commit()
    changed = client.get(url(world, week=world.monday.isoformat()),
                         headers={**JSON, "If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and len(changed.get_json()["busy"]) == 4


def test_json_of_unknown_retired_or_bad_dates(client, world):
    assert client.get("/instruments/999999/availability", headers=JSON).status_code == 404
    assert client.get("/instruments/999999/availability?week=garbage", headers=JSON).status_code == 404
    assert client.get(url(world, week="garbage"), headers=JSON).status_code == 400
    assert client.get(url(world, day="9999-01-01"), headers=JSON).status_code == 400
    world.instrument.status = "retired"
    db.session.commit()
    assert client.get(url(world), headers=JSON).status_code == 404
    login(client, world.manager)
    assert client.get(url(world), headers=JSON).get_json()["instrument_id"] == world.instrument.id


def test_week_view_builds_spans_and_states(world):
    view = week_availability(world.instrument, world.monday + timedelta(days=4), utcnow())
    assert view.days[0] == world.monday and len(view.days) == 7
    rows = {minute: r for r, minute in enumerate(view.row_minutes)}
    assert view.row_minutes[0] == 8 * 60 and view.row_minutes[-1] == 17 * 60 + 30
    booked = view.rows[rows[600]][0]
    assert booked.state == "busy" and booked.span == 4 and booked.block.booking is None
    assert view.rows[rows[630]][0].span == 0
    assert view.rows[rows[720]][0].state == "free" and view.rows[rows[720]][0].bookable
    assert view.rows[rows[480]][2].state == "downtime" and view.rows[rows[480]][2].span == 8
    saturday = view.rows[0][5]
    assert saturday.state == "closed" and saturday.span == len(view.row_minutes)
    identified = week_availability(world.instrument, world.monday, utcnow(), show_identity=True)
    assert identified.rows[rows[600]][0].block.booking.user.name == "Client Chen"


def test_past_and_too_soon_cells_are_not_bookable(world):
    now = local(world.monday + timedelta(days=2), 12)  # Wednesday noon of that week
    view = week_availability(world.instrument, world.monday, now)
    bookable = past = 0
    for row in view.rows:
        for cell in row:
            if cell.bookable:
                bookable += 1
                assert cell.start >= now + timedelta(hours=world.instrument.min_notice_hours)
            if cell.start < now and cell.block is None and cell.state != "closed":
                past += 1
                assert cell.state == "past"
    assert bookable and past  # both kinds were there to check


def test_a_booking_that_began_days_before_the_window_is_seen(client, world):
    """The clash check and the week read only bookings starting < 7 days before their window."""
    instrument = make_instrument(lab=world.instrument.lab)
    saturday = world.monday - timedelta(days=2)
    make_booking(instrument, world.client, start=local(saturday, 10), hours=72, status=BookingStatus.APPROVED)
    db.session.commit()
    assert services.find_clash(instrument.id, local(world.monday, 10), local(world.monday, 11)) is not None
    busy = client.get(f"/instruments/{instrument.id}/availability?week={world.monday.isoformat()}",
                      headers=JSON).get_json()["busy"]
    assert [b["start"] for b in busy] == [local(saturday, 10).astimezone(LOCAL_TZ).isoformat()]


def _fill(instrument, user, monday, count):
    """``count`` one-hour approved bookings in the week of ``monday`` (Mon–Fri, 08:00–18:00)."""
    made = 0
    for day in range(5):
        for hour in range(8, 18):
            if made == count:
                return
            make_booking(instrument, user, start=local(monday + timedelta(days=day), hour), hours=1,
                         status=BookingStatus.APPROVED)
            made += 1


def _elsewhere(instrument, user, monday, count):
    """Bookings in other weeks (before and after), which the week's queries must not read."""
    for i in range(count):
        weeks = i // 50 + 1
        week = monday + timedelta(weeks=weeks) if (i // 25) % 2 else monday - timedelta(weeks=weeks)
        day = week + timedelta(days=(i % 25) // 5)
        make_booking(instrument, user, start=local(day, 8 + (i % 5) * 2), hours=1, status=BookingStatus.APPROVED)


def _few_and_many():
    """Two instruments of one lab: 2 and 40 bookings in a future week, 200 more each elsewhere."""
    few = make_world()
    many_instrument = make_instrument(lab=few.instrument.lab)
    client_user = make_user(few.org, locale="en")
    monday = future_monday()
    _fill(few.instrument, client_user, monday, 2)
    _fill(many_instrument, client_user, monday, 40)
    _elsewhere(few.instrument, client_user, monday, 200)
    _elsewhere(many_instrument, client_user, monday, 200)
    db.session.commit()
    return few, many_instrument, monday


@pytest.mark.parametrize("viewer", ["anonymous", "manager"])
def test_query_count_does_not_grow_with_bookings(client, count_queries, viewer):
    few, many_instrument, monday = _few_and_many()
    if viewer == "manager":
        login(client, few.manager)
    counts = []
    for instrument in (few.instrument, many_instrument):
        page = f"/instruments/{instrument.id}/availability?week={monday.isoformat()}"
        with count_queries() as q:
            response = client.get(page)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        busy = len(re.findall(r'class="slot slot-busy"', html))
        assert busy == (2 if instrument is few.instrument else 40)
        counts.append(q.count)
    assert counts[0] == counts[1], counts
    # instrument+lab, bookings, downtime (+ the user and their labs when logged in)
    assert counts[0] <= (3 if viewer == "anonymous" else 5), counts


def test_json_is_one_statement_whatever_the_bookings(client, count_queries):
    few, many_instrument, monday = _few_and_many()
    for instrument, busy in ((few.instrument, 2), (many_instrument, 40)):
        page = f"/instruments/{instrument.id}/availability?week={monday.isoformat()}"
        with count_queries() as q:
            response = client.get(page, headers=JSON)
        assert len(response.get_json()["busy"]) == busy
        assert q.count == 1, q.statements


def test_self_operated_instrument_warns_unqualified_clients_up_front(client, world):
    world.instrument.booking_mode = "self"
    db.session.commit()
    login(client, world.client)
    assert 'id="qualification-needed"' in client.get(url(world)).get_data(as_text=True)
    make_qualification(world.client, world.instrument, world.manager)
    db.session.commit()
    assert 'id="qualification-needed"' not in client.get(url(world)).get_data(as_text=True)
