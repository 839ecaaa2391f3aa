"""Rate limits for the few endpoints that need them (logging in, asking for a password reset).

A decorator on those views, on top of the ``limits`` library, instead of Flask-Limiter: that
extension runs a before-request check, an after-request header hook and a teardown on *every*
request, which cost ≈ 0.1 ms CPU per request — 7 % of the week-availability JSON's throughput —
for two endpoints (docs/benchmarks.md). Counters live in ``RATELIMIT_STORAGE_URI``
(``memory://`` is per process; production uses Redis so that every worker and host shares them).
The key is the endpoint and the client address (``request.remote_addr``, corrected by ProxyFix
when ``PROXY_FIX_HOPS`` is set).
"""

from __future__ import annotations

import logging
import math
import time
from functools import wraps

from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from equipshare.errors import DomainError

log = logging.getLogger(__name__)
EXTENSION = "equipshare.ratelimit"


class RateLimited(DomainError):
    status = 429
    default_code = "rate_limited"

    def __init__(self, retry_after: int):
        super().__init__(_l("Too many attempts. Please wait %(n)d seconds and try again.", n=retry_after))
        self.headers = {"Retry-After": str(retry_after)}


class _State:
    def __init__(self, storage_uri: str):
        self.strategy = FixedWindowRateLimiter(storage_from_string(storage_uri))
        self._parsed: dict[str, list[RateLimitItem]] = {}

    def items(self, spec: str) -> list[RateLimitItem]:
        if spec not in self._parsed:
            self._parsed[spec] = parse_many(spec)
        return self._parsed[spec]


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATELIMIT_ENABLED", True)
    app.extensions[EXTENSION] = _State(app.config["RATELIMIT_STORAGE_URI"])


def limit(config_key: str, methods: tuple[str, ...] = ("POST",)):
    """Limit the decorated view to the limits named by ``app.config[config_key]`` (e.g.
    ``"10 per minute;50 per hour"``) per client address, for the given methods only."""

    def decorator(view):
        @wraps(view)
        def limited(*args, **kwargs):
            if request.method in methods and current_app.config["RATELIMIT_ENABLED"]:
                _check(config_key)
            return view(*args, **kwargs)

        return limited

    return decorator


def _check(config_key: str) -> None:
    state: _State = current_app.extensions[EXTENSION]
    identity = (request.endpoint or "", request.remote_addr or "unknown")
    try:
        for item in state.items(current_app.config[config_key]):
            if not state.strategy.hit(item, *identity):
                reset_at = state.strategy.get_window_stats(item, *identity).reset_time
                raise RateLimited(max(1, math.ceil(reset_at - time.time())))
    except RateLimited:
        raise
    except Exception:
        # The counters' store is down: let people log in rather than lock everyone out, and say so.
        log.exception("Rate-limit storage unreachable; %s not limited", request.endpoint)
