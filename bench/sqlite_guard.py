"""The SQLite overlap trigger's cost per booking insert, bounded (migration 0003) vs unbounded
(0002's triggers, recreated inside a transaction that is rolled back), on a database seeded by
bench/bookings.py (1M bookings: 2,000 per instrument). Changes nothing.

    .venv/bin/python bench/sqlite_guard.py /tmp/es_bench.sqlite [--instrument 251]
"""

from __future__ import annotations

import argparse
import importlib.util
import sqlite3
import time
from pathlib import Path

VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"


def _migration(name: str):
    spec = importlib.util.spec_from_file_location(name, VERSIONS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def median_insert_ms(db: sqlite3.Connection, instrument_id: int, rounds: int = 300) -> float:
    """Each insert a new pending half-hour slot in a month nobody booked, undone at once."""
    columns = [row[1] for row in db.execute("PRAGMA table_info(bookings)") if row[1] != "id"]
    template = dict(zip(columns, db.execute(
        f"SELECT {', '.join(columns)} FROM bookings WHERE instrument_id = ? LIMIT 1", (instrument_id,)).fetchone(), strict=True))
    sql = f"INSERT INTO bookings ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    samples = []
    for i in range(rounds):
        day, minute = 1 + i % 28, i % 60
        row = dict(template, status="pending", start_at=f"2099-03-{day:02d} 05:{minute:02d}:00.000000",
                   end_at=f"2099-03-{day:02d} 05:{minute:02d}:30.000000")
        db.execute("SAVEPOINT probe")
        started = time.perf_counter()
        db.execute(sql, list(row.values()))
        samples.append(time.perf_counter() - started)
        db.execute("ROLLBACK TO probe")
        db.execute("RELEASE probe")
    samples.sort()
    return samples[len(samples) // 2] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database", type=Path)
    parser.add_argument("--instrument", type=int, default=251)
    args = parser.parse_args()
    db = sqlite3.connect(args.database, isolation_level=None)
    count = db.execute("SELECT count(*) FROM bookings WHERE instrument_id = ?", (args.instrument,)).fetchone()[0]
    db.execute("BEGIN IMMEDIATE")
    try:
        print(f"bounded (0003): {median_insert_ms(db, args.instrument):.3f} ms per insert, "
              f"{count} bookings on instrument {args.instrument}")
        for statement in _migration("0003_bounded_overlap_guards").SQLITE_DOWNGRADE:
            db.execute(statement)
        print(f"unbounded (0002): {median_insert_ms(db, args.instrument):.3f} ms per insert")
    finally:
        db.execute("ROLLBACK")


if __name__ == "__main__":
    main()
