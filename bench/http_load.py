"""Over HTTP: gunicorn (2 sync workers) serving the application or a bare Flask "hello world",
driven by wrk from another process (keep-alive is offered; gunicorn's sync workers close each
connection, the same for every target)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA_DIR = Path(__file__).resolve().parent / "lua"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(target: str, env: dict, workers: int = 2):
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--preload",
         "--graceful-timeout", "2", "--log-level", "warning", target],
        cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/", timeout=2):
                break
        except urllib.error.HTTPError:
            break  # it answers
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("gunicorn did not start: " + Path(log.name).read_text()[-2000:]) from None
            time.sleep(0.2)
    try:
        yield base, Path(log.name)
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def login(base: str, email: str, password: str) -> tuple[str, str]:
    """Log in like a browser; the session cookie and a CSRF token for later posts."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def token() -> str:
        import json

        with opener.open(base + "/csrf-token") as response:
            return json.load(response)["csrf_token"]

    data = urllib.parse.urlencode({"csrf_token": token(), "email": email, "password": password}).encode()
    opener.open(base + "/auth/login", data=data).read()
    csrf = token()
    cookie = next(c.value for c in jar if c.name == "session")
    return cookie, csrf


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()
    return round(float(number) * _UNIT[unit], 3)


def wrk(url: str, seconds: int, connections: int, script: Path | None = None, env: dict | None = None,
        headers: tuple[str, ...] = ()) -> dict:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install -y wrk)")
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        command += ["-s", str(script)]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})}).stdout
    result = {"command": " ".join(command + [url]), "connections": connections, "seconds": seconds}
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    for pct in ("50", "75", "90", "99"):
        result[f"p{pct}_ms"] = _ms(re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx_3xx"] = int(bad.group(1)) if bad else 0
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = errors.group(1) if errors else ""
    statuses = re.findall(r"^status (\d+): (\d+)$", out, re.M)  # from the Lua done() hook
    if statuses:
        result["statuses"] = {code: int(n) for code, n in statuses}
    return result


def run_get(base: str, path: str, seconds: int, connections: int, headers: tuple[str, ...] = ()) -> dict:
    return wrk(base + path, seconds, connections, LUA_DIR / "count_status.lua", headers=headers)


def run_booking_posts(base: str, cookie: str, csrf: str, instrument_ids: list[int], week, seconds: int,
                      connections: int, first_slot: int = 0) -> dict:
    """POST /instruments/<id>/book, each request a new free afternoon slot (see bench/lua/book.lua)."""
    env = {"BENCH_COOKIE": cookie, "BENCH_CSRF": csrf, "BENCH_INSTRUMENTS": ",".join(map(str, instrument_ids)),
           "BENCH_WEEK": week.isoformat(), "BENCH_FIRST_SLOT": str(first_slot)}
    result = wrk(base + "/", seconds, connections, LUA_DIR / "book.lua", env)
    time.sleep(1)  # requests wrk left in flight finish before the caller cleans up
    return result
