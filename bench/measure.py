"""In-process measurements: one instrument's week availability, the request service, and the
query plans of every SELECT those two paths run (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY
PLAN on SQLite), so a reader can check that indexes are used, not scans."""

from __future__ import annotations

import statistics
import time as clock
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import event, select

from equipshare.accounts.models import User
from equipshare.booking import services
from equipshare.booking.availability import week_availability
from equipshare.booking.models import Booking, BookingEvent
from equipshare.catalogue.models import Instrument
from equipshare.db import begin_write
from equipshare.extensions import db
from equipshare.timeutil import LOCAL_TZ


def summary(samples_ms: list[float], cpu_ms: list[float] | None = None) -> dict:
    """Wall-clock median, p90 and minimum; and the median CPU time of this process, the steadier
    figure on a shared machine (the database server's own CPU is not in it)."""
    ordered = sorted(samples_ms)
    result = {"n": len(ordered), "median_ms": round(statistics.median(ordered), 3),
              "p90_ms": round(ordered[int(len(ordered) * 0.9) - 1], 3), "min_ms": round(ordered[0], 3)}
    if cpu_ms:
        result["cpu_median_ms"] = round(statistics.median(cpu_ms), 3)
    return result


def time_week_availability(instrument_id: int, week, now: datetime, rounds: int = 300) -> dict:
    """Like a request: a fresh session, load the instrument, build its week."""
    samples, cpu = [], []
    for i in range(rounds + 20):
        db.session.remove()
        started, started_cpu = clock.perf_counter(), clock.process_time()
        instrument = db.session.get(Instrument, instrument_id)
        view = week_availability(instrument, week, now)
        elapsed, elapsed_cpu = (clock.perf_counter() - started) * 1000, (clock.process_time() - started_cpu) * 1000
        if i >= 20:  # warm-up
            samples.append(elapsed)
            cpu.append(elapsed_cpu)
    db.session.remove()
    result = summary(samples, cpu)
    result["busy_blocks"] = len(view.blocks)
    return result


def _free_afternoon_slots(instrument_ids: list[int], week, count: int):
    """(instrument, start) pairs in the afternoons the seed left free."""
    days = [week + timedelta(days=d) for d in range(5)]
    for i in range(count):
        instrument_id = instrument_ids[i % len(instrument_ids)]
        j = i // len(instrument_ids)
        day = days[(j // 10) % 5] + timedelta(weeks=j // 50)
        start = datetime.combine(day, time(13) , tzinfo=LOCAL_TZ) + timedelta(minutes=30 * (j % 10))
        yield instrument_id, start.astimezone(UTC)


def time_request_service(instrument_ids: list[int], client_email: str, week, now: datetime,
                         rounds: int = 200) -> dict:
    """services.request_booking for new free slots (then removed again)."""
    user = db.session.scalar(select(User).where(User.email == client_email))
    samples, cpu = [], []
    for instrument_id, start in _free_afternoon_slots(instrument_ids, week, rounds):
        req = services.BookingRequest(start=start, end=start + timedelta(minutes=30), purpose="bench", sample_count=1)
        started, started_cpu = clock.perf_counter(), clock.process_time()
        services.request_booking(user, instrument_id, req, now)
        samples.append((clock.perf_counter() - started) * 1000)
        cpu.append((clock.process_time() - started_cpu) * 1000)
    remove_bookings_of(client_email)
    return summary(samples, cpu)


def remove_bookings_of(email: str) -> int:
    """Clean up what a benchmark requested (bookings, their events and queued mails)."""
    begin_write(db.session)
    user_id = db.session.scalar(select(User.id).where(User.email == email))
    ids = list(db.session.scalars(select(Booking.id).where(Booking.user_id == user_id)))
    for chunk in range(0, len(ids), 5000):
        part = ids[chunk:chunk + 5000]
        db.session.execute(db.delete(BookingEvent).where(BookingEvent.booking_id.in_(part)))
        db.session.execute(db.delete(Booking).where(Booking.id.in_(part)))
    try:
        from equipshare.notifications.models import OutboxMessage

        db.session.execute(db.delete(OutboxMessage))
    except ImportError:
        pass
    db.session.commit()
    return len(ids)


@contextmanager
def captured_selects():
    statements: list[tuple[str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def explain(statement: str, parameters) -> str:
    raw = db.session.connection().connection.driver_connection
    cur = raw.cursor()
    if db.engine.dialect.name == "postgresql":
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters)
        lines = [row[0] for row in cur.fetchall()]
    else:
        cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        lines = [f"{row[1]:>3} {row[3]}" for row in cur.fetchall()]
    cur.close()
    return "\n".join(lines)


def query_plans(instrument_id: int, client_email: str, week, now: datetime) -> list[dict]:
    """Every SELECT of one week view and one booking request, with its plan."""
    plans = []
    db.session.remove()
    with captured_selects() as week_selects:
        week_availability(db.session.get(Instrument, instrument_id), week, now)
    user = db.session.scalar(select(User).where(User.email == client_email))
    db.session.commit()
    start = datetime.combine(week + timedelta(days=1), time(16), tzinfo=LOCAL_TZ).astimezone(UTC)
    req = services.BookingRequest(start=start, end=start + timedelta(minutes=30), purpose="bench explain")
    with captured_selects() as request_selects:
        services.request_booking(user, instrument_id, req, now)
    for path, selects in (("week availability", week_selects), ("request booking", request_selects)):
        for statement, parameters in selects:
            if "FROM bookings" not in statement and "FROM downtimes" not in statement:
                continue  # instrument / user / rate lookups by primary key
            plans.append({"path": path, "sql": " ".join(statement.split()), "plan": explain(statement, parameters)})
    db.session.rollback()
    remove_bookings_of(client_email)
    return plans
