"""Keep feed secrets out of logs: a feed URL is a password.

``install(app)`` adds a filter to the werkzeug request log and the application's log;
``RedactingGunicornLogger`` does the same for gunicorn's access log
(``gunicorn --logger-class equipshare.calendars.logredact.RedactingGunicornLogger``).
"""

from __future__ import annotations

import logging
import re

FEED_PATH = re.compile(r"(/feeds/)[^/\s?#\"]+?(\.ics)")
REDACTED = r"\1[redacted]\2"


def redact(text: str) -> str:
    return FEED_PATH.sub(REDACTED, text)


def _redact_value(value):
    return redact(value) if isinstance(value, str) else value


class FeedTokenFilter(logging.Filter):
    """Rewrites the message and its arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {k: _redact_value(v) for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact_value(v) for v in record.args)
        return True


def install(app) -> None:
    for logger in (logging.getLogger("werkzeug"), app.logger, logging.getLogger("gunicorn.access")):
        if not any(isinstance(f, FeedTokenFilter) for f in logger.filters):
            logger.addFilter(FeedTokenFilter())


try:  # gunicorn is a production dependency, but keep this module importable without it
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = None

if _GunicornLogger is not None:

    class RedactingGunicornLogger(_GunicornLogger):
        """Gunicorn's access log with feed tokens replaced in every atom (%(r)s, %(U)s, headers…)."""

        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            return {key: _redact_value(value) for key, value in atoms.items()}
