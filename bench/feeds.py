"""Benchmark: a lab manager's calendar feed with 5,000 events.

Measures, through the real route (test client, no network):
- a full GET with the body cache empty (validator + loading the rows + building and serialising),
- an unconditional GET whose body is cached (validator + cache lookup),
- a conditional GET answered 304 (validator only), and its ratio to the full GET;
and, at service level, the build alone and the validator alone.

    .venv/bin/python bench/feeds.py                      # SQLite in a temporary file
    .venv/bin/python bench/feeds.py --database-url postgresql://postgres@127.0.0.1:5432/es_bench
      (the PostgreSQL database's public schema is dropped and recreated)

Results go to docs/benchmarks.md ("Calendar feeds").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _median_ms(fn, runs: int) -> tuple[float, float]:
    """Median wall-clock and median CPU time of this process, in ms. CPU time is the steadier
    figure on a shared machine; the database server's own CPU (PostgreSQL) is not in it."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def _seed(events: int):
    from sqlalchemy import insert

    from equipshare.booking.models import Booking
    from equipshare.calendars.models import FeedToken
    from equipshare.calendars.services import hash_token, new_token
    from equipshare.db import utcnow
    from equipshare.extensions import db
    from equipshare.timeutil import local_midnight, to_local
    from tests.factories import make_client_user, make_instrument, make_lab, make_manager

    now = utcnow()
    lab = make_lab()
    instruments = [make_instrument(lab, horizon_days=60) for _ in range(10)]
    manager = make_manager(lab, locale="zh")
    clients = [make_client_user() for _ in range(20)]
    db.session.commit()
    today = local_midnight(to_local(now).date())
    rows, per_instrument = [], events // len(instruments)
    statuses = ("approved", "approved", "approved", "pending", "completed")
    for i, instrument in enumerate(instruments):
        for k in range(per_instrument):
            day, slot = divmod(k, 6)
            start = today + timedelta(days=day - 29, hours=1 + slot)  # 09:00–15:00 Shanghai
            user = clients[(i + k) % len(clients)]
            status = "completed" if start < now else statuses[k % 4]
            rows.append(dict(instrument_id=instrument.id, user_id=user.id, organisation_id=user.organisation_id,
                             start_at=start, end_at=start + timedelta(hours=1), status=status,
                             purpose=f"样品测试 {k}: coating cross-sections, 截面形貌与成分分析",
                             sample_description="Steel coupons; 钢片", sample_count=k % 7,
                             customer_class="enterprise", quoted_fee_fen=40000, version=1 + k % 3,
                             created_at=now, updated_at=now))
    db.session.execute(insert(Booking), rows)
    token = new_token()
    db.session.add(FeedToken(user=manager, scope="managed", name="Bench", token_hash=hash_token(token)))
    db.session.commit()
    return token, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from equipshare import create_app
    from equipshare.calendars import cache, services
    from equipshare.db import utcnow
    from equipshare.extensions import db

    url = args.database_url
    if url:
        from tests.conftest import _reset_postgres_schema

        _reset_postgres_schema(url)
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        token, seeded = _seed(args.events)
        feed = services.resolve_feed(token)
        settings = services.calendar_settings()
        now = utcnow()
        state = services.feed_state(feed, now, settings)
        body = services.build_feed(feed, state, settings)
        n_events = body.count(b"BEGIN:VEVENT")
        build_ms = _median_ms(lambda: services.build_feed(feed, state, settings), args.runs)
        state_ms = _median_ms(lambda: services.feed_state(feed, now, settings), args.runs * 10)
        db.session.remove()

    client = app.test_client()
    path = f"/feeds/{token}.ics"
    first = client.get(path)
    assert first.status_code == 200, first.status_code
    etag = first.headers["ETag"]

    def uncached():
        cache.bodies.clear()
        client.get(path)

    full_ms = _median_ms(uncached, args.runs)
    cached_ms = _median_ms(lambda: client.get(path), args.runs * 10)

    def conditional():
        response = client.get(path, headers={"If-None-Match": etag})
        assert response.status_code == 304

    not_modified_ms = _median_ms(conditional, args.runs * 10)
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"Calendar feed benchmark — {backend}, {seeded} bookings seeded, {n_events} events in the feed, "
          f"{len(body) / 1024:.0f} KiB; medians of {args.runs} full and {args.runs * 10} conditional requests")
    print("| measurement | wall | CPU (this process) |")
    print("|---|---|---|")
    rows = [("full GET, body not cached (validator + load + build + serialise)", full_ms),
            ("unconditional GET, body cached (validator + cache)", cached_ms),
            ("build_feed alone (load + build + serialise)", build_ms),
            ("conditional GET answered 304", not_modified_ms),
            ("feed_state alone (the validator queries)", state_ms)]
    for label, (wall, cpu) in rows:
        print(f"| {label} | {wall:.1f} ms | {cpu:.1f} ms |")
    print(f"| 304 / full GET | {not_modified_ms[0] / full_ms[0]:.2%} | {not_modified_ms[1] / full_ms[1]:.2%} |")

if __name__ == "__main__":
    main()
