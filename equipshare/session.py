"""Flask's signed-cookie session, with its signing serializer built once per secret.

Flask builds a new ``URLSafeTimedSerializer`` in ``open_session`` and again in ``save_session``,
on every request, cookie or not; that was a measurable part of the cheapest answers (the week
JSON, see docs/benchmarks.md). The serializer holds nothing per request, so one per (secret key,
fallback keys) is enough; a changed key builds a new one.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SessionInterface(SecureCookieSessionInterface):
    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cache = app.extensions.setdefault("equipshare.session_serializers", {})
        serializer = cache.get(key)
        if serializer is None:
            serializer = cache[key] = super().get_signing_serializer(app)
        return serializer
