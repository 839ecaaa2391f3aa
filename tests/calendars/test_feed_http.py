"""The public feed route: headers, conditional requests, HEAD, tokens, and who loses access."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from equipshare.accounts.models import MemberStatus
from equipshare.booking import services as booking_services
from equipshare.calendars import services
from equipshare.calendars.logredact import FeedTokenFilter, RedactingGunicornLogger, redact
from equipshare.calendars.models import FeedToken
from equipshare.extensions import db
from tests.calendars.helpers import events, parse
from tests.factories import make_feed


def url(token: str) -> str:
    return f"/feeds/{token}.ics"


@pytest.fixture()
def manager_feed(world):
    feed, token = make_feed(world.manager, "managed")
    db.session.commit()
    return feed, token


def test_feed_response_headers_and_body(client, world, manager_feed):
    _, token = manager_feed
    response = client.get(url(token))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    etag = response.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong
    assert response.headers["Last-Modified"]
    assert "private" in response.headers["Cache-Control"]
    assert response.headers.getlist("Referrer-Policy") == ["no-referrer"]
    cal, _ = parse(response.data)
    assert f"booking-{world.b.approved.id}@equipshare.test" in events(cal)
    again = client.get(url(token))
    assert again.data == response.data and again.headers["ETag"] == etag


def test_if_none_match_answers_304_without_loading_bookings(client, world, manager_feed, count_queries):
    _, token = manager_feed
    etag = client.get(url(token)).headers["ETag"]
    with count_queries() as q:
        response = client.get(url(token), headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.data == b""
    assert response.headers["ETag"] == etag
    assert len(q.statements) <= 5, q.statements
    touching_bookings = [s for s in q.statements if "bookings" in s.lower()]
    assert len(touching_bookings) == 1 and "count(" in touching_bookings[0].lower()
    assert not any("purpose" in s for s in q.statements)  # no booking row was loaded
    assert not any(s.lstrip().upper().startswith("UPDATE") for s in q.statements)  # fetched < 1 min ago


def test_if_modified_since_answers_304(client, manager_feed):
    _, token = manager_feed
    first = client.get(url(token))
    response = client.get(url(token), headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert response.status_code == 304
    stale = client.get(url(token), headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert stale.status_code == 200 and stale.data == first.data


def test_a_change_gives_a_new_etag_and_full_response(client, world, manager_feed):
    _, token = manager_feed
    first = client.get(url(token))
    booking_services.decide_bookings(world.manager, [world.b.pending.id], True, None, world.now)
    response = client.get(url(token), headers={"If-None-Match": first.headers["ETag"],
                                                "If-Modified-Since": first.headers["Last-Modified"]})
    assert response.status_code == 200 and response.headers["ETag"] != first.headers["ETag"]
    event = events(parse(response.data)[0])[f"booking-{world.b.pending.id}@equipshare.test"]
    assert str(event["STATUS"]) == "CONFIRMED" and event["SEQUENCE"] == 2


def test_deleted_downtime_changes_etag_and_last_modified(client, world, manager_feed):
    _, token = manager_feed
    first = client.get(url(token))
    booking_services.delete_downtime(world.manager, world.downtime.id, world.now)
    response = client.get(url(token), headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert response.status_code == 200, "a deletion leaves no timestamp, yet must not answer 304"
    assert response.headers["ETag"] != first.headers["ETag"]
    assert not any(k.startswith("downtime-") for k in events(parse(response.data)[0]))


def test_head(client, manager_feed):
    _, token = manager_feed
    get = client.get(url(token))
    head = client.head(url(token))
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert client.head(url(token), headers={"If-None-Match": get.headers["ETag"]}).status_code == 304


def _assert_same_404(client, token, reference):
    response = client.get(url(token))
    assert response.status_code == 404
    assert (response.data, response.headers["Content-Type"]) == (reference.data, reference.headers["Content-Type"])


def test_unknown_truncated_and_revoked_tokens_get_the_same_404(client, world, manager_feed):
    feed, token = manager_feed
    reference = client.get(url(services.new_token()))
    assert reference.status_code == 404
    _assert_same_404(client, token[:-1], reference)
    _assert_same_404(client, token + "A", reference)
    _assert_same_404(client, "not-a-token", reference)
    services.revoke_feed(world.manager, feed.id, world.now)
    _assert_same_404(client, token, reference)


def test_regenerate_replaces_the_token(client, world, manager_feed):
    feed, old = manager_feed
    assert client.get(url(old)).status_code == 200
    _, new = services.regenerate_feed(world.manager, feed.id, world.now)
    assert new != old
    assert client.get(url(old)).status_code == 404
    assert client.get(url(new)).status_code == 200
    stored = db.session.get(FeedToken, feed.id)
    assert stored.token_hash == services.hash_token(new) and new not in (stored.token_hash, stored.name)


def test_deactivated_owner_feed_stops(client, world, manager_feed):
    _, token = manager_feed
    world.manager.active = False
    db.session.commit()
    assert client.get(url(token)).status_code == 404


def test_manager_removed_from_lab_feed_stops(client, world):
    feeds = [make_feed(world.manager, "managed")[1], make_feed(world.manager, "lab", lab=world.lab)[1],
             make_feed(world.manager, "instrument", instrument=world.sem)[1]]
    db.session.commit()
    assert all(client.get(url(t)).status_code == 200 for t in feeds)
    world.lab.managers.remove(world.manager)
    db.session.commit()
    assert [client.get(url(t)).status_code for t in feeds] == [404, 404, 404]


def test_client_removed_from_organisation_feed_stops(client, world):
    _, token = make_feed(world.client)
    db.session.commit()
    assert client.get(url(token)).status_code == 200
    world.client.member_status = MemberStatus.REMOVED
    db.session.commit()
    assert client.get(url(token)).status_code == 404


def test_last_fetched_is_recorded_at_most_once_a_minute(client, world, manager_feed, count_queries):
    feed, token = manager_feed
    assert feed.last_fetched_at is None
    client.get(url(token))
    first = db.session.get(FeedToken, feed.id).last_fetched_at
    assert first is not None
    with count_queries() as q:
        client.get(url(token))
    assert not any(s.lstrip().upper().startswith("UPDATE") for s in q.statements)
    assert db.session.get(FeedToken, feed.id).last_fetched_at == first
    feed.last_fetched_at = first - timedelta(minutes=2)
    db.session.commit()
    client.get(url(token))
    assert db.session.get(FeedToken, feed.id).last_fetched_at > first - timedelta(minutes=2)


def test_tokens_are_long_random_and_stored_hashed(world):
    tokens = {services.new_token() for _ in range(50)}
    assert len(tokens) == 50 and all(len(t) == 32 for t in tokens)  # 192 bits, URL-safe
    _, token = services.create_feed(world.client, "Phone", "mine", world.now)
    rows = db.session.execute(db.select(FeedToken.token_hash)).scalars().all()
    assert token not in rows and services.hash_token(token) in rows


def test_token_is_redacted_from_logs(caplog):
    token = services.new_token()
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s %s',
                               ("127.0.0.1", f"GET /feeds/{token}.ics HTTP/1.1", "200", "-"), None)
    FeedTokenFilter().filter(record)
    assert token not in record.getMessage() and "/feeds/[redacted].ics" in record.getMessage()
    assert redact(f"/feeds/{token}.ics?x=1 /feeds/") == "/feeds/[redacted].ics?x=1 /feeds/"


def test_werkzeug_logger_filter_installed_by_the_app(app):
    assert any(isinstance(f, FeedTokenFilter) for f in logging.getLogger("werkzeug").filters)
    assert any(isinstance(f, FeedTokenFilter) for f in app.logger.filters)


def test_gunicorn_access_log_atoms_are_redacted():
    from types import SimpleNamespace

    from gunicorn.config import Config

    token = services.new_token()
    logger = RedactingGunicornLogger(Config())
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/feeds/{token}.ics", "PATH_INFO": f"/feeds/{token}.ics",
               "SERVER_PROTOCOL": "HTTP/1.1", "QUERY_STRING": ""}
    resp = SimpleNamespace(status="200 OK", headers=[], sent=10)
    atoms = logger.atoms(resp, SimpleNamespace(headers=[]), environ, timedelta(seconds=1))
    assert token not in repr(atoms) and "[redacted]" in atoms["r"] and "[redacted]" in atoms["U"]


def test_a_failed_fetch_record_does_not_fail_the_feed(client, manager_feed, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def locked(*args, **kwargs):
        raise OperationalError("UPDATE feed_tokens", {}, Exception("database is locked"))

    monkeypatch.setattr(services, "record_fetch", locked)
    _, token = manager_feed
    assert client.get(url(token)).status_code == 200


def test_client_moved_to_another_organisation_sees_none_of_the_old_ones(client, world):
    _, token = make_feed(world.client)
    world.client.organisation = world.other.organisation
    db.session.commit()
    response = client.get(url(token))
    assert response.status_code == 200
    assert events(parse(response.data)[0]) == {}  # old bookings were for the old organisation


def test_unconditional_refetch_is_served_from_the_body_cache(client, world, manager_feed, count_queries):
    from equipshare.calendars import cache

    _, token = manager_feed
    first = client.get(url(token))
    assert len(cache.bodies) == 1
    with count_queries() as q:
        again = client.get(url(token))  # e.g. Google Calendar: no If-None-Match
    assert again.status_code == 200 and again.data == first.data
    assert not any("purpose" in s for s in q.statements)  # not rebuilt
    booking_services.decide_bookings(world.manager, [world.b.pending.id], True, None, world.now)
    changed = client.get(url(token))
    assert changed.headers["ETag"] != first.headers["ETag"] and changed.data != first.data


def test_body_cache_is_bounded():
    from equipshare.calendars.cache import BodyCache

    small = BodyCache(max_bytes=400)
    for i in range(10):
        small.put(f"e{i}", b"x" * 100)
    assert len(small) == 4 and small.get("e9") and small.get("e0") is None
    small.put("huge", b"x" * 200)  # more than a quarter of the budget: not kept
    assert small.get("huge") is None
