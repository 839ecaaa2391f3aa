"""CPU per request, in-process: one request type through the whole WSGI app (ProductionConfig,
as bench/wsgi_app.py builds it), no HTTP server, on a database seeded by bench/bookings.py.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/es_bench \\
        .venv/bin/python bench/profile_request.py json [--requests 2000] [--cprofile 40]
    BENCH_DATABASE_URL=... .venv/bin/python bench/profile_request.py post [--requests 300]

``json``: the week-availability JSON of the middle instrument (GET, Accept: application/json).
``post``: booking requests by the bench client, each a new free afternoon slot one week after the
seeded week (answered 302; removed afterwards). Prints wall and CPU (time.process_time) per
request; ``--cprofile N`` also prints the N most expensive functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/es_bench")

from werkzeug.test import EnvironBuilder  # noqa: E402

from bench import measure, seed  # noqa: E402
from bench.wsgi_app import app  # noqa: E402
from equipshare.db import utcnow  # noqa: E402
from equipshare.timeutil import LOCAL_TZ  # noqa: E402


def _call(environ: dict) -> str:
    status = []
    b"".join(app.wsgi_app(environ, lambda s, _h, _e=None: status.append(s)))
    return status[0]


def json_requests(seeded, count: int):
    target = seeded.instrument_ids[len(seeded.instrument_ids) // 2]
    path = f"/instruments/{target}/availability?week={seeded.week.isoformat()}"
    for _ in range(count):
        yield EnvironBuilder(path=path, headers={"Accept": "application/json"},
                             environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ(), "200"


def post_requests(seeded, count: int):
    browser = app.test_client()

    def token() -> str:
        return browser.get("/csrf-token").get_json()["csrf_token"]

    answer = browser.post("/auth/login", data={"csrf_token": token(), "email": seed.BENCH_EMAIL,
                                               "password": seed.BENCH_PASSWORD})
    assert answer.status_code == 302, answer.status_code
    csrf, cookie = token(), browser.get_cookie("session").value
    slots = measure._free_afternoon_slots(seeded.instrument_ids, seeded.week + timedelta(weeks=1), count)
    for instrument_id, start in slots:
        start = start.astimezone(LOCAL_TZ)
        end = start + timedelta(minutes=30)
        body = urlencode({"csrf_token": csrf, "date": start.date().isoformat(), "start_time": start.strftime("%H:%M"),
                          "end_time": end.strftime("%H:%M"), "purpose": "bench", "sample_count": "1",
                          "confirm": "Confirm"})
        yield EnvironBuilder(path=f"/instruments/{instrument_id}/book", method="POST", data=body,
                             content_type="application/x-www-form-urlencoded",
                             headers={"Cookie": f"session={cookie}"},
                             environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ(), "302"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["json", "post"])
    parser.add_argument("--requests", type=int)
    parser.add_argument("--cprofile", type=int, metavar="N")
    args = parser.parse_args()
    count = args.requests or (2000 if args.kind == "json" else 300)
    with app.app_context():
        seeded = seed.existing(utcnow())
        measure.remove_bookings_of(seed.BENCH_EMAIL)
    make = json_requests if args.kind == "json" else post_requests
    try:
        for label, profile in (("warm-up", False), ("measured", False), ("profiled", bool(args.cprofile))):
            if label == "profiled" and not profile:
                break
            requests = list(make(seeded, count if label != "warm-up" else 20))
            if args.kind == "post":  # new slots each round
                with app.app_context():
                    measure.remove_bookings_of(seed.BENCH_EMAIL)
            profiler = cProfile.Profile() if profile else None
            wall, cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            for environ, expected in requests:
                status = _call(environ)
                assert status.startswith(expected), status
            if profiler:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.cprofile)
            elif label == "measured":
                n = len(requests)
                print(f"{args.kind}: {n} requests, per request {(time.perf_counter() - wall) / n * 1000:.3f} ms wall, "
                      f"{(time.process_time() - cpu) / n * 1000:.3f} ms CPU")
    finally:
        with app.app_context():
            measure.remove_bookings_of(seed.BENCH_EMAIL)


if __name__ == "__main__":
    main()
