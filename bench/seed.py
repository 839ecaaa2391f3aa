"""Bench data: 500 instruments and N bookings, loaded fast and respecting the overlap guards.

Every instrument gets N/500 one-hour bookings on its weekday grid (08:00–18:00 China time),
without overlaps: ~95 % in the past two years (completed, cancelled, no-show, rejected,
expired) and the rest in the coming eight weeks (approved, pending, some cancelled), all before
noon. Afternoons in the coming weeks stay free for the request benchmark. Saturdays carry some
downtime. PostgreSQL is loaded with COPY, SQLite with executemany; the database guards (exclusion
constraint, triggers) stay on while loading, so the data is valid by construction *and* checked.
"""

from __future__ import annotations

import random
import time as clock
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import create_engine, insert, text

from equipshare.accounts.auth import hash_password
from equipshare.accounts.models import Organisation, User
from equipshare.booking.models import Booking, Downtime
from equipshare.catalogue.models import Category, Institution, Instrument, Lab, RateCard
from equipshare.extensions import db
from equipshare.timeutil import LOCAL_TZ

INSTRUMENTS = 500
LABS = 50
ORGS = 100
PAST_DAYS = 730
FUTURE_DAYS = 56
BENCH_PASSWORD = "bench password not secret"
BENCH_EMAIL = "bench-client@example.com"
PAST_MIX = [("completed", 70), ("cancelled", 10), ("no_show", 5), ("rejected", 5), ("expired", 10)]
FUTURE_MIX = [("approved", 60), ("pending", 25), ("cancelled", 10), ("rejected", 5)]
COLUMNS = ["instrument_id", "user_id", "organisation_id", "start_at", "end_at", "status", "purpose",
           "sample_count", "customer_class", "quoted_fee_fen", "late_cancellation", "version", "created_at",
           "updated_at", "decided_at", "cancelled_at"]


@dataclass
class Seeded:
    bookings: int
    instrument_ids: list[int]
    client_email: str
    week: date  # a week (Monday) in the future part of the data
    seconds: float


def reset_database(url: str) -> None:
    """An empty database at the newest migration."""
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        from pathlib import Path

        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    from flask_migrate import upgrade

    upgrade()


def _pick(mix, rng) -> str:
    return rng.choices([s for s, _ in mix], weights=[w for _, w in mix])[0]


def _weekday_slots(first: date, last: date, hours: range) -> list[datetime]:
    slots, day = [], first
    while day <= last:
        if day.isoweekday() <= 5:
            slots += [datetime.combine(day, time(h), tzinfo=LOCAL_TZ).astimezone(UTC) for h in hours]
        day += timedelta(days=1)
    return slots


def _reference_data(now: datetime) -> tuple[list[int], list[tuple[int, int]], User]:
    category = Category(code="B01", name_zh="分析仪器", name_en="Analytical")
    institution = Institution(name_zh="基准大学", name_en="Bench University")
    labs = [Lab(institution=institution, name_zh=f"实验室{i}", name_en=f"Lab {i}") for i in range(LABS)]
    password = hash_password(BENCH_PASSWORD)
    for i, lab in enumerate(labs):
        lab.managers.append(User(email=f"manager{i}@bench.example", name=f"Manager {i}", password_hash=password))
    instruments = []
    for i in range(INSTRUMENTS):
        instrument = Instrument(lab=labs[i % LABS], category=category, name_zh=f"仪器{i}", name_en=f"Instrument {i}",
                                max_open_requests_per_org=100)
        instrument.rate_cards = [RateCard(customer_class=c, hourly_rate_fen=r) for c, r in
                                 (("internal", 10000), ("academic", 20000), ("enterprise", 40000))]
        instruments.append(instrument)
    orgs = [Organisation(name=f"Bench Firm {i}", kind="enterprise", status="approved", contact_name="Bench",
                         contact_phone="0539-0000000", contact_email=f"firm{i}@bench.example") for i in range(ORGS)]
    users = [User(email=f"client{i}@bench.example", name=f"Client {i}", password_hash=password, organisation=org)
             for i, org in enumerate(orgs)]
    # The requesting client belongs to a firm with a long history (1 % of all bookings).
    bench_user = User(email=BENCH_EMAIL, name="Bench Client", password_hash=password, organisation=orgs[0],
                      locale="en")
    db.session.add_all([category, institution, *labs, *instruments, *orgs, *users, bench_user])
    db.session.commit()
    return [i.id for i in instruments], [(u.id, u.organisation_id) for u in users], bench_user


def _booking_rows(instrument_ids, clients, per_instrument: int, now: datetime, rng: random.Random):
    today = now.astimezone(LOCAL_TZ).date()
    past = _weekday_slots(today - timedelta(days=PAST_DAYS), today - timedelta(days=1), range(8, 18))
    future = _weekday_slots(today + timedelta(days=2), today + timedelta(days=FUTURE_DAYS), range(8, 12))
    n_future = min(len(future), max(1, per_instrument // 20))
    n_past = per_instrument - n_future
    hour = timedelta(hours=1)
    for instrument_id in instrument_ids:
        chosen = [(s, PAST_MIX) for s in rng.sample(past, n_past)] + [(s, FUTURE_MIX) for s in rng.sample(future, n_future)]
        for start, mix in sorted(chosen, key=lambda c: c[0]):
            user_id, org_id = clients[rng.randrange(len(clients))]
            status = _pick(mix, rng)
            created = start - timedelta(days=rng.randint(2, 30))
            decided = created + hour if status in ("approved", "rejected", "completed", "no_show") else None
            cancelled = created + 2 * hour if status == "cancelled" else None
            yield (instrument_id, user_id, org_id, start, start + hour, status, "Bench measurement",
                   rng.randint(0, 5), "enterprise", 40000, False, 2 if status != "pending" else 1, created,
                   cancelled or decided or created, decided, cancelled)


def _copy_postgres(rows) -> None:
    raw = db.session.connection().connection.driver_connection  # psycopg 3
    with raw.cursor() as cur, cur.copy(f"COPY bookings ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _insert_sqlite(rows, batch: int = 20_000) -> None:
    table = Booking.__table__
    buffer = []
    for row in rows:
        buffer.append(dict(zip(COLUMNS, row, strict=True)))
        if len(buffer) >= batch:
            db.session.execute(insert(table), buffer)
            buffer = []
    if buffer:
        db.session.execute(insert(table), buffer)


def _downtime_rows(instrument_ids, manager_id: int, now: datetime):
    today = now.astimezone(LOCAL_TZ).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7)
    for instrument_id in instrument_ids:
        for weeks in (-8, -4, 1, 5):  # Saturdays: the grid is closed, no booking is there
            start = datetime.combine(saturday + timedelta(weeks=weeks), time(9), tzinfo=LOCAL_TZ).astimezone(UTC)
            yield {"instrument_id": instrument_id, "start_at": start, "end_at": start + timedelta(hours=6),
                   "reason": "Bench maintenance", "created_by_id": manager_id, "created_at": now, "updated_at": now}


def seed(url: str, n_bookings: int, now: datetime, rng_seed: int = 42) -> Seeded:
    """Reset the database and load the bench data. Runs inside an app context."""
    started = clock.perf_counter()
    reset_database(url)
    instrument_ids, clients, bench_user = _reference_data(now)
    missing = {c.name for c in Booking.__table__.columns if not c.nullable and not c.primary_key} - set(COLUMNS)
    assert not missing, f"bench seeding must fill the new NOT NULL columns {missing}"
    rows = _booking_rows(instrument_ids, clients, n_bookings // INSTRUMENTS, now, random.Random(rng_seed))
    if db.engine.dialect.name == "postgresql":
        _copy_postgres(rows)
    else:
        _insert_sqlite(rows)
    manager_id = db.session.scalar(db.select(User.id).where(User.email == "manager0@bench.example"))
    db.session.execute(insert(Downtime.__table__), list(_downtime_rows(instrument_ids, manager_id, now)))
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return existing(now, clock.perf_counter() - started)


def existing(now: datetime, seconds: float = 0.0) -> Seeded:
    """What a database seeded earlier holds (to measure again without seeding again)."""
    count = db.session.scalar(db.select(db.func.count()).select_from(Booking))
    instrument_ids = list(db.session.scalars(db.select(Instrument.id).order_by(Instrument.id)))
    today = now.astimezone(LOCAL_TZ).date()
    week = today - timedelta(days=today.weekday()) + timedelta(weeks=2)
    return Seeded(count, instrument_ids, BENCH_EMAIL, week, seconds)
