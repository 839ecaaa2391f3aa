"""Fire HTTP requests from separate processes at the same moment (standard library only).

Each process opens its TCP connection first, waits at a barrier with all the others, then sends
its one request, so the requests really reach the server together.
"""

from __future__ import annotations

import http.client
import multiprocessing
from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass(frozen=True)
class Shot:
    method: str
    path: str
    cookie: str  # the "session" cookie of a logged-in user
    form: dict


@dataclass(frozen=True)
class Hit:
    index: int
    status: int
    location: str
    body: str


def _fire(index: int, host: str, port: int, shot: Shot, barrier, results) -> None:
    try:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        conn.connect()
        body = urlencode(shot.form, doseq=True)
        headers = {"Cookie": f"session={shot.cookie}", "Content-Type": "application/x-www-form-urlencoded",
                   "Accept": "text/html"}
        barrier.wait(timeout=60)
        conn.request(shot.method, shot.path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        results.put(Hit(index, response.status, response.getheader("Location") or "", text))
        conn.close()
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        results.put(Hit(index, -1, "", f"{type(exc).__name__}: {exc}"))


def fire_together(base_url: str, shots: list[Shot], timeout: float = 90) -> list[Hit]:
    """Send every shot from its own process at once; the hits in the order of ``shots``."""
    host, port = base_url.removeprefix("http://").split(":")
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(shots))
    results = ctx.Queue()
    procs = [ctx.Process(target=_fire, args=(i, host, int(port), shot, barrier, results), daemon=True)
             for i, shot in enumerate(shots)]
    for proc in procs:
        proc.start()
    hits = [results.get(timeout=timeout) for _ in procs]
    for proc in procs:
        proc.join(timeout=10)
    return sorted(hits, key=lambda h: h.index)
