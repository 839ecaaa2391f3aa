"""Booking benchmarks: week availability and booking requests at 10k and 1M bookings.

    .venv/bin/python bench/bookings.py --database postgresql://postgres@127.0.0.1:5432/es_bench \
        --bookings 10000 --bookings 1000000 --json bench/results/postgresql.json

For each size: reset the database, seed it (bench/seed.py), measure in-process (week
availability, the request service) with query plans, then over HTTP (gunicorn, 2 workers, wrk):
the week-availability page, booking requests (each a new free slot, removed afterwards), and a
bare Flask "hello world" served the same way. Prints a report and writes the figures as JSON.
Never part of the test suite; it replaces the database it is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import http_load, measure, seed  # noqa: E402
from equipshare import create_app  # noqa: E402
from equipshare.extensions import db  # noqa: E402


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "loadavg_at_start": os.getloadavg(),
            "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0:1]}


def _sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgres") else url


def in_process(app, url: str, size: int, now: datetime, reseed: bool = True) -> dict:
    with app.app_context():
        seeded = seed.seed(url, size, now) if reseed else seed.existing(now)
        print(f"  seeded {seeded.bookings} bookings in {seeded.seconds:.1f} s", flush=True)
        target = seeded.instrument_ids[len(seeded.instrument_ids) // 2]
        week = measure.time_week_availability(target, seeded.week, now)
        print(f"  week availability (in-process): {week}", flush=True)
        request = measure.time_request_service(seeded.instrument_ids, seeded.client_email, seeded.week, now)
        print(f"  request_booking (in-process): {request}", flush=True)
        plans = measure.query_plans(target, seeded.client_email, seeded.week, now)
        db.session.remove()
        db.engine.dispose()
    return {"bookings": seeded.bookings, "seed_seconds": round(seeded.seconds, 1), "instrument_id": target,
            "week": seeded.week.isoformat(), "instrument_ids": seeded.instrument_ids, "client": seeded.client_email,
            "in_process": {"week_availability": week, "request_booking": request}, "plans": plans}


def best_of(repeat: int, run) -> dict:
    """On a shared machine other work only ever slows a run down: keep the fastest of ``repeat``
    runs (highest rate), and list every run's figures beside it."""
    runs = [run(i) for i in range(repeat)]
    best = dict(max(runs, key=lambda r: r["rps"]))
    if repeat > 1:
        best["all_runs"] = [{k: r[k] for k in ("rps", "p50_ms", "p99_ms")} for r in runs]
    return best


def over_http(app, url: str, result: dict, seconds: int, repeat: int) -> dict:
    path = f"/instruments/{result['instrument_id']}/availability?week={result['week']}"
    json_only = ("Accept: application/json",)  # the same view without the HTML page
    out = {}
    with http_load.gunicorn("bench.wsgi_app:app", {"BENCH_DATABASE_URL": url}) as (base, log):
        for name, connections, headers in (("week_c1", 1, ()), ("week_c4", 4, ()),
                                           ("week_json_c1", 1, json_only), ("week_json_c4", 4, json_only)):
            out[name] = best_of(repeat, lambda _i, c=connections, h=headers: http_load.run_get(base, path, seconds, c, h))
        cookie, csrf = http_load.login(base, result["client"], seed.BENCH_PASSWORD)
        week = datetime.fromisoformat(result["week"]).date()

        def book(connections: int, first_slot: int) -> dict:
            figures = http_load.run_booking_posts(base, cookie, csrf, result["instrument_ids"], week, seconds,
                                                  connections, first_slot=first_slot)
            with app.app_context():
                figures["removed"] = measure.remove_bookings_of(result["client"])
                db.engine.dispose()
            return figures

        # each run starts a week further on, so a request left in flight by the last run cannot collide
        out["book_c1"] = best_of(repeat, lambda i: book(1, 25_000 * i))
        out["book_c4"] = best_of(repeat, lambda i: book(4, 25_000 * (repeat + i)))
        out["server_errors_logged"] = log.read_text().count("Traceback")
    with http_load.gunicorn("bench.hello:app", {}) as (base, _log):
        out["hello_c1"] = best_of(repeat, lambda _i: http_load.run_get(base, "/", seconds, 1))
        out["hello_c4"] = best_of(repeat, lambda _i: http_load.run_get(base, "/", seconds, 4))
    for name, figures in out.items():
        if isinstance(figures, dict):
            print(f"  {name}: rps {figures['rps']}, p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, "
                  f"statuses {figures.get('statuses')}", flush=True)
    return out


def verdict(results: list[dict]) -> dict:
    """The targets, for the smallest and the largest size measured."""
    if len(results) < 2:
        return {}
    small, large = results[0], results[-1]
    checks = {}
    for path in ("week_availability", "request_booking"):
        a, b = small["in_process"][path], large["in_process"][path]
        checks[f"in_process_{path}_growth_median"] = b["median_ms"] / a["median_ms"]
        checks[f"in_process_{path}_growth_min"] = b["min_ms"] / a["min_ms"]
        checks[f"in_process_{path}_growth_cpu"] = b["cpu_median_ms"] / a["cpu_median_ms"]
    if "http" in large and "http" in small:
        h_small, h_large = small["http"], large["http"]
        checks["http_week_growth"] = h_large["week_c1"]["p50_ms"] / h_small["week_c1"]["p50_ms"]
        checks["http_book_growth"] = h_large["book_c1"]["p50_ms"] / h_small["book_c1"]["p50_ms"]
        checks["week_rps_vs_hello"] = h_large["week_c4"]["rps"] / h_large["hello_c4"]["rps"]
        checks["week_json_rps_vs_hello"] = h_large["week_json_c4"]["rps"] / h_large["hello_c4"]["rps"]
        checks["book_median_ms_at_largest"] = h_large["book_c1"]["p50_ms"]
    return {k: round(v, 3) for k, v in checks.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="database to REPLACE with bench data (PostgreSQL or sqlite:////path)")
    parser.add_argument("--bookings", type=int, action="append", help="sizes (repeatable); default 10k and 1M")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--repeat", type=int, default=1, help="wrk runs per figure; the fastest is kept")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--no-seed", action="store_true", help="measure the data already there (one size)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    if not args.database:
        parser.error("--database (or BENCH_DATABASE_URL) is required")
    url = _sqlalchemy_url(args.database)
    sizes = args.bookings or [10_000, 1_000_000]
    now = datetime.now(UTC)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, MAIL_SERVER=None)
    report = {"machine": machine(), "database": url.split("@")[-1], "started": now.isoformat(), "sizes": []}
    print(json.dumps(report["machine"]), flush=True)
    for size in sizes:
        print(f"== {size} bookings on {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}", flush=True)
        result = in_process(app, url, size, now, reseed=not args.no_seed)
        if not args.skip_http:
            result["http"] = over_http(app, url, result, args.seconds, args.repeat)
        result.pop("instrument_ids")
        report["sizes"].append(result)
    report["verdict"] = verdict(report["sizes"])
    print(json.dumps(report["verdict"], indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
