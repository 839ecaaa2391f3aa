"""Concurrency guarantees, proved with separate processes against the test database.

* Many clients asking for the same slot at the same moment: exactly one wins; every other
  gets a clear conflict (409 over HTTP, Conflict "slot_taken" from the service); no 5xx and
  no "database is locked". Back-to-back slots all succeed together.
* Two managers deciding one request at once, or a client cancelling while a manager approves:
  one consistent outcome, one audit event per transition, version in step with the events.

The HTTP tests run the real application under gunicorn (4 worker processes) on the same
database as the ``app`` fixture (SQLite file, or PostgreSQL from TEST_DATABASE_URL).
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from equipshare.booking import services
from equipshare.booking.models import SLOT_HOLDING, Booking, BookingEvent, BookingStatus
from equipshare.booking.services import TRANSITIONS
from equipshare.db import utcnow
from equipshare.errors import Conflict
from equipshare.extensions import db
from equipshare.timeutil import LOCAL_TZ
from tests.booking._http_race import Shot, fire_together
from tests.factories import login, make_booking, make_client_user, make_instrument, make_lab, make_manager

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CROWD = 24  # concurrent requests for one slot
EN = "en"  # the pages' messages are checked in English
CONFLICT_TEXT = ("overlaps another booking", "Someone else has just taken this time")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(app, database_url, tmp_path_factory):
    """gunicorn, 4 sync workers, serving the application on the test database."""
    port = _free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {**os.environ, "EQUIPSHARE_SERVER_DB": app.config["SQLALCHEMY_DATABASE_URI"]}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "4", "--bind", f"127.0.0.1:{port}", "--preload",
             "--graceful-timeout", "2", "--log-level", "warning", "tests.booking._gunicorn_app:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("gunicorn did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.1)
    yield base, log
    proc.send_signal(signal.SIGQUIT)  # quick shutdown: every request has been answered
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _session(make_client, user) -> tuple[str, str]:
    """The session cookie and CSRF token of ``user``, logged in through the application."""
    browser = make_client()
    login(browser, user)
    token = browser.csrf_token()
    return browser.get_cookie("session").value, token


def _weekday(days_ahead: int = 7) -> datetime:
    """A Monday-to-Friday date at least ``days_ahead`` days from now (inside the booking horizon)."""
    day = utcnow().astimezone(LOCAL_TZ).date() + timedelta(days=days_ahead)
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)


def _request_shot(instrument_id: int, cookie: str, token: str, start: datetime, end: datetime) -> Shot:
    return Shot("POST", f"/instruments/{instrument_id}/book", cookie, {
        "csrf_token": token, "date": start.date().isoformat(), "start_time": start.strftime("%H:%M"),
        "end_time": end.strftime("%H:%M"), "purpose": "Concurrent XRD request", "sample_count": "1",
        "confirm": "Confirm request"})


def _assert_clean(hits, log: Path) -> None:
    for hit in hits:
        assert hit.status != -1, hit.body
        assert hit.status < 500, hit.body[-2000:]
        assert "database is locked" not in hit.body
    text = log.read_text()
    assert "database is locked" not in text and "Traceback" not in text, text[-3000:]


def _alerts(html: str) -> list[str]:
    return re.findall(r'role="alert">\s*(.*?)\s*<', html, re.S)


def _holding(instrument_id: int) -> list[Booking]:
    db.session.commit()  # end the test's read snapshot: see what the server wrote
    return list(db.session.scalars(db.select(Booking).where(
        Booking.instrument_id == instrument_id, Booking.status.in_(SLOT_HOLDING)).order_by(Booking.start_at)))


# --- many clients, one slot ----------------------------------------------------------------------


def test_same_slot_over_http_exactly_one_wins(server, make_client):
    base, log = server
    instrument = make_instrument()
    users = [make_client_user(locale=EN) for _ in range(CROWD)]  # one organisation each: no per-org limit
    db.session.commit()
    start = _weekday().replace(hour=10)
    sessions = [_session(make_client, user) for user in users]
    shots = [_request_shot(instrument.id, cookie, token, start, start + timedelta(hours=1))
             for cookie, token in sessions]

    hits = fire_together(base, shots)

    _assert_clean(hits, log)
    statuses = sorted(hit.status for hit in hits)
    assert statuses == [302] + [409] * (CROWD - 1), statuses
    for hit in hits:
        if hit.status == 409:
            assert any(text in hit.body for text in CONFLICT_TEXT), hit.body[-1500:]
    winner = next(hit for hit in hits if hit.status == 302)
    holding = _holding(instrument.id)
    assert len(holding) == 1 and f"/bookings/{holding[0].id}" in winner.location
    assert holding[0].user_id == users[winner.index].id
    assert holding[0].start_at == start.astimezone(UTC)


def test_back_to_back_slots_over_http_all_succeed(server, make_client):
    base, log = server
    instrument = make_instrument()
    users = [make_client_user(locale=EN) for _ in range(10)]
    db.session.commit()
    day = _weekday()
    shots = []
    for hour, user in zip(range(8, 18), users, strict=True):  # 08:00–09:00 … 17:00–18:00, all touching
        cookie, token = _session(make_client, user)
        shots.append(_request_shot(instrument.id, cookie, token, day.replace(hour=hour),
                                   day.replace(hour=hour) + timedelta(hours=1)))

    hits = fire_together(base, shots)

    _assert_clean(hits, log)
    assert [hit.status for hit in hits] == [302] * 10, [(h.status, h.body[-500:]) for h in hits if h.status != 302]
    assert [b.start_at.astimezone(LOCAL_TZ).hour for b in _holding(instrument.id)] == list(range(8, 18))


def _request_in_child(app, user_id: int, instrument_id: int, start: datetime, barrier, results) -> None:
    """Runs in a forked process: its own connections, then the service call at the barrier."""
    from equipshare.accounts.models import User

    with app.app_context():
        db.engine.dispose(close=False)  # never share the parent's connections
        user = db.session.get(User, user_id)
        req = services.BookingRequest(start=start, end=start + timedelta(hours=1), purpose="Race")
        barrier.wait(timeout=60)
        try:
            booking = services.request_booking(user, instrument_id, req, utcnow())
            results.put(("ok", booking.id))
        except Conflict as error:
            results.put(("conflict", error.code))
        except Exception as error:  # noqa: BLE001 - reported to the test
            results.put(("error", f"{type(error).__name__}: {error}"))
        finally:
            db.session.remove()


def test_same_slot_from_separate_processes_at_the_service_level(app):
    instrument = make_instrument()
    users = [make_client_user(locale=EN) for _ in range(20)]
    db.session.commit()
    start = _weekday().replace(hour=14).astimezone(UTC)
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(len(users)), ctx.Queue()
    procs = [ctx.Process(target=_request_in_child, args=(app, u.id, instrument.id, start, barrier, results))
             for u in users]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=90) for _ in procs]
    for proc in procs:
        proc.join(timeout=10)
    assert sorted(kind for kind, _ in outcomes) == ["conflict"] * 19 + ["ok"], outcomes
    assert {detail for kind, detail in outcomes if kind == "conflict"} == {"slot_taken"}
    assert len(_holding(instrument.id)) == 1


# --- decisions racing each other ---------------------------------------------------------------------


def _check_audit_trail(booking: Booking) -> list[BookingEvent]:
    """Each event starts where the previous one ended, is a legal transition, and bumped version once."""
    events = list(db.session.scalars(
        db.select(BookingEvent).where(BookingEvent.booking_id == booking.id).order_by(BookingEvent.id)))
    state = BookingStatus.PENDING
    for event in events:
        allowed_from, to_status = TRANSITIONS[event.action]
        assert event.from_status == state and event.from_status in allowed_from and event.to_status == to_status
        state = event.to_status
    assert booking.status == state
    assert booking.version == 1 + len(events)
    return events


ROUNDS = 4


def test_two_managers_approve_and_reject_at_once(server, make_client):
    base, log = server
    lab = make_lab()
    instrument = make_instrument(lab)
    first, second = make_manager(lab, locale=EN), make_manager(lab, locale=EN)
    user = make_client_user(locale=EN)
    day = _weekday()
    bookings = [make_booking(instrument, user, start=day.replace(hour=9 + 2 * i).astimezone(UTC))
                for i in range(ROUNDS)]
    db.session.commit()
    (cookie_a, token_a), (cookie_b, token_b) = _session(make_client, first), _session(make_client, second)

    for booking in bookings:
        hits = fire_together(base, [
            Shot("POST", "/manage/bookings/decide", cookie_a,
                 {"csrf_token": token_a, "booking_ids": booking.id, "decision": "approve"}),
            Shot("POST", "/manage/bookings/decide", cookie_b,
                 {"csrf_token": token_b, "booking_ids": booking.id, "decision": "reject", "reason": "Busy"}),
        ])
        _assert_clean(hits, log)
        assert sorted(h.status for h in hits) == [302, 409], [(h.status, h.body[-500:]) for h in hits]
        loser = next(h for h in hits if h.status == 409)
        assert f"Booking #{booking.id} is already" in loser.body, _alerts(loser.body)
        db.session.commit()  # end the test's read snapshot: see what the server wrote
        events = _check_audit_trail(booking)
        assert len(events) == 1 and booking.version == 2
        winner = hits.index(next(h for h in hits if h.status == 302))
        assert booking.status == (BookingStatus.APPROVED if winner == 0 else BookingStatus.REJECTED)
        assert booking.decided_by_id == (first.id if winner == 0 else second.id)


def test_client_cancels_while_a_manager_approves(server, make_client):
    base, log = server
    lab = make_lab()
    instrument = make_instrument(lab)
    manager = make_manager(lab, locale=EN)
    user = make_client_user(locale=EN)
    day = _weekday()
    bookings = [make_booking(instrument, user, start=day.replace(hour=9 + 2 * i).astimezone(UTC))
                for i in range(ROUNDS)]
    db.session.commit()
    (cookie_m, token_m), (cookie_c, token_c) = _session(make_client, manager), _session(make_client, user)

    for booking in bookings:
        hits = fire_together(base, [
            Shot("POST", "/manage/bookings/decide", cookie_m,
                 {"csrf_token": token_m, "booking_ids": booking.id, "decision": "approve"}),
            Shot("POST", f"/bookings/{booking.id}/cancel", cookie_c,
                 {"csrf_token": token_c, "reason": "Plans changed"}),
        ])
        _assert_clean(hits, log)
        approve, cancel = hits
        db.session.commit()  # end the test's read snapshot: see what the server wrote
        events = _check_audit_trail(booking)
        assert cancel.status == 302 and booking.status == BookingStatus.CANCELLED
        if approve.status == 302:  # approved first, then cancelled
            assert [e.action for e in events] == ["approve", "cancel"]
        else:  # cancelled first: the approval finds it cancelled
            assert approve.status == 409 and "already cancelled" in approve.body, _alerts(approve.body)
            assert [e.action for e in events] == ["cancel"]
