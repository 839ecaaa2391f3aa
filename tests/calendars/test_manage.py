"""The feed management pages, the single-event download and the demo feed."""

from __future__ import annotations

import re

import pytest
from flask import url_for

from equipshare.calendars import services
from equipshare.calendars.models import FeedToken
from equipshare.errors import Forbidden, RuleViolation
from equipshare.extensions import db
from equipshare.timeutil import format_local
from tests.calendars.helpers import parse
from tests.factories import login, make_feed, make_instrument, make_user

URL_RE = re.compile(r'value="(http://equipshare\.test/feeds/([A-Za-z0-9_-]{32})\.ics)"')


def feed_count() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(FeedToken))


def test_pages_need_login(client):
    response = client.get("/feeds/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.post("/feeds/new", data={"scope": "mine"}).status_code == 302
    assert feed_count() == 0


def test_client_creates_a_feed_and_sees_its_address_once(client, world):
    login(client, world.client)
    page = client.get("/feeds/")
    assert page.status_code == 200
    assert page.headers.getlist("Referrer-Policy") == ["no-referrer"] and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert 'value="mine"' in html and "instrument-" not in html  # a client may only subscribe to their own

    response = client.post("/feeds/new", data={"scope": "mine", "name": "  My   phone "})
    assert response.status_code == 302
    html = client.get("/feeds/").get_data(as_text=True)
    match = URL_RE.search(html)
    assert match, html
    https_url, token = match.groups()
    assert f'value="webcal://equipshare.test/feeds/{token}.ics"' in html
    assert 'data-copy="feed-url-https"' in html and 'data-copy="feed-url-webcal"' in html
    assert "My phone" in html and "Outlook" in html and "Thunderbird" in html
    assert token not in client.get("/feeds/").get_data(as_text=True)  # shown only once
    feed = db.session.scalar(db.select(FeedToken))
    assert (feed.user_id, feed.scope, feed.name) == (world.client.id, "mine", "My phone")
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    fetched = db.session.get(FeedToken, feed.id).last_fetched_at
    assert format_local(fetched) in client.get("/feeds/").get_data(as_text=True)  # last fetched is shown


def test_manager_creates_feeds_of_each_scope(client, world):
    login(client, world.manager)
    html = client.get("/feeds/").get_data(as_text=True)
    for key in ("managed", f"lab-{world.lab.id}", f"instrument-{world.sem.id}", f"instrument-{world.xrd.id}"):
        assert f'value="{key}"' in html
    assert 'value="mine"' not in html
    for key in ("managed", f"lab-{world.lab.id}", f"instrument-{world.sem.id}"):
        assert client.post("/feeds/new", data={"scope": key, "name": ""}).status_code == 302
    feeds = db.session.scalars(db.select(FeedToken).order_by(FeedToken.id)).all()
    assert [(f.scope, f.lab_id, f.instrument_id) for f in feeds] == [
        ("managed", None, None), ("lab", world.lab.id, None), ("instrument", None, world.sem.id)]
    assert feeds[2].name == "扫描电子显微镜"  # default name: the calendar's title, in the owner's language


def test_scopes_the_user_may_not_choose_are_refused(client, world):
    elsewhere = make_instrument()
    db.session.commit()
    login(client, world.client)
    for key in (f"instrument-{world.sem.id}", "managed", f"lab-{world.lab.id}", "instrument-999999999999", "x"):
        assert client.post("/feeds/new", data={"scope": key}).status_code == 422
    login(client, world.manager)
    assert client.post("/feeds/new", data={"scope": f"instrument-{elsewhere.id}"}).status_code == 422
    assert client.post("/feeds/new", data={"scope": "mine"}).status_code == 422
    assert client.post("/feeds/new", data={"scope": "managed", "name": "x" * 101}).status_code == 422
    assert feed_count() == 0


def test_service_refuses_a_scope_the_actor_does_not_hold(world):
    with pytest.raises(Forbidden):
        services.create_feed(world.client, None, f"instrument-{world.sem.id}", world.now)
    with pytest.raises(RuleViolation):
        services.create_feed(world.manager, None, "lab-abc", world.now)
    assert feed_count() == 0


def test_user_without_a_role_cannot_create_feeds(client):
    nobody = make_user()
    db.session.commit()
    login(client, nobody)
    page = client.get("/feeds/")
    assert page.status_code == 200 and 'name="scope"' not in page.get_data(as_text=True)  # no form offered
    assert client.post("/feeds/new", data={"scope": "mine"}).status_code == 403
    assert feed_count() == 0


def test_owner_revokes_and_regenerates(client, world):
    feed, token = make_feed(world.client)
    db.session.commit()
    login(client, world.client)
    assert client.post(f"/feeds/{feed.id}/revoke").status_code == 302
    assert client.get(f"/feeds/{token}.ics").status_code == 404
    html = client.get("/feeds/").get_data(as_text=True)
    assert f"/feeds/{feed.id}/regenerate" in html and f"/feeds/{feed.id}/revoke" not in html  # listed as revoked
    assert client.post(f"/feeds/{feed.id}/regenerate").status_code == 302
    match = URL_RE.search(client.get("/feeds/").get_data(as_text=True))
    assert match and match.group(2) != token
    assert client.get(f"/feeds/{match.group(2)}.ics").status_code == 200
    assert client.get(f"/feeds/{token}.ics").status_code == 404


def test_a_user_cannot_touch_another_users_feed(client, world):
    feed, token = make_feed(world.manager, "managed")
    db.session.commit()
    login(client, world.client)
    assert client.post(f"/feeds/{feed.id}/revoke").status_code == 403
    assert client.post(f"/feeds/{feed.id}/regenerate").status_code == 403
    assert client.post("/feeds/999999/revoke").status_code == 404
    stored = db.session.get(FeedToken, feed.id)
    assert stored.revoked_at is None and stored.token_hash == services.hash_token(token)
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    assert "Test feed" not in client.get("/feeds/").get_data(as_text=True)  # nor see it


def test_booking_ics_download(client, world, make_client):
    booking = world.b.approved
    path = f"/bookings/{booking.id}/calendar.ics"
    assert client.get(path).status_code == 302  # log in first
    login(client, world.client)
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    cal, vcal = parse(response.data)
    assert str(cal["METHOD"]) == "PUBLISH"
    assert vcal.vevent.uid.value == f"booking-{booking.id}@equipshare.test"
    assert vcal.vevent.sequence.value == str(booking.version)
    assert client.get("/bookings/999999/calendar.ics").status_code == 404

    outsider = make_client()
    login(outsider, world.other)
    assert outsider.get(path).status_code == 404  # same visibility as the booking page
    manager = make_client()
    login(manager, world.manager)
    assert manager.get(path).status_code == 200


def test_booking_page_path_matches_feed_links(app, world):
    with app.test_request_context():
        path = url_for("booking.detail", booking_id=world.b.approved.id)
    assert services.calendar_settings().booking_url(world.b.approved.id).endswith(path)


def test_demo_feed_is_idempotent(client, world):
    first_feed, first = services.ensure_demo_feed(world.manager)
    second_feed, second = services.ensure_demo_feed(world.manager)
    assert first == second and first_feed.id == second_feed.id and feed_count() == 1
    assert client.get(f"/feeds/{first}.ics").status_code == 200
    services.revoke_feed(world.manager, first_feed.id, world.now)
    _, third = services.ensure_demo_feed(world.manager)
    assert third == first and client.get(f"/feeds/{third}.ics").status_code == 200
